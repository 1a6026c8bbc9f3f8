"""Cleaning: delete the files of old file slices that no retained instant reads (protocol §8.2).

Without it a table that is written forever grows without bound: every compaction leaves the
previous slice of each file group on disk. Hudi 0.14/0.15 clean in three steps, and so does
this module:

1. plan (``CleanPlanner``/``CleanPlanActionExecutor``): pick the files of slices the policy no
   longer needs and record them as ``T.clean.requested`` (Avro ``HoodieCleanerPlan``, full file
   paths). A plan that deletes nothing is not written at all;
2. ``T.clean.inflight`` holding the same plan (0.x passes the plan on that transition; only
   Hudi 1.1 stopped doing so, HUDI-9330);
3. delete the files, then ``T.clean`` (Avro ``HoodieCleanMetadata``: per partition the file
   names tried, deleted and not found).

A clean that dies midway is finished from its plan by the next run, before anything new is
planned (``CleanActionExecutor.execute``); deleting is idempotent, a file already gone is
recorded as a failed delete, as Java records it.

:func:`plan_clean` is pure: callers hand it the timeline, a file-system view and what the
timeline's plans say (pending compactions, replaced file groups, savepointed files).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Collection, Mapping
from typing import Final

import attrs

from hudiwrite.exceptions import CorruptTableError, InvalidOptionError
from hudiwrite.model.filegroup import FileGroup, FileSlice
from hudiwrite.read.fsview import FileSystemView
from hudiwrite.services.settings import CleanResult, CleanSettings
from hudiwrite.storage import Storage
from hudiwrite.timeline.instant import Action, Instant, State
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.service_metadata import (
    ActionInstant,
    CleanerPlan,
    CleanMetadata,
    CleanPartitionMetadata,
    SavepointMetadata,
)
from hudiwrite.timeline.timeline import Timeline

__all__ = [
    "CleanPlan",
    "earliest_commit_to_retain",
    "java_policy",
    "plan_clean",
    "run_clean",
    "savepointed_files",
]

KEEP_LATEST_COMMITS: Final = "KEEP_LATEST_COMMITS"
KEEP_LATEST_FILE_VERSIONS: Final = "KEEP_LATEST_FILE_VERSIONS"


def java_policy(policy: str) -> str:
    """The ``HoodieCleaningPolicy`` enum name of a :class:`CleanSettings` policy."""
    name = policy.strip().upper()
    if name not in (KEEP_LATEST_COMMITS, KEEP_LATEST_FILE_VERSIONS):
        raise InvalidOptionError(
            f"cleaning policy {policy!r} is not supported "
            "(use 'keep_latest_commits' or 'keep_latest_file_versions')"
        )
    return name


@attrs.frozen
class CleanPlan:
    """What one clean deletes, as the planner decides it (the record a clean instant holds
    is :class:`CleanerPlan`, made by :func:`cleaner_plan`).

    ``files`` maps each partition with something to delete to the paths (relative to the
    base path) of the files to delete, in the order Java lists them: per file group the
    newest doomed slice first, its base file before its log files.
    """

    policy: str
    earliest_retained: Instant | None
    #: The last completed commit when the plan was made ("" if none, Java's default).
    last_completed_commit: str
    files: Mapping[str, tuple[str, ...]]

    @property
    def all_files(self) -> tuple[str, ...]:
        return tuple(f for p in sorted(self.files) for f in self.files[p])


# -- planning (pure) -----------------------------------------------------------------------


def earliest_commit_to_retain(timeline: Timeline, retained: int) -> Instant | None:
    """The oldest commit KEEP_LATEST_COMMITS(``retained``) keeps readable, or None.

    CleanerUtils.getEarliestCommitToRetain (0.14/0.15): on the commits-and-compaction
    timeline, the ``retained``-th latest completed instant, but only when more than
    ``retained`` completed; and never later than the earliest pending commit, deltacommit or
    compaction (a pending write may still read older slices), in which case the last
    completed instant before it (None if there is none).
    """
    if retained < 1:
        raise InvalidOptionError("the cleaner must retain at least one commit")
    instants = [i for i in timeline.instants if i.action in Action.COMMITS_AND_COMPACTION]
    completed = [i for i in instants if i.is_completed]
    if len(completed) <= retained:
        return None
    nth = completed[len(completed) - retained]
    pending = next((i for i in instants if not i.is_completed), None)
    if pending is None or nth.time <= pending.time:
        return nth
    before = [i for i in completed if i.time < pending.time]
    return before[-1] if before else None


def clean_due(meta: MetaClient, timeline: Timeline, settings: CleanSettings) -> bool:
    """Whether a clean may have anything to do: an interrupted clean to finish, or (keep
    latest commits) an earliest retained commit past the last clean's. A cheap check so
    that commits with nothing to clean do not take the table-services lock."""
    if any(i.action == Action.CLEAN for i in timeline.pending):
        return True
    if java_policy(settings.policy) != KEEP_LATEST_COMMITS:
        return True
    earliest = earliest_commit_to_retain(timeline, settings.retained)
    if earliest is None:
        return False
    last = meta.earliest_clean_retained(timeline)
    return last is None or earliest.time > last


def partitions_to_clean(meta: MetaClient, timeline: Timeline, policy: str) -> list[str] | None:
    """The partitions a KEEP_LATEST_COMMITS clean has to look at, or None for all of them.

    Java's incremental cleaning (``hoodie.cleaner.incremental.mode``, on by default): a
    slice becomes cleanable only once the commit that superseded it falls behind the
    earliest retained commit. Superseding commits older than the last clean's earliest
    retained commit were seen by that clean (no write pending then is older than it), so
    only partitions written by completed commits from there on can hold new garbage. Their
    partitions come from the commits' metadata, not from listing the whole table.
    """
    if policy != KEEP_LATEST_COMMITS:
        return None
    since = meta.earliest_clean_retained(timeline)
    start = timeline.start_time()
    if since is None or start is None or since < start:
        return None  # no earlier clean to continue from, or its window is archived
    partitions: set[str] = set()
    for instant in timeline.completed:
        if instant.action in Action.WRITES and instant.time >= since:  # compactions: commit
            try:
                metadata = meta.commit_metadata(instant)
            except (CorruptTableError, ValueError):
                return None  # unreadable metadata: list everything rather than guess
            partitions.update(metadata.partition_to_write_stats)
            partitions.update(metadata.partition_to_replace_file_ids or {})
    return sorted(partitions)


def _last_completed_commit(timeline: Timeline) -> str:
    """CleanPlanner.getLastCompletedCommitTimestamp: "" when there is no completed commit."""
    times = [i.time for i in timeline.completed if i.action in Action.WRITES]
    return max(times, default="")


def _slice_files(s: FileSlice) -> list[str]:
    """CleanPlanner.getCleanFileInfoForSlice: the base file, then the log files."""
    out = [s.base_file.path] if s.base_file is not None else []
    out.extend(f.path for f in s.log_files)
    return out


def _is_savepointed(s: FileSlice, savepointed: Collection[str]) -> bool:
    """CleanPlanner.isFileSliceExistInSavepointedFiles: a savepoint names its base or a log."""
    if not savepointed:
        return False
    if s.base_file is not None and s.base_file.name in savepointed:
        return True
    return any(f.name in savepointed for f in s.log_files)


def _newest_first(group: FileGroup) -> list[FileSlice]:
    # HoodieFileGroup.getAllFileSlices lists slices from the newest base instant down.
    return sorted(group.slices, key=lambda s: s.base_instant, reverse=True)


def _keep_latest_commits(
    group: FileGroup, earliest: str, pending_base: str | None, savepointed: Collection[str]
) -> list[str]:
    """CleanPlanner.getFilesToCleanKeepingLatestCommits for one (not replaced) file group."""
    slices = _newest_first(group)
    if not slices:
        return []
    latest = slices[0].base_instant
    # getLatestVersionBeforeCommit: the slice a read as of `earliest` uses.
    before = next((s.base_instant for s in slices if s.base_instant < earliest), None)
    out: list[str] = []
    for s in slices:
        if _is_savepointed(s, savepointed) or s.base_instant in (latest, before):
            continue
        needed = pending_base is not None and s.base_instant >= pending_base
        if not needed and s.base_instant < earliest:
            out.extend(_slice_files(s))
    return out


def _keep_latest_versions(
    group: FileGroup, versions: int, pending_base: str | None, savepointed: Collection[str]
) -> list[str]:
    """CleanPlanner.getFilesToCleanKeepingLatestVersions for one (not replaced) file group."""
    # Slices a pending compaction reads or writes are never candidates; the compaction's
    # own slice counts as one of the versions kept.
    candidates = [
        s for s in _newest_first(group) if pending_base is None or s.base_instant < pending_base
    ]
    keep = versions - 1 if pending_base is not None else versions
    out: list[str] = []
    for s in candidates[max(keep, 0) :]:
        if not _is_savepointed(s, savepointed):
            out.extend(_slice_files(s))
    return out


def plan_clean(
    timeline: Timeline,
    view: FileSystemView,
    settings: CleanSettings,
    *,
    pending_compaction_groups: Mapping[tuple[str, str], str],
    replaced_groups: Mapping[tuple[str, str], str] | None = None,
    savepointed: Collection[str] = frozenset(),
) -> CleanPlan | None:
    """The files a clean under ``settings`` deletes, or None when there is nothing to delete.

    ``view`` holds every visible file group, replaced ones included (load it without the
    replace filter, else replaced groups are simply not cleaned).
    ``pending_compaction_groups`` maps (partition, file id) to the *base instant of the slice*
    a pending (log) compaction plans to compact: that slice and newer ones are kept.
    ``replaced_groups`` maps (partition, file id) to the replacecommit that replaced the
    group; all its slices go once that instant is older than the earliest commit to retain
    (always, under KEEP_LATEST_FILE_VERSIONS), as CleanPlanner.getReplacedFilesEligibleToClean.
    ``savepointed`` holds file names a completed savepoint references: never deleted.
    """
    policy = java_policy(settings.policy)
    if settings.retained < 1:
        raise InvalidOptionError("the cleaner must retain at least one commit or version")
    replaced = replaced_groups or {}
    earliest: Instant | None = None
    if policy == KEEP_LATEST_COMMITS:
        earliest = earliest_commit_to_retain(timeline, settings.retained)
        if earliest is None:
            # getPartitionPathsForCleanByCommits: no earliest commit, no partition to scan.
            return None
    files: dict[str, tuple[str, ...]] = {}
    for partition in view.partitions:
        doomed: list[str] = []
        groups = view.file_groups(partition)
        # Replaced file groups first, as getFilesToClean* add them first.
        for group in groups:
            replaced_at = replaced.get((partition, group.file_id))
            if replaced_at is None:
                continue
            if earliest is None or replaced_at < earliest.time:
                for s in _newest_first(group):
                    if not _is_savepointed(s, savepointed):
                        doomed.extend(_slice_files(s))
        for group in groups:
            if (partition, group.file_id) in replaced:
                continue
            pending_base = pending_compaction_groups.get((partition, group.file_id))
            if earliest is not None:
                doomed += _keep_latest_commits(group, earliest.time, pending_base, savepointed)
            else:
                doomed += _keep_latest_versions(group, settings.retained, pending_base, savepointed)
        if doomed:
            # Since 0.15 (HUDI-7703) partitions with nothing to delete stay out of the plan.
            files[partition] = tuple(dict.fromkeys(doomed))
    if not files:
        return None
    return CleanPlan(policy, earliest, _last_completed_commit(timeline), files)


# -- what the timeline says (I/O) ----------------------------------------------------------


def savepointed_files(meta: MetaClient, timeline: Timeline) -> frozenset[str]:
    """File names referenced by completed savepoints (CleanPlanner.getSavepointedDataFiles)."""
    names: set[str] = set()
    for instant in timeline.completed:
        if instant.action != Action.SAVEPOINT:
            continue
        metadata = SavepointMetadata.from_bytes_or_none(
            meta.read_instant(instant), meta.instant_path(instant)
        )
        if metadata is None:
            continue
        for files in metadata.data_files.values():
            names.update(files)
    return frozenset(names)


# -- Avro forms ------------------------------------------------------------------------------


def plan_table_clean(
    meta: MetaClient, timeline: Timeline, settings: CleanSettings, partitions: list[str] | None
) -> CleanPlan | None:
    """:func:`plan_clean` over the table's storage: ``partitions`` listed (None: all), with
    its pending compactions, replaced file groups and savepoints."""
    # Replaced groups are included: the view is built without them.
    view = FileSystemView.load(meta.storage, timeline, partitions)
    return plan_clean(
        timeline,
        view,
        settings,
        pending_compaction_groups={
            k: base
            for k, (_, base) in meta.pending_compaction_operations(
                timeline, include_log_compaction=True
            ).items()
        },
        replaced_groups=meta.replaced_file_groups(timeline),
        savepointed=savepointed_files(meta, timeline),
    )


def cleaner_plan(plan: CleanPlan, storage: Storage) -> CleanerPlan:
    """The plan Java's CleanPlanActionExecutor.requestClean writes for ``plan``: paths in
    full, as Hadoop's listing qualifies them (file:/..., s3a://...)."""
    earliest = plan.earliest_retained
    return CleanerPlan(
        policy=plan.policy,
        earliest_instant_to_retain=None if earliest is None else ActionInstant.of(earliest),
        last_completed_commit=plan.last_completed_commit,
        file_paths={
            partition: tuple(storage.qualified(f) for f in files)
            for partition, files in sorted(plan.files.items())
        },
        # 0.15 prepareExtraMetadata: an empty map when no savepoint exists.
        extra_metadata={},
    )


