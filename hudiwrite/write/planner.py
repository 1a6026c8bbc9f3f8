"""Write planning: deduplicate, tag against the index, decide where every row goes.

Pure and vectorised: the planner sees the key table of pass 1, the file-system view and the
index's answer, and returns per-row destinations as Arrow arrays indexed by row id.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from hudiwrite._arrow import arange, sort_indices, take_last_per_key
from hudiwrite.exceptions import InvalidRecordError
from hudiwrite.index.simple import FILE_ID
from hudiwrite.model.filegroup import FileGroup, FileSlice
from hudiwrite.timeline.layout import TableLayout
from hudiwrite.timeline.metadata import CommitMetadata, WriteStat
from hudiwrite.write.source import IS_DELETED, ORDERING, PARTITION, RECORD_KEY, ROW_ID

__all__ = ["Dest", "LogTarget", "MergeTarget", "Operation", "WritePlan", "dedupe", "plan_write"]


class Operation(str, enum.Enum):
    """Write operations; the value is the ``operationType`` each records (Java's
    ``WriteOperationType`` names)."""

    UPSERT = "UPSERT"
    INSERT = "INSERT"
    DELETE = "DELETE"

    def __str__(self) -> str:
        return self.value


class Dest:
    """Where a row goes (int8 codes)."""

    SKIP = 0
    INSERT = 1
    UPDATE = 2
    DELETE = 3


@attrs.frozen
class LogTarget:
    """The file slice a write appends a new log file to."""

    partition: str
    file_id: str
    #: The instant the new log file is named after: its slice's base instant on layout 1,
    #: the writing instant on layout 2.
    base_instant: str
    base_file_name: str
    existing_logs: tuple[str, ...]
    next_version: int
    #: The base instant of the group's latest slice (what the workload profile records).
    slice_instant: str = ""


@attrs.frozen
class MergeTarget:
    """A small file group that this write's inserts are merged into (Hudi's small-file
    handling): its current records and the new ones go into a new base file of the group,
    which starts a new file slice at this write's instant."""

    file_slice: FileSlice

    @property
    def partition(self) -> str:
        return self.file_slice.partition

    @property
    def file_id(self) -> str:
        return self.file_slice.file_id

    @property
    def base_instant(self) -> str:
        return self.file_slice.base_instant


@attrs.frozen
class WritePlan:
    operation: Operation
    #: Destination code of every input row (indexed by row id).
    dest: pa.Array
    #: File id of the existing file group for UPDATE/DELETE rows, else null.
    file_id: pa.Array
    log_targets: Mapping[tuple[str, str], LogTarget]
    insert_counts: Mapping[str, int]
    update_counts: Mapping[tuple[str, str], int]
    delete_counts: Mapping[tuple[str, str], int]
    merge_targets: Mapping[str, MergeTarget] = attrs.field(factory=dict)
    #: Input rows, skipped ones included.
    num_rows: int = 0

    @property
    def touched_file_ids(self) -> set[str]:
        """Existing file groups this write changes (for conflict detection)."""
        return {fid for _, fid in self.log_targets} | {
            t.file_id for t in self.merge_targets.values()
        }

    @property
    def num_inserts(self) -> int:
        return sum(self.insert_counts.values())

    @property
    def num_updates(self) -> int:
        return sum(self.update_counts.values())

    @property
    def num_deletes(self) -> int:
        return sum(self.delete_counts.values())

    @property
    def num_skipped(self) -> int:
        """Input rows that write nothing: the losers of a key's in-batch dedupe, deletes of
        absent keys, inserts of live keys dropped by ``insert_duplicates="drop"``, and
        soft-delete rows of new keys."""
        return self.num_rows - self.num_inserts - self.num_updates - self.num_deletes

    def partition_counts(self) -> dict[str, tuple[int, int, int]]:
        """Per partition path written: (inserted, updated, deleted) records."""
        out: dict[str, list[int]] = {p: [n, 0, 0] for p, n in self.insert_counts.items()}
        for (p, _), n in self.update_counts.items():
            out.setdefault(p, [0, 0, 0])[1] += n
        for (p, _), n in self.delete_counts.items():
            out.setdefault(p, [0, 0, 0])[2] += n
        return {p: (c[0], c[1], c[2]) for p, c in sorted(out.items())}

    def workload_profile(self) -> CommitMetadata:
        """The ``.inflight`` content Java writes: per partition one insert stat, then one stat
        per existing file group receiving updates or deletes (protocol §2.2)."""
        partitions = sorted(
            set(self.insert_counts)
            | {p for p, _ in self.update_counts}
            | {p for p, _ in self.delete_counts}
        )
        stats: dict[str, tuple[WriteStat, ...]] = {}
        for p in partitions:
            entries = [
                WriteStat(
                    file_id="",
                    path=None,
                    partition_path=None,
                    num_inserts=self.insert_counts.get(p, 0),
                )
            ]
            for (part, fid), target in sorted(self.log_targets.items()):
                if part != p:
                    continue
                entries.append(
                    WriteStat(
                        file_id=fid,
                        path=None,
                        partition_path=None,
                        prev_commit=target.slice_instant or target.base_instant,
                        num_update_writes=self.update_counts.get((part, fid), 0),
                        num_deletes=self.delete_counts.get((part, fid), 0),
                    )
                )
            stats[p] = tuple(entries)
        return CommitMetadata(stats, self.operation)


