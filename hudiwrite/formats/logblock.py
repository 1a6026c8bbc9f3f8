"""Byte-level codec of Hudi log blocks (HoodieLogFormat version 1) and of their contents.

A log block is self-delimiting (protocol-v6.md §5.1): magic, length, format version, type,
header map, content, footer map, reverse pointer. This module turns a :class:`LogBlock` into
those bytes and back, and encodes/decodes the content of each block type: Avro data blocks
(type 3), Parquet data blocks (type 5), delete blocks (type 1) and command blocks (type 0).
HFILE (metadata table) and CDC contents stay opaque bytes.

The layout is the same in table versions 6, 8 and 9 (protocol-v8.md §4.2); 1.1 only appended
``ArrayWrapper`` to the delete-record ordering-value union, which decoding accepts.

Codecs never do I/O: everything here takes and returns bytes, attrs classes or Arrow tables.
"""

from __future__ import annotations

import decimal
import enum
import functools
import io
import struct
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import attrs
import fastavro
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hudiwrite.exceptions import CorruptTableError, UnsupportedTableError, UnsupportedTypeError
from hudiwrite.formats.avro_schema import avro_to_arrow
from hudiwrite.formats.parquet import writer_properties

__all__ = [
    "AVRO_BLOCK_CONTENT_VERSION",
    "DELETE_BLOCK_CONTENT_VERSION",
    "DELETE_RECORD_LIST_SCHEMA",
    "DELETE_RECORD_LIST_SCHEMA_V9",
    "LOG_FORMAT_VERSION",
    "MAGIC",
    "BlockType",
    "CommandBlockType",
    "DeleteRecords",
    "HeaderKey",
    "LogBlock",
    "OrderingKind",
    "avro_block_content",
    "avro_data_block",
    "avro_records_content",
    "data_block_header",
    "decode_avro_records",
    "decode_block",
    "decode_delete_records",
    "delete_block",
    "delete_block_content",
    "encode_block",
    "ordering_kind_for",
    "parquet_block_content",
    "parquet_data_block",
    "read_avro_block_content",
    "read_delete_block_content",
    "read_parquet_block_content",
    "rollback_command_block",
]

# --------------------------------------------------------------------------------------------
# Framing constants and enums (HoodieLogFormat, HoodieLogBlock; protocol-v6.md §5.1-5.3)
# --------------------------------------------------------------------------------------------

MAGIC: Final = b"#HUDI#"
LOG_FORMAT_VERSION: Final = 1
# HoodieLogBlock.version as written by 0.14/0.15 and 1.x into Avro data and delete contents.
AVRO_BLOCK_CONTENT_VERSION: Final = 3
DELETE_BLOCK_CONTENT_VERSION: Final = 3

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


class CommandBlockType(enum.IntEnum):
    """``HoodieCommandBlockTypeEnum``; the header carries the ordinal as a decimal string."""

    ROLLBACK_BLOCK = 0


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


# --------------------------------------------------------------------------------------------
# Header builders and block builders
# --------------------------------------------------------------------------------------------


def data_block_header(instant_time: str, schema_json: str | None) -> HeaderPairs:
    """INSTANT_TIME then SCHEMA: what Spark writes on data and delete blocks.

    ``schema_json`` is the full record schema including the five ``_hoodie_*`` meta fields;
    None leaves SCHEMA out, as metadata-table delete blocks sometimes do.
    """
    if schema_json is None:
        return ((HeaderKey.INSTANT_TIME, instant_time),)
    return ((HeaderKey.INSTANT_TIME, instant_time), (HeaderKey.SCHEMA, schema_json))


def rollback_command_block(instant_time: str, target_instant_time: str) -> LogBlock:
    """The command block a v6 rollback appends: empty content (protocol-v6.md §5.7)."""
    return LogBlock(
        BlockType.COMMAND_BLOCK,
        (
            (HeaderKey.INSTANT_TIME, instant_time),
            (HeaderKey.TARGET_INSTANT_TIME, target_instant_time),
            (HeaderKey.COMMAND_BLOCK_TYPE, str(int(CommandBlockType.ROLLBACK_BLOCK))),
        ),
    )


def avro_data_block(table: pa.Table, schema_json: str, instant_time: str) -> LogBlock:
    """An Avro data block holding ``table`` encoded with ``schema_json`` (also the header)."""
    return LogBlock(
        BlockType.AVRO_DATA_BLOCK,
        data_block_header(instant_time, schema_json),
        avro_block_content(table, schema_json),
    )


def parquet_data_block(
    table: pa.Table, schema_json: str, instant_time: str, compression: str = "gzip"
) -> LogBlock:
    """A Parquet data block holding ``table`` as a whole in-memory Parquet file."""
    return LogBlock(
        BlockType.PARQUET_DATA_BLOCK,
        data_block_header(instant_time, schema_json),
        parquet_block_content(table, schema_json, compression),
    )


def delete_block(
    records: DeleteRecords | pa.Table, instant_time: str, schema_json: str | None
) -> LogBlock:
    """A delete block; Spark puts the table schema in its header too (protocol-v8.md §4.2)."""
    return LogBlock(
        BlockType.DELETE_BLOCK,
        data_block_header(instant_time, schema_json),
        delete_block_content(records),
    )


