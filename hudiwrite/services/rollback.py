"""Rollback of writes that never completed (protocol §8.3).

A write that crashed before its commit file is invisible to readers, but its files stay.
Rolling it back, as Hudi 0.14/0.15 does:

1. plan: ``R.rollback.requested`` (Avro ``HoodieRollbackPlan``) lists the base files the
   failed instant F created (deleted) and the log files it wrote into existing file slices
   (neutralised by a rollback command block), found from F's markers or, without markers,
   by listing. On table version 8+ every log file F wrote is named after F and deleted
   like its base files, one request per file (Java's ``RollbackHelper``); no command block
   is written;
2. ``R.rollback.inflight``;
3. execute: delete the files, append one new log file with a ROLLBACK command block
   (TARGET = F) to each slice F wrote logs into;
4. ``R.rollback`` (Avro ``HoodieRollbackMetadata``);
5. delete F's timeline files and markers.

Every step leaves the table readable: F never completes, so readers ignore its files
throughout. A rollback that is itself interrupted is finished from its plan by the next one.
"""

from __future__ import annotations

import logging
import posixpath
import time
from collections.abc import Iterable

import attrs

from hudiwrite.concurrency.heartbeat import ROLLBACK_LOCK, Heartbeat, is_alive
from hudiwrite.exceptions import CorruptTableError
from hudiwrite.formats.logblock.command import rollback_command_block
from hudiwrite.formats.logblock.frame import BlockType, HeaderKey, encode_block
from hudiwrite.formats.logfile import LogFileBlock, iter_blocks
from hudiwrite.model.naming import (
    PARTITION_METAFILE,
    join_partition,
    log_file_name,
    parse_base_file_name,
    parse_log_file_name,
    partition_metadata_commit,
)
from hudiwrite.model.paths import heartbeat_path
from hudiwrite.read.fsview import list_all_partitions
from hudiwrite.storage import Storage
from hudiwrite.timeline.instant import Action, Instant, State
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.service_metadata import (
    InstantInfo,
    RollbackMetadata,
    RollbackPartitionMetadata,
    RollbackPlan,
    RollbackRequest,
)
from hudiwrite.write.markers import IOType, Markers

__all__ = ["rollback_failed_writes", "rollback_instant"]

log = logging.getLogger(__name__)

#: The write token Java's rollback uses for the command-block log files it writes [V].
ROLLBACK_TOKEN = "1-0-1"


def rollback_failed_writes(
    meta: MetaClient, heartbeat_interval: float = 60.0
) -> tuple[Instant, ...]:
    """Finish interrupted rollbacks, then roll back every write that never completed and
    whose writer is dead (see ``concurrency/heartbeat.py``); live writes are left alone.

    Only one process rolls back at a time (the ``rollback`` lock): two would both resume a
    rollback in progress, or roll back the same failed write twice. A process that finds
    the lock taken leaves the work to its holder.
    """
    timeline = meta.timeline()
    work = any(i.action == Action.ROLLBACK for i in timeline.pending) or any(
        not is_alive(meta.storage, i.time, heartbeat_interval) for i in timeline.pending_writes
    )
    if not work:
        return ()
    lock = Heartbeat.lock(meta.storage, ROLLBACK_LOCK, heartbeat_interval)
    if lock is None:
        log.info("another process is rolling back failed writes; left to it")
        return ()
    with lock:
        return _rollback_failed_writes(meta, heartbeat_interval)


def _rollback_failed_writes(meta: MetaClient, heartbeat_interval: float) -> tuple[Instant, ...]:
    timeline = meta.timeline()
    done: list[Instant] = []
    for pending in [i for i in timeline.pending if i.action == Action.ROLLBACK]:
        plan = _read_plan(meta, pending.time)
        _execute(meta, pending.time, plan, resume=True)
        done.append(_failed_instant(plan))
    if done:
        timeline = meta.timeline()
    for failed in timeline.pending_writes:
        if is_alive(meta.storage, failed.time, heartbeat_interval):
            log.info("leaving %s alone: its writer is alive", failed)
            continue
        # A writer removes its heartbeat only after writing its completed file: a write
        # that finished since the listing above is seen completed now.
        if meta.completed_instant(failed.time, failed.action) is not None:
            continue
        # A write refused at commit (a conflict) removes its instant files, then its
        # heartbeat: one whose pending file is gone since the listing was undone by its own
        # writer, and has nothing left to roll back.
        if not meta.storage.exists(meta.instant_path(failed)):
            continue
        rollback_instant(meta, failed)
        done.append(failed)
    return tuple(done)


def rollback_instant(meta: MetaClient, failed: Instant) -> str:
    """Roll back one failed write; returns the rollback instant."""
    plan = _plan(meta, failed)
    instant_time, _ = meta.reserve_instant(Action.ROLLBACK, plan.to_bytes())
    _execute(meta, instant_time, plan, resume=False)
    return instant_time


# -- planning ------------------------------------------------------------------------------


