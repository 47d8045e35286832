"""Config loading: the shipped example loads, env interpolation works, every malformed config is
rejected with the offending field's path, and secrets never print."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from monitor.cli.summary import summarize_config
from monitor.config.model import load_config, parse_config
from monitor.errors import ConfigError

BASE = {
    "hosts": [{"name": "a", "address": "127.0.0.1"}, {"name": "b", "address": "127.0.0.2"},
              {"name": "c", "address": "127.0.0.3"}],
    "notifiers": [{"name": "hook", "type": "webhook", "url": "http://127.0.0.1:9/x", "secret": "s3cr3t-value"}],
    "routes": [{"events": ["host.*"], "notify": ["hook"]}],
    "plugins_dir": None,
}


def with_change(path: str, value, base=None):
    """A deep copy of BASE with the dotted/indexed ``path`` set to ``value`` (``None`` deletes)."""
    data = yaml.safe_load(yaml.safe_dump(base or BASE))
    data["notifiers"].append({"name": "screen", "type": "console"})
    keys = path.replace("]", "").replace("[", ".").split(".")
    node = data
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node.setdefault(k, {})
    last = keys[-1]
    if value is None:
        del node[int(last) if last.isdigit() else last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


def problems_of(data, env=None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, env=env or {})
    return info.value.problems


def test_shipped_example_config_loads(root):
    """monitor.yaml at the top level is a real, valid config (with no environment set)."""
    config = load_config(root / "monitor.yaml", env={})
    assert [h.name for h in config.hosts] == ["core-router", "ap-lantai-2", "olt-kampung"]
    olt = config.hosts[2]
    assert (olt.interval, olt.down_after, olt.count) == (30.0, 2, 3)
    assert config.hosts[0].max_loss == 0.5 and config.hosts[1].max_rtt == 0.2
    assert {n.type for n in config.notifiers} >= {"webhook", "console"}
    assert config.settings.routers[0].name == "core"


def test_base_is_valid():
    """The base document used by the malformed cases is itself valid (so each case tests one fault)."""
    config = parse_config(BASE, env={})
    assert config.hosts[0].interval == 10.0 and config.hosts[0].up_after == 2


MALFORMED = [
    ("hosts[2].interval", "ten", "hosts[2].interval: invalid duration 'ten'"),
    ("hosts[0].timeout", "-1s", "hosts[0].timeout: invalid duration '-1s'"),
    ("hosts[1].interval", "0s", "hosts[1].interval: must be greater than 0"),
    ("hosts[0].max_loss", "150%", "hosts[0].max_loss: percentage '150%' out of range"),
    ("hosts[0].max_loss", "50", "hosts[0].max_loss: invalid percentage '50'"),
    ("hosts[0].count", 0, "hosts[0].count: Input should be greater than or equal to 1"),
    ("hosts[1].address", None, "hosts[1].address: required"),
    ("hosts[1].name", "a", "hosts[1].name: duplicate host name 'a'"),
    ("hosts[0].colour", "blue", "hosts[0].colour: unknown key"),
    ("defaults.down_after", 0, "defaults.down_after: Input should be greater than or equal to 1"),
    ("defaults.interval", "5 minutes", "defaults.interval: invalid duration '5 minutes'"),
    ("notifiers[0].type", "pigeon", "notifiers[0].type: unknown notifier type 'pigeon'"),
    ("notifiers[0].url", "not a url", "notifiers[0].url:"),
    ("notifiers[0].verbose", True, "notifiers[0].verbose: unknown key"),
    ("notifiers[0].timeout", "fast", "notifiers[0].timeout: invalid duration 'fast'"),
    ("routes[0].notify", ["hook", "nobody"], "routes[0].notify[1]: unknown notifier 'nobody'"),
    ("routes[0].events", ["hots.*"], "routes[0].events[0]: 'hots.*' matches no event type"),
    ("routes[0].events", [], "routes[0].events: List should have at least 1 item"),
    ("log.level", "chatty", "log.level: Input should be"),
    ("timezone", "Asia/Atlantis", "timezone: unknown timezone 'Asia/Atlantis'"),
    ("state", "pantau.db", "state: Input should be a valid dictionary"),
    ("wat", 1, "wat: unknown key"),
    ("http", {"listen": "nope"}, "http.listen: invalid listen address 'nope'"),
    ("http", {"listen": "127.0.0.1:70000"}, "http.listen: invalid port 70000"),
    ("http", {"port": 8080}, "http.port: unknown key"),
    ("notifiers[0].rate_limit", {"per_recipient": ["fast"]}, "notifiers[0].rate_limit.per_recipient: invalid rate 'fast'"),
    ("notifiers[1]", {"name": "screen", "type": "console", "templates": {"host.down": "{% if %}"}},
     "notifiers[1].templates.host.down: syntax error on line 1"),
    ("notifiers[1]", {"name": "screen", "type": "console", "templates": {"host.dwn": "x"}},
     "notifiers[1].templates: template key 'host.dwn' matches no event type"),
]


@pytest.mark.parametrize(("path", "value", "expected"), MALFORMED, ids=[m[2].split(":")[0] + "=" + str(m[1]) for m in MALFORMED])
def test_malformed_config_names_the_path(path, value, expected):
    """Each malformed config is rejected, and one problem line starts with the offending path."""
    problems = problems_of(with_change(path, value))
    assert any(p.startswith(expected) for p in problems), problems


def test_all_problems_are_collected():
    """Validation reports every problem at once, not just the first."""
    data = with_change("hosts[2].interval", "ten")
    data["hosts"][0]["count"] = "many"
    data["hosts"][1]["timeout"] = "soon"
    problems = problems_of(data)
    assert {p.split(":")[0] for p in problems} >= {"hosts[2].interval", "hosts[0].count", "hosts[1].timeout"}


def test_env_interpolation_and_defaults():
    """${VAR} comes from the environment, ${VAR:-default} falls back, $$ is a literal dollar."""
    data = with_change("hosts[0].address", "${HOST_A}")
    data["hosts"][1]["address"] = "${HOST_B:-127.0.0.9}"
    data["notifiers"][0]["secret"] = "pa$$word-${SUFFIX}"
    config = parse_config(data, env={"HOST_A": "127.0.0.5", "SUFFIX": "x1"})
    assert config.hosts[0].address == "127.0.0.5" and config.hosts[1].address == "127.0.0.9"
    assert config.notifiers[0].secret.get_secret_value() == "pa$word-x1"


def test_missing_env_variable_is_named():
    """A variable without a default that is not set is an error naming the variable and the path."""
    problems = problems_of(with_change("notifiers[0].secret", "${WEBHOOK_SECRET}"))
    assert "notifiers[0].secret: environment variable WEBHOOK_SECRET is not set" in problems


def test_secrets_are_masked_in_repr_and_check_output():
    """A secret's value appears neither in repr() of the config nor in `pantau check` output."""
    config = parse_config(BASE, env={})
    assert "s3cr3t-value" not in repr(config.notifiers[0])
    assert "s3cr3t-value" not in repr(config)
    text = summarize_config(config)
    assert "s3cr3t-value" not in text and "secret=**********" in text


def test_yaml_syntax_error_reports_line(tmp_path):
    """Broken YAML is a config error with its line number, not a traceback."""
    f = tmp_path / "bad.yaml"
    f.write_text(textwrap.dedent("""\
        hosts:
          - name: a
            address: [127.0.0.1
        """))
    with pytest.raises(ConfigError) as info:
        load_config(f, env={})
    assert "not valid YAML (line" in info.value.problems[0]


def test_check_command_exit_codes(tmp_path, root, capsys):
    """`pantau check` exits 0 on the shipped config and 2 with `path: message` lines otherwise."""
    from monitor.cli.main import main

    assert main(["check", "-c", str(root / "monitor.yaml")]) == 0
    out = capsys.readouterr().out
    assert "is valid" in out and "poll_interval=5s" in out and "resync_interval=5m" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(with_change("hosts[2].interval", "ten")))
    assert main(["check", "-c", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "  hosts[2].interval: invalid duration 'ten'" in err and "Traceback" not in err
