"""Queries: snapshot, read-optimized, time travel (``as_of``) and incremental reads.

A query is planned first (timeline as the query sees it, schema, partitions pruned by the
filters, the file slices to read) and then executed one file slice at a time, so ``scan``
holds at most one slice in memory.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from hudiwrite.exceptions import InvalidOptionError, UnsupportedTableError
from hudiwrite.formats.avro_schema import TableSchema
from hudiwrite.model.columns import COMMIT_TIME, IS_DELETED, META_FIELDS, OPERATION, RECORD_KEY
from hudiwrite.model.filegroup import FileSlice
from hudiwrite.model.keys import KeyGeneratorKind, partition_values
from hudiwrite.model.tableconfig import PARQUET, TableConfig
from hudiwrite.read.fsview import FileSystemView, list_all_partitions
from hudiwrite.read.merge import MergeSettings, iter_slice, read_slice
from hudiwrite.timeline.instant import Action, Instant, State
from hudiwrite.timeline.lsm import LsmInstant, TimeRange
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.timeline import Timeline

__all__ = ["Filter", "ReadPlan", "plan_incremental", "plan_snapshot"]

Filter = tuple[str, str, Any]

_OPS = ("=", "==", "!=", "<", "<=", ">", ">=", "in", "not in")


#: Base-file rows ``scan`` decodes at a time.
SCAN_BATCH_ROWS = 65_536


@attrs.frozen
class ReadPlan:
    """Everything needed to read a query's rows, slice by slice."""

    meta: MetaClient
    schema: pa.Schema  # full stored schema, meta columns first
    slices: tuple[FileSlice, ...]
    settings: MergeSettings
    is_committed: Callable[[str], bool]
    read_optimized: bool
    row_filter: pc.Expression | None
    columns: tuple[str, ...] | None
    filter_columns: tuple[str, ...] = ()

    @property
    def virtual_keys(self) -> bool:
        """A table without meta fields: its meta columns hold nothing, and queries return
        the data columns only (as Spark-Hudi does)."""
        return self.settings.keygen is not None

    @property
    def read_schema(self) -> pa.Schema:
        """The columns a slice is read with: the selection plus what merging and filtering
        need (record key, and the key fields it is computed from, ordering field,
        soft-delete markers, filter columns)."""
        if self.columns is None:
            return self.schema
        needed = set(self.columns) | set(self.filter_columns)
        needed |= {RECORD_KEY, IS_DELETED, OPERATION}
        if self.settings.ordering_field:
            needed.add(self.settings.ordering_field)
        if self.settings.keygen is not None:
            needed |= {f.split(".", 1)[0] for f in self.settings.keygen.record_key_fields}
        return pa.schema([f for f in self.schema if f.name in needed])

    @property
    def output_columns(self) -> tuple[str, ...] | None:
        """The columns returned (None: the whole stored schema)."""
        if self.columns is None and self.virtual_keys:
            return tuple(n for n in self.schema.names if n not in META_FIELDS)
        return self.columns

    @property
    def output_schema(self) -> pa.Schema:
        columns = self.output_columns
        if columns is None:
            return self.schema
        return pa.schema([self.schema.field(c) for c in columns])

    def read_one(self, file_slice: FileSlice) -> pa.Table:
        rows = read_slice(
            self.meta.storage,
            file_slice,
            self.read_schema,
            self.settings,
            is_committed=self.is_committed,
            read_optimized=self.read_optimized,
        )
        return self._finish(rows)

    def _finish(self, rows: pa.Table) -> pa.Table:
        if self.row_filter is not None:
            rows = rows.filter(self.row_filter)
        columns = self.output_columns
        if columns is not None:
            rows = rows.select(list(columns))
        return rows

    def to_table(self, max_workers: int) -> pa.Table:
        with ThreadPoolExecutor(max_workers=max_workers) as pool:
            tables = list(pool.map(self.read_one, self.slices))
        if not tables:
            return self.output_schema.empty_table()
        return pa.concat_tables(tables)

    def batches(self, batch_rows: int = SCAN_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """The rows slice by slice, each slice's base file decoded ``batch_rows`` at a time."""
        for file_slice in self.slices:
            pieces = iter_slice(
                self.meta.storage,
                file_slice,
                self.read_schema,
                self.settings,
                is_committed=self.is_committed,
                read_optimized=self.read_optimized,
                batch_rows=batch_rows,
            )
            for piece in pieces:
                rows = self._finish(piece)
                if rows.num_rows:
                    yield from rows.to_batches()

    def to_reader(self, batch_rows: int = SCAN_BATCH_ROWS) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.output_schema, self.batches(batch_rows))


