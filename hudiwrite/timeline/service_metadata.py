"""Plans and metadata of the table services' instants, in Java's Avro record form.

Compaction plans (``HoodieCompactionPlan``), cleaner plans and clean metadata
(``HoodieCleanerPlan``, ``HoodieCleanMetadata``), rollback plans and metadata
(``HoodieRollbackPlan``, ``HoodieRollbackMetadata``) and savepoint metadata
(``HoodieSavepointMetadata``) are single-record Avro containers on the timeline (protocol §8).
Each class here owns one record type: its Java field names, the values Java writes by default,
and the shape checks of what is read back, so the services above handle typed values only.

``to_record`` builds the datum in Java's field order (Avro encodes by schema order, but the
dict order keeps records comparable with Spark's); ``from_record`` takes one as fastavro
decodes it, resolved against Java's schema (``formats/hudi_avro_schemas.py``), and raises
:class:`CorruptTableError` naming the file for a record without the shape Java writes.
``to_bytes`` and ``from_bytes`` add the container (``formats/avro_ocf.py``).

Fields hudiwrite neither uses nor writes with a value (the compaction strategy, partitions a
clean drops, bootstrap file infos) are not kept: ``to_record`` writes what Java writes for
them when unset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final, TypeVar

import attrs

from hudiwrite.exceptions import CorruptTableError
from hudiwrite.formats.avro_ocf import read_single_record, write_single_record
from hudiwrite.formats.hudi_avro_schemas import parsed, schema_json
from hudiwrite.model.naming import join_partition
from hudiwrite.timeline.instant import Instant

__all__ = [
    "CLEAN_METADATA_VERSION",
    "CLEAN_PLAN_VERSION",
    "COMPACTION_PLAN_VERSION",
    "ROLLBACK_VERSION",
    "ActionInstant",
    "CleanMetadata",
    "CleanPartitionMetadata",
    "CleanerPlan",
    "CompactionOperation",
    "CompactionPlan",
    "InstantInfo",
    "RollbackMetadata",
    "RollbackPartitionMetadata",
    "RollbackPlan",
    "RollbackRequest",
    "SavepointMetadata",
]

#: Operations name their files (version 1 held paths); CompactionUtils.LATEST_VERSION.
COMPACTION_PLAN_VERSION: Final = 2
#: CleanPlanner.LATEST_CLEAN_PLAN_VERSION and CleanerUtils.LATEST_CLEAN_METADATA_VERSION.
CLEAN_PLAN_VERSION: Final = 2
CLEAN_METADATA_VERSION: Final = 2
#: What 0.14/0.15 write into rollback plans and rollback metadata.
ROLLBACK_VERSION: Final = 1


# -- reading decoded records ---------------------------------------------------------------


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Fields:
    """Typed reads of one decoded record: every shape error is a CorruptTableError naming the
    file (``where``), the record type and the field, never a KeyError or TypeError."""

    __slots__ = ("_record", "_what", "_where")

    def __init__(self, record: object, where: str, what: str) -> None:
        self._where = where
        self._what = what
        if not isinstance(record, Mapping):
            raise self.error(f"is not a record (got {_shown(record)})")
        self._record: Mapping[str, Any] = record

    def error(self, problem: str) -> CorruptTableError:
        where = f"{self._where}: " if self._where else ""
        return CorruptTableError(f"{where}{self._what} {problem}")

    def _bad(self, key: str, expected: str) -> CorruptTableError:
        value = self._record.get(key)
        return self.error(f"field {key!r} is not {expected} (got {_shown(value)})")

    def nested(self, key: str) -> str:
        """How a record inside field ``key`` names its place, for its own errors."""
        return f"{self._what} field {key!r}"

    def text(self, key: str) -> str:
        value = self._record.get(key)
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self._record.get(key)
        if value is not None and not isinstance(value, str):
            raise self._bad(key, "a string or null")
        return value

    def number(self, key: str) -> int:
        value = self._record.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._bad(key, "an integer")
        return value

    def opt_number(self, key: str) -> int | None:
        return None if self._record.get(key) is None else self.number(key)

    def opt_flag(self, key: str) -> bool | None:
        value = self._record.get(key)
        if value is not None and not isinstance(value, bool):
            raise self._bad(key, "a boolean or null")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        """An array of strings; null reads as empty."""
        value = self._record.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(key, "an array of strings")
        return tuple(value)

    def _map(self, key: str, ok: Callable[[object], bool], expected: str) -> dict[str, Any] | None:
        value = self._record.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and ok(v) for k, v in value.items()
        ):
            raise self._bad(key, expected)
        return dict(value)

    def text_map(self, key: str) -> dict[str, str] | None:
        """A map of strings; null stays null (Java tells an absent map from an empty one)."""
        return self._map(key, lambda v: isinstance(v, str), "a map of strings")

    def long_map(self, key: str) -> dict[str, int]:
        """A map of longs; null reads as empty."""
        found = self._map(
            key,
            lambda v: isinstance(v, int) and not isinstance(v, bool),
            "a map of integers",
        )
        return found or {}

    def double_map(self, key: str) -> dict[str, float] | None:
        found = self._map(
            key,
            lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "a map of numbers",
        )
        return None if found is None else {k: float(v) for k, v in found.items()}

    def texts_map(self, key: str) -> dict[str, tuple[str, ...]]:
        """A map of string arrays; null reads as empty."""
        found = self._map(
            key,
            lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
            "a map of string arrays",
        )
        return {k: tuple(v) for k, v in (found or {}).items()}

    def opt_record(self, key: str) -> object:
        """A nested record, checked by the class that reads it (None when null)."""
        return self._record.get(key)

    def records(self, key: str) -> list[object]:
        """An array of nested records, checked by the class that reads them; null is empty."""
        value = self._record.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._bad(key, "an array")
        return value

    def record_map(self, key: str) -> dict[str, object] | None:
        """A map of nested records, checked by the class that reads them."""
        return self._map(key, lambda _: True, "a map")


_R = TypeVar("_R", bound="_TimelineRecord")


class _TimelineRecord:
    """What the top-level records share: one Avro schema and the container around it."""

    __slots__ = ()

    #: Java's record name (``hudi_avro_schemas``), and what the record is, for errors.
    SCHEMA: ClassVar[str]
    WHAT: ClassVar[str]

    def to_record(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_record(cls: type[_R], record: Mapping[str, Any], where: str = "") -> _R:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """The timeline file: one container with Java's schema text and this record."""
        return write_single_record(schema_json(self.SCHEMA), self.to_record())

    @classmethod
    def from_bytes_or_none(cls: type[_R], data: bytes, where: str) -> _R | None:
        """The record of timeline file ``where``, resolved against Java's schema; None for an
        empty file. Raises CorruptTableError naming ``where`` for anything else that is not
        a whole container of this record type."""
        try:
            ocf = read_single_record(data, reader_schema=parsed(cls.SCHEMA))
        except CorruptTableError as exc:
            raise CorruptTableError(f"{where}: {exc}") from exc
        return None if ocf is None else cls.from_record(ocf.record, where)

    @classmethod
    def from_bytes(cls: type[_R], data: bytes, where: str) -> _R:
        """As :meth:`from_bytes_or_none`, where an empty file is corrupt too."""
        found = cls.from_bytes_or_none(data, where)
        if found is None:
            raise CorruptTableError(f"{where}: {cls.WHAT} is empty")
        return found


