"""Archival of the active timeline, in the archive format of the table's version.

A table that commits forever must keep its active timeline short: archival moves the oldest
instants out of it, then deletes their files. Instants older than the first active instant
still count as committed (protocol §1.4, ``containsOrBeforeTimelineStarts``), so the table
reads the same before and after.

* Table version 6 (Hudi 0.14/0.15, ``HoodieTimelineArchiver``): archive log files in
  ``.hoodie/archived/`` (``timeline/archived.py``), one entry per state file. Every run writes
  a new archive file, never appending to one (object stores cannot append, and Java rolls
  over to ``N+1`` there).
* Table versions 8/9 (Hudi 1.x, ``TimelineArchiverV2``): the LSM timeline in
  ``.hoodie/timeline/history/`` (``timeline/lsm.py``), one row per instant with its completion
  time, which readers still need to place the archived delta commits' log files.

``TableLayout.archive_format`` chooses; :data:`_FORMATS` maps it to the format's planner,
writer and recovery, and :func:`run_archive` runs the same steps for both. The pieces here:
:func:`plan_archive` and :func:`plan_archive_lsm` (pure: which instants) and
:func:`run_archive` (write the archive, then delete the instant files in a crash-safe order).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol

from hudiwrite.model.naming import archive_file_name
from hudiwrite.model.paths import AUX_DIR
from hudiwrite.services.clean import KEEP_LATEST_COMMITS, earliest_commit_to_retain, java_policy
from hudiwrite.services.settings import ArchiveResult, ArchiveSettings
from hudiwrite.timeline.archived import (
    ArchivedInstant,
    archive_files,
    encode_archive_file,
    read_archive_file,
)
from hudiwrite.timeline.instant import Action, Instant, State, format_instant_time
from hudiwrite.timeline.layout import ArchiveFormat
from hudiwrite.timeline.lsm import LsmInstant, LsmTimeline, TimeRange, lsm_instant
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.timeline import Timeline
from hudiwrite.write.markers import Markers

__all__ = ["ArchiveGroup", "archive_due", "plan_archive", "plan_archive_lsm", "run_archive"]

log = logging.getLogger("hudiwrite")

#: All state files of one instant (requested, inflight, completed), in state order.
ArchiveGroup = tuple[Instant, ...]

# Archived by their own count rule (HoodieTimelineArchiver.getCleanInstantsToArchive).
_CLEANS: Final = (Action.CLEAN, Action.ROLLBACK)
# Never archived by Java 0.x; hudiwrite also lets none of them end up older than an archived
# commit (see plan_archive).
_KEPT: Final = frozenset({Action.SAVEPOINT, Action.RESTORE, Action.INDEXING})


# ---------------------------------------------------------------------------------------------
# planning (pure)


def _group_key(instant: Instant, timeline: Timeline) -> tuple[str, str]:
    return (instant.time, timeline.layout.comparable_action(instant.action))


def _default_states(instant: Instant) -> ArchiveGroup:
    """The state files layout 1 leaves for a completed instant when no listing is given."""
    states = (State.REQUESTED, State.INFLIGHT, State.COMPLETED)
    return tuple(Instant(instant.time, instant.action, s) for s in states)


def _min_time(*times: str | None) -> str | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None


def _before(time: str, bound: str | None) -> bool:
    return bound is None or time < bound


def plan_archive(
    timeline: Timeline,
    settings: ArchiveSettings,
    *,
    earliest_clean_retained: str | None,
    state_files: Iterable[Instant] | None = None,
) -> list[ArchiveGroup]:
    """Which instants to archive: groups of state files, oldest first. Does no I/O.

    Commits (HoodieTimelineArchiver.getCommitInstantsToArchive, 0.14): only when the
    completed commits timeline (commit, deltacommit, replacecommit; a completed compaction is
    a ``commit``) holds more than ``max_instants``, the oldest ones are archived, at most
    ``count - min_instants`` of them, and never

    * at or after the latest completed commit before the oldest pending write (Java's
      ``oldestCommitToRetain``: pending commit/deltacommit/compaction/logcompaction/replace);
    * at or after any other pending instant (clean, rollback, ...: hudiwrite's addition);
    * at or after the first savepoint, restore or indexing instant (Java stops at the first
      savepoint and never archives these actions; hudiwrite stops at all of them so none is
      left older than an archived commit);
    * at or after ``earliest_clean_retained``, the ``earliestCommitToRetain`` of the latest
      completed clean (the incremental cleaner and incremental reads need those commits; Java
      0.14 gets the same effect by raising min/max from the cleaner config, ArchivalUtils);
    * at or after the first replacecommit the last clean has not yet covered
      (ClusteringUtils.getOldestInstantToRetainForClustering: the replaced file groups must
      be cleaned before the replacecommit that hides them leaves the timeline).

    Cleans and rollbacks: Java archives the oldest ``count - min_instants`` completed ones of
    each action once there are more than ``max_instants`` (getCleanInstantsToArchive). On top
    of that, every completed clean or rollback older than the first commit that stays is
    archived along with the commits, so the active timeline still starts at a retained commit
    (hudiwrite's reader counts everything before the first active instant as committed, so no
    instant may stay behind older than an archived commit). Both stop at the pending,
    savepoint and clean-retained bounds above. This keeps Java's rules where they are simple
    and trades its config-driven extras (metadata-table and inline-compaction retention) for
    those fixed bounds; compared with Java it archives fewer commits, and cleans/rollbacks
    earlier only when they are older than every retained commit.

    ``state_files`` are the instants of every timeline file (all states; what a listing of
    ``.hoodie/`` parses to). Without it each group holds the requested/inflight/completed
    states layout 1 normally leaves. Whole instants are archived: every state file present.
    """
    instants = timeline.instants
    commits = _completed(instants, Action.WRITES)
    hard_bound = _hard_bound(instants, earliest_clean_retained)
    commit_bound = _min_time(
        hard_bound,
        _retain_for_writes(instants, commits),
        _retain_for_replace(instants, earliest_clean_retained),
    )
    chosen = _commits_to_archive(commits, settings, commit_bound)
    new_start = _first_retained(commits, chosen, commit_bound)
    chosen += _cleans_to_archive(instants, settings, hard_bound, new_start)
    if not chosen:
        return []
    return _state_file_groups(chosen, timeline, state_files)


def _completed(instants: Iterable[Instant], actions: Iterable[str]) -> list[Instant]:
    """The completed instants of ``actions``, oldest first."""
    wanted = set(actions)
    return sorted((i for i in instants if i.is_completed and i.action in wanted), key=_time)


def _time(instant: Instant) -> str:
    return instant.time


def _hard_bound(instants: Sequence[Instant], earliest_clean_retained: str | None) -> str | None:
    """The time that stops every kind of archival: the oldest pending instant, the first
    savepoint/restore/indexing instant or the last clean's earliest retained commit."""
    oldest_pending = min((i.time for i in instants if not i.is_completed), default=None)
    first_kept = min((i.time for i in instants if i.action in _KEPT), default=None)
    return _min_time(oldest_pending, first_kept, earliest_clean_retained)


def _retain_for_writes(instants: Sequence[Instant], commits: Sequence[Instant]) -> str | None:
    """Java's oldestCommitToRetain: the greatest completed commit before the oldest pending
    write, or the pending write itself when no commit precedes it; None without one."""
    oldest_pending_write = min(
        (i.time for i in instants if not i.is_completed and i.action in Action.WRITE_TIMELINE),
        default=None,
    )
    if oldest_pending_write is None:
        return None
    before = [c.time for c in commits if c.time < oldest_pending_write]
    return before[-1] if before else oldest_pending_write


def _retain_for_replace(
    instants: Sequence[Instant],
    earliest_clean_retained: str | None,
    actions: frozenset[str] = frozenset({Action.REPLACE_COMMIT}),
) -> str | None:
    """ClusteringUtils.getOldestInstantToRetainForClustering: the first replacecommit (1.x:
    or clustering instant, ``actions``) the last clean has not covered yet (every one when
    nothing was cleaned); None without one."""
    replaces = sorted(i.time for i in instants if i.action in actions)
    if not replaces:
        return None
    cleans_done = [
        i.time for i in instants if i.action == Action.CLEAN and i.state != State.REQUESTED
    ]
    if not cleans_done:
        return replaces[0]
    lower = earliest_clean_retained or max(cleans_done)
    return next((t for t in replaces if t >= lower), None)


def _oldest_by_count(done: Sequence[Instant], settings: ArchiveSettings) -> Sequence[Instant]:
    """Java's count rule: once there are more than ``max_instants``, the oldest
    ``count - min_instants`` of ``done`` (oldest first); none otherwise."""
    if len(done) <= settings.max_instants:
        return ()
    return done[: max(0, len(done) - settings.min_instants)]


def _commits_to_archive(
    commits: Sequence[Instant], settings: ArchiveSettings, bound: str | None
) -> list[Instant]:
    """The commits the count rule releases, up to (not including) ``bound``. ``commits`` are
    sorted, so those before the bound are a prefix and the count applies to them alone."""
    return [c for c in _oldest_by_count(commits, settings) if _before(c.time, bound)]


def _first_retained(
    commits: Sequence[Instant], chosen: Sequence[Instant], commit_bound: str | None
) -> str | None:
    """Where the active timeline's commits will start: the first commit not archived, or the
    commit bound when every commit goes."""
    chosen_times = {c.time for c in chosen}
    remaining = [c for c in commits if c.time not in chosen_times]
    return remaining[0].time if remaining else commit_bound


def _cleans_to_archive(
    instants: Sequence[Instant],
    settings: ArchiveSettings,
    hard_bound: str | None,
    new_start: str | None,
) -> list[Instant]:
    """Completed cleans and rollbacks to archive, per action oldest first: those the count
    rule releases and those older than ``new_start``, all before ``hard_bound``."""
    chosen: list[Instant] = []
    for action in _CLEANS:
        done = _completed(instants, (action,))
        by_count = {i.time for i in _oldest_by_count(done, settings)}
        for i in done:
            if _before(i.time, hard_bound) and (i.time in by_count or _before(i.time, new_start)):
                chosen.append(i)
    return chosen


def plan_archive_lsm(
    timeline: Timeline,
    settings: ArchiveSettings,
    *,
    earliest_clean_retained: str | None,
    state_files: Iterable[Instant] | None = None,
) -> list[ArchiveGroup]:
    """Which instants TimelineArchiverV2 (Hudi 1.x, table versions 8/9) archives: groups of
    state files, oldest first. Does no I/O.

    Commits (getCommitInstantsToArchive): only when the completed commits timeline (commit,
    deltacommit, replacecommit; a completed compaction is a ``commit``) holds more than max,
    the oldest ones, at most ``count - min`` of them, strictly before the first completed
    savepoint and strictly before the earliest instant to retain, the least of

    * the greatest completed commit before the oldest pending write-timeline instant
      (commit, deltacommit, compaction, logcompaction, replacecommit, clustering), or that
      instant when no commit precedes it;
    * with inline compaction by count (``compaction_delta_commits``): the last completed
      compaction while fewer delta commits followed it than the trigger needs, else the
      delta commit that keeps exactly that many (CompactionUtils.
      getEarliestInstantToRetainForCompaction; with no compaction yet the first delta commit
      stands in for it);
    * the first replacecommit or clustering instant the last clean has not covered
      (ClusteringUtils.getEarliestInstantToRetainForClustering).

    min and max are raised so that the commits after the cleaner's earliest commit to retain
    stay, plus two (ArchivalUtils.getMinAndMaxInstantsToKeep, KEEP_LATEST_COMMITS only).

    Cleans and rollbacks (getCleanAndRollbackInstantsToArchive): every completed one
    requested before the last commit archived goes along. Pending instants, savepoints,
    restores and indexing instants are never archived.

    ``state_files`` as for :func:`plan_archive`.
    """
    instants = timeline.instants
    commits = _completed(instants, Action.WRITES)
    keep_min, keep_max = _instants_to_keep(timeline, commits, settings)
    if len(commits) <= keep_max:
        return []
    bound = _min_time(
        _retain_for_writes(instants, commits),
        _retain_for_compaction(instants, settings.compaction_delta_commits),
        _retain_for_replace(instants, earliest_clean_retained, _REPLACE_ACTIONS),
    )
    savepoint = min(
        (i.time for i in instants if i.action == Action.SAVEPOINT and i.is_completed),
        default=None,
    )
    allowed = [c for c in commits if _before(c.time, savepoint) and _before(c.time, bound)]
    chosen = allowed[: max(0, len(commits) - keep_min)]
    if not chosen:
        return []
    last = chosen[-1].time
    chosen += [i for i in _completed(instants, _CLEANS) if i.time < last]
    return _state_file_groups(chosen, timeline, state_files)


# Java 1.x's replace-or-clustering timeline.
_REPLACE_ACTIONS: Final = frozenset({Action.REPLACE_COMMIT, Action.CLUSTERING})


def _instants_to_keep(
    timeline: Timeline, commits: Sequence[Instant], settings: ArchiveSettings
) -> tuple[int, int]:
    """ArchivalUtils.getMinAndMaxInstantsToKeep: (min, max), raised when fewer than the
    commits after the cleaner's earliest commit to retain (plus two) would stay."""
    low, high = settings.min_instants, settings.max_instants
    clean = settings.clean
    if clean is None or java_policy(clean.policy) != KEEP_LATEST_COMMITS:
        return low, high  # CleanerUtils.getEarliestCommitToRetain: none for file versions
    earliest = earliest_commit_to_retain(timeline, clean.retained)
    if earliest is None:
        return low, high
    needed = sum(1 for c in commits if c.time > earliest.time) + 2
    if low < needed:
        return needed, needed + high - low
    return low, high


def _retain_for_compaction(instants: Sequence[Instant], delta_commits: int | None) -> str | None:
    """CompactionUtils.getEarliestInstantToRetainForCompaction (with
    getDeltaCommitsSinceLatestCompaction): keep enough delta commits (in any state) after
    the last completed compaction for the inline trigger to fire; None without a trigger by
    count or without delta commits."""
    if delta_commits is None:
        return None
    compactions = [i.time for i in instants if i.is_completed and i.action in _COMMIT_TIMELINE]
    deltas = sorted(i.time for i in instants if i.action == Action.DELTA_COMMIT)
    if compactions:
        anchor = max(compactions)
        deltas = [t for t in deltas if t > anchor]
    elif deltas:
        anchor = deltas[0]
    else:
        return None
    if len(deltas) < delta_commits:
        return anchor
    return deltas[len(deltas) - delta_commits]


# HoodieActiveTimeline.getCommitTimeline: commits (a compaction completes as one), replace
# commits and clustering.
_COMMIT_TIMELINE: Final = frozenset({Action.COMMIT, Action.REPLACE_COMMIT, Action.CLUSTERING})


def _state_file_groups(
    chosen: Sequence[Instant], timeline: Timeline, state_files: Iterable[Instant] | None
) -> list[ArchiveGroup]:
    """The state files of every chosen instant, one group per instant, oldest first: those
    ``state_files`` lists, or the three layout 1 leaves when it is None."""
    wanted = {_group_key(i, timeline) for i in chosen}
    groups: dict[tuple[str, str], list[Instant]] = {key: [] for key in wanted}
    if state_files is None:
        for i in chosen:
            groups[_group_key(i, timeline)].extend(_default_states(i))
    else:
        for i in state_files:
            found = groups.get(_group_key(i, timeline))
            if found is not None and i not in found:
                found.append(i)
    return [
        tuple(sorted(groups[key], key=lambda i: (int(i.state), i.action)))
        for key in sorted(groups)
        if groups[key]
    ]


# ---------------------------------------------------------------------------------------------
# running


def _write_archive_file(
    meta: MetaClient, entries: Sequence[ArchivedInstant], files: Sequence[tuple[int, str]]
) -> str:
    """Write a new archive file holding ``entries``; its relative path.

    The name is the next version after the highest existing one; a name taken meanwhile (a
    concurrent archiver) moves on to the next version. Raises FileExistsError when 16
    versions in a row are taken.
    """
    data = encode_archive_file(entries)
    version = (files[-1][0] if files else 0) + 1  # HoodieLogFile.LOGFILE_BASE_VERSION = 1
    folder = meta.archive_dir
    for _ in range(16):
        path = f"{folder}/{archive_file_name(version)}"
        try:
            meta.storage.create_exclusive(path, data)
            return path
        except FileExistsError:
            version += 1
    raise FileExistsError(f"no free archive file name in {folder}")


def _entries_for(
    meta: MetaClient, states: Iterable[Instant], skip: set[Instant]
) -> list[ArchivedInstant]:
    """The archived entry of every state file in ``states`` but those in ``skip``, with the
    plan each needs read from its requested file."""
    out = []
    for instant in states:
        if instant in skip:
            continue
        content = meta.read_instant(instant)
        plan: bytes | None = None
        if instant.action in (Action.COMPACTION, Action.LOG_COMPACTION):
            requested = Instant(instant.time, instant.action, State.REQUESTED)
            plan = content if instant == requested else meta.read_instant(requested)
        elif instant.action == Action.CLEAN and instant.state is State.INFLIGHT and not content:
            plan = meta.read_instant(Instant(instant.time, Action.CLEAN, State.REQUESTED))
        out.append(ArchivedInstant.from_state_file(instant, content, plan=plan))
    return out


def _delete_archived(meta: MetaClient, states: Sequence[Instant]) -> None:
    """Remove archived instants from the active timeline, in Java's order.

    HoodieTimelineArchiver.deleteArchivedInstants: first every requested and inflight file,
    then the completed files one by one in ascending time (HUDI-7207). Deleting a completed
    file first would leave its instant looking pending: a deltacommit would look like a
    crashed write that the next writer rolls back, a compaction like a plan still to run.
    Ascending order keeps the timeline free of holes: whatever is gone is older than
    everything left, so it still counts as committed before the timeline start. A crash at
    any point leaves a table that reads the same, and the next run finishes the job.
    """
    storage = meta.storage
    for instant in states:
        if not instant.is_completed:
            storage.delete(meta.instant_path(instant))
    for instant in sorted((i for i in states if i.is_completed), key=lambda i: i.time):
        storage.delete(meta.instant_path(instant))


def _cleanup_aux_and_markers(
    meta: MetaClient, states: Sequence[Instant], timeline_after: Timeline
) -> None:
    """Drop what the archived instants left beside the timeline.

    Markers: HoodieTimelineArchiver.deleteAnyLeftOverMarkers. ``.aux``: the 0.x archiver
    removed every ``.aux`` instant file at or before the latest archived commit
    (deleteAllInstantsOlderOrEqualsInAuxMetaFolder), which also catches copies a crash left
    behind; instants still active are kept.
    """
    storage = meta.storage
    for time in sorted({i.time for i in states}):
        Markers(storage, time).delete_all()
    commits = [i.time for i in states if i.is_completed and i.action in Action.COMMIT_METADATA]
    if not commits:
        return
    threshold = max(commits)
    active = {i.time for i in timeline_after.instants}
    for f in storage.list_files(AUX_DIR):
        aux = timeline_after.layout.parse_instant_file(f.name)
        if aux is not None and aux.time <= threshold and aux.time not in active:
            storage.delete(f.path)


def _interrupted(by_group: Mapping[tuple[str, str], Sequence[Instant]]) -> bool:
    """Whether a completed instant lacks its requested file: the trace of a run that died
    while deleting (pending states go first). Only then is the archive read when nothing
    else is due; a run that died before deleting plans the same instants again anyway."""
    for states in by_group.values():
        kinds = {i.state for i in states}
        savepoint = any(i.action == Action.SAVEPOINT for i in states)  # has no requested file
        if State.COMPLETED in kinds and State.REQUESTED not in kinds and not savepoint:
            return True
    return False


# ---------------------------------------------------------------------------------------------
# the two archive formats


class _Format(Protocol):
    """What differs between the archive formats; :func:`run_archive` drives the steps."""

    def plan(
        self,
        meta: MetaClient,
        timeline: Timeline,
        settings: ArchiveSettings,
        state_files: Sequence[Instant] | None,
    ) -> list[ArchiveGroup]:
        """The groups to archive (the format's archiver's rules); ``state_files`` as for
        :func:`plan_archive`."""
        ...

    def recorded(self, meta: MetaClient, state_files: Sequence[Instant]) -> set[Instant]:
        """The state files among ``state_files`` (still on the active timeline) that an
        interrupted run already wrote to the archive."""
        ...

    def write(
        self, meta: MetaClient, groups: Sequence[ArchiveGroup], skip: set[Instant]
    ) -> tuple[str | None, int]:
        """Archive ``groups`` but the state files in ``skip``; (the file written, or None
        when nothing was; the number of entries it holds)."""
        ...

    def finish(self, meta: MetaClient, archived: Sequence[Instant], after: Timeline) -> None:
        """What follows the deletion of the archived instants' files."""
        ...


class _LogFormat:
    """Table version 6: archive log files in ``.hoodie/archived/`` (HoodieTimelineArchiver)."""

    def plan(
        self,
        meta: MetaClient,
        timeline: Timeline,
        settings: ArchiveSettings,
        state_files: Sequence[Instant] | None,
    ) -> list[ArchiveGroup]:
        earliest = meta.earliest_clean_retained(timeline)
        return plan_archive(
            timeline, settings, earliest_clean_retained=earliest, state_files=state_files
        )

    def recorded(self, meta: MetaClient, state_files: Sequence[Instant]) -> set[Instant]:
        """State files recorded in archive files an interrupted run left behind, read newest
        file first. A finished run deletes every instant it archived, so only the newest
        files can hold entries of instants still on the active timeline; reading stops at
        the first file that holds none."""
        active = set(state_files)
        found: set[Instant] = set()
        for _, path in reversed(archive_files(meta)):
            recorded = {e.instant for e in read_archive_file(meta, path)}
            if not recorded & active:
                break
            found |= recorded
        return found

    def write(
        self, meta: MetaClient, groups: Sequence[ArchiveGroup], skip: set[Instant]
    ) -> tuple[str | None, int]:
        entries = _entries_for(meta, (i for g in groups for i in g), skip)
        if not entries:
            return None, 0
        return _write_archive_file(meta, entries, archive_files(meta)), len(entries)

    def finish(self, meta: MetaClient, archived: Sequence[Instant], after: Timeline) -> None:
        _cleanup_aux_and_markers(meta, archived, after)


class _LsmFormat:
    """Table versions 8/9: the LSM timeline (TimelineArchiverV2 and LSMTimelineWriter)."""

    def plan(
        self,
        meta: MetaClient,
        timeline: Timeline,
        settings: ArchiveSettings,
        state_files: Sequence[Instant] | None,
    ) -> list[ArchiveGroup]:
        earliest = meta.earliest_clean_retained(timeline)
        return plan_archive_lsm(
            timeline, settings, earliest_clean_retained=earliest, state_files=state_files
        )

    def recorded(self, meta: MetaClient, state_files: Sequence[Instant]) -> set[Instant]:
        """The state files of the instants the LSM timeline holds that are still active: a
        run that died after its batch landed (LSMTimelineWriter.write skips a committed
        batch by its file name; a batch planned anew may be named differently). Only files
        whose names reach the oldest active instant are read."""
        if not state_files:
            return set()
        layout = meta.layout
        oldest = min(i.time for i in state_files)
        rows = _history(meta).load(TimeRange(start=oldest), payloads=False)
        keys = {(r.instant_time, layout.comparable_action(r.action or "")) for r in rows}
        return {i for i in state_files if (i.time, layout.comparable_action(i.action)) in keys}

    def write(
        self, meta: MetaClient, groups: Sequence[ArchiveGroup], skip: set[Instant]
    ) -> tuple[str | None, int]:
        """One level-0 file of the groups' rows, each instant's leftover markers deleted
        first (TimelineArchiverV2's preWriteCallback, deleteAnyLeftOverMarkers)."""
        rows = []
        for group in groups:
            if any(i in skip for i in group):
                continue
            Markers(meta.storage, group[0].time).delete_all()
            rows.append(_lsm_row(meta, group))
        if not rows:
            return None, 0
        history = _history(meta)
        name = history.append(rows)
        if name is None:
            return None, 0
        return history.path(name), len(rows)

    def finish(self, meta: MetaClient, archived: Sequence[Instant], after: Timeline) -> None:
        """LSMTimelineWriter.compactAndClean, as Java runs it after every archival."""
        _history(meta).compact_and_clean()


#: The format of each ``TableLayout.archive_format``.
_FORMATS: Final[Mapping[ArchiveFormat, _Format]] = {
    ArchiveFormat.LOG: _LogFormat(),
    ArchiveFormat.LSM: _LsmFormat(),
}


def _format(meta: MetaClient) -> _Format:
    return _FORMATS[meta.layout.archive_format]


def _history(meta: MetaClient) -> LsmTimeline:
    history = meta.history
    assert history is not None, "the LSM format is only chosen on layout 2"
    return history


def _lsm_row(meta: MetaClient, states: ArchiveGroup) -> LsmInstant:
    """The LSM row of one archived instant from its state files
    (MetadataConversionUtils.createLSMTimelineInstant, :func:`~hudiwrite.timeline.lsm.
    lsm_instant`): the completed file's action and bytes, the requested and inflight bytes
    where those files are there."""
    completed = next(i for i in states if i.is_completed)
    pending = [i for i in states if not i.is_completed]
    by_state = {i.state: meta.read_instant(i) for i in pending}
    return lsm_instant(
        completed.time,
        completed.completion_time or _legacy_completion(meta, completed),
        completed.action,
        meta.read_instant(completed),
        pending_action=pending[0].action if pending else None,
        requested=by_state.get(State.REQUESTED),
        inflight=by_state.get(State.INFLIGHT),
    )


def _legacy_completion(meta: MetaClient, instant: Instant) -> str:
    """A completed file named without its completion time (written by a 0.x writer before
    an upgrade): Java takes the file's modification time; the instant time without one.
    Never None: Java's archived-timeline readers fail on a null completion time."""
    modified = meta.storage.modified(meta.instant_path(instant))
    if modified is None:
        return instant.time
    return format_instant_time(dt.datetime.fromtimestamp(modified, dt.timezone.utc))


# ---------------------------------------------------------------------------------------------
# the service


def archive_due(meta: MetaClient, timeline: Timeline, settings: ArchiveSettings) -> bool:
    """Whether archival would move anything now (a cheap check before taking the
    table-services lock; :func:`run_archive` plans again under it)."""
    if meta.config.unwritable_reason(meta.layout.writable) is not None:
        return False
    return bool(_format(meta).plan(meta, timeline, settings, None))


def run_archive(meta: MetaClient, settings: ArchiveSettings) -> ArchiveResult:
    """Archive the instants the table's format plans (:func:`plan_archive` on version 6,
    :func:`plan_archive_lsm` on 8/9); what was archived and where.

    1. Finish an interrupted run: instants whose every state file is already recorded in the
       archive are only deleted (looked for when something is due, or when the timeline
       shows a run died while deleting).
    2. Plan on the rest of the timeline; write the archive: one new archive file with an
       entry per state file not yet archived (v6), or one LSM batch of a row per instant, its
       markers deleted first, then the parquet file, the manifest and ``_version_`` (v8/9).
    3. Delete the archived instants' files (:func:`_delete_archived` order), then their
       markers and ``.aux`` copies (v6), or compact and clean the LSM timeline (v8/9).

    A crash after step 2 leaves the active timeline untouched (the table reads the same); the
    next run sees the archived instants still active and writes them no second time.
    """
    meta.require_writable("archival")
    archive = _format(meta)
    storage = meta.storage
    storage.invalidate()
    names = [f.name for f in storage.list_files(meta.layout.timeline_dir)]
    timeline = Timeline.from_file_names(meta.layout, names)
    state_files = [i for i in (meta.layout.parse_instant_file(n) for n in names) if i is not None]
    groups = archive.plan(meta, timeline, settings, state_files)
    by_group: dict[tuple[str, str], list[Instant]] = {}
    for i in state_files:
        by_group.setdefault(_group_key(i, timeline), []).append(i)
    if not groups and not _interrupted(by_group):
        return ArchiveResult(archived=(), archive_file=None)

    # 1. groups an interrupted run already wrote out completely
    leftover = archive.recorded(meta, state_files)
    recovered = {
        key: tuple(sorted(states, key=lambda i: int(i.state)))
        for key, states in by_group.items()
        if leftover and all(i in leftover for i in states)
    }
    if recovered:
        log.info("finishing an interrupted archival of %d instants", len(recovered))
        rest = Timeline(
            timeline.layout,
            tuple(i for i in timeline.instants if _group_key(i, timeline) not in recovered),
        )
        rest_states = [i for i in state_files if _group_key(i, timeline) not in recovered]
        groups = archive.plan(meta, rest, settings, rest_states)

    if not groups and not recovered:
        return ArchiveResult(archived=(), archive_file=None)

    # 2. the archive
    planned = [i for g in groups for i in g]
    archive_file, entries = archive.write(meta, groups, leftover)

    # 3. deletions
    archived = sorted(
        {i for g in recovered.values() for i in g} | set(planned), key=lambda i: i.sort_key
    )
    _delete_archived(meta, archived)
    gone = {_group_key(i, timeline) for i in archived}
    after = Timeline(
        timeline.layout,
        tuple(i for i in timeline.instants if _group_key(i, timeline) not in gone),
    )
    archive.finish(meta, archived, after)
    storage.invalidate()
    log.info(
        "archived %d instant files (%d entries written to %s)",
        len(archived),
        entries,
        archive_file,
    )
    return ArchiveResult(archived=tuple(archived), archive_file=archive_file)
