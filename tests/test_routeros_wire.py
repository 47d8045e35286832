"""The RouterOS API framing: word lengths of every size, sentences, UTF-8."""

from __future__ import annotations

import asyncio

import pytest

from monitor.routeros.wire import (
    MAX_WORD,
    Codec,
    SentenceReader,
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


# -- SentenceReader: the client's bulk reader must give exactly what read_sentence gives ------------

CORPUS = [
    ["!re", "=.id=*1", "=user=0123", "=address=10.5.50.1", ".tag=3"],
    [],  # an empty sentence between two others: skipped, as RouterOS does
    ["!re", "=comment=Kamar 3 — Budi", "=x=" + "a" * 127, "=y=" + "b" * 128, ".tag=3"],
    ["!re", "=big=" + "é" * 10000, "=huge=" + "z" * 0x4000],  # 2- and 3-byte length prefixes
    ["!re", "=comment=a=b=c", "=empty="],
    ["!done", ".tag=3"],
]


def _stream(chunks: list[bytes], eof: bool = True) -> asyncio.StreamReader:
    """A reader fed ``chunks`` one at a time from a task, so the reader sees every partial state."""
    reader = asyncio.StreamReader()

    async def feed() -> None:
        for chunk in chunks:
            reader.feed_data(chunk)
            await asyncio.sleep(0)
        if eof:
            reader.feed_eof()

    asyncio.get_running_loop().create_task(feed())
    return reader


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64, 4096, 1 << 20])
async def test_sentence_reader_gives_what_read_sentence_gives_at_every_split(size: int) -> None:
    """Fed in pieces of any size (a word's length prefix or body cut anywhere), the bulk reader
    returns the same sentences as the word-by-word reader, empty sentences skipped."""
    data = b"".join(encode_sentence(words) if words else b"\x00" for words in CORPUS)
    expected = [words for words in CORPUS if words]
    reference_reader = _stream([data])
    reference = [await read_sentence(reference_reader) for _ in expected]
    assert reference == expected
    reader = SentenceReader(_stream(_split(data, size)))
    assert [await reader.read() for _ in expected] == expected
    with pytest.raises(WireError, match="closed"):
        await reader.read()  # and the clean end of the stream after the last one


async def test_sentence_reader_stream_ending_mid_sentence_is_a_wire_error() -> None:
    """A stream that ends inside a sentence raises WireError after the complete ones before it."""
    data = encode_sentence(["!re", "=name=a"]) + encode_sentence(["!re", "=name=abcdef"])[:-4]
    reader = SentenceReader(_stream(_split(data, 3)))
    assert await reader.read() == ["!re", "=name=a"]
    with pytest.raises(WireError):
        await reader.read()


@pytest.mark.parametrize("data", [b"\xf8abc", encode_length(MAX_WORD + 1) + b"x"])
async def test_sentence_reader_rejects_reserved_bytes_and_oversized_words(data: bytes) -> None:
    """A reserved control byte or a word longer than MAX_WORD is refused before buffering it."""
    with pytest.raises(WireError):
        await SentenceReader(_stream([data], eof=False)).read()


async def test_sentence_reader_decodes_with_the_connection_codec() -> None:
    """cp1252 bytes (a name typed in Winbox) come out as read_sentence's ``auto`` codec gives them."""
    data = encode_sentence(["!re", "=name=José"], Codec("cp1252"))
    codec = Codec("auto")
    assert await SentenceReader(_stream(_split(data, 2)), codec).read() == ["!re", "=name=José"]
    assert codec.encode("=name=José") == "=name=José".encode("cp1252")  # remembered as legacy bytes
