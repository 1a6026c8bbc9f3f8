"""One write from start to commit: requested, inflight, data files, completed.

The completed instant file is written last, atomically and only if absent: it is the single
switch that makes the write visible. Anything that fails before it undoes the write's files,
and a write that dies without undoing is invisible anyway (its instant never completed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from hudiwrite.concurrency.heartbeat import commit_lock
from hudiwrite.exceptions import CommitConflictError
from hudiwrite.index.simple import FILE_ID, lookup_keys
from hudiwrite.model.filegroup import FileSlice
from hudiwrite.read.fsview import FileSystemView
from hudiwrite.read.merge import MergeSettings, read_slice
from hudiwrite.storage import Storage
from hudiwrite.timeline.instant import Action, Instant, State
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.metadata import CommitMetadata, WriteStat
from hudiwrite.timeline.timeline import Timeline
from hudiwrite.write.context import WriteContext, WriteSettings
from hudiwrite.write.executor import Journal, WriteExecutor, stats_by_partition
from hudiwrite.write.markers import Markers
from hudiwrite.write.planner import Operation, WritePlan, dedupe, plan_write
from hudiwrite.write.result import WriteResult
from hudiwrite.write.source import PARTITION, RECORD_KEY, ArrowData, prepare_input

__all__ = ["run_write"]

log = logging.getLogger("hudiwrite")


def run_write(
    meta: MetaClient,
    ctx: WriteContext,
    operation: Operation,
    data: ArrowData,
    before_start: Callable[[], bool] | None = None,
    complete_compactions: Callable[[Sequence[str]], None] | None = None,
) -> WriteResult:
    """Write ``data`` as one delta commit.

    The instant is reserved (heartbeat and requested file) once the input is validated.
    ``before_start`` runs after the write is planned, before the inflight file: table
    changes a write needs (removing a metadata table, rolling back failed writes) happen
    only for writes that will go ahead. When it reports a change, the write is planned again
    against the changed table.

    A write that would revive deleted keys in file groups with a pending compaction first
    has ``complete_compactions`` run those compactions, then plans again: the revived
    records would otherwise go to a log of the slice the compaction starts, while the
    compacted base file drops the keys, and the index (which reads base files) would not
    find them again; their next write would insert them a second time.
    """
    storage = meta.storage
    prepared = prepare_input(data, ctx, keys_only=operation == Operation.DELETE)
    with prepared:
        survivors = dedupe(prepared.keys)
        partitions = sorted(pc.unique(survivors.column(PARTITION)).to_pylist())
        # The instant is reserved before anything is read: its heartbeat (taken exclusively,
        # so two processes never share an instant time) and then its requested file. From
        # here on other writers see a running write: cleaning keeps what it may read.
        instant_time, heartbeat = meta.reserve_instant(
            Action.DELTA_COMMIT,
            heartbeat_interval=ctx.settings.heartbeat_interval,
            keep_heartbeat=True,
        )
        assert heartbeat is not None
        txn = _Transaction(meta, instant_time)
        with heartbeat:
            try:
                while True:
                    timeline = meta.timeline()
                    plan, view, blocking = _plan(
                        meta,
                        ctx,
                        operation,
                        prepared.num_rows,
                        survivors,
                        partitions,
                        timeline,
                        instant_time,
                    )
                    if blocking:
                        if complete_compactions is None:
                            raise CommitConflictError(
                                f"this write revives deleted keys of file groups with "
                                f"pending compactions ({', '.join(blocking)}): run compact() "
                                "first, then retry"
                            )
                        complete_compactions(blocking)
                        complete_compactions = None  # once: the plan is made again below
                        continue
                    if before_start is None or not before_start():
                        break
                    before_start = None  # the table changed under the plan: plan once more
                existing = view.initialised  # partitions whose metadata file is there already
                txn.start(plan, timeline)
                executor = WriteExecutor(
                    storage,
                    ctx,
                    instant_time,
                    plan,
                    txn.markers,
                    txn.journal,
                    existing,
                    is_committed=timeline.is_completed,
                )
                stats = executor.run(prepared)
                txn.commit(stats, ctx, operation)
            except FileNotFoundError as exc:
                txn.abort()
                raise CommitConflictError(
                    f"a file this write ({instant_time}) read or wrote was removed meanwhile, "
                    f"by another writer's cleaning or rollback: {exc}"
                ) from exc
            except BaseException:
                txn.abort()
                raise
    return WriteResult.of(instant_time, plan, tuple(stats))


def _plan(
    meta: MetaClient,
    ctx: WriteContext,
    operation: Operation,
    total: int,
    survivors: pa.Table,
    partitions: list[str],
    timeline: Timeline,
    instant_time: str,
) -> tuple[WritePlan, FileSystemView, list[str]]:
    """Tag the surviving keys against the table and decide where every row goes; also the
    pending compactions that must complete before this write (see :func:`run_write`)."""
    storage = meta.storage
    view = FileSystemView.load(
        storage, timeline, partitions, replaced=meta.replaced_file_groups(timeline)
    )
    slices = [s for p in partitions for s in view.latest_slices(p)]
    settings = MergeSettings(ctx.ordering_field, ctx.merge_semantics)

    def log_keys(file_slice: FileSlice) -> pa.Array:
        rows = read_slice(
            storage,
            file_slice,
            ctx.schema.arrow_with_meta,
            settings,
            is_committed=timeline.is_completed,
        )
        return rows.column(RECORD_KEY).combine_chunks().cast(pa.string())

    tagged = lookup_keys(
        storage,
        slices,
        survivors.select([RECORD_KEY, PARTITION]),
        max_workers=ctx.settings.max_workers,
        log_keys=log_keys,
    )
    live = None
    if operation == Operation.INSERT and tagged.num_rows:
        live = _live_keys(meta, ctx, timeline, slices, tagged)
    pending = meta.pending_compaction_groups(timeline)
    blocking: list[str] = []
    if operation != Operation.DELETE and pending and tagged.num_rows:
        blocking = _revived_under_compaction(meta, ctx, timeline, slices, tagged, pending, live)
    plan = plan_write(
        operation,
        total,
        survivors,
        tagged,
        view.groups,
        layout=ctx.layout,
        instant_time=instant_time,
        insert_duplicates=ctx.settings.insert_duplicates,
        live_keys=live,
        pending_compactions=pending,
        small_file_limit=min(ctx.settings.small_file_limit, ctx.settings.target_file_size),
        # A merge writes a new base file named after this instant, which starts a slice
        # only if it is later than the group's latest one. A write with a later instant
        # time that completed before this one planned may have started that slice: a base
        # file of this (earlier) instant would then be an older slice, invisible to every
        # reader and cleaned later, its records lost. Such inserts go to a new group.
        merge_allowed=lambda s, n: (
            s.base_instant < instant_time
            and _merge_worth_it(storage, s, n, ctx.settings)
            and _tagged_keys_live(meta, ctx, timeline, s, tagged)
        ),
    )
    return plan, view, blocking


def _revived_under_compaction(
    meta: MetaClient,
    ctx: WriteContext,
    timeline: Timeline,
    slices: list[FileSlice],
    tagged: pa.Table,
    pending: Mapping[tuple[str, str], str],
    live: pa.Table | None,
) -> list[str]:
    """The pending compactions of file groups in which this write revives deleted keys:
    tagged keys (found in a base file) that the merged snapshot no longer holds. Only the
    groups under compaction are read."""
    groups_under = pa.table(
        {
            PARTITION: pa.array([p for p, _ in pending], tagged.schema.field(PARTITION).type),
            FILE_ID: pa.array([f for _, f in pending], tagged.schema.field(FILE_ID).type),
        }
    )
    candidates = tagged.join(
        groups_under, keys=[PARTITION, FILE_ID], join_type="left semi", use_threads=False
    )
    if candidates.num_rows == 0:
        return []
    if live is None:
        live = _live_keys(meta, ctx, timeline, slices, candidates)
    keys = [RECORD_KEY, PARTITION]
    revived = candidates.join(
        live.select(keys), keys=keys, join_type="left anti", use_threads=False
    )
    if revived.num_rows == 0:
        return []
    groups = revived.group_by([PARTITION, FILE_ID], use_threads=False).aggregate([])
    found = zip(groups[PARTITION].to_pylist(), groups[FILE_ID].to_pylist(), strict=True)
    return sorted({pending[(p, f)] for p, f in found})


def _tagged_keys_live(
    meta: MetaClient, ctx: WriteContext, timeline: Timeline, file_slice: FileSlice, tagged: pa.Table
) -> bool:
    """Whether every key this write found in ``file_slice``'s base file is live there.

    A merge rewrites the group without its deleted records, while the write's updates of
    the group go to a log of the new slice: an update reviving a deleted key would then be
    in no base file, where the index looks, and the key's next upsert would insert it again
    (the table would hold it twice). Such a write puts its inserts in a new group instead.
    """
    mine = pc.and_(
        pc.equal(tagged.column(FILE_ID), file_slice.file_id),
        pc.equal(tagged.column(PARTITION), file_slice.partition),
    )
    keys = tagged.filter(mine).column(RECORD_KEY)
    if len(keys) == 0:
        return True
    settings = MergeSettings(ctx.ordering_field, ctx.merge_semantics)
    rows = read_slice(
        meta.storage,
        file_slice,
        ctx.schema.arrow_with_meta,
        settings,
        is_committed=timeline.is_completed,
    )
    return bool(pc.all(pc.is_in(keys, value_set=rows.column(RECORD_KEY))).as_py())


def _live_keys(
    meta: MetaClient,
    ctx: WriteContext,
    timeline: Timeline,
    slices: list[FileSlice],
    tagged: pa.Table,
) -> pa.Table:
    """Which of the tagged keys are live in the snapshot (not deleted in a log)."""
    groups = tagged.group_by([PARTITION, FILE_ID], use_threads=False).aggregate([])
    wanted = set(zip(groups[PARTITION].to_pylist(), groups[FILE_ID].to_pylist(), strict=True))
    settings = MergeSettings(ctx.ordering_field, ctx.merge_semantics)
    schema = ctx.schema.arrow_with_meta
    pieces = []
    for file_slice in slices:
        if (file_slice.partition, file_slice.file_id) not in wanted:
            continue
        rows = read_slice(
            meta.storage, file_slice, schema, settings, is_committed=timeline.is_completed
        )
        pieces.append(rows.select([RECORD_KEY, PARTITION]))
    if not pieces:
        return tagged.select([RECORD_KEY, PARTITION]).slice(0, 0)
    return pa.concat_tables(pieces)


def _merge_worth_it(
    storage: Storage, file_slice: FileSlice, inserts: int, settings: WriteSettings
) -> bool:
    """Whether rewriting a small file group to add ``inserts`` records is worth it: always
    below ``small_file_floor`` bytes (cheap to rewrite, and merging into it keeps a table
    written in small batches from splitting into tiny groups), else only if it holds at most
    ``small_file_rewrite`` times as many records. This bounds the data a write rewrites per
    new record; past the bound, inserts go to a new file group, which the next writes fill."""
    if file_slice.base_file is None:
        return False
    if file_slice.total_bytes < settings.small_file_floor:
        return True
    pf = storage.parquet_file(file_slice.base_file.path, file_slice.base_file.size)
    return bool(pf.metadata.num_rows <= settings.small_file_rewrite * inserts)


class _Transaction:
    """The timeline side of one delta commit."""

    def __init__(self, meta: MetaClient, instant_time: str) -> None:
        self.meta = meta
        self.instant_time = instant_time
        self.started_with: Timeline | None = None
        self.markers = Markers(meta.storage, instant_time)
        self.journal = Journal()
        self.touched: set[str] = set()
        # The requested file was created when the instant was reserved.
        self._instant_files: list[Instant] = [self._instant(State.REQUESTED)]

    def _instant(self, state: State) -> Instant:
        return Instant(self.instant_time, Action.DELTA_COMMIT, state)

    def start(self, plan: WritePlan, timeline: Timeline) -> None:
        """Record the plan (the inflight file); ``timeline`` is what it was made from."""
        self.touched = plan.touched_file_ids
        self.started_with = timeline
        inflight = self._instant(State.INFLIGHT)
        profile = self.meta.encode_commit_metadata(plan.workload_profile(), Action.DELTA_COMMIT)
        self.meta.write_instant(inflight, profile)
        self._instant_files.append(inflight)

    def _check_conflicts(self) -> Timeline:
        """Refuse to commit over a concurrent change to the same file groups (optimistic
        concurrency, as Java's file-level conflict resolution does); returns the timeline
        it checked."""
        now = self.meta.timeline()
        if self._instant(State.INFLIGHT) not in now.instants:
            raise CommitConflictError(
                f"this write ({self.instant_time}) was rolled back by another writer while it "
                "ran (its heartbeat had expired); nothing of it was committed"
            )
        assert self.started_with is not None
        before = {(i.time, i.action, i.state) for i in self.started_with.instants}
        for instant in now.instants:
            if (instant.time, instant.action, instant.state) in before:
                continue
            if instant.time == self.instant_time:
                continue
            if instant.is_completed and instant.action in Action.WRITES:
                md = self.meta.commit_metadata(instant)
                other = {s.file_id for s in md.all_stats()}
            elif instant.action == Action.COMPACTION:
                other = self.touched  # a compaction planned meanwhile may cover our groups
            else:
                continue
            clash = self.touched & other
            if clash:
                raise CommitConflictError(
                    f"instant {instant} changed file group(s) {sorted(clash)[:3]} while "
                    f"this write ({self.instant_time}) was in progress"
                )
        return now

    def commit(self, stats: list[WriteStat], ctx: WriteContext, operation: Operation) -> None:
        metadata = CommitMetadata(
            partition_to_write_stats=stats_by_partition(stats),
            operation_type=operation,
            extra_metadata={"schema": ctx.schema.avro_json},
        )
        # Conflict check and commit under the commit lock, which compaction scheduling
        # holds too: a plan never appears between a write's check and its completion.
        content = self.meta.encode_commit_metadata(metadata, Action.DELTA_COMMIT)
        with commit_lock(self.meta.storage, ctx.settings.heartbeat_interval):
            now = self._check_conflicts()
            # The completion time (layout 2) is taken under the lock, after every instant
            # the check saw: a compaction scheduled later has a later time, so its plan
            # never misses a log of this commit.
            self.meta.complete_instant(self.instant_time, Action.DELTA_COMMIT, content, now)
        # From here on the write is visible; cleaning up markers is best effort.
        try:
            self.markers.delete_all()
        except OSError as exc:  # pragma: no cover - depends on the store
            log.warning("could not remove markers of %s: %s", self.instant_time, exc)

    def abort(self) -> None:
        """Remove every file this write created, newest first, then its instant files."""
        storage = self.meta.storage
        for rel in reversed(self.journal.data_files):
            storage.delete(rel)
        for rel in self.journal.partition_metafiles:
            storage.delete(rel)
            parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
            while parent:
                storage.remove_empty_dir(parent)
                parent = parent.rsplit("/", 1)[0] if "/" in parent else ""
        self.markers.delete_all()
        for instant in reversed(self._instant_files):
            storage.delete(self.meta.instant_path(instant))
