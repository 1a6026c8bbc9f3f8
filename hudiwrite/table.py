"""The public face: create or open a Hudi MOR table, write Arrow data to it, read it back."""

from __future__ import annotations

import logging
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs
import pyarrow as pa

from hudiwrite._arrow import type_paths
from hudiwrite.config import MergeMode, TableOptions
from hudiwrite.exceptions import (
    InvalidOptionError,
    SchemaMismatchError,
    TableExistsError,
    TableNotFoundError,
    UnsupportedTableError,
    UnsupportedTypeError,
)
from hudiwrite.formats.avro_schema import (
    TableSchema,
    avro_json,
    create_schema_style,
)
from hudiwrite.model.columns import META_FIELDS
from hudiwrite.model.keys import KeyGenerator, column_by_path
from hudiwrite.model.tableconfig import (
    Keys,
    MergeSemantics,
    PayloadClass,
    TableConfig,
)
from hudiwrite.read.inventory import FileSliceInfo, TableStats, latest_slices, table_stats
from hudiwrite.read.snapshot import (
    SCAN_BATCH_ROWS,
    Filter,
    plan_incremental,
    plan_snapshot,
)
from hudiwrite.services.archive import run_archive
from hudiwrite.services.clean import run_clean
from hudiwrite.services.compaction import complete_compactions as complete_pending
from hudiwrite.services.compaction import run_compaction
from hudiwrite.services.inline import run_inline_services, services_lock
from hudiwrite.services.rollback import rollback_failed_writes
from hudiwrite.services.settings import (
    ArchiveResult,
    CleanResult,
    CompactionResult,
)
from hudiwrite.storage import Storage
from hudiwrite.timeline.instant import Instant
from hudiwrite.timeline.layout import TableLayout, layout_for_version
from hudiwrite.timeline.metaclient import (
    MetaClient,
    config_exists,
    create_table_files,
    read_table_config,
)
from hudiwrite.timeline.metadata import CommitMetadata
from hudiwrite.write.context import WriteContext
from hudiwrite.write.planner import Operation
from hudiwrite.write.result import WriteResult
from hudiwrite.write.source import ArrowData, as_reader
from hudiwrite.write.transaction import run_write

__all__ = ["HudiTable", "WriteMode", "write_hudi"]

#: What :func:`write_hudi` does with its data.
WriteMode = Literal["upsert", "insert", "delete"]

log = logging.getLogger("hudiwrite")


def _table_name(uri: str, table_name: str | None) -> str:
    """The given or default table name, checked: it names Avro records."""
    name = table_name or _default_table_name(uri)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise InvalidOptionError(
            f"table_name {name!r} must be letters, digits and '_' (it names Avro records)"
        )
    return name


#: The ``TableOptions.merge_mode`` an opened version 8/9 table reports.
_MERGE_MODE_OF: Mapping[MergeSemantics, MergeMode] = {
    MergeSemantics.EVENT_TIME: "event_time_ordering",
    MergeSemantics.COMMIT_TIME: "commit_time_ordering",
}


def _options_of_table(config: TableConfig, base: TableOptions) -> TableOptions:
    """``base`` with the table-level options replaced by what the table's config says:
    version, merge semantics (payload class on 6, merge mode on 8/9), partition path
    encoding, database."""
    semantics = config.merge_semantics
    payload = base.payload_class
    mode: MergeMode | None = None
    if config.version >= 8:
        mode = _MERGE_MODE_OF.get(semantics)
        payload = None
    elif config.payload_class in PayloadClass.SUPPORTED:
        payload = config.payload_class
    # Spark-Hudi 0.15 writes ``hoodie.database.name=`` (empty) when no database is set.
    database = config.get(Keys.DATABASE) or None
    return attrs.evolve(
        base,
        table_version=config.version,
        payload_class=payload,
        merge_mode=mode,
        url_encode_partitions=config.url_encode,
        database_name=database,
    )