# --------------------------------------------------------------------------------------------
# Avro schemas: parsing (cached), logical-type stripping, Arrow <-> Avro co-walks
# --------------------------------------------------------------------------------------------

AvroSchemaArg = Mapping[str, Any] | str

# Logical types whose values are plain ints on the wire. Stripping them lets fastavro hand
# out ints (Arrow converts those in C++) instead of building a datetime object per value.
_TEMPORAL_LOGICAL: Final = frozenset(
    {
        "date",
        "time-millis",
        "time-micros",
        "timestamp-millis",
        "timestamp-micros",
        "local-timestamp-millis",
        "local-timestamp-micros",
    }
)


def _schema_text(schema: AvroSchemaArg) -> str:
    if isinstance(schema, str):
        return schema
    return orjson.dumps(schema).decode()


def _strip_temporal(node: Any) -> Any:
    """Copy of an Avro schema without date/time/timestamp annotations (same binary encoding)."""
    if isinstance(node, list):
        return [_strip_temporal(x) for x in node]
    if isinstance(node, dict):
        out = {k: (v if k == "default" else _strip_temporal(v)) for k, v in node.items()}
        if out.get("logicalType") in _TEMPORAL_LOGICAL and out.get("type") in ("int", "long"):
            del out["logicalType"]
        return out
    return node


_TIMESTAMP_LOGICAL: Final = frozenset(
    {"timestamp-millis", "timestamp-micros", "local-timestamp-millis", "local-timestamp-micros"}
)


@functools.lru_cache(maxsize=128)
def _parsed(text: str, strip_temporal: bool) -> Any:
    """fastavro-parsed schema, cached per JSON text: headers repeat the same schema."""
    raw = orjson.loads(text)
    if strip_temporal:
        raw = _strip_temporal(raw)
    # Java's Avro does not validate defaults; neither do we, to accept any schema it wrote.
    return fastavro.parse_schema(raw, _ignore_default_error=True)


@functools.lru_cache(maxsize=128)
def _expanded(text: str) -> Any:
    """Named types inlined, names made full: convenient for walking beside an Arrow type."""
    return fastavro.parse_schema(orjson.loads(text), expand=True, _ignore_default_error=True)


def _non_null(node: Any) -> Any:
    """The single non-null branch of a nullable union; None for other unions."""
    if isinstance(node, list):
        branches = [b for b in node if b != "null"]
        return branches[0] if len(branches) == 1 else None
    return node


def _kind(node: Any) -> tuple[str, str | None]:
    if isinstance(node, str):
        return node, None
    if isinstance(node, dict):
        kind = node["type"]
        if isinstance(kind, (dict, list)):  # {"type": {"type": ...}} wrapping
            return _kind(kind)
        return kind, node.get("logicalType")
    return "union", None


def _rebuild_list(t: pa.DataType, item: pa.DataType) -> pa.DataType:
    field = t.value_field.with_type(item)
    if pa.types.is_large_list(t):
        return pa.large_list(field)
    if pa.types.is_fixed_size_list(t):
        return pa.list_(field, t.list_size)
    return pa.list_(field)


def _is_list(t: pa.DataType) -> bool:
    return bool(pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t))


def _write_types(t: pa.DataType, node: Any) -> tuple[pa.DataType, pa.DataType]:
    """(unit-normalized, physical) Arrow types for writing ``t`` under Avro ``node``.

    Temporal values become the ints Avro stores (after converting to the unit the Avro
    logical type names), so that ``to_pylist`` yields ints rather than datetime objects.
    """
    node = _non_null(node)
    if node is None:
        return t, t
    kind, logical = _kind(node)
    if pa.types.is_timestamp(t) and kind == "long" and logical in _TIMESTAMP_LOGICAL:
        return pa.timestamp("ms" if logical.endswith("millis") else "us", t.tz), pa.int64()
    if pa.types.is_date(t) and kind == "int" and logical == "date":
        return pa.date32(), pa.int32()
    if pa.types.is_time(t) and kind == "long" and logical == "time-micros":
        return pa.time64("us"), pa.int64()
    if pa.types.is_time(t) and kind == "int" and logical == "time-millis":
        return pa.time32("ms"), pa.int32()
    if pa.types.is_struct(t) and kind == "record":
        by_name = {f["name"]: f["type"] for f in node["fields"]}
        norm, phys = [], []
        for f in t:
            n, p = _write_types(f.type, by_name[f.name]) if f.name in by_name else (f.type, f.type)
            norm.append(f.with_type(n))
            phys.append(f.with_type(p))
        return pa.struct(norm), pa.struct(phys)
    if _is_list(t) and kind == "array":
        n, p = _write_types(t.value_type, node["items"])
        return _rebuild_list(t, n), _rebuild_list(t, p)
    if pa.types.is_map(t) and kind == "map":
        n, p = _write_types(t.item_type, node["values"])
        return (
            pa.map_(t.key_field, t.item_field.with_type(n), t.keys_sorted),
            pa.map_(t.key_field, t.item_field.with_type(p), t.keys_sorted),
        )
    return t, t


