"""Reading monitor.yaml defensively: one pass over libyaml's event stream, no recursion.

``yaml.safe_load`` trusts its input: aliases are shared and expanded later (a 342-byte "billion
laughs" file grows to gigabytes once ``${VAR}`` substitution copies it), a self-referencing alias
builds a cyclic object, deep nesting ends in a RecursionError, binary or non-UTF-8 bytes in a
traceback, and a duplicate key silently overrides the first. ``read_yaml`` builds the plain
Python tree itself from the parser's events and refuses, with a path-qualified ``ConfigError``:

* files over ``MAX_BYTES``, non-UTF-8 text, NUL bytes (binary files);
* nesting deeper than ``MAX_DEPTH``;
* aliases that would add more than ``ALIAS_BUDGET`` values, and aliases that refer to themselves;
* duplicate keys, non-scalar keys, more than one document, and tags other than YAML's core ones.

Building from events (rather than composing a node graph first) is also what keeps a 100,000-host
file fast: no intermediate node objects (benchmarks/config_load.py).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from yaml.resolver import Resolver

from ..errors import ConfigError

__all__ = ["ALIAS_BUDGET", "MAX_BYTES", "MAX_DEPTH", "gc_paused", "parse_yaml", "read_text", "read_yaml"]

MAX_BYTES = 16 * 1024 * 1024  # ~300,000 hosts; a config beyond that is a mistake or an attack
MAX_DEPTH = 64  # pantau's own schema nests less than 10 deep
ALIAS_BUDGET = 1_000_000  # values that aliases may add on top of those written out

_Parser: Any = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader  # libyaml when PyYAML has it
_T = "tag:yaml.org,2002:"
_RESOLVERS: dict[str | None, list[tuple[str, re.Pattern[str]]]] = Resolver.yaml_implicit_resolvers
_SCALAR_TAGS = {f"{_T}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp", "binary")}
_MERGE = f"{_T}merge"


@contextmanager
def gc_paused() -> Iterator[None]:
    """A large config allocates millions of small objects at once: the cyclic collector would
    rescan them over and over (measured: most of the load time of a 100,000-host file)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_yaml(path: Path) -> Any:
    """The YAML document in ``path`` as plain Python values (``None`` for an empty file)."""
    return parse_yaml(read_text(path), str(path))