def _creatable_layout(version: int, data_schema: pa.Schema) -> TableLayout:
    """The layout of a new table of ``version``, refusing versions hudiwrite does not write
    and types the version cannot store."""
    layout = layout_for_version(version)
    if not layout.writable:
        raise UnsupportedTableError(f"creating tables of version {version} is not supported")
    naive = type_paths(data_schema, lambda t: pa.types.is_timestamp(t) and t.tz is None)
    if naive and not layout.local_timestamps:
        raise UnsupportedTypeError(
            f"column(s) {', '.join(naive)}: timestamps without a time zone cannot be stored "
            f"in a table of version {version} (Hudi 0.x, which Spark-Hudi 0.15 "
            "and Athena read, has no such type); give them one, e.g. "
            "cast to pa.timestamp('us', tz='UTC')"
        )
    return layout


def _check_key_fields(keygen: KeyGenerator, schema: pa.Schema, ordering_field: str | None) -> None:
    """Key, partition and ordering fields exist in ``schema`` with usable types
    (SchemaMismatchError, UnsupportedTypeError or InvalidOptionError otherwise)."""
    empty = schema.empty_table()
    for field in keygen.fields:
        column_by_path(empty, field)  # raises SchemaMismatchError if absent
    keygen.record_keys(empty)  # type checks of key and partition fields
    keygen.partition_paths(empty)
    if ordering_field is not None:
        column_by_path(empty, ordering_field)
        _check_ordering_type(empty, ordering_field)


