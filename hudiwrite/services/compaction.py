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
from typing import Any

import attrs

from hudiwrite.concurrency.heartbeat import Heartbeat, commit_lock
from hudiwrite.exceptions import CorruptTableError
from hudiwrite.formats.avro_ocf import write_single_record
from hudiwrite.formats.hudi_avro_schemas import schema_json
from hudiwrite.formats.parquet import BaseFileWriter, with_file_name
from hudiwrite.index.simple import remember_written_keys
from hudiwrite.model.filegroup import BaseFile, FileSlice, LogFile
from hudiwrite.model.naming import (
    AUX_DIR,
    WriteTokens,
    base_file_name,
    join_partition,
    parse_base_file_name,
    parse_log_file_name,
)
from hudiwrite.read.fsview import FileSystemView
from hudiwrite.read.merge import MergeSettings, read_slice
from hudiwrite.services.settings import CompactionResult, CompactionSettings
from hudiwrite.timeline.instant import Action, Instant, State
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.metadata import CommitMetadata, WriteStat
from hudiwrite.timeline.timeline import Timeline
from hudiwrite.write.markers import IOType, Markers

__all__ = ["plan_operations", "run_compaction", "should_compact"]

log = logging.getLogger("hudiwrite")

PLAN_VERSION = 2  # operations name files, not paths


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


