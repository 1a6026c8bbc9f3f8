"""What a write needs to know about its table, fixed for the duration of one write."""

from __future__ import annotations

from typing import Any

import attrs
import pyarrow as pa

from hudiwrite.formats.avro_schema import (
    arrow_to_avro,
    avro_json,
    avro_to_arrow,
    meta_arrow_fields,
    parse_avro,
    with_meta_fields,
)
from hudiwrite.model.keys import KeyGenerator
from hudiwrite.timeline.layout import TableLayout

__all__ = ["TableSchema", "WriteContext", "WriteSettings"]


@attrs.frozen
class TableSchema:
    """A table's data schema (no meta columns) as Avro and as the Arrow it reads back as."""

    avro: dict[str, Any]
    arrow: pa.Schema

    @classmethod
    def from_avro(cls, avro: str | dict[str, Any]) -> TableSchema:
        parsed = parse_avro(avro)
        return cls(parsed, avro_to_arrow(parsed))

    @classmethod
    def from_arrow(cls, schema: pa.Schema, table_name: str) -> TableSchema:
        return cls.from_avro(arrow_to_avro(schema, table_name))

    @property
    def avro_json(self) -> str:
        return avro_json(self.avro)

    @property
    def avro_with_meta_json(self) -> str:
        return avro_json(with_meta_fields(self.avro))

    @property
    def arrow_with_meta(self) -> pa.Schema:
        return pa.schema(meta_arrow_fields() + list(self.arrow))


@attrs.frozen
class WriteSettings:
    """Per-write knobs (taken from ``TableOptions`` by the public face)."""

    log_block_format: str = "parquet"
    compression: str = "gzip"
    target_file_size: int = 120 * 1024 * 1024
    row_group_rows: int = 1_048_576
    insert_duplicates: str = "fail"
    #: Accept complex-key values containing the key separator ',' (see TableOptions).
    allow_ambiguous_keys: bool = False
    max_memory_bytes: int = 512 * 1024 * 1024
    max_workers: int = 4
    #: Base files below this size take new inserts (0 turns small-file handling off).
    small_file_limit: int = 100 * 1024 * 1024
    #: ... and only if it holds at most this many times the records it takes.
    small_file_rewrite: float = 10.0
    #: ... unless it is smaller than this many bytes.
    small_file_floor: int = 1024 * 1024
    #: Seconds between heartbeats of a running write.
    heartbeat_interval: float = 60.0


@attrs.frozen
class WriteContext:
    table_name: str
    schema: TableSchema
    keygen: KeyGenerator
    ordering_field: str | None
    merge_semantics: str
    layout: TableLayout
    settings: WriteSettings
