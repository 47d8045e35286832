"""`pantau` with no arguments prints a short guide; every command's --help ends with examples."""

from __future__ import annotations

import pytest

from monitor.cli.main import build_parser, main


def test_bare_pantau_prints_a_short_guide(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for command in ("pantau demo", "pantau check -c monitor.yaml", "pantau run -c monitor.yaml"):
        assert command in out
    assert len(out.splitlines()) <= 12


def _commands() -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sorted(sub.choices)


@pytest.mark.parametrize("command", _commands())
def test_every_command_help_has_examples(command, capsys):
    assert main([command, "--help"]) == 0
    help_text = capsys.readouterr().out
    tail = help_text[help_text.rindex("example"):]
    examples = [line for line in tail.splitlines()[1:] if line.strip().startswith("pantau ")] or \
        [tail.split(":", 1)[1].strip()]
    assert 1 <= len(examples) <= 3 and all(e.lstrip().startswith(f"pantau {command}") for e in examples), tail