def plan_operations(view: FileSystemView, pending: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """``HoodieCompactionOperation`` records: every file group whose latest slice has log
    files and is not already part of a pending compaction."""
    operations = []
    for partition in view.partitions:
        for group in view.file_groups(partition):
            if (partition, group.file_id) in pending:
                continue
            latest = group.latest_slice()
            if latest is None or not latest.log_files:
                continue
            log_size = float(latest.log_bytes)
            base_size = float(latest.base_file.size) if latest.base_file else 0.0
            mb = 1024.0 * 1024.0
            operations.append(
                {
                    "baseInstantTime": latest.base_instant,
                    "deltaFilePaths": [f.name for f in latest.log_files],
                    "dataFilePath": latest.base_file.name if latest.base_file else None,
                    "fileId": group.file_id,
                    "partitionPath": partition,
                    "metrics": {
                        "TOTAL_LOG_FILES": float(len(latest.log_files)),
                        "TOTAL_LOG_FILES_SIZE": log_size,
                        "TOTAL_IO_READ_MB": (log_size + base_size) / mb,
                        "TOTAL_IO_WRITE_MB": base_size / mb,
                        "TOTAL_IO_MB": (log_size + 2 * base_size) / mb,
                    },
                    "bootstrapFilePath": None,
                }
            )
    return operations


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
    plan = {
        "operations": operations,
        "extraMetadata": {},
        "version": PLAN_VERSION,
        "strategy": None,
        "preserveHoodieMetadata": False,
    }
    data = write_single_record(schema_json("HoodieCompactionPlan"), plan)
    instant_time, _ = meta.reserve_instant(Action.COMPACTION, data)
    # 0.14 also keeps the plan in .aux/, under the same name, where Java looks first
    # (protocol §8.1). Written whole or not at all: Java falls back to the timeline only
    # when the copy is missing, and a torn or empty copy would fail its readers.
    requested = meta.instant_path(Instant(instant_time, Action.COMPACTION, State.REQUESTED))
    meta.storage.replace_file(f"{AUX_DIR}/{posixpath.basename(requested)}", data)
    return instant_time


# -- execution -------------------------------------------------------------------------------


@attrs.frozen
class _Executed:
    stats: tuple[WriteStat, ...]
    records: int


def _slice_of(op: dict[str, Any], sizes: Mapping[str, int]) -> FileSlice:
    partition = op.get("partitionPath") or ""
    base = None
    if op.get("dataFilePath"):
        name = str(op["dataFilePath"]).rsplit("/", 1)[-1]
        parsed = parse_base_file_name(name)
        if parsed is None:
            raise CorruptTableError(f"compaction plan names a bad base file {name!r}")
        base = BaseFile(partition, parsed, sizes.get(name, 0))
    logs = []
    for path in op.get("deltaFilePaths") or []:
        name = str(path).rsplit("/", 1)[-1]
        parsed_log = parse_log_file_name(name)
        if parsed_log is None:
            raise CorruptTableError(f"compaction plan names a bad log file {name!r}")
        logs.append(LogFile(partition, parsed_log, name, sizes.get(name, 0)))
    logs.sort(key=lambda f: f.parsed.sort_key)
    return FileSlice(partition, op["fileId"], op["baseInstantTime"], base, tuple(logs))


def execute(
    meta: MetaClient, instant_time: str, settings: CompactionSettings
) -> tuple[_Executed, str]:
    """Run a pending compaction to completion; returns its stats and the commit's file."""
    storage = meta.storage
    timeline = meta.timeline()
    requested = Instant(instant_time, Action.COMPACTION, State.REQUESTED)
    plan = meta.compaction_plan(requested)
    operations = plan.get("operations") or []
    state = next((i.state for i in timeline.instants if i.time == instant_time), State.REQUESTED)
    markers = Markers(storage, instant_time)
    if state is State.INFLIGHT:
        _remove_partial_output(meta, instant_time, operations)
    else:
        meta.write_instant(Instant(instant_time, Action.COMPACTION, State.INFLIGHT), b"")
    schema = meta.table_schema(timeline)
    if schema is None:
        raise CorruptTableError(
            f"compaction {instant_time} cannot run: no completed commit records the table schema"
        )
    full = schema.arrow_with_meta
    merge = MergeSettings(meta.config.precombine_field, meta.config.merge_semantics)

    def committed(instant: str) -> bool:
        return instant < instant_time and timeline.is_completed(instant)

    tokens = WriteTokens()
    # File sizes for the slices, one listing per partition (not per file group).
    sizes = {
        partition: {f.name: f.size for f in storage.list_files(partition)}
        for partition in sorted({op.get("partitionPath") or "" for op in operations})
    }

    def run(op: dict[str, Any]) -> tuple[WriteStat, int]:
        partition = op.get("partitionPath") or ""
        file_slice = _slice_of(op, sizes[partition])
        rows = read_slice(storage, file_slice, full, merge, is_committed=committed)
        _, token = tokens.next()
        name = base_file_name(file_slice.file_id, token, instant_time)
        rel = join_partition(partition, name)
        io_type = IOType.MERGE if file_slice.base_file is not None else IOType.CREATE
        markers.create(partition, name, io_type)
        rows = with_file_name(rows, name)
        with storage.open_output(rel) as sink:
            writer = BaseFileWriter(
                sink, full, schema.avro_with_meta_json, compression=settings.compression
            )
            writer.write(rows)
            writer.close()
            size = writer.bytes_written()
        remember_written_keys(storage, rel, writer.record_keys())
        log_size = file_slice.log_bytes
        stat = WriteStat(
            file_id=file_slice.file_id,
            path=rel,
            partition_path=partition,
            prev_commit=file_slice.base_instant,
            num_writes=rows.num_rows,
            total_write_bytes=size,
            file_size=size,
            total_log_files_compacted=len(file_slice.log_files),
            total_log_size_compacted=log_size,
            runtime_stats={"totalScanTime": 0, "totalUpsertTime": 0, "totalCreateTime": 0},
        )
        return stat, rows.num_rows

    with ThreadPoolExecutor(max_workers=settings.max_workers) as pool:
        results = list(pool.map(run, operations))
    stats = tuple(s for s, _ in results)
    by_partition: dict[str, list[WriteStat]] = {}
    for s in stats:
        by_partition.setdefault(s.partition_path or "", []).append(s)
    metadata = CommitMetadata(
        partition_to_write_stats={p: tuple(v) for p, v in sorted(by_partition.items())},
        operation_type="COMPACT",
        extra_metadata={"schema": schema.avro_json},
        compacted=True,
    )
    completed = Instant(instant_time, Action.COMPACTION, State.COMPLETED)
    meta.write_instant(completed, metadata.to_json_bytes())
    markers.delete_all()
    return _Executed(stats, sum(n for _, n in results)), meta.instant_path(completed)


def _remove_partial_output(
    meta: MetaClient, instant_time: str, operations: Sequence[dict[str, Any]]
) -> None:
    """Delete base files a previous, interrupted run of this compaction left behind."""
    wanted = {(op.get("partitionPath") or "", op["fileId"]) for op in operations}
    for partition in sorted({p for p, _ in wanted}):
        for f in meta.storage.list_files(partition):
            parsed = parse_base_file_name(f.name)
            if parsed and parsed.instant == instant_time and (partition, parsed.file_id) in wanted:
                meta.storage.delete(f.path)
    Markers(meta.storage, instant_time).delete_all()


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
            # Another process may be running this plan: it keeps the instant's heartbeat
            # fresh, and running it twice would delete that process's files under it.
            claim = Heartbeat.claim(meta.storage, pending.time, settings.heartbeat_interval)
            if claim is None:
                log.info("compaction %s is being run by a live process; skipped", pending.time)
                continue
            with claim:
                if meta.timeline().is_completed(pending.time):
                    continue  # finished by the process we took over from
                done, _ = execute(meta, pending.time, settings)
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