def _log_target(
    group: FileGroup, layout: TableLayout, instant_time: str, compaction: str | None
) -> LogTarget:
    """Where a write's new log file of ``group`` goes.

    Layout 1 names a log after its file slice: the latest slice's base instant, or, while a
    compaction of the group is pending, the compaction instant (the slice the compaction's
    base file will start; protocol §4.1). Layout 2 names logs after the writing instant.
    """
    latest = group.latest_slice()
    assert latest is not None
    if not layout.log_named_by_slice:
        base_instant = instant_time
    elif compaction is not None and compaction > latest.base_instant:
        base_instant = compaction
    else:
        base_instant = latest.base_instant
    slice_logs = [f for s in group.slices if s.base_instant == base_instant for f in s.log_files]
    versions = [f.version for f in slice_logs if f.parsed.base_instant == base_instant]
    base = next((s.base_file for s in group.slices if s.base_instant == base_instant), None)
    return LogTarget(
        partition=group.partition,
        file_id=group.file_id,
        base_instant=base_instant,
        base_file_name=base.name if base is not None else "",
        existing_logs=tuple(f.name for f in slice_logs),
        next_version=max(versions, default=0) + 1,
        slice_instant=latest.base_instant,
    )


def _small_file(
    groups: Sequence[FileGroup],
    limit: int,
    pending_compactions: Mapping[tuple[str, str], str],
) -> MergeTarget | None:
    """The partition's smallest file group that may take inserts: below ``limit`` and not
    being compacted.

    Java's upsert partitioner (with an index that cannot index log files) only picks slices
    without log files that the write does not update; hudiwrite also takes a slice with logs
    and writes its merged records with the inserts, like a compaction of that one group, and
    puts the write's own updates of the group into a log of the new slice. Otherwise, with
    updates spread over the table, no group qualifies and every write starts new groups.
    """
    best = None
    best_size = 0
    for group in groups:
        key = (group.partition, group.file_id)
        if key in pending_compactions:
            continue
        latest = group.latest_slice()
        if latest is None or latest.base_file is None:
            continue
        size = latest.total_bytes
        if size >= limit:
            continue
        if best is None or size < best_size:
            best, best_size = latest, size
    return MergeTarget(best) if best is not None else None


def dedupe(keys: pa.Table) -> pa.Table:
    """One row per (record key, partition path): the greatest ordering value, ties to the later
    row (Hudi's precombine within a batch). Rows stay in input order."""
    if keys.num_rows == 0:
        return keys
    distinct = keys.select([RECORD_KEY, PARTITION]).group_by([RECORD_KEY, PARTITION]).aggregate([])
    if distinct.num_rows == keys.num_rows:
        return keys  # no duplicates: skip the sort (a hash pass is much cheaper)
    order = [keys.column(ORDERING)] if ORDERING in keys.column_names else []
    winners = take_last_per_key([keys.column(RECORD_KEY), keys.column(PARTITION)], order)
    return keys.take(winners)


def _counts(table: pa.Table, columns: list[str]) -> dict[tuple[str, ...], int]:
    if table.num_rows == 0:
        return {}
    grouped = table.group_by(columns).aggregate([([], "count_all")])
    cols = [grouped.column(c).to_pylist() for c in columns]
    counts = grouped.column("count_all").to_pylist()
    return {tuple(vals): n for *vals, n in zip(*cols, counts, strict=True)}


