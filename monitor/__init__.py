"""pantau — off-router monitor for MikroTik networks.

The public surface for plugin authors. Names load on first use (PEP 562), so ``import monitor``
and the CLI start without paying for aiohttp until a notifier is actually needed.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "BaseNotifier": "delivery.notify",
    "Notifier": "delivery.notify",
    "NotifierConfig": "delivery.notify",
    "NotifierContext": "delivery.notify",
    "post_checked": "delivery.notify",
    "MessageConfig": "delivery.templates.renderer",
    "TemplateRenderer": "delivery.templates.renderer",
    "Secret": "config.types",
    "SecretUrl": "config.types",
    "HttpUrlSecret": "config.types",
    "NotifyError": "errors",
    "ConfigError": "errors",
    "PantauError": "errors",
    "Event": "events",
    "Source": "events",
}

__all__ = [
    "BaseNotifier",
    "ConfigError",
    "Event",
    "HttpUrlSecret",
    "Notifier",
    "NotifierConfig",
    "NotifierContext",
    "NotifyError",
    "PantauError",
    "MessageConfig",
    "Secret",
    "SecretUrl",
    "Source",
    "TemplateRenderer",
    "post_checked",
    "__version__",
]

if TYPE_CHECKING:
    from .delivery.notify import BaseNotifier, Notifier, NotifierConfig, NotifierContext
    from .errors import ConfigError, NotifyError, PantauError
    from .events import Event, Source


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'monitor' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
