"""The RouterOS API wire format: length-prefixed words grouped into sentences.

This is our own implementation, used by both sides (pantau's client and the simulator). We do not
use librouteros' protocol layer: it cannot multiplex ``.tag``-ged commands (needed for ``listen``
next to a heartbeat on one connection) and its parser turns ``0123``/``yes`` into int/bool, which
would corrupt voucher names. Values always stay ``str``.

Words are bytes: RouterOS stores and returns what was typed, and Winbox and the terminal type
windows-125x (cp1252 for Indonesian Latin text, cp1251 for Cyrillic). A ``Codec`` per connection
turns bytes into text and back with the router's encoding; ``auto`` reads UTF-8 and falls back to
cp1252 for a word that is not UTF-8, and remembers such values so a query or write of them goes
back in the bytes the router has (``?name=José`` must match the cp1252 bytes of the stored name).

A word is ``<length><bytes>``; a sentence is words ended by an empty word (length 0). Lengths use
1..5 bytes::

    0x00000000..0x0000007F  1 byte   0xxxxxxx
    0x00000080..0x00003FFF  2 bytes  10xxxxxx xxxxxxxx
    0x00004000..0x001FFFFF  3 bytes  110xxxxx ...
    0x00200000..0x0FFFFFFF  4 bytes  1110xxxx ...
    0x10000000..0xFFFFFFFF  5 bytes  11110000 + 4 bytes
"""

from __future__ import annotations

import asyncio

#: Refuse absurd words from a peer instead of buffering gigabytes.
MAX_WORD = 16 * 1024 * 1024


class WireError(Exception):
    """The byte stream is not valid RouterOS API framing (or it ended mid-sentence)."""


def encode_length(length: int) -> bytes:
    if length < 0:
        raise WireError(f"negative word length {length}")
    if length < 0x80:
        return bytes([length])
    if length < 0x4000:
        return (length | 0x8000).to_bytes(2, "big")
    if length < 0x200000:
        return (length | 0xC00000).to_bytes(3, "big")
    if length < 0x10000000:
        return (length | 0xE0000000).to_bytes(4, "big")
    if length <= 0xFFFFFFFF:
        return b"\xf0" + length.to_bytes(4, "big")
    raise WireError(f"word too long: {length} bytes")


def extra_length_bytes(first: int) -> int:
    """How many more bytes follow the first byte of an encoded length."""
    if first < 0x80:
        return 0
    if first < 0xC0:
        return 1
    if first < 0xE0:
        return 2
    if first < 0xF0:
        return 3
    if first == 0xF0:
        return 4
    raise WireError(f"reserved control byte 0x{first:02x}")


def decode_length(data: bytes) -> int:
    """Decode a complete encoded length (1..5 bytes)."""
    first = data[0]
    if len(data) != 1 + extra_length_bytes(first):
        raise WireError(f"length prefix has {len(data)} bytes, expected {1 + extra_length_bytes(first)}")
    if first < 0x80:
        return first
    if first < 0xC0:
        return int.from_bytes(data, "big") & 0x3FFF
    if first < 0xE0:
        return int.from_bytes(data, "big") & 0x1FFFFF
    if first < 0xF0:
        return int.from_bytes(data, "big") & 0xFFFFFFF
    return int.from_bytes(data[1:], "big")


ENCODINGS = ("auto", "utf-8", "cp1252", "cp1251", "cp1250", "cp1253", "cp1254", "cp1257", "latin-1")


class Codec:
    """Text ↔ bytes for one connection's words (see the module docstring)."""

    def __init__(self, encoding: str = "utf-8", *, fallback: str = "cp1252", remember: int = 10_000):
        if encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {encoding!r} (one of {', '.join(ENCODINGS)})")
        self.encoding = encoding
        self.fallback = fallback
        self._legacy: dict[str, None] = {}  # values auto-decoded with the fallback (insertion-ordered)
        self._remember = remember

    def decode(self, raw: bytes) -> str:
        if self.encoding != "auto":
            return raw.decode(self.encoding, errors="replace")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode(self.fallback, errors="replace")
            _, _, value = _split_value(text)
            self._legacy[value] = None
            if len(self._legacy) > self._remember:
                del self._legacy[next(iter(self._legacy))]
            return text

    def encode(self, word: str) -> bytes:
        if self.encoding != "auto":
            return word.encode(self.encoding, errors="replace")
        prefix, sep, value = _split_value(word)
        if sep and value in self._legacy:
            return prefix.encode("utf-8") + sep.encode() + value.encode(self.fallback, errors="replace")
        return word.encode("utf-8")