def _empty_plan(meta: MetaClient, schema: pa.Schema, columns: Sequence[str] | None) -> ReadPlan:
    return ReadPlan(
        meta=meta,
        schema=schema,
        slices=(),
        settings=MergeSettings(None),
        is_committed=lambda _: False,
        read_optimized=True,
        row_filter=None,
        columns=_check_columns(schema, columns),
    )


def _queryable(meta: MetaClient, stored: pa.Schema) -> pa.Schema:
    """The columns queries may select and filter on: without meta fields, the data columns."""
    if meta.config.populate_meta_fields:
        return stored
    return pa.schema([f for f in stored if f.name not in META_FIELDS])


def _check_columns(schema: pa.Schema, columns: Sequence[str] | None) -> tuple[str, ...] | None:
    if columns is None:
        return None
    if isinstance(columns, str):
        raise InvalidOptionError("columns must be a list of column names, not a string")
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise InvalidOptionError(f"unknown column(s) {missing}; the table has {schema.names}")
    return tuple(columns)


def _filter_expression(schema: pa.Schema, filters: Sequence[Filter] | None) -> pc.Expression | None:
    if not filters:
        return None
    expression: pc.Expression | None = None
    for item in filters:
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise InvalidOptionError(f"a filter is (column, op, value), got {item!r}")
        column, op, value = item
        if column not in schema.names:
            raise InvalidOptionError(f"filter on unknown column {column!r}")
        op = str(op).lower()
        if op not in _OPS:
            raise InvalidOptionError(f"filter operator {op!r} is not one of {_OPS}")
        dtype = schema.field(column).type
        field = pc.field(column)
        try:
            if op in ("in", "not in"):
                values = pa.array(list(value), type=dtype)
                term = field.isin(values)
                if op == "not in":
                    term = ~term
            else:
                scalar = pa.scalar(value, type=dtype)
                term = {
                    "=": field == scalar,
                    "==": field == scalar,
                    "!=": field != scalar,
                    "<": field < scalar,
                    "<=": field <= scalar,
                    ">": field > scalar,
                    ">=": field >= scalar,
                }[op]
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
            raise InvalidOptionError(
                f"filter value {value!r} does not fit column {column!r} of type {dtype}: {exc}"
            ) from exc
        expression = term if expression is None else expression & term
    return expression