def _read_type(t: pa.DataType, node: Any) -> pa.DataType:
    """The Arrow type that accepts what fastavro returns for ``node`` (temporal = raw ints).

    It equals ``t`` except where the Avro unit differs from the requested one; a final cast
    then converts.
    """
    node = _non_null(node)
    if node is None:
        return t
    kind, logical = _kind(node)
    if pa.types.is_timestamp(t) and kind == "long" and logical in _TIMESTAMP_LOGICAL:
        return pa.timestamp("ms" if logical.endswith("millis") else "us", t.tz)
    if pa.types.is_date(t) and kind == "int" and logical == "date":
        return pa.date32()
    if pa.types.is_time(t) and kind == "long" and logical == "time-micros":
        return pa.time64("us")
    if pa.types.is_time(t) and kind == "int" and logical == "time-millis":
        return pa.time32("ms")
    if pa.types.is_struct(t) and kind == "record":
        by_name = {f["name"]: f["type"] for f in node["fields"]}
        return pa.struct(
            [
                f.with_type(_read_type(f.type, by_name[f.name])) if f.name in by_name else f
                for f in t
            ]
        )
    if _is_list(t) and kind == "array":
        return _rebuild_list(t, _read_type(t.value_type, node["items"]))
    if pa.types.is_map(t) and kind == "map":
        item = _read_type(t.item_type, node["values"])
        return pa.map_(t.key_field, t.item_field.with_type(item), t.keys_sorted)
    return t


def _map_fixer(t: pa.DataType) -> Callable[[Any], Any] | None:
    """A converter turning Arrow's map values (lists of pairs) into the dicts fastavro wants.

    None when ``t`` holds no map anywhere, so tables without maps pay nothing.
    """
    if pa.types.is_map(t):
        inner = _map_fixer(t.item_type)
        if inner is None:
            return lambda v: None if v is None else dict(v)
        fix_item = inner
        return lambda v: None if v is None else {k: fix_item(x) for k, x in v}
    if _is_list(t):
        inner = _map_fixer(t.value_type)
        if inner is None:
            return None
        fix_elem = inner
        return lambda v: None if v is None else [fix_elem(x) for x in v]
    if pa.types.is_struct(t):
        subs = [(f.name, fx) for f in t if (fx := _map_fixer(f.type)) is not None]
        if not subs:
            return None

        def fix_struct(v: Any) -> Any:
            if v is not None:
                for name, fx in subs:
                    v[name] = fx(v[name])
            return v

        return fix_struct
    return None


# --------------------------------------------------------------------------------------------
# Avro data block content (type 3; protocol-v6.md §5.4)
# --------------------------------------------------------------------------------------------


def _encode_records(records: Iterable[Any], parsed: Any) -> bytes:
    # int version, int count, then per record: int length + schemaless Avro datum.
    buf = io.BytesIO()
    buf.write(b"\0" * 8)
    write = fastavro.schemaless_writer
    starts: list[int] = []
    for record in records:
        start = buf.tell()
        starts.append(start)
        buf.write(b"\0\0\0\0")  # length placeholder, patched below
        write(buf, parsed, record)
    end = buf.tell()
    out = buf.getbuffer()
    _I32_I32.pack_into(out, 0, AVRO_BLOCK_CONTENT_VERSION, len(starts))
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else end
        _I32.pack_into(out, start, stop - start - 4)
    del out  # release the exported buffer before getvalue()
    return buf.getvalue()


def avro_records_content(records: Iterable[Mapping[str, Any]], avro_schema: AvroSchemaArg) -> bytes:
    """Content of an Avro data block from Python records (dicts as fastavro takes them)."""
    return _encode_records(records, _parsed(_schema_text(avro_schema), False))


def _decode_records(content: bytes, parsed: Any, reader: Any = None) -> list[Any]:
    view = memoryview(content)
    if len(view) < 8:
        raise CorruptTableError("Avro data block content is shorter than its version and count")
    version, count = _I32_I32.unpack_from(view, 0)
    # HoodieAvroDataBlockVersion: every version so far carries the record count.
    if not 1 <= version <= AVRO_BLOCK_CONTENT_VERSION:
        raise UnsupportedTableError(f"Avro data block content version {version} is not supported")
    if count < 0 or count * 4 > len(view) - 8:
        raise CorruptTableError(f"Avro data block claims an impossible {count} records")
    fo = io.BytesIO(content)
    read = fastavro.schemaless_reader
    records: list[Any] = []
    pos = 8
    size = len(view)
    for _ in range(count):
        if pos + 4 > size:
            raise CorruptTableError("Avro data block record length runs past the content")
        (length,) = _I32.unpack_from(view, pos)
        pos += 4
        stop = pos + length
        if length < 0 or stop > size:
            raise CorruptTableError("Avro data block record runs past the content")
        fo.seek(pos)
        records.append(read(fo, parsed, reader))
        if fo.tell() > stop:
            raise CorruptTableError("Avro record is longer than its length prefix")
        pos = stop  # like Java, skip by the prefix, not by what the decoder consumed
    return records


