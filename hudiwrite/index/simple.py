"""The simple index: which file group holds each record key, found in the base files.

Like Java's SIMPLE and BLOOM indexes, keys are looked up in base files only (protocol §6.4):
hudiwrite writes new keys to base files, so every existing key is in the base file of its file
group's latest slice. The lookup is an Arrow join, never a per-key loop; the min/max record
key footer lets files that cannot hold any wanted key be skipped unread.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hudiwrite.exceptions import UnsupportedTableError
from hudiwrite.formats.parquet import MAX_KEY, MIN_KEY
from hudiwrite.model.filegroup import FileSlice
from hudiwrite.storage import Storage

__all__ = ["FILE_ID", "lookup_keys"]

RECORD_KEY = "_hoodie_record_key"
PARTITION = "_hoodie_partition_path"
FILE_ID = "__file_id"


def _keys_of_slice(
    storage: Storage, file_slice: FileSlice, wanted: pa.Array, bounds: tuple[str, str]
) -> pa.Table | None:
    base = file_slice.base_file
    if base is None:
        raise UnsupportedTableError(
            f"file group {file_slice.file_id} in partition {file_slice.partition!r} has no base "
            "file (written with a bucket index?); hudiwrite cannot index keys in log files yet"
        )
    path = storage.full_path(base.path)
    pf = pq.ParquetFile(path, filesystem=storage.arrow_fs)
    meta = pf.metadata.metadata or {}
    lo, hi = meta.get(MIN_KEY.encode()), meta.get(MAX_KEY.encode())
    # Byte order equals Java's order except around supplementary characters, where the
    # check errs on the side of reading the file.
    if lo is not None and hi is not None and (hi.decode() < bounds[0] or lo.decode() > bounds[1]):
        return None
    keys = pf.read(columns=[RECORD_KEY]).column(RECORD_KEY)
    found = pc.is_in(keys, value_set=wanted)
    hits = pc.filter(keys, found)
    if len(hits) == 0:
        return None
    return pa.table(
        {
            RECORD_KEY: hits,
            PARTITION: pa.repeat(pa.scalar(file_slice.partition, pa.string()), len(hits)),
            FILE_ID: pa.repeat(pa.scalar(file_slice.file_id, pa.string()), len(hits)),
        }
    )


def lookup_keys(
    storage: Storage,
    slices: Sequence[FileSlice],
    wanted: pa.Table,
    max_workers: int = 4,
) -> pa.Table:
    """``wanted`` (record key, partition path) joined with the file group holding each key.

    Returns (record key, partition path, file id) for the wanted keys that exist; a key that
    appears in two file groups of one partition is an error in the table, reported as such.
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
        bounds = pc.min_max(keys)
        tasks.append((s, keys, (bounds["min"].as_py(), bounds["max"].as_py())))
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        results = list(pool.map(lambda t: _keys_of_slice(storage, *t), tasks))
    found = [r for r in results if r is not None]
    if not found:
        return empty
    return pa.concat_tables(found)
