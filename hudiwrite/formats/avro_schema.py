"""Arrow <-> Avro schema conversion with the naming conventions Spark-Hudi uses.

Hudi stores every schema as Avro: in commit metadata (``extraMetadata.schema``), in each log
block's SCHEMA header, in base-file footers (``parquet.avro.schema``) and in
``hoodie.table.create.schema``. Java readers resolve writer and reader schemas by *full name*,
so the record names and namespaces must be the ones Spark's ``SchemaConverters`` produces:

* the top record is ``<table>_record`` in namespace ``hoodie.<table>``;
* a nested record is named after its field, in the namespace of its parent's full name;
* a decimal is a ``fixed`` named ``fixed`` in namespace ``<parent full name>.<field>``.

Every field is nullable (a union with ``null``), as Spark data frames are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import orjson
import pyarrow as pa

from hudiwrite.exceptions import SchemaMismatchError, UnsupportedTypeError
from hudiwrite.model.columns import META_FIELDS

__all__ = [
    "TableSchema",
    "arrow_to_avro",
    "avro_json",
    "avro_to_arrow",
    "canonical_arrow_schema",
    "create_schema_style",
    "meta_arrow_fields",
    "parse_avro",
    "with_meta_fields",
    "without_meta_fields",
]


AvroSchema = dict[str, Any]

_AVRO_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _min_bytes_for_precision(precision: int) -> int:
    # Spark's minBytesForPrecision: the smallest two's-complement width holding 10**precision.
    size = 1
    while 2 ** (8 * size - 1) < 10**precision:
        size += 1
    return size


def _check_name(name: str, where: str) -> None:
    if not _AVRO_NAME.match(name):
        raise SchemaMismatchError(
            f"column name {where or name!r} is not a valid Avro name "
            "(letters, digits and '_', not starting with a digit)"
        )


def _nullable(avro_type: Any) -> list[Any]:
    return ["null", avro_type]


def _field(name: str, avro_type: Any) -> AvroSchema:
    return {"name": name, "type": _nullable(avro_type), "default": None}


def _arrow_type_to_avro(dtype: pa.DataType, name: str, namespace: str, path: str) -> Any:
    """Avro type of one Arrow type; ``name``/``namespace`` name records and fixeds below it."""
    if pa.types.is_dictionary(dtype):
        return _arrow_type_to_avro(dtype.value_type, name, namespace, path)
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_int8(dtype) or pa.types.is_int16(dtype) or pa.types.is_int32(dtype):
        return "int"
    if pa.types.is_uint8(dtype) or pa.types.is_uint16(dtype):
        return "int"
    if pa.types.is_int64(dtype) or pa.types.is_uint32(dtype):
        return "long"
    if pa.types.is_float32(dtype):
        return "float"
    if pa.types.is_float64(dtype):
        return "double"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or _is_view(dtype, "string"):
        return "string"
    if (
        pa.types.is_binary(dtype)
        or pa.types.is_large_binary(dtype)
        or pa.types.is_fixed_size_binary(dtype)
        or _is_view(dtype, "binary")
    ):
        return "bytes"
    if pa.types.is_decimal(dtype):
        if dtype.precision > 38:
            raise UnsupportedTypeError(
                f"column {path!r}: decimal precision {dtype.precision} exceeds 38, "
                "the largest Spark and Hudi support"
            )
        return {
            "type": "fixed",
            "name": "fixed",
            "namespace": f"{namespace}.{name}",
            "size": _min_bytes_for_precision(dtype.precision),
            "logicalType": "decimal",
            "precision": dtype.precision,
            "scale": dtype.scale,
        }
    if pa.types.is_date(dtype):
        return {"type": "int", "logicalType": "date"}
    if pa.types.is_timestamp(dtype):
        logical = "timestamp-micros" if dtype.tz is not None else "local-timestamp-micros"
        return {"type": "long", "logicalType": logical}
    if pa.types.is_struct(dtype):
        full = f"{namespace}.{name}"
        fields = []
        for child in dtype:
            _check_name(child.name, f"{path}.{child.name}")
            child_path = f"{path}.{child.name}"
            fields.append(
                _field(child.name, _arrow_type_to_avro(child.type, child.name, full, child_path))
            )
        return {"type": "record", "name": name, "namespace": namespace, "fields": fields}
    if (
        pa.types.is_list(dtype)
        or pa.types.is_large_list(dtype)
        or pa.types.is_fixed_size_list(dtype)
        or _is_view(dtype, "list")
    ):
        items = _arrow_type_to_avro(dtype.value_type, name, namespace, f"{path}[]")
        return {"type": "array", "items": _nullable(items)}
    if pa.types.is_map(dtype):
        key_type = dtype.key_type
        if not (pa.types.is_string(key_type) or pa.types.is_large_string(key_type)):
            raise UnsupportedTypeError(
                f"column {path!r}: map keys must be strings in Avro, not {key_type}"
            )
        values = _arrow_type_to_avro(dtype.item_type, name, namespace, f"{path}{{}}")
        return {"type": "map", "values": _nullable(values)}
    raise UnsupportedTypeError(
        f"column {path!r}: Arrow type {dtype} has no representation in a Hudi table "
        "(supported: bool, signed ints, uint8-32, float32/64, string, binary, decimal <= 38, "
        "date, timestamp, struct, list, map with string keys)"
    )


def _is_view(dtype: pa.DataType, kind: str) -> bool:
    checker = getattr(pa.types, f"is_{kind}_view", None)
    return bool(checker is not None and checker(dtype))


def arrow_to_avro(schema: pa.Schema, table_name: str) -> AvroSchema:
    """The Avro data schema (no meta fields) of an Arrow schema, named for ``table_name``."""
    namespace = f"hoodie.{table_name}"
    record_name = f"{table_name}_record"
    _check_name(record_name, f"table name {table_name}")
    full = f"{namespace}.{record_name}"
    fields = []
    seen: set[str] = set()
    for f in schema:
        _check_name(f.name, f.name)
        if f.name in seen:
            raise SchemaMismatchError(f"column {f.name!r} appears more than once")
        seen.add(f.name)
        fields.append(_field(f.name, _arrow_type_to_avro(f.type, f.name, full, f.name)))
    return {"type": "record", "name": record_name, "namespace": namespace, "fields": fields}


def _meta_field(name: str) -> AvroSchema:
    return {"name": name, "type": ["null", "string"], "doc": "", "default": None}


def with_meta_fields(schema: AvroSchema) -> AvroSchema:
    """The stored-record schema: the five meta fields, then the data fields."""
    data_fields = [f for f in schema["fields"] if f["name"] not in META_FIELDS]
    out = {k: v for k, v in schema.items() if k != "fields"}
    out["fields"] = [_meta_field(n) for n in META_FIELDS] + data_fields
    return out


def without_meta_fields(schema: AvroSchema) -> AvroSchema:
    """The data schema: a stored-record schema with the meta fields removed."""
    out = {k: v for k, v in schema.items() if k != "fields"}
    out["fields"] = [f for f in schema["fields"] if f["name"] not in META_FIELDS]
    return out


def create_schema_style(schema: AvroSchema) -> AvroSchema:
    """The schema as Spark writes ``hoodie.table.create.schema``: ``[T,"null"]``, no defaults."""

    def convert(avro_type: Any) -> Any:
        if isinstance(avro_type, list):
            members = [convert(t) for t in avro_type]
            if "null" in members:
                members = [t for t in members if t != "null"] + ["null"]
            return members
        if isinstance(avro_type, dict):
            kind = avro_type.get("type")
            if kind == "record":
                out = {k: v for k, v in avro_type.items() if k != "fields"}
                out["fields"] = [
                    {"name": f["name"], "type": convert(f["type"])} for f in avro_type["fields"]
                ]
                return out
            if kind == "array":
                return {**avro_type, "items": convert(avro_type["items"])}
            if kind == "map":
                return {**avro_type, "values": convert(avro_type["values"])}
        return avro_type

    return convert(schema)  # type: ignore[no-any-return]


def avro_json(schema: AvroSchema) -> str:
    """Compact JSON in the key order Java's ``Schema.toString()`` prints."""
    return orjson.dumps(schema).decode("utf-8")