def decode_avro_records(
    content: bytes, writer_schema: AvroSchemaArg, reader_schema: AvroSchemaArg | None = None
) -> list[dict[str, Any]]:
    """Records of an Avro data block as fastavro dicts (logical types converted).

    Accepts content versions 1 to 3, which share the version/count/length-prefixed layout.
    """
    writer = _parsed(_schema_text(writer_schema), False)
    reader = None if reader_schema is None else _parsed(_schema_text(reader_schema), False)
    return _decode_records(content, writer, reader)


def avro_block_content(table: pa.Table, avro_schema: AvroSchemaArg) -> bytes:
    """Content of an Avro data block (version 3) holding every row of ``table``.

    ``avro_schema`` is the block's SCHEMA header (meta fields included). Columns are matched
    to record fields by name; nested struct/list/map, decimals (fixed or bytes), dates,
    timestamps and binaries are converted in Arrow first so fastavro's C encoder does the rest.
    """
    text = _schema_text(avro_schema)
    expanded = _expanded(text)
    kind, _ = _kind(expanded)
    if kind != "record":
        raise UnsupportedTypeError("an Avro data block schema must be a record")
    by_name = {f["name"]: f["type"] for f in expanded["fields"]}
    norm_fields, phys_fields = [], []
    for f in table.schema:
        n, p = _write_types(f.type, by_name[f.name]) if f.name in by_name else (f.type, f.type)
        norm_fields.append(f.with_type(n))
        phys_fields.append(f.with_type(p))
    norm, phys = pa.schema(norm_fields), pa.schema(phys_fields)
    if not norm.equals(table.schema):
        table = table.cast(norm)
    if not phys.equals(norm):
        table = table.cast(phys)
    rows = table.to_pylist()
    for f in phys:
        fix = _map_fixer(f.type)
        if fix is not None:
            name = f.name
            for row in rows:
                row[name] = fix(row[name])
    return _encode_records(rows, _parsed(text, True))


def read_avro_block_content(
    content: bytes,
    writer_schema: AvroSchemaArg,
    arrow_schema: pa.Schema | None = None,
) -> pa.Table:
    """Rows of an Avro data block as an Arrow table.

    ``writer_schema`` is the block's SCHEMA header. ``arrow_schema`` (default: derived from the
    writer schema) selects and types the columns; columns it names that the block lacks come
    out null, which is how older blocks read under an evolved table schema.
    """
    text = _schema_text(writer_schema)
    expanded = _expanded(text)
    target = arrow_schema if arrow_schema is not None else avro_to_arrow(text)
    by_name = {f["name"]: f["type"] for f in expanded["fields"]}
    physical = pa.schema(
        [
            f.with_type(_read_type(f.type, by_name[f.name])) if f.name in by_name else f
            for f in target
        ]
    )
    rows = _decode_records(content, _parsed(text, True))
    table = pa.Table.from_pylist(rows, schema=physical)
    if not physical.equals(target):
        table = table.cast(target)
    return table


# --------------------------------------------------------------------------------------------
# Parquet data block content (type 5; protocol-v6.md §5.5)
# --------------------------------------------------------------------------------------------


def parquet_block_content(
    table: pa.Table, avro_schema_json: str, compression: str = "gzip"
) -> bytes:
    """A complete Parquet file in memory, footer tagged the way parquet-avro tags its files.

    The footer carries ``parquet.avro.schema`` and ``writer.model.name=avro`` and, like Java,
    no Arrow schema, bloom filter or record-key footer.
    """
    sink = pa.BufferOutputStream()
    schema = table.schema.remove_metadata()
    with pq.ParquetWriter(sink, schema, **writer_properties(compression)) as writer:
        writer.write_table(table.replace_schema_metadata(None))
        writer.add_key_value_metadata(
            {"parquet.avro.schema": avro_schema_json, "writer.model.name": "avro"}
        )
    return bytes(sink.getvalue().to_pybytes())


def read_parquet_block_content(content: bytes, arrow_schema: pa.Schema | None = None) -> pa.Table:
    """The rows of a Parquet data block; optionally selected and cast to ``arrow_schema``."""
    try:
        table = pq.read_table(pa.BufferReader(content))
    except pa.ArrowInvalid as exc:
        raise CorruptTableError(f"parquet data block is damaged: {exc}") from exc
    if arrow_schema is None:
        return table
    columns = []
    for f in arrow_schema:
        if f.name in table.column_names:
            columns.append(table.column(f.name).cast(f.type))
        else:
            columns.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(columns, schema=arrow_schema)


# --------------------------------------------------------------------------------------------
# Delete block content (type 1; protocol-v6.md §5.6, protocol-v8.md §4.2)
# --------------------------------------------------------------------------------------------

_MODEL_NS: Final = "org.apache.hudi.avro.model"
# With <stringType>String</stringType>, Java's generated SCHEMA$ marks every string like this.
_JAVA_STRING: Final = {"type": "string", "avro.java.string": "String"}


