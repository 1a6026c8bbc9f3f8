"""What a write needs to know about its table, fixed for the duration of one write."""

from __future__ import annotations

import attrs

from hudiwrite.formats.avro_schema import TableSchema
from hudiwrite.model.keys import KeyGenerator
from hudiwrite.model.tableconfig import MergeSemantics
from hudiwrite.timeline.layout import TableLayout

__all__ = ["WriteContext", "WriteSettings"]


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
    merge_semantics: MergeSemantics
    layout: TableLayout
    settings: WriteSettings