# -- compaction ----------------------------------------------------------------------------


def _file_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


@attrs.frozen
class CompactionOperation:
    """One file group a compaction rewrites (``HoodieCompactionOperation``): the slice it
    reads, by base instant, base file and log files (names since plan version 2, paths in
    version 1, so callers use :attr:`data_file_name` and :attr:`delta_file_names`)."""

    file_id: str
    partition_path: str
    base_instant_time: str
    data_file_path: str | None
    delta_file_paths: tuple[str, ...]
    #: The strategy's estimates (TOTAL_LOG_FILES, TOTAL_IO_MB, ...); informational.
    metrics: Mapping[str, float] | None = None

    @property
    def data_file_name(self) -> str | None:
        """The base file's name, None for a slice of log files only."""
        return _file_name(self.data_file_path) if self.data_file_path else None

    @property
    def delta_file_names(self) -> tuple[str, ...]:
        return tuple(_file_name(p) for p in self.delta_file_paths)

    def to_record(self) -> dict[str, Any]:
        return {
            "baseInstantTime": self.base_instant_time,
            "deltaFilePaths": list(self.delta_file_paths),
            "dataFilePath": self.data_file_path,
            "fileId": self.file_id,
            "partitionPath": self.partition_path,
            "metrics": dict(self.metrics) if self.metrics is not None else None,
            "bootstrapFilePath": None,
        }

    @classmethod
    def from_record(cls, record: object, where: str = "") -> CompactionOperation:
        f = _Fields(record, where, "compaction operation")
        return cls(
            file_id=f.text("fileId"),
            partition_path=f.opt_text("partitionPath") or "",
            base_instant_time=f.text("baseInstantTime"),
            data_file_path=f.opt_text("dataFilePath"),
            delta_file_paths=f.texts("deltaFilePaths"),
            metrics=f.double_map("metrics"),
        )