def _fields(value: str | Sequence[str] | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    out = tuple(value)
    if not all(isinstance(v, str) and v for v in out):
        raise InvalidOptionError(f"{what} must be a column name or a list of column names")
    if len(set(out)) != len(out):
        raise InvalidOptionError(f"{what} lists a column twice")
    return out


def _default_table_name(uri: str) -> str:
    base = posixpath.basename(str(uri).rstrip("/")) or "hudi_table"
    name = re.sub(r"[^A-Za-z0-9_]", "_", base)
    if name[0].isdigit():
        name = "_" + name
    return name


class HudiTable:
    """A Hudi Merge-on-Read table at a local path or fsspec URL.

    Create one with :meth:`create`; open an existing one (including tables Spark wrote) with
    ``HudiTable(uri)`` or :meth:`open`, as ``DeltaTable(uri)`` and hudi-rs's
    ``HudiTable(uri)`` do. Writes are atomic: each becomes visible all at once when its
    commit file is written, or not at all.
    """

    def __init__(
        self,
        uri: str,
        *,
        storage_options: Mapping[str, Any] | None = None,
        options: TableOptions | None = None,
    ) -> None:
        """Open the existing table at ``uri`` (the same as :meth:`open`).

        Raises TableNotFoundError when there is no table, CorruptTableError when its
        ``hoodie.properties`` is unusable, InvalidOptionError for a bad location or options.
        """
        storage = Storage(uri, storage_options)
        config = read_table_config(storage)
        meta = MetaClient(storage, config)  # refuses table versions it cannot read
        self._meta = meta
        self._options = _options_of_table(config, _options(options))

    @classmethod
    def _attach(cls, meta: MetaClient, options: TableOptions) -> HudiTable:
        """A handle on a table whose config is already read (``create``)."""
        table = cls.__new__(cls)
        table._meta = meta
        table._options = options
        return table

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        uri: str,
        schema: pa.Schema,
        *,
        record_key: str | Sequence[str],
        partition_by: str | Sequence[str] | None = None,
        ordering_field: str | None = None,
        table_name: str | None = None,
        hive_style_partitioning: bool = True,
        options: TableOptions | None = None,
        storage_options: Mapping[str, Any] | None = None,
    ) -> HudiTable:
        """Create an empty table; ``TableExistsError`` if one is already there.

        ``schema`` holds the data columns (no ``_hoodie_*`` meta columns). ``record_key``
        names one or more columns; several make Hudi's ComplexKeyGenerator keys. Without
        ``partition_by`` the table is non-partitioned. ``ordering_field`` (Hudi's precombine
        field) decides which of several records with one key wins.

        Returns the handle. Raises InvalidOptionError for bad arguments or options,
        SchemaMismatchError when a key, partition or ordering column is missing,
        UnsupportedTypeError for types the table version cannot store, UnsupportedTableError
        for a table version hudiwrite does not write. Nothing is written before these checks.
        """
        options = _options(options)
        if not isinstance(schema, pa.Schema):
            raise InvalidOptionError("schema must be a pyarrow.Schema")
        keys = _fields(record_key, "record_key")
        partitions = _fields(partition_by, "partition_by")
        if not keys:
            raise InvalidOptionError("record_key must name at least one column")
        name = _table_name(uri, table_name)
        data_schema = pa.schema([f for f in schema if f.name not in META_FIELDS])
        layout = _creatable_layout(options.table_version, data_schema)
        table_schema_ = TableSchema.from_arrow(data_schema, name)
        keygen = KeyGenerator.infer(
            keys,
            partitions,
            hive_style=hive_style_partitioning,
            url_encode=options.url_encode_partitions,
        )
        _check_key_fields(keygen, table_schema_.arrow, ordering_field)

        storage = Storage(uri, storage_options)
        if config_exists(storage):
            raise TableExistsError(f"a Hudi table already exists at {uri!r}")
        config = TableConfig.for_new_table(
            name=name,
            version=options.table_version,
            timeline_layout=layout.timeline_layout_version,
            record_keys=keys,
            partition_fields=partitions,
            keygen_class=keygen.class_name,
            hive_style=hive_style_partitioning,
            url_encode=options.url_encode_partitions,
            payload_class=options.payload_class,
            merge_mode=options.merge_mode,
            create_schema=avro_json(create_schema_style(table_schema_.avro)),
            ordering_field=ordering_field,
            database=options.database_name,
        )
        try:
            create_table_files(storage, config)
        except FileExistsError:
            raise TableExistsError(f"a Hudi table already exists at {uri!r}") from None
        return cls._attach(MetaClient(storage, config), _options_of_table(config, options))

    @classmethod
    def open(
        cls,
        uri: str,
        *,
        storage_options: Mapping[str, Any] | None = None,
        options: TableOptions | None = None,
    ) -> HudiTable:
        """Open an existing table; ``HudiTable(uri)`` does the same.

        Table-level settings come from the table's ``hoodie.properties``; ``options`` only
        sets how this handle writes (block format, compression, sizes). Raises
        TableNotFoundError when there is no table, CorruptTableError when its config is
        unusable, InvalidOptionError for a bad location or options.
        """
        return cls(uri, storage_options=storage_options, options=options)

    # -- properties --------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        return self._meta.storage.uri

    @property
    def name(self) -> str:
        return self._meta.config.name

    @property
    def table_version(self) -> int:
        return self._meta.config.version

    @property
    def options(self) -> TableOptions:
        return self._options

    @property
    def properties(self) -> Mapping[str, str]:
        """The table's ``hoodie.properties`` as a read-only mapping."""
        return dict(self._meta.config.props)

    def schema(self) -> pa.Schema:
        """The table's data schema (no meta columns) as Arrow: the schema recorded by the
        latest completed write, else the one the table was created with. Lists the timeline
        and reads commit metadata on each call.

        Raises SchemaMismatchError when the table records no schema or its stored schema
        is not an Avro record (UnsupportedTypeError, a subclass, for a type hudiwrite does
        not read), CorruptTableError when a commit file is damaged; storage errors
        (``OSError``) pass through."""
        ts = self._meta.table_schema()
        if ts is None:
            raise SchemaMismatchError("the table has no schema yet")
        return ts.arrow

    # -- writes -----------------------------------------------------------------------------

    def upsert(self, data: ArrowData) -> WriteResult:
        """Insert new keys and replace existing ones (one atomic delta commit).

        Returns a :class:`WriteResult`. Raises InvalidRecordError for bad rows (null or
        ambiguous keys, bad partition values), SchemaMismatchError and UnsupportedTypeError
        for columns that do not fit the table, InvalidOptionError for data that is not
        Arrow, UnsupportedTableError for a table hudiwrite cannot write, CommitConflictError
        when a concurrent writer changed the same file groups (retry), CorruptTableError for
        damaged table files. On any error the table is left as it was."""
        return self._write(Operation.UPSERT, data)

    def insert(self, data: ArrowData) -> WriteResult:
        """Insert new keys. A key that already exists is an error (or skipped, see
        ``TableOptions.insert_duplicates``); the table is left unchanged on error.

        Returns a :class:`WriteResult`; raises as :meth:`upsert` does."""
        return self._write(Operation.INSERT, data)

    def delete(self, keys: ArrowData) -> WriteResult:
        """Delete the records whose keys appear in ``keys`` (Arrow data holding the record key
        and partition columns). Keys not in the table are ignored (counted in
        ``WriteResult.num_skipped``).

        Returns a :class:`WriteResult`; raises as :meth:`upsert` does."""
        return self._write(Operation.DELETE, keys)

    def _write(self, operation: Operation, data: ArrowData) -> WriteResult:
        ctx = self._write_context()

        def before_start() -> bool:
            changed = self._meta.drop_metadata_table()
            if self._options.rollback_failed_writes == "eager":
                interval = self._options.heartbeat_interval
                changed = bool(rollback_failed_writes(self._meta, interval)) or changed
            return changed

        def complete_compactions(instants: Sequence[str]) -> None:
            with services_lock(self._meta, self._options.heartbeat_interval):
                complete_pending(self._meta, self._options.compaction_settings(), instants)

        result = run_write(
            self._meta,
            ctx,
            operation,
            data,
            before_start=before_start,
            complete_compactions=complete_compactions,
        )
        # The write checked the table is writable a moment ago: not read again.
        run_inline_services(self._meta, self._options.inline_settings())
        return result

    # -- table services ---------------------------------------------------------------------

    def compact(self, *, plan_only: bool = False) -> CompactionResult:
        """Schedule a compaction of every file group with log files, and (unless
        ``plan_only``) execute all pending compaction plans, including ones another process
        scheduled. Raises UnsupportedTableError for a table hudiwrite cannot write,
        CommitConflictError while another process runs table services."""
        self._prepare_services()
        if self._options.rollback_failed_writes == "eager":
            # A failed write would block scheduling (a plan must not overlap a pending write).
            rollback_failed_writes(self._meta, self._options.heartbeat_interval)
        with services_lock(self._meta, self._options.heartbeat_interval):
            return run_compaction(
                self._meta, self._options.compaction_settings(), plan_only=plan_only
            )

    def clean(self) -> CleanResult:
        """Delete file slices no retained commit reads (``TableOptions.clean_policy``).
        Raises as :meth:`compact` does."""
        self._prepare_services()
        with services_lock(self._meta, self._options.heartbeat_interval):
            return run_clean(self._meta, self._options.clean_settings())

    def archive(self) -> ArchiveResult:
        """Move the oldest instants out of the active timeline into the archived timeline
        (``.hoodie/archived/`` on version 6, the LSM timeline in
        ``.hoodie/timeline/history/`` on 8/9), as Java's archivers do. Returns what was
        archived. Raises as :meth:`compact` does."""
        self._prepare_services()
        with services_lock(self._meta, self._options.heartbeat_interval):
            return run_archive(self._meta, self._options.archive_settings())

    def rollback_failed(self) -> tuple[Instant, ...]:
        """Roll back every write that started and never completed and whose writer is dead
        (a crash mid-write: its heartbeat is gone, expired, or names a process of this host
        that no longer runs), and finish rollbacks that were themselves interrupted. A
        concurrent writer's live write is left alone. Returns the rolled-back instants;
        raises UnsupportedTableError for a table hudiwrite cannot write."""
        self._prepare_services()
        return rollback_failed_writes(self._meta, self._options.heartbeat_interval)

    def _prepare_services(self) -> None:
        self._meta.reload_config()
        self._meta.require_writable("table services")

    def _write_context(self) -> WriteContext:
        meta = self._meta
        meta.reload_config()
        config = meta.config
        layout = meta.layout
        meta.require_writable("a write")
        timeline = meta.timeline()
        schema = meta.table_schema(timeline)
        if schema is None:
            raise SchemaMismatchError("the table has no schema (no commit, no create schema)")
        keygen = config.key_generator()
        semantics = config.merge_semantics  # UnsupportedTableError for unknown payloads
        opts = self._options
        return WriteContext(
            table_name=config.name,
            schema=schema,
            keygen=keygen,
            ordering_field=config.precombine_field,
            merge_semantics=semantics,
            layout=layout,
            settings=opts.write_settings(),
        )

    # -- reads ------------------------------------------------------------------------------

    def to_arrow(
        self,
        columns: Sequence[str] | None = None,
        *,
        filters: Sequence[Filter] | None = None,
        as_of: str | None = None,
        read_optimized: bool = False,
    ) -> pa.Table:
        """The table's rows (meta columns included), merged as Hudi readers merge them.

        ``columns`` selects columns; ``filters`` is a list of ``(column, op, value)`` with op
        one of ``= != < <= > >= in "not in"`` (all must hold; partition filters prune
        partitions before any file is opened); ``as_of`` an instant time for time travel;
        ``read_optimized`` reads base files only, as Hudi's read-optimized query does.

        Raises InvalidOptionError for unknown columns, malformed filters or an ``as_of``
        that is not an instant time, and CorruptTableError for damaged table files.
        """
        plan = plan_snapshot(
            self._meta, columns=columns, filters=filters, as_of=as_of, read_optimized=read_optimized
        )
        return plan.to_table(self._options.max_workers)

    def scan(
        self,
        columns: Sequence[str] | None = None,
        *,
        filters: Sequence[Filter] | None = None,
        as_of: str | None = None,
        read_optimized: bool = False,
        batch_size: int = SCAN_BATCH_ROWS,
    ) -> pa.RecordBatchReader:
        """Like :meth:`to_arrow`, streamed: file slice after file slice, each base file
        decoded ``batch_size`` rows at a time and merged with the slice's log records, so
        memory holds one slice's log records and a batch, not the table or the slice.
        Raises as :meth:`to_arrow` does (corrupt files when the stream reaches them)."""
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise InvalidOptionError(f"batch_size must be a positive int, not {batch_size!r}")
        plan = plan_snapshot(
            self._meta, columns=columns, filters=filters, as_of=as_of, read_optimized=read_optimized
        )
        return plan.to_reader(batch_size)

    def read_incremental(
        self, start: str, end: str | None = None, *, columns: Sequence[str] | None = None
    ) -> pa.Table:
        """Records changed by the commits after ``start`` up to ``end`` (instant times; the
        completion time on table versions 8/9), in their state as of ``end``. Raises
        InvalidOptionError when ``start`` or ``end`` is not an instant time (an ``end``
        before ``start`` selects nothing), CorruptTableError for damaged table files."""
        plan = plan_incremental(self._meta, start, end, columns)
        return plan.to_table(self._options.max_workers)

    # -- what the table holds --------------------------------------------------------------

    def partitions(self) -> tuple[str, ...]:
        """The partition paths that hold data in the latest snapshot, sorted (``("",)`` for
        a non-partitioned table with data; ``()`` for an empty table)."""
        return tuple(sorted({s.partition for s in latest_slices(self._meta)}))

    def file_slices(self, partition: str | None = None) -> tuple[FileSliceInfo, ...]:
        """The file slices a snapshot query reads now: every partition's, or one
        ``partition`` path's (``()`` if it has none). Raises InvalidOptionError for a
        ``partition`` that is not a string."""
        if partition is not None and not isinstance(partition, str):
            raise InvalidOptionError(f"partition must be a path string, not {partition!r}")
        return tuple(FileSliceInfo._of(s) for s in latest_slices(self._meta, partition))

    def stats(self) -> TableStats:
        """File groups, files, bytes and base-file rows per partition of the latest
        snapshot (reads each base file's footer, not its data). Raises CorruptTableError
        for a base file that is not parquet."""
        return table_stats(self._meta, latest_slices(self._meta))

    def commit_metadata(self, instant: str | Instant) -> CommitMetadata:
        """The metadata Hudi recorded for a completed write or compaction on the active
        timeline: write statistics per partition, operation, schema. Raises
        InvalidOptionError when no such completed instant is on the active timeline, and
        CorruptTableError when its file is damaged."""
        time = instant.time if isinstance(instant, Instant) else instant
        if not isinstance(time, str):
            raise InvalidOptionError(f"instant must be an instant time or Instant, not {time!r}")
        for candidate in self._meta.timeline().completed_writes:
            if candidate.time == time:
                return self._meta.commit_metadata(candidate)
        raise InvalidOptionError(
            f"no completed write or compaction {time!r} on the active timeline of {self.uri!r}"
        )

    def timeline(self) -> tuple[Instant, ...]:
        """The instants of the active timeline, oldest first, each with its time, action and
        state (and completion time on table versions 8/9); archived instants are not
        included. Lists the timeline folder on each call; storage errors (``OSError``) pass
        through."""
        return self._meta.timeline().instants

    def schema_with_meta(self) -> pa.Schema:
        """The stored schema of the latest commit: the five meta columns, then the data.
        Reads the timeline; SchemaMismatchError when no commit recorded a schema yet."""
        ts = self._meta.table_schema()
        if ts is None:
            raise SchemaMismatchError("the table has no schema yet")
        return ts.arrow_with_meta

    def __repr__(self) -> str:
        return f"HudiTable({self.uri!r}, name={self.name!r}, version={self.table_version})"