# -- execution -------------------------------------------------------------------------------


@attrs.frozen
class _Done:
    instant_time: str
    earliest: str | None
    deleted: tuple[str, ...]


def _delete(storage: Storage, rel: str) -> bool:
    """CleanActionExecutor.deleteFileAndGetResult: True if deleted, False if already gone;
    a delete that fails raises (``OSError``)."""
    return storage.delete_if_present(rel)


def _execute(
    meta: MetaClient, instant: Instant, plan_bytes: bytes, where: str, policy: str
) -> _Done:
    """Run the clean plan ``plan_bytes`` (read from file ``where``) of a requested or
    inflight clean ``instant`` to completed (CleanActionExecutor.runClean).

    Raises CorruptTableError naming the file when the plan does not decode or names a path
    outside the table; OSError when a delete fails."""
    started = time.monotonic()
    plan = CleanerPlan.from_bytes(plan_bytes, where)
    if instant.state is State.REQUESTED:
        inflight = plan_bytes if meta.layout.plan_in_clean_inflight else b""
        meta.write_instant(instant.with_state(State.INFLIGHT), inflight)
    partitions, deleted = _delete_planned(meta.storage, plan, where, policy)
    earliest = plan.earliest_instant_to_retain
    earliest_time = earliest.timestamp if earliest is not None else None
    # CleanerUtils.convertCleanMetadata; HoodieCleanStat records a missing instant as "".
    metadata = CleanMetadata(
        start_clean_time=instant.time,
        time_taken_ms=int((time.monotonic() - started) * 1000),
        total_files_deleted=len(deleted),
        earliest_commit_to_retain=earliest_time or "",
        last_completed_commit=plan.last_completed_commit,
        partition_metadata=partitions,
        extra_metadata=plan.extra_metadata,
    )
    # FileExistsError: another process finished this clean first (checkIfOtherWriterCommitted).
    with contextlib.suppress(FileExistsError):
        meta.complete_instant(instant.time, Action.CLEAN, metadata.to_bytes())
    return _Done(instant.time, earliest_time, tuple(deleted))


