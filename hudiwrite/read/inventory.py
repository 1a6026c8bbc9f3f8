"""What a table holds, file by file: the public views behind ``HudiTable.partitions``,
``file_slices`` and ``stats``.

They answer the questions users ask before they reach for Spark's ``show_fsview_all``: which
partitions exist, which files a snapshot reads, how many bytes and rows sit where. Rows are
counted from base-file footers only (log records are not decoded), which is what the
numbers say.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from hudiwrite.model.filegroup import FileSlice
from hudiwrite.model.naming import PARTITION_METAFILE
from hudiwrite.read.fsview import FileSystemView
from hudiwrite.storage import Storage, unreadable_as_corrupt
from hudiwrite.timeline.metaclient import MetaClient

__all__ = ["FileSliceInfo", "PartitionStats", "TableStats", "latest_slices", "table_stats"]


@attrs.frozen
class FileSliceInfo:
    """One file slice a snapshot query reads: a file group's base file and its log files.

    ``base_file`` and ``log_files`` are table-relative paths; ``base_file`` is None for a
    slice of logs only (a pending compaction's output, or an index that writes logs first).
    """

    partition: str
    file_id: str
    base_instant: str
    base_file: str | None
    base_file_bytes: int
    log_files: tuple[str, ...]
    log_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.base_file_bytes + self.log_bytes

    @classmethod
    def _of(cls, s: FileSlice) -> FileSliceInfo:
        return cls(
            partition=s.partition,
            file_id=s.file_id,
            base_instant=s.base_instant,
            base_file=s.base_file.path if s.base_file is not None else None,
            base_file_bytes=s.base_file.size if s.base_file is not None else 0,
            log_files=tuple(f.path for f in s.log_files),
            log_bytes=s.log_bytes,
        )


@attrs.frozen
class PartitionStats:
    """Files and bytes of one partition's latest file slices; ``base_rows`` is the number
    of rows in their base files (updates and deletes waiting in logs are not counted)."""

    partition: str
    file_groups: int
    base_files: int
    log_files: int
    base_bytes: int
    log_bytes: int
    base_rows: int


@attrs.frozen
class TableStats:
    """:class:`PartitionStats` of every partition, and their totals."""

    partitions: tuple[PartitionStats, ...]

    @property
    def file_groups(self) -> int:
        return sum(p.file_groups for p in self.partitions)

    @property
    def base_bytes(self) -> int:
        return sum(p.base_bytes for p in self.partitions)

    @property
    def log_bytes(self) -> int:
        return sum(p.log_bytes for p in self.partitions)

    @property
    def base_rows(self) -> int:
        return sum(p.base_rows for p in self.partitions)


def latest_slices(meta: MetaClient, partition: str | None = None) -> tuple[FileSlice, ...]:
    """The slices a snapshot query of the latest commit reads, in partition order."""
    timeline = meta.timeline()
    replaced = meta.replaced_file_groups(timeline)
    if partition is None:
        return tuple(FileSystemView.load(meta.storage, timeline, None, replaced).latest_slices())
    # One partition: list it alone (a folder without partition metadata is not one).
    files = meta.storage.list_files(partition)
    if not any(f.name == PARTITION_METAFILE for f in files):
        return ()
    view = FileSystemView.build(timeline, {partition: files}, replaced)
    return tuple(view.latest_slices(partition))


def _base_rows(storage: Storage, s: FileSlice) -> int:
    if s.base_file is None:
        return 0
    pf = storage.parquet_file(s.base_file.path, s.base_file.size)
    with unreadable_as_corrupt(s.base_file.path):
        return int(pf.metadata.num_rows)


def table_stats(meta: MetaClient, slices: Iterable[FileSlice]) -> TableStats:
    """Per-partition counts over ``slices`` (reads each base file's footer)."""
    by_partition: dict[str, list[FileSlice]] = {}
    for s in slices:
        by_partition.setdefault(s.partition, []).append(s)
    out = []
    for partition in sorted(by_partition):
        group = by_partition[partition]
        out.append(
            PartitionStats(
                partition=partition,
                file_groups=len(group),
                base_files=sum(1 for s in group if s.base_file is not None),
                log_files=sum(len(s.log_files) for s in group),
                base_bytes=sum(s.base_file.size for s in group if s.base_file is not None),
                log_bytes=sum(s.log_bytes for s in group),
                base_rows=sum(_base_rows(meta.storage, s) for s in group),
            )
        )
    return TableStats(tuple(out))
