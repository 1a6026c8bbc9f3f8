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
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from hudiwrite._arrow import arange, conform_to_schema, take_last_per_key
from hudiwrite.formats.logblock import (
    BlockType,
    HeaderKey,
    LogBlock,
    decode_delete_records,
    ordering_kind_for,
    read_avro_block_content,
    read_parquet_block_content,
)
from hudiwrite.formats.logfile import CorruptBlock, LogFileBlock, iter_blocks
from hudiwrite.model.columns import IS_DELETED, OPERATION, RECORD_KEY
from hudiwrite.model.filegroup import FileSlice
from hudiwrite.model.tableconfig import MergeSemantics as Semantics
from hudiwrite.storage import Storage

__all__ = ["MergeSettings", "Semantics", "iter_slice", "read_base", "read_slice"]


_KIND = "__kind"  # 0 data, 1 delete
_ORD = "__ord"
_BLOCK = "__block"
_ROW = "__row"
_DATA, _DELETE = 0, 1


@attrs.frozen
class MergeSettings:
    ordering_field: str | None
    semantics: str = Semantics.OVERWRITE_PAYLOAD

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


def _decode_data(block: LogBlock, schema: pa.Schema) -> pa.Table:
    if block.block_type == BlockType.PARQUET_DATA_BLOCK:
        table = read_parquet_block_content(block.content)
    else:
        writer_schema = block.schema
        if writer_schema is None:
            raise ValueError("Avro data block without a SCHEMA header")
        table = read_avro_block_content(block.content, writer_schema)
    return conform_to_schema(table, schema)


