"""What a write reports: counts per partition, and the input rows that wrote nothing.

The counts are checked three ways: against what the batch must do (a model), against the
write statistics Hudi records in the commit's metadata, and against the table read back.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import hudiwrite as hw

SCHEMA = pa.schema([("id", pa.string()), ("ts", pa.int64()), ("city", pa.string())])
NO_SERVICES = hw.TableOptions(compaction_delta_commits=None, auto_clean=False, auto_archive=False)


def _rows(rows: list[tuple[str, int, str]], schema: pa.Schema = SCHEMA) -> pa.Table:
    ids, ts, cities = zip(*rows, strict=True) if rows else ((), (), ())
    return pa.table({"id": list(ids), "ts": list(ts), "city": list(cities)}, SCHEMA).cast(schema)


def _create(path: Path, options: hw.TableOptions = NO_SERVICES) -> hw.HudiTable:
    return hw.HudiTable.create(
        str(path), SCHEMA, record_key="id", partition_by="city", ordering_field="ts",
        options=options,
    )  # fmt: skip


def _recorded(table: hw.HudiTable, result: hw.WriteResult) -> dict[str, hw.PartitionCounts]:
    """Per partition, the counts in the commit's write statistics."""
    meta = table.commit_metadata(result.instant_time)
    out = {}
    for partition, stats in meta.partition_to_write_stats.items():
        counts = hw.PartitionCounts(
            num_inserted=sum(s.num_inserts for s in stats),
            num_updated=sum(s.num_update_writes for s in stats),
            num_deleted=sum(s.num_deletes for s in stats),
        )
        if counts != hw.PartitionCounts(0, 0, 0):
            out[partition] = counts
    return out


def _total(result: hw.WriteResult) -> int:
    return result.num_inserted + result.num_updated + result.num_deleted + result.num_skipped


def test_upsert_counts_per_partition_and_the_rows_a_dedupe_skipped(tmp_path: Path) -> None:
    table = _create(tmp_path / "t")
    first = table.upsert(_rows([("a", 1, "sf"), ("b", 1, "sf"), ("c", 1, "nyc")]))
    assert first.operation is hw.Operation.UPSERT and first.operation == "UPSERT"
    assert first.partitions == {
        "city=nyc": hw.PartitionCounts(1, 0, 0),
        "city=sf": hw.PartitionCounts(2, 0, 0),
    }
    assert first.num_skipped == 0
    assert first.partitions == _recorded(table, first)

    # "a" three times (one survives), "b" updated, "d" new in a new partition
    batch = _rows([("a", 5, "sf"), ("a", 7, "sf"), ("a", 6, "sf"), ("b", 2, "sf"), ("d", 1, "la")])
    second = table.upsert(batch)
    assert (second.num_inserted, second.num_updated, second.num_skipped) == (1, 2, 2)
    assert _total(second) == batch.num_rows
    assert second.partitions == {
        "city=la": hw.PartitionCounts(1, 0, 0),
        "city=sf": hw.PartitionCounts(0, 2, 0),
    }
    assert second.partitions == _recorded(table, second)
    got = dict(zip(*table.to_arrow(columns=["id", "ts"]).to_pydict().values(), strict=True))
    assert got == {"a": 7, "b": 2, "c": 1, "d": 1}


def test_deletes_of_absent_keys_are_skipped(tmp_path: Path) -> None:
    table = _create(tmp_path / "t")
    table.upsert(_rows([("a", 1, "sf"), ("b", 1, "nyc")]))
    keys = pa.table({"id": ["a", "zz", "b", "b"], "city": ["sf", "sf", "nyc", "nyc"]})
    result = table.delete(keys)
    assert (result.num_deleted, result.num_skipped) == (2, 2)
    assert _total(result) == keys.num_rows
    assert sum(c.num_deleted for c in result.partitions.values()) == 2
    assert result.partitions == _recorded(table, result)
    assert table.to_arrow().num_rows == 0


def test_inserts_dropped_as_duplicates_are_skipped(tmp_path: Path) -> None:
    table = _create(tmp_path / "t", hw.TableOptions(insert_duplicates="drop", auto_clean=False))
    table.insert(_rows([("a", 1, "sf")]))
    result = table.insert(_rows([("a", 9, "sf"), ("n", 1, "sf")]))
    assert (result.num_inserted, result.num_updated, result.num_skipped) == (1, 0, 1)
    assert result.partitions == _recorded(table, result)
    got = dict(zip(*table.to_arrow(columns=["id", "ts"]).to_pydict().values(), strict=True))
    assert got == {"a": 1, "n": 1}


@pytest.mark.parametrize("operation", ["upsert", "insert"])
def test_soft_delete_rows_of_new_keys_are_skipped(tmp_path: Path, operation: str) -> None:
    schema = SCHEMA.append(pa.field("_hoodie_is_deleted", pa.bool_()))
    table = hw.HudiTable.create(
        str(tmp_path / "t"), schema, record_key="id", partition_by="city", ordering_field="ts",
        options=NO_SERVICES,
    )  # fmt: skip
    batch = pa.table(
        {"id": ["a", "b"], "ts": [1, 1], "city": ["sf", "sf"], "_hoodie_is_deleted": [False, True]},
        schema,
    )
    result = getattr(table, operation)(batch)
    assert (result.num_inserted, result.num_skipped) == (1, 1)
    assert table.to_arrow(columns=["id"]).column("id").to_pylist() == ["a"]


class _Exporter:
    """An object that is not pyarrow but exports an Arrow C stream (as polars and DuckDB
    objects do)."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self._table.__arrow_c_stream__(requested_schema)


def test_any_arrow_stream_exporter_is_written(tmp_path: Path) -> None:
    data = _Exporter(_rows([("a", 1, "sf"), ("b", 2, "sf")]))
    assert isinstance(data, hw.ArrowStreamExportable)
    result = hw.write_hudi(
        str(tmp_path / "t"), data, mode="upsert", record_key="id", partition_by="city",
        ordering_field="ts",
    )  # fmt: skip
    assert (result.num_inserted, result.num_skipped) == (2, 0)
    table = hw.HudiTable(str(tmp_path / "t"))
    assert sorted(table.to_arrow(columns=["id"]).column("id").to_pylist()) == ["a", "b"]
    with pytest.raises(hw.InvalidOptionError, match="__arrow_c_stream__"):
        table.upsert([{"id": "c"}])
