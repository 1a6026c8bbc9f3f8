"""Settings and results of the table services (compaction, cleaning, archival, rollback)."""

from __future__ import annotations

from typing import Literal

import attrs

from hudiwrite.timeline.instant import Instant

#: Hudi's cleaner policies (KEEP_LATEST_COMMITS / KEEP_LATEST_FILE_VERSIONS).
CleanPolicy = Literal["keep_latest_commits", "keep_latest_file_versions"]

__all__ = [
    "ArchiveResult",
    "ArchiveSettings",
    "CleanResult",
    "CleanSettings",
    "CompactionResult",
    "CompactionSettings",
]


# The services' knobs. They have no defaults of their own: ``TableOptions`` holds every
# default once and builds these (``TableOptions.compaction_settings()`` and siblings).


@attrs.frozen
class CompactionSettings:
    #: Schedule a compaction once this many delta commits completed since the last
    #: compaction (None: never by count).
    delta_commits: int | None
    #: Or once a file group's log files hold this many bytes (None: never by size).
    log_bytes: int | None
    compression: str
    max_workers: int
    #: Seconds between heartbeats of a running compaction (see ``concurrency/heartbeat.py``).
    heartbeat_interval: float


@attrs.frozen
class CleanSettings:
    policy: CleanPolicy
    retained: int


@attrs.frozen
class ArchiveSettings:
    min_instants: int
    max_instants: int
    #: What the table's other services keep, which archival of the LSM timeline (table
    #: versions 8/9, TimelineArchiverV2) respects as Java's does: the cleaner's retention
    #: (ArchivalUtils.getMinAndMaxInstantsToKeep) and enough delta commits for the inline
    #: compaction trigger (None: no count trigger).
    clean: CleanSettings | None
    compaction_delta_commits: int | None


@attrs.frozen
class CompactionResult:
    """What :meth:`HudiTable.compact` did."""

    #: Compaction instants planned by this call.
    scheduled: tuple[str, ...]
    #: Compaction instants executed and completed by this call.
    executed: tuple[str, ...]
    file_groups: int
    records_written: int
    files_written: tuple[str, ...]
    bytes_written: int


@attrs.frozen
class CleanResult:
    """What :meth:`HudiTable.clean` did (``instant_time`` None: nothing to clean)."""

    instant_time: str | None
    policy: CleanPolicy
    earliest_retained: str | None
    files_deleted: tuple[str, ...]


@attrs.frozen
class ArchiveResult:
    """What :meth:`HudiTable.archive` did."""

    archived: tuple[Instant, ...]
    archive_file: str | None