def plan_write(
    operation: Operation,
    total: int,
    survivors: pa.Table,
    tagged: pa.Table,
    groups: Mapping[str, tuple[FileGroup, ...]],
    *,
    layout: TableLayout,
    instant_time: str,
    insert_duplicates: str = "fail",
    live_keys: pa.Table | None = None,
    pending_compactions: Mapping[tuple[str, str], str] | None = None,
    small_file_limit: int = 0,
    merge_allowed: Callable[[FileSlice, int], bool] | None = None,
) -> WritePlan:
    """Destinations for all ``total`` input rows, given the ``survivors`` of :func:`dedupe`.

    ``tagged`` is the index's answer: (record key, partition path, file id) of existing keys.
    For inserts, ``live_keys`` (record key, partition path) says which tagged keys are live in
    the snapshot; a tagged key that was deleted is revived as an update of its file group.
    ``pending_compactions`` maps (partition, file id) to the instant of a compaction planned
    but not completed for that file group. ``merge_allowed(slice, inserts)`` vetoes merging
    a partition's inserts into its smallest file group (the rewrite would cost too much).

    Raises ``InvalidRecordError`` for an insert of live keys when ``insert_duplicates`` is
    ``"fail"``.
    """
    pending = pending_compactions or {}
    joined = survivors.join(
        tagged, keys=[RECORD_KEY, PARTITION], join_type="left outer", use_threads=False
    )
    if operation == Operation.INSERT:
        joined, dest = _insert_destinations(joined, live_keys, insert_duplicates)
    else:
        dest = _destinations(operation, joined)
    row_dest, row_file = _per_row(joined, dest, total)

    with_dest = joined.append_column("__dest", dest)
    inserts = with_dest.filter(pc.equal(dest, Dest.INSERT))
    updates = with_dest.filter(pc.equal(dest, Dest.UPDATE))
    deletes = with_dest.filter(pc.equal(dest, Dest.DELETE))
    insert_counts = {k[0]: v for k, v in _counts(inserts, [PARTITION]).items()}
    update_counts = {(k[0], k[1]): v for k, v in _counts(updates, [PARTITION, FILE_ID]).items()}
    delete_counts = {(k[0], k[1]): v for k, v in _counts(deletes, [PARTITION, FILE_ID]).items()}

    merges = _merge_targets(groups, insert_counts, small_file_limit, pending, merge_allowed)
    changed = set(update_counts) | set(delete_counts)
    targets = _log_targets(changed, merges, groups, layout, instant_time, pending)
    return WritePlan(
        operation=operation,
        dest=row_dest,
        file_id=row_file,
        log_targets=targets,
        insert_counts=insert_counts,
        update_counts=update_counts,
        delete_counts=delete_counts,
        merge_targets=merges,
        num_rows=total,
    )


def _soft_deleted(joined: pa.Table) -> pa.Array | pa.ChunkedArray:
    """Rows that carry ``_hoodie_is_deleted = true`` (all false without the column)."""
    if IS_DELETED in joined.column_names:
        return joined.column(IS_DELETED)
    return pa.repeat(pa.scalar(False), joined.num_rows)


def _destinations(operation: Operation, joined: pa.Table) -> pa.Array:
    """Upsert and delete: an existing key is updated (deleted by a delete, or by a
    soft-delete row), a new key inserted; a delete of an absent key, or a soft-delete row
    of a new key, writes nothing."""
    exists = pc.is_valid(joined.column(FILE_ID))
    if operation == Operation.DELETE:
        dest = pc.if_else(exists, Dest.DELETE, Dest.SKIP)
    else:
        soft_deleted = _soft_deleted(joined)
        update_code = pc.if_else(soft_deleted, Dest.DELETE, Dest.UPDATE)
        new_code = pc.if_else(soft_deleted, Dest.SKIP, Dest.INSERT)
        dest = pc.if_else(exists, update_code, new_code)
    return _int8(dest)


