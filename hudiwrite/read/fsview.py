"""The file-system view: file groups and slices of a table, built from a storage listing.

No metadata table is consulted: listing is the ground truth, and a stale metadata table can
never hide files from hudiwrite.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable, Mapping

import attrs

from hudiwrite.model.filegroup import FileGroup, FileSlice, group_files
from hudiwrite.model.naming import PARTITION_METAFILE
from hudiwrite.model.paths import HOODIE_DIR
from hudiwrite.storage import FileInfo, Storage
from hudiwrite.timeline.timeline import Timeline

__all__ = ["FileSystemView"]


@attrs.frozen
class FileSystemView:
    """File groups per partition, as visible under one timeline."""

    timeline: Timeline
    groups: Mapping[str, tuple[FileGroup, ...]]
    replaced: Collection[tuple[str, str]] = frozenset()
    #: Listed partitions that hold a ``.hoodie_partition_metadata`` file.
    initialised: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        timeline: Timeline,
        listing: Mapping[str, Iterable[FileInfo]],
        replaced: Collection[tuple[str, str]] = frozenset(),
    ) -> FileSystemView:
        """A view from a listing of partition -> files (pure)."""
        rules = timeline.slice_rules()
        groups = {}
        initialised = set()
        for partition, files in listing.items():
            files = list(files)
            if any(f.name == PARTITION_METAFILE for f in files):
                initialised.add(partition)
            found = group_files(partition, ((f.name, f.size) for f in files), rules)
            groups[partition] = tuple(g for g in found if (partition, g.file_id) not in replaced)
        return cls(timeline, groups, frozenset(replaced), frozenset(initialised))

    @classmethod
    def load(
        cls,
        storage: Storage,
        timeline: Timeline,
        partitions: Iterable[str] | None = None,
        replaced: Collection[tuple[str, str]] = frozenset(),
    ) -> FileSystemView:
        """List storage: the given partitions, or every partition of the table."""
        if partitions is None:
            listing = list_all_partitions(storage)
        else:
            listing = {p: storage.list_files(p) for p in partitions}
        return cls.build(timeline, listing, replaced)

    @property
    def partitions(self) -> tuple[str, ...]:
        return tuple(sorted(self.groups))

    def file_groups(self, partition: str) -> tuple[FileGroup, ...]:
        return self.groups.get(partition, ())

    def latest_slices(
        self, partition: str | None = None, as_of: str | None = None
    ) -> list[FileSlice]:
        """The slice a snapshot reads in each file group (merged over a pending compaction)."""
        pending = {i.time for i in self.timeline.pending_compactions}
        out = []
        parts = [partition] if partition is not None else list(self.partitions)
        for p in parts:
            for group in self.file_groups(p):
                s = group.merged_latest_slice(pending, as_of)
                if s is not None:
                    out.append(s)
        return out


def list_all_partitions(storage: Storage) -> dict[str, list[FileInfo]]:
    """Every partition (a folder holding ``.hoodie_partition_metadata``) and its files."""
    by_dir: dict[str, list[FileInfo]] = {}
    for f in storage.walk_files(""):
        if f.path == HOODIE_DIR or f.path.startswith(HOODIE_DIR + "/"):
            continue
        by_dir.setdefault(posixpath.dirname(f.path), []).append(f)
    return {
        d: files
        for d, files in by_dir.items()
        if any(
            f.name == PARTITION_METAFILE or f.name.startswith(PARTITION_METAFILE + ".")
            for f in files
        )
    }
