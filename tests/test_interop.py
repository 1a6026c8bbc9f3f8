"""Interoperability: tables hudiwrite writes, read by hudi-rs, equal a pure-Python model.

Hypothesis generates workloads (create, then a random sequence of insert / upsert / delete
batches with duplicate keys, nulls in non-key columns, several partitions and nested types);
after every commit the snapshot and read-optimized reads of ``hudi`` (hudi-rs 0.5.0) and
hudiwrite's own ``to_arrow`` must equal the model row for row, user columns and the record
key, partition path and commit time meta columns included.
"""

from __future__ import annotations

import datetime as dt
import decimal
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hudiwrite as hw
from tests.helpers import hudi_rs
from tests.model import DEFAULT_PARTITION, TableModel, diff

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("part", pa.string()),
        ("ts", pa.int64()),
        ("i32", pa.int32()),
        ("f64", pa.float64()),
        ("s", pa.string()),
        ("b", pa.bool_()),
        ("dec", pa.decimal128(10, 2)),
        ("d", pa.date32()),
        ("tsz", pa.timestamp("us", tz="UTC")),
        ("bin", pa.binary()),
        ("st", pa.struct([("a", pa.int32()), ("b", pa.string())])),
        ("lst", pa.list_(pa.int64())),
        ("lst_st", pa.list_(pa.struct([("x", pa.float64())]))),
        ("mp", pa.map_(pa.string(), pa.int32())),
    ]
)
COLUMNS = SCHEMA.names
KEYS = [f"k{i:02d}" for i in range(14)]
PARTITIONS = ["p0", "p1", "p2", None]


def _partition_of(row: dict[str, Any]) -> str:
    value = row["part"]
    return f"part={value if value not in (None, '') else DEFAULT_PARTITION}"


def new_model(merge: str = "latest") -> TableModel:
    return TableModel(COLUMNS, lambda r: r["id"], _partition_of, "ts", merge=merge)


def model_merge(options: hw.TableOptions) -> str:
    """The model's merge rule for a table created with ``options`` and ordering field
    ``ts``: version 6's default payload lets a newer commit win; on 8/9 an ordering field
    makes the table event-time ordered, where the greater ordering value wins."""
    if options.table_version >= 8 or options.payload_class == hw.PayloadClass.DEFAULT:
        return "ordering"
    return "latest"


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


text = st.text(alphabet="abcxyz é€😀", max_size=6)
row_values = st.fixed_dictionaries(
    {
        "id": st.sampled_from(KEYS),
        "part": st.sampled_from(PARTITIONS),
        "tie": st.integers(0, 3),
        "i32": _maybe(st.integers(-(2**31), 2**31 - 1)),
        "f64": _maybe(st.floats(allow_nan=False, allow_infinity=False, width=64)),
        "s": _maybe(text),
        "b": _maybe(st.booleans()),
        "dec": _maybe(
            st.decimals(min_value=-99999999, max_value=99999999, places=2, allow_nan=False)
        ),
        "d": _maybe(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1))),
        "tsz": _maybe(
            st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2100, 1, 1)).map(
                lambda v: v.replace(tzinfo=dt.timezone.utc)
            )
        ),
        "bin": _maybe(st.binary(max_size=5)),
        "st": _maybe(st.fixed_dictionaries({"a": _maybe(st.integers(-5, 5)), "b": _maybe(text)})),
        "lst": _maybe(st.lists(st.integers(-(2**40), 2**40), max_size=3)),
        "lst_st": _maybe(
            st.lists(_maybe(st.fixed_dictionaries({"x": _maybe(st.floats(-1e6, 1e6))})), max_size=3)
        ),
        "mp": _maybe(st.dictionaries(text, st.integers(-100, 100), max_size=3)),
    }
)
operations = st.lists(
    st.tuples(
        st.sampled_from(["upsert", "upsert", "insert", "delete"]),
        st.lists(row_values, min_size=1, max_size=12),
    ),
    min_size=1,
    max_size=6,
)