def _display(storage: Storage, rel: str, scheme: bool) -> str:
    """A path as Java records it: base files as plain paths, log files with their scheme."""
    qualified = storage.qualified(rel)
    if not scheme and qualified.startswith("file:"):
        return storage.full_path(rel)
    return qualified


def _written_by(storage: Storage, rel: str, instant: str) -> bool:
    """Whether a log file holds a block of ``instant`` (for rollbacks without markers)."""
    try:
        data = storage.read_bytes(rel)
    except FileNotFoundError:
        return False
    return any(
        isinstance(e, LogFileBlock) and e.block.instant_time == instant for e in iter_blocks(data)
    )


def _candidates(meta: MetaClient, failed: Instant) -> Iterable[tuple[str, str]]:
    """(partition, file name) of the data files the failed write may have created."""
    storage = meta.storage
    marked = Markers(storage, failed.time).data_files()
    if marked:
        yield from marked
        return
    # No markers (deleted, or never written): list the partitions and look for the instant.
    for partition, files in list_all_partitions(storage).items():
        for f in files:
            base = parse_base_file_name(f.name)
            if base is not None and base.instant == failed.time:
                yield partition, f.name
                continue
            log = parse_log_file_name(f.name)
            if log is not None and (
                log.base_instant == failed.time or _written_by(storage, f.path, failed.time)
            ):
                yield partition, f.name


def _plan(meta: MetaClient, failed: Instant) -> RollbackPlan:
    """What rolling back ``failed`` takes: per partition the files it created (deleted), and
    per file slice it appended to the log files it wrote (neutralised), in Java's order."""
    storage = meta.storage
    deletes: dict[str, list[str]] = {}
    appends: dict[tuple[str, str, str], dict[str, int]] = {}
    candidates = sorted(set(_candidates(meta, failed)))
    # What is on storage, one listing per partition (not a request per candidate file).
    sizes = {
        partition: {f.name: f.size for f in storage.list_files(partition)}
        for partition in {p for p, _ in candidates}
    }
    for partition, name in candidates:
        rel = join_partition(partition, name)
        log = parse_log_file_name(name)
        exists = name in sizes[partition]
        if log is not None and log.base_instant != failed.time and not exists:
            # A marker whose log was never written: nothing to neutralise, but the
            # partition stays in the plan (the failed write may have created it).
            deletes.setdefault(partition, [])
            continue
        if log is None or log.base_instant == failed.time:
            # Base files, and logs of file groups the failed write created: delete.
            deletes.setdefault(partition, []).append(_display(storage, rel, scheme=False))
            continue
        key = (partition, log.file_id, log.base_instant)
        appends.setdefault(key, {})[_display(storage, rel, scheme=True)] = sizes[partition][name]
    if meta.layout.log_named_by_slice:
        # 0.x (ListingBasedRollbackStrategy / MarkerBasedRollbackStrategy with RollbackHelperV1):
        # one request per partition with its files
        requests = [
            RollbackRequest(partition, files_to_be_deleted=tuple(files))
            for partition, files in sorted(deletes.items())
        ]
    else:
        # Table version 8+ (RollbackHelper): one request per file, naming its file group,
        # the failed instant as the base instant, the file's absolute path.
        requests = [
            RollbackRequest(partition, _file_id(posixpath.basename(path)), failed.time, (path,))
            for partition, paths in sorted(deletes.items())
            for path in paths
        ]
    requests += [
        RollbackRequest(partition, file_id, base_instant, log_blocks_to_be_deleted=logs)
        for (partition, file_id, base_instant), logs in sorted(appends.items())
    ]
    return RollbackPlan(InstantInfo(failed.time, failed.action), tuple(requests))


def _file_id(name: str) -> str:
    """The file group of a base or log file name."""
    log = parse_log_file_name(name)
    if log is not None:
        return log.file_id
    base = parse_base_file_name(name)
    return base.file_id if base is not None else ""


def _read_plan(meta: MetaClient, instant_time: str) -> RollbackPlan:
    """The plan of pending rollback ``instant_time``. CorruptTableError naming the file if
    it is empty or not a whole rollback plan."""
    requested = Instant(instant_time, Action.ROLLBACK, State.REQUESTED)
    return RollbackPlan.from_bytes(meta.read_instant(requested), meta.instant_path(requested))


def _failed_instant(plan: RollbackPlan) -> Instant:
    """The (pending) instant a plan rolls back; an instant without action was a delta
    commit, the only write of a Merge-on-Read table."""
    target = plan.instant_to_rollback
    return Instant(target.commit_time, target.action or Action.DELTA_COMMIT, State.INFLIGHT)


# -- execution -----------------------------------------------------------------------------


