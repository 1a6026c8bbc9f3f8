"""The merge rules of the reader, one rule at a time, for each merge semantics; schema
evolution on read; and a table whose metadata table is gone still reads from storage."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any, TypeAlias

import pyarrow as pa
import pytest

from hudiwrite._arrow import conform_to_schema
from hudiwrite.formats.logblock.delete import DeleteRecords, OrderingKind, delete_block_content
from hudiwrite.model.tableconfig import MergeSemantics, PayloadClass, TableConfig
from hudiwrite.read.merge import MergeSettings, _drop_deletes, _Fold, _merge_with_base

KEY = "_hoodie_record_key"
SCHEMA = pa.schema([(KEY, pa.string()), ("ts", pa.int64()), ("v", pa.string())])


def _records(*rows: tuple[str, int, str]) -> pa.Table:
    return pa.table(
        {KEY: [r[0] for r in rows], "ts": [r[1] for r in rows], "v": [r[2] for r in rows]},
        schema=SCHEMA,
    )


def _deletes(
    keys: list[str], ordering: list[Any] | None = None, kind: OrderingKind = OrderingKind.INT
) -> bytes:
    return delete_block_content(DeleteRecords.create(pa.array(keys), None, ordering, kind=kind))


def merge(
    semantics: MergeSemantics, base: pa.Table, *blocks: pa.Table | bytes
) -> dict[str, tuple[int, str]]:
    settings = MergeSettings("ts", semantics)
    fold = _Fold(settings, SCHEMA)
    for index, block in enumerate(blocks):
        if isinstance(block, bytes):
            fold.add_deletes(index, block)
        else:
            fold.add_data(index, block)
    records, deletes = fold.result(SCHEMA)
    out = _drop_deletes(_merge_with_base(base, records, deletes, settings, fold))
    return {r[KEY]: (r["ts"], r["v"]) for r in out.to_pylist()}


ALL = [
    MergeSemantics.OVERWRITE_PAYLOAD,
    MergeSemantics.DEFAULT_PAYLOAD,
    MergeSemantics.EVENT_TIME,
    MergeSemantics.COMMIT_TIME,
]
ORDERED = ALL[:3]
EMPTY = SCHEMA.empty_table()


@pytest.mark.parametrize("semantics", ORDERED)
def test_greater_ordering_wins_among_log_records_ties_to_later(semantics: MergeSemantics) -> None:
    got = merge(
        semantics,
        EMPTY,
        _records(("k", 5, "a"), ("j", 1, "x")),
        _records(("k", 3, "b"), ("j", 1, "y")),
    )
    assert got == {"k": (5, "a"), "j": (1, "y")}


def test_commit_time_takes_the_latest_record() -> None:
    got = merge(MergeSemantics.COMMIT_TIME, EMPTY, _records(("k", 5, "a")), _records(("k", 3, "b")))
    assert got == {"k": (3, "b")}


@pytest.mark.parametrize("semantics", ALL)
def test_within_a_block_the_later_of_equal_rows_wins(semantics: MergeSemantics) -> None:
    got = merge(semantics, EMPTY, _records(("k", 2, "a"), ("k", 2, "b")))
    assert got == {"k": (2, "b")}


@pytest.mark.parametrize("semantics", ALL)
def test_zero_ordering_delete_always_wins(semantics: MergeSemantics) -> None:
    got = merge(semantics, _records(("k", 9, "base")), _records(("k", 10, "log")), _deletes(["k"]))
    assert got == {}


@pytest.mark.parametrize("semantics", ALL)
def test_record_after_delete_wins(semantics: MergeSemantics) -> None:
    got = merge(
        semantics, EMPTY, _deletes(["k"], [100], OrderingKind.LONG), _records(("k", 1, "a"))
    )
    assert got == {"k": (1, "a")}


def test_older_delete_loses_to_greater_record_in_ordered_semantics() -> None:
    for semantics in ORDERED:
        got = merge(
            semantics, EMPTY, _records(("k", 10, "a")), _deletes(["k"], [5], OrderingKind.LONG)
        )
        assert got == {"k": (10, "a")}, semantics
    got = merge(
        MergeSemantics.COMMIT_TIME,
        EMPTY,
        _records(("k", 10, "a")),
        _deletes(["k"], [5], OrderingKind.LONG),
    )
    assert got == {}


def test_v6_payloads_compare_delete_orderings_of_the_same_java_type_only() -> None:
    # IntWrapper(5) against a long ordering field: a different class, so the delete wins.
    blocks = (_records(("k", 10, "a")), _deletes(["k"], [5], OrderingKind.INT))
    assert merge(MergeSemantics.OVERWRITE_PAYLOAD, EMPTY, *blocks) == {}
    # Event-time merging (1.x) compares the values.
    assert merge(MergeSemantics.EVENT_TIME, EMPTY, *blocks) == {"k": (10, "a")}


def test_base_against_log_per_semantics() -> None:
    base = _records(("k", 10, "base"))
    log = _records(("k", 3, "log"))
    assert merge(MergeSemantics.OVERWRITE_PAYLOAD, base, log) == {"k": (3, "log")}
    assert merge(MergeSemantics.COMMIT_TIME, base, log) == {"k": (3, "log")}
    assert merge(MergeSemantics.DEFAULT_PAYLOAD, base, log) == {"k": (10, "base")}
    assert merge(MergeSemantics.EVENT_TIME, base, log) == {"k": (10, "base")}
    ties = _records(("k", 10, "log"))
    assert merge(MergeSemantics.EVENT_TIME, base, ties) == {"k": (10, "log")}


def test_delete_against_base() -> None:
    base = _records(("k", 10, "base"))
    smaller = _deletes(["k"], [5], OrderingKind.LONG)
    assert merge(MergeSemantics.DEFAULT_PAYLOAD, base, smaller) == {}
    assert merge(MergeSemantics.EVENT_TIME, base, smaller) == {"k": (10, "base")}
    assert merge(MergeSemantics.EVENT_TIME, base, _deletes(["k"], [10], OrderingKind.LONG)) == {}


def test_soft_deletes() -> None:
    flagged = pa.table({KEY: ["a", "b"], "_hoodie_is_deleted": [True, None]})
    assert _drop_deletes(flagged).column(KEY).to_pylist() == ["b"]
    op = pa.table({KEY: ["a", "b"], "_hoodie_operation": ["D", "U"]})
    assert _drop_deletes(op).column(KEY).to_pylist() == ["b"]


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"hoodie.table.version": "6"}, MergeSemantics.OVERWRITE_PAYLOAD),
        (
            {
                "hoodie.table.version": "6",
                "hoodie.compaction.payload.class": PayloadClass.DEFAULT,
            },
            MergeSemantics.DEFAULT_PAYLOAD,
        ),
        (
            {"hoodie.table.version": "9", "hoodie.record.merge.mode": "EVENT_TIME_ORDERING"},
            MergeSemantics.EVENT_TIME,
        ),
        (
            {"hoodie.table.version": "9", "hoodie.record.merge.mode": "COMMIT_TIME_ORDERING"},
            MergeSemantics.COMMIT_TIME,
        ),
        (
            {
                "hoodie.table.version": "8",
                "hoodie.record.merge.strategy.id": "ce9acb64-bde0-424c-9b91-f6ebba25356d",
            },
            MergeSemantics.COMMIT_TIME,
        ),
        (
            {"hoodie.table.version": "9", "hoodie.table.ordering.fields": "ts"},
            MergeSemantics.EVENT_TIME,
        ),
        ({"hoodie.table.version": "9"}, MergeSemantics.COMMIT_TIME),
    ],
)
def test_merge_semantics_of_table_properties(props: dict[str, str], expected: str) -> None:
    assert TableConfig(props).merge_semantics == expected


def test_unknown_payload_is_unsupported() -> None:
    from hudiwrite.exceptions import UnsupportedTableError

    props = {
        "hoodie.table.version": "6",
        "hoodie.compaction.payload.class": "com.example.MyPayload",
    }
    with pytest.raises(UnsupportedTableError):
        _ = TableConfig(props).merge_semantics


def test_schema_evolution_on_read() -> None:
    old = pa.table(
        {
            "i": pa.array([1, None], pa.int32()),
            "f": pa.array([1.5, 2.5], pa.float32()),
            "s": pa.array([{"a": 1}, None], pa.struct([("a", pa.int32())])),
        }
    )
    new_schema = pa.schema(
        [
            ("i", pa.int64()),
            ("f", pa.float64()),
            ("s", pa.struct([("a", pa.int64()), ("b", pa.string())])),
            ("added", pa.string()),
        ]
    )
    got = conform_to_schema(old, new_schema)
    assert got.schema == new_schema
    assert got.to_pylist() == [
        {"i": 1, "f": 1.5, "s": {"a": 1, "b": None}, "added": None},
        {"i": None, "f": 2.5, "s": None, "added": None},
    ]


def test_table_without_its_metadata_table_reads_from_storage(
    unpack_fixture: Any,
) -> None:
    """The reader lists storage: removing the metadata table changes nothing."""
    import hudiwrite as hw

    folder = unpack_fixture("mor_v9_txns_simple_meta.zip")
    (table_dir,) = [
        p for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith("gold")
    ]
    before = hw.HudiTable.open(str(table_dir)).to_arrow()
    shutil.rmtree(table_dir / ".hoodie" / "metadata")
    after = hw.HudiTable.open(str(table_dir)).to_arrow()
    key = "_hoodie_record_key"
    assert sorted(before.column(key).to_pylist()) == sorted(after.column(key).to_pylist())
    assert after.num_rows == 12


# -- duplicate base rows, partial updates, tables without meta fields --------------------------

P_SCHEMA = pa.schema(
    [(KEY, pa.string()), ("ts", pa.int64()), ("a", pa.string()), ("b", pa.string())]
)


def _full(*rows: tuple[str, int, str | None, str | None]) -> pa.Table:
    return pa.Table.from_pylist(
        [{KEY: k, "ts": ts, "a": a, "b": b} for k, ts, a, b in rows], schema=P_SCHEMA
    )


def _partial(columns: set[str], *rows: tuple[str, int, str]) -> tuple[pa.Table, frozenset[str]]:
    """A partial-update block holding the key, ``ts`` and one of ``a``/``b``."""
    (column,) = columns
    table = _full(*[(k, ts, v, None) if column == "a" else (k, ts, None, v) for k, ts, v in rows])
    return table, frozenset({KEY, "ts", column})


Block: TypeAlias = "pa.Table | bytes | tuple[pa.Table, frozenset[str]]"


def merged_rows(
    semantics: MergeSemantics, base: pa.Table, *blocks: Block
) -> Counter[tuple[Any, ...]]:
    """Every row the merge returns (duplicates counted), as (key, ts, a, b)."""
    settings = MergeSettings("ts", semantics)
    lacking: set[str] = set()
    for block in blocks:
        if isinstance(block, tuple):
            lacking |= set(P_SCHEMA.names) - block[1]
    fold = _Fold(settings, P_SCHEMA, [n for n in P_SCHEMA.names if n in lacking])
    for index, block in enumerate(blocks):
        if isinstance(block, bytes):
            fold.add_deletes(index, block)
        elif isinstance(block, tuple):
            fold.add_data(index, *block)
        else:
            fold.add_data(index, block)
    records, deletes = fold.result(P_SCHEMA)
    out = _drop_deletes(_merge_with_base(base, records, deletes, settings, fold))
    return Counter((r[KEY], r["ts"], r["a"], r["b"]) for r in out.to_pylist())


@pytest.mark.parametrize("semantics", ALL)
def test_every_duplicate_base_row_is_merged(semantics: MergeSemantics) -> None:
    """bulk_insert leaves a key twice in a base file: both copies take the log record (as
    Java's compaction and Spark-Hudi 1.x do), and a delete removes both."""
    base = _full(("k", 1, "a0", "b0"), ("k", 1, "a0", "b0"), ("j", 1, "x", "y"), ("d", 1, "", ""))
    got = merged_rows(semantics, base, _full(("k", 2, "a1", "b1")), _deletes(["d"]))
    assert got == Counter({("k", 2, "a1", "b1"): 2, ("j", 1, "x", "y"): 1})


def test_each_duplicate_meets_the_log_record_on_its_own_ordering_value() -> None:
    base = _full(("k", 9, "high", ""), ("k", 1, "low", ""))
    log = _full(("k", 5, "log", ""))
    assert merged_rows(MergeSemantics.EVENT_TIME, base, log) == Counter(
        {("k", 9, "high", ""): 1, ("k", 5, "log", ""): 1}
    )
    assert merged_rows(MergeSemantics.OVERWRITE_PAYLOAD, base, log) == Counter(
        {("k", 5, "log", ""): 2}
    )


@pytest.mark.parametrize("semantics", ALL)
def test_partial_update_takes_the_missing_columns_from_the_base_row(
    semantics: MergeSemantics,
) -> None:
    base = _full(("k", 1, "a0", "b0"), ("k", 1, "a0", "b0"), ("j", 1, "x", "y"))
    got = merged_rows(semantics, base, _partial({"a"}, ("k", 2, "a1"), ("n", 2, "new")))
    # the copies of k each keep their b; a key no base row has lacks b
    assert got == Counter(
        {("k", 2, "a1", "b0"): 2, ("j", 1, "x", "y"): 1, ("n", 2, "new", None): 1}
    )


@pytest.mark.parametrize("semantics", ALL)
def test_two_partial_updates_of_a_key_combine(semantics: MergeSemantics) -> None:
    base = _full(("k", 1, "a0", "b0"))
    got = merged_rows(
        semantics, base, _partial({"a"}, ("k", 2, "a1")), _partial({"b"}, ("k", 3, "b2"))
    )
    assert got == Counter({("k", 3, "a1", "b2"): 1})


def test_the_winning_partial_record_overlays_the_loser() -> None:
    """An older partial record with the greater ordering value wins; the columns it lacks
    come from the newer record that lost (``SparkRecordMergingUtils.mergePartialRecords``)."""
    blocks = (_partial({"a"}, ("k", 5, "a5")), _partial({"b"}, ("k", 3, "b3")))
    got = merged_rows(MergeSemantics.EVENT_TIME, _full(("k", 1, "a0", "b0")), *blocks)
    assert got == Counter({("k", 5, "a5", "b3"): 1})
    got = merged_rows(MergeSemantics.COMMIT_TIME, _full(("k", 1, "a0", "b0")), *blocks)
    assert got == Counter({("k", 3, "a5", "b3"): 1})


def test_partial_update_after_a_full_record_and_a_delete() -> None:
    full = _full(("k", 2, "a2", "b2"))
    got = merged_rows(MergeSemantics.EVENT_TIME, EMPTY_P, full, _partial({"a"}, ("k", 3, "a3")))
    assert got == Counter({("k", 3, "a3", "b2"): 1})
    after_delete = (full, _deletes(["k"]), _partial({"a"}, ("k", 3, "a3")))
    got = merged_rows(MergeSemantics.EVENT_TIME, EMPTY_P, *after_delete)
    assert got == Counter({("k", 3, "a3", None): 1})


EMPTY_P = P_SCHEMA.empty_table()


def test_table_without_meta_fields_is_keyed_by_its_key_generator(tmp_path: Path) -> None:
    """``hoodie.populate.meta.fields=false``: the meta columns hold nothing, the reader
    computes record keys from the key fields to merge logs, and returns the data columns
    only (as Spark-Hudi does). Incremental queries, which need commit times, are refused."""
    import pyarrow.parquet as pq

    import hudiwrite as hw
    from hudiwrite.exceptions import UnsupportedTableError

    schema = pa.schema([("id", pa.string()), ("ts", pa.int64()), ("p", pa.string())])
    t = hw.HudiTable.create(
        str(tmp_path / "t"),
        schema,
        record_key="id",
        partition_by="p",
        ordering_field="ts",
        options=hw.TableOptions(compaction_delta_commits=None),
    )
    rows = [{"id": f"k{i}", "ts": 1, "p": f"p{i % 2}"} for i in range(6)]
    t.upsert(pa.Table.from_pylist(rows, schema=schema))
    t.upsert(pa.Table.from_pylist([{"id": "k0", "ts": 2, "p": "p0"}], schema=schema))
    t.delete(pa.table({"id": ["k3"], "p": ["p1"]}))
    expected = t.to_arrow().select(schema.names)
    for base in (tmp_path / "t").glob("p=*/*.parquet"):  # no keys in the base files
        stored = pq.read_table(base)
        index = stored.schema.get_field_index(KEY)
        blank = pa.nulls(stored.num_rows, pa.string())
        pq.write_table(stored.set_column(index, stored.schema.field(index), blank), base)
    props = tmp_path / "t" / ".hoodie" / "hoodie.properties"
    config = TableConfig.from_text(props.read_text("latin-1"))
    props.write_text(config.with_updates({"hoodie.populate.meta.fields": "false"}).to_text())
    virtual = hw.HudiTable.open(str(tmp_path / "t"))
    got = virtual.to_arrow()
    assert got.column_names == schema.names
    assert sorted(got.to_pylist(), key=str) == sorted(expected.to_pylist(), key=str)
    assert sorted(virtual.scan(batch_size=2).read_all().to_pylist(), key=str) == sorted(
        expected.to_pylist(), key=str
    )
    assert virtual.to_arrow(columns=["ts"]).num_rows == 5
    with pytest.raises(hw.InvalidOptionError, match="unknown column"):
        virtual.to_arrow(columns=[KEY])
    with pytest.raises(UnsupportedTableError, match="meta fields"):
        virtual.read_incremental("000")
    with pytest.raises(UnsupportedTableError, match="meta fields"):
        virtual.compact()