class OrderingKind(enum.IntEnum):
    """Which wrapper record carries a delete's ordering value.

    Values 0-12 equal the branch index in the ``orderingVal`` union (0 = null; ARRAY only from
    Hudi 1.1). LOCAL_DATE occurs only inside an ARRAY's elements, where it is branch 12.
    """

    NULL = 0
    BOOLEAN = 1
    INT = 2
    LONG = 3
    FLOAT = 4
    DOUBLE = 5
    BYTES = 6
    STRING = 7
    DATE = 8
    DECIMAL = 9
    TIME_MICROS = 10
    TIMESTAMP_MICROS = 11
    ARRAY = 12
    LOCAL_DATE = 13


# (kind, record name, value type, doc) as in hudi-common's HoodieMetadata.avsc.
_WRAPPER_DEFS: Final[tuple[tuple[OrderingKind, str, Any, str], ...]] = (
    (OrderingKind.BOOLEAN, "BooleanWrapper", "boolean", "boolean type"),
    (OrderingKind.INT, "IntWrapper", "int", "int type"),
    (OrderingKind.LONG, "LongWrapper", "long", "long type"),
    (OrderingKind.FLOAT, "FloatWrapper", "float", "float type"),
    (OrderingKind.DOUBLE, "DoubleWrapper", "double", "double type"),
    (OrderingKind.BYTES, "BytesWrapper", "bytes", "bytes type"),
    (OrderingKind.STRING, "StringWrapper", _JAVA_STRING, "string type"),
    (OrderingKind.DATE, "DateWrapper", "int", "Date logical type"),
    (
        OrderingKind.DECIMAL,
        "DecimalWrapper",
        {"type": "bytes", "logicalType": "decimal", "precision": 30, "scale": 15},
        "Decimal logical type",
    ),
    (
        OrderingKind.TIME_MICROS,
        "TimeMicrosWrapper",
        {"type": "long", "logicalType": "time-micros"},
        "Time-micros logical type",
    ),
    (
        OrderingKind.TIMESTAMP_MICROS,
        "TimestampMicrosWrapper",
        "long",
        "Timestamp-micros logical type",
    ),
    (OrderingKind.LOCAL_DATE, "LocalDateWrapper", "int", "Local Date type"),
)

_KIND_NAME: Final[dict[OrderingKind, str]] = {
    kind: f"{_MODEL_NS}.{name}" for kind, name, _, _ in _WRAPPER_DEFS
} | {OrderingKind.ARRAY: f"{_MODEL_NS}.ArrayWrapper"}
_NAME_KIND: Final[dict[str, OrderingKind]] = {v: k for k, v in _KIND_NAME.items()}

# Arrow type of each wrapper's value. Dates are days and timestamps epoch micros (no Avro
# annotation in the wrappers, but that is what Java puts there).
_KIND_TYPE: Final[dict[OrderingKind, pa.DataType]] = {
    OrderingKind.BOOLEAN: pa.bool_(),
    OrderingKind.INT: pa.int32(),
    OrderingKind.LONG: pa.int64(),
    OrderingKind.FLOAT: pa.float32(),
    OrderingKind.DOUBLE: pa.float64(),
    OrderingKind.BYTES: pa.binary(),
    OrderingKind.STRING: pa.string(),
    OrderingKind.DATE: pa.date32(),
    OrderingKind.DECIMAL: pa.decimal128(30, 15),
    OrderingKind.TIME_MICROS: pa.time64("us"),
    OrderingKind.TIMESTAMP_MICROS: pa.timestamp("us", tz="UTC"),
    OrderingKind.LOCAL_DATE: pa.date32(),
}
# What the wire holds for temporal kinds; Arrow casts between these and _KIND_TYPE.
_KIND_WIRE_TYPE: Final[dict[OrderingKind, pa.DataType]] = {
    OrderingKind.DATE: pa.int32(),
    OrderingKind.LOCAL_DATE: pa.int32(),
    OrderingKind.TIME_MICROS: pa.int64(),
    OrderingKind.TIMESTAMP_MICROS: pa.int64(),
}


def ordering_kind_for(dtype: pa.DataType) -> OrderingKind:
    """The wrapper a record's ordering value of Arrow type ``dtype`` travels in inside a delete
    block: the Java class Hudi reads for the matching Avro type."""
    if pa.types.is_int8(dtype) or pa.types.is_int16(dtype) or pa.types.is_int32(dtype):
        return OrderingKind.INT
    if pa.types.is_integer(dtype):
        return OrderingKind.LONG
    if pa.types.is_float32(dtype):
        return OrderingKind.FLOAT
    if pa.types.is_floating(dtype):
        return OrderingKind.DOUBLE
    if pa.types.is_boolean(dtype):
        return OrderingKind.BOOLEAN
    if pa.types.is_date(dtype):
        return OrderingKind.DATE
    if pa.types.is_timestamp(dtype):
        return OrderingKind.TIMESTAMP_MICROS
    if pa.types.is_time(dtype):
        return OrderingKind.TIME_MICROS
    if pa.types.is_decimal(dtype):
        return OrderingKind.DECIMAL
    if pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype):
        return OrderingKind.BYTES
    return OrderingKind.STRING