@attrs.frozen
class CompactionPlan(_TimelineRecord):
    """A compaction's (or log compaction's) plan: ``T.compaction.requested``."""

    SCHEMA: ClassVar[str] = "HoodieCompactionPlan"
    WHAT: ClassVar[str] = "compaction plan"

    operations: tuple[CompactionOperation, ...]
    extra_metadata: Mapping[str, str] | None = attrs.field(factory=dict)
    version: int | None = COMPACTION_PLAN_VERSION
    preserve_hoodie_metadata: bool | None = False

    def to_record(self) -> dict[str, Any]:
        extra = self.extra_metadata
        return {
            "operations": [op.to_record() for op in self.operations],
            "extraMetadata": dict(extra) if extra is not None else None,
            "version": self.version,
            "strategy": None,
            "preserveHoodieMetadata": self.preserve_hoodie_metadata,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any], where: str = "") -> CompactionPlan:
        f = _Fields(record, where, cls.WHAT)
        operations = tuple(
            CompactionOperation.from_record(op, where) for op in f.records("operations")
        )
        return cls(
            operations=operations,
            extra_metadata=f.text_map("extraMetadata"),
            version=f.opt_number("version"),
            preserve_hoodie_metadata=f.opt_flag("preserveHoodieMetadata"),
        )


# -- cleaning ------------------------------------------------------------------------------


@attrs.frozen
class ActionInstant:
    """An instant as a cleaner plan names it (``HoodieActionInstant``; state by enum name)."""

    timestamp: str
    action: str
    state: str

    @classmethod
    def of(cls, instant: Instant) -> ActionInstant:
        return cls(instant.time, instant.action, instant.state.name)

    def to_record(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp, "action": self.action, "state": self.state}

    @classmethod
    def from_record(cls, record: object, where: str = "", what: str = "instant") -> ActionInstant:
        f = _Fields(record, where, what)
        return cls(f.text("timestamp"), f.text("action"), f.text("state"))


