"""Merging a file slice: base file plus log blocks, with Hudi 0.14/0.15 payload semantics.

The log scanner's rules (protocol §6.2, §6.3) are applied block by block, and within a block
as one vectorised step: blocks are few, rows are many. Per key the state is the winning record
so far: a data record, or a delete marker carrying the delete's ordering value.

* data vs data: the newer record wins unless the older one's ordering value is strictly greater;
* delete vs data: the delete wins unless its ordering value is non-zero, of the record's type
  and strictly smaller than the record's;
* data after a delete: the data wins;
* log vs base: OverwriteWithLatestAvroPayload lets the log replace the base record;
  DefaultHoodieRecordPayload keeps the base record if its ordering value is strictly greater;
  a delete removes the base record either way;
* a record whose ``_hoodie_is_deleted`` is true is a delete.
"""

from __future__ import annotations

import attrs
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

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
from hudiwrite.model.filegroup import FileSlice
from hudiwrite.model.tableconfig import PayloadClass
from hudiwrite.storage import Storage

__all__ = ["MergeSettings", "read_slice"]

RECORD_KEY = "_hoodie_record_key"
IS_DELETED = "_hoodie_is_deleted"

_KIND = "__kind"  # 0 data, 1 delete
_ORD = "__ord"
_BLOCK = "__block"
_ROW = "__row"
_DATA, _DELETE = 0, 1


@attrs.frozen
class MergeSettings:
    ordering_field: str | None
    payload_class: str = PayloadClass.OVERWRITE_WITH_LATEST

    @property
    def keep_greater_base(self) -> bool:
        return self.payload_class == PayloadClass.DEFAULT


