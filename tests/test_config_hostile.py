"""Hostile and broken config files through the CLI: every one exits 2 with a message naming the
value's path (or the file), no traceback, each in well under a second — including the 342-byte
"billion laughs" alias bomb, self-referencing aliases, 3,000-deep nesting, binary and non-UTF-8
files, duplicate keys, NaN/inf durations and a state.path that is a directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

RUNNER = Path(__file__).parent / "hostile" / "run_check.py"

BILLION_LAUGHS = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def base(tmp: Path) -> dict:
    return {"hosts": [{"name": "gw", "address": "127.0.0.1"}],
            "notifiers": [{"name": "screen", "type": "console"},
                          {"name": "hook", "type": "webhook", "url": "http://127.0.0.1:9/h"}],
            "routers": [{"name": "r1", "address": "127.0.0.1", "username": "api", "password": "pw-123456"}],
            "routes": [{"events": ["*"], "notify": ["screen"]}],
            "state": {"path": str(tmp / "state.db")}, "plugins_dir": None}


def with_(tmp: Path, path: str, value) -> str:
    """The base config with the value at ``path`` (``hosts[0].interval``) replaced."""
    cfg = base(tmp)
    node, parts = cfg, path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    last = parts[-1]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return yaml.safe_dump(cfg, allow_unicode=False)


def cases(tmp: Path) -> list[tuple[str, bytes | str, str]]:
    """(id, file content, text that must start a problem line on stderr)."""
    good = yaml.safe_dump(base(tmp))
    a_file = tmp / "plain-file"
    a_file.write_text("x")
    return [
        ("billion-laughs", BILLION_LAUGHS, "g[0]: YAML aliases expand to more than"),
        ("alias-self-list", good + "extra: &x [1, *x]\n", "extra[1]: alias *x refers to the value that contains it"),
        ("alias-self-map", "defaults: &d {interval: *d}\n", "defaults.interval: alias *d refers"),
        ("alias-undefined", "hosts: *nope\n", "hosts: alias *nope has no anchor"),
        ("nesting-3000-flow", "hosts: " + "[" * 3000 + "]" * 3000 + "\n", "nested deeper than 64 levels"),
        ("nesting-3000-block", "hosts:\n" + "".join("  " * i + "- \n" for i in range(1, 3000)),
         "nested deeper than 64 levels"),
        ("latin-1", "hosts:\n  - name: caf\xe9\n    address: 127.0.0.1\n".encode("latin-1"), "not UTF-8 text"),
        ("utf-16", good.encode("utf-16"), "UTF-16 text, not UTF-8"),
        ("binary", bytes(range(256)) * 4, "binary data"),
        ("png", b"\x89PNG\r\n\x1a\n" + bytes(64), "binary data"),
        ("gzip-like", b"\x1f\x8b\x08" + bytes(range(128, 256)), "not UTF-8 text"),
        ("oversize", "#" * 1023 + "\n", "larger than 16 MiB"),  # content multiplied below
        ("duplicate-top-key", good + "hosts: []\n", "hosts: duplicate key"),
        ("duplicate-host-key", "hosts:\n  - name: a\n    address: 127.0.0.1\n    name: b\n",
         "hosts[0].name: duplicate key"),
        ("duplicate-in-notifier", "notifiers:\n  - name: h\n    type: webhook\n    url: http://127.0.0.1:9/a\n"
         "    url: http://127.0.0.1:9/b\n", "notifiers[0].url: duplicate key"),
        ("nan-interval", with_(tmp, "hosts[0].interval", float("nan")), "hosts[0].interval: invalid duration"),
        ("inf-interval", with_(tmp, "hosts[0].interval", float("inf")), "hosts[0].interval: invalid duration"),
        ("neg-inf-timeout", with_(tmp, "defaults.timeout", float("-inf")), "defaults.timeout: invalid duration"),
        ("nan-poll", with_(tmp, "routers[0].poll_interval", float("nan")), "routers[0].poll_interval:"),
        ("inf-notifier-timeout", with_(tmp, "notifiers[1].timeout", float("inf")), "notifiers[1].timeout:"),
        ("nan-max-rtt", with_(tmp, "hosts[0].max_rtt", float("nan")), "hosts[0].max_rtt:"),
        ("nan-digest-window", with_(tmp, "notifiers[0].digest", {"window": float("nan")}),
         "notifiers[0].digest.window:"),
        ("huge-interval", with_(tmp, "hosts[0].interval", 1e300), "hosts[0].interval: duration"),
        ("huge-duration-text", with_(tmp, "routers[0].resync_interval", "99999999999d"),
         "routers[0].resync_interval: duration"),
        ("huge-down-after", with_(tmp, "hosts[0].down_after", 10**20), "hosts[0].down_after:"),
        ("huge-pps", with_(tmp, "icmp", {"pps": 10**12}), "icmp.pps:"),
        ("state-path-dir", with_(tmp, "state.path", str(tmp)), "state.path:"),
        ("state-path-empty", with_(tmp, "state.path", ""), "state.path:"),
        ("state-path-under-file", with_(tmp, "state.path", str(a_file / "x.db")), "state.path:"),
        ("host-name-blank", with_(tmp, "hosts[0].name", "   "), "hosts[0].name:"),
        ("host-name-newline", with_(tmp, "hosts[0].name", "gw\nforged log line"), "hosts[0].name:"),
        ("host-name-rtl-override", with_(tmp, "hosts[0].name", "gw\u202eexe"), "hosts[0].name:"),
        ("host-name-nul", with_(tmp, "hosts[0].name", "gw\x00"), "hosts[0].name:"),
        ("notifier-name-empty", with_(tmp, "notifiers[0].name", ""), "notifiers[0].name:"),
        ("router-name-zero-width", with_(tmp, "routers[0].name", "r\u200b1"), "routers[0].name:"),
        ("hosts-mapping", with_(tmp, "hosts", {"gw": "127.0.0.1"}), "hosts:"),
        ("host-string", with_(tmp, "hosts[0]", "127.0.0.1"), "hosts[0]:"),
        ("count-word", with_(tmp, "defaults.count", "three"), "defaults.count:"),
        ("events-number", with_(tmp, "routes[0].events", 5), "routes[0].events:"),
        ("label-list", with_(tmp, "hosts[0].labels", {"site": [1, 2]}), "hosts[0].labels.site:"),
        ("webhook-url-empty", with_(tmp, "notifiers[1].url", ""), "notifiers[1].url:"),
        ("webhook-two-authorizations", with_(tmp, "notifiers[1]", {
            "name": "hook", "type": "webhook", "url": "http://u:p@127.0.0.1:9/h",
            "headers": {"Authorization": "Bearer x1234567"}}), "notifiers[1]: url carries user:password"),
        ("python-tag", "hosts: !!python/object/apply:os.system ['true']\n", "hosts: unsupported YAML tag"),
        ("two-documents", good + "---\nhosts: []\n", "more than one YAML document"),
        ("complex-key", "hosts:\n  ? [a, b]\n  : 1\n", "a mapping or list as a key"),
        ("root-list", "- a\n- b\n", "<root>:"),
    ]


def _write(tmp: Path, name: str, content: bytes | str) -> Path:
    path = tmp / f"{name}.yaml"
    data = content.encode() if isinstance(content, str) else content
    if name == "oversize":
        data *= 17 * 1024  # 17 MiB
    path.write_bytes(data)
    return path


def _valid_large(tmp: Path) -> Path:
    """What the reader must keep accepting: a UTF-8 byte-order mark, anchors with ``<<`` merges
    (explicit keys winning) and 5,000 hosts (the 100,000-host timing is benchmarks/config_load.py)."""
    from monitor.config.model import load_config

    cfg = base(tmp)
    cfg["hosts"] = [{"name": f"h{i}", "address": f"127.0.{i // 250}.{i % 250 + 1}"} for i in range(5000)]
    text = yaml.safe_dump(cfg).replace("hosts:\n", "defaults: &common {interval: 2s, count: 2}\nhosts:\n"
                                       "- <<: *common\n  name: merged\n  address: 127.1.0.1\n  count: 3\n", 1)
    path = tmp / "valid.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    merged = next(h for h in load_config(path).hosts if h.name == "merged")
    assert (merged.count, merged.interval) == (3, 2.0)
    return path


def test_hostile_configs_exit_2_by_path_fast_without_traceback(tmp_path):
    all_cases = cases(tmp_path)
    assert len(all_cases) >= 30
    files = [_write(tmp_path, name, content) for name, content, _ in all_cases]
    warm = _valid_large(tmp_path)  # checked first: it pays the imports, and must still pass
    proc = subprocess.run([sys.executable, str(RUNNER), str(warm), *map(str, files)], capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, PYTHONPATH=os.getcwd()))
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert results and results[0]["code"] == 0, proc.stderr[-3000:]
    assert "hosts (5001):" in results[0]["stdout"], results[0]
    by_path = {r["path"]: r for r in results[1:]}
    failures = []
    for (name, _content, expected), path in zip(all_cases, files, strict=True):
        r = by_path.get(str(path))
        if r is None:
            failures.append(f"{name}: runner died before it ({proc.returncode}): {proc.stderr[-500:]}")
            break
        problem_lines = [line.strip() for line in r["stderr"].splitlines()]
        named = any(line.startswith(expected) or expected in line for line in problem_lines)
        if (r["code"] != 2 or not named or r["traceback"] or "Traceback" in r["stderr"] + r["stdout"]
                or r["seconds"] >= 1.0):
            failures.append(f"{name}: code={r['code']} seconds={r['seconds']:.2f} stderr={r['stderr'][:300]!r} "
                            f"traceback={(r['traceback'] or '')[-300:]!r}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", ["billion-laughs", "binary", "nesting-3000-flow", "nan-interval"])
def test_hostile_config_through_the_real_command(tmp_path, name):
    """The same refusals from `python -m monitor check` as a process: exit 2, no traceback."""
    content, expected = next((c, e) for n, c, e in cases(tmp_path) if n == name)
    path = _write(tmp_path, name, content)
    proc = subprocess.run([sys.executable, "-m", "monitor", "check", "-c", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr + proc.stdout


def test_run_refuses_a_nan_interval_before_starting(tmp_path):
    """`.nan` once passed validation and the host was then never pinged: `run` exits 2 now."""
    path = _write(tmp_path, "nan", with_(tmp_path, "hosts[0].interval", float("nan")))
    proc = subprocess.run([sys.executable, "-m", "monitor", "run", "-c", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "hosts[0].interval: invalid duration" in proc.stderr


def test_reader_builds_what_safe_load_builds(root):
    """On ordinary YAML the hardened reader gives exactly what yaml.safe_load gives: every type
    YAML 1.1 resolves, quoting, anchors, merges, block and flow styles, the shipped example."""
    from monitor.config.yaml_reader import parse_yaml
    from monitor.errors import ConfigError

    samples = [
        "a: 1\nb: [1, -2, 0x1f, 0o17, 1_000, 2.5, 1e3, .inf, -.inf, yes, No, on, ~, null, '', '3', x]\n",
        "t: 2024-01-02\nts: 2024-01-02T03:04:05Z\ns: !!str 12\nf: !!float 1\nb64: !!binary aGk=\n",
        "base: &b {x: 1, y: [1, 2]}\nm:\n  <<: *b\n  y: 3\nn: {<<: [*b, {z: 9}], x: 0}\nl: [*b, *b]\n",
        "folded: >\n  one\n  two\nliteral: |\n  a\n  b\nquoted: \"tab\\there\"\nempty:\n",
        "- just\n- a\n- list\n",
        "plain scalar document\n",
        # a digit and two dots or more never resolves to a number (the reader's shortcut for addresses)
        "hosts: [{address: 10.0.0.1}, {address: 192.168.88.255}]\nv: [1.2.3, 1.5, 2.0, 1.2e+3, 3., 1:20, 1:20.5]\n",
        "10.0.0.1: a\n1.5: b\n",
    ]
    samples += [p.read_text() for p in sorted(root.glob("*.yaml*")) + sorted(root.glob("examples/*.yaml"))]
    for text in samples:
        assert parse_yaml(text) == yaml.safe_load(text), text
    with pytest.raises(ConfigError, match="duplicate key"):
        parse_yaml("10.0.0.1: a\n10.0.0.1: b\n")
