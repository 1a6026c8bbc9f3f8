"""The simple index: which file group holds each record key, found in the base files.

Like Java's SIMPLE and BLOOM indexes, keys are looked up in base files (protocol §6.4):
hudiwrite writes new keys to base files, so every existing key is in the base file of its file
group's latest slice. A file group without a base file (which Spark writes with a bucket
index or Flink's writers) has its keys in its log files: the caller supplies them, from the
merged slice. The lookup is an Arrow set lookup per partition, never a per-key loop.

Base files never change once written (a new version gets a new name), so the key column of
each file read is kept in a bounded process-wide cache: a service committing small batches
does not re-read the whole partition on every commit. The min/max record-key footer lets files
that cannot hold any wanted key be skipped unread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from hudiwrite.exceptions import UnsupportedTableError
from hudiwrite.formats.parquet import MAX_KEY, MIN_KEY, key_range
from hudiwrite.model.columns import PARTITION_PATH, RECORD_KEY
from hudiwrite.model.filegroup import FileSlice
from hudiwrite.storage import Storage, unreadable_as_corrupt

__all__ = ["FILE_ID", "KeyCache", "lookup_keys", "remember_written_keys"]

PARTITION = PARTITION_PATH
FILE_ID = "__file_id"


@attrs.frozen
class _FileKeys:
    keys: pa.Array
    bounds: tuple[str, str] | None

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes)


class KeyCache:
    """Record keys of base files, by file URL; least recently used out beyond ``max_bytes``."""

    def __init__(self, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, _FileKeys] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, url: str) -> _FileKeys | None:
        with self._lock:
            entry = self._entries.get(url)
            if entry is not None:
                self._entries.move_to_end(url)
            return entry

    def put(self, url: str, entry: _FileKeys) -> None:
        if entry.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(url, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._entries[url] = entry
            self._bytes += entry.nbytes
            while self._bytes > self.max_bytes and self._entries:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.nbytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


#: The process-wide cache of base-file keys.
KEY_CACHE = KeyCache()


def remember_written_keys(storage: Storage, rel: str, keys: pa.Array) -> None:
    """Keep the keys of a base file this process just wrote, so that the next write's lookup
    does not read them back (small-file merges give a group a new base file every commit)."""
    KEY_CACHE.put(storage.qualified(rel), _FileKeys(keys, key_range(keys)))


def _java_less(a: str, b: str) -> bool:
    """``a.compareTo(b) < 0`` in Java: UTF-16 code-unit order, like the key footers."""
    return a.encode("utf-16-be") < b.encode("utf-16-be")


def _disjoint(file_range: tuple[str, str], wanted: tuple[str, str]) -> bool:
    return _java_less(file_range[1], wanted[0]) or _java_less(wanted[1], file_range[0])


#: The live record keys of a file slice without a base file (read from its logs).
LogKeys = Callable[[FileSlice], pa.Array]


def _file_keys(
    storage: Storage, file_slice: FileSlice, bounds: tuple[str, str], log_keys: LogKeys | None
) -> pa.Table | None:
    """(record key, file id) of one slice's base file (or, for a slice without one, of its
    logs), or None if its key range misses."""
    base = file_slice.base_file
    if base is None:
        if log_keys is None:
            raise UnsupportedTableError(
                f"file group {file_slice.file_id} in partition {file_slice.partition!r} has "
                "no base file and its keys cannot be looked up here"
            )
        found = log_keys(file_slice)
        return pa.table(
            {
                RECORD_KEY: found,
                FILE_ID: pa.repeat(pa.scalar(file_slice.file_id, pa.string()), len(found)),
            }
        )
    url = storage.qualified(base.path)
    entry = KEY_CACHE.get(url)
    if entry is None:
        pf = storage.parquet_file(base.path, base.size)
        meta = pf.metadata.metadata or {}
        lo, hi = meta.get(MIN_KEY.encode()), meta.get(MAX_KEY.encode())
        if lo is not None and hi is not None and _disjoint((lo.decode(), hi.decode()), bounds):
            return None
        with unreadable_as_corrupt(base.path):
            keys = pf.read(columns=[RECORD_KEY]).column(RECORD_KEY).combine_chunks()
        entry = _FileKeys(keys, key_range(keys))
        KEY_CACHE.put(url, entry)
    if entry.bounds is None or _disjoint(entry.bounds, bounds):
        return None
    return pa.table(
        {
            RECORD_KEY: entry.keys,
            FILE_ID: pa.repeat(pa.scalar(file_slice.file_id, pa.string()), len(entry.keys)),
        }
    )


def lookup_keys(
    storage: Storage,
    slices: Sequence[FileSlice],
    wanted: pa.Table,
    max_workers: int = 4,
    log_keys: LogKeys | None = None,
) -> pa.Table:
    """(record key, partition path, file id) for the keys of ``wanted`` that exist.

    ``wanted`` holds (record key, partition path); ``slices`` are the latest file slices of
    the partitions it touches; ``log_keys`` gives the live keys of a slice without a base
    file. Raises UnsupportedTableError for such a slice without ``log_keys``.
    """
    empty = pa.table(
        {
            RECORD_KEY: pa.array([], pa.string()),
            PARTITION: pa.array([], pa.string()),
            FILE_ID: pa.array([], pa.string()),
        }
    )
    if wanted.num_rows == 0 or not slices:
        return empty
    grouped = (
        wanted.select([PARTITION, RECORD_KEY])
        .group_by(PARTITION)
        .aggregate([(RECORD_KEY, "distinct")])
    )
    by_partition: dict[str, pa.Array] = {
        p: grouped.column(f"{RECORD_KEY}_distinct")[i].values
        for i, p in enumerate(grouped.column(PARTITION).to_pylist())
    }
    tasks = []
    for s in slices:
        keys = by_partition.get(s.partition)
        if keys is None or len(keys) == 0:
            continue
        bounds = key_range(keys)
        assert bounds is not None
        tasks.append((s, bounds))
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        results = list(
            pool.map(lambda t: (t[0].partition, _file_keys(storage, t[0], t[1], log_keys)), tasks)
        )
    per_partition: dict[str, list[pa.Table]] = {}
    for partition, table in results:
        if table is not None:
            per_partition.setdefault(partition, []).append(table)
    found = []
    for partition, tables in per_partition.items():
        candidates = pa.concat_tables(tables)
        # One hash set per partition, probed by every candidate key of that partition.
        hit = pc.is_in(candidates.column(RECORD_KEY), value_set=by_partition[partition])
        hits = candidates.filter(hit)
        if hits.num_rows:
            found.append(
                pa.table(
                    {
                        RECORD_KEY: hits.column(RECORD_KEY),
                        PARTITION: pa.repeat(pa.scalar(partition, pa.string()), hits.num_rows),
                        FILE_ID: hits.column(FILE_ID),
                    }
                )
            )
    return pa.concat_tables(found) if found else empty
