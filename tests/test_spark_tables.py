"""Continuing tables Spark wrote: every MOR v6 fixture is upserted and deleted into with
hudiwrite, and hudi-rs (and hudiwrite) then read Spark's gold rows with those changes applied.
"""

from __future__ import annotations

import glob
from collections import Counter
from pathlib import Path
from typing import Any

import hudi
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import hudiwrite as hw
from tests.conftest import FIXTURES
from tests.model import diff, freeze

MOR_V6 = [
    "mor_v6_trips_8i1u.zip",
    "mor_v6_trips_8i3d.zip",
    "mor_v6_nonpartitioned.zip",
    "mor_v6_nonpartitioned_rollback.zip",
    "mor_v6_empty.zip",
    "mor_table_uncommitted_log_v6.zip",
]


def test_fixture_list_is_complete() -> None:
    """Every MOR table of version 6 among the fixtures is covered here."""
    found = []
    for zip_path in FIXTURES.glob("*.zip"):
        if zip_path.name.startswith("cow_"):
            continue
        if "v6" in zip_path.name:
            found.append(zip_path.name)
    assert sorted(found) == sorted(MOR_V6)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Spark's gold rows in the table's Arrow types (Spark writes naive ns timestamps)."""
    columns = []
    for field in schema:
        col = table.column(field.name)
        if pa.types.is_timestamp(field.type) and pa.types.is_timestamp(col.type):
            col = col.cast(pa.timestamp(field.type.unit, tz=col.type.tz)).cast(field.type)
        else:
            col = col.cast(field.type)
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=schema)


def _rows(table: pa.Table, columns: list[str]) -> Counter[Any]:
    return Counter(tuple(freeze(r[c]) for c in columns) for r in table.select(columns).to_pylist())


def _new_key(value: Any, n: int) -> Any:
    if isinstance(value, str):
        return f"hudiwrite-{n}-{value}"
    if isinstance(value, int):
        return 100_000 + n
    raise AssertionError(f"unexpected key type {type(value)}")


def _changed(row: dict[str, Any], schema: pa.Schema, skip: set[str]) -> dict[str, Any]:
    """The row with one non-key value changed, so an update is visible."""
    out = dict(row)
    for field in schema:
        if field.name in skip:
            continue
        if pa.types.is_string(field.type):
            out[field.name] = f"{row[field.name]}-updated"
            return out
        if pa.types.is_floating(field.type):
            out[field.name] = (row[field.name] or 0.0) + 1.5
            return out
    raise AssertionError("no column to change")


@pytest.mark.parametrize("zip_name", MOR_V6)
def test_continue_spark_table(zip_name: str, unpack_fixture: Any) -> None:
    root = unpack_fixture(zip_name)
    name = root.name
    path = str(root / name)
    gold_file = glob.glob(str(root / "gold_data" / "*.parquet"))
    gold = pq.read_table(gold_file[0]) if gold_file else None

    table = hw.HudiTable.open(path)
    schema = table.schema
    columns = schema.names
    props = table.properties
    key_fields = props["hoodie.table.recordkey.fields"].split(",")
    partition_fields = [f for f in props.get("hoodie.table.partition.fields", "").split(",") if f]
    ordering = props.get("hoodie.table.precombine.field") or props.get(
        "hoodie.table.ordering.fields"
    )
    gold_rows = _conform(gold.select(columns), schema).to_pylist() if gold is not None else []

    expected: dict[tuple[Any, ...], dict[str, Any]] = {
        tuple(r[k] for k in key_fields): r for r in gold_rows
    }
    top = max((r[ordering] for r in gold_rows if ordering), default=0) or 0
    skip = set(key_fields) | set(partition_fields) | ({ordering} if ordering else set())

    updates = [_changed(r, schema, skip) for r in gold_rows[:2]]
    if gold_rows:
        template = gold_rows[0]
    else:  # an empty table: build a row from the schema
        template = {c: None for c in columns}
        for field in schema:
            if pa.types.is_integer(field.type):
                template[field.name] = 1
            elif pa.types.is_string(field.type):
                template[field.name] = "x"
    inserts = []
    for n in range(3):
        row = dict(template)
        for k in key_fields:
            row[k] = _new_key(template[k] if template[k] is not None else "k", n)
        inserts.append(row)
    for row in updates + inserts:
        if ordering:
            row[ordering] = top + 1
    batch = pa.Table.from_pylist(updates + inserts, schema=schema)
    result = table.upsert(batch)
    assert result.num_updated == len(updates)
    assert result.num_inserted == len(inserts)
    for row in updates + inserts:
        expected[tuple(row[k] for k in key_fields)] = row

    victims = gold_rows[2:3] + inserts[:1]
    if victims:
        keys = pa.Table.from_pylist(victims, schema=schema).select(
            list(dict.fromkeys(key_fields + partition_fields))
        )
        result = table.delete(keys)
        assert result.num_deleted == len(victims)
        for row in victims:
            expected.pop(tuple(row[k] for k in key_fields))

    want = Counter(tuple(freeze(r[c]) for c in columns) for r in expected.values())
    batches = hudi.HudiTable(path).read(hudi.HudiReadOptions())
    got_rs = _rows(pa.Table.from_batches(batches), columns) if batches else Counter()
    assert got_rs == want, "hudi-rs:\n" + diff(want, got_rs)
    got_own = _rows(table.to_arrow(), columns)
    assert got_own == want, "hudiwrite:\n" + diff(want, got_own)

    # The first write left the table as Java would: no markers, a completed delta commit.
    hoodie = Path(path) / ".hoodie"
    assert not any((hoodie / ".temp").iterdir())
    completed = sorted(p.name for p in hoodie.glob("*.deltacommit"))
    assert result.instant_time + ".deltacommit" in completed
    assert pc.max(pc.cast(pa.array([c[:17] for c in completed]), pa.string())).as_py() == (
        result.instant_time
    )
