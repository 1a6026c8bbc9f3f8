"""Snapshot and read-optimized queries: the latest (or an earlier) state of the table."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

from hudiwrite.formats.avro_schema import META_FIELDS
from hudiwrite.read.fsview import FileSystemView
from hudiwrite.read.merge import MergeSettings, read_slice
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.timeline import Timeline
from hudiwrite.write.context import TableSchema

__all__ = ["read_snapshot", "table_schema"]


def table_schema(
    meta: MetaClient, timeline: Timeline, as_of: str | None = None
) -> TableSchema | None:
    schema = meta.latest_schema(timeline, as_of)
    return TableSchema.from_avro(schema) if schema else None


def read_snapshot(
    meta: MetaClient,
    *,
    columns: Sequence[str] | None = None,
    as_of: str | None = None,
    read_optimized: bool = False,
    max_workers: int = 4,
) -> pa.Table:
    """The rows of the table as of ``as_of`` (default: the latest completed write)."""
    timeline = meta.timeline()
    latest = timeline.latest_completed_write()
    query_time = as_of if as_of is not None else (latest.time if latest else None)
    schema = table_schema(meta, timeline, query_time)
    if schema is None:
        return pa.schema([pa.field(n, pa.string()) for n in META_FIELDS]).empty_table()
    full = schema.arrow_with_meta
    if query_time is None:
        return _project(full.empty_table(), columns)
    view = FileSystemView.load(
        meta.storage, timeline, None, replaced=meta.replaced_file_groups(timeline)
    )
    slices = view.latest_slices(as_of=query_time)
    settings = MergeSettings(meta.config.precombine_field, meta.config.payload_class or "")

    def committed(instant: str) -> bool:
        return instant <= query_time and timeline.is_completed(instant)

    def read_one(file_slice: object) -> pa.Table:
        return read_slice(
            meta.storage,
            file_slice,  # type: ignore[arg-type]
            full,
            settings,
            is_committed=committed,
            read_optimized=read_optimized,
        )

    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        tables = list(pool.map(read_one, slices))
    result = pa.concat_tables(tables) if tables else full.empty_table()
    return _project(result, columns)


def _project(table: pa.Table, columns: Sequence[str] | None) -> pa.Table:
    if columns is None:
        return table
    return table.select(list(columns))