def read_text(path: Path) -> str:
    """The file's text, refused when it is too large, not UTF-8 or binary."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError([f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MiB; "
                           "this is not a pantau config (split it or check the path)"])
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError([f"{path}: UTF-16 text, not UTF-8; save the file as UTF-8"])
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    nul = raw.find(b"\x00")
    if nul >= 0:
        line, col = _position(raw, nul)
        raise ConfigError([f"{path}: binary data, not a YAML text file (NUL byte at line {line}, "
                           f"column {col})"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(raw, exc.start)
        raise ConfigError([f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}, "
                           f"column {col}); save the file as UTF-8"]) from None
    return text


def parse_yaml(text: str, name: str = "<config>") -> Any:
    """Build the document in ``text``; problems are reported as ``name: …`` or by value path."""
    with gc_paused():
        try:
            parser = _Parser(text)
            try:
                return _Builder(name).build(parser.get_event)
            finally:
                parser.dispose()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise ConfigError([f"{name}: not valid YAML{where}: {exc.problem or exc.context}"]) from None
        except yaml.YAMLError as exc:
            raise ConfigError([f"{name}: not valid YAML: {exc}"]) from None


def _position(raw: bytes, offset: int) -> tuple[int, int]:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    return raw.count(b"\n", 0, offset) + 1, offset - line_start + 1


def _line(event: Any) -> str:
    return f"line {_lineno(event)}"


def _lineno(event: Any) -> int:
    mark = getattr(event, "start_mark", None)
    return mark.line + 1 if mark is not None else 0


class _Frame:
    __slots__ = ("value", "key", "has_key", "anchor", "start", "first_line", "merges", "index", "path_key")

    def __init__(self, value: Any, anchor: str | None, start: int, path_key: Any):
        self.value = value
        self.key: Any = None
        self.has_key = False  # a mapping frame waiting for the value of ``key``
        self.anchor = anchor
        self.start = start  # values built when this node began (for the size of its anchor)
        self.first_line: dict[Any, int] = {}  # mapping: key → where it was first written
        self.merges: list[Any] | None = None  # mapping: ``<<`` sources, applied when the mapping ends
        self.index = 0  # sequence: the next item's index
        self.path_key = path_key  # this node's key or index in its parent


class _Builder:
    def __init__(self, name: str):
        self.name = name
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}  # anchor → (value, expanded size)
        self.open_anchors: set[str] = set()
        self.written = 0  # values written out in the file
        self.expanded = 0  # values including what aliases repeat
        self.documents = 0
        self._constructor = yaml.constructor.SafeConstructor()

    # -- paths and errors ------------------------------------------------------------------------

    def path(self, extra: Any = ...) -> str:
        keys = [f.path_key for f in self.stack[1:]]
        if self.stack and extra is not ...:
            keys.append(extra)
        out = ""
        for k in keys:
            out += f"[{k}]" if isinstance(k, int) and not isinstance(k, bool) else (f".{k}" if out else str(k))
        return out or "<root>"

    def fail(self, message: str, extra: Any = ...) -> ConfigError:
        return ConfigError([f"{self.path(extra)}: {message}"])

    # -- the event loop --------------------------------------------------------------------------

    def build(self, get_event: Any) -> Any:
        """Consume the parser's events (``get_event`` until StreamEnd) into one document."""
        result: Any = None
        E = yaml.events
        Scalar, stack, typed_first, end = E.ScalarEvent, self.stack, _RESOLVERS.keys(), E.StreamEndEvent
        MapStart, SeqStart, MapEnd, SeqEnd = (E.MappingStartEvent, E.SequenceStartEvent, E.MappingEndEvent,
                                              E.SequenceEndEvent)
        while True:
            event = get_event()  # called directly: a generator in between cost ~15 % of a large load
            kind = type(event)
            if event is None or kind is end:
                break
            if kind is Scalar:
                value = event.value
                if (event.tag is None and event.anchor is None and event.implicit[0] and value
                        and (value[0] not in typed_first or _dotted(value)) and stack):
                    # fast path (most of a large file): a plain string inside a mapping or list
                    parent = stack[-1]
                    if parent.has_key:
                        self.written += 1
                        self.expanded += 1
                        parent.value[parent.key] = value
                        parent.has_key = False
                        continue
                    if type(parent.value) is list:
                        self.written += 1
                        self.expanded += 1
                        parent.value.append(value)
                        parent.index += 1
                        continue
                    if value not in parent.first_line:  # a new key (a repeated one: the slow path says so)
                        self.written += 1
                        self.expanded += 1
                        parent.first_line[value] = event.start_mark.line + 1
                        parent.key, parent.has_key = value, True
                        continue
                self.written += 1
                self.expanded += 1
                self.add(self.scalar(event), event, event.anchor, 1)
            elif kind is MapStart or kind is SeqStart:
                if event.tag is None and event.anchor is None and stack and len(stack) < MAX_DEPTH:
                    # fast path of begin(): an untagged, unanchored mapping or list inside another
                    parent = stack[-1]
                    self.written += 1
                    self.expanded += 1
                    stack.append(_Frame({} if kind is MapStart else [], None, self.expanded - 1,
                                        parent.index if type(parent.value) is list else parent.key))
                else:
                    self.begin(event, {} if kind is MapStart else [])
            elif kind is MapEnd or kind is SeqEnd:
                frame = stack.pop()
                if frame.anchor is None and frame.merges is None and stack:
                    parent = stack[-1]  # fast path of add(): the value of a key, or an item of a list
                    if parent.has_key and parent.key is not _MERGE_KEY:
                        parent.value[parent.key] = frame.value
                        parent.has_key = False
                        continue
                    if type(parent.value) is list:
                        parent.value.append(frame.value)
                        parent.index += 1
                        continue
                if frame.anchor is not None:
                    self.open_anchors.discard(frame.anchor)
                if frame.merges:
                    self.merge(frame)
                self.add(frame.value, event, frame.anchor, self.expanded - frame.start, frame)
                if not self.stack:
                    result = frame.value
            elif kind is E.AliasEvent:
                self.alias(event)
            elif kind is E.DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    raise ConfigError([f"{self.name}: more than one YAML document (a second '---' at "
                                       f"{_line(event)}); pantau reads one"])
        if len(self.stack) == 1:  # a lone scalar document
            result = self.stack[0].value
        return result

    def begin(self, event: Any, value: Any) -> None:
        tag = event.tag
        expected = f"{_T}map" if isinstance(value, dict) else f"{_T}seq"
        if tag not in (None, "!", expected):
            raise self.fail(f"unsupported YAML tag {tag} ({_line(event)})", self.next_key())
        if len(self.stack) >= MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH} levels ({_line(event)})")
        self.written += 1
        self.expanded += 1
        path_key = self.next_key()
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame(value, event.anchor, self.expanded - 1, path_key))

    def next_key(self) -> Any:
        if not self.stack:
            return None
        parent = self.stack[-1]
        return parent.index if isinstance(parent.value, list) else parent.key

    def alias(self, event: Any) -> None:
        name = event.anchor
        if name in self.open_anchors:
            raise self.fail(f"alias *{name} refers to the value that contains it (a recursive alias, "
                            f"{_line(event)})", self.next_key())
        if name not in self.anchors:
            raise self.fail(f"alias *{name} has no anchor &{name} before it ({_line(event)})", self.next_key())
        value, size = self.anchors[name]
        self.expanded += size
        if self.expanded - self.written > ALIAS_BUDGET:
            raise self.fail(f"YAML aliases expand to more than {ALIAS_BUDGET:,} extra values "
                            f"(*{name} at {_line(event)}); write the values out or use fewer aliases",
                            self.next_key())
        self.add(value, event, None, size)

    def add(self, value: Any, event: Any, anchor: str | None, size: int, frame: _Frame | None = None) -> None:
        """Attach a finished value to its parent (key or value of a mapping, item of a sequence)."""
        if anchor is not None:
            self.anchors[anchor] = (value, size)
        if not self.stack:
            if frame is None:  # a scalar or alias as the whole document
                self.stack.append(_Frame(value, None, 0, None))
            return
        parent = self.stack[-1]
        if isinstance(parent.value, list):
            parent.value.append(value)
            parent.index += 1
        elif not parent.has_key:
            if frame is not None or isinstance(value, dict | list):
                raise self.fail(f"a mapping or list as a key is not supported ({_line(event)})")
            if value is _MERGE_KEY:
                parent.key, parent.has_key = _MERGE_KEY, True
                return
            if value in parent.first_line:
                raise self.fail(f"duplicate key (at {_line(event)}; first at line {parent.first_line[value]}); "
                                "a later key would silently override the first", value)
            parent.first_line[value] = event.start_mark.line + 1
            parent.key, parent.has_key = value, True
        else:
            if parent.key is _MERGE_KEY:
                sources = value if isinstance(value, list) else [value]
                if not all(isinstance(s, dict) for s in sources):
                    raise self.fail(f"'<<' merges a mapping or a list of mappings ({_line(event)})", "<<")
                if parent.merges is None:
                    parent.merges = []
                parent.merges.extend(sources)
            else:
                parent.value[parent.key] = value
            parent.has_key = False

    def merge(self, frame: _Frame) -> None:
        own = frame.value
        merged: dict[Any, Any] = {}
        for source in frame.merges:  # the first source listed wins, explicit keys win over all
            for k, v in source.items():
                merged.setdefault(k, v)
        frame.value = {**{k: v for k, v in merged.items() if k not in own}, **own}

    def scalar(self, event: Any) -> Any:
        value, tag = event.value, event.tag
        if tag is None or tag == "!":
            if not event.implicit[0] or tag == "!":
                return value  # quoted (or '!'): a string
            for resolved, regexp in _RESOLVERS.get(value[:1] if value else "", ()):
                if regexp.match(value):
                    tag = resolved
                    break
            else:
                return value
        if tag == _MERGE:
            return _MERGE_KEY
        if tag == f"{_T}str":
            return value
        if tag not in _SCALAR_TAGS:
            raise self.fail(f"unsupported YAML tag {tag} ({_line(event)})", self.next_key())
        try:
            construct = self._constructor.yaml_constructors[tag]  # plain functions for scalar tags
            return construct(self._constructor, yaml.ScalarNode(tag, value, event.start_mark))
        except (yaml.YAMLError, ValueError, KeyError) as exc:
            raise self.fail(f"invalid {tag.removeprefix(_T)} {value!r} ({_line(event)}): "
                            f"{getattr(exc, 'problem', exc)}", self.next_key()) from None


def _dotted(value: str) -> bool:
    """A digit first and two dots or more (an IPv4 address, a version): no implicit YAML 1.1 type
    (int, float, timestamp: at most one dot) can match, so it is a plain string without trying
    the resolvers' patterns — a large config holds one address per host."""
    return value[0] in "0123456789" and value.count(".") > 1


class _MergeKey:
    def __repr__(self) -> str:
        return "<<"


_MERGE_KEY: Any = _MergeKey()