def _delete_planned(
    storage: Storage, plan: CleanerPlan, where: str, policy: str
) -> tuple[dict[str, CleanPartitionMetadata], list[str]]:
    """Delete the plan's files; returns per partition what was tried, deleted and found gone,
    and the paths (relative to the base path) deleted."""
    partitions: dict[str, CleanPartitionMetadata] = {}
    deleted: list[str] = []
    for partition, paths in plan.paths_by_partition(storage.qualified).items():
        patterns: list[str] = []
        success: list[str] = []
        failed: list[str] = []
        for path in paths:
            try:
                rel = storage.relative(path)
            except ValueError as exc:
                raise CorruptTableError(f"{where}: cleaner plan: {exc}") from exc
            name = rel.rsplit("/", 1)[-1]
            patterns.append(name)
            if _delete(storage, rel):
                success.append(name)
                deleted.append(rel)
            else:
                failed.append(name)  # gone already: a retried clean (Java records it so)
        partitions[partition] = CleanPartitionMetadata(
            partition_path=partition,
            policy=policy,
            delete_path_patterns=tuple(patterns),
            success_delete_files=tuple(success),
            failed_delete_files=tuple(failed),
        )
    return partitions, deleted


def _finish_pending(meta: MetaClient, instant: Instant, policy: str) -> _Done | None:
    """Finish an interrupted clean from its plan; drop it if it holds no plan at all."""
    requested = Instant(instant.time, Action.CLEAN, State.REQUESTED)
    source, data = requested, b""
    if instant.state is State.INFLIGHT:
        # 0.x reads the plan from the inflight file (readCleanerInfoAsBytes), which holds it.
        source, data = instant, _read_or_empty(meta, instant)
    if not data:
        source, data = requested, _read_or_empty(meta, requested)
    if not data:
        # CleanActionExecutor.execute deletes empty pending clean instants.
        meta.storage.delete(meta.instant_path(instant.with_state(State.INFLIGHT)))
        meta.storage.delete(meta.instant_path(requested))
        return None
    return _execute(meta, instant, data, meta.instant_path(source), policy)


