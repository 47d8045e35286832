"""Notifier registry: built-ins, a drop-in plugin file and an entry-point plugin (a real
.dist-info on a temporary sys.path) all load; duplicate type names are rejected naming both."""

from __future__ import annotations

import importlib.metadata
import sys
import textwrap

import pytest

from monitor.config.model import parse_config
from monitor.delivery.registry import load_registry
from monitor.errors import ConfigError

PLUGIN = textwrap.dedent('''
    from typing import Literal
    from monitor import BaseNotifier, NotifierConfig

    class PagerConfig(NotifierConfig):
        type: Literal["{type}"] = "{type}"
        channel: str

    class Pager(BaseNotifier):
        Config = PagerConfig
        async def send(self, event, recipient=None):
            return None

    NOTIFIER = Pager
''')


@pytest.fixture
def dist_on_path(tmp_path, monkeypatch):
    """Install a fake distribution 'pantau-pager' with an entry point, the way pip would."""
    site = tmp_path / "site"
    (site / "pantau_pager").mkdir(parents=True)
    (site / "pantau_pager" / "__init__.py").write_text(PLUGIN.replace("{type}", "pager"))
    info = site / "pantau_pager-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pantau-pager\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pantau.notifiers]\npager = pantau_pager:Pager\n")
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("pantau_pager", None)


def test_builtins_register_by_module_name():
    """console and webhook are found in the notifiers package without any configuration."""
    reg = load_registry(None)
    assert {"console", "webhook"} <= set(reg.names())
    assert reg.get("webhook").origin == "built-in notifiers.webhook"
    assert reg.problems == []


def test_drop_in_plugin_file_loads_and_validates_its_config(tmp_path):
    """A .py file in plugins_dir becomes a type; its own Config is validated with paths."""
    (tmp_path / "pager.py").write_text(PLUGIN.replace("{type}", "pager"))
    reg = load_registry(tmp_path)
    assert reg.get("pager").origin == f"plugin file {tmp_path / 'pager.py'}"
    data = {"notifiers": [{"name": "p", "type": "pager"}], "plugins_dir": str(tmp_path)}
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    assert "notifiers[0].channel: required" in info.value.problems
    data["notifiers"][0]["channel"] = "#noc"
    assert parse_config(data, env={}).notifiers[0].channel == "#noc"


def test_shipped_example_plugin_loads(root):
    """The plugins/ folder's example (ntfy) is a working type."""
    reg = load_registry(root / "plugins")
    assert reg.get("ntfy") is not None and reg.problems == []


def test_entry_point_plugin_loads(dist_on_path):
    """A package declaring the pantau.notifiers entry point is found through importlib.metadata."""
    reg = load_registry(None)
    kind = reg.get("pager")
    assert kind is not None and kind.cls.__name__ == "Pager"
    assert "entry point pager = pantau_pager:Pager (package pantau-pager)" == kind.origin
    assert any(ep.name == "pager" for ep in importlib.metadata.entry_points(group="pantau.notifiers"))


def test_duplicate_type_names_rejected_naming_both_origins(dist_on_path, tmp_path):
    """The same type from an entry point and a plugin file is a config error naming both."""
    (tmp_path / "pager.py").write_text(PLUGIN.replace("{type}", "pager"))
    with pytest.raises(ConfigError) as info:
        parse_config({"plugins_dir": str(tmp_path)}, env={})
    [problem] = [p for p in info.value.problems if "defined twice" in p]
    assert "entry point pager" in problem and f"plugin file {tmp_path / 'pager.py'}" in problem


def test_plugin_shadowing_a_builtin_is_rejected(tmp_path):
    """A plugin file named like a built-in cannot silently replace it."""
    (tmp_path / "webhook.py").write_text(PLUGIN.replace("{type}", "webhook"))
    reg = load_registry(tmp_path)
    assert any("'webhook' is defined twice: by built-in notifiers.webhook and by plugin file" in p
               for p in reg.problems)


def test_broken_plugin_is_reported_not_fatal_to_others(tmp_path):
    """A plugin that fails to import is a named problem; other types still load."""
    (tmp_path / "broken.py").write_text("import does_not_exist_anywhere\n")
    (tmp_path / "pager.py").write_text(PLUGIN.replace("{type}", "pager"))
    reg = load_registry(tmp_path)
    assert reg.get("pager") is not None
    assert any("broken.py: cannot load: ModuleNotFoundError" in p for p in reg.problems)


def test_plugin_without_notifier_class_is_reported(tmp_path):
    """A file that exports no NOTIFIER (or a non-class) is named as the problem."""
    (tmp_path / "empty.py").write_text("x = 1\n")
    (tmp_path / "odd.py").write_text("NOTIFIER = 42\n")
    reg = load_registry(tmp_path)
    assert any("empty.py: defines no NOTIFIER" in p for p in reg.problems)
    assert any("odd.py: NOTIFIER must be a class" in p for p in reg.problems)