def _partition_row(
    partition: str, fields: Sequence[str], schema: pa.Schema, hive_style: bool, url_encoded: bool
) -> pa.Table | None:
    """The partition's values as a one-row table, or None if the path cannot be parsed."""
    values = partition_values(partition, fields, hive_style=hive_style, url_encoded=url_encoded)
    if values is None or any(f not in schema.names for f in fields):
        return None
    columns = {}
    for field, value in zip(fields, values, strict=True):
        try:
            columns[field] = pa.array([value], pa.string()).cast(schema.field(field).type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None
    return pa.table(columns)


def _prune_partitions(
    meta: MetaClient, partitions: Sequence[str], schema: pa.Schema, filters: Sequence[Filter] | None
) -> list[str]:
    """Partitions that may hold rows passing the filters on partition columns.

    Only where a partition path spells the partition columns' values (simple, complex and
    non-partitioned key generators): a timestamp-based generator writes a formatted date
    (``2024/01/31`` from epoch milliseconds), a custom one may, and such paths say nothing
    a filter on the column's stored values could be checked against.
    """
    config = meta.config
    fields = config.partition_fields
    if not filters or not fields:
        return list(partitions)
    keygen = (config.keygen_class or "").rsplit(".", 1)[-1]
    if keygen and keygen not in KeyGeneratorKind.ALL:
        return list(partitions)
    usable = [f for f in filters if f[0] in fields]
    if not usable:
        return list(partitions)
    keep = []
    for partition in partitions:
        row = _partition_row(partition, fields, schema, config.hive_style, config.url_encode)
        if row is None:
            keep.append(partition)
            continue
        expression = _filter_expression(row.schema, usable)
        if expression is None or row.filter(expression).num_rows:
            keep.append(partition)
    return keep


def plan_snapshot(
    meta: MetaClient,
    *,
    columns: Sequence[str] | None = None,
    filters: Sequence[Filter] | None = None,
    as_of: str | None = None,
    read_optimized: bool = False,
) -> ReadPlan:
    """The plan of a snapshot (or read-optimized) query as of ``as_of`` (default: latest)."""
    _check_readable(meta)
    full_timeline = meta.timeline()
    if as_of:
        as_of = _instant_arg(as_of, "as_of")
        _check_not_cleaned(meta, full_timeline, as_of)
    timeline = full_timeline.as_of(as_of) if as_of else full_timeline
    replaced = meta.replaced_file_groups(timeline)
    latest = timeline.latest_completed_write()
    archived = _archived_write_as_of(meta, full_timeline, as_of) if as_of else None
    if archived is not None:
        # time travel to before the active timeline: the commit it reads is in the LSM
        latest, archived_schema = archived
        instants = sorted((*timeline.instants, latest), key=lambda i: i.sort_key)
        timeline = attrs.evolve(timeline, instants=tuple(instants))
        schema = archived_schema or meta.table_schema(full_timeline)
    else:
        schema = meta.table_schema(timeline)
    if schema is None or latest is None:
        stored = schema.arrow_with_meta if schema else _meta_only_schema()
        _filter_expression(_queryable(meta, stored), filters)
        return _empty_plan(meta, _queryable(meta, stored), columns)
    stored = schema.arrow_with_meta
    selected = _check_columns(_queryable(meta, stored), columns)
    row_filter = _filter_expression(_queryable(meta, stored), filters)
    listing = list_all_partitions(meta.storage)
    partitions = _prune_partitions(meta, sorted(listing), stored, filters)
    view = FileSystemView.build(timeline, {p: listing[p] for p in partitions}, replaced)
    query_time = latest.time
    slices = tuple(view.latest_slices(as_of=None))
    return ReadPlan(
        meta=meta,
        schema=stored,
        slices=slices,
        settings=merge_settings(meta.config),
        is_committed=_committed(timeline, query_time),
        read_optimized=read_optimized,
        row_filter=row_filter,
        columns=selected,
        filter_columns=tuple(f[0] for f in filters or ()),
    )


def plan_incremental(
    meta: MetaClient,
    start: str,
    end: str | None = None,
    columns: Sequence[str] | None = None,
) -> ReadPlan:
    """Records written by commits that completed after ``start`` and up to ``end``.

    As Spark-Hudi's incremental query on a Merge-on-Read table
    (``MergeOnReadIncrementalRelation``): a file-system view is built from the files those
    commits wrote and nothing else (``listAffectedFilesForCommits``), its latest merged
    slices as of ``end`` are merged with only the window's log blocks, and the rows whose
    commit time is one of the window's commits are returned. A record written in the window
    is therefore merged with the window's other writes of its key, not with older files: an
    update that loses to an older record under DefaultHoodieRecordPayload is still returned,
    as Java returns it.
    """
    _check_readable(meta)
    if not meta.config.populate_meta_fields:
        raise UnsupportedTableError(
            "incremental queries need the commit time of each record: this table has no "
            "meta fields (hoodie.populate.meta.fields=false)"
        )
    start = _instant_arg(start, "start")
    full = meta.timeline()
    end_time = _instant_arg(end, "end") if end is not None else None
    writes = [
        i
        for i in full.completed_writes
        if _completed_at(i) > start and (end_time is None or _completed_at(i) <= end_time)
    ]
    archived = _archived_writes_between(meta, start, end_time)
    if archived:
        return _incremental_full_scan(meta, full, writes, archived, columns)
    timeline = full.as_of(end_time) if end_time else full
    schema = meta.table_schema(timeline)
    if schema is None or not writes:
        stored = schema.arrow_with_meta if schema else _meta_only_schema()
        return _empty_plan(meta, stored, columns)
    stored = schema.arrow_with_meta
    affected: dict[str, set[str]] = {}  # partition -> names of the files the window wrote
    for instant in writes:
        for stat in meta.commit_metadata(instant).all_stats():
            if stat.file_id and stat.path:
                affected.setdefault(stat.partition_path or "", set()).add(
                    posixpath.basename(stat.path)
                )
    listing = {
        p: [f for f in meta.storage.list_files(p) if f.name in names]
        for p, names in sorted(affected.items())
    }
    view = FileSystemView.build(timeline, listing, meta.replaced_file_groups(timeline))
    slices = tuple(view.latest_slices())
    window = frozenset(i.time for i in writes)
    data_times = pa.array(sorted(window), pa.string())
    return ReadPlan(
        meta=meta,
        schema=stored,
        slices=slices,
        settings=merge_settings(meta.config),
        # only the window's log blocks (Java's includedInstantTimeSet)
        is_committed=window.__contains__,
        read_optimized=False,
        row_filter=pc.field(COMMIT_TIME).isin(data_times),
        columns=_check_columns(stored, columns),
        filter_columns=(COMMIT_TIME,),
    )


def _archived_writes_between(meta: MetaClient, start: str, end: str | None) -> list[LsmInstant]:
    """The archived commits (LSM timeline, table versions 8/9) that completed after
    ``start`` and up to ``end``, oldest first, as IncrementalQueryAnalyzer finds them in the
    archived timeline. The archived completion times are looked at first (kept per client
    while nothing is archived), so a window the archive does not reach reads no more."""
    history = meta.history
    if history is None:
        return []

    def in_window(completed: str) -> bool:
        return completed > start and (end is None or completed <= end)

    if not any(in_window(c) for c in history.all_completion_times().values()):
        return []
    rows = history.load(TimeRange(end=end), payloads=False)
    return [
        r
        for r in rows
        if r.action in Action.WRITES and in_window(r.completion_time or r.instant_time)
    ]


def _incremental_full_scan(
    meta: MetaClient,
    full: Timeline,
    writes: Sequence[Instant],
    archived: Sequence[LsmInstant],
    columns: Sequence[str] | None,
) -> ReadPlan:
    """An incremental query whose window reaches commits archived to the LSM timeline.

    Java's MergeOnReadIncrementalRelationV2 falls back to a full table scan then
    (``hoodie.datasource.read.incr.fallback.fulltablescan.enable``, on by default on table
    versions 8/9): the latest file slices of every partition rather than the files the
    window's commits wrote, merged with the window's log blocks only
    (``includedInstantTimeSet``), and the rows whose commit time is one of the window's
    commits. Read in the table's latest schema."""
    window = frozenset(i.time for i in writes) | {r.instant_time for r in archived}
    schema = meta.table_schema(full)
    stored = schema.arrow_with_meta if schema else _meta_only_schema()
    if schema is None:
        return _empty_plan(meta, stored, columns)
    view = FileSystemView.build(
        full, list_all_partitions(meta.storage), meta.replaced_file_groups(full)
    )
    return ReadPlan(
        meta=meta,
        schema=stored,
        slices=tuple(view.latest_slices()),
        settings=merge_settings(meta.config),
        is_committed=window.__contains__,
        read_optimized=False,
        row_filter=pc.field(COMMIT_TIME).isin(pa.array(sorted(window), pa.string())),
        columns=_check_columns(stored, columns),
        filter_columns=(COMMIT_TIME,),
    )


def _archived_write_as_of(
    meta: MetaClient, full: Timeline, as_of: str
) -> tuple[Instant, TableSchema | None] | None:
    """For time travel to before the active timeline's first commit (table versions 8/9):
    the latest archived commit at or before ``as_of``, as a completed instant with its
    completion time, and the schema its metadata recorded (None if it recorded none). None
    when ``as_of`` is on the active timeline or the LSM timeline has no such commit.

    Java reads such a table as of ``as_of`` like any other: instants before the active
    timeline count as committed, file slices at or before ``as_of`` are read."""
    history = meta.history
    start = full.start_time()
    if history is None or (start is not None and as_of >= start):
        return None
    rows = [
        r for r in history.load(TimeRange(end=as_of), payloads=False) if r.action in Action.WRITES
    ]
    if not rows:
        return None
    last = rows[-1]
    instant = Instant(last.instant_time, str(last.action), State.COMPLETED, last.completion_time)
    (whole,) = history.load(TimeRange(last.instant_time, last.instant_time))
    metadata = whole.commit_metadata()
    recorded = metadata.schema if metadata is not None else None
    return instant, TableSchema.from_avro(recorded) if recorded else None


def _check_not_cleaned(meta: MetaClient, timeline: Timeline, as_of: str) -> None:
    """Refuse time travel to where the cleaner may have deleted files, as Java does
    (``TimelineUtils.validateTimestampAsOf``): before the latest clean's earliest retained
    commit or, when that clean kept file versions instead, before the first completed
    write of the active timeline. Reading there would silently miss records."""
    if not any(i.action == Action.CLEAN for i in timeline.completed):
        return
    earliest = meta.earliest_clean_retained(timeline)
    if earliest is not None:
        if as_of < earliest:
            raise InvalidOptionError(
                f"as_of {as_of} is older than {earliest}, the earliest commit the cleaner "
                "retained: files that instant read may be gone (retain more commits with "
                "TableOptions.clean_retained to travel further back)"
            )
        return
    first = min((i.time for i in timeline.completed_writes), default=None)
    if first is not None and as_of < first:
        raise InvalidOptionError(
            f"as_of {as_of} is older than the first commit of the active timeline "
            f"({first}): it was cleaned or archived"
        )


def merge_settings(config: TableConfig) -> MergeSettings:
    """How a table's file slices are merged: its ordering field and merge semantics, and for
    a table without meta fields the key generator its record keys are computed with (what
    Java's log scanner does with ``hoodie.table.recordkey.fields`` then)."""
    keygen = None
    if not config.populate_meta_fields:
        keygen = config.key_generator()
    return MergeSettings(config.precombine_field, config.merge_semantics, keygen)


def _check_readable(meta: MetaClient) -> None:
    config = meta.config
    if config.base_file_format != PARQUET:
        raise UnsupportedTableError(
            f"base file format {config.base_file_format} is not supported (only PARQUET)"
        )
    if not config.populate_meta_fields:
        if not config.record_key_fields:
            raise UnsupportedTableError(
                "a table without meta fields must name its record key fields "
                "(hoodie.table.recordkey.fields)"
            )
        kind = (config.keygen_class or "").rsplit(".", 1)[-1]
        if kind and kind not in KeyGeneratorKind.ALL:
            raise UnsupportedTableError(
                f"a table without meta fields keyed by {config.keygen_class} cannot be read: "
                f"record keys are computed only for {', '.join(KeyGeneratorKind.ALL)} "
                "(the key generators Hudi allows without meta fields)"
            )


def _completed_at(instant: Any) -> str:
    return str(instant.completion_time or instant.time)


def _committed(timeline: Timeline, query_time: str) -> Callable[[str], bool]:
    completed = {i.time for i in timeline.completed if i.action in Action.WRITES}

    def check(instant: str) -> bool:
        if instant in completed:
            return True
        return timeline.is_completed(instant) and instant <= query_time

    return check


def _meta_only_schema() -> pa.Schema:
    return pa.schema([pa.field(n, pa.string()) for n in META_FIELDS])


def _instant_arg(value: str | None, name: str) -> str:
    text = str(value) if value is not None else ""
    # "000" (any run of zeros) is the "from the beginning" Hudi's docs pass to Spark
    valid = text.isdigit() and (len(text) in (8, 12, 14, 17) or not text.strip("0"))
    if not valid:
        raise InvalidOptionError(
            f"{name} must be an instant time like '20250331030642808' (yyyyMMddHHmmssSSS), "
            f"got {value!r}"
        )
    return text