def _read_or_empty(meta: MetaClient, instant: Instant) -> bytes:
    try:
        return meta.read_instant(instant)
    except FileNotFoundError:
        return b""


def run_clean(meta: MetaClient, settings: CleanSettings) -> CleanResult:
    """Finish interrupted cleans, then plan and run a new one if anything can go.

    Returns the last clean completed by this call (``instant_time`` None if none) and every
    file it deleted, as paths relative to the base path.
    """
    meta.require_writable("cleaning")
    policy = java_policy(settings.policy)
    done: list[_Done] = []
    timeline = meta.timeline()
    for pending in [i for i in timeline.pending if i.action == Action.CLEAN]:
        finished = _finish_pending(meta, pending, policy)
        if finished is not None:
            done.append(finished)
    if any(i.action == Action.CLEAN for i in timeline.pending):
        timeline = meta.timeline()

    plan = plan_table_clean(meta, timeline, settings, partitions_to_clean(meta, timeline, policy))
    if plan is not None:
        data = cleaner_plan(plan, meta.storage).to_bytes()
        instant_time, _ = meta.reserve_instant(Action.CLEAN, data)
        requested = Instant(instant_time, Action.CLEAN, State.REQUESTED)
        done.append(_execute(meta, requested, data, meta.instant_path(requested), policy))

    deleted = tuple(f for d in done for f in d.deleted)
    if not done:
        earliest = None
        if policy == KEEP_LATEST_COMMITS:
            found = earliest_commit_to_retain(timeline, settings.retained)
            earliest = found.time if found else None
        return CleanResult(None, settings.policy, earliest, ())
    last = done[-1]
    return CleanResult(last.instant_time, settings.policy, last.earliest, deleted)
