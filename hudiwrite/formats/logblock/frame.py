"""The frame of a Hudi log block (HoodieLogFormat version 1): what every block type shares.

A log block is self-delimiting (protocol-v6.md §5.1): magic, length, format version, type,
header map, content, footer map, reverse pointer. This module owns that frame: the
``#HUDI#`` magic, the format version, the block-type and header-key ordinals, the
header/footer map encoding and the length fields. It turns a :class:`LogBlock` into those
bytes and back; the content stays opaque bytes here and is the business of the content
modules beside it (``avro_data``, ``parquet_data``, ``delete``, ``command``).

The layout is the same in table versions 6, 8 and 9 (protocol-v8.md §4.2). Codecs never do
I/O: everything here takes and returns bytes or attrs classes.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from hudiwrite.exceptions import CorruptTableError, UnsupportedTableError

__all__ = [
    "LOG_FORMAT_VERSION",
    "MAGIC",
    "BlockType",
    "HeaderKey",
    "HeaderPairs",
    "LogBlock",
    "data_block_header",
    "decode_block",
    "encode_block",
]

MAGIC: Final = b"#HUDI#"
LOG_FORMAT_VERSION: Final = 1

_MAX_INT: Final = 2**31 - 1  # Java casts block and content lengths to int
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_I32_I32 = struct.Struct(">ii")
_I64_I32_I32 = struct.Struct(">qii")


class BlockType(enum.IntEnum):
    """``HoodieLogBlockType``: serialized as the ordinal, append-only."""

    COMMAND_BLOCK = 0
    DELETE_BLOCK = 1
    CORRUPT_BLOCK = 2  # never written; Java synthesizes it for unreadable byte ranges
    AVRO_DATA_BLOCK = 3
    HFILE_DATA_BLOCK = 4
    PARQUET_DATA_BLOCK = 5
    CDC_DATA_BLOCK = 6


class HeaderKey(enum.IntEnum):
    """``HeaderMetadataType``: header/footer map keys, serialized as the ordinal."""

    INSTANT_TIME = 0
    TARGET_INSTANT_TIME = 1
    SCHEMA = 2
    COMMAND_BLOCK_TYPE = 3
    COMPACTED_BLOCK_TIMES = 4
    RECORD_POSITIONS = 5
    BLOCK_IDENTIFIER = 6
    IS_PARTIAL = 7  # table version 8+
    BASE_FILE_INSTANT_TIME_OF_RECORD_POSITIONS = 8  # table version 8+


HeaderPairs = tuple[tuple[HeaderKey, str], ...]


def _to_pairs(value: Mapping[HeaderKey, str] | Iterable[tuple[HeaderKey, str]]) -> HeaderPairs:
    """Normalize a header given as a mapping or pairs; order is kept (it is part of the bytes)."""
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((HeaderKey(k), str(v)) for k, v in items)


@attrs.frozen
class LogBlock:
    """One log block as it sits in a file.

    The header is an ordered tuple rather than a dict: Java writes its HashMap in whatever
    order the JVM iterates it (both ``{INSTANT_TIME, SCHEMA}`` and ``{SCHEMA, INSTANT_TIME}``
    occur in real files), and re-encoding must reproduce the original bytes.
    """

    block_type: BlockType = attrs.field(converter=BlockType)
    header: HeaderPairs = attrs.field(default=(), converter=_to_pairs)
    content: bytes = attrs.field(default=b"", repr=lambda c: f"<{len(c)} bytes>")
    footer: HeaderPairs = attrs.field(default=(), converter=_to_pairs)
    format_version: int = LOG_FORMAT_VERSION

    def get(self, key: HeaderKey) -> str | None:
        """The header value for ``key``, or None when the block has no such entry."""
        for k, v in self.header:
            if k == key:
                return v
        return None

    @property
    def instant_time(self) -> str | None:
        return self.get(HeaderKey.INSTANT_TIME)

    @property
    def schema(self) -> str | None:
        return self.get(HeaderKey.SCHEMA)


def _encode_meta(pairs: HeaderPairs) -> bytes:
    # int count, then per entry: int key ordinal, int byte length, bytes (protocol-v6.md §5.3).
    # surrogateescape round-trips any bytes a decoder met, keeping re-encoding byte-exact.
    parts = [_I32.pack(len(pairs))]
    for key, value in pairs:
        raw = value.encode("utf-8", "surrogateescape")
        parts.append(_I32_I32.pack(int(key), len(raw)))
        parts.append(raw)
    return b"".join(parts)


def encode_block(block: LogBlock) -> bytes:
    """Serialize one block: magic, length, version, type, header, content, footer, trailer."""
    if block.format_version != LOG_FORMAT_VERSION:
        raise UnsupportedTableError(
            f"only log format version {LOG_FORMAT_VERSION} can be written, "
            f"not {block.format_version}"
        )
    header = _encode_meta(block.header)
    footer = _encode_meta(block.footer)
    content = block.content
    # blockLength covers version .. reverse pointer; the magic and the length field are excluded.
    block_length = 4 + 4 + len(header) + 8 + len(content) + len(footer) + 8
    if block_length > _MAX_INT:
        raise ValueError(f"log block of {block_length} bytes exceeds Java's 2 GiB block limit")
    return b"".join(
        (
            MAGIC,
            _I64_I32_I32.pack(block_length, block.format_version, int(block.block_type)),
            header,
            _I64.pack(len(content)),
            content,
            footer,
            # reverse pointer: bytes from the magic through the footer (protocol-v6.md §5.1)
            _I64.pack(block_length + 6),
        )
    )


def _decode_meta(buf: memoryview, pos: int, end: int, what: str) -> tuple[HeaderPairs, int]:
    if pos + 4 > end:
        raise CorruptTableError(f"log block {what} runs past the block")
    (count,) = _I32.unpack_from(buf, pos)
    pos += 4
    if count < 0 or count * 8 > end - pos:
        raise CorruptTableError(f"log block {what} has an impossible entry count {count}")
    pairs: list[tuple[HeaderKey, str]] = []
    for _ in range(count):
        if pos + 8 > end:
            raise CorruptTableError(f"log block {what} runs past the block")
        ordinal, size = _I32_I32.unpack_from(buf, pos)
        pos += 8
        if size < 0 or pos + size > end:
            raise CorruptTableError(f"log block {what} value runs past the block")
        try:
            key = HeaderKey(ordinal)
        except ValueError:
            raise UnsupportedTableError(
                f"unknown log block {what} key ordinal {ordinal} (newer Hudi release?)"
            ) from None
        pairs.append((key, bytes(buf[pos : pos + size]).decode("utf-8", "surrogateescape")))
        pos += size
    return tuple(pairs), pos


def decode_block(data: bytes | bytearray | memoryview) -> LogBlock:
    """Parse exactly one whole block (magic through reverse pointer).

    The frame checks here are the ones Java applies; a ``logfile`` splitter has already
    turned byte ranges that fail them into corrupt blocks, so failing here means bytes that
    Java would also refuse to read.
    """
    buf = memoryview(data).cast("B")
    size = len(buf)
    if size < 14 or bytes(buf[:6]) != MAGIC:
        raise CorruptTableError("log block does not start with the #HUDI# magic")
    (block_length,) = _I64.unpack_from(buf, 6)
    if block_length + 14 != size:
        raise CorruptTableError(
            f"log block length field says {block_length + 14} bytes, the block has {size}"
        )
    if block_length < 4 + 4 + 4 + 8 + 4 + 8:
        raise CorruptTableError(f"log block length {block_length} is too small")
    (reverse,) = _I64.unpack_from(buf, size - 8)
    if reverse != block_length + 6:
        raise CorruptTableError(f"log block reverse pointer {reverse} != {block_length + 6}")
    version, type_ordinal = _I32_I32.unpack_from(buf, 14)
    if version != LOG_FORMAT_VERSION:
        raise UnsupportedTableError(f"log format version {version} is not supported (only 1)")
    try:
        block_type = BlockType(type_ordinal)
    except ValueError:
        raise UnsupportedTableError(f"unknown log block type ordinal {type_ordinal}") from None
    end = size - 8
    header, pos = _decode_meta(buf, 22, end, "header")
    if pos + 8 > end:
        raise CorruptTableError("log block content length runs past the block")
    (content_length,) = _I64.unpack_from(buf, pos)
    pos += 8
    if content_length < 0 or pos + content_length > end:
        raise CorruptTableError(f"log block content length {content_length} runs past the block")
    content = bytes(buf[pos : pos + content_length])
    pos += content_length
    footer, pos = _decode_meta(buf, pos, end, "footer")
    if pos != end:
        raise CorruptTableError(f"log block has {end - pos} unexplained bytes before its trailer")
    return LogBlock(block_type, header, content, footer, version)


def data_block_header(instant_time: str, schema_json: str | None) -> HeaderPairs:
    """INSTANT_TIME then SCHEMA: what Spark writes on data and delete blocks.

    ``schema_json`` is the full record schema including the five ``_hoodie_*`` meta fields;
    None leaves SCHEMA out, as metadata-table delete blocks sometimes do.
    """
    if schema_json is None:
        return ((HeaderKey.INSTANT_TIME, instant_time),)
    return ((HeaderKey.INSTANT_TIME, instant_time), (HeaderKey.SCHEMA, schema_json))
