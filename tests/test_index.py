"""The simple index: keys found in base files, Java's key order for range pruning, the cache."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hudiwrite as hw
from hudiwrite.formats.parquet import key_range
from hudiwrite.index import simple
from hudiwrite.storage import Storage

SCHEMA = pa.schema([("id", pa.string()), ("ts", pa.int64())])


def test_key_range_uses_java_string_order() -> None:
    # In code points U+10000 > U+FFFF; in UTF-16 (Java's order) U+10000 is the surrogate
    # pair D800 DC00, which sorts below FFFF.
    keys = pa.array(["\uffff", "\U00010000", "a"])
    assert key_range(keys) == ("a", "\uffff")


def test_updates_find_keys_beyond_the_basic_plane(tmp_path: Path) -> None:
    t = hw.HudiTable.create(str(tmp_path / "t"), SCHEMA, record_key="id", ordering_field="ts")
    keys = ["\uffff", "\U00010000", "b"]
    t.upsert(pa.table({"id": keys, "ts": [1, 1, 1]}, schema=SCHEMA))
    simple.KEY_CACHE.clear()
    r = t.upsert(pa.table({"id": ["\U00010000", "\uffff"], "ts": [2, 2]}, schema=SCHEMA))
    assert (r.num_inserted, r.num_updated) == (0, 2)
    got = {row["id"]: row["ts"] for row in t.to_arrow().to_pylist()}
    assert got == {"\uffff": 2, "\U00010000": 2, "b": 1}


def test_base_file_keys_are_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the index reads base files here: no small-file merges, no inline services.
    options = hw.TableOptions(small_file_limit=0, compaction_delta_commits=None)
    t = hw.HudiTable.create(
        str(tmp_path / "t"), SCHEMA, record_key="id", ordering_field="ts", options=options
    )
    t.upsert(pa.table({"id": [f"k{i}" for i in range(100)], "ts": [1] * 100}, schema=SCHEMA))
    simple.KEY_CACHE.clear()
    t.upsert(pa.table({"id": ["k1"], "ts": [2]}, schema=SCHEMA))  # reads and caches

    def no_reads(*args: object, **kwargs: object) -> None:
        raise AssertionError("the base file was read again")

    monkeypatch.setattr(Storage, "parquet_file", no_reads)
    r = t.upsert(pa.table({"id": ["k2", "new"], "ts": [3, 3]}, schema=SCHEMA))
    assert (r.num_inserted, r.num_updated) == (1, 1)


def test_files_this_process_wrote_are_not_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keys of each base file a write (or compaction) creates go straight into the cache,
    equal to the file's key column: the next writes look them up without reading."""
    options = hw.TableOptions(compaction_delta_commits=None)
    t = hw.HudiTable.create(
        str(tmp_path / "t"), SCHEMA, record_key="id", ordering_field="ts", options=options
    )
    simple.KEY_CACHE.clear()
    first = t.upsert(pa.table({"id": [f"k{i}" for i in range(50)], "ts": [1] * 50}, SCHEMA))
    merged = t.upsert(pa.table({"id": ["k3", "new"], "ts": [2, 2]}, SCHEMA))  # small-file merge
    t.upsert(pa.table({"id": ["k4"], "ts": [3]}, SCHEMA))
    compacted = t.compact()
    written = [*first.files_written, *merged.files_written, *compacted.files_written]
    base_files = [f for f in written if f.endswith(".parquet")]
    assert len(base_files) == 3
    for rel in base_files:
        entry = simple.KEY_CACHE.get(Storage(t.uri).qualified(rel))
        assert entry is not None, rel
        on_disk = pq.read_table(tmp_path / "t" / rel, columns=["_hoodie_record_key"])
        assert entry.keys.equals(on_disk.column(0).combine_chunks())
        assert entry.bounds == key_range(entry.keys)

    def no_reads(*args: object, **kwargs: object) -> None:
        raise AssertionError("a base file was read by the index")

    monkeypatch.setattr(Storage, "parquet_file", no_reads)
    r = t.upsert(pa.table({"id": ["k5", "k40"], "ts": [4, 4]}, SCHEMA))
    assert (r.num_inserted, r.num_updated) == (0, 2)


def test_cache_is_bounded() -> None:
    cache = simple.KeyCache(max_bytes=1000)
    small = simple._FileKeys(pa.array(["x" * 100]), ("x", "x"))
    for i in range(50):
        cache.put(f"file://{i}", small)
    assert cache.get("file://0") is None
    assert cache.get("file://49") is small
    assert sum(e.nbytes for e in cache._entries.values()) <= 1000
