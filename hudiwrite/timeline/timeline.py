"""The active timeline: the instants recorded in the table's timeline folder."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs

from hudiwrite.model.filegroup import SliceRules
from hudiwrite.timeline.instant import Action, Instant
from hudiwrite.timeline.layout import TableLayout

__all__ = ["Timeline"]


@attrs.frozen
class Timeline:
    """Instants sorted by time, one per (time, action) in its highest state (Java's rule).

    ``archived_completion`` (layout 2) tells when an archived instant completed (the LSM
    timeline's record of it), None when unknown; ``MetaClient.timeline`` sets it.
    """

    layout: TableLayout
    instants: tuple[Instant, ...]
    archived_completion: Callable[[str], str | None] | None = attrs.field(
        default=None, eq=False, repr=False, kw_only=True
    )

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
        """Completed commits, delta commits and replace commits: the data-changing instants,
        in the order they completed."""
        writes = [i for i in self.completed if i.action in Action.WRITES]
        return tuple(sorted(writes, key=lambda i: (i.completion_time or i.time, i.time)))

    @property
    def pending_writes(self) -> tuple[Instant, ...]:
        """Writes that started and have not completed (running, or crashed)."""
        return tuple(i for i in self.pending if i.action in Action.WRITES)

    @property
    def pending_compactions(self) -> tuple[Instant, ...]:
        return tuple(i for i in self.pending if i.action == Action.COMPACTION)

    def latest_completed_write(self) -> Instant | None:
        writes = self.completed_writes
        return writes[-1] if writes else None

    def last_time(self) -> str | None:
        """The greatest instant (or completion) time on the timeline, in any state."""
        times = [i.time for i in self.instants]
        times += [i.completion_time for i in self.instants if i.completion_time]
        return max(times, default=None)

    def start_time(self) -> str | None:
        """Where the active timeline starts: its first completed commit (Java's
        ``isBeforeTimelineStarts`` on the completed commits timeline). Older instants were
        archived and count as committed."""
        return next((i.time for i in self.completed if i.action in Action.WRITES), None)

    def completion_time(self, time: str) -> str | None:
        """When the instant requested at ``time`` completed (layout 2), else None."""
        for i in self.instants:
            if i.time == time and i.is_completed:
                return i.completion_time or i.time
        return None

    def is_completed(self, time: str) -> bool:
        """Whether ``time`` is a completed instant or lies before the active timeline."""
        for i in self.instants:
            if i.time == time:
                return i.is_completed
        start = self.start_time()
        return start is not None and time < start

    def is_visible_base_instant(self, time: str) -> bool:
        """Whether a file slice based at ``time`` is readable: its instant completed, it is
        older than the active timeline, or it is a pending compaction's new slice."""
        for i in self.instants:
            if i.time == time and (i.is_completed or i.action == Action.COMPACTION):
                return True
        start = self.start_time()
        return start is not None and time < start and not any(i.time == time for i in self.pending)

    def slice_rules(self) -> SliceRules:
        pending = frozenset(i.time for i in self.pending_compactions)
        completion = None
        if self.layout.has_completion_times:
            times = {i.time: (i.completion_time or i.time) for i in self.completed}
            start = self.start_time()

            archived = self.archived_completion

            def completion_of(time: str) -> str | None:
                found = times.get(time)
                if found is None and start is not None and time < start:
                    # archived: completed before the active timeline began, when the LSM
                    # timeline says (CompletionTimeQueryViewV2), else taken as its own time
                    recorded = archived(time) if archived is not None else None
                    return recorded or time
                return found

            completion = completion_of

        def visible(time: str) -> bool:
            if self.layout.has_completion_times:
                # Layout 2: a file is visible if the instant that wrote it completed.
                return self.is_completed(time) or time in pending
            return self.is_visible_base_instant(time)

        return SliceRules(
            is_visible=visible,
            is_pending_compaction=pending.__contains__,
            completion_time=completion,
            pending_compactions=tuple(sorted(pending)),
        )

    def as_of(self, time: str) -> Timeline:
        """The timeline a time-travel query to ``time`` reads: the instants requested at or
        before it, in their current state.

        On layout 2 too the cut is by requested time, not completion time, as Java's
        ``findInstantsBeforeOrEquals`` on the completed timeline and its log scanner's
        ``INSTANT_TIME <= as.of.instant`` test make it (hudi-rs agrees): the commit at
        ``time`` is part of the table as of ``time``. Incremental queries, in contrast,
        select commits by completion time.
        """
        return attrs.evolve(self, instants=tuple(i for i in self.instants if i.time <= time))