def _command_log(
    meta: MetaClient, partition: str, file_id: str, base_instant: str, rollback: str, target: str
) -> tuple[str, int]:
    """Write (or find, when resuming) the log file with the rollback command block."""
    storage = meta.storage
    logs = []
    for f in storage.list_files(partition):
        parsed = parse_log_file_name(f.name)
        if parsed and parsed.file_id == file_id and parsed.base_instant == base_instant:
            logs.append((parsed, f))
    for parsed, f in logs:
        if parsed.write_token != ROLLBACK_TOKEN:
            continue
        for entry in iter_blocks(storage.read_bytes(f.path)):
            block = entry.block if isinstance(entry, LogFileBlock) else None
            if (
                block is not None
                and block.block_type == BlockType.COMMAND_BLOCK
                and block.instant_time == rollback
                and block.get(HeaderKey.TARGET_INSTANT_TIME) == target
            ):
                return f.path, f.size
    version = max((p.version for p, _ in logs), default=0) + 1
    name = log_file_name(file_id, base_instant, version, ROLLBACK_TOKEN)
    rel = join_partition(partition, name)
    content = encode_block(rollback_command_block(rollback, target))
    Markers(meta.storage, rollback).create(partition, name, IOType.APPEND)
    storage.create_exclusive(rel, content)
    return rel, len(content)


@attrs.define
class _Undone:
    """What the rollback did in one partition so far (RollbackPartitionMetadata once done)."""

    deleted: list[str] = attrs.field(factory=list)
    command_logs: dict[str, int] = attrs.field(factory=dict)
    failed_logs: dict[str, int] = attrs.field(factory=dict)

    def metadata(self, partition: str) -> RollbackPartitionMetadata:
        return RollbackPartitionMetadata(
            partition,
            success_delete_files=tuple(self.deleted),
            rollback_log_files=self.command_logs,
            log_files_from_failed_commit=self.failed_logs,
        )


def _execute(meta: MetaClient, instant_time: str, plan: RollbackPlan, *, resume: bool) -> None:
    """Carry out a rollback plan (again, when ``resume``: deleting and appending are
    idempotent), complete the rollback, then remove the failed instant. CorruptTableError
    if the plan names a path outside the table."""
    storage = meta.storage
    started = time.monotonic()
    inflight = Instant(instant_time, Action.ROLLBACK, State.INFLIGHT)
    if not storage.exists(meta.instant_path(inflight)):
        meta.write_instant(inflight, b"")
    failed = _failed_instant(plan)
    undone: dict[str, _Undone] = {}
    for request in plan.requests:
        _undo(
            meta,
            instant_time,
            failed.time,
            request,
            undone.setdefault(request.partition_path, _Undone()),
        )
        _drop_partition_created_by(meta, request.partition_path, failed.time)
    metadata = RollbackMetadata(
        start_rollback_time=instant_time,
        time_taken_ms=int((time.monotonic() - started) * 1000),
        total_files_deleted=sum(len(u.deleted) for u in undone.values()),
        commits_rollback=(failed.time,),
        partition_metadata={p: u.metadata(p) for p, u in undone.items()},
        instants_rollback=(InstantInfo(failed.time, failed.action),),
    )
    try:
        meta.complete_instant(instant_time, Action.ROLLBACK, metadata.to_bytes())
    except FileExistsError:
        if not resume:
            raise
    # Only now may the failed instant disappear from the timeline (newest state first).
    for state in (State.INFLIGHT, State.REQUESTED):
        storage.delete(meta.instant_path(failed.with_state(state)))
    Markers(storage, failed.time).delete_all()
    Markers(storage, instant_time).delete_all()
    storage.delete(heartbeat_path(failed.time))  # as Java's rollback does


def _undo(
    meta: MetaClient, instant_time: str, failed_time: str, request: RollbackRequest, undone: _Undone
) -> None:
    """One request of the plan: delete its files, or append the command block that
    neutralises the failed write's log blocks in its file slice."""
    storage = meta.storage
    for recorded in request.files_to_be_deleted:
        try:
            rel = storage.relative(recorded)
        except ValueError as exc:
            plan_path = meta.instant_path(Instant(instant_time, Action.ROLLBACK, State.REQUESTED))
            raise CorruptTableError(f"{plan_path}: rollback plan: {exc}") from exc
        storage.delete(rel)
        undone.deleted.append(recorded)
    if request.log_blocks_to_be_deleted:
        rel, size = _command_log(
            meta,
            request.partition_path,
            request.file_id,
            request.latest_base_instant,
            instant_time,
            failed_time,
        )
        undone.command_logs[_display(storage, rel, scheme=True)] = size
        undone.failed_logs.update(request.log_blocks_to_be_deleted)


def _drop_partition_created_by(meta: MetaClient, partition: str, instant: str) -> None:
    """Remove the partition metadata file the failed write created, if nothing else is left
    in the partition (a partition only the failed write had started)."""
    if not partition:
        return
    storage = meta.storage
    files = storage.list_files(partition)
    if [f.name for f in files] != [PARTITION_METAFILE]:
        return
    recorded = partition_metadata_commit(
        storage.read_bytes(join_partition(partition, PARTITION_METAFILE))
    )
    if recorded == instant:
        storage.delete(join_partition(partition, PARTITION_METAFILE))
        storage.remove_empty_dir(partition)
