"""pantau — off-router monitor for MikroTik networks."""

from .errors import ConfigError, NotifyError, PantauError
from .events import Event, Source
from .notify import BaseNotifier, Notifier, NotifierConfig, NotifierContext

__version__ = "0.1.0"

__all__ = [
    "BaseNotifier",
    "ConfigError",
    "Event",
    "Notifier",
    "NotifierConfig",
    "NotifierContext",
    "NotifyError",
    "PantauError",
    "Source",
    "__version__",
]