def _commit_batch(
    rows: list[dict[str, Any]], commit_index: int
) -> tuple[pa.Table, list[dict[str, Any]]]:
    """Rows with ordering values that grow from commit to commit (ties inside a batch)."""
    out = []
    for r in rows:
        row = {k: v for k, v in r.items() if k != "tie"}
        row["ts"] = commit_index * 1000 + r["tie"]
        if row["mp"] is not None:
            row["mp"] = list(row["mp"].items())
        out.append(row)
    table = pa.Table.from_pylist(out, schema=SCHEMA)
    model_rows = table.to_pylist()
    return table, model_rows


def check_reads(path: str, table: hw.HudiTable, model: TableModel) -> None:
    expected = model.expected_snapshot()
    if model.snapshot or model.base:
        rs = model.actual(hudi_rs(path))
        assert rs == expected, "hudi-rs snapshot differs from the model:\n" + diff(expected, rs)
        ro_expected = model.expected_read_optimized()
        ro = model.actual(hudi_rs(path, read_optimized=True))
        assert ro == ro_expected, "hudi-rs read-optimized differs:\n" + diff(ro_expected, ro)
    own = model.actual(table.to_arrow())
    assert own == expected, "hudiwrite snapshot differs from the model:\n" + diff(expected, own)


def run_workload(ops: list[tuple[str, list[dict[str, Any]]]], options: hw.TableOptions) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/t"
        table = hw.HudiTable.create(
            path,
            SCHEMA,
            record_key="id",
            partition_by="part",
            ordering_field="ts",
            options=options,
        )
        model = new_model(model_merge(options))
        for index, (op, rows) in enumerate(ops, start=1):
            batch, model_rows = _commit_batch(rows, index)
            if op == "upsert":
                result = table.upsert(batch)
                counts = model.upsert(model_rows, result.instant_time)
            elif op == "insert":
                if options.insert_duplicates == "fail" and model.would_insert_duplicate(model_rows):
                    with pytest.raises(hw.InvalidRecordError):
                        table.insert(batch)
                    check_reads(path, table, model)
                    continue
                result = table.insert(batch)
                counts = model.insert(model_rows, result.instant_time, options.insert_duplicates)
            else:
                result = table.delete(batch.select(["id", "part"]))
                counts = model.delete(model_rows, result.instant_time)
            assert (result.num_inserted, result.num_updated, result.num_deleted) == counts
            model.remember(result.instant_time)
            _follow_small_file_merges(path, table, result, model)
            compactions = sum(
                1 for i in table.timeline() if i.action == "commit" and i.is_completed
            )
            if compactions > model.compactions:
                model.compacted(compactions)  # an inline compaction ran after the write
            check_reads(path, table, model)
        check_history(table, model)


def _follow_small_file_merges(
    path: str, table: hw.HudiTable, result: hw.WriteResult, model: TableModel
) -> None:
    """Inserts merged into an existing file group rewrote its base file with the group's
    current records: for those keys the read-optimized view now shows the snapshot."""
    done = table.commit_metadata(result.instant_time)
    for partition, stats in done.partition_to_write_stats.items():
        for stat in stats:
            if stat.prev_commit in (None, "null") or not (stat.path or "").endswith(".parquet"):
                continue
            assert stat.path is not None
            keys = pq.read_table(Path(path, stat.path), columns=["_hoodie_record_key"])
            (old,) = Path(path, partition).glob(f"{stat.file_id}_*_{stat.prev_commit}.parquet")
            old_keys = pq.read_table(old, columns=["_hoodie_record_key"])
            model.rebased(partition, keys.column(0).to_pylist(), old_keys.column(0).to_pylist())