@attrs.frozen
class CleanerPlan(_TimelineRecord):
    """What a clean deletes, as ``T.clean.requested`` (and ``.inflight``) hold it.

    ``file_paths`` maps partitions to the full paths (scheme included) of the files to
    delete; a version-1 plan has ``legacy_file_names`` (file names per partition) instead,
    which :meth:`paths_by_partition` resolves.
    """

    SCHEMA: ClassVar[str] = "HoodieCleanerPlan"
    WHAT: ClassVar[str] = "cleaner plan"

    policy: str
    earliest_instant_to_retain: ActionInstant | None
    #: The last completed commit when the plan was made ("" if none, Java's default).
    last_completed_commit: str = ""
    file_paths: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    legacy_file_names: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    version: int | None = CLEAN_PLAN_VERSION
    extra_metadata: Mapping[str, str] | None = attrs.field(factory=dict)

    def paths_by_partition(self, qualify: Callable[[str], str]) -> dict[str, tuple[str, ...]]:
        """partition -> full paths of the files to delete. The names of a version-1 plan are
        joined to their partition and made full paths by ``qualify`` (a path relative to
        the base path -> full path), as CleanPlanV2MigrationHandler does."""
        if self.file_paths:
            return dict(self.file_paths)
        return {
            partition: tuple(qualify(join_partition(partition, name)) for name in names)
            for partition, names in self.legacy_file_names.items()
        }

    def to_record(self) -> dict[str, Any]:
        earliest = self.earliest_instant_to_retain
        extra = self.extra_metadata
        return {
            "earliestInstantToRetain": earliest.to_record() if earliest is not None else None,
            "lastCompletedCommitTimestamp": self.last_completed_commit,
            "policy": self.policy,
            # Deprecated by filePathsToBeDeletedPerPartition: Java passes an empty map.
            "filesToBeDeletedPerPartition": {p: list(n) for p, n in self.legacy_file_names.items()},
            "version": self.version,
            "filePathsToBeDeletedPerPartition": {
                partition: [{"filePath": path, "isBootstrapBaseFile": False} for path in paths]
                for partition, paths in self.file_paths.items()
            },
            "partitionsToBeDeleted": [],
            "extraMetadata": dict(extra) if extra is not None else None,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any], where: str = "") -> CleanerPlan:
        f = _Fields(record, where, cls.WHAT)
        earliest = f.opt_record("earliestInstantToRetain")
        return cls(
            policy=f.text("policy"),
            earliest_instant_to_retain=(
                None
                if earliest is None
                else ActionInstant.from_record(earliest, where, f.nested("earliestInstantToRetain"))
            ),
            last_completed_commit=f.opt_text("lastCompletedCommitTimestamp") or "",
            file_paths=_clean_file_paths(f, where),
            legacy_file_names=f.texts_map("filesToBeDeletedPerPartition"),
            version=f.opt_number("version"),
            extra_metadata=f.text_map("extraMetadata"),
        )


def _clean_file_paths(f: _Fields, where: str) -> dict[str, tuple[str, ...]]:
    """``filePathsToBeDeletedPerPartition`` as partition -> paths; infos without a path (Java
    never writes one) are skipped."""
    key = "filePathsToBeDeletedPerPartition"
    out: dict[str, tuple[str, ...]] = {}
    for partition, infos in (f.record_map(key) or {}).items():
        if not isinstance(infos, list):
            raise f.error(f"field {key!r} of partition {partition!r} is not an array")
        paths = (_Fields(i, where, f.nested(key)).opt_text("filePath") for i in infos)
        out[partition] = tuple(p for p in paths if p)
    return out


