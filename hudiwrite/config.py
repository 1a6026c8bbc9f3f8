"""Options of a table and of the writes to it (frozen, validated on construction)."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from typing import Any, Literal

import attrs

from hudiwrite.exceptions import InvalidOptionError
from hudiwrite.model.tableconfig import PayloadClass
from hudiwrite.services.inline import InlineSettings
from hudiwrite.services.settings import (
    ArchiveSettings,
    CleanPolicy,
    CleanSettings,
    CompactionSettings,
)
from hudiwrite.write.context import WriteSettings

__all__ = ["MergeMode", "PayloadClass", "TableOptions"]


_COMPRESSIONS = ("gzip", "snappy", "zstd", "uncompressed")


def _positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidOptionError(f"{attribute.name} must be a positive integer, got {value!r}")


def _non_negative(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidOptionError(f"{attribute.name} must be a non-negative integer, got {value!r}")


def _positive_number(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise InvalidOptionError(f"{attribute.name} must be a positive number, got {value!r}")


def _positive_or_none(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise InvalidOptionError(f"{attribute.name} must be a positive integer or None")


def _one_of(*allowed: object) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise InvalidOptionError(f"{attribute.name} must be one of {choices}, got {value!r}")

    return check


def _bool(_: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidOptionError(f"{attribute.name} must be True or False, got {value!r}")


def _name_or_none(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise InvalidOptionError(f"{attribute.name} must be a non-empty string or None")


class _Options(type):
    """Constructing options with a name that is not an option raises InvalidOptionError
    (naming the closest option) instead of the TypeError of the generated ``__init__``."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        names = [a.name for a in attrs.fields(cls)]  # type: ignore[arg-type]
        if args:
            raise InvalidOptionError(
                f"{cls.__name__} takes keyword arguments only ({', '.join(names)})"
            )
        unknown = [k for k in kwargs if k not in names]
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, names, n=1)
                hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise InvalidOptionError(
                f"unknown {cls.__name__} option(s) {', '.join(hints)}; the options are "
                f"{', '.join(names)}"
            )
        return super().__call__(**kwargs)


def _payload_class(name: str | None) -> str | None:
    return None if name is None else PayloadClass.resolve(name)


#: ``merge_mode`` values: Hudi 1.x's ``hoodie.record.merge.mode``, lower case.
MergeMode = Literal["event_time_ordering", "commit_time_ordering"]


