"""File groups and file slices: how a partition's files form the table's units of data.

A file group (one file id in one partition) holds a sequence of file slices; a slice is a base
file plus the log files written against it, all keyed by the slice's base instant (protocol
§6.1). The grouping here is pure: callers pass the listing and the timeline's verdicts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

import attrs

from hudiwrite.model.naming import (
    BaseFileName,
    LogFileName,
    join_partition,
    parse_base_file_name,
    parse_log_file_name,
)

__all__ = ["BaseFile", "FileGroup", "FileSlice", "LogFile", "group_files"]


@attrs.frozen
class BaseFile:
    partition: str
    parsed: BaseFileName
    size: int

    @property
    def name(self) -> str:
        return self.parsed.name

    @property
    def path(self) -> str:
        return join_partition(self.partition, self.name)

    @property
    def instant(self) -> str:
        return self.parsed.instant


@attrs.frozen
class LogFile:
    partition: str
    parsed: LogFileName
    name: str
    size: int

    @property
    def path(self) -> str:
        return join_partition(self.partition, self.name)

    @property
    def version(self) -> int:
        return self.parsed.version


@attrs.frozen
class FileSlice:
    """A base file (or none, for a log-only slice) and its log files in reading order."""

    partition: str
    file_id: str
    base_instant: str
    base_file: BaseFile | None
    log_files: tuple[LogFile, ...] = ()

    def with_logs_of(self, newer: FileSlice) -> FileSlice:
        """This slice extended with a newer slice's logs (a pending compaction's new slice)."""
        return attrs.evolve(self, log_files=self.log_files + newer.log_files)


@attrs.frozen
class FileGroup:
    partition: str
    file_id: str
    slices: tuple[FileSlice, ...]  # ascending base instant

    def latest_slice(self, as_of: str | None = None) -> FileSlice | None:
        candidates = [s for s in self.slices if as_of is None or s.base_instant <= as_of]
        return candidates[-1] if candidates else None

    def merged_latest_slice(
        self, pending_compactions: Collection[str], as_of: str | None = None
    ) -> FileSlice | None:
        """The slice a snapshot reads: the latest one, merged with the previous slice while
        the latest is the not-yet-written output of a pending compaction."""
        candidates = [s for s in self.slices if as_of is None or s.base_instant <= as_of]
        if not candidates:
            return None
        latest = candidates[-1]
        pending = latest.base_instant in pending_compactions and latest.base_file is None
        if pending and len(candidates) >= 2:
            return candidates[-2].with_logs_of(latest)
        return latest


def group_files(
    partition: str,
    files: Iterable[tuple[str, int]],
    *,
    is_visible: Callable[[str], bool],
    is_pending_compaction: Callable[[str], bool],
) -> list[FileGroup]:
    """File groups of one partition from its listing (``(file name, size)`` pairs).

    ``is_visible(instant)`` says whether a slice based at that instant may be read (completed,
    older than the active timeline, or a pending compaction). Base files written by a
    pending compaction or an uncompleted write are left out.
    """
    bases: dict[tuple[str, str], BaseFile] = {}
    logs: dict[tuple[str, str], list[LogFile]] = {}
    for name, size in files:
        parsed_log = parse_log_file_name(name)
        if parsed_log is not None:
            key = (parsed_log.file_id, parsed_log.base_instant)
            logs.setdefault(key, []).append(LogFile(partition, parsed_log, name, size))
            continue
        parsed_base = parse_base_file_name(name)
        if parsed_base is None:
            continue
        instant = parsed_base.instant
        if not is_visible(instant) or is_pending_compaction(instant):
            continue
        key = (parsed_base.file_id, instant)
        previous = bases.get(key)
        # Two base files for one slice only arise from retried tasks; Java keeps one.
        if previous is None or name > previous.name:
            bases[key] = BaseFile(partition, parsed_base, size)
    slice_keys = set(bases) | {k for k in logs if is_visible(k[1])}
    by_group: dict[str, list[FileSlice]] = {}
    for file_id, instant in slice_keys:
        ordered_logs = tuple(
            sorted(logs.get((file_id, instant), []), key=lambda f: f.parsed.sort_key)
        )
        by_group.setdefault(file_id, []).append(
            FileSlice(partition, file_id, instant, bases.get((file_id, instant)), ordered_logs)
        )
    groups = []
    for file_id, slices in sorted(by_group.items()):
        slices.sort(key=lambda s: s.base_instant)
        groups.append(FileGroup(partition, file_id, tuple(slices)))
    return groups
