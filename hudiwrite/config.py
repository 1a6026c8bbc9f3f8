"""Options of a table and of the writes to it (frozen, validated on construction)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Literal

import attrs

from hudiwrite.exceptions import InvalidOptionError
from hudiwrite.model.tableconfig import PayloadClass

__all__ = ["PayloadClass", "TableOptions"]


_COMPRESSIONS = ("gzip", "snappy", "zstd", "uncompressed")


def _positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or value <= 0:
        raise InvalidOptionError(f"{attribute.name} must be a positive integer, got {value!r}")


def _one_of(*allowed: object) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise InvalidOptionError(f"{attribute.name} must be one of {choices}, got {value!r}")

    return check


def _payload_class(name: str) -> str:
    return PayloadClass.resolve(name)


@attrs.frozen(kw_only=True)
class TableOptions:
    """How hudiwrite creates a table and writes to it.

    Table-level choices (``table_version``, ``payload_class``, ``url_encode_partitions``,
    ``database_name``) are recorded in ``hoodie.properties`` at creation; opening an existing
    table takes them from there. The others apply to each write.
    """

    #: Hudi table version to create. Version 6 is what Hudi 0.14/0.15 writes.
    table_version: int = attrs.field(default=6, validator=_one_of(6))
    #: Format of the data blocks in log files (updates): ``"parquet"`` or ``"avro"``.
    log_block_format: Literal["parquet", "avro"] = attrs.field(
        default="parquet", validator=_one_of("parquet", "avro")
    )
    #: Parquet codec of base files and parquet log blocks (Hudi 0.14/0.15 default: gzip).
    parquet_compression: str = attrs.field(default="gzip", validator=_one_of(*_COMPRESSIONS))
    #: New base files are rolled over near this size (``hoodie.parquet.max.file.size``).
    target_file_size: int = attrs.field(default=120 * 1024 * 1024, validator=_positive)
    #: Rows per parquet row group of base files.
    row_group_rows: int = attrs.field(default=1_048_576, validator=_positive)
    #: Merge semantics (payload class, full or short name).
    payload_class: str = attrs.field(
        default=PayloadClass.OVERWRITE_WITH_LATEST, converter=_payload_class
    )
    #: Escape partition values Hive-style (``hoodie.datasource.write.partitionpath.urlencode``).
    url_encode_partitions: bool = False
    #: ``hoodie.database.name``; part of the table checksum.
    database_name: str | None = None
    #: What ``insert`` does with a key that already exists: ``"fail"`` raises
    #: InvalidRecordError and writes nothing, ``"drop"`` skips such rows.
    insert_duplicates: Literal["fail", "drop"] = attrs.field(
        default="fail", validator=_one_of("fail", "drop")
    )
    #: Input beyond this many bytes (Arrow in-memory size) is spilled to a local temporary
    #: file while a write prepares, so large streams are written in bounded memory.
    max_memory_bytes: int = attrs.field(default=512 * 1024 * 1024, validator=_positive)
    #: Threads used to read and write files in parallel.
    max_workers: int = attrs.field(factory=lambda: min(4, os.cpu_count() or 1), validator=_positive)
