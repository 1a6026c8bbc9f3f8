"""Compaction: merge each file group's latest slice (base file plus logs) into a new base file.

Protocol §8.1. Scheduling writes the plan (an Avro ``HoodieCompactionPlan``) as
``Tc.compaction.requested`` (and the copy 0.14 keeps in ``.hoodie/.aux/``); execution marks
it inflight, writes one base file per planned file group named with ``Tc``, and completes as
``Tc.commit`` with ``compacted: true`` and ``operationType: COMPACT``. Records keep their
commit time and sequence number; only ``_hoodie_file_name`` names the new file.

Plans and executions are independent: a plan scheduled by one process can be executed by
another, and an execution that died midway is redone from the plan (its partial output
removed first). Writes that run while a plan is pending put their logs into the new slice
(see ``write/planner.py``), so no write is lost to a compaction.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import attrs
import pyarrow as pa

from hudiwrite.concurrency.heartbeat import Heartbeat, commit_lock
from hudiwrite.exceptions import CommitConflictError, CorruptTableError
from hudiwrite.formats.avro_schema import TableSchema
from hudiwrite.formats.parquet import BaseFileWriter, with_file_name
from hudiwrite.index.simple import remember_written_keys
from hudiwrite.model.filegroup import BaseFile, FileSlice, LogFile
from hudiwrite.model.naming import (
    WriteTokens,
    base_file_name,
    join_partition,
    parse_base_file_name,
    parse_log_file_name,
)
from hudiwrite.model.paths import aux_path
from hudiwrite.read.fsview import FileSystemView
from hudiwrite.read.merge import MergeSettings, read_slice
from hudiwrite.services.settings import CompactionResult, CompactionSettings
from hudiwrite.storage import Storage
from hudiwrite.timeline.instant import Action, Instant, State
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.metadata import CommitMetadata, WriteStat
from hudiwrite.timeline.service_metadata import CompactionOperation, CompactionPlan
from hudiwrite.timeline.timeline import Timeline
from hudiwrite.write.markers import IOType, Markers

__all__ = ["complete_compactions", "plan_operations", "run_compaction", "should_compact"]

log = logging.getLogger("hudiwrite")

_MB = 1024.0 * 1024.0


# -- planning (pure) -------------------------------------------------------------------------


def should_compact(
    timeline: Timeline,
    view: FileSystemView | Callable[[], FileSystemView],
    settings: CompactionSettings,
) -> bool:
    """Whether the inline trigger fires: enough delta commits since the last compaction, or a
    file group whose logs reached the size limit. ``view`` may be a function that lists the
    table: it is only called for the size trigger."""
    if settings.delta_commits is not None:
        last = max(
            (i.time for i in timeline.instants if i.action in (Action.COMMIT, Action.COMPACTION)),
            default="",
        )
        deltas = [
            i for i in timeline.completed if i.action == Action.DELTA_COMMIT and i.time > last
        ]
        if len(deltas) >= settings.delta_commits:
            return True
    if settings.log_bytes is not None:
        if callable(view):
            view = view()
        for partition in view.partitions:
            for group in view.file_groups(partition):
                latest = group.latest_slice()
                if latest and latest.log_bytes >= settings.log_bytes:
                    return True
    return False


def plan_operations(
    view: FileSystemView, pending: set[tuple[str, str]]
) -> list[CompactionOperation]:
    """Every file group whose latest slice has log files and is not already part of a
    pending compaction, as the operation that compacts that slice."""
    operations = []
    for partition in view.partitions:
        for group in view.file_groups(partition):
            if (partition, group.file_id) in pending:
                continue
            latest = group.latest_slice()
            if latest is None or not latest.log_files:
                continue
            operations.append(
                CompactionOperation(
                    file_id=group.file_id,
                    partition_path=partition,
                    base_instant_time=latest.base_instant,
                    data_file_path=latest.base_file.name if latest.base_file else None,
                    delta_file_paths=tuple(f.name for f in latest.log_files),
                    metrics=_metrics(latest),
                )
            )
    return operations


def _metrics(file_slice: FileSlice) -> dict[str, float]:
    """What Java's default strategy (CompactionStrategy.captureMetrics) estimates for a slice."""
    log_size = float(file_slice.log_bytes)
    base_size = float(file_slice.base_file.size) if file_slice.base_file else 0.0
    return {
        "TOTAL_LOG_FILES": float(len(file_slice.log_files)),
        "TOTAL_LOG_FILES_SIZE": log_size,
        "TOTAL_IO_READ_MB": (log_size + base_size) / _MB,
        "TOTAL_IO_WRITE_MB": base_size / _MB,
        "TOTAL_IO_MB": (log_size + 2 * base_size) / _MB,
    }