def _wrapper_schemas() -> dict[OrderingKind, dict[str, Any]]:
    return {
        kind: {
            "type": "record",
            "name": name,
            "namespace": _MODEL_NS,
            "doc": f"A record wrapping {what} to be able to be used it w/in Avro's Union",
            "fields": [{"name": "value", "type": value_type}],
        }
        for kind, name, value_type, what in _WRAPPER_DEFS
    }


def _delete_record_list_schema(with_array_wrapper: bool) -> dict[str, Any]:
    """``HoodieDeleteRecordList`` as Java's generated class holds it (SCHEMA$).

    Wrapper records are defined inline at first use, the way the avro-maven-plugin resolves
    the imported ``HoodieMetadata.avsc`` names.
    """
    wrappers = _wrapper_schemas()
    scalar = [k for k in OrderingKind if OrderingKind.BOOLEAN <= k <= OrderingKind.TIMESTAMP_MICROS]
    branches: list[Any] = ["null", *(wrappers[k] for k in scalar)]
    if with_array_wrapper:
        element_branches: list[Any] = [
            "null",
            *(_KIND_NAME[k] for k in scalar),
            wrappers[OrderingKind.LOCAL_DATE],
        ]
        branches.append(
            {
                "type": "record",
                "name": "ArrayWrapper",
                "namespace": _MODEL_NS,
                "doc": "A record containing a list of wrapped values.",
                "fields": [
                    {
                        "name": "wrappedValues",
                        "type": ["null", {"type": "array", "items": element_branches}],
                        "doc": "An array where each element is one of the supported wrapper types.",
                        "default": None,
                    }
                ],
            }
        )
    return {
        "type": "record",
        "name": "HoodieDeleteRecordList",
        "namespace": _MODEL_NS,
        "doc": "A list of delete records stored in the delete block in log block version 3",
        "fields": [
            {
                "name": "deleteRecordList",
                "type": {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "HoodieDeleteRecord",
                        "doc": "Individual Hudi record to delete",
                        "fields": [
                            {
                                "name": "recordKey",
                                "type": ["null", _JAVA_STRING],
                                "doc": "Record key in String",
                                "default": None,
                            },
                            {
                                "name": "partitionPath",
                                "type": ["null", _JAVA_STRING],
                                "doc": "Partition path in String",
                                "default": None,
                            },
                            {
                                "name": "orderingVal",
                                "type": branches,
                                "doc": "Ordering value determining the order of merging on the "
                                "same key",
                                "default": None,
                            },
                        ],
                    },
                },
                "doc": "A list of Hudi records to delete",
            }
        ],
    }


#: Hudi 0.14/0.15 and 1.0 (table versions 6 and 8): eleven wrappers.
DELETE_RECORD_LIST_SCHEMA: Final = _delete_record_list_schema(with_array_wrapper=False)
#: Hudi 1.1+ (table version 9): ``ArrayWrapper`` appended, earlier branch indices unchanged.
DELETE_RECORD_LIST_SCHEMA_V9: Final = _delete_record_list_schema(with_array_wrapper=True)

# The superset schema reads both generations (the branch indices agree) and, for every
# value but an ArrayWrapper, writes bytes identical to the 11-wrapper schema. Without the
# time-micros annotation fastavro hands out and takes plain ints (decimals are pre-encoded).
_DELETE_PARSED: Final = fastavro.parse_schema(_strip_temporal(DELETE_RECORD_LIST_SCHEMA_V9))
_DECIMAL_CONTEXT: Final = decimal.Context(prec=80)