def _insert_destinations(
    joined: pa.Table, live_keys: pa.Table | None, insert_duplicates: str
) -> tuple[pa.Table, pa.Array]:
    """Insert: a new key is inserted; a key the index found but that is deleted in the
    snapshot is revived as an update of its group; a live key fails the write or, with
    ``insert_duplicates="drop"``, is skipped. Returns ``joined`` (reordered by row id when
    the live keys were joined in) and the destinations aligned with it."""
    exists = pc.is_valid(joined.column(FILE_ID))
    if not pc.any(exists).as_py():
        return joined, _int8(pc.if_else(_soft_deleted(joined), Dest.SKIP, Dest.INSERT))
    live = pa.repeat(pa.scalar(False), joined.num_rows)
    if live_keys is not None and live_keys.num_rows:
        marked = joined.select([ROW_ID, RECORD_KEY, PARTITION]).join(
            live_keys.select([RECORD_KEY, PARTITION]).append_column(
                "__live", pa.repeat(pa.scalar(True), live_keys.num_rows)
            ),
            keys=[RECORD_KEY, PARTITION],
            join_type="left outer",
            use_threads=False,
        )
        marked = marked.take(sort_indices(marked, [ROW_ID]))
        joined = joined.take(sort_indices(joined, [ROW_ID]))
        exists = pc.is_valid(joined.column(FILE_ID))
        live = pc.fill_null(marked.column("__live"), False)
    duplicate = pc.and_(exists, live)
    if insert_duplicates == "fail" and pc.any(duplicate).as_py():
        dup = pc.filter(joined, duplicate)
        raise InvalidRecordError(
            f"insert of {dup.num_rows} record(s) whose key already exists, e.g. "
            f"{dup.column(RECORD_KEY)[0].as_py()!r} in partition "
            f"{dup.column(PARTITION)[0].as_py()!r}; use upsert, or "
            "TableOptions(insert_duplicates='drop') to skip them"
        )
    soft_deleted = _soft_deleted(joined)
    revive_code = pc.if_else(soft_deleted, Dest.SKIP, Dest.UPDATE)
    exists_code = pc.if_else(live, Dest.SKIP, revive_code)
    new_code = pc.if_else(soft_deleted, Dest.SKIP, Dest.INSERT)
    return joined, _int8(pc.if_else(exists, exists_code, new_code))


def _int8(dest: pa.Array | pa.ChunkedArray) -> pa.Array:
    out = pc.cast(dest, pa.int8())
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _per_row(joined: pa.Table, dest: pa.Array, total: int) -> tuple[pa.Array, pa.Array]:
    """The survivors' destinations and file ids spread over every input row id (the losers
    of the dedupe are skipped)."""
    decided = pa.table(
        {ROW_ID: joined.column(ROW_ID), "__dest": dest, FILE_ID: joined.column(FILE_ID)}
    )
    if decided.num_rows == total:
        full = decided.take(sort_indices(decided, [ROW_ID]))
    else:
        full = pa.table({ROW_ID: arange(0, total)}).join(
            decided, keys=ROW_ID, join_type="left outer", use_threads=False
        )
        full = full.take(sort_indices(full, [ROW_ID]))
    row_dest = pc.fill_null(full.column("__dest"), pa.scalar(Dest.SKIP, pa.int8()))
    row_file = full.column(FILE_ID)
    return (
        row_dest.combine_chunks() if isinstance(row_dest, pa.ChunkedArray) else row_dest,
        row_file.combine_chunks() if isinstance(row_file, pa.ChunkedArray) else row_file,
    )


def _merge_targets(
    groups: Mapping[str, tuple[FileGroup, ...]],
    insert_counts: Mapping[str, int],
    small_file_limit: int,
    pending_compactions: Mapping[tuple[str, str], str],
    merge_allowed: Callable[[FileSlice, int], bool] | None,
) -> dict[str, MergeTarget]:
    """Per partition with inserts, the small file group they are merged into, if any."""
    merges: dict[str, MergeTarget] = {}
    if small_file_limit <= 0:
        return merges
    for partition, inserts in insert_counts.items():
        target = _small_file(groups.get(partition, ()), small_file_limit, pending_compactions)
        if target is None:
            continue
        if merge_allowed is None or merge_allowed(target.file_slice, inserts):
            merges[partition] = target
    return merges


def _log_targets(
    changed: set[tuple[str, str]],
    merges: Mapping[str, MergeTarget],
    groups: Mapping[str, tuple[FileGroup, ...]],
    layout: TableLayout,
    instant_time: str,
    pending_compactions: Mapping[tuple[str, str], str],
) -> dict[tuple[str, str], LogTarget]:
    """The log file each changed (partition, file id) gets."""
    merged = {(t.partition, t.file_id) for t in merges.values()}
    by_id = {(g.partition, g.file_id): g for gs in groups.values() for g in gs}
    targets: dict[tuple[str, str], LogTarget] = {}
    for key in changed:
        if key in merged:
            # The group's new base file (written by this instant) starts a new slice; this
            # write's updates and deletes of the group go to the first log of that slice.
            targets[key] = LogTarget(key[0], key[1], instant_time, "", (), 1)
        else:
            targets[key] = _log_target(
                by_id[key], layout, instant_time, pending_compactions.get(key)
            )
    return targets