# -- scheduling ------------------------------------------------------------------------------


def schedule(meta: MetaClient, timeline: Timeline) -> str | None:
    """Write a compaction plan for the file groups with logs; its instant, or None.

    Like Java, nothing is scheduled while a write is in flight: a compaction instant must be
    greater than every completed instant and smaller than every write still running.
    """
    if timeline.pending_writes:
        return None
    pending = set(meta.pending_compaction_groups(timeline))
    view = FileSystemView.load(
        meta.storage, timeline, None, replaced=meta.replaced_file_groups(timeline)
    )
    operations = plan_operations(view, pending)
    if not operations:
        return None
    # A write that started after the listing above may have written a log file the view
    # listed (layout 1 names logs after their slice, so they look committed) and may still
    # fail and delete it: a plan naming that file could never run. A write reserves its
    # instant before it writes a file, so a second listing sees every such write.
    if meta.timeline().pending_writes:
        return None
    data = CompactionPlan(tuple(operations)).to_bytes()
    instant_time, _ = meta.reserve_instant(Action.COMPACTION, data)
    # 0.14 also keeps the plan in .aux/, under the same name, where Java looks first
    # (protocol §8.1). Written whole or not at all: Java falls back to the timeline only
    # when the copy is missing, and a torn or empty copy would fail its readers.
    if meta.layout.compaction_plan_aux_copy:
        requested = meta.instant_path(Instant(instant_time, Action.COMPACTION, State.REQUESTED))
        meta.storage.replace_file(aux_path(posixpath.basename(requested)), data)
    return instant_time


# -- execution -------------------------------------------------------------------------------


@attrs.frozen
class _Executed:
    stats: tuple[WriteStat, ...]
    records: int


def _slice_of(op: CompactionOperation, sizes: Mapping[str, int], where: str) -> FileSlice:
    """The file slice an operation of plan ``where`` compacts, with the sizes the partition
    listing found (0 for a file not there). CorruptTableError naming the plan if the
    operation names a file that is no Hudi data file."""
    partition = op.partition_path
    base = None
    name = op.data_file_name
    if name is not None:
        parsed = parse_base_file_name(name)
        if parsed is None:
            raise CorruptTableError(f"{where}: compaction plan names a bad base file {name!r}")
        base = BaseFile(partition, parsed, sizes.get(name, 0))
    logs = []
    for name in op.delta_file_names:
        parsed_log = parse_log_file_name(name)
        if parsed_log is None:
            raise CorruptTableError(f"{where}: compaction plan names a bad log file {name!r}")
        logs.append(LogFile(partition, parsed_log, name, sizes.get(name, 0)))
    logs.sort(key=lambda f: f.parsed.sort_key)
    return FileSlice(partition, op.file_id, op.base_instant_time, base, tuple(logs))


def execute(
    meta: MetaClient, instant_time: str, settings: CompactionSettings
) -> tuple[_Executed, str]:
    """Run a pending compaction to completion: mark it inflight (or, when an earlier run
    died, remove what that run wrote), rewrite every planned file group into a new base
    file, then complete the instant.

    Returns the new base files' stats with the number of records written, and the path of
    the completed (``.commit``) file. Raises CorruptTableError when the plan does not decode
    or names files that are no Hudi files, or when no completed commit records the table
    schema (after marking the instant inflight: the next run retries it).
    """
    timeline = meta.timeline()
    requested = Instant(instant_time, Action.COMPACTION, State.REQUESTED)
    plan = meta.compaction_plan(requested)
    _start(meta, timeline, instant_time, plan.operations)
    schema = _compaction_schema(meta, timeline, instant_time)
    compactor = _Compactor.for_plan(meta, timeline, requested, plan, schema, settings)
    with ThreadPoolExecutor(max_workers=settings.max_workers) as pool:
        results = list(pool.map(compactor.rewrite, plan.operations))
    stats = tuple(s for s, _ in results)
    completed = _complete(meta, instant_time, stats, schema)
    return _Executed(stats, sum(n for _, n in results)), completed


