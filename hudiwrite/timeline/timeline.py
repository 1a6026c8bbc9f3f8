"""The active timeline: the instants recorded in the table's timeline folder."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from hudiwrite.timeline.instant import Action, Instant
from hudiwrite.timeline.layout import TableLayout

__all__ = ["Timeline"]


@attrs.frozen
class Timeline:
    """Instants sorted by time, one per (time, action) in its highest state (Java's rule)."""

    layout: TableLayout
    instants: tuple[Instant, ...]

    @classmethod
    def from_file_names(cls, layout: TableLayout, names: Iterable[str]) -> Timeline:
        best: dict[tuple[str, str], Instant] = {}
        for name in names:
            instant = layout.parse_instant_file(name)
            if instant is None:
                continue
            group = (instant.time, layout.comparable_action(instant.action))
            current = best.get(group)
            if current is None or instant.state > current.state:
                best[group] = instant
        ordered = sorted(best.values(), key=lambda i: i.sort_key)
        return cls(layout, tuple(ordered))

    # -- views -------------------------------------------------------------------------

    @property
    def completed(self) -> tuple[Instant, ...]:
        return tuple(i for i in self.instants if i.is_completed)

    @property
    def pending(self) -> tuple[Instant, ...]:
        return tuple(i for i in self.instants if not i.is_completed)

    @property
    def completed_writes(self) -> tuple[Instant, ...]:
        """Completed commits, delta commits and replace commits: the data-changing instants."""
        return tuple(i for i in self.completed if i.action in Action.WRITES)

    @property
    def pending_compactions(self) -> tuple[Instant, ...]:
        return tuple(i for i in self.pending if i.action == Action.COMPACTION)

    def pending_writes(self) -> tuple[Instant, ...]:
        """Instants of writes that started and never completed (crashed or still running)."""
        return tuple(
            i
            for i in self.pending
            if i.action in (Action.DELTA_COMMIT, Action.COMMIT, Action.REPLACE_COMMIT)
        )

    def completed_times(self) -> frozenset[str]:
        return frozenset(i.time for i in self.completed)

    def latest_completed_write(self) -> Instant | None:
        writes = self.completed_writes
        return writes[-1] if writes else None

    def last_time(self) -> str | None:
        """The greatest instant time on the timeline, in any state."""
        return max((i.time for i in self.instants), default=None)

    def start_time(self) -> str | None:
        """The first instant of the active timeline (older instants were archived)."""
        return self.instants[0].time if self.instants else None

    def is_visible_base_instant(self, time: str) -> bool:
        """Whether a file slice based at ``time`` is readable: its instant completed, it is
        older than the active timeline, or it is a pending compaction's new slice."""
        for i in self.instants:
            if i.time == time and (i.is_completed or i.action == Action.COMPACTION):
                return True
        start = self.start_time()
        return start is not None and time < start and self._no_pending_at(time)

    def _no_pending_at(self, time: str) -> bool:
        return not any(i.time == time for i in self.pending)

    def is_completed(self, time: str) -> bool:
        """Whether ``time`` is a completed instant or lies before the active timeline."""
        for i in self.instants:
            if i.time == time:
                return i.is_completed
        start = self.start_time()
        return start is not None and time < start
