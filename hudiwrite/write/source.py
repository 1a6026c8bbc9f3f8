"""Turning user input into prepared rows: schema checks, casts, keys, partition paths.

A write reads its whole input once before touching the table ("pass 1"): every row is
validated, cast to the table schema and given its record key and partition path, and only the
small key columns stay in memory. Input beyond ``max_memory_bytes`` is spilled to a local
Arrow IPC file, so a stream larger than memory is written in bounded memory, and bad input
anywhere in a stream is refused before a single table file is written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from typing import Any, Protocol, Union, runtime_checkable

import pyarrow as pa
import pyarrow.compute as pc

from hudiwrite._arrow import arange
from hudiwrite.exceptions import (
    InvalidOptionError,
    InvalidRecordError,
    SchemaMismatchError,
    UnsupportedTypeError,
)
from hudiwrite.formats.avro_schema import TableSchema
from hudiwrite.model.columns import IS_DELETED, META_FIELDS, PARTITION_PATH, RECORD_KEY
from hudiwrite.model.keys import column_by_path
from hudiwrite.write.context import WriteContext

__all__ = [
    "IS_DELETED",
    "PARTITION",
    "RECORD_KEY",
    "PreparedInput",
    "as_reader",
    "conform_columns",
    "prepare_input",
]

PARTITION = PARTITION_PATH
ROW_ID = "__row_id"
ORDERING = "__ordering"

#: Small input batches are gathered into chunks of about this many bytes before processing.
_CHUNK_BYTES = 64 * 1024 * 1024


@runtime_checkable
class ArrowStreamExportable(Protocol):
    """Any object that exports an Arrow C stream (the Arrow PyCapsule interface): polars
    and pandas (>= 2.2) data frames, DuckDB relations, pyarrow's own tables and readers."""

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...


#: What the write calls take as data: Arrow tables, batches, streams of batches, or any
#: object exporting an Arrow C stream.
ArrowData = Union[pa.Table, pa.RecordBatch, pa.RecordBatchReader, ArrowStreamExportable]  # noqa: UP007


def as_reader(data: ArrowData) -> pa.RecordBatchReader:
    """Any supported input as a stream of record batches. Raises ``InvalidOptionError``
    for anything else (checked at run time too: callers may not be type-checked)."""
    if isinstance(data, pa.RecordBatchReader):
        return data
    if isinstance(data, pa.Table):
        return data.to_reader()
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data]).to_reader()
    if hasattr(data, "__arrow_c_stream__"):
        return pa.RecordBatchReader.from_stream(data)
    raise InvalidOptionError(
        "data must be a pyarrow.Table, RecordBatch, RecordBatchReader or an object with "
        f"__arrow_c_stream__ (polars, pandas >= 2.2, duckdb); got {type(data).__name__}"
    )


def _is_text(dtype: pa.DataType) -> bool:
    return (
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_binary(dtype)
        or pa.types.is_large_binary(dtype)
        or (pa.types.is_dictionary(dtype) and _is_text(dtype.value_type))
    )


def _element_types(dtype: pa.DataType) -> list[tuple[str, pa.DataType]]:
    """A nested type's direct children as (path suffix, type): ``.name`` for struct fields,
    ``[]`` for list elements, ``{key}``/``{value}`` for map entries."""
    if pa.types.is_struct(dtype):
        return [(f".{dtype.field(i).name}", dtype.field(i).type) for i in range(dtype.num_fields)]
    if pa.types.is_map(dtype):
        return [("{key}", dtype.key_type), ("{value}", dtype.item_type)]
    if (
        pa.types.is_list(dtype)
        or pa.types.is_large_list(dtype)
        or pa.types.is_fixed_size_list(dtype)
    ):
        return [("[]", dtype.value_type)]
    return []