@attrs.frozen
class CleanPartitionMetadata:
    """What a clean did in one partition (``HoodieCleanPartitionMetadata``): the file names it
    tried, deleted, and found gone already."""

    partition_path: str
    policy: str
    delete_path_patterns: tuple[str, ...]
    success_delete_files: tuple[str, ...]
    failed_delete_files: tuple[str, ...]
    is_partition_deleted: bool | None = False

    def to_record(self) -> dict[str, Any]:
        return {
            "partitionPath": self.partition_path,
            "policy": self.policy,
            "deletePathPatterns": list(self.delete_path_patterns),
            "successDeleteFiles": list(self.success_delete_files),
            "failedDeleteFiles": list(self.failed_delete_files),
            "isPartitionDeleted": self.is_partition_deleted,
        }

    @classmethod
    def from_record(
        cls, record: object, where: str = "", what: str = "clean partition metadata"
    ) -> CleanPartitionMetadata:
        f = _Fields(record, where, what)
        return cls(
            partition_path=f.text("partitionPath"),
            policy=f.text("policy"),
            delete_path_patterns=f.texts("deletePathPatterns"),
            success_delete_files=f.texts("successDeleteFiles"),
            failed_delete_files=f.texts("failedDeleteFiles"),
            is_partition_deleted=f.opt_flag("isPartitionDeleted"),
        )


def _clean_partitions(f: _Fields, key: str, where: str) -> dict[str, CleanPartitionMetadata]:
    return {
        partition: CleanPartitionMetadata.from_record(entry, where, f.nested(key))
        for partition, entry in (f.record_map(key) or {}).items()
    }


@attrs.frozen
class CleanMetadata(_TimelineRecord):
    """A completed clean, ``T.clean``: what it deleted and the commits it kept readable."""

    SCHEMA: ClassVar[str] = "HoodieCleanMetadata"
    WHAT: ClassVar[str] = "clean metadata"

    start_clean_time: str
    time_taken_ms: int
    total_files_deleted: int
    #: "" when the clean retained no particular commit (HoodieCleanStat's default).
    earliest_commit_to_retain: str
    last_completed_commit: str
    partition_metadata: Mapping[str, CleanPartitionMetadata]
    version: int | None = CLEAN_METADATA_VERSION
    bootstrap_partition_metadata: Mapping[str, CleanPartitionMetadata] | None = attrs.field(
        factory=dict
    )
    extra_metadata: Mapping[str, str] | None = None

    @property
    def earliest_retained(self) -> str | None:
        """The earliest commit the clean kept readable, None if it recorded none."""
        return self.earliest_commit_to_retain or None

    def to_record(self) -> dict[str, Any]:
        bootstrap = self.bootstrap_partition_metadata
        extra = self.extra_metadata
        return {
            "startCleanTime": self.start_clean_time,
            "timeTakenInMillis": self.time_taken_ms,
            "totalFilesDeleted": self.total_files_deleted,
            "earliestCommitToRetain": self.earliest_commit_to_retain,
            "lastCompletedCommitTimestamp": self.last_completed_commit,
            "partitionMetadata": {p: m.to_record() for p, m in self.partition_metadata.items()},
            "version": self.version,
            "bootstrapPartitionMetadata": (
                {p: m.to_record() for p, m in bootstrap.items()} if bootstrap is not None else None
            ),
            "extraMetadata": dict(extra) if extra is not None else None,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any], where: str = "") -> CleanMetadata:
        f = _Fields(record, where, cls.WHAT)
        bootstrap = f.record_map("bootstrapPartitionMetadata")
        return cls(
            start_clean_time=f.text("startCleanTime"),
            time_taken_ms=f.number("timeTakenInMillis"),
            total_files_deleted=f.number("totalFilesDeleted"),
            earliest_commit_to_retain=f.text("earliestCommitToRetain"),
            last_completed_commit=f.opt_text("lastCompletedCommitTimestamp") or "",
            partition_metadata=_clean_partitions(f, "partitionMetadata", where),
            version=f.opt_number("version"),
            bootstrap_partition_metadata=(
                None
                if bootstrap is None
                else _clean_partitions(f, "bootstrapPartitionMetadata", where)
            ),
            extra_metadata=f.text_map("extraMetadata"),
        )


# -- rollback ------------------------------------------------------------------------------