def parse_avro(text: str | bytes | Mapping[str, Any]) -> AvroSchema:
    """Parse Avro schema JSON (or pass a parsed one through)."""
    if isinstance(text, Mapping):
        return dict(text)
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise SchemaMismatchError(f"not an Avro schema: {exc}") from exc
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        raise SchemaMismatchError("a Hudi table schema must be an Avro record")
    return parsed


_PRIMITIVES: dict[str, pa.DataType] = {
    "boolean": pa.bool_(),
    "int": pa.int32(),
    "long": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "bytes": pa.binary(),
    "string": pa.string(),
    "null": pa.null(),
}


class _AvroToArrow:
    """Converts Avro types to Arrow, remembering named types so references resolve."""

    def __init__(self) -> None:
        self.named: dict[str, Any] = {}

    def register(self, avro_type: Mapping[str, Any], namespace: str) -> str:
        name = str(avro_type["name"])
        ns = avro_type.get("namespace", namespace) or ""
        full = name if "." in name or not ns else f"{ns}.{name}"
        self.named[full] = avro_type
        self.named.setdefault(name, avro_type)
        return full.rsplit(".", 1)[0] if "." in full else ""

    def field_type(self, avro_type: Any, namespace: str, path: str) -> tuple[pa.DataType, bool]:
        """Arrow type of an Avro type and whether it is nullable."""
        if isinstance(avro_type, list):
            members = [t for t in avro_type if t != "null"]
            if len(members) != 1:
                raise UnsupportedTypeError(
                    f"field {path!r}: Avro unions other than [null, T] are not supported"
                )
            dtype, _ = self.field_type(members[0], namespace, path)
            return dtype, len(members) != len(avro_type)
        return self.convert(avro_type, namespace, path), False

    def convert(self, avro_type: Any, namespace: str, path: str) -> pa.DataType:
        if isinstance(avro_type, str):
            if avro_type in _PRIMITIVES:
                return _PRIMITIVES[avro_type]
            ref = self.named.get(avro_type) or self.named.get(f"{namespace}.{avro_type}")
            if ref is None:
                raise UnsupportedTypeError(f"field {path!r}: unknown Avro type {avro_type!r}")
            return self.convert_named(ref, namespace, path)
        if not isinstance(avro_type, Mapping):
            raise UnsupportedTypeError(f"field {path!r}: malformed Avro type {avro_type!r}")
        kind = avro_type.get("type")
        logical = avro_type.get("logicalType")
        if isinstance(kind, (list, dict)):
            return self.convert(kind, namespace, path)
        if logical == "decimal" and kind in ("bytes", "fixed"):
            if kind == "fixed":
                self.register(avro_type, namespace)
            precision = int(avro_type["precision"])
            scale = int(avro_type.get("scale", 0))
            if precision <= 38:
                return pa.decimal128(precision, scale)
            return pa.decimal256(precision, scale)
        if kind == "int" and logical == "date":
            return pa.date32()
        if kind == "int" and logical == "time-millis":
            return pa.time32("ms")
        if kind == "long" and logical == "time-micros":
            return pa.time64("us")
        if kind == "long" and logical in ("timestamp-millis", "timestamp-micros"):
            return pa.timestamp("ms" if logical == "timestamp-millis" else "us", tz="UTC")
        if kind == "long" and logical in ("local-timestamp-millis", "local-timestamp-micros"):
            return pa.timestamp("ms" if logical == "local-timestamp-millis" else "us")
        if kind in ("record", "enum", "fixed"):
            return self.convert_named(avro_type, namespace, path)
        if kind == "array":
            item, nullable = self.field_type(avro_type["items"], namespace, f"{path}[]")
            return pa.list_(pa.field("element", item, nullable=nullable))
        if kind == "map":
            value, nullable = self.field_type(avro_type["values"], namespace, f"{path}{{}}")
            return pa.map_(pa.string(), pa.field("value", value, nullable=nullable))
        if isinstance(kind, str) and kind in _PRIMITIVES:
            return _PRIMITIVES[kind]
        raise UnsupportedTypeError(f"field {path!r}: unsupported Avro type {avro_type!r}")

    def convert_named(self, avro_type: Mapping[str, Any], namespace: str, path: str) -> pa.DataType:
        kind = avro_type["type"]
        child_ns = self.register(avro_type, namespace)
        if kind == "enum":
            return pa.string()
        if kind == "fixed":
            return pa.binary(int(avro_type["size"]))
        if kind != "record":
            return self.convert(avro_type, namespace, path)
        name = str(avro_type["name"])
        full = f"{child_ns}.{name.rsplit('.', 1)[-1]}" if child_ns else name
        fields = []
        for f in avro_type.get("fields", []):
            dtype, nullable = self.field_type(f["type"], full, f"{path}.{f['name']}")
            fields.append(pa.field(f["name"], dtype, nullable=nullable))
        return pa.struct(fields)


