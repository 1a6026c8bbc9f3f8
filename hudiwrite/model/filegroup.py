"""File groups and file slices: how a partition's files form the table's units of data.

A file group (one file id in one partition) holds a sequence of file slices; a slice is a base
file plus the log files written against it, all keyed by the slice's base instant (protocol
§6.1). The grouping here is pure: callers pass the listing and the timeline's verdicts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

import attrs

from hudiwrite.exceptions import UnsupportedTableError
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

    @property
    def log_bytes(self) -> int:
        return sum(f.size for f in self.log_files)

    @property
    def total_bytes(self) -> int:
        """Base file and log files: what rewriting the slice reads."""
        return (self.base_file.size if self.base_file is not None else 0) + self.log_bytes

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


@attrs.frozen
class SliceRules:
    """What the timeline says about instants, as the slicing needs it.

    ``is_visible(t)``: a base file or slice based at ``t`` may be read (completed, older than
    the active timeline, or a pending compaction). ``completion_time(t)``: when the instant
    ``t`` completed, or None when unknown; given only on timeline layout 2, where a log file
    is named after the delta commit that wrote it and belongs to the slice with the greatest
    base instant not after that commit's completion (protocol-v8 §1.5).
    """

    is_visible: Callable[[str], bool]
    is_pending_compaction: Callable[[str], bool]
    completion_time: Callable[[str], str | None] | None = None
    pending_compactions: tuple[str, ...] = ()


def group_files(
    partition: str, files: Iterable[tuple[str, int]], rules: SliceRules
) -> list[FileGroup]:
    """File groups of one partition from its listing (``(file name, size)`` pairs).

    Base files written by a pending compaction or an uncompleted write are left out, as are
    log files that belong to no visible slice.
    """
    bases: dict[tuple[str, str], BaseFile] = {}
    logs: dict[str, list[LogFile]] = {}
    for name, size in files:
        parsed_log = parse_log_file_name(name)
        if parsed_log is not None:
            if parsed_log.suffix:
                continue  # change-data-capture logs are not part of the table's data
            logs.setdefault(parsed_log.file_id, []).append(
                LogFile(partition, parsed_log, name, size)
            )
            continue
        parsed_base = parse_base_file_name(name)
        if parsed_base is None:
            continue
        if parsed_base.extension != ".parquet":
            raise UnsupportedTableError(
                f"base file {partition}/{name}: only parquet base files can be read"
            )
        instant = parsed_base.instant
        if not rules.is_visible(instant) or rules.is_pending_compaction(instant):
            continue
        key = (parsed_base.file_id, instant)
        previous = bases.get(key)
        # Two base files for one slice only arise from retried tasks; Java keeps one.
        if previous is None or name > previous.name:
            bases[key] = BaseFile(partition, parsed_base, size)

    slice_logs: dict[tuple[str, str], list[LogFile]] = {}
    if rules.completion_time is None:
        for file_id, group_logs in logs.items():
            for log in group_logs:
                if rules.is_visible(log.parsed.base_instant):
                    key = (file_id, log.parsed.base_instant)
                    slice_logs.setdefault(key, []).append(log)
    else:
        _attach_by_completion(bases, logs, rules, slice_logs)

    by_group: dict[str, list[FileSlice]] = {}
    for file_id, instant in set(bases) | set(slice_logs):
        group_logs = slice_logs.get((file_id, instant), [])
        ordered = tuple(sorted(group_logs, key=lambda f: _log_order(f, rules)))
        by_group.setdefault(file_id, []).append(
            FileSlice(partition, file_id, instant, bases.get((file_id, instant)), ordered)
        )
    groups = []
    for file_id, slices in sorted(by_group.items()):
        slices.sort(key=lambda s: s.base_instant)
        groups.append(FileGroup(partition, file_id, tuple(slices)))
    return groups


def _log_order(log: LogFile, rules: SliceRules) -> tuple[str, str, int, str, str]:
    """Replay order within a slice: by completion (layout 2), then Java's name order."""
    completed = ""
    if rules.completion_time is not None:
        completed = rules.completion_time(log.parsed.base_instant) or log.parsed.base_instant
    return (completed, *log.parsed.sort_key)


def _attach_by_completion(
    bases: dict[tuple[str, str], BaseFile],
    logs: dict[str, list[LogFile]],
    rules: SliceRules,
    out: dict[tuple[str, str], list[LogFile]],
) -> None:
    """Layout 2: each visible log joins the slice with the greatest base instant at or before
    its delta commit's completion time (Java's ``HoodieFileGroup.getBaseInstantTime``)."""
    assert rules.completion_time is not None
    for file_id, group_logs in logs.items():
        keys = sorted({inst for fid, inst in bases if fid == file_id})
        if keys:
            # A pending compaction opens a new slice for the logs that complete after it.
            keys = sorted(set(keys) | set(rules.pending_compactions))
        visible = [lg for lg in group_logs if rules.is_visible(lg.parsed.base_instant)]
        visible.sort(key=lambda lg: _log_order(lg, rules))
        for log in visible:
            written = log.parsed.base_instant
            completed = rules.completion_time(written) or written
            earlier = [k for k in keys if k <= completed]
            if earlier:
                key = earlier[-1]
            elif keys:
                key = keys[0]
            else:  # a log-only file group: its first log names the slice
                key = written
                keys = [written]
            out.setdefault((file_id, key), []).append(log)
