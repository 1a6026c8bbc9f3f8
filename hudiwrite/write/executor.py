"""Write execution: new base files for inserts, new log files for updates and deletes.

Every data file is preceded by its marker and, in a new partition, by the partition metadata
file. Each finished file yields a ``WriteStat``. The executor records every file it creates in
a journal, so a failed write can remove exactly what it left.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from hudiwrite._arrow import last_of_runs, sequence_strings, sort_indices
from hudiwrite.formats.logblock.avro_data import avro_data_block
from hudiwrite.formats.logblock.delete import DeleteRecords, delete_block, ordering_kind_for
from hudiwrite.formats.logblock.frame import LogBlock, encode_block
from hudiwrite.formats.logblock.parquet_data import parquet_data_block
from hudiwrite.formats.parquet import BaseFileWriter, with_file_name
from hudiwrite.index.simple import FILE_ID, remember_written_keys
from hudiwrite.model.naming import (
    PARTITION_METAFILE,
    WriteTokens,
    base_file_name,
    join_partition,
    log_file_name,
    new_file_id,
    partition_metadata_text,
)
from hudiwrite.model.tableconfig import java_date_string
from hudiwrite.read.merge import MergeSettings, read_slice
from hudiwrite.storage import Storage
from hudiwrite.timeline.metadata import WriteStat
from hudiwrite.write.context import WriteContext
from hudiwrite.write.markers import IOType, Markers
from hudiwrite.write.planner import Dest, LogTarget, MergeTarget, WritePlan
from hudiwrite.write.source import ORDERING, PARTITION, RECORD_KEY, PreparedInput

__all__ = ["Journal", "WriteExecutor"]


#: Rows written into the first row group of a new base file before its size is known.
_PROBE_ROWS = 65_536


@attrs.define
class Journal:
    """Files a write created, in creation order (for undoing a failed write)."""

    data_files: list[str] = attrs.field(factory=list)
    partition_metafiles: list[str] = attrs.field(factory=list)
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    def add_data_file(self, rel: str) -> None:
        with self.lock:
            self.data_files.append(rel)

    def add_metafile(self, rel: str) -> None:
        with self.lock:
            self.partition_metafiles.append(rel)


def _runs(table: pa.Table, column: str) -> Iterable[tuple[Any, pa.Table]]:
    """``table`` split into (value, rows) by the values of ``column`` (one sort, no loop
    over rows)."""
    if table.num_rows == 0:
        return []
    ordered = table.take(sort_indices(table, [column]))
    col = ordered.column(column).combine_chunks()
    ends = pc.indices_nonzero(last_of_runs([col])).to_pylist()
    out = []
    start = 0
    for end in ends:
        out.append((col[start].as_py(), ordered.slice(start, end + 1 - start)))
        start = end + 1
    return out


class _PartitionInserts:
    """Rolling base files of one partition: row groups are appended until the file nears the
    target size, then a new file group starts."""

    def __init__(self, executor: WriteExecutor, partition: str) -> None:
        self.ex = executor
        self.partition = partition
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.writer: BaseFileWriter | None = None
        self.sink: Any = None
        self.sink_cm: Any = None
        self.file: tuple[str, str, str, int] | None = None  # file id, name, rel path, task
        self.rows_in_file = 0
        self.stats: list[WriteStat] = []
        # The partition's small base file the first new file is merged with, if any.
        self.merge: MergeTarget | None = executor.plan.merge_targets.get(partition)
        self.merged_from: MergeTarget | None = None

    def add(self, rows: pa.Table) -> None:
        self.pending.append(rows)
        self.pending_rows += rows.num_rows
        while self.pending_rows >= self._next_group_rows():
            self._write_group(self._next_group_rows())

    def finish(self) -> list[WriteStat]:
        while self.pending_rows:
            self._write_group(min(self.pending_rows, self._next_group_rows()))
        self._close_file()
        return self.stats

    def _next_group_rows(self) -> int:
        settings = self.ex.ctx.settings
        if self.writer is None or self.writer.num_rows == 0:
            per_row = self.ex.bytes_per_row
            if per_row is None:
                return max(1, min(settings.row_group_rows, _PROBE_ROWS))
            return max(1, min(settings.row_group_rows, int(settings.target_file_size / per_row)))
        room = settings.target_file_size - self.writer.bytes_written()
        per_row = max(self.writer.bytes_written() / self.writer.num_rows, 1.0)
        return max(1, min(settings.row_group_rows, int(room / per_row)))

    def _take_pending(self, n: int) -> pa.Table:
        table = pa.concat_tables(self.pending) if len(self.pending) > 1 else self.pending[0]
        head, rest = table.slice(0, n), table.slice(n)
        self.pending = [rest] if rest.num_rows else []
        self.pending_rows = rest.num_rows
        return head

    def _open_file(self) -> None:
        ex = self.ex
        merge, self.merge = self.merge, None
        file_id = merge.file_id if merge is not None else new_file_id()
        task, token = ex.tokens.next()
        name = base_file_name(file_id, token, ex.instant_time)
        rel = join_partition(self.partition, name)
        ex.ensure_partition(self.partition)
        ex.markers.create(self.partition, name, IOType.MERGE if merge else IOType.CREATE)
        ex.journal.add_data_file(rel)
        self.sink_cm = ex.storage.open_output(rel)
        self.sink = self.sink_cm.__enter__()
        self.writer = BaseFileWriter(
            self.sink,
            ex.ctx.schema.arrow_with_meta,
            ex.ctx.schema.avro_with_meta_json,
            compression=ex.ctx.settings.compression,
        )
        self.file = (file_id, name, rel, task)
        self.rows_in_file = 0
        self.merged_from = merge
        if merge is not None:
            # The new version of the small file group starts with all its current records
            # (base merged with logs), meta columns kept except the file name (as Hudi's
            # merge handle and compactor write them).
            old = read_slice(
                ex.storage,
                merge.file_slice,
                ex.ctx.schema.arrow_with_meta,
                MergeSettings(ex.ctx.ordering_field, ex.ctx.merge_semantics),
                is_committed=ex.is_committed,
            )
            self.writer.write(with_file_name(old, name))

    def _write_group(self, n: int) -> None:
        if self.writer is None:
            self._open_file()
        assert self.writer is not None
        assert self.file is not None
        rows = self._take_pending(n)
        _, name, _, task = self.file
        self.writer.write(self.ex.with_meta(rows, task, self.rows_in_file, name))
        self.rows_in_file += rows.num_rows
        self.ex.observe_size(self.writer.bytes_written(), self.writer.num_rows)
        if self.writer.bytes_written() >= self.ex.ctx.settings.target_file_size:
            self._close_file()

    def _close_file(self) -> None:
        if self.writer is None or self.file is None:
            return
        self.writer.close()
        size = self.writer.bytes_written()  # footer included; no extra request to the store
        self.sink_cm.__exit__(None, None, None)
        file_id, _, rel, _ = self.file
        remember_written_keys(self.ex.storage, rel, self.writer.record_keys())
        merged = self.merged_from
        self.stats.append(
            WriteStat(
                file_id=file_id,
                path=rel,
                partition_path=self.partition,
                prev_commit=merged.base_instant if merged else "null",
                num_writes=self.writer.num_rows,
                num_inserts=self.rows_in_file,
                total_write_bytes=size,
                file_size=size,
                runtime_stats={"totalScanTime": 0, "totalUpsertTime": 0, "totalCreateTime": 0},
            )
        )
        self.writer = None
        self.file = None


class WriteExecutor:
    """Carries out a ``WritePlan`` for one instant."""

    def __init__(
        self,
        storage: Storage,
        ctx: WriteContext,
        instant_time: str,
        plan: WritePlan,
        markers: Markers,
        journal: Journal,
        existing_partitions: Iterable[str],
        is_committed: Callable[[str], bool],
    ) -> None:
        self.storage = storage
        self.ctx = ctx
        self.instant_time = instant_time
        self.plan = plan
        self.markers = markers
        self.journal = journal
        self.is_committed = is_committed
        self.tokens = WriteTokens()
        self._partitions_ready = set(existing_partitions)
        self._lock = threading.Lock()
        self.bytes_per_row: float | None = None
        self._next_version = {k: t.next_version for k, t in plan.log_targets.items()}
        self._written_logs: dict[tuple[str, str], list[str]] = {}

    # -- shared helpers ----------------------------------------------------------------------

    def ensure_partition(self, partition: str) -> None:
        """Write ``.hoodie_partition_metadata`` the first time a new partition gets a file."""
        with self._lock:
            if partition in self._partitions_ready:
                return
            rel = join_partition(partition, PARTITION_METAFILE)
            text = partition_metadata_text(self.instant_time, partition, java_date_string())
            try:
                self.storage.create_exclusive(rel, text)
                self.journal.add_metafile(rel)
            except FileExistsError:
                pass  # another writer created the partition meanwhile
            self._partitions_ready.add(partition)

    def observe_size(self, written: int, rows: int) -> None:
        if rows:
            self.bytes_per_row = max(written / rows, 1.0)

    def with_meta(self, rows: pa.Table, task: int, first_seq: int, file_name: str) -> pa.Table:
        """Stored records: meta columns (commit time, seqno, key, partition, file name), then
        the data columns."""
        n = rows.num_rows
        t = self.instant_time
        meta = [
            pa.repeat(pa.scalar(t, pa.string()), n),
            sequence_strings(f"{t}_{task}_", first_seq, n),
            rows.column(RECORD_KEY),
            rows.column(PARTITION),
            pa.repeat(pa.scalar(file_name, pa.string()), n),
        ]
        data = [rows.column(name) for name in self.ctx.schema.arrow.names]
        return pa.Table.from_arrays(meta + data, schema=self.ctx.schema.arrow_with_meta)

    # -- the write -----------------------------------------------------------------------------

    def run(self, prepared: PreparedInput) -> list[WriteStat]:
        workers = self.ctx.settings.max_workers
        inserts: dict[str, _PartitionInserts] = {}
        updates: dict[tuple[str, str], list[pa.Table]] = {}
        buffered = 0
        budget = self.ctx.settings.max_memory_bytes // 2
        stats: list[WriteStat] = []
        with ThreadPoolExecutor(max_workers=workers) as pool:
            if self.plan.num_inserts or self.plan.num_updates:
                for offset, chunk in prepared.chunks():
                    dest = self.plan.dest.slice(offset, chunk.num_rows)
                    is_insert = pc.equal(dest, Dest.INSERT)
                    ins = chunk if pc.all(is_insert).as_py() else chunk.filter(is_insert)
                    by_partition = list(_runs(ins, PARTITION))
                    for partition, _ in by_partition:
                        if partition not in inserts:
                            inserts[partition] = _PartitionInserts(self, partition)
                    list(pool.map(lambda pr: inserts[pr[0]].add(pr[1]), by_partition))
                    is_update = pc.equal(dest, Dest.UPDATE)
                    if pc.any(is_update).as_py():
                        files = self.plan.file_id.slice(offset, chunk.num_rows)
                        upd = chunk.filter(is_update).append_column(
                            FILE_ID, pc.filter(files, is_update)
                        )
                        for fid, rows in _runs(upd, FILE_ID):
                            key = (rows.column(PARTITION)[0].as_py(), fid)
                            updates.setdefault(key, []).append(rows.drop_columns([FILE_ID]))
                            buffered += rows.nbytes
                    if buffered > budget:
                        # Bounded memory: flush buffered updates as log files now; later rows
                        # of the same file groups go to further log versions.
                        stats += pool.map(
                            lambda kv: self._write_log(kv[0], kv[1], None), list(updates.items())
                        )
                        updates, buffered = {}, 0
            deletes = self._delete_records(prepared)
            targets = set(updates) | set(deletes)
            stats += pool.map(
                lambda key: self._write_log(key, updates.get(key, []), deletes.get(key)),
                sorted(targets),
            )
            for result in pool.map(lambda w: w.finish(), list(inserts.values())):
                stats += result
        return stats

    def _delete_records(self, prepared: PreparedInput) -> dict[tuple[str, str], DeleteRecords]:
        if not self.plan.num_deletes:
            return {}
        keys = prepared.keys
        is_delete = pc.equal(self.plan.dest, Dest.DELETE)
        rows = keys.filter(is_delete).append_column(
            FILE_ID, pc.filter(self.plan.file_id, is_delete)
        )
        out = {}
        for fid, group in _runs(rows, FILE_ID):
            partition = group.column(PARTITION)[0].as_py()
            if ORDERING in group.column_names:
                # soft deletes (_hoodie_is_deleted) carry the record's own ordering value
                ordering = group.column(ORDERING)
                records = DeleteRecords.create(
                    group.column(RECORD_KEY),
                    group.column(PARTITION),
                    ordering,
                    kind=ordering_kind_for(ordering.type),
                )
            else:
                records = DeleteRecords.create(group.column(RECORD_KEY), group.column(PARTITION))
            out[(partition, fid)] = records
        return out

    def _write_log(
        self,
        key: tuple[str, str],
        update_rows: list[pa.Table],
        deletes: DeleteRecords | None,
    ) -> WriteStat:
        target: LogTarget = self.plan.log_targets[key]
        partition, file_id = key
        task, token = self.tokens.next()
        with self._lock:
            version = self._next_version[key]
            self._next_version[key] = version + 1
        name = log_file_name(file_id, target.base_instant, version, token)
        rel = join_partition(partition, name)
        blocks: list[LogBlock] = []
        schema_json = self.ctx.schema.avro_with_meta_json
        num_updates = 0
        if update_rows:
            rows = pa.concat_tables(update_rows) if len(update_rows) > 1 else update_rows[0]
            num_updates = rows.num_rows
            records = self.with_meta(rows, task, 0, file_id)
            if self.ctx.settings.log_block_format == "avro":
                blocks.append(avro_data_block(records, schema_json, self.instant_time))
            else:
                blocks.append(
                    parquet_data_block(
                        records, schema_json, self.instant_time, self.ctx.settings.compression
                    )
                )
        num_deletes = 0
        if deletes is not None and len(deletes):
            num_deletes = len(deletes)
            blocks.append(delete_block(deletes, self.instant_time, schema_json))
        content = b"".join(encode_block(b) for b in blocks)
        # 0.x appends to a slice's logs (APPEND markers); 1.x creates every log file once
        # and marks it CREATE (Java 1.2 refuses APPEND markers on table version 8+).
        io_type = IOType.APPEND if self.ctx.layout.log_named_by_slice else IOType.CREATE
        self.markers.create(partition, name, io_type)
        self.journal.add_data_file(rel)
        self.storage.write_bytes(rel, content)
        with self._lock:
            written = self._written_logs.setdefault(key, [])
            written.append(name)
            log_files = target.existing_logs + tuple(written)
        return WriteStat(
            file_id=file_id,
            path=rel,
            partition_path=partition,
            prev_commit=target.base_instant,
            num_writes=num_updates,
            num_update_writes=num_updates,
            num_deletes=num_deletes,
            total_write_bytes=len(content),
            file_size=len(content),
            runtime_stats={"totalScanTime": 0, "totalUpsertTime": 0, "totalCreateTime": 0},
            log_version=version,
            log_offset=0,
            base_file=target.base_file_name,
            log_files=log_files,
        )


def stats_by_partition(stats: Iterable[WriteStat]) -> Mapping[str, tuple[WriteStat, ...]]:
    out: dict[str, list[WriteStat]] = {}
    for s in stats:
        out.setdefault(s.partition_path or "", []).append(s)
    return {p: tuple(v) for p, v in sorted(out.items())}
