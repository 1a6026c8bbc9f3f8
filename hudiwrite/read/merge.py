"""Merging a file slice: base file plus log blocks, with the table's merge semantics.

The log scanner's rules (protocol §6.2, §6.3; protocol-v8 §2.2, §4.2) are applied block by
block, and within a block as one vectorised step: blocks are few, rows are many. Per key the
state is the winning record so far, or a delete marker carrying the delete's ordering value.

Four semantics cover the payload classes of table version 6 and the merge modes of 8/9:

==================  ==========================  ============================  ======================
semantics           record vs older record      delete vs older record        merged log vs base
==================  ==========================  ============================  ======================
overwrite_payload   newer wins unless the        delete wins unless its        log replaces base
(v6 OverwriteWith-  older's ordering value is    ordering value is non-zero,
LatestAvroPayload)  strictly greater             of the record's type and
                                                 strictly smaller
default_payload     as above                     as above                      base kept if its
(v6 Default...)                                                                ordering is greater;
                                                                               deletes remove it
event_time          as above                     delete wins unless non-zero   as for records; a
(v8/9 EVENT_TIME_                                and strictly smaller          delete also loses to
ORDERING)                                                                      a greater base value
commit_time         newer wins                   delete wins                   log replaces base
==================  ==========================  ============================  ======================

A record after a delete always wins; a record whose ``_hoodie_is_deleted`` is true, or whose
``_hoodie_operation`` is ``D``, counts as a delete once the merge is done.

Every base row of a key the logs touch is merged with the key's log record, one output row
per base row: a base file holding a key twice (``bulk_insert`` lets duplicates in) yields the
merged record twice, as Java's compaction (``HoodieMergeHandle``), the Hive/Presto reader and
Spark-Hudi 1.x's file group reader do.

Partial updates (table version 8+: data blocks whose ``IS_PARTIAL`` header is true, written by
Spark SQL's ``MERGE INTO ... UPDATE SET`` of some columns) hold only the updated columns. The
columns a partial record lacks come from the record it merges with: of two records of a key,
the winner's columns overlay the loser's (Java's ``SparkRecordMergingUtils.mergePartialRecords``),
against log records and the base row alike.

Tables without meta fields (``hoodie.populate.meta.fields=false``) store no record keys: the
key is computed from the key generator's fields, in the base file and in every log block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from hudiwrite._arrow import arange, conform_to_schema, take_last_per_key
from hudiwrite.exceptions import CorruptTableError
from hudiwrite.formats.logblock.avro_data import read_avro_block_content
from hudiwrite.formats.logblock.delete import decode_delete_records, ordering_kind_for
from hudiwrite.formats.logblock.frame import BlockType, HeaderKey, LogBlock
from hudiwrite.formats.logblock.parquet_data import read_parquet_block_content
from hudiwrite.formats.logfile import CorruptBlock, LogFileBlock, iter_blocks
from hudiwrite.model.columns import IS_DELETED, OPERATION, RECORD_KEY
from hudiwrite.model.filegroup import FileSlice
from hudiwrite.model.keys import KeyGenerator
from hudiwrite.model.tableconfig import MergeSemantics as Semantics
from hudiwrite.storage import Storage, unreadable_as_corrupt

__all__ = ["MergeSettings", "Semantics", "iter_slice", "read_base", "read_slice"]


_KIND = "__kind"  # 0 data, 1 delete
_ORD = "__ord"
_ROW = "__row"  # the winning record's row among all data blocks of the slice, stacked
_DATA, _DELETE = 0, 1


@attrs.frozen
class MergeSettings:
    ordering_field: str | None
    semantics: Semantics = Semantics.OVERWRITE_PAYLOAD
    #: Tables without meta fields: record keys are computed with this key generator (the
    #: schema read must hold ``_hoodie_record_key``, filled here, and the key fields).
    keygen: KeyGenerator | None = None

    @property
    def uses_ordering(self) -> bool:
        return self.semantics != Semantics.COMMIT_TIME

    @property
    def base_may_win(self) -> bool:
        return self.semantics in (Semantics.DEFAULT_PAYLOAD, Semantics.EVENT_TIME)


def _valid_blocks(
    storage: Storage, file_slice: FileSlice, is_committed: Callable[[str], bool]
) -> list[LogBlock]:
    """Data and delete blocks of the slice's logs that count, in order (protocol §6.2):
    blocks of instants not committed (for this query) are skipped, a rollback command block
    removes the earlier blocks of its target, corrupt blocks are skipped."""
    kept: list[LogBlock] = []
    for log_file in file_slice.log_files:
        data = storage.read_bytes(log_file.path)
        for entry in iter_blocks(data):
            if isinstance(entry, CorruptBlock):
                continue
            assert isinstance(entry, LogFileBlock)
            block = entry.block
            if block.block_type == BlockType.COMMAND_BLOCK:
                target = block.get(HeaderKey.TARGET_INSTANT_TIME)
                kept = [b for b in kept if b.instant_time != target]
                continue
            if block.block_type not in (
                BlockType.AVRO_DATA_BLOCK,
                BlockType.PARQUET_DATA_BLOCK,
                BlockType.DELETE_BLOCK,
            ):
                continue
            instant = block.instant_time
            if instant is None or not is_committed(instant):
                continue
            kept.append(block)
    return kept


def _decode_data(
    block: LogBlock, schema: pa.Schema, settings: MergeSettings
) -> tuple[pa.Table, frozenset[str] | None]:
    """The block's records in ``schema``, and for a partial-update block the columns it
    holds (None for a block of whole records, whatever columns older schemas lacked)."""
    if block.block_type == BlockType.PARQUET_DATA_BLOCK:
        table = read_parquet_block_content(block.content)
    else:
        writer_schema = block.schema
        if writer_schema is None:
            raise CorruptTableError("Avro data block without a SCHEMA header")
        table = read_avro_block_content(block.content, writer_schema)
    partial = (block.get(HeaderKey.IS_PARTIAL) or "").strip().lower() == "true"
    present = frozenset(table.column_names) if partial else None
    return with_record_keys(conform_to_schema(table, schema), settings), present


def with_record_keys(table: pa.Table, settings: MergeSettings) -> pa.Table:
    """``table`` with its record keys computed by the key generator, for tables without meta
    fields (their ``_hoodie_record_key`` is null); unchanged otherwise. Only a slice with
    logs needs them: merging is by key."""
    keygen = settings.keygen
    if keygen is None:
        return table
    keys = keygen.record_keys(table)
    index = table.schema.get_field_index(RECORD_KEY)
    if index < 0:
        return table.append_column(RECORD_KEY, keys)
    return table.set_column(index, table.schema.field(index), keys)


class _Fold:
    """The per-key winner over the blocks read so far.

    Data blocks are stacked in the order they are added; a winner is a row of that stack.
    Columns that some partial-update block lacks (``sparse``) carry a row pointer of their
    own per key: where the key's value of that column comes from (null: no record of the key
    had it yet).
    """

    def __init__(
        self, settings: MergeSettings, schema: pa.Schema, sparse: Sequence[str] = ()
    ) -> None:
        self.settings = settings
        field = settings.ordering_field
        self.ord_type: pa.DataType = (
            schema.field(field).type if field and field in schema.names else pa.int32()
        )
        self.ord_kind = int(ordering_kind_for(self.ord_type))
        self.state: pa.Table | None = None
        self.data_blocks: list[pa.Table] = []
        self.stacked_rows = 0
        self.sparse = tuple(sparse)
        self._pointers = tuple(f"__col{i}" for i in range(len(self.sparse)))
        #: After ``result``: per sparse column, true where the record lacks it.
        self.absent: dict[str, pa.Array] = {}

    def ordering(self, table: pa.Table) -> pa.Array:
        field = self.settings.ordering_field
        if field and field in table.column_names:
            return table.column(field)
        return pa.repeat(pa.scalar(0, self.ord_type), table.num_rows)

    def _candidates(
        self,
        keys: pa.Array,
        kind: int,
        ordering: pa.Array,
        offset: int,
        present: frozenset[str] | None,
    ) -> pa.Table:
        order = [ordering] if self.settings.uses_ordering and kind == _DATA else []
        winners = take_last_per_key([keys], order)
        n = len(winners)
        rows = pc.add(winners, offset)
        columns = {
            RECORD_KEY: pc.take(keys, winners),
            _KIND: pa.repeat(pa.scalar(kind, pa.int8()), n),
            _ORD: pc.take(ordering, winners),
            _ROW: rows,
        }
        for name, pointer in zip(self.sparse, self._pointers, strict=True):
            has = kind == _DATA and (present is None or name in present)
            columns[pointer] = rows if has else pa.nulls(n, pa.int64())
        return pa.table(columns)

    def add_data(self, index: int, table: pa.Table, present: frozenset[str] | None = None) -> None:
        """A data block (in reading order; ``index`` is its position among the slice's
        blocks); ``present``: the columns of a partial-update block."""
        offset = self.stacked_rows
        self.data_blocks.append(table)
        self.stacked_rows += table.num_rows
        self._combine(
            self._candidates(table.column(RECORD_KEY), _DATA, self.ordering(table), offset, present)
        )

    def add_deletes(self, index: int, content: bytes) -> None:
        records = decode_delete_records(content)
        n = len(records)
        if n == 0:
            return
        self._combine(
            self._candidates(records.record_keys, _DELETE, self._delete_ordering(records), 0, None)
        )

    def _delete_ordering(self, records: object) -> pa.Array:
        """Each delete's ordering value in the ordering field's type where it can lose to an
        older record (non-zero, and for v6 payloads of the record's Java type), else null."""
        kinds = records.ordering_kinds.cast(pa.int8())  # type: ignore[attr-defined]
        values = records.ordering_values  # type: ignore[attr-defined]
        n = len(kinds)
        if not self.settings.uses_ordering or pa.types.is_union(values.type):
            return pa.nulls(n, self.ord_type)
        if pa.types.is_null(values.type):
            return pa.nulls(n, self.ord_type)
        try:
            cast = values.cast(self.ord_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return pa.nulls(n, self.ord_type)
        if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
            zero = pc.fill_null(pc.equal(values.cast(pa.float64()), 0.0), False)
        else:
            zero = pa.repeat(pa.scalar(False), n)
        comparable = pc.invert(zero)
        if self.settings.semantics in (Semantics.OVERWRITE_PAYLOAD, Semantics.DEFAULT_PAYLOAD):
            same = pc.fill_null(pc.equal(kinds, pa.scalar(self.ord_kind, pa.int8())), False)
            comparable = pc.and_(comparable, same)
        return pc.if_else(comparable, cast, pa.scalar(None, self.ord_type))

    def _combine(self, cand: pa.Table) -> None:
        if self.state is None or self.state.num_rows == 0:
            self.state = cand
            return
        joined = self.state.join(
            cand, keys=RECORD_KEY, right_suffix="_new", join_type="full outer", use_threads=False
        )
        has_new = pc.is_valid(joined.column(_KIND + "_new"))
        has_old = pc.is_valid(joined.column(_KIND))
        old_is_data = pc.fill_null(pc.equal(joined.column(_KIND), _DATA), False)
        if self.settings.uses_ordering:
            # A record or delete loses only to an older record whose ordering value is
            # strictly greater (and comparable: null comparisons are false).
            old_greater = pc.fill_null(
                pc.greater(joined.column(_ORD), joined.column(_ORD + "_new")), False
            )
            keep_old = pc.and_(old_is_data, old_greater)
        else:
            keep_old = pa.repeat(pa.scalar(False), joined.num_rows)
        take_new = pc.and_(has_new, pc.or_(pc.invert(has_old), pc.invert(keep_old)))
        columns = {
            name: pc.if_else(take_new, joined.column(name + "_new"), joined.column(name))
            for name in (_KIND, _ORD, _ROW)
        }
        if self._pointers:
            # Of two records, the winner's columns overlay the loser's.
            new_is_data = pc.fill_null(pc.equal(joined.column(_KIND + "_new"), _DATA), False)
            both_data = pc.and_(old_is_data, new_is_data)
            for pointer in self._pointers:
                old, new = joined.column(pointer), joined.column(pointer + "_new")
                winner = pc.if_else(take_new, new, old)
                loser = pc.if_else(take_new, old, new)
                columns[pointer] = pc.if_else(pc.and_(both_data, pc.is_null(winner)), loser, winner)
        self.state = pa.table({RECORD_KEY: joined.column(RECORD_KEY), **columns})

    def result(self, schema: pa.Schema) -> tuple[pa.Table, pa.Table]:
        """(winning data records, winning deletes as a (key, ordering) table); ``absent``
        then tells which sparse columns each record lacks."""
        self.absent = {}
        state = self.state
        if state is None or state.num_rows == 0:
            deletes = pa.table(
                {RECORD_KEY: pa.array([], pa.string()), _ORD: pa.nulls(0, self.ord_type)}
            )
            return schema.empty_table(), deletes
        is_data = pc.equal(state.column(_KIND), _DATA)
        data_state = state.filter(is_data)
        deletes = state.filter(pc.invert(is_data)).select([RECORD_KEY, _ORD])
        if not self.data_blocks:
            return schema.empty_table(), deletes
        stacked = pa.concat_tables(self.data_blocks)
        records = stacked.take(data_state.column(_ROW))
        for name, pointer in zip(self.sparse, self._pointers, strict=True):
            rows = data_state.column(pointer)
            index = records.schema.get_field_index(name)
            values = stacked.column(name).take(rows)
            records = records.set_column(index, records.schema.field(index), values)
            self.absent[name] = _as_array(pc.is_null(rows))
        return records, deletes


def read_base(storage: Storage, file_slice: FileSlice, schema: pa.Schema) -> pa.Table:
    """The base file's rows in ``schema``: only its columns are decoded (a projection), and
    columns the file predates come out as nulls."""
    if file_slice.base_file is None:
        return schema.empty_table()
    path = file_slice.base_file.path
    pf = storage.parquet_file(path, file_slice.base_file.size)
    present = set(pf.schema_arrow.names)
    with unreadable_as_corrupt(path):
        table = pf.read(columns=[name for name in schema.names if name in present])
    return conform_to_schema(table, schema)


def read_slice(
    storage: Storage,
    file_slice: FileSlice,
    schema: pa.Schema,
    settings: MergeSettings,
    *,
    is_committed: Callable[[str], bool],
    read_optimized: bool = False,
) -> pa.Table:
    """The merged rows of one file slice, in ``schema`` (meta columns included)."""
    base = read_base(storage, file_slice, schema)
    if read_optimized:
        return base
    logs = _fold_logs(storage, file_slice, schema, settings, is_committed)
    if logs is None:
        return _drop_deletes(base)
    return _drop_deletes(_merge_with_base(with_record_keys(base, settings), *logs))


def iter_slice(
    storage: Storage,
    file_slice: FileSlice,
    schema: pa.Schema,
    settings: MergeSettings,
    *,
    is_committed: Callable[[str], bool],
    read_optimized: bool = False,
    batch_rows: int = 65_536,
) -> Iterator[pa.Table]:
    """The rows of :func:`read_slice` in pieces: the base file is decoded ``batch_rows`` at a
    time and merged piece by piece, so memory holds the slice's log records and one base
    batch, not the whole slice. Log records no base row matched come last."""
    pieces = _base_batches(storage, file_slice, schema, batch_rows)
    if read_optimized:
        yield from pieces
        return
    logs = _fold_logs(storage, file_slice, schema, settings, is_committed)
    if logs is None:
        for piece in pieces:
            yield _drop_deletes(piece)
        return
    records, deletes, settings, fold = logs
    matched: list[pa.Array | pa.ChunkedArray] = []
    seen = _SeenKeys()
    for piece in pieces:
        piece = with_record_keys(piece, settings)
        kept, log_rows_matched = _merge_base(piece, records, deletes, settings, fold, seen)
        matched.append(log_rows_matched)
        yield _drop_deletes(kept)
    yield _drop_deletes(_without_rows(records, matched))


def _base_batches(
    storage: Storage, file_slice: FileSlice, schema: pa.Schema, batch_rows: int
) -> Iterator[pa.Table]:
    if file_slice.base_file is None:
        return
    path = file_slice.base_file.path
    pf = storage.parquet_file(path, file_slice.base_file.size)
    present = set(pf.schema_arrow.names)
    columns = [name for name in schema.names if name in present]
    batches = pf.iter_batches(batch_size=batch_rows, columns=columns)
    while True:
        with unreadable_as_corrupt(path):
            batch = next(batches, None)
        if batch is None:
            return
        yield conform_to_schema(pa.Table.from_batches([batch]), schema)


def _fold_logs(
    storage: Storage,
    file_slice: FileSlice,
    schema: pa.Schema,
    settings: MergeSettings,
    is_committed: Callable[[str], bool],
) -> tuple[pa.Table, pa.Table, MergeSettings, _Fold] | None:
    """The slice's log blocks folded to one record per key and the deletes; None if the
    slice has no valid log block."""
    blocks = _valid_blocks(storage, file_slice, is_committed) if file_slice.log_files else []
    if not blocks:
        return None
    decoded: list[tuple[int, LogBlock, tuple[pa.Table, frozenset[str] | None] | None]] = []
    lacking: set[str] = set()
    for index, block in enumerate(blocks):
        if block.block_type == BlockType.DELETE_BLOCK:
            decoded.append((index, block, None))
            continue
        data = _decode_data(block, schema, settings)
        if data[1] is not None:
            lacking |= set(schema.names) - data[1]
        decoded.append((index, block, data))
    # with a key generator the key is computed, never missing
    lacking.discard(RECORD_KEY)
    fold = _Fold(settings, schema, [name for name in schema.names if name in lacking])
    for index, block, content in decoded:
        if content is None:
            fold.add_deletes(index, block.content)
        else:
            fold.add_data(index, *content)
    records, deletes = fold.result(schema)
    return records, deletes, settings, fold


def _without_rows(records: pa.Table, lost: Sequence[pa.Array | pa.ChunkedArray]) -> pa.Table:
    """``records`` without the rows numbered in ``lost``."""
    parts = [_as_array(rows) for rows in lost if len(rows)]
    if not parts:
        return records
    rows = pa.concat_arrays(parts)
    return records.filter(pc.invert(pc.is_in(arange(0, records.num_rows), value_set=rows)))


def _merge_with_base(
    base: pa.Table,
    records: pa.Table,
    deletes: pa.Table,
    settings: MergeSettings,
    fold: _Fold,
) -> pa.Table:
    kept, log_rows_matched = _merge_base(base, records, deletes, settings, fold, _SeenKeys())
    return pa.concat_tables([kept, _without_rows(records, [log_rows_matched])])


class _SeenKeys:
    """Keys the logs touched in the base pieces merged so far (of one slice)."""

    def __init__(self) -> None:
        self.keys: list[pa.Array] = []

    def overlap(self, keys: pa.Array) -> pa.Array:
        if not self.keys:
            return pa.repeat(pa.scalar(False), len(keys))
        return pc.is_in(keys, value_set=pa.concat_arrays(self.keys))

    def add(self, keys: pa.Array) -> None:
        self.keys.append(keys)


def _merge_base(
    base: pa.Table,
    records: pa.Table,
    deletes: pa.Table,
    settings: MergeSettings,
    fold: _Fold,
    seen: _SeenKeys,
) -> tuple[pa.Table, pa.Array | pa.ChunkedArray]:
    """The base rows merged with the log: untouched rows as they are, and one row per base
    row a log record touches (the log record, or the base row where it wins by ordering
    value; a partial log record takes the columns it lacks from the base row); base rows a
    delete removes are gone unless they win by ordering value (event time). Also returns
    the log record rows merged here (the caller emits the others).

    Where the log record always wins whole (no ordering against the base, no partial
    records), the log records are all emitted by the caller, standing for the first base
    row of their key; only further base rows of a key (duplicates, in this piece or an
    earlier one: ``seen``) are merged here."""
    no_rows = pa.array([], pa.int64())
    if base.num_rows == 0:
        return base, no_rows
    base_keys = base.column(RECORD_KEY)
    log_keys = pa.concat_arrays(
        [_as_array(records.column(RECORD_KEY)), _as_array(deletes.column(RECORD_KEY))]
    )
    touched = pc.is_in(base_keys, value_set=log_keys)
    if not pc.any(touched).as_py():
        return base, no_rows  # no copy of a base (piece) the logs do not touch
    kept = base.filter(pc.invert(touched))
    if not settings.base_may_win and not fold.absent:
        return _log_wins(kept, base_keys, touched, records, seen), no_rows
    out = [kept]
    base_side = pa.table(
        {
            RECORD_KEY: base_keys,
            "__base_ord": fold.ordering(base),
            "__base_row": arange(0, base.num_rows),
        }
    )
    log_rows_matched: pa.Array | pa.ChunkedArray = no_rows
    if records.num_rows:
        log_side = pa.table(
            {
                RECORD_KEY: records.column(RECORD_KEY),
                "__log_ord": fold.ordering(records),
                "__log_row": arange(0, records.num_rows),
            }
        )
        pairs = log_side.join(base_side, keys=RECORD_KEY, join_type="inner", use_threads=False)
        log_rows_matched = pairs.column("__log_row")
        if settings.base_may_win:
            # The base record survives a log record whose ordering value is smaller.
            base_wins = pc.fill_null(
                pc.greater(pairs.column("__base_ord"), pairs.column("__log_ord")), False
            )
            out.append(base.take(pc.filter(pairs.column("__base_row"), base_wins)))
            pairs = pairs.filter(pc.invert(base_wins))
        out.append(_overlay(records, pairs, base, fold.absent))
    if settings.semantics == Semantics.EVENT_TIME and deletes.num_rows:
        # ... and, for event time, a delete whose ordering value is smaller.
        pairs = deletes.join(base_side, keys=RECORD_KEY, join_type="inner", use_threads=False)
        base_wins = pc.fill_null(pc.greater(pairs.column("__base_ord"), pairs.column(_ORD)), False)
        out.append(base.take(pc.filter(pairs.column("__base_row"), base_wins)))
    return pa.concat_tables([t for t in out if t.num_rows] or [kept]), log_rows_matched


def _log_wins(
    kept: pa.Table,
    base_keys: pa.ChunkedArray,
    touched: pa.ChunkedArray,
    records: pa.Table,
    seen: _SeenKeys,
) -> pa.Table:
    """``kept`` plus the key's log record once more for every touched base row after the
    first of its key (the first is the log record the caller emits)."""
    keys = _as_array(pc.filter(base_keys, touched))
    again = seen.overlap(keys)
    seen.add(keys)
    distinct = pc.count_distinct(keys).as_py()
    if distinct == len(keys) and not pc.any(again).as_py():
        return kept  # the common case: each key once
    rows = arange(0, len(keys))
    firsts = pa.table({RECORD_KEY: keys, "__row": rows}).group_by(RECORD_KEY, use_threads=False)
    first_rows = firsts.aggregate([("__row", "min")]).column("__row_min")
    repeat = pc.or_(again, pc.invert(pc.is_in(rows, value_set=first_rows)))
    extra = pa.table({RECORD_KEY: pc.filter(keys, repeat)})
    log_side = pa.table(
        {RECORD_KEY: records.column(RECORD_KEY), "__log_row": arange(0, records.num_rows)}
    )
    pairs = extra.join(log_side, keys=RECORD_KEY, join_type="inner", use_threads=False)
    if not pairs.num_rows:
        return kept  # deleted keys
    return pa.concat_tables([kept, records.take(pairs.column("__log_row"))])


def _overlay(
    records: pa.Table, pairs: pa.Table, base: pa.Table, absent: Mapping[str, pa.Array]
) -> pa.Table:
    """The log records of ``pairs`` (log row, base row), each completed with its base row's
    values of the columns it lacks (partial updates)."""
    log_rows = pairs.column("__log_row")
    merged = records.take(log_rows)
    if not absent or not merged.num_rows:
        return merged
    base_rows = pairs.column("__base_row")
    for name, mask in absent.items():
        lacks = pc.take(mask, log_rows)
        if not pc.any(lacks).as_py():
            continue
        index = merged.schema.get_field_index(name)
        filled = pc.if_else(lacks, base.column(name).take(base_rows), merged.column(name))
        merged = merged.set_column(index, merged.schema.field(index), filled)
    return merged


def _as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    return values


def _drop_deletes(table: pa.Table) -> pa.Table:
    """Remove soft deletes: ``_hoodie_is_deleted`` true or ``_hoodie_operation`` ``D``."""
    mask = None
    if IS_DELETED in table.column_names and pa.types.is_boolean(table.column(IS_DELETED).type):
        mask = pc.fill_null(table.column(IS_DELETED), False)
    if OPERATION in table.column_names and pa.types.is_string(table.column(OPERATION).type):
        op = pc.fill_null(pc.equal(table.column(OPERATION), "D"), False)
        mask = op if mask is None else pc.or_(mask, op)
    if mask is None:
        return table
    return table.filter(pc.invert(mask))
