"""Delete blocks (type 1; protocol-v6.md §5.6, protocol-v8.md §4.2): the keys a write deletes.

The content is ``int version, int length`` and one Avro ``HoodieDeleteRecordList`` datum
(content version 3; versions 1 and 2 are Kryo-serialized Java objects and refused). Each
delete carries its record key, partition path and an ordering value wrapped in one of the
``*Wrapper`` records of ``HoodieMetadata.avsc``; Hudi 1.1 (table version 9) appended
``ArrayWrapper`` to that union, which decoding accepts. This module owns that encoding: the
schemas of both generations, the wrapper kinds and their Arrow types, and the column-wise
:class:`DeleteRecords` that carries deletes to and from it.

Codecs never do I/O: everything here takes and returns bytes, attrs classes or Arrow tables.
"""

from __future__ import annotations

import decimal
import enum
import io
import struct
from typing import Any, Final

import attrs
import fastavro
import pyarrow as pa
import pyarrow.compute as pc

from hudiwrite.exceptions import CorruptTableError, UnsupportedTableError
from hudiwrite.formats.hudi_avro_schemas import NAMESPACE
from hudiwrite.formats.logblock.avro_data import strip_temporal
from hudiwrite.formats.logblock.frame import BlockType, LogBlock, data_block_header

__all__ = [
    "DELETE_BLOCK_CONTENT_VERSION",
    "DELETE_RECORD_LIST_SCHEMA",
    "DELETE_RECORD_LIST_SCHEMA_V9",
    "DeleteRecords",
    "OrderingKind",
    "decode_delete_records",
    "delete_block",
    "delete_block_content",
    "ordering_kind_for",
    "read_delete_block_content",
]

# HoodieLogBlock.version as written by 0.14/0.15 and 1.x into delete contents.
DELETE_BLOCK_CONTENT_VERSION: Final = 3

_VERSION_LENGTH = struct.Struct(">ii")

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
    kind: f"{NAMESPACE}.{name}" for kind, name, _, _ in _WRAPPER_DEFS
} | {OrderingKind.ARRAY: f"{NAMESPACE}.ArrayWrapper"}
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
            "namespace": NAMESPACE,
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
                "namespace": NAMESPACE,
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
        "namespace": NAMESPACE,
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
_DELETE_PARSED: Final = fastavro.parse_schema(strip_temporal(DELETE_RECORD_LIST_SCHEMA_V9))
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
    _VERSION_LENGTH.pack_into(out, 0, DELETE_BLOCK_CONTENT_VERSION, len(out) - 8)
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
    version, length = _VERSION_LENGTH.unpack_from(view, 0)
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


def delete_block(
    records: DeleteRecords | pa.Table, instant_time: str, schema_json: str | None
) -> LogBlock:
    """A delete block; Spark puts the table schema in its header too (protocol-v8.md §4.2)."""
    return LogBlock(
        BlockType.DELETE_BLOCK,
        data_block_header(instant_time, schema_json),
        delete_block_content(records),
    )
