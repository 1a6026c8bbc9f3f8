"""Avro data blocks (type 3; protocol-v6.md §5.4): records as Java's HoodieAvroDataBlock
writes them.

The content is ``int version, int count`` and then per record ``int length`` and the
schemaless Avro datum under the block's SCHEMA header. This module owns that layout (content
versions 1 to 3 read, 3 written) and the Arrow <-> Avro conversions around it: schema parsing
(cached per header text), logical-type stripping so fastavro hands out plain ints, and the
co-walks of an Arrow type beside an Avro schema.

Codecs never do I/O: everything here takes and returns bytes, dicts or Arrow tables.
"""

from __future__ import annotations

import functools
import io
import struct
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import fastavro
import orjson
import pyarrow as pa

from hudiwrite.exceptions import CorruptTableError, UnsupportedTableError, UnsupportedTypeError
from hudiwrite.formats.avro_schema import avro_to_arrow
from hudiwrite.formats.logblock.frame import BlockType, LogBlock, data_block_header

__all__ = [
    "AVRO_BLOCK_CONTENT_VERSION",
    "AvroSchemaArg",
    "avro_block_content",
    "avro_data_block",
    "avro_records_content",
    "decode_avro_records",
    "read_avro_block_content",
    "strip_temporal",
]

# HoodieLogBlock.version as written by 0.14/0.15 and 1.x into Avro data contents.
AVRO_BLOCK_CONTENT_VERSION: Final = 3

_VERSION_COUNT = struct.Struct(">ii")
_RECORD_LENGTH = struct.Struct(">i")

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


def strip_temporal(node: Any) -> Any:
    """Copy of an Avro schema without date/time/timestamp annotations (same binary encoding)."""
    if isinstance(node, list):
        return [strip_temporal(x) for x in node]
    if isinstance(node, dict):
        out = {k: (v if k == "default" else strip_temporal(v)) for k, v in node.items()}
        if out.get("logicalType") in _TEMPORAL_LOGICAL and out.get("type") in ("int", "long"):
            del out["logicalType"]
        return out
    return node


_TIMESTAMP_LOGICAL: Final = frozenset(
    {"timestamp-millis", "timestamp-micros", "local-timestamp-millis", "local-timestamp-micros"}
)


@functools.lru_cache(maxsize=128)
def _parsed(text: str, plain_temporal: bool) -> Any:
    """fastavro-parsed schema, cached per JSON text: headers repeat the same schema."""
    raw = orjson.loads(text)
    if plain_temporal:
        raw = strip_temporal(raw)
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
# The content (int version, int count, length-prefixed records) and the block
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
    _VERSION_COUNT.pack_into(out, 0, AVRO_BLOCK_CONTENT_VERSION, len(starts))
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else end
        _RECORD_LENGTH.pack_into(out, start, stop - start - 4)
    del out  # release the exported buffer before getvalue()
    return buf.getvalue()


def avro_records_content(records: Iterable[Mapping[str, Any]], avro_schema: AvroSchemaArg) -> bytes:
    """Content of an Avro data block from Python records (dicts as fastavro takes them)."""
    return _encode_records(records, _parsed(_schema_text(avro_schema), False))


def _decode_records(content: bytes, parsed: Any, reader: Any = None) -> list[Any]:
    view = memoryview(content)
    if len(view) < 8:
        raise CorruptTableError("Avro data block content is shorter than its version and count")
    version, count = _VERSION_COUNT.unpack_from(view, 0)
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
        (length,) = _RECORD_LENGTH.unpack_from(view, pos)
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


def avro_data_block(table: pa.Table, schema_json: str, instant_time: str) -> LogBlock:
    """An Avro data block holding ``table`` encoded with ``schema_json`` (also the header)."""
    return LogBlock(
        BlockType.AVRO_DATA_BLOCK,
        data_block_header(instant_time, schema_json),
        avro_block_content(table, schema_json),
    )