class _Fold:
    """The per-key winner over the blocks read so far."""

    def __init__(self, settings: MergeSettings, schema: pa.Schema) -> None:
        self.settings = settings
        field = settings.ordering_field
        self.ord_type: pa.DataType = (
            schema.field(field).type if field and field in schema.names else pa.int32()
        )
        self.ord_kind = int(ordering_kind_for(self.ord_type))
        self.state: pa.Table | None = None
        self.data_blocks: dict[int, pa.Table] = {}

    def ordering(self, table: pa.Table) -> pa.Array:
        field = self.settings.ordering_field
        if field and field in table.column_names:
            return table.column(field)
        return pa.repeat(pa.scalar(0, self.ord_type), table.num_rows)

    def _candidates(self, keys: pa.Array, kind: int, ordering: pa.Array, index: int) -> pa.Table:
        order = [ordering] if self.settings.uses_ordering and kind == _DATA else []
        winners = take_last_per_key([keys], order)
        n = len(winners)
        return pa.table(
            {
                RECORD_KEY: pc.take(keys, winners),
                _KIND: pa.repeat(pa.scalar(kind, pa.int8()), n),
                _ORD: pc.take(ordering, winners),
                _BLOCK: pa.repeat(pa.scalar(index, pa.int32()), n),
                _ROW: winners,
            }
        )

    def add_data(self, index: int, table: pa.Table) -> None:
        self.data_blocks[index] = table
        self._combine(
            self._candidates(table.column(RECORD_KEY), _DATA, self.ordering(table), index)
        )

    def add_deletes(self, index: int, content: bytes) -> None:
        records = decode_delete_records(content)
        n = len(records)
        if n == 0:
            return
        self._combine(
            self._candidates(records.record_keys, _DELETE, self._delete_ordering(records), index)
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
        if self.settings.uses_ordering:
            # A record or delete loses only to an older record whose ordering value is
            # strictly greater (and comparable: null comparisons are false).
            old_is_data = pc.fill_null(pc.equal(joined.column(_KIND), _DATA), False)
            old_greater = pc.fill_null(
                pc.greater(joined.column(_ORD), joined.column(_ORD + "_new")), False
            )
            keep_old = pc.and_(old_is_data, old_greater)
        else:
            keep_old = pa.repeat(pa.scalar(False), joined.num_rows)
        take_new = pc.and_(has_new, pc.or_(pc.invert(has_old), pc.invert(keep_old)))
        columns = {
            name: pc.if_else(take_new, joined.column(name + "_new"), joined.column(name))
            for name in (_KIND, _ORD, _BLOCK, _ROW)
        }
        self.state = pa.table({RECORD_KEY: joined.column(RECORD_KEY), **columns})

    def result(self, schema: pa.Schema) -> tuple[pa.Table, pa.Table]:
        """(winning data records, winning deletes as a (key, ordering) table)."""
        state = self.state
        if state is None or state.num_rows == 0:
            deletes = pa.table(
                {RECORD_KEY: pa.array([], pa.string()), _ORD: pa.nulls(0, self.ord_type)}
            )
            return schema.empty_table(), deletes
        is_data = pc.equal(state.column(_KIND), _DATA)
        data_state = state.filter(is_data)
        deletes = state.filter(pc.invert(is_data)).select([RECORD_KEY, _ORD])
        pieces = []
        blocks = data_state.column(_BLOCK)
        for index, table in self.data_blocks.items():
            rows = pc.filter(data_state.column(_ROW), pc.equal(blocks, index))
            if len(rows):
                pieces.append(table.take(rows))
        records = pa.concat_tables(pieces) if pieces else schema.empty_table()
        return records, deletes


def read_base(storage: Storage, file_slice: FileSlice, schema: pa.Schema) -> pa.Table:
    """The base file's rows in ``schema``: only its columns are decoded (a projection), and
    columns the file predates come out as nulls."""
    if file_slice.base_file is None:
        return schema.empty_table()
    pf = storage.parquet_file(file_slice.base_file.path, file_slice.base_file.size)
    present = set(pf.schema_arrow.names)
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
    return _drop_deletes(_merge_with_base(base, *logs))


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
    time and merged piece by piece (a key lives in one base row only), so memory holds the
    slice's log records and one base batch, not the whole slice. Log records come last."""
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
    lost: list[pa.Array | pa.ChunkedArray] = []
    for piece in pieces:
        kept, log_rows_lost = _merge_base(piece, records, deletes, settings, fold)
        lost.append(log_rows_lost)
        yield _drop_deletes(kept)
    yield _drop_deletes(_without_rows(records, lost))


def _base_batches(
    storage: Storage, file_slice: FileSlice, schema: pa.Schema, batch_rows: int
) -> Iterator[pa.Table]:
    if file_slice.base_file is None:
        return
    pf = storage.parquet_file(file_slice.base_file.path, file_slice.base_file.size)
    present = set(pf.schema_arrow.names)
    columns = [name for name in schema.names if name in present]
    for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
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
    fold = _Fold(settings, schema)
    for index, block in enumerate(blocks):
        if block.block_type == BlockType.DELETE_BLOCK:
            fold.add_deletes(index, block.content)
        else:
            fold.add_data(index, _decode_data(block, schema))
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
    kept, log_rows_lost = _merge_base(base, records, deletes, settings, fold)
    return pa.concat_tables([kept, _without_rows(records, [log_rows_lost])])


def _merge_base(
    base: pa.Table,
    records: pa.Table,
    deletes: pa.Table,
    settings: MergeSettings,
    fold: _Fold,
) -> tuple[pa.Table, pa.Array | pa.ChunkedArray]:
    """Base rows that survive the log (untouched, or winning by ordering value) and the log
    record rows that lose to their base row."""
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
    kept_base = base.filter(pc.invert(touched))
    if not settings.base_may_win:
        return kept_base, no_rows
    # The base record survives a log record (or, for event time, a delete) whose ordering
    # value is smaller than its own.
    base_side = pa.table(
        {
            RECORD_KEY: base_keys,
            "__base_ord": fold.ordering(base),
            "__base_row": arange(0, base.num_rows),
        }
    )
    survivors = []
    log_rows_lost = no_rows
    if records.num_rows:
        log_side = pa.table(
            {
                RECORD_KEY: records.column(RECORD_KEY),
                "__log_ord": fold.ordering(records),
                "__log_row": arange(0, records.num_rows),
            }
        )
        pairs = log_side.join(base_side, keys=RECORD_KEY, join_type="inner", use_threads=False)
        base_wins = pc.fill_null(
            pc.greater(pairs.column("__base_ord"), pairs.column("__log_ord")), False
        )
        survivors.append(pc.filter(pairs.column("__base_row"), base_wins))
        log_rows_lost = pc.filter(pairs.column("__log_row"), base_wins)
    if settings.semantics == Semantics.EVENT_TIME and deletes.num_rows:
        pairs = deletes.join(base_side, keys=RECORD_KEY, join_type="inner", use_threads=False)
        base_wins = pc.fill_null(pc.greater(pairs.column("__base_ord"), pairs.column(_ORD)), False)
        survivors.append(pc.filter(pairs.column("__base_row"), base_wins))
    extra = [base.take(rows) for rows in survivors if len(rows)]
    return pa.concat_tables([kept_base, *extra]), log_rows_lost


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