@attrs.frozen
class InstantInfo:
    """An instant as rollback records name it (``HoodieInstantInfo``)."""

    commit_time: str
    action: str

    def to_record(self) -> dict[str, Any]:
        return {"commitTime": self.commit_time, "action": self.action}

    @classmethod
    def from_record(cls, record: object, where: str = "", what: str = "instant") -> InstantInfo:
        f = _Fields(record, where, what)
        return cls(f.text("commitTime"), f.text("action"))


@attrs.frozen
class RollbackRequest:
    """One step of a rollback plan (``HoodieRollbackRequest``): files of a partition to delete
    (``file_id`` and ``latest_base_instant`` empty), or the log files of one file slice to
    neutralise with a rollback command block (path -> size)."""

    partition_path: str
    file_id: str = ""
    latest_base_instant: str = ""
    files_to_be_deleted: tuple[str, ...] = ()
    log_blocks_to_be_deleted: Mapping[str, int] = attrs.field(factory=dict)

    def to_record(self) -> dict[str, Any]:
        return {
            "partitionPath": self.partition_path,
            "fileId": self.file_id,
            "latestBaseInstant": self.latest_base_instant,
            "filesToBeDeleted": list(self.files_to_be_deleted),
            "logBlocksToBeDeleted": dict(self.log_blocks_to_be_deleted),
        }

    @classmethod
    def from_record(
        cls, record: object, where: str = "", what: str = "rollback request"
    ) -> RollbackRequest:
        f = _Fields(record, where, what)
        request = cls(
            partition_path=f.text("partitionPath"),
            file_id=f.opt_text("fileId") or "",
            latest_base_instant=f.opt_text("latestBaseInstant") or "",
            files_to_be_deleted=f.texts("filesToBeDeleted"),
            log_blocks_to_be_deleted=f.long_map("logBlocksToBeDeleted"),
        )
        if request.log_blocks_to_be_deleted and not (
            request.file_id and request.latest_base_instant
        ):
            raise f.error("has log blocks to roll back but names no file slice")
        return request


@attrs.frozen
class RollbackPlan(_TimelineRecord):
    """A rollback's plan, ``R.rollback.requested``: the failed instant and what to undo."""

    SCHEMA: ClassVar[str] = "HoodieRollbackPlan"
    WHAT: ClassVar[str] = "rollback plan"

    instant_to_rollback: InstantInfo
    requests: tuple[RollbackRequest, ...]
    version: int | None = ROLLBACK_VERSION

    def to_record(self) -> dict[str, Any]:
        return {
            "instantToRollback": self.instant_to_rollback.to_record(),
            "RollbackRequests": [r.to_record() for r in self.requests],
            "version": self.version,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any], where: str = "") -> RollbackPlan:
        f = _Fields(record, where, cls.WHAT)
        target = f.opt_record("instantToRollback")
        if target is None:
            raise f.error("names no instant to roll back")
        return cls(
            instant_to_rollback=InstantInfo.from_record(
                target, where, f.nested("instantToRollback")
            ),
            requests=tuple(
                RollbackRequest.from_record(r, where, f.nested("RollbackRequests"))
                for r in f.records("RollbackRequests")
            ),
            version=f.opt_number("version"),
        )


@attrs.frozen
class RollbackPartitionMetadata:
    """What a rollback did in one partition (``HoodieRollbackPartitionMetadata``): files
    deleted (paths as planned), the command-block logs it wrote and the failed write's logs
    they neutralise (path -> size)."""

    partition_path: str
    success_delete_files: tuple[str, ...] = ()
    failed_delete_files: tuple[str, ...] = ()
    rollback_log_files: Mapping[str, int] = attrs.field(factory=dict)
    log_files_from_failed_commit: Mapping[str, int] = attrs.field(factory=dict)

    def to_record(self) -> dict[str, Any]:
        return {
            "partitionPath": self.partition_path,
            "successDeleteFiles": list(self.success_delete_files),
            "failedDeleteFiles": list(self.failed_delete_files),
            "rollbackLogFiles": dict(self.rollback_log_files),
            "logFilesFromFailedCommit": dict(self.log_files_from_failed_commit),
        }

    @classmethod
    def from_record(
        cls, record: object, where: str = "", what: str = "rollback partition metadata"
    ) -> RollbackPartitionMetadata:
        f = _Fields(record, where, what)
        return cls(
            partition_path=f.text("partitionPath"),
            success_delete_files=f.texts("successDeleteFiles"),
            failed_delete_files=f.texts("failedDeleteFiles"),
            rollback_log_files=f.long_map("rollbackLogFiles"),
            log_files_from_failed_commit=f.long_map("logFilesFromFailedCommit"),
        )


