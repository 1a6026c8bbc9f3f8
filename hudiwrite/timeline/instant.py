"""Instants: a point on the timeline (time, action, state) and instant-time generation."""

from __future__ import annotations

import datetime as dt
import threading
from enum import IntEnum

import attrs

__all__ = ["Action", "Instant", "InstantClock", "State", "format_instant_time"]


class State(IntEnum):
    """Instant states, ordered as Java orders them (a later state supersedes an earlier one)."""

    REQUESTED = 0
    INFLIGHT = 1
    COMPLETED = 2


class Action:
    """Timeline actions (HoodieTimeline constants)."""

    COMMIT = "commit"
    DELTA_COMMIT = "deltacommit"
    COMPACTION = "compaction"
    LOG_COMPACTION = "logcompaction"
    CLEAN = "clean"
    ROLLBACK = "rollback"
    REPLACE_COMMIT = "replacecommit"
    CLUSTERING = "clustering"
    SAVEPOINT = "savepoint"
    RESTORE = "restore"
    INDEXING = "indexing"

    # The action families Java's timeline views select; every module asks for them here.

    #: Actions whose completed instants change table data: Java's commits timeline
    #: (HoodieTable.getCompletedCommitsTimeline; a completed compaction is a ``commit``).
    WRITES = frozenset({COMMIT, DELTA_COMMIT, REPLACE_COMMIT})
    #: HoodieActiveTimeline.getCommitsAndCompactionTimeline (0.14): what bounds the earliest
    #: commit a clean retains.
    COMMITS_AND_COMPACTION = WRITES | {COMPACTION, LOG_COMPACTION}
    #: HoodieActiveTimeline.getWriteTimeline: pending ones of these hold archival back.
    WRITE_TIMELINE = COMMITS_AND_COMPACTION | {CLUSTERING}
    #: Actions whose completed file holds HoodieCommitMetadata as JSON on layout 1 (a
    #: replacecommit holds HoodieReplaceCommitMetadata).
    COMMIT_METADATA = frozenset({COMMIT, DELTA_COMMIT})


@attrs.frozen(order=False)
class Instant:
    """One instant of the timeline.

    ``completion_time`` is only known on timeline layout 2 (table versions 8 and 9), where the
    completed file's name carries it.
    """

    time: str
    action: str
    state: State
    completion_time: str | None = None

    @property
    def is_completed(self) -> bool:
        return self.state is State.COMPLETED

    @property
    def sort_key(self) -> tuple[str, int, str]:
        return (self.time, int(self.state), self.action)

    def with_state(self, state: State, completion_time: str | None = None) -> Instant:
        return attrs.evolve(self, state=state, completion_time=completion_time)

    def __str__(self) -> str:
        return f"[{self.time}__{self.action}__{self.state.name}]"


def format_instant_time(moment: dt.datetime) -> str:
    """``yyyyMMddHHmmssSSS`` in UTC."""
    utc = moment.astimezone(dt.timezone.utc)
    return utc.strftime("%Y%m%d%H%M%S") + f"{utc.microsecond // 1000:03d}"


def _add_millis(instant_time: str, millis: int) -> str:
    parsed = dt.datetime.strptime(instant_time[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.timezone.utc)
    frac = int(instant_time[14:17] or "0")
    moment = parsed + dt.timedelta(milliseconds=frac + millis)
    return format_instant_time(moment)


class InstantClock:
    """Issues strictly increasing UTC instant times, later than any time it is told about.

    Java re-generates until the new time exceeds the last one; here the clock simply moves a
    millisecond past the larger of the wall clock and the latest time seen.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = ""

    def next(self, after: str | None = None) -> str:
        with self._lock:
            candidate = format_instant_time(dt.datetime.now(dt.timezone.utc))
            floor = max(self._last, after or "")
            if floor and candidate <= floor[:17].ljust(17, "0"):
                candidate = _add_millis(floor[:17].ljust(17, "0"), 1)
            self._last = candidate
            return candidate


#: The process-wide clock: two tables written by one process never reuse an instant time.
CLOCK = InstantClock()