def _start(
    meta: MetaClient,
    timeline: Timeline,
    instant_time: str,
    operations: Sequence[CompactionOperation],
) -> None:
    """Mark the compaction inflight; if it is inflight already (a run died), delete the base
    files and markers that run left, so the file groups are rewritten from scratch."""
    state = next((i.state for i in timeline.instants if i.time == instant_time), State.REQUESTED)
    if state is State.INFLIGHT:
        _remove_partial_output(meta, instant_time, operations)
    else:
        meta.write_instant(Instant(instant_time, Action.COMPACTION, State.INFLIGHT), b"")


def _compaction_schema(meta: MetaClient, timeline: Timeline, instant_time: str) -> TableSchema:
    """The schema the new base files are written with: the latest completed write's.
    CorruptTableError when no completed commit records one."""
    schema = meta.table_schema(timeline)
    if schema is None:
        raise CorruptTableError(
            f"compaction {instant_time} cannot run: no completed commit records the table schema"
        )
    return schema


@attrs.frozen
class _Compactor:
    """Everything rewriting one planned file group needs. :meth:`rewrite` runs in worker
    threads, one call per operation."""

    storage: Storage
    instant_time: str
    #: the plan's file, for errors
    plan_path: str
    timeline: Timeline
    schema: TableSchema
    full_schema: pa.Schema
    merge: MergeSettings
    compression: str
    markers: Markers
    tokens: WriteTokens
    #: partition -> file name -> size, one listing per partition (not per file group)
    sizes: Mapping[str, Mapping[str, int]]

    @classmethod
    def for_plan(
        cls,
        meta: MetaClient,
        timeline: Timeline,
        requested: Instant,
        plan: CompactionPlan,
        schema: TableSchema,
        settings: CompactionSettings,
    ) -> _Compactor:
        storage = meta.storage
        partitions = sorted({op.partition_path for op in plan.operations})
        return cls(
            storage=storage,
            instant_time=requested.time,
            plan_path=meta.instant_path(requested),
            timeline=timeline,
            schema=schema,
            full_schema=schema.arrow_with_meta,
            merge=MergeSettings(meta.config.precombine_field, meta.config.merge_semantics),
            compression=settings.compression,
            markers=Markers(storage, requested.time),
            tokens=WriteTokens(),
            sizes={p: {f.name: f.size for f in storage.list_files(p)} for p in partitions},
        )

    def committed(self, instant: str) -> bool:
        """Whether the slice's blocks of ``instant`` are merged: completed before the plan."""
        return instant < self.instant_time and self.timeline.is_completed(instant)

    def rewrite(self, op: CompactionOperation) -> tuple[WriteStat, int]:
        """Merge one file slice into a new base file named with the compaction instant;
        returns its stat and the number of records written."""
        file_slice = _slice_of(op, self.sizes[op.partition_path], self.plan_path)
        rows = read_slice(
            self.storage, file_slice, self.full_schema, self.merge, is_committed=self.committed
        )
        _, token = self.tokens.next()
        name = base_file_name(file_slice.file_id, token, self.instant_time)
        io_type = IOType.MERGE if file_slice.base_file is not None else IOType.CREATE
        self.markers.create(file_slice.partition, name, io_type)
        rel = join_partition(file_slice.partition, name)
        size = self._write(rel, with_file_name(rows, name))
        return _stat(file_slice, rel, rows.num_rows, size), rows.num_rows

    def _write(self, rel: str, rows: pa.Table) -> int:
        """Write the base file at ``rel``; returns its size in bytes."""
        with self.storage.open_output(rel) as sink:
            writer = BaseFileWriter(
                sink,
                self.full_schema,
                self.schema.avro_with_meta_json,
                compression=self.compression,
            )
            writer.write(rows)
            writer.close()
            size = writer.bytes_written()
        remember_written_keys(self.storage, rel, writer.record_keys())
        return size


def _stat(file_slice: FileSlice, rel: str, records: int, size: int) -> WriteStat:
    """The write stat of the base file ``rel`` that compacted ``file_slice``."""
    return WriteStat(
        file_id=file_slice.file_id,
        path=rel,
        partition_path=file_slice.partition,
        prev_commit=file_slice.base_instant,
        num_writes=records,
        total_write_bytes=size,
        file_size=size,
        total_log_files_compacted=len(file_slice.log_files),
        total_log_size_compacted=file_slice.log_bytes,
        runtime_stats={"totalScanTime": 0, "totalUpsertTime": 0, "totalCreateTime": 0},
    )


