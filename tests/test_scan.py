"""``scan`` streams: a file slice's base file is decoded a batch at a time and merged piece by
piece, and the pieces together are exactly the slice ``to_arrow`` reads."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import hudiwrite as hw
from hudiwrite.read.fsview import FileSystemView
from hudiwrite.read.merge import MergeSettings, iter_slice, read_slice

SCHEMA = pa.schema(
    [("id", pa.string()), ("ts", pa.int64()), ("city", pa.string()), ("v", pa.float64())]
)
PAYLOADS = ["OverwriteWithLatestAvroPayload", "DefaultHoodieRecordPayload"]


def _rows(ids: list[str], ts: list[int], rng: random.Random) -> pa.Table:
    cities = [["sf", "la"][int(i[1:]) % 2] for i in ids]
    values = [rng.random() for _ in ids]
    return pa.table({"id": ids, "ts": ts, "city": cities, "v": values}, SCHEMA)


def _multiset(table: pa.Table) -> Counter[tuple[Any, ...]]:
    names = [n for n in table.column_names if n != "_hoodie_file_name"]
    return Counter(tuple(r[n] for n in names) for r in table.select(names).to_pylist())


def _table(path: Path, payload: str, rng: random.Random) -> hw.HudiTable:
    """Base files of 2,000 rows per partition, then logs with updates (some with smaller
    ordering values, which lose under event-time ordering), deletes and new keys."""
    options = hw.TableOptions(
        payload_class=payload, compaction_delta_commits=None, auto_clean=False, row_group_rows=500
    )
    t = hw.HudiTable.create(
        str(path), SCHEMA, record_key="id", partition_by="city", ordering_field="ts",
        options=options,
    )  # fmt: skip
    keys = [f"k{i}" for i in range(4000)]
    t.upsert(_rows(keys, [10] * len(keys), rng))
    for round_ in range(3):
        chosen = rng.sample(keys, 300)
        t.upsert(_rows(chosen, [rng.choice([5, 20 + round_]) for _ in chosen], rng))
        gone = rng.sample(keys, 40)
        t.delete(pa.table({"id": gone, "city": [["sf", "la"][int(k[1:]) % 2] for k in gone]}))
    return t


@pytest.mark.parametrize("payload", PAYLOADS)
def test_pieces_of_a_slice_are_the_slice(tmp_path: Path, payload: str) -> None:
    rng = random.Random(11)
    t = _table(tmp_path / "t", payload, rng)
    meta = t._meta  # internal on purpose: read_slice and iter_slice are tested directly
    timeline = meta.timeline()
    view = FileSystemView.load(meta.storage, timeline, None)
    schema = t.schema_with_meta()
    settings = MergeSettings("ts", meta.config.merge_semantics)
    slices = [s for p in view.partitions for s in view.latest_slices(p)]
    assert any(s.log_files for s in slices)
    for file_slice in slices:
        whole = read_slice(
            meta.storage, file_slice, schema, settings, is_committed=timeline.is_completed
        )
        pieces = list(
            iter_slice(
                meta.storage,
                file_slice,
                schema,
                settings,
                is_committed=timeline.is_completed,
                batch_rows=333,
            )
        )
        assert len(pieces) > 3  # really in pieces
        assert _multiset(pa.concat_tables(pieces)) == _multiset(whole)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_scan_equals_to_arrow(tmp_path: Path, payload: str) -> None:
    t = _table(tmp_path / "t", payload, random.Random(5))
    for kwargs in (
        {},
        {"columns": ["id", "v"]},
        {"filters": [("city", "=", "sf"), ("ts", ">", 10)]},
        {"read_optimized": True},
    ):
        scanned = t.scan(**kwargs).read_all()
        assert _multiset(scanned) == _multiset(t.to_arrow(**kwargs)), kwargs
        assert scanned.num_rows > 0


def test_scan_holds_a_batch_not_the_slice(tmp_path: Path) -> None:
    """One file group of 300,000 rows with a log: while ``scan`` is consumed, Arrow holds a
    small part of what the whole slice takes."""
    path = tmp_path / "t"
    n = 300_000
    t = hw.HudiTable.create(
        str(path),
        SCHEMA,
        record_key="id",
        ordering_field="ts",
        options=hw.TableOptions(compaction_delta_commits=None, row_group_rows=50_000),
    )
    ids = pa.array([f"k{i:07d}" for i in range(n)])
    t.upsert(
        pa.table(
            {"id": ids, "ts": pa.repeat(1, n), "city": pa.repeat("sf", n), "v": pa.repeat(0.5, n)},
            SCHEMA,
        )
    )
    t.upsert(
        pa.table({"id": ["k0000001", "k0299999"], "ts": [2, 2], "city": ["sf"] * 2, "v": [1.0] * 2})
        .cast(SCHEMA)
    )  # fmt: skip
    whole = t.to_arrow()
    whole_bytes = whole.nbytes
    del whole
    start = pa.total_allocated_bytes()
    peak = 0
    rows = 0
    updated = 0
    for batch in t.scan(batch_size=10_000):
        peak = max(peak, pa.total_allocated_bytes() - start)
        rows += batch.num_rows
        updated += sum(1 for v in batch.column("v").to_pylist() if v == 1.0)
    assert (rows, updated) == (n, 2)
    assert peak < whole_bytes / 3, (peak, whole_bytes)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_scan_batch_size_must_be_a_positive_int(tmp_path: Path, bad: Any) -> None:
    t = _table(tmp_path / "t", PAYLOADS[0], random.Random(1))
    with pytest.raises(hw.InvalidOptionError, match="batch_size"):
        t.scan(batch_size=bad)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_duplicates_in_different_pieces_are_each_merged(tmp_path: Path, payload: str) -> None:
    """A base file holding keys twice (as Spark's bulk_insert leaves them), far apart so the
    copies land in different pieces: every copy is merged with the log, in ``scan`` as in
    ``to_arrow``, and a delete removes every copy."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = random.Random(3)
    options = hw.TableOptions(payload_class=payload, compaction_delta_commits=None)
    t = hw.HudiTable.create(
        str(tmp_path / "t"), SCHEMA, record_key="id", ordering_field="ts", options=options
    )
    keys = [f"k{i}" for i in range(1000)]
    t.upsert(_rows(keys, [1] * len(keys), rng))
    t.upsert(_rows(keys[:10], [2] * 10, rng))
    t.delete(pa.table({"id": keys[10:15]}))
    (base,) = (tmp_path / "t").glob("*.parquet")
    stored = pq.read_table(base)
    copies = stored.filter(pc.is_in(stored.column("id"), pa.array(keys[:20])))
    pq.write_table(pa.concat_tables([stored, copies]), base)
    whole = t.to_arrow()
    scanned = t.scan(batch_size=333).read_all()
    assert _multiset(scanned) == _multiset(whole)
    counts = Counter((r["id"], r["ts"]) for r in whole.select(["id", "ts"]).to_pylist())
    assert all(counts[(k, 2)] == 2 and counts[(k, 1)] == 0 for k in keys[:10])
    assert all(counts[(k, 1)] == 0 for k in keys[10:15])
    assert all(counts[(k, 1)] == 2 for k in keys[15:20])
    assert whole.num_rows == 1000 - 5 + 10 + 5