@attrs.frozen
class RollbackMetadata(_TimelineRecord):
    """A completed rollback, ``R.rollback``."""

    SCHEMA: ClassVar[str] = "HoodieRollbackMetadata"
    WHAT: ClassVar[str] = "rollback metadata"

    start_rollback_time: str
    time_taken_ms: int
    total_files_deleted: int
    commits_rollback: tuple[str, ...]
    partition_metadata: Mapping[str, RollbackPartitionMetadata]
    version: int | None = ROLLBACK_VERSION
    instants_rollback: tuple[InstantInfo, ...] = ()

    def to_record(self) -> dict[str, Any]:
        return {
            "startRollbackTime": self.start_rollback_time,
            "timeTakenInMillis": self.time_taken_ms,
            "totalFilesDeleted": self.total_files_deleted,
            "commitsRollback": list(self.commits_rollback),
            "partitionMetadata": {p: m.to_record() for p, m in self.partition_metadata.items()},
            "version": self.version,
            "instantsRollback": [i.to_record() for i in self.instants_rollback],
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any], where: str = "") -> RollbackMetadata:
        f = _Fields(record, where, cls.WHAT)
        partitions = f.record_map("partitionMetadata") or {}
        return cls(
            start_rollback_time=f.text("startRollbackTime"),
            time_taken_ms=f.number("timeTakenInMillis"),
            total_files_deleted=f.number("totalFilesDeleted"),
            commits_rollback=f.texts("commitsRollback"),
            partition_metadata={
                p: RollbackPartitionMetadata.from_record(m, where, f.nested("partitionMetadata"))
                for p, m in partitions.items()
            },
            version=f.opt_number("version"),
            instants_rollback=tuple(
                InstantInfo.from_record(i, where, f.nested("instantsRollback"))
                for i in f.records("instantsRollback")
            ),
        )


# -- savepoints ----------------------------------------------------------------------------


@attrs.frozen
class SavepointMetadata(_TimelineRecord):
    """A completed savepoint, ``T.savepoint``: per partition the data files it keeps (names);
    hudiwrite only reads them, so that cleaning never deletes them."""

    SCHEMA: ClassVar[str] = "HoodieSavepointMetadata"
    WHAT: ClassVar[str] = "savepoint metadata"

    savepointed_by: str
    savepointed_at: int
    comments: str
    data_files: Mapping[str, tuple[str, ...]]
    version: int | None = 1

    def to_record(self) -> dict[str, Any]:
        return {
            "savepointedBy": self.savepointed_by,
            "savepointedAt": self.savepointed_at,
            "comments": self.comments,
            "partitionMetadata": {
                p: {"partitionPath": p, "savepointDataFile": list(files)}
                for p, files in self.data_files.items()
            },
            "version": self.version,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any], where: str = "") -> SavepointMetadata:
        f = _Fields(record, where, cls.WHAT)
        partitions = f.record_map("partitionMetadata") or {}
        return cls(
            savepointed_by=f.text("savepointedBy"),
            savepointed_at=f.number("savepointedAt"),
            comments=f.text("comments"),
            data_files={
                p: _Fields(m, where, f.nested("partitionMetadata")).texts("savepointDataFile")
                for p, m in partitions.items()
            },
            version=f.opt_number("version"),
        )