def avro_to_arrow(schema: AvroSchema | str | bytes) -> pa.Schema:
    """The Arrow schema of an Avro record schema (meta fields kept if present)."""
    parsed = parse_avro(schema)
    conv = _AvroToArrow()
    struct = conv.convert_named(parsed, parsed.get("namespace", "") or "", "")
    return pa.schema(list(struct))


def canonical_arrow_schema(schema: pa.Schema, table_name: str = "t") -> pa.Schema:
    """The Arrow schema data of ``schema`` is stored and read back as (e.g. int16 -> int32)."""
    return avro_to_arrow(arrow_to_avro(schema, table_name))


def meta_arrow_fields() -> list[pa.Field]:
    return [pa.field(name, pa.string()) for name in META_FIELDS]


def field_names(schema: AvroSchema) -> Sequence[str]:
    return [f["name"] for f in schema["fields"]]


@attrs.frozen
class TableSchema:
    """A table's data schema (no meta columns) as Avro and as the Arrow it reads back as."""

    avro: dict[str, Any]
    arrow: pa.Schema

    @classmethod
    def from_avro(cls, avro: str | dict[str, Any]) -> TableSchema:
        parsed = parse_avro(avro)
        return cls(parsed, avro_to_arrow(parsed))

    @classmethod
    def from_arrow(cls, schema: pa.Schema, table_name: str) -> TableSchema:
        return cls.from_avro(arrow_to_avro(schema, table_name))

    @property
    def avro_json(self) -> str:
        return avro_json(self.avro)

    @property
    def avro_with_meta_json(self) -> str:
        return avro_json(with_meta_fields(self.avro))

    @property
    def arrow_with_meta(self) -> pa.Schema:
        return pa.schema(meta_arrow_fields() + list(self.arrow))
