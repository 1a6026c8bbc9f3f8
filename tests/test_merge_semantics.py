"""The merge rules of the reader, one rule at a time, for each merge semantics; schema
evolution on read; and a table whose metadata table is gone still reads from storage."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from hudiwrite._arrow import conform_to_schema
from hudiwrite.formats.logblock import DeleteRecords, OrderingKind, delete_block_content
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


def merge(semantics: str, base: pa.Table, *blocks: pa.Table | bytes) -> dict[str, tuple[int, str]]:
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
def test_greater_ordering_wins_among_log_records_ties_to_later(semantics: str) -> None:
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
def test_within_a_block_the_later_of_equal_rows_wins(semantics: str) -> None:
    got = merge(semantics, EMPTY, _records(("k", 2, "a"), ("k", 2, "b")))
    assert got == {"k": (2, "b")}


@pytest.mark.parametrize("semantics", ALL)
def test_zero_ordering_delete_always_wins(semantics: str) -> None:
    got = merge(semantics, _records(("k", 9, "base")), _records(("k", 10, "log")), _deletes(["k"]))
    assert got == {}


@pytest.mark.parametrize("semantics", ALL)
def test_record_after_delete_wins(semantics: str) -> None:
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
