"""Single-record Avro Object Container Files, the way Hudi's timeline stores them.

Hudi keeps plans and action metadata (compaction/cleaner/rollback plans, clean/rollback
metadata, and from table version 8 on also commit metadata) as Avro OCFs that hold exactly one
record (protocol-v6 §2.2, protocol-v8 §1.3). Java's ``DataFileWriter`` writes them as:

* the magic ``Obj\\x01``;
* a metadata map holding only ``avro.schema`` (no ``avro.codec`` key, i.e. the null codec);
* a 16-byte random sync marker;
* one data block: record count 1, byte size, the datum, the sync marker again.

fastavro's container writer always adds ``avro.codec``, so the framing is written here and only
the datum goes through fastavro's C encoder. Reading accepts any standard OCF with one record.
"""

from __future__ import annotations

import functools
import io
import os
import zlib
from collections.abc import Mapping
from typing import Any, Final

import attrs
import fastavro
import orjson
from fastavro.validation import ValidationError

from hudiwrite.exceptions import CorruptTableError, InvalidOptionError, InvalidRecordError

__all__ = ["MAGIC", "SYNC_SIZE", "OcfRecord", "read_single_record", "write_single_record"]

#: First four bytes of every Avro Object Container File (Avro spec, "Object Container Files").
MAGIC: Final = b"Obj\x01"
#: Length of the sync marker that follows the header and every block.
SYNC_SIZE: Final = 16

_SCHEMA_KEY: Final = "avro.schema"
_CODEC_KEY: Final = "avro.codec"


@attrs.frozen
class OcfRecord:
    """The one record of a timeline OCF, with what is needed to write it back byte for byte."""

    #: The embedded writer schema, parsed from JSON (not fastavro-parsed).
    schema: dict[str, Any]
    #: The embedded schema text exactly as stored (Java's ``Schema.toString()``).
    schema_json: str
    #: The datum as fastavro decodes it: records are dicts, maps dicts, arrays lists; a union
    #: holding more than one record type yields a ``(full name, dict)`` tuple.
    record: dict[str, Any]
    sync_marker: bytes

    @property
    def name(self) -> str:
        """Full name of the record type, e.g. ``org.apache.hudi.avro.model.HoodieCleanerPlan``."""
        name = str(self.schema.get("name", ""))
        namespace = self.schema.get("namespace")
        return f"{namespace}.{name}" if namespace and "." not in name else name


# ---------------------------------------------------------------------------------------------
# varints (Avro binary encoding: zig-zag, little-endian base-128)


def _zigzag(value: int) -> bytes:
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