def _split_value(word: str) -> tuple[str, str, str]:
    """``=name=value`` / ``?name=value`` / ``?=name=value`` → (prefix, "=", value); else (word, "", "")."""
    if word[:1] in ("=", "?"):
        start = 2 if word.startswith("?=") else 1
        head, sep, value = word[start:].partition("=")
        if sep:
            return word[:start] + head, sep, value
    return word, "", ""


UTF8 = Codec("utf-8")


def encode_word(word: str, codec: Codec = UTF8) -> bytes:
    raw = codec.encode(word)
    return encode_length(len(raw)) + raw


def encode_sentence(words: list[str] | tuple[str, ...], codec: Codec = UTF8) -> bytes:
    return b"".join(encode_word(w, codec) for w in words) + b"\x00"


async def read_word(reader: asyncio.StreamReader, codec: Codec = UTF8) -> str:
    try:
        head = await reader.readexactly(1)
        extra = extra_length_bytes(head[0])
        if extra:
            head += await reader.readexactly(extra)
        length = decode_length(head)
        if length > MAX_WORD:
            raise WireError(f"word of {length} bytes exceeds limit")
        raw = await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError as exc:
        raise WireError("connection closed by peer") from exc
    return codec.decode(raw)


async def read_sentence(reader: asyncio.StreamReader, codec: Codec = UTF8) -> list[str]:
    """Read one sentence (a list of words, without the terminating empty word).

    Raises WireError when the stream ends or is malformed. Empty sentences are skipped, as
    RouterOS itself does.
    """
    while True:
        words: list[str] = []
        while True:
            word = await read_word(reader, codec)
            if word == "":
                break
            words.append(word)
        if words:
            return words


class SentenceReader:
    """Reads sentences from a stream in bulk: every complete sentence already received is parsed
    from one buffer without awaiting, so a print of 10,000 rows costs a few reads instead of two
    ``readexactly`` awaits per word (``read_sentence`` reads word by word: fine for a few commands,
    ~3x the CPU per row for a router's session list). Same results and errors as ``read_sentence``."""

    CHUNK = 256 * 1024

    def __init__(self, reader: asyncio.StreamReader, codec: Codec = UTF8):
        self._reader = reader
        self._codec = codec
        self._buf = bytearray()
        self._pos = 0  # where the next sentence starts in _buf

    async def read(self) -> list[str]:
        """The next non-empty sentence; WireError when the stream ends or is malformed."""
        while True:
            words = self._parse()
            if words is None:
                chunk = await self._reader.read(self.CHUNK)
                if not chunk:
                    raise WireError("connection closed by peer")
                del self._buf[:self._pos]  # drop what was parsed, keep a partial sentence
                self._pos = 0
                self._buf += chunk
            elif words:
                return words

    def _parse(self) -> list[str] | None:
        """One sentence from the buffer (possibly empty), or None when it is not complete yet."""
        buf, pos, end = self._buf, self._pos, len(self._buf)
        decode = self._codec.decode
        words: list[str] = []
        while pos < end:
            first = buf[pos]
            if first < 0x80:  # the common case: a word shorter than 128 bytes
                start, length = pos + 1, first
            else:
                extra = extra_length_bytes(first)
                if pos + 1 + extra > end:
                    return None
                start = pos + 1 + extra
                length = decode_length(buf[pos:start])
                if length > MAX_WORD:
                    raise WireError(f"word of {length} bytes exceeds limit")
            if length == 0:
                self._pos = start
                return words
            pos = start + length
            if pos > end:
                return None
            words.append(decode(buf[start:pos]))
        return None


def split_attribute(word: str) -> tuple[str, str]:
    """``=name=value`` → (name, value); the value may itself contain ``=``."""
    body = word[1:]
    name, sep, value = body.partition("=")
    if not sep:
        return name, ""
    return name, value


def sentence_to_reply(words: list[str]) -> tuple[str, dict[str, str], str | None]:
    """Split a reply sentence into (reply word, attributes, tag). Values stay strings."""
    attrs: dict[str, str] = {}
    tag: str | None = None
    for word in words[1:]:
        if word[:1] == "=":  # split_attribute, inlined: this runs for every word of every row
            name, _, value = word[1:].partition("=")
            attrs[name] = value
        elif word.startswith(".tag="):
            tag = word[5:]
    return words[0], attrs, tag
