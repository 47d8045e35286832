"""The RouterOS API framing: word lengths of every size, sentences, UTF-8."""

from __future__ import annotations

import asyncio

import pytest

from monitor.routeros.wire import (
    WireError,
    decode_length,
    encode_length,
    encode_sentence,
    read_sentence,
    sentence_to_reply,
)

BOUNDARIES = [
    (0, 1), (0x7F, 1), (0x80, 2), (0x3FFF, 2), (0x4000, 3), (0x1FFFFF, 3), (0x200000, 4),
    (0xFFFFFFF, 4), (0x10000000, 5), (0xFFFFFFFF, 5),
]


@pytest.mark.parametrize(("length", "size"), BOUNDARIES)
def test_length_roundtrip_at_every_size_boundary(length: int, size: int) -> None:
    """Each length encodes to the byte count the protocol prescribes and decodes back unchanged."""
    encoded = encode_length(length)
    assert len(encoded) == size
    assert decode_length(encoded) == length


def test_length_known_encodings() -> None:
    """Encodings match the documented bit patterns (e.g. 0x80 → 0x80 0x80, 0x4000 → 0xC0 0x40 0x00)."""
    assert encode_length(0x80) == b"\x80\x80"
    assert encode_length(0x4000) == b"\xc0\x40\x00"
    assert encode_length(0x200000) == b"\xe0\x20\x00\x00"
    assert encode_length(0x10000000) == b"\xf0\x10\x00\x00\x00"


def test_length_too_big_and_reserved_control_byte_fail() -> None:
    """Lengths beyond 32 bits cannot be encoded and control bytes 0xF8.. are rejected."""
    with pytest.raises(WireError):
        encode_length(1 << 32)
    with pytest.raises(WireError):
        decode_length(b"\xf8")


def _reader(data: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


async def test_sentence_roundtrip_with_utf8_and_long_words() -> None:
    """Sentences with UTF-8 text and 200-byte/20 000-byte words survive encode → read intact."""
    words = ["!re", "=comment=Kamar 3 — Budi", "=name=0123", "=x=" + "a" * 200, "=y=" + "é" * 10000, ".tag=7"]
    got = await read_sentence(_reader(encode_sentence(words) + encode_sentence(["!done"])))
    assert got == words
    reply, attrs, tag = sentence_to_reply(got)
    assert (reply, tag) == ("!re", "7")
    assert attrs["comment"] == "Kamar 3 — Budi" and attrs["name"] == "0123"


async def test_value_containing_equals_is_kept_whole() -> None:
    """Only the first '=' after the name splits; the rest belongs to the value."""
    got = await read_sentence(_reader(encode_sentence(["!re", "=comment=a=b=c"])))
    assert sentence_to_reply(got)[1] == {"comment": "a=b=c"}


async def test_truncated_stream_is_a_wire_error() -> None:
    """A stream that ends mid-word raises WireError (a broken link), not a silent short read."""
    data = encode_sentence(["!re", "=name=abcdef"])[:-4]
    with pytest.raises(WireError):
        await read_sentence(_reader(data))


@pytest.mark.parametrize("length", [0, 1, 0x7F, 0x80, 0x3FFF, 0x4000, 0x1FFFFF, 0x200000, 0xFFFFFFF])
def test_length_encoding_matches_librouteros(length: int) -> None:
    """Our encoder agrees byte for byte with librouteros' (an implementation we did not write) at
    every length class it supports, and each decodes the other's bytes."""
    from librouteros import protocol

    ours = encode_length(length)
    assert ours == protocol.encode_length(length)
    assert decode_length(protocol.encode_length(length)) == length
    assert protocol.decode_length(ours) == length


async def test_sentence_from_librouteros_encoder_reads_back() -> None:
    """A sentence encoded by librouteros (UTF-8) is read intact by our reader, digits and all."""
    from librouteros import protocol

    words = ["!re", "=name=0123", "=comment=Kamar 3 — Budi", "=disabled=yes", ".tag=7", "=x=" + "é" * 300]
    data = protocol.encode_sentence(*words, encoding="utf-8")
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    assert await read_sentence(reader) == words
