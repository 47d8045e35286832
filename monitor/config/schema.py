"""The config's JSON Schema (``pantau schema``, docs/monitor.schema.json) for editor completion."""

from __future__ import annotations

from typing import Any

from ..delivery.registry import Registry, load_registry
from .model import Settings


def config_schema(registry: Registry | None = None) -> dict[str, Any]:
    """Settings' schema with ``notifiers`` items described per registered type (built-ins and
    entry points; plugin files are only known with a config, so they are left open)."""
    registry = registry or load_registry(None)
    schema = Settings.model_json_schema(mode="validation")
    variants = []
    for kind in registry.types():
        sub = kind.config_model.model_json_schema(mode="validation")
        defs = sub.pop("$defs", {})
        schema.setdefault("$defs", {}).update(defs)
        sub["properties"]["type"] = {"const": kind.name}
        sub["title"] = f"{kind.name} notifier"
        variants.append(sub)
    variants.append({"type": "object", "required": ["name", "type"], "title": "plugin notifier",
                     "properties": {"name": {"type": "string"}, "type": {"type": "string"}}})
    schema["properties"]["notifiers"] = {"type": "array", "items": {"anyOf": variants},
                                         "title": "Notifiers"}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "pantau monitor.yaml"
    return schema
