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
    """Per-write knobs. No defaults here: ``TableOptions.write_settings()`` builds them from
    the one place every default lives."""

    log_block_format: str
    compression: str
    target_file_size: int
    row_group_rows: int
    insert_duplicates: str
    #: Accept complex-key values containing the key separator ',' (see TableOptions).
    allow_ambiguous_keys: bool
    max_memory_bytes: int
    max_workers: int
    #: Base files below this size take new inserts (0 turns small-file handling off).
    small_file_limit: int
    #: ... and only if it holds at most this many times the records it takes.
    small_file_rewrite: float
    #: ... unless it is smaller than this many bytes.
    small_file_floor: int
    #: Seconds between heartbeats of a running write.
    heartbeat_interval: float


@attrs.frozen
class WriteContext:
    table_name: str
    schema: TableSchema
    keygen: KeyGenerator
    ordering_field: str | None
    merge_semantics: str
    layout: TableLayout
    settings: WriteSettings
