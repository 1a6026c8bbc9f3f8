"""Splitting a whole Hudi log file into blocks, with Java's corrupt-block detection.

The rules are ``HoodieLogFileReader``'s (protocol-v6.md §5.8): after the magic and the block
length, a block is good only if it ends inside the file, its trailing reverse pointer equals
``blockLength + 6``, and the next six bytes are EOF or another magic. Anything else becomes a
corrupt block reaching to the next ``#HUDI#``, searched from just after the length field, as
Java does. A torn write at the tail therefore comes out as a :class:`CorruptBlock`, never as
an exception, and readers skip it like Java's scanner does.

Every byte of the input belongs to exactly one returned entry, in file order.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Final

import attrs

from hudiwrite.exceptions import CorruptTableError
from hudiwrite.formats.logblock.frame import MAGIC, LogBlock, decode_block

__all__ = ["CorruptBlock", "LogFileBlock", "LogFileEntry", "iter_blocks", "read_blocks"]

_I64 = struct.Struct(">q")
_HEAD: Final = len(MAGIC) + 8  # magic + block length: the part outside blockLength


@attrs.frozen
class LogFileBlock:
    """A block that passed Java's frame checks: where it sits and what it holds."""

    offset: int
    size: int
    block: LogBlock


@attrs.frozen
class CorruptBlock:
    """A byte range Java's reader turns into a CORRUPT_BLOCK and skips.

    ``data`` is the whole range, magic included (Java's own corrupt block content starts
    after the 8-byte length field).
    """

    offset: int
    size: int
    reason: str
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")


LogFileEntry = LogFileBlock | CorruptBlock


def _java_int(value: int) -> int:
    # HoodieLogFileReader reads the block length as a long and casts it to int.
    return (value + 2**31) % 2**32 - 2**31


def iter_blocks(data: bytes | bytearray | memoryview) -> Iterator[LogFileEntry]:
    """Yield the blocks and corrupt ranges of one log file's bytes, in order.

    A framed block whose inside cannot be parsed raises (Java fails the read there too).
    Trailing bytes shorter than a magic, which Java silently ignores, come out as a corrupt
    range so that callers see every byte.
    """
    buf = bytes(data)
    view = memoryview(buf)
    size = len(buf)
    pos = 0

    def corrupt(start: int, scan_from: int, reason: str) -> CorruptBlock:
        nxt = buf.find(MAGIC, scan_from)
        end = size if nxt < 0 else nxt
        return CorruptBlock(start, end - start, reason, buf[start:end])

    while pos < size:
        if size - pos < len(MAGIC):
            yield CorruptBlock(pos, size - pos, "trailing bytes shorter than a magic", buf[pos:])
            return
        if not buf.startswith(MAGIC, pos):
            # Java throws here; only the first block can meet it, since every other block
            # starts where a magic was found.
            entry = corrupt(pos, pos + 1, "no #HUDI# magic at block start")
            yield entry
            pos += entry.size
            continue
        if size - pos < _HEAD:
            yield CorruptBlock(pos, size - pos, "block length field is torn", buf[pos:])
            return
        block_length = _java_int(_I64.unpack_from(buf, pos + len(MAGIC))[0])
        after_length = pos + _HEAD
        end = after_length + block_length
        reason = None
        if block_length < 8 or end > size:
            reason = f"block length {block_length} runs past the end of the file"
        elif _I64.unpack_from(buf, end - 8)[0] != block_length + len(MAGIC):
            reason = "reverse pointer does not match the block length"
        elif size - end >= len(MAGIC) and not buf.startswith(MAGIC, end):
            reason = "no #HUDI# magic or end of file after the block"
        if reason is not None:
            entry = corrupt(pos, after_length, reason)
            yield entry
            pos += entry.size
            continue
        try:
            block = decode_block(view[pos:end])
        except CorruptTableError as exc:
            raise CorruptTableError(f"log block at offset {pos}: {exc}") from exc
        yield LogFileBlock(pos, end - pos, block)
        pos = end


def read_blocks(data: bytes | bytearray | memoryview) -> list[LogFileEntry]:
    """All entries of :func:`iter_blocks` as a list."""
    return list(iter_blocks(data))