def _complete(
    meta: MetaClient, instant_time: str, stats: Sequence[WriteStat], schema: TableSchema
) -> str:
    """Write the completed ``.commit`` (``compacted: true``, operation COMPACT, the stats per
    partition) and drop the markers; returns the commit file's path."""
    by_partition: dict[str, list[WriteStat]] = {}
    for s in stats:
        by_partition.setdefault(s.partition_path or "", []).append(s)
    metadata = CommitMetadata(
        partition_to_write_stats={p: tuple(v) for p, v in sorted(by_partition.items())},
        operation_type="COMPACT",
        extra_metadata={"schema": schema.avro_json},
        compacted=True,
    )
    content = meta.encode_commit_metadata(metadata, Action.COMMIT)
    completed = meta.complete_instant(instant_time, Action.COMPACTION, content)
    Markers(meta.storage, instant_time).delete_all()
    return meta.instant_path(completed)


def _remove_partial_output(
    meta: MetaClient, instant_time: str, operations: Sequence[CompactionOperation]
) -> None:
    """Delete base files a previous, interrupted run of this compaction left behind."""
    wanted = {(op.partition_path, op.file_id) for op in operations}
    for partition in sorted({p for p, _ in wanted}):
        for f in meta.storage.list_files(partition):
            parsed = parse_base_file_name(f.name)
            if parsed and parsed.instant == instant_time and (partition, parsed.file_id) in wanted:
                meta.storage.delete(f.path)
    Markers(meta.storage, instant_time).delete_all()


def _execute_claimed(
    meta: MetaClient, instant_time: str, settings: CompactionSettings
) -> tuple[Literal["ran", "busy", "done"], _Executed | None]:
    """Execute the pending compaction ``instant_time`` under its claim: ``"ran"`` with what
    it wrote; ``"busy"`` when a live process runs it (it keeps the instant's heartbeat
    fresh, and running the plan twice would delete that process's files under it);
    ``"done"`` when the process it took over from had finished it."""
    claim = Heartbeat.claim(meta.storage, instant_time, settings.heartbeat_interval)
    if claim is None:
        return "busy", None
    with claim:
        if meta.timeline().is_completed(instant_time):
            return "done", None
        done, _ = execute(meta, instant_time, settings)
    return "ran", done


def complete_compactions(
    meta: MetaClient, settings: CompactionSettings, instants: Sequence[str]
) -> None:
    """Execute the pending compactions ``instants`` now (a write that revives deleted keys
    in their file groups needs them done first). Raises ``CommitConflictError`` when
    another process is running one of them."""
    for instant_time in sorted(instants):
        if _execute_claimed(meta, instant_time, settings)[0] == "busy":
            raise CommitConflictError(
                f"compaction {instant_time} is being run by another process; this write "
                "revives deleted keys of its file groups and must wait for it: retry"
            )


def run_compaction(
    meta: MetaClient,
    settings: CompactionSettings,
    *,
    plan_only: bool = False,
    force: bool = True,
) -> CompactionResult:
    """Schedule a compaction (always when ``force``, else when the inline trigger fires) and,
    unless ``plan_only``, execute every pending compaction, oldest first."""
    timeline = meta.timeline()
    scheduled: list[str] = []
    trigger = force
    if not force:
        trigger = should_compact(
            timeline,
            lambda: FileSystemView.load(
                meta.storage, timeline, None, replaced=meta.replaced_file_groups(timeline)
            ),
            settings,
        )
    if trigger:
        # Under the commit lock: no write completes while the plan is made, so every write
        # either is in the plan's view or sees the plan at its conflict check.
        with commit_lock(meta.storage, settings.heartbeat_interval):
            planned = schedule(meta, meta.timeline())
        if planned is not None:
            scheduled.append(planned)
    executed: list[str] = []
    stats: list[WriteStat] = []
    records = 0
    if not plan_only:
        if scheduled:
            timeline = meta.timeline()
        for pending in timeline.pending_compactions:
            status, done = _execute_claimed(meta, pending.time, settings)
            if status == "busy":
                log.info("compaction %s is being run by a live process; skipped", pending.time)
            if done is None:
                continue
            executed.append(pending.time)
            stats.extend(done.stats)
            records += done.records
    return CompactionResult(
        scheduled=tuple(scheduled),
        executed=tuple(executed),
        file_groups=len(stats),
        records_written=records,
        files_written=tuple(s.path or "" for s in stats),
        bytes_written=sum(s.total_write_bytes for s in stats),
    )