@attrs.frozen(kw_only=True)
class TableOptions(metaclass=_Options):
    """How hudiwrite creates a table and writes to it.

    Table-level choices (``table_version``, ``payload_class`` or ``merge_mode``,
    ``url_encode_partitions``, ``database_name``) are recorded in ``hoodie.properties`` at
    creation; opening an existing table takes them from there. The others apply to each
    write.
    """

    #: Hudi table version to create: 6 is what Hudi 0.14/0.15 writes (and Athena reads),
    #: 8 what Hudi 1.0.x writes, 9 what Hudi 1.1 and later write (timeline layout 2, Avro
    #: timeline files, completion times). On an opened table this is the table's version:
    #: every write keeps it.
    table_version: int = attrs.field(default=6, validator=_one_of(6, 8, 9))
    #: Format of the data blocks in log files (updates): ``"parquet"`` or ``"avro"``.
    log_block_format: Literal["parquet", "avro"] = attrs.field(
        default="parquet", validator=_one_of("parquet", "avro")
    )
    #: Parquet codec of base files and parquet log blocks (Hudi 0.14/0.15 default: gzip).
    parquet_compression: str = attrs.field(default="gzip", validator=_one_of(*_COMPRESSIONS))
    #: New base files are rolled over near this size (``hoodie.parquet.max.file.size``).
    target_file_size: int = attrs.field(default=120 * 1024 * 1024, validator=_positive)
    #: Inserts go first into the partition's smallest file group below this size (its
    #: records, base merged with logs, are rewritten together with them) before new file
    #: groups are started, so small commits do not multiply file groups
    #: (``hoodie.parquet.small.file.limit``); 0 turns this off.
    small_file_limit: int = attrs.field(default=100 * 1024 * 1024, validator=_non_negative)
    #: ... but, once that file group is past ``small_file_floor``, only when it holds at
    #: most this many times as many records as the inserts it takes: a bound on how much
    #: existing data a write rewrites per new record (Java has no such bound). Otherwise the
    #: inserts start a new file group, which the next writes fill.
    small_file_rewrite: float = attrs.field(default=10.0, validator=_positive_number)
    #: File groups smaller than this (base plus log bytes) always take inserts, whatever
    #: ``small_file_rewrite`` says. Raising it means fewer, larger file groups in tables
    #: written in small batches, at the price of rewriting more per write.
    small_file_floor: int = attrs.field(default=1024 * 1024, validator=_non_negative)
    #: Rows per parquet row group of base files.
    row_group_rows: int = attrs.field(default=1_048_576, validator=_positive)
    #: Merge semantics of a version-6 table (payload class, full or short name); None means
    #: ``OverwriteWithLatestAvroPayload``. On version 8/9 a payload class is translated into
    #: the merge mode Hudi 1.x's upgrade maps it to (``DefaultHoodieRecordPayload`` ->
    #: event time, ``OverwriteWithLatestAvroPayload`` -> commit time). On an opened
    #: version-6 table this is the table's payload class.
    payload_class: str | None = attrs.field(default=None, converter=_payload_class)
    #: Merge mode of a version 8/9 table (``hoodie.record.merge.mode``):
    #: ``"event_time_ordering"`` (the greatest ordering value wins, needs an ordering field)
    #: or ``"commit_time_ordering"`` (the latest write wins; no ordering field). None: event
    #: time when the table has an ordering field, else commit time (Spark-Hudi 1.x's
    #: defaults). Refused for version 6, which names a payload class instead. On an opened
    #: version 8/9 table this is the table's merge mode.
    merge_mode: MergeMode | None = attrs.field(
        default=None, validator=_one_of(None, "event_time_ordering", "commit_time_ordering")
    )
    #: Escape partition values Hive-style (``hoodie.datasource.write.partitionpath.urlencode``).
    url_encode_partitions: bool = attrs.field(default=False, validator=_bool)
    #: ``hoodie.database.name``; part of the table checksum.
    database_name: str | None = attrs.field(default=None, validator=_name_or_none)
    #: What ``insert`` does with a key that already exists: ``"fail"`` raises
    #: InvalidRecordError and writes nothing, ``"drop"`` skips such rows.
    insert_duplicates: Literal["fail", "drop"] = attrs.field(
        default="fail", validator=_one_of("fail", "drop")
    )
    #: Accept complex-key values (several record key fields) that contain ',', the separator
    #: of Java's ``field:value,field:value`` key form. Such values can make two different
    #: records print the same key (``("a,b:x", "y")`` and ``("a", "x,b:y")`` under fields
    #: ``(k, b)``), and one then silently replaces the other, in Java Hudi too; so they are
    #: refused with InvalidRecordError unless this is True (Java parity).
    allow_ambiguous_keys: bool = attrs.field(default=False, validator=_bool)
    #: Input beyond this many bytes (Arrow in-memory size) is spilled to a local temporary
    #: file while a write prepares, so large streams are written in bounded memory.
    max_memory_bytes: int = attrs.field(default=512 * 1024 * 1024, validator=_positive)
    #: Threads used to read and write files in parallel.
    max_workers: int = attrs.field(factory=lambda: min(4, os.cpu_count() or 1), validator=_positive)

    # -- table services (run inline after a commit; see HudiTable.compact/clean/archive) ------

    #: Schedule and run a compaction after this many delta commits since the last one
    #: (``hoodie.compact.inline.max.delta.commits``); None turns inline compaction off.
    compaction_delta_commits: int | None = attrs.field(default=5, validator=_positive_or_none)
    #: Also compact when one file group's log files reach this many bytes; None: no limit.
    compaction_log_bytes: int | None = attrs.field(default=None, validator=_positive_or_none)
    #: Cleaning policy: keep the file slices the last ``clean_retained`` commits read
    #: (``"keep_latest_commits"``), or the latest ``clean_retained`` slices of every file
    #: group (``"keep_latest_file_versions"``).
    clean_policy: CleanPolicy = attrs.field(
        default="keep_latest_commits",
        validator=_one_of("keep_latest_commits", "keep_latest_file_versions"),
    )
    #: Commits (or file versions) the cleaner retains (``hoodie.cleaner.commits.retained``).
    clean_retained: int = attrs.field(default=10, validator=_positive)
    #: Clean after each commit.
    auto_clean: bool = attrs.field(default=True, validator=_bool)
    #: Archive the oldest instants when the active timeline holds more than
    #: ``archive_max_instants`` completed commits, down to ``archive_min_instants``
    #: (``hoodie.keep.min.commits`` / ``hoodie.keep.max.commits``).
    archive_min_instants: int = attrs.field(default=20, validator=_positive)
    archive_max_instants: int = attrs.field(default=30, validator=_positive)
    #: Archive after each commit.
    auto_archive: bool = attrs.field(default=True, validator=_bool)
    #: Roll back writes that started and never completed at the start of the next write
    #: (``"eager"``) or leave them to :meth:`HudiTable.rollback_failed`. Either way only
    #: dead writes are rolled back: those whose heartbeat is gone, expired, or names a
    #: process of this host that no longer runs; a concurrent writer's live write is left be.
    rollback_failed_writes: Literal["eager", "never"] = attrs.field(
        default="eager", validator=_one_of("eager", "never")
    )
    #: Seconds between the heartbeats a running write leaves in ``.hoodie/.heartbeat/``
    #: (``hoodie.client.heartbeat.interval_in_ms``); a heartbeat older than two intervals
    #: marks a dead write.
    heartbeat_interval: float = attrs.field(default=60.0, validator=_positive_number)

    def __attrs_post_init__(self) -> None:
        if self.merge_mode is not None and self.table_version < 8:
            raise InvalidOptionError(
                f"merge_mode applies to table versions 8 and 9; a version-{self.table_version} "
                "table names its merge semantics with payload_class"
            )
        if self.archive_min_instants >= self.archive_max_instants:
            raise InvalidOptionError("archive_min_instants must be below archive_max_instants")
        if (
            self.clean_policy == "keep_latest_commits"
            and self.archive_min_instants <= self.clean_retained
        ):
            raise InvalidOptionError(
                "archive_min_instants must exceed clean_retained: the active timeline has to "
                "hold every commit the cleaner retains"
            )

    # -- the settings each layer takes (every default above is the only one) ----------------

    def write_settings(self) -> WriteSettings:
        """The knobs of one write."""
        return WriteSettings(
            log_block_format=self.log_block_format,
            compression=self.parquet_compression,
            target_file_size=self.target_file_size,
            row_group_rows=self.row_group_rows,
            insert_duplicates=self.insert_duplicates,
            allow_ambiguous_keys=self.allow_ambiguous_keys,
            max_memory_bytes=self.max_memory_bytes,
            max_workers=self.max_workers,
            small_file_limit=self.small_file_limit,
            small_file_rewrite=self.small_file_rewrite,
            small_file_floor=self.small_file_floor,
            heartbeat_interval=self.heartbeat_interval,
        )

    def compaction_settings(self) -> CompactionSettings:
        return CompactionSettings(
            delta_commits=self.compaction_delta_commits,
            log_bytes=self.compaction_log_bytes,
            compression=self.parquet_compression,
            max_workers=self.max_workers,
            heartbeat_interval=self.heartbeat_interval,
        )

    def clean_settings(self) -> CleanSettings:
        return CleanSettings(self.clean_policy, self.clean_retained)

    def archive_settings(self) -> ArchiveSettings:
        return ArchiveSettings(
            self.archive_min_instants,
            self.archive_max_instants,
            clean=self.clean_settings(),
            compaction_delta_commits=self.compaction_delta_commits,
        )

    def inline_settings(self) -> InlineSettings:
        """The services a commit runs inline, and their knobs."""
        return InlineSettings(
            compaction=self.compaction_settings(),
            clean=self.clean_settings(),
            archive=self.archive_settings(),
            auto_clean=self.auto_clean,
            auto_archive=self.auto_archive,
            heartbeat_interval=self.heartbeat_interval,
        )