def _one_chunk(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 1:
            return values.chunk(0)
        if values.num_chunks == 0:
            return pa.array([], type=values.type)
        return pa.concat_arrays(values.chunks)
    if isinstance(values, pa.Array):
        return values
    return pa.array(values)


@attrs.frozen
class DeleteRecords:
    """The keys a delete block removes, column-wise.

    ``ordering_kinds`` (int8, :class:`OrderingKind` per row, 0 = no ordering value) says which
    wrapper each row's value travels in. ``ordering_values`` holds the values: a plain typed
    array when all non-null rows share one kind (ARRAY: ``list<dense_union>``), else a dense
    union whose type codes are the kinds.
    """

    record_keys: pa.Array
    partition_paths: pa.Array
    ordering_kinds: pa.Array
    ordering_values: pa.Array

    def __attrs_post_init__(self) -> None:
        n = len(self.record_keys)
        if not (
            len(self.partition_paths) == len(self.ordering_kinds) == len(self.ordering_values) == n
        ):
            raise ValueError("DeleteRecords columns differ in length")

    def __len__(self) -> int:
        return len(self.record_keys)

    @classmethod
    def create(
        cls,
        record_keys: Any,
        partition_paths: Any = None,
        ordering_values: Any = None,
        kind: OrderingKind = OrderingKind.INT,
    ) -> DeleteRecords:
        """Deletes with one wrapper kind for all ordering values.

        Without ordering values every delete carries ``IntWrapper(0)``: "natural order, the
        delete always wins", which is what Spark SQL DELETE writes (protocol-v6.md §5.6).
        A null ordering value becomes a null ``orderingVal``.
        """
        keys = _one_chunk(record_keys).cast(pa.string())
        n = len(keys)
        if partition_paths is None:
            paths = pa.nulls(n, pa.string())
        else:
            paths = _one_chunk(partition_paths).cast(pa.string())
        kind = OrderingKind(kind)
        if kind not in _KIND_TYPE or kind == OrderingKind.LOCAL_DATE:
            raise ValueError(f"ordering values cannot be created with kind {kind.name}")
        if ordering_values is None:
            kind = OrderingKind.INT
            values = pa.repeat(pa.scalar(0, pa.int32()), n)
        else:
            values = _one_chunk(ordering_values).cast(_KIND_TYPE[kind])
        kinds = pc.if_else(
            pc.is_null(values), pa.scalar(0, pa.int8()), pa.scalar(int(kind), pa.int8())
        )
        return cls(keys, paths, _one_chunk(kinds), values)

    @classmethod
    def from_table(cls, table: pa.Table) -> DeleteRecords:
        """Inverse of :meth:`to_table`."""
        return cls(
            _one_chunk(table.column("record_key")),
            _one_chunk(table.column("partition_path")),
            _one_chunk(table.column("ordering_kind")),
            _one_chunk(table.column("ordering_value")),
        )

    def to_table(self) -> pa.Table:
        """Columns record_key, partition_path, ordering_kind, ordering_value."""
        return pa.table(
            {
                "record_key": self.record_keys,
                "partition_path": self.partition_paths,
                "ordering_kind": self.ordering_kinds,
                "ordering_value": self.ordering_values,
            }
        )


def _java_decimal_bytes(value: decimal.Decimal) -> bytes:
    # BigInteger.toByteArray of the unscaled value at scale 15: minimal two's complement.
    # (fastavro would pad e.g. -128 to two bytes; decoders agree, but Java writes one.)
    unscaled = int(value.scaleb(15, _DECIMAL_CONTEXT).to_integral_exact(context=_DECIMAL_CONTEXT))
    size = (unscaled if unscaled >= 0 else ~unscaled).bit_length() // 8 + 1
    return unscaled.to_bytes(size, "big", signed=True)


def _wire_values(values: pa.Array, kind: OrderingKind) -> list[Any]:
    """Python values of one wrapper kind as fastavro should write them."""
    wire = _KIND_WIRE_TYPE.get(kind)
    if wire is not None:
        return list(values.cast(_KIND_TYPE[kind]).cast(wire).to_pylist())
    if kind == OrderingKind.DECIMAL:
        # a safe cast refuses values that would not fit DecimalWrapper's (30, 15) exactly
        exact = values.cast(_KIND_TYPE[kind]).to_pylist()
        return [None if v is None else _java_decimal_bytes(v) for v in exact]
    if kind == OrderingKind.ARRAY:
        return _array_wrapper_values(values)
    return list(values.to_pylist())


def _union_wrapped(values: pa.Array) -> list[Any]:
    """Each slot of a dense union (type codes = kinds) as a fastavro (name, record) tuple."""
    codes = values.type_codes.to_pylist()
    offsets = values.offsets.to_pylist()
    children: dict[int, list[Any]] = {}
    for pos, code in enumerate(values.type.type_codes):
        kind = OrderingKind(code)
        child = values.field(pos)
        children[code] = [] if kind == OrderingKind.NULL else _wire_values(child, kind)
    out: list[Any] = []
    for code, offset in zip(codes, offsets, strict=True):
        if code == OrderingKind.NULL:
            out.append(None)
        else:
            out.append(_wrap(OrderingKind(code), children[code][offset]))
    return out


def _array_wrapper_values(values: pa.Array) -> list[Any]:
    # list<dense_union>: the elements carry their kinds in the union's type codes.
    flat = _union_wrapped(values.values)
    offsets = values.offsets.to_pylist()
    valid = values.is_valid().to_pylist()
    return [flat[offsets[i] : offsets[i + 1]] if valid[i] else None for i in range(len(values))]


def _wrap(kind: OrderingKind, value: Any) -> tuple[str, dict[str, Any]]:
    if kind == OrderingKind.ARRAY:
        return _KIND_NAME[kind], {"wrappedValues": value}
    return _KIND_NAME[kind], {"value": value}


def _ordering_wire(kinds: pa.Array, values: pa.Array) -> list[Any]:
    """The ``orderingVal`` union value of every row, in fastavro's (name, record) notation."""
    if pa.types.is_union(values.type):
        return _union_wrapped(values)
    kind_list = kinds.to_pylist()
    present = {k for k in kind_list if k != OrderingKind.NULL}
    if not present:
        return [None] * len(kind_list)
    if len(present) > 1:
        raise ValueError("several ordering kinds need a dense-union ordering_value column")
    kind = OrderingKind(present.pop())
    name = _KIND_NAME[kind]
    field = "wrappedValues" if kind == OrderingKind.ARRAY else "value"
    wire = _wire_values(values, kind)
    return [
        None if k == OrderingKind.NULL else (name, {field: v})
        for k, v in zip(kind_list, wire, strict=True)
    ]


def delete_block_content(records: DeleteRecords | pa.Table) -> bytes:
    """Content of a delete block (version 3): int version, int length, one Avro datum.

    All records go through a single fastavro call.
    """
    if isinstance(records, pa.Table):
        records = DeleteRecords.from_table(records)
    ordering = _ordering_wire(records.ordering_kinds, records.ordering_values)
    rows = [
        {"recordKey": k, "partitionPath": p, "orderingVal": o}
        for k, p, o in zip(
            records.record_keys.to_pylist(),
            records.partition_paths.to_pylist(),
            ordering,
            strict=True,
        )
    ]
    buf = io.BytesIO()
    buf.write(b"\0" * 8)
    fastavro.schemaless_writer(buf, _DELETE_PARSED, {"deleteRecordList": rows})
    out = buf.getbuffer()
    _I32_I32.pack_into(out, 0, DELETE_BLOCK_CONTENT_VERSION, len(out) - 8)
    del out
    return buf.getvalue()


def _unwrap_value(kind: OrderingKind, record: dict[str, Any]) -> Any:
    return record["wrappedValues"] if kind == OrderingKind.ARRAY else record["value"]


def _kind_array(kind: OrderingKind, raw: list[Any]) -> pa.Array:
    """Arrow array of one kind's decoded values (None where the row has no value)."""
    if kind == OrderingKind.ARRAY:
        return _array_wrapper_array(raw)
    wire = _KIND_WIRE_TYPE.get(kind)
    if wire is not None:
        return pa.array(raw, type=wire).cast(_KIND_TYPE[kind])
    return pa.array(raw, type=_KIND_TYPE[kind])


def _dense_union(wrapped: list[Any]) -> pa.Array:
    """A dense union (type code = kind; null rows point into a null child) of wrapped values."""
    kinds = [OrderingKind.NULL if w is None else _NAME_KIND[w[0]] for w in wrapped]
    present = sorted(set(kinds))
    slots: dict[int, list[Any]] = {k: [] for k in present}
    offsets: list[int] = []
    for kind, w in zip(kinds, wrapped, strict=True):
        slot = slots[kind]
        offsets.append(len(slot))
        slot.append(None if w is None else _unwrap_value(kind, w[1]))
    children = [
        pa.nulls(len(slots[k]))
        if k == OrderingKind.NULL
        else _kind_array(OrderingKind(k), slots[k])
        for k in present
    ]
    return pa.UnionArray.from_dense(
        pa.array(kinds, pa.int8()),
        pa.array(offsets, pa.int32()),
        children,
        [OrderingKind(k).name.lower() for k in present],
        [int(k) for k in present],
    )


def _array_wrapper_array(raw: list[Any]) -> pa.Array:
    # Each value is the wrappedValues list (or None): a list<dense_union> array.
    offsets = [0]
    flat: list[Any] = []
    for v in raw:
        if v is not None:
            flat.extend(v)
        offsets.append(len(flat))
    mask = pa.array([v is None for v in raw], pa.bool_())
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), _dense_union(flat), mask=mask)


