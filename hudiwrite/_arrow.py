"""Small vectorised Arrow helpers shared across layers (no hudiwrite imports)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "arange",
    "conform_to_schema",
    "last_of_runs",
    "sequence_strings",
    "sort_indices",
    "take_last_per_key",
    "type_paths",
]


def arange(start: int, stop: int) -> pa.Array:
    """``pa.array(range(start, stop), int64)`` without a Python-level loop."""
    n = max(stop - start, 0)
    if n == 0:
        return pa.array([], pa.int64())
    ones = pa.repeat(pa.scalar(1, pa.int64()), n)
    return pc.add(pc.cumulative_sum(ones), start - 1)


def sequence_strings(prefix: str, start: int, count: int) -> pa.Array:
    """``[f"{prefix}{i}" for i in range(start, start + count)]``, vectorised."""
    numbers = arange(start, start + count).cast(pa.string())
    return pc.binary_join_element_wise(prefix, numbers, "")


def last_of_runs(columns: Sequence[pa.Array]) -> pa.Array:
    """For rows sorted by ``columns``, a mask that is true on the last row of each run of
    equal values (nulls compare equal to nulls)."""
    n = len(columns[0])
    if n == 0:
        return pa.array([], pa.bool_())
    differs = None
    for col in columns:
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        a, b = col.slice(0, n - 1), col.slice(1, n - 1)
        neq = pc.fill_null(pc.not_equal(a, b), True)
        both_null = pc.and_(pc.is_null(a), pc.is_null(b))
        neq = pc.and_(neq, pc.invert(both_null))
        differs = neq if differs is None else pc.or_(differs, neq)
    assert differs is not None
    return pa.concat_arrays([differs, pa.array([True])])


def take_last_per_key(
    keys: Sequence[pa.Array | pa.ChunkedArray],
    order: Sequence[pa.Array | pa.ChunkedArray] = (),
) -> pa.Array:
    """Indices (ascending) of one row per distinct key: the greatest by ``order``, and among
    equals the later row. Nulls in ``order`` sort first (so any value beats a null)."""
    n = len(keys[0])
    if n == 0:
        return pa.array([], pa.int64())
    idx = arange(0, n)
    names = [f"k{i}" for i in range(len(keys))] + [f"o{i}" for i in range(len(order))]
    table = pa.table(list(keys) + list(order) + [idx], names=[*names, "__idx"])
    sorted_idx = sort_indices(table, [*names, "__idx"])
    sorted_keys = [pc.take(table.column(f"k{i}"), sorted_idx) for i in range(len(keys))]
    mask = last_of_runs(sorted_keys)
    winners = pc.filter(sorted_idx, mask)
    return pc.take(winners, pc.sort_indices(winners))


def sort_indices(table: pa.Table, columns: Sequence[str]) -> pa.Array:
    """Ascending sort indices over ``columns`` with nulls first (stable)."""
    try:
        keys = [(name, "ascending", "at_start") for name in columns]
        return pc.sort_indices(table, sort_keys=keys)
    except (TypeError, ValueError, pa.ArrowInvalid):  # pyarrow < 25: one global null placement
        keys2 = [(name, "ascending") for name in columns]
        return pc.sort_indices(table, sort_keys=keys2, null_placement="at_start")


def conform_to_schema(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns: missing ones as nulls, others cast.

    Reading older files under a newer schema (columns added later, int -> long) needs this.
    """
    columns = []
    for field in schema:
        if field.name in table.column_names:
            col = table.column(field.name)
            if col.type != field.type:
                col = _cast(col, field.type)
            columns.append(col)
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _cast(col: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    if pa.types.is_struct(target) and pa.types.is_struct(col.type):
        chunks = []
        for chunk in col.chunks:
            sub = pa.Table.from_arrays(
                [chunk.field(i) for i in range(chunk.type.num_fields)],
                names=[chunk.type.field(i).name for i in range(chunk.type.num_fields)],
            )
            conformed = conform_to_schema(sub, pa.schema(list(target)))
            chunks.append(
                pa.StructArray.from_arrays(
                    [c.combine_chunks() for c in conformed.columns],
                    fields=list(target),
                    mask=chunk.is_null() if chunk.null_count else None,
                )
            )
        return pa.chunked_array(chunks, type=target)
    return col.cast(target)


def type_paths(schema: pa.Schema, predicate: Callable[[pa.DataType], bool]) -> list[str]:
    """Column paths (``st.inner``, ``lst[]``, ``mp{}``) whose type satisfies ``predicate``, at
    any depth: inside structs, list items and map values."""
    found: list[str] = []

    def walk(dtype: pa.DataType, path: str) -> None:
        if predicate(dtype):
            found.append(path)
        if pa.types.is_struct(dtype):
            for child in dtype:
                walk(child.type, f"{path}.{child.name}")
        elif pa.types.is_map(dtype):
            walk(dtype.item_type, f"{path}{{}}")
        elif (
            pa.types.is_list(dtype)
            or pa.types.is_large_list(dtype)
            or pa.types.is_fixed_size_list(dtype)
        ):
            walk(dtype.value_type, f"{path}[]")

    for field in schema:
        walk(field.type, field.name)
    return found
