"""Notifier registry: built-ins by module, entry points (``pantau.notifiers``), and plugin files.

A notifier type is a class that follows the Notifier protocol and has a ``Config`` attribute (a
NotifierConfig subclass). Built-ins are the modules of the ``notifiers`` package that export
``NOTIFIER``; the module name is the type. Third-party packages declare an entry point in the
group ``pantau.notifiers`` (name = type, value = the class). A ``.py`` file in ``plugins_dir``
exports ``NOTIFIER`` and optionally ``TYPE`` (default: the file's stem).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import pkgutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .notify import NotifierConfig

ENTRY_POINT_GROUP = "pantau.notifiers"


@dataclass(frozen=True)
class NotifierType:
    name: str
    cls: type
    origin: str  # where it came from, for error messages and `pantau check`

    @property
    def config_model(self) -> type[NotifierConfig]:
        return getattr(self.cls, "Config", NotifierConfig)


class Registry:
    def __init__(self) -> None:
        self._types: dict[str, NotifierType] = {}
        self.problems: list[str] = []

    def register(self, name: str, cls: Any, origin: str) -> None:
        problem = _check_class(cls)
        if problem:
            self.problems.append(f"{origin}: {problem}")
            return
        if name in self._types:
            first = self._types[name].origin
            self.problems.append(f"notifier type {name!r} is defined twice: by {first} and by {origin}")
            return
        self._types[name] = NotifierType(name, cls, origin)

    def get(self, name: str) -> NotifierType | None:
        return self._types.get(name)

    def names(self) -> list[str]:
        return sorted(self._types)

    def types(self) -> list[NotifierType]:
        return [self._types[n] for n in self.names()]

    def raise_problems(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)


def _check_class(cls: Any) -> str | None:
    if not isinstance(cls, type):
        return f"NOTIFIER must be a class, got {type(cls).__name__}"
    for attr in ("send", "aclose"):
        if not callable(getattr(cls, attr, None)):
            return f"{cls.__name__} has no {attr}() method"
    config = getattr(cls, "Config", NotifierConfig)
    if not (isinstance(config, type) and issubclass(config, NotifierConfig)):
        return f"{cls.__name__}.Config must subclass monitor.NotifierConfig"
    return None


def _builtin_types(registry: Registry) -> None:
    import notifiers

    for info in sorted(pkgutil.iter_modules(notifiers.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"notifiers.{info.name}")
        cls = getattr(module, "NOTIFIER", None)
        if cls is not None:
            registry.register(info.name, cls, f"built-in notifiers.{info.name}")


def _entry_point_types(registry: Registry, entry_points: Callable[..., Iterable[Any]]) -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(getattr(ep, "dist", None), "name", None) or "?"
        origin = f"entry point {ep.name} = {ep.value} (package {dist})"
        try:
            cls = ep.load()
        except Exception as exc:  # a broken third-party package must not hide the others
            registry.problems.append(f"{origin}: cannot load: {type(exc).__name__}: {exc}")
            continue
        registry.register(ep.name, cls, origin)


def _plugin_file_types(registry: Registry, plugins_dir: Path) -> None:
    if not plugins_dir.is_dir():
        return
    for path in sorted(plugins_dir.glob("*.py")):
        if path.name.startswith("_"):
            continue
        origin = f"plugin file {path}"
        module_name = f"pantau_plugins.{path.stem}"
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            registry.problems.append(f"{origin}: cannot load: {type(exc).__name__}: {exc}")
            continue
        cls = getattr(module, "NOTIFIER", None)
        if cls is None:
            registry.problems.append(f"{origin}: defines no NOTIFIER")
            continue
        registry.register(str(getattr(module, "TYPE", path.stem)), cls, origin)


def load_registry(plugins_dir: str | Path | None = None, *,
                  entry_points: Callable[..., Iterable[Any]] = importlib.metadata.entry_points) -> Registry:
    """Collect every notifier type. Problems (duplicates, broken plugins) are kept in
    ``registry.problems`` so config validation can report them with everything else."""
    registry = Registry()
    _builtin_types(registry)
    _entry_point_types(registry, entry_points)
    if plugins_dir is not None:
        _plugin_file_types(registry, Path(plugins_dir))
    return registry