def check_history(table: hw.HudiTable, model: TableModel) -> None:
    """Time travel to every commit, and incremental reads over every window, equal the
    model's state then and its changes in that window."""
    times = [t for t, _ in model.history]
    for index, instant in enumerate(times):
        got = model.actual(table.to_arrow(as_of=instant))
        want = model.expected_as_of(index)
        assert got == want, f"as_of {instant}:\n" + diff(want, got)
    # Incremental windows are bounded by completion times (on versions 6 the commit times).
    completed = {i.time: i.completion_time or i.time for i in table.timeline() if i.is_completed}
    for start in range(-1, len(times)):
        for end in range(start + 1, len(times)):
            begin = completed[times[start]] if start >= 0 else "00000000000000000"
            got = model.actual(table.read_incremental(begin, completed[times[end]]))
            want = model.expected_incremental(start, end)
            assert got == want, f"incremental ({begin}, {times[end]}]:\n" + diff(want, got)


_settings = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_settings
@given(ops=operations)
def test_workload_parquet_log_blocks(ops: list[tuple[str, list[dict[str, Any]]]]) -> None:
    run_workload(ops, hw.TableOptions(log_block_format="parquet"))


@_settings
@given(ops=operations)
def test_workload_avro_log_blocks(ops: list[tuple[str, list[dict[str, Any]]]]) -> None:
    run_workload(ops, hw.TableOptions(log_block_format="avro", insert_duplicates="drop"))


@_settings
@given(ops=operations)
@pytest.mark.parametrize("version", [8, 9])
def test_workload_1x_parquet_log_blocks(
    version: int, ops: list[tuple[str, list[dict[str, Any]]]]
) -> None:
    """Table versions 8 and 9: timeline layout 2, Avro timeline files, completion times,
    logs named after the delta commit that wrote them, event-time ordering."""
    run_workload(ops, hw.TableOptions(table_version=version, log_block_format="parquet"))


@_settings
@given(ops=operations)
@pytest.mark.parametrize("version", [8, 9])
def test_workload_1x_avro_log_blocks(
    version: int, ops: list[tuple[str, list[dict[str, Any]]]]
) -> None:
    run_workload(
        ops,
        hw.TableOptions(table_version=version, log_block_format="avro", insert_duplicates="drop"),
    )


def test_many_base_files_per_partition() -> None:
    """Small target size: inserts roll over into several file groups per partition, and
    updates find their keys in whichever file group holds them."""
    n = 3000
    rows = [
        {
            "id": f"key-{i:05d}",
            "part": PARTITIONS[i % 3],
            "tie": 0,
            "i32": i,
            "f64": i / 7,
            "s": f"value {i}" * 3,
            "b": i % 2 == 0,
            "dec": decimal.Decimal(i) / 100,
            "d": dt.date(2024, 1, 1) + dt.timedelta(days=i % 300),
            "tsz": None,
            "bin": str(i).encode(),
            "st": {"a": i % 7, "b": None},
            "lst": [i, i + 1],
            "lst_st": None,
            "mp": {"n": i % 100},
        }
        for i in range(n)
    ]
    updates = [dict(r, s="updated", tie=1) for r in rows[::7]]
    deletes = rows[3::11]
    options = hw.TableOptions(target_file_size=8 * 1024, row_group_rows=100)
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/t"
        table = hw.HudiTable.create(
            path,
            SCHEMA,
            record_key="id",
            partition_by="part",
            ordering_field="ts",
            options=options,
        )
        model = new_model()
        batch, model_rows = _commit_batch(rows, 1)
        result = table.upsert(batch)
        base_files = [f for f in result.files_written if f.endswith(".parquet")]
        assert len(base_files) > 6, "the small target size must roll over into many files"
        model.upsert(model_rows, result.instant_time)
        batch, model_rows = _commit_batch(updates, 2)
        result = table.upsert(batch)
        assert result.num_updated == len(updates)
        model.upsert(model_rows, result.instant_time)
        batch, model_rows = _commit_batch(deletes, 3)
        result = table.delete(batch.select(["id", "part"]))
        model.delete(model_rows, result.instant_time)
        check_reads(path, table, model)