def _valid_blocks(storage: Storage, file_slice: FileSlice, is_committed: object) -> list[LogBlock]:
    """Data and delete blocks of the slice's logs that count, in order (protocol §6.2)."""
    check = is_committed  # callable: instant -> bool (committed and visible to the query)
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
            if instant is None or not check(instant):  # type: ignore[operator]
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

    def _ordering(self, table: pa.Table) -> pa.Array:
        field = self.settings.ordering_field
        if field and field in table.column_names:
            return table.column(field)
        return pa.repeat(pa.scalar(0, self.ord_type), table.num_rows)

    def add_data(self, index: int, table: pa.Table) -> None:
        self.data_blocks[index] = table
        ordering = self._ordering(table)
        winners = take_last_per_key([table.column(RECORD_KEY)], [ordering])
        n = len(winners)
        cand = pa.table(
            {
                RECORD_KEY: pc.take(table.column(RECORD_KEY), winners),
                _KIND: pa.repeat(pa.scalar(_DATA, pa.int8()), n),
                _ORD: pc.take(ordering, winners),
                _BLOCK: pa.repeat(pa.scalar(index, pa.int32()), n),
                _ROW: winners,
            }
        )
        self._combine(cand)

    def add_deletes(self, index: int, content: bytes) -> None:
        records = decode_delete_records(content)
        n = len(records)
        if n == 0:
            return
        kinds = records.ordering_kinds.cast(pa.int8())
        values = records.ordering_values
        same = pc.equal(kinds, pa.scalar(self.ord_kind, pa.int8()))
        if pa.types.is_union(values.type) or pa.types.is_null(values.type):
            ord_values = pa.nulls(n, self.ord_type)
        else:
            try:
                cast = values.cast(self.ord_type)
                ord_values = pc.if_else(same, cast, pa.scalar(None, self.ord_type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                ord_values = pa.nulls(n, self.ord_type)
        # A zero ordering value means "natural order": the delete always wins.
        zero = pc.fill_null(
            pc.equal(values.cast(pa.float64()), 0.0)
            if (pa.types.is_integer(values.type) or pa.types.is_floating(values.type))
            else pa.repeat(pa.scalar(False), n),
            False,
        )
        comparable = pc.and_(pc.fill_null(same, False), pc.invert(zero))
        ord_values = pc.if_else(comparable, ord_values, pa.scalar(None, self.ord_type))
        keys = records.record_keys
        winners = take_last_per_key([keys])
        cand = pa.table(
            {
                RECORD_KEY: pc.take(keys, winners),
                _KIND: pa.repeat(pa.scalar(_DELETE, pa.int8()), len(winners)),
                _ORD: pc.take(ord_values, winners),
                _BLOCK: pa.repeat(pa.scalar(index, pa.int32()), len(winners)),
                _ROW: winners,
            }
        )
        self._combine(cand)

    def _combine(self, cand: pa.Table) -> None:
        if self.state is None or self.state.num_rows == 0:
            self.state = cand
            return
        old = self.state
        joined = old.join(
            cand, keys=RECORD_KEY, right_suffix="_new", join_type="full outer", use_threads=False
        )
        has_new = pc.is_valid(joined.column(_KIND + "_new"))
        has_old = pc.is_valid(joined.column(_KIND))
        old_is_data = pc.fill_null(pc.equal(joined.column(_KIND), _DATA), False)
        old_ord = joined.column(_ORD)
        new_ord = joined.column(_ORD + "_new")
        # "old strictly greater" is false whenever either side has no comparable value.
        old_greater = pc.fill_null(pc.greater(old_ord, new_ord), False)
        # The same rule serves both: a data record or a delete only loses to an older data
        # record whose ordering value is strictly greater (and comparable).
        keep_old = pc.and_(old_is_data, old_greater)
        take_new = pc.and_(has_new, pc.or_(pc.invert(has_old), pc.invert(keep_old)))
        columns = {}
        for name in (_KIND, _ORD, _BLOCK, _ROW):
            columns[name] = pc.if_else(take_new, joined.column(name + "_new"), joined.column(name))
        self.state = pa.table({RECORD_KEY: joined.column(RECORD_KEY), **columns})

    def winners(self, schema: pa.Schema) -> tuple[pa.Table, pa.Array, pa.Table]:
        """(data records that won, keys of deletes that won, state table)."""
        state = self.state
        if state is None or state.num_rows == 0:
            empty = schema.empty_table()
            return empty, pa.array([], pa.string()), _empty_state()
        is_data = pc.equal(state.column(_KIND), _DATA)
        data_state = state.filter(is_data)
        delete_keys = pc.filter(state.column(RECORD_KEY), pc.invert(is_data))
        pieces = []
        blocks = data_state.column(_BLOCK)
        for index, table in self.data_blocks.items():
            rows = pc.filter(data_state.column(_ROW), pc.equal(blocks, index))
            if len(rows):
                pieces.append(table.take(rows))
        records = pa.concat_tables(pieces) if pieces else schema.empty_table()
        return records, delete_keys, data_state


def _empty_state() -> pa.Table:
    return pa.table({RECORD_KEY: pa.array([], pa.string()), _ORD: pa.array([], pa.int64())})


def read_base(storage: Storage, file_slice: FileSlice, schema: pa.Schema) -> pa.Table:
    if file_slice.base_file is None:
        return schema.empty_table()
    table = pq.read_table(storage.full_path(file_slice.base_file.path), filesystem=storage.arrow_fs)
    return conform_to_schema(table, schema)


def read_slice(
    storage: Storage,
    file_slice: FileSlice,
    schema: pa.Schema,
    settings: MergeSettings,
    *,
    is_committed: object,
    read_optimized: bool = False,
) -> pa.Table:
    """The merged rows of one file slice, in ``schema`` (meta columns included)."""
    base = read_base(storage, file_slice, schema)
    if read_optimized or not file_slice.log_files:
        return _drop_soft_deletes(base) if not read_optimized else base
    blocks = _valid_blocks(storage, file_slice, is_committed)
    if not blocks:
        return _drop_soft_deletes(base)
    fold = _Fold(settings, schema)
    for index, block in enumerate(blocks):
        if block.block_type == BlockType.DELETE_BLOCK:
            fold.add_deletes(index, block.content)
        else:
            fold.add_data(index, _decode_data(block, schema))
    records, delete_keys, data_state = fold.winners(schema)
    merged = _merge_with_base(base, records, delete_keys, data_state, settings, fold)
    return _drop_soft_deletes(merged)


def _merge_with_base(
    base: pa.Table,
    records: pa.Table,
    delete_keys: pa.Array,
    data_state: pa.Table,
    settings: MergeSettings,
    fold: _Fold,
) -> pa.Table:
    base_keys = base.column(RECORD_KEY)
    log_keys = pa.concat_arrays(
        [_as_array(data_state.column(RECORD_KEY)), _as_array(delete_keys).cast(pa.string())]
    )
    touched = pc.is_in(base_keys, value_set=log_keys)
    kept_base = base.filter(pc.invert(touched))
    if settings.keep_greater_base and records.num_rows and settings.ordering_field:
        # DefaultHoodieRecordPayload: the base record survives a log record with a smaller
        # ordering value.
        base_ord = pa.table(
            {
                RECORD_KEY: base_keys,
                "__base_ord": fold._ordering(base),
                "__base_row": arange(0, base.num_rows),
            }
        )
        log_ord = pa.table(
            {
                RECORD_KEY: records.column(RECORD_KEY),
                "__log_ord": fold._ordering(records),
                "__log_row": arange(0, records.num_rows),
            }
        )
        pairs = log_ord.join(base_ord, keys=RECORD_KEY, join_type="inner", use_threads=False)
        base_wins = pc.fill_null(
            pc.greater(pairs.column("__base_ord"), pairs.column("__log_ord")), False
        )
        win_base_rows = pc.filter(pairs.column("__base_row"), base_wins)
        lose_log_rows = pc.filter(pairs.column("__log_row"), base_wins)
        if len(win_base_rows):
            keep_log = pc.invert(pc.is_in(arange(0, records.num_rows), value_set=lose_log_rows))
            records = records.filter(keep_log)
            kept_base = pa.concat_tables([kept_base, base.take(win_base_rows)])
    return pa.concat_tables([kept_base, records])


def _as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    return values


def _drop_soft_deletes(table: pa.Table) -> pa.Table:
    if IS_DELETED not in table.column_names:
        return table
    flag = table.column(IS_DELETED)
    if not pa.types.is_boolean(flag.type):
        return table
    return table.filter(pc.invert(pc.fill_null(flag, False)))