def decode_delete_records(content: bytes) -> DeleteRecords:
    """Parse a delete block's content (version 3 and later; Avro ``HoodieDeleteRecordList``)."""
    view = memoryview(content)
    if len(view) < 8:
        raise CorruptTableError("delete block content is shorter than its version and length")
    version, length = _I32_I32.unpack_from(view, 0)
    if version in (1, 2):
        # 1 = Kryo HoodieKey[], 2 = Kryo DeleteRecord[]: Java object graphs (protocol-v6.md §5.6)
        raise UnsupportedTableError(
            f"delete block content version {version} is Kryo-serialized Java objects and "
            "cannot be read; rewrite the table with Hudi >= 0.11 (compaction) first"
        )
    if length < 0 or 8 + length > len(view):
        raise CorruptTableError(f"delete block payload length {length} runs past the content")
    decoded: Any = fastavro.schemaless_reader(
        io.BytesIO(view[8 : 8 + length]), _DELETE_PARSED, None, return_record_name=True
    )
    items = decoded["deleteRecordList"]
    keys_paths = pa.array(
        items, type=pa.struct([("recordKey", pa.string()), ("partitionPath", pa.string())])
    )
    ordering = [item["orderingVal"] for item in items]
    kinds_list = [OrderingKind.NULL if o is None else _NAME_KIND[o[0]] for o in ordering]
    present = set(kinds_list) - {OrderingKind.NULL}
    if len(present) > 1:
        values = _dense_union(ordering)
    elif present:
        kind = present.pop()
        values = _kind_array(
            kind, [None if o is None else _unwrap_value(kind, o[1]) for o in ordering]
        )
    else:
        values = pa.nulls(len(items))
    return DeleteRecords(
        keys_paths.field(0),
        keys_paths.field(1),
        pa.array(kinds_list, pa.int8()),
        values,
    )


def read_delete_block_content(content: bytes) -> pa.Table:
    """A delete block's records as a table: record_key, partition_path, ordering_kind/value."""
    return decode_delete_records(content).to_table()