class _Cursor:
    """A read position in the OCF bytes; every overrun is reported as a corrupt file."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def long(self) -> int:
        shift = 0
        n = 0
        while True:
            if self.pos >= len(self.data):
                raise CorruptTableError("Avro container file is truncated (inside a varint)")
            byte = self.data[self.pos]
            self.pos += 1
            n |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return (n >> 1) ^ -(n & 1)
            shift += 7
            if shift > 63:
                raise CorruptTableError("Avro container file has an overlong varint")

    def take(self, size: int, what: str) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise CorruptTableError(f"Avro container file is truncated (in {what})")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk


def _read_metadata(cur: _Cursor) -> dict[str, bytes]:
    # The header metadata is an Avro map<bytes>: blocks of entries, a negative count carrying a
    # byte size, terminated by a zero count (Avro spec, "Complex Types Encoding: Maps").
    meta: dict[str, bytes] = {}
    while True:
        count = cur.long()
        if count == 0:
            return meta
        if count < 0:
            count = -count
            cur.long()  # block size in bytes, not needed
        for _ in range(count):
            key_raw = cur.take(cur.long(), "a metadata key")
            try:
                key = key_raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CorruptTableError("Avro container metadata key is not UTF-8") from exc
            meta[key] = cur.take(cur.long(), "a metadata value")


@functools.lru_cache(maxsize=64)
def _parsed_writer_schema(text: str) -> Any:
    """fastavro-parsed schema per JSON text; timeline files repeat a handful of schemas."""
    # Java's Avro does not check defaults against their types; accept what it wrote.
    return fastavro.parse_schema(orjson.loads(text), _ignore_default_error=True)


def read_single_record(data: bytes, *, reader_schema: Any = None) -> OcfRecord | None:
    """Decode a timeline OCF holding exactly one record; ``None`` for a 0-byte file.

    Several timeline states are legally empty (Java reads them as "no content"), so an empty
    input is not an error. Everything else must be a well-formed container with the null (or
    deflate) codec and exactly one record, else :class:`CorruptTableError`.

    ``reader_schema`` (a fastavro-parsed schema, e.g. ``hudi_avro_schemas.parsed(name)``) makes
    fastavro resolve the writer schema to it, as Java does with its generated class: fields the
    writer lacks get the reader's defaults, fields the reader lacks are dropped.
    """
    if not data:
        return None
    if not data.startswith(MAGIC):
        raise CorruptTableError("not an Avro container file (magic 'Obj\\x01' missing)")
    cur = _Cursor(data, len(MAGIC))
    meta = _read_metadata(cur)
    sync = cur.take(SYNC_SIZE, "the sync marker")

    codec = meta.get(_CODEC_KEY, b"null")
    if codec not in (b"null", b"deflate"):
        raise CorruptTableError(f"unsupported Avro container codec {codec!r}")
    raw_schema = meta.get(_SCHEMA_KEY)
    if raw_schema is None:
        raise CorruptTableError("Avro container file has no avro.schema metadata")
    try:
        schema_json = raw_schema.decode("utf-8")
        schema = orjson.loads(schema_json)
    except (UnicodeDecodeError, orjson.JSONDecodeError) as exc:
        raise CorruptTableError(f"Avro container schema is not valid JSON: {exc}") from exc
    if not isinstance(schema, dict) or schema.get("type") not in ("record", "error"):
        raise CorruptTableError("Avro container schema is not a record schema")
    try:
        writer = _parsed_writer_schema(schema_json)
    except Exception as exc:  # fastavro raises several types for a bad schema
        raise CorruptTableError(f"Avro container schema does not parse: {exc}") from exc

    records: list[Any] = []
    while cur.pos < len(data):
        count = cur.long()
        size = cur.long()
        block = cur.take(size, "a data block")
        if cur.take(SYNC_SIZE, "a block sync marker") != sync:
            raise CorruptTableError("Avro container block sync marker does not match the header")
        if count < 0:
            raise CorruptTableError("Avro container block has a negative record count")
        if codec == b"deflate":
            try:
                block = zlib.decompress(block, -15)  # raw deflate, no zlib header (Avro spec)
            except zlib.error as exc:
                raise CorruptTableError(f"Avro container block does not inflate: {exc}") from exc
        if len(records) + count > 1:
            raise CorruptTableError("Avro container file holds more than one record")
        buf = io.BytesIO(block)
        for _ in range(count):
            try:
                records.append(
                    fastavro.schemaless_reader(
                        buf,
                        writer,
                        reader_schema,
                        return_record_name=True,
                        return_record_name_override=True,
                    )
                )
            except Exception as exc:  # EOFError, ValueError, UnicodeDecodeError, resolution
                raise CorruptTableError(f"Avro container record does not decode: {exc}") from exc
        if buf.tell() != len(block):
            raise CorruptTableError("Avro container block has bytes after its records")
    if len(records) != 1:
        raise CorruptTableError("Avro container file holds no record")
    (record,) = records
    if not isinstance(record, dict):
        raise CorruptTableError("Avro container record is not a record")
    return OcfRecord(schema=schema, schema_json=schema_json, record=record, sync_marker=sync)


def write_single_record(
    schema: Mapping[str, Any] | str,
    record: Mapping[str, Any],
    *,
    sync_marker: bytes | None = None,
) -> bytes:
    """One OCF holding ``record``, laid out exactly as Java's ``DataFileWriter`` writes it.

    A string schema is embedded verbatim, so pass Java's ``Schema.toString()`` text (see
    ``hudi_avro_schemas.schema_json``) to reproduce Java's bytes; a mapping is embedded as compact
    JSON in its own key order. The sync marker is random unless given (16 bytes).
    """
    schema_json = schema if isinstance(schema, str) else orjson.dumps(dict(schema)).decode()
    if sync_marker is None:
        sync_marker = os.urandom(SYNC_SIZE)
    elif len(sync_marker) != SYNC_SIZE:
        raise InvalidOptionError(f"sync marker must be {SYNC_SIZE} bytes, got {len(sync_marker)}")
    try:
        parsed = _parsed_writer_schema(schema_json)
    except Exception as exc:
        raise InvalidOptionError(f"not a valid Avro schema: {exc}") from exc
    try:
        fastavro.validate(record, parsed, raise_errors=True)
    except ValidationError as exc:
        raise InvalidRecordError(f"record does not match its Avro schema: {exc}") from exc
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed, record)
    datum = buf.getvalue()

    schema_bytes = schema_json.encode("utf-8")
    key = _SCHEMA_KEY.encode("ascii")
    return b"".join(
        (
            MAGIC,
            # metadata map: one block of one entry, then the zero terminator
            _zigzag(1),
            _zigzag(len(key)),
            key,
            _zigzag(len(schema_bytes)),
            schema_bytes,
            _zigzag(0),
            sync_marker,
            # the single data block: record count, byte size, datum, sync marker
            _zigzag(1),
            _zigzag(len(datum)),
            datum,
            sync_marker,
        )
    )
