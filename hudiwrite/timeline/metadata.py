"""Commit metadata (``HoodieCommitMetadata``) and write stats, in Java's JSON form.

Timeline layout 1 stores commit metadata as JSON printed by Jackson's default pretty printer
(protocol §3.1). Readers ignore formatting, but matching it keeps the files indistinguishable
from Spark's; field order follows Java's declaration order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import orjson

from hudiwrite.exceptions import CorruptTableError

__all__ = ["CommitMetadata", "WriteStat", "jackson_pretty", "json_metadata_object"]


@attrs.frozen
class WriteStat:
    """What one write did to one file (``HoodieWriteStat`` / ``HoodieDeltaWriteStat``)."""

    file_id: str
    path: str | None
    partition_path: str | None
    prev_commit: str = "null"
    num_writes: int = 0
    num_deletes: int = 0
    num_update_writes: int = 0
    num_inserts: int = 0
    total_write_bytes: int = 0
    file_size: int = 0
    total_log_records: int = 0
    total_log_files_compacted: int = 0
    total_log_size_compacted: int = 0
    total_updated_records_compacted: int = 0
    total_log_blocks: int = 0
    total_corrupt_log_blocks: int = 0
    total_rollback_blocks: int = 0
    runtime_stats: Mapping[str, int] | None = None
    # Delta-write (log file) fields; ``log_version is None`` marks a plain base-file stat.
    log_version: int | None = None
    log_offset: int = 0
    base_file: str = ""
    log_files: tuple[str, ...] = ()

    @property
    def is_log(self) -> bool:
        return self.log_version is not None

    def to_json_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "fileId": self.file_id,
            "path": self.path,
            "cdcStats": None,
            "prevCommit": self.prev_commit,
            "numWrites": self.num_writes,
            "numDeletes": self.num_deletes,
            "numUpdateWrites": self.num_update_writes,
            "numInserts": self.num_inserts,
            "totalWriteBytes": self.total_write_bytes,
            "totalWriteErrors": 0,
            "tempPath": None,
            "partitionPath": self.partition_path,
            "totalLogRecords": self.total_log_records,
            "totalLogFilesCompacted": self.total_log_files_compacted,
            "totalLogSizeCompacted": self.total_log_size_compacted,
            "totalUpdatedRecordsCompacted": self.total_updated_records_compacted,
            "totalLogBlocks": self.total_log_blocks,
            "totalCorruptLogBlock": self.total_corrupt_log_blocks,
            "totalRollbackBlocks": self.total_rollback_blocks,
            "fileSizeInBytes": self.file_size,
            "minEventTime": None,
            "maxEventTime": None,
            "runtimeStats": dict(self.runtime_stats) if self.runtime_stats is not None else None,
        }
        if self.log_version is not None:
            obj["logVersion"] = self.log_version
            obj["logOffset"] = self.log_offset
            obj["baseFile"] = self.base_file
            obj["logFiles"] = list(self.log_files)
            obj["recordsStats"] = {"val": None}
        return obj

    @classmethod
    def from_json_obj(cls, obj: Mapping[str, Any]) -> WriteStat:
        def num(key: str) -> int:
            value = obj.get(key)
            return int(value) if value is not None else 0

        log_version = obj.get("logVersion")
        return cls(
            file_id=str(obj.get("fileId") or ""),
            path=obj.get("path"),
            partition_path=obj.get("partitionPath"),
            prev_commit=str(obj.get("prevCommit") or "null"),
            num_writes=num("numWrites"),
            num_deletes=num("numDeletes"),
            num_update_writes=num("numUpdateWrites"),
            num_inserts=num("numInserts"),
            total_write_bytes=num("totalWriteBytes"),
            file_size=num("fileSizeInBytes"),
            total_log_records=num("totalLogRecords"),
            total_log_files_compacted=num("totalLogFilesCompacted"),
            total_log_size_compacted=num("totalLogSizeCompacted"),
            total_updated_records_compacted=num("totalUpdatedRecordsCompacted"),
            total_log_blocks=num("totalLogBlocks"),
            total_corrupt_log_blocks=num("totalCorruptLogBlock"),
            total_rollback_blocks=num("totalRollbackBlocks"),
            runtime_stats=obj.get("runtimeStats"),
            log_version=int(log_version) if log_version is not None else None,
            log_offset=num("logOffset"),
            base_file=str(obj.get("baseFile") or ""),
            log_files=tuple(obj.get("logFiles") or ()),
        )


def json_metadata_object(data: bytes, where: str = "commit metadata") -> dict[str, Any] | None:
    """The JSON object of a layout-1 commit metadata file; None for an empty file, which
    Java reads as empty metadata (operation UNKNOWN)."""
    if not data.strip():
        return None
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CorruptTableError(f"{where} is not valid JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise CorruptTableError(f"{where} is not a JSON object")
    return obj


@attrs.frozen
class CommitMetadata:
    """The content of a completed (delta)commit, or the workload profile of an inflight one."""

    partition_to_write_stats: Mapping[str, tuple[WriteStat, ...]]
    operation_type: str
    extra_metadata: Mapping[str, str] = attrs.field(factory=dict)
    compacted: bool = False
    partition_to_replace_file_ids: Mapping[str, tuple[str, ...]] | None = None

    @property
    def schema(self) -> str | None:
        return self.extra_metadata.get("schema") or None

    def all_stats(self) -> list[WriteStat]:
        return [s for stats in self.partition_to_write_stats.values() for s in stats]

    def to_json_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "partitionToWriteStats": {
                p: [s.to_json_obj() for s in stats]
                for p, stats in self.partition_to_write_stats.items()
            },
        }
        if self.partition_to_replace_file_ids is not None:
            obj["partitionToReplaceFileIds"] = {
                p: list(ids) for p, ids in self.partition_to_replace_file_ids.items()
            }
        obj["compacted"] = self.compacted
        obj["extraMetadata"] = dict(self.extra_metadata)
        obj["operationType"] = self.operation_type
        return obj

    def to_json_bytes(self) -> bytes:
        return jackson_pretty(self.to_json_obj()).encode("utf-8")

    @classmethod
    def from_json_bytes(cls, data: bytes, where: str = "commit metadata") -> CommitMetadata:
        obj = json_metadata_object(data, where)
        if obj is None:
            return cls({}, "UNKNOWN")
        return cls.from_json_obj(obj, where)

    @classmethod
    def from_json_obj(
        cls, obj: Mapping[str, Any], where: str = "commit metadata"
    ) -> CommitMetadata:
        """From the JSON object shape (which the Avro form of layout 2 decodes to as well).

        Raises CorruptTableError when a field does not have the shape Java writes."""
        try:
            return cls._from_json_obj(obj)
        except (AttributeError, TypeError, ValueError) as exc:
            raise CorruptTableError(f"{where} is not Hudi commit metadata: {exc}") from exc

    @classmethod
    def _from_json_obj(cls, obj: Mapping[str, Any]) -> CommitMetadata:
        stats = {
            p: tuple(WriteStat.from_json_obj(s) for s in (entries or []))
            for p, entries in (obj.get("partitionToWriteStats") or {}).items()
        }
        replace = obj.get("partitionToReplaceFileIds")
        return cls(
            partition_to_write_stats=stats,
            operation_type=str(obj.get("operationType") or "UNKNOWN"),
            extra_metadata=dict(obj.get("extraMetadata") or {}),
            compacted=bool(obj.get("compacted", False)),
            partition_to_replace_file_ids=(
                {p: tuple(ids or ()) for p, ids in replace.items()} if replace else None
            ),
        )


def jackson_pretty(value: Any, level: int = 0) -> str:
    """JSON as Jackson's DefaultPrettyPrinter prints it: ``"k" : v``, 2-space objects,
    arrays inline as ``[ a, b ]``, empty containers as ``{ }`` and ``[ ]``."""
    if isinstance(value, Mapping):
        if not value:
            return "{ }"
        inner = "  " * (level + 1)
        items = [
            f"{inner}{orjson.dumps(str(k)).decode()} : {jackson_pretty(v, level + 1)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[ ]"
        return "[ " + ", ".join(jackson_pretty(v, level) for v in value) + " ]"
    return orjson.dumps(value).decode()