def _check_ordering_type(empty: pa.Table, field: str) -> None:
    dtype = column_by_path(empty, field).type
    if pa.types.is_nested(dtype) or pa.types.is_binary(dtype) or pa.types.is_null(dtype):
        raise UnsupportedTypeError(f"ordering field {field!r} of type {dtype} is not comparable")


def _options(options: object) -> TableOptions:
    """``options`` as given, or the defaults; anything else is InvalidOptionError."""
    if options is None:
        return TableOptions()
    if not isinstance(options, TableOptions):
        raise InvalidOptionError(
            f"options must be a hudiwrite.TableOptions, got {type(options).__name__} "
            f"{options!r:.60}"
        )
    return options


def write_hudi(
    uri: str,
    data: ArrowData,
    *,
    mode: WriteMode = "upsert",
    record_key: str | Sequence[str],
    partition_by: str | Sequence[str] | None = None,
    ordering_field: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    options: TableOptions | None = None,
) -> WriteResult:
    """Write ``data`` to the table at ``uri``, creating the table if there is none.

    ``mode`` is ``"upsert"``, ``"insert"`` or ``"delete"``.
    """
    if mode not in ("upsert", "insert", "delete"):
        raise InvalidOptionError(f"mode must be 'upsert', 'insert' or 'delete', got {mode!r}")
    try:
        table = HudiTable.open(uri, storage_options=storage_options, options=options)
    except TableNotFoundError:
        if mode == "delete":
            raise
        reader = as_reader(data)
        storage = Storage(uri, storage_options)
        before = storage.top_level_names()
        try:
            table = HudiTable.create(
                uri,
                reader.schema,
                record_key=record_key,
                partition_by=partition_by,
                ordering_field=ordering_field,
                options=options,
                storage_options=storage_options,
            )
        except TableExistsError:  # another process created it just now: write to theirs
            table = HudiTable.open(uri, storage_options=storage_options, options=options)
            return table.upsert(reader) if mode == "upsert" else table.insert(reader)
        except BaseException:
            if before is None:  # validation failed before anything was written, or I/O did
                storage.delete_tree("")
            raise
        try:
            return table.upsert(reader) if mode == "upsert" else table.insert(reader)
        except BaseException:
            # This call created the table: leave nothing behind (the folder too, if this
            # call made it); nothing that was there before is touched.
            if before is None:
                storage.delete_tree("")
            else:
                for name in (storage.top_level_names() or set()) - before:
                    storage.delete_tree(name)
            raise
    method = {"upsert": table.upsert, "insert": table.insert, "delete": table.delete}[mode]
    return method(data)