def nested_mismatches(given: pa.DataType, stored: pa.DataType, path: str) -> list[str]:
    """Struct fields missing from or extra to the table's, at any depth (structs inside
    lists and maps too). Arrow's cast would fill a missing field with nulls and drop an extra
    one without a word; a write must not change nested data silently."""
    if pa.types.is_struct(given) and pa.types.is_struct(stored):
        have = [given.field(i).name for i in range(given.num_fields)]
        want = [stored.field(i).name for i in range(stored.num_fields)]
        out = [f"{path}.{n} is missing" for n in want if n not in have]
        out += [f"{path}.{n} is not in the table" for n in have if n not in want]
        for i in range(stored.num_fields):
            child = stored.field(i)
            if child.name in have:
                out += nested_mismatches(
                    given.field(have.index(child.name)).type, child.type, f"{path}.{child.name}"
                )
        return out
    given_children, stored_children = _element_types(given), _element_types(stored)
    if not stored_children or len(given_children) != len(stored_children):
        return []  # not both nested alike: the cast decides
    out = []
    for (suffix, g), (_, t) in zip(given_children, stored_children, strict=True):
        out += nested_mismatches(g, t, path + suffix)
    return out


def _cast_column(col: pa.ChunkedArray, field: pa.Field) -> pa.ChunkedArray:
    if col.type == field.type:
        return col
    problems = nested_mismatches(col.type, field.type, field.name)
    if problems:
        raise SchemaMismatchError(
            f"column {field.name!r} does not match the table's {field.type}: " + "; ".join(problems)
        )
    if _is_text(col.type) and not _is_text(field.type):
        # Arrow would parse "012" into 12; text is data, not a spelling of a number or time.
        raise SchemaMismatchError(
            f"column {field.name!r} holds {col.type} but the table stores {field.type}"
        )
    try:
        return col.cast(field.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise SchemaMismatchError(
            f"column {field.name!r} of type {col.type} cannot be stored as the table's "
            f"{field.type} without loss: {exc}"
        ) from exc


def _check_unique(names: list[str]) -> None:
    repeated = sorted(n for n, count in Counter(names).items() if count > 1)
    if repeated:
        raise SchemaMismatchError(f"data has duplicate column(s) {repeated}")


def conform_columns(table: pa.Table, schema: TableSchema) -> pa.Table:
    """The input with exactly the table's data columns, cast to the table's types.

    Meta columns present in the input (from reading a Hudi table back) are dropped, as Spark
    does. Missing or extra columns are a schema mismatch: evolving a table's schema is an
    explicit act, not a side effect of a write.
    """
    names = [n for n in table.column_names if n not in META_FIELDS]
    _check_unique(names)
    expected = schema.arrow.names
    missing = [n for n in expected if n not in names]
    extra = [n for n in names if n not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing columns {missing}")
        if extra:
            parts.append(f"columns not in the table {extra}")
        raise SchemaMismatchError("data does not match the table schema: " + "; ".join(parts))
    columns = [_cast_column(table.column(f.name), f) for f in schema.arrow]
    return pa.Table.from_arrays(columns, schema=schema.arrow)


def _check_ordering(values: pa.ChunkedArray, field: str) -> pa.ChunkedArray:
    dtype = values.type
    orderable = (
        pa.types.is_integer(dtype)
        or pa.types.is_floating(dtype)
        or pa.types.is_string(dtype)
        or pa.types.is_date(dtype)
        or pa.types.is_timestamp(dtype)
        or pa.types.is_decimal(dtype)
        or pa.types.is_boolean(dtype)
    )
    if not orderable:
        raise UnsupportedTypeError(f"ordering field {field!r} of type {dtype} is not comparable")
    if values.null_count:
        first = pc.index(pc.is_null(values), True).as_py()
        raise InvalidRecordError(
            f"ordering field {field!r} is null (row {first}; {values.null_count} row(s) in all); "
            "Hudi requires an ordering value on every record"
        )
    return values


class PreparedInput:
    """The rows of one write after pass 1, and the in-memory key table over all of them.

    ``keys`` has one row per input row, in input order: ``__row_id``, record key, partition
    path and, when relevant, the ordering value and the soft-delete flag.
    """

    def __init__(self, keys: pa.Table, chunks: list[pa.Table], spill_path: str | None) -> None:
        self.keys = keys
        self._chunks = chunks
        self._spill_path = spill_path

    @property
    def num_rows(self) -> int:
        return int(self.keys.num_rows)

    @property
    def spilled(self) -> bool:
        return self._spill_path is not None

    def chunks(self) -> Iterator[tuple[int, pa.Table]]:
        """``(first row id, rows)`` for each prepared chunk, in input order."""
        offset = 0
        if self._spill_path is None:
            for chunk in self._chunks:
                yield offset, chunk
                offset += chunk.num_rows
            return
        with pa.memory_map(self._spill_path, "r") as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)
                yield offset, pa.Table.from_batches([batch])
                offset += batch.num_rows

    def close(self) -> None:
        self._chunks = []
        if self._spill_path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._spill_path)
            self._spill_path = None

    def __enter__(self) -> PreparedInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _gather(reader: pa.RecordBatchReader) -> Iterator[pa.Table]:
    """Input batches regrouped into chunks of a useful size."""
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in reader:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        size += batch.nbytes
        if size >= _CHUNK_BYTES:
            yield pa.Table.from_batches(pending)
            pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def prepare_input(data: ArrowData, ctx: WriteContext, *, keys_only: bool) -> PreparedInput:
    """Pass 1 over the input. ``keys_only`` (deletes) needs just the key and partition fields."""
    reader = as_reader(data)
    key_tables: list[pa.Table] = []
    chunks: list[pa.Table] = []
    held = 0
    spill: Any = None
    spill_path: str | None = None
    offset = 0
    try:
        for raw in _gather(reader):
            if keys_only:
                names = [n for n in raw.column_names if n not in META_FIELDS]
                _check_unique(names)
                table = raw.select(names)
            else:
                table = conform_columns(raw, ctx.schema)
            keys = ctx.keygen.record_keys(table, allow_ambiguous=ctx.settings.allow_ambiguous_keys)
            partitions = ctx.keygen.partition_paths(table)
            key_cols: dict[str, Any] = {
                ROW_ID: arange(offset, offset + table.num_rows),
                RECORD_KEY: keys,
                PARTITION: partitions,
            }
            if not keys_only:
                if ctx.ordering_field is not None:
                    key_cols[ORDERING] = _check_ordering(
                        column_by_path(table, ctx.ordering_field), ctx.ordering_field
                    )
                if IS_DELETED in table.column_names:
                    key_cols[IS_DELETED] = pc.fill_null(
                        table.column(IS_DELETED).cast(pa.bool_()), False
                    )
            key_tables.append(pa.table(key_cols))
            offset += table.num_rows
            if keys_only:
                continue
            chunk = table.append_column(RECORD_KEY, keys).append_column(PARTITION, partitions)
            if spill is None and held + chunk.nbytes > ctx.settings.max_memory_bytes:
                fd, spill_path = tempfile.mkstemp(prefix="hudiwrite-", suffix=".arrow")
                os.close(fd)
                spill = pa.ipc.new_file(spill_path, chunk.schema)
                for earlier in chunks:
                    spill.write_table(earlier)
                chunks = []
            if spill is not None:
                spill.write_table(chunk)
            else:
                chunks.append(chunk)
                held += chunk.nbytes
        if spill is not None:
            spill.close()
            spill = None
    except BaseException:
        if spill is not None:
            spill.close()
        if spill_path is not None:
            os.unlink(spill_path)
        raise
    keys_table = pa.concat_tables(key_tables) if key_tables else _empty_keys(ctx, keys_only)
    return PreparedInput(keys_table, chunks, spill_path)


def _empty_keys(ctx: WriteContext, keys_only: bool) -> pa.Table:
    fields = [
        pa.field(ROW_ID, pa.int64()),
        pa.field(RECORD_KEY, pa.string()),
        pa.field(PARTITION, pa.string()),
    ]
    if not keys_only and ctx.ordering_field is not None:
        names = ctx.schema.arrow.names
        if ctx.ordering_field in names:
            fields.append(pa.field(ORDERING, ctx.schema.arrow.field(ctx.ordering_field).type))
    return pa.schema(fields).empty_table()
