"""Archival of the active timeline for table version 6 (Hudi 0.14/0.15, timeline layout 1).

A table that commits forever must keep ``.hoodie/`` short: archival moves the oldest instants
into ``.hoodie/archived/`` and then deletes their files from the active timeline. Instants
older than the first active instant still count as committed (protocol §1.4,
``containsOrBeforeTimelineStarts``), so the table reads the same before and after.

Every run writes a new archive file, never appending to one (object stores cannot append, and
Java rolls over to ``N+1`` there). The archived timeline's format (entries, archive files) and
its reader are ``timeline/archived.py``'s; the file names are ``model/naming.py``'s.

The pieces here: :func:`plan_archive` (pure: which instants) and :func:`run_archive` (write the
archive file, then delete the instant files in a crash-safe order).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from hudiwrite.exceptions import UnsupportedTableError
from hudiwrite.model.naming import archive_file_name
from hudiwrite.model.paths import AUX_DIR
from hudiwrite.services.settings import ArchiveResult, ArchiveSettings
from hudiwrite.timeline.archived import (
    ArchivedInstant,
    archive_files,
    encode_archive_file,
    read_archive_file,
)
from hudiwrite.timeline.instant import Action, Instant, State
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.timeline import Timeline
from hudiwrite.write.markers import Markers

__all__ = ["ArchiveGroup", "archive_due", "plan_archive", "run_archive"]

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
    instants: Sequence[Instant], earliest_clean_retained: str | None
) -> str | None:
    """ClusteringUtils.getOldestInstantToRetainForClustering: the first replacecommit the
    last clean has not covered yet (every one when nothing was cleaned); None without one."""
    replaces = sorted(i.time for i in instants if i.action == Action.REPLACE_COMMIT)
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


def _leftover_states(
    meta: MetaClient, files: Sequence[tuple[int, str]], active: set[Instant]
) -> set[Instant]:
    """State files recorded in archive files an interrupted run left behind, read newest
    file first.

    A finished run deletes every instant it archived, so only the newest files can hold
    entries of instants still on the active timeline; reading stops at the first file that
    holds none.
    """
    found: set[Instant] = set()
    for _, path in reversed(files):
        recorded = {e.instant for e in read_archive_file(meta, path)}
        if not recorded & active:
            break
        found |= recorded
    return found


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


def archive_due(meta: MetaClient, timeline: Timeline, settings: ArchiveSettings) -> bool:
    """Whether archival would move anything now (a cheap check before taking the
    table-services lock; :func:`run_archive` plans again under it)."""
    if meta.layout.has_completion_times or not meta.layout.writable:
        return False
    earliest = meta.earliest_clean_retained(timeline)
    return bool(plan_archive(timeline, settings, earliest_clean_retained=earliest))


def run_archive(meta: MetaClient, settings: ArchiveSettings) -> ArchiveResult:
    """Archive the instants :func:`plan_archive` picks; what was archived and where.

    1. Finish an interrupted run: instants whose every state file is already recorded in the
       newest archive files are only deleted (looked for when something is due, or when the
       timeline shows a run died while deleting).
    2. Plan on the rest of the timeline; write one new archive file with an entry per state
       file not yet archived.
    3. Delete the archived instants' files (:func:`_delete_archived` order), then their
       markers and ``.aux`` copies.

    A crash after step 2 leaves the active timeline untouched (the table reads the same); the
    next run sees the entries of the instants still active and writes them no second time.
    """
    meta.require_writable("archival")
    if meta.layout.has_completion_times:
        raise UnsupportedTableError(
            "archival writes the table-version-6 archived timeline, not the LSM timeline of "
            f"version {meta.config.version}"
        )
    storage = meta.storage
    storage.invalidate()
    names = [f.name for f in storage.list_files(meta.layout.timeline_dir)]
    timeline = Timeline.from_file_names(meta.layout, names)
    state_files = [i for i in (meta.layout.parse_instant_file(n) for n in names) if i is not None]
    earliest = meta.earliest_clean_retained(timeline)
    groups = plan_archive(
        timeline, settings, earliest_clean_retained=earliest, state_files=state_files
    )
    by_group: dict[tuple[str, str], list[Instant]] = {}
    for i in state_files:
        by_group.setdefault(_group_key(i, timeline), []).append(i)
    if not groups and not _interrupted(by_group):
        return ArchiveResult(archived=(), archive_file=None)

    # 1. groups an interrupted run already wrote out completely
    files = archive_files(meta)
    leftover = _leftover_states(meta, files, set(state_files)) if files else set()
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
        earliest = meta.earliest_clean_retained(rest)
        groups = plan_archive(
            rest, settings, earliest_clean_retained=earliest, state_files=rest_states
        )

    if not groups and not recovered:
        return ArchiveResult(archived=(), archive_file=None)

    # 2. the archive file
    planned = [i for g in groups for i in g]
    entries = _entries_for(meta, planned, leftover)
    archive_file = _write_archive_file(meta, entries, files) if entries else None

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
    _cleanup_aux_and_markers(meta, archived, after)
    storage.invalidate()
    log.info(
        "archived %d instant files (%d entries written to %s)",
        len(archived),
        len(entries),
        archive_file,
    )
    return ArchiveResult(archived=tuple(archived), archive_file=archive_file)
