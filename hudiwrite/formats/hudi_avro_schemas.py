"""Java's Avro schemas for Hudi's timeline payloads, and the commit-metadata Avro records
(the v8/v9 timeline files' codec, and the form a v6 archived entry holds).

Java reads a timeline OCF with its generated class as the reader schema and resolves by record
and field *name*: writer fields it does not know are skipped, reader fields the writer lacks are
filled from defaults. So the schemas here are the newest definitions (Hudi 1.x) of each type,
which are supersets-with-defaults of the 0.14/0.15 ones, under the same full names
(``org.apache.hudi.avro.model.<Name>``).

Sources: ``apache/hudi`` ``hudi-common/src/main/avro/*.avsc``; where a Spark-written fixture
embeds a type (commit, replace-commit, compaction plan, rollback plan/metadata, requested
replace/clustering plan, index plan/commit), the definition follows the embedded schema, which
:func:`schema_json` reproduces byte for byte (tests/test_timeline_avro.py checks this).

The definitions below are written like the ``.avsc`` files (plain ``"string"``, references to
other types by name); :func:`java_schema_json` turns one into what Java embeds, i.e. the
generated class's ``Schema.toString()``: ``"avro.java.string":"String"`` on strings and maps
(avro-maven-plugin ``stringType=String``), Java's key order, each named type spelled out at its
first use and referenced by name afterwards.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, Final

import fastavro
import orjson

from hudiwrite.exceptions import CorruptTableError, InvalidOptionError
from hudiwrite.formats.avro_ocf import read_single_record, write_single_record

__all__ = [
    "NAMESPACE",
    "SCHEMA_NAMES",
    "WRITE_STAT_FIELDS",
    "commit_metadata_record",
    "decode_commit_metadata",
    "encode_commit_metadata",
    "full_name",
    "java_schema_json",
    "parsed",
    "schema_dict",
    "schema_json",
    "write_stat_record",
]

NAMESPACE: Final = "org.apache.hudi.avro.model"

# ---------------------------------------------------------------------------------------------
# definition helpers (avsc style)

_NO_DEFAULT: Final[Any] = object()
_STR: Final = "string"


def _field(name: str, type_: Any, default: Any = _NO_DEFAULT, doc: str | None = None) -> Any:
    field: dict[str, Any] = {"name": name, "type": type_}
    if doc is not None:
        field["doc"] = doc
    if default is not _NO_DEFAULT:
        field["default"] = default
    return field


def _opt(name: str, type_: Any, doc: str | None = None) -> Any:
    """A nullable field defaulting to null: the common Hudi shape."""
    return _field(name, ["null", type_], None, doc)


def _arr(items: Any, **props: Any) -> dict[str, Any]:
    return {"type": "array", "items": items, **props}


def _map(values: Any, **props: Any) -> dict[str, Any]:
    return {"type": "map", "values": values, **props}


def _record(name: str, *fields: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields)}


def _version() -> Any:
    return _field("version", ["int", "null"], 1)


def _longs(*names: str) -> list[Any]:
    return [_opt(n, "long") for n in names]


# ---------------------------------------------------------------------------------------------
# commit metadata (HoodieCommitMetadata.avsc @ d5e5c40b; identical to the v8/v9 fixtures)

_RUNTIME_STATS: Final = _record(
    "HoodieRuntimeStats", *_longs("totalScanTime", "totalCreateTime", "totalUpsertTime")
)

_WRITE_STAT: Final = _record(
    "HoodieWriteStat",
    _opt("fileId", _STR),
    _opt("path", _STR),
    _opt("prevCommit", _STR),
    *_longs("numWrites", "numDeletes", "numUpdateWrites", "totalWriteBytes", "totalWriteErrors"),
    _opt("partitionPath", _STR),
    *_longs(
        "totalLogRecords",
        "totalLogFiles",
        "totalUpdatedRecordsCompacted",
        "numInserts",
        "totalLogBlocks",
        "totalCorruptLogBlock",
        "totalRollbackBlocks",
        "fileSizeInBytes",
    ),
    _opt("logVersion", "int"),
    _opt("logOffset", "long"),
    _opt("baseFile", _STR),
    _opt("logFiles", _arr(_STR, default=None)),
    _opt("cdcStats", _map("long", default=None)),
    _opt("prevBaseFile", _STR),
    *_longs("minEventTime", "maxEventTime"),
    _opt("runtimeStats", "HoodieRuntimeStats"),
    *_longs("totalLogFilesCompacted", "totalLogReadTimeMs", "totalLogSizeCompacted"),
    _opt("tempPath", _STR),
    _opt("numUpdates", "long"),
)

_COMMIT_METADATA: Final = _record(
    "HoodieCommitMetadata",
    _opt("partitionToWriteStats", _map(_arr("HoodieWriteStat"))),
    _opt("compacted", "boolean"),
    _opt("extraMetadata", _map(_STR, default=None)),
    _version(),
    _opt("operationType", _STR),
)

# HoodieReplaceCommitMetadata.avsc @ a99e93be lacks ``compacted``; the 1.x fixtures have it.
_REPLACE_COMMIT_METADATA: Final = _record(
    "HoodieReplaceCommitMetadata",
    _opt("partitionToWriteStats", _map(_arr("HoodieWriteStat"))),
    _opt("compacted", "boolean"),
    _opt("extraMetadata", _map(_STR)),
    _version(),
    _opt("operationType", _STR),
    _opt("partitionToReplaceFileIds", _map(_arr(_STR))),
)

# ---------------------------------------------------------------------------------------------
# compaction (HoodieCompactionOperation.avsc, HoodieCompactionStrategy.avsc; the fixtures add
# strategy, preserveHoodieMetadata and missingSchedulePartitions to the @362fff53 version)

_COMPACTION_OPERATION: Final = _record(
    "HoodieCompactionOperation",
    _field("baseInstantTime", ["null", _STR]),  # no default in Java's schema
    _opt("deltaFilePaths", _arr(_STR)),
    _opt("dataFilePath", _STR),
    _field("fileId", ["null", _STR]),  # no default either
    _opt("partitionPath", _STR),
    _opt("metrics", _map("double")),
    _opt("bootstrapFilePath", _STR),
)

_COMPACTION_STRATEGY: Final = _record(
    "HoodieCompactionStrategy",
    _opt(
        "compactorClassName",
        _STR,
        doc="The class name that is provided here should extend CompactionExecutionStrategy "
        "abstract class, idea is that the plan generator will also provide the execution "
        "strategy to use.",
    ),
    _opt(
        "strategyParams",
        _map(_STR),
        doc="These parameters play a key role in determining which action type it is i.e. "
        "compaction or logcompaction and it will also include configs that determine how "
        "compaction needs to be executed.",
    ),
    _version(),
)

_COMPACTION_PLAN: Final = _record(
    "HoodieCompactionPlan",
    _opt("operations", _arr("HoodieCompactionOperation")),
    _opt("extraMetadata", _map(_STR)),
    _version(),
    _opt("strategy", "HoodieCompactionStrategy"),
    _field("preserveHoodieMetadata", ["boolean", "null"], False),
    _opt("missingSchedulePartitions", _arr(_STR)),
)

# HoodieCompactionMetadata.avsc @ dfba239f: deprecated, only nested in HoodieArchivedMetaEntry.
_COMPACTION_WRITE_STAT: Final = _record(
    "HoodieCompactionWriteStat",
    _opt("partitionPath", _STR),
    *_longs("totalLogRecords", "totalLogFiles", "totalUpdatedRecordsCompacted"),
    _opt("hoodieWriteStat", "HoodieWriteStat"),
)

_COMPACTION_METADATA: Final = _record(
    "HoodieCompactionMetadata",
    _field("partitionToCompactionWriteStats", ["null", _map(_arr("HoodieCompactionWriteStat"))]),
)

# ---------------------------------------------------------------------------------------------
# cleaning (HoodieCleanerPlan.avsc @ ac3ae4a6, HoodieCleanMetadata.avsc @ 826de778,
# HoodieCleanPartitionMetadata.avsc @ 655551e5; 0.14/0.15 lack only extraMetadata)

_ACTION_INSTANT: Final = _record(
    "HoodieActionInstant",
    _field("timestamp", _STR),
    _field("action", _STR),
    _field("state", _STR),
)

_CLEAN_FILE_INFO: Final = _record(
    "HoodieCleanFileInfo",
    _opt("filePath", _STR),
    _opt("isBootstrapBaseFile", "boolean"),
)

_CLEANER_PLAN: Final = _record(
    "HoodieCleanerPlan",
    _opt("earliestInstantToRetain", "HoodieActionInstant"),
    _field("lastCompletedCommitTimestamp", _STR, ""),
    _field("policy", _STR),
    # deprecated, replaced by filePathsToBeDeletedPerPartition
    _opt("filesToBeDeletedPerPartition", _map(_arr(_STR))),
    _version(),
    _opt(
        "filePathsToBeDeletedPerPartition",
        _map(_arr("HoodieCleanFileInfo")),
        doc="This field replaces the field filesToBeDeletedPerPartition",
    ),
    _opt("partitionsToBeDeleted", _arr(_STR), doc="partitions to be deleted"),
    _opt("extraMetadata", _map(_STR, default=None)),
)

_CLEAN_PARTITION_METADATA: Final = _record(
    "HoodieCleanPartitionMetadata",
    _field("partitionPath", _STR),
    _field("policy", _STR),
    _field("deletePathPatterns", _arr(_STR)),
    _field("successDeleteFiles", _arr(_STR)),
    _field("failedDeleteFiles", _arr(_STR)),
    _opt("isPartitionDeleted", "boolean"),
)

_CLEAN_METADATA: Final = _record(
    "HoodieCleanMetadata",
    _field("startCleanTime", _STR),
    _field("timeTakenInMillis", "long"),
    _field("totalFilesDeleted", "int"),
    _field("earliestCommitToRetain", _STR),
    _field("lastCompletedCommitTimestamp", _STR, ""),
    _field("partitionMetadata", _map("HoodieCleanPartitionMetadata")),
    _version(),
    _opt("bootstrapPartitionMetadata", _map("HoodieCleanPartitionMetadata", default=None)),
    _opt("extraMetadata", _map(_STR, default=None)),
)

# ---------------------------------------------------------------------------------------------
# rollback (HoodieInstantInfo.avsc @ ac3ae4a6; HoodieRollbackPlan.avsc @ 971b2c43; the rollback
# metadata follows the 0.15 fixture: the indexed avsc versions predate logFilesFromFailedCommit)

_INSTANT_INFO: Final = _record(
    "HoodieInstantInfo",
    _field("commitTime", _STR),
    _field("action", _STR),
)

_ROLLBACK_REQUEST: Final = _record(
    "HoodieRollbackRequest",
    _field("partitionPath", _STR),
    _opt("fileId", _STR),
    _opt("latestBaseInstant", _STR),
    _field("filesToBeDeleted", _arr(_STR, default=[]), []),
    _opt("logBlocksToBeDeleted", _map("long")),
)

_ROLLBACK_PLAN: Final = _record(
    "HoodieRollbackPlan",
    _opt(
        "instantToRollback", "HoodieInstantInfo", doc="Hoodie instant that needs to be rolled back"
    ),
    _opt("RollbackRequests", _arr("HoodieRollbackRequest")),
    _version(),
)

_ROLLBACK_PARTITION_METADATA: Final = _record(
    "HoodieRollbackPartitionMetadata",
    _field("partitionPath", _STR),
    _field("successDeleteFiles", _arr(_STR)),
    _field("failedDeleteFiles", _arr(_STR)),
    _opt("rollbackLogFiles", _map("long")),
    _opt("logFilesFromFailedCommit", _map("long")),
)

_ROLLBACK_METADATA: Final = _record(
    "HoodieRollbackMetadata",
    _field("startRollbackTime", _STR),
    _field("timeTakenInMillis", "long"),
    _field("totalFilesDeleted", "int"),
    _field("commitsRollback", _arr(_STR)),
    _field("partitionMetadata", _map("HoodieRollbackPartitionMetadata")),
    _version(),
    _field("instantsRollback", _arr("HoodieInstantInfo", default=[]), []),
)

# restore (HoodieRestorePlan.avsc @ 3e0dcf4b, HoodieRestoreMetadata.avsc @ d9d77e4a; no fixture)

_RESTORE_PLAN: Final = _record(
    "HoodieRestorePlan",
    _field("instantsToRollback", _arr("HoodieInstantInfo", default=None), []),
    _version(),
)

_RESTORE_METADATA: Final = _record(
    "HoodieRestoreMetadata",
    _field("startRestoreTime", _STR),
    _field("timeTakenInMillis", "long"),
    _field("instantsToRollback", _arr(_STR)),
    _field("hoodieRestoreMetadata", _map(_arr(["null", "HoodieRollbackMetadata"], default=None))),
    _version(),
    _field("restoreInstantInfo", _arr("HoodieInstantInfo", default=None), []),
)

# savepoint (HoodieSavePointMetadata.avsc @ 42a480fc)

_SAVEPOINT_PARTITION_METADATA: Final = _record(
    "HoodieSavepointPartitionMetadata",
    _field("partitionPath", _STR),
    _field("savepointDataFile", _arr(_STR)),
)

_SAVEPOINT_METADATA: Final = _record(
    "HoodieSavepointMetadata",
    _field("savepointedBy", _STR),
    _field("savepointedAt", "long"),
    _field("comments", _STR),
    _field("partitionMetadata", _map("HoodieSavepointPartitionMetadata")),
    _version(),
)

# ---------------------------------------------------------------------------------------------
# replace / clustering (HoodieRequestedReplaceMetadata.avsc @ d9d77e4a, HoodieClusteringStrategy
# .avsc @ 4a0107c3; plan, group and slice follow the v9 fixture, which adds
# missingSchedulePartitions and the group's extraMetadata to the @22c0d5a0 versions)

_SLICE_INFO: Final = _record(
    "HoodieSliceInfo",
    _opt("dataFilePath", _STR),
    _opt("deltaFilePaths", _arr(_STR)),
    _field("fileId", ["null", _STR]),  # no default in Java's schema
    _opt("partitionPath", _STR),
    _opt("bootstrapFilePath", _STR),
    _version(),
)

_CLUSTERING_GROUP: Final = _record(
    "HoodieClusteringGroup",
    _opt("slices", _arr("HoodieSliceInfo")),
    _opt("metrics", _map("double")),
    _field("numOutputFileGroups", ["int", "null"], 1),
    _opt("extraMetadata", _map(_STR)),
    _version(),
)

_CLUSTERING_STRATEGY: Final = _record(
    "HoodieClusteringStrategy",
    _opt("strategyClassName", _STR),
    _opt("strategyParams", _map(_STR)),
    _version(),
)

_CLUSTERING_PLAN: Final = _record(
    "HoodieClusteringPlan",
    _opt("inputGroups", _arr("HoodieClusteringGroup")),
    _opt("strategy", "HoodieClusteringStrategy"),
    _opt("extraMetadata", _map(_STR)),
    _version(),
    _opt("preserveHoodieMetadata", "boolean"),
    _opt("missingSchedulePartitions", _arr(_STR)),
)

_REQUESTED_REPLACE_METADATA: Final = _record(
    "HoodieRequestedReplaceMetadata",
    _opt("operationType", _STR),
    _opt("clusteringPlan", "HoodieClusteringPlan"),  # only set for clustering
    _opt("extraMetadata", _map(_STR)),
    _version(),
)

# indexing (the v8/v9 fixtures; MDT index building writes these on the data timeline)

_INDEX_PARTITION_INFO: Final = _record(
    "HoodieIndexPartitionInfo",
    _version(),
    _opt("metadataPartitionPath", _STR),
    _opt("indexUptoInstant", _STR),
    _opt("extraMetadata", _map(_STR)),
)

_INDEX_PLAN: Final = _record(
    "HoodieIndexPlan",
    _version(),
    _opt("indexPartitionInfos", _arr("HoodieIndexPartitionInfo")),
)

_INDEX_COMMIT_METADATA: Final = _record(
    "HoodieIndexCommitMetadata",
    # the docs are Java's (copied from the cleaner plan), kept so the text matches
    _field(
        "version",
        ["int", "null"],
        1,
        doc="This field replaces the field filesToBeDeletedPerPartition",
    ),
    _opt("operationType", _STR, doc="This field replaces the field filesToBeDeletedPerPartition"),
    _opt(
        "indexPartitionInfos",
        _arr("HoodieIndexPartitionInfo"),
        doc="This field contains the info for each partition that got indexed",
    ),
)

# ---------------------------------------------------------------------------------------------
# v6 archived timeline entry (HoodieArchivedMetaEntry.avsc @ 94e4c2e7)

_ARCHIVED_META_ENTRY: Final = _record(
    "HoodieArchivedMetaEntry",
    _opt("hoodieCommitMetadata", "HoodieCommitMetadata"),
    _opt("hoodieCleanMetadata", "HoodieCleanMetadata"),
    _opt("hoodieCompactionMetadata", "HoodieCompactionMetadata"),  # deprecated
    _opt("hoodieRollbackMetadata", "HoodieRollbackMetadata"),
    _opt("hoodieSavePointMetadata", "HoodieSavepointMetadata"),
    _opt("commitTime", _STR),
    _opt("actionType", _STR),
    _version(),
    _opt("hoodieCompactionPlan", "HoodieCompactionPlan"),
    _opt("hoodieCleanerPlan", "HoodieCleanerPlan"),
    _opt("actionState", _STR),
    _opt("hoodieReplaceCommitMetadata", "HoodieReplaceCommitMetadata"),
    _opt("hoodieRequestedReplaceMetadata", "HoodieRequestedReplaceMetadata"),
    _opt("HoodieInflightReplaceMetadata", "HoodieCommitMetadata"),
    _opt("hoodieIndexCommitMetadata", "HoodieIndexCommitMetadata"),
    _opt("stateTransitionTime", _STR),
)

_DEFINITIONS: Final[dict[str, dict[str, Any]]] = {
    d["name"]: d
    for d in (
        _RUNTIME_STATS,
        _WRITE_STAT,
        _COMMIT_METADATA,
        _REPLACE_COMMIT_METADATA,
        _COMPACTION_OPERATION,
        _COMPACTION_STRATEGY,
        _COMPACTION_PLAN,
        _COMPACTION_WRITE_STAT,
        _COMPACTION_METADATA,
        _ACTION_INSTANT,
        _CLEAN_FILE_INFO,
        _CLEANER_PLAN,
        _CLEAN_PARTITION_METADATA,
        _CLEAN_METADATA,
        _INSTANT_INFO,
        _ROLLBACK_REQUEST,
        _ROLLBACK_PLAN,
        _ROLLBACK_PARTITION_METADATA,
        _ROLLBACK_METADATA,
        _RESTORE_PLAN,
        _RESTORE_METADATA,
        _SAVEPOINT_PARTITION_METADATA,
        _SAVEPOINT_METADATA,
        _SLICE_INFO,
        _CLUSTERING_GROUP,
        _CLUSTERING_STRATEGY,
        _CLUSTERING_PLAN,
        _REQUESTED_REPLACE_METADATA,
        _INDEX_PARTITION_INFO,
        _INDEX_PLAN,
        _INDEX_COMMIT_METADATA,
        _ARCHIVED_META_ENTRY,
    )
}

#: Every record type defined here (short names), each usable with :func:`schema_json`.
SCHEMA_NAMES: Final[tuple[str, ...]] = tuple(_DEFINITIONS)

#: ``HoodieWriteStat`` field names in declaration order (they equal the JSON form's names).
WRITE_STAT_FIELDS: Final[tuple[str, ...]] = tuple(f["name"] for f in _WRITE_STAT["fields"])
_RUNTIME_STATS_FIELDS: Final[tuple[str, ...]] = tuple(f["name"] for f in _RUNTIME_STATS["fields"])

# ---------------------------------------------------------------------------------------------
# Java's Schema.toString() for a generated class

_PRIMITIVES: Final = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)
# Keys Avro's Java parser treats as reserved: they never survive as schema properties
# (org.apache.avro.Schema.SCHEMA_RESERVED), so e.g. a ``doc`` on a map is dropped.
_SCHEMA_RESERVED: Final = frozenset(
    {"doc", "fields", "items", "name", "namespace", "size", "symbols", "values", "type", "aliases"}
)
_FIELD_RESERVED: Final = frozenset({"name", "type", "doc", "default", "order", "aliases"})
_JAVA_STRING: Final = {"avro.java.string": "String"}


def full_name(name: str) -> str:
    """``org.apache.hudi.avro.model.<name>`` for a short name; full names pass through."""
    return name if "." in name else f"{NAMESPACE}.{name}"


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _props(node: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k not in _SCHEMA_RESERVED}


class _JavaPrinter:
    """Walks an avsc-style schema the way Java's ``Schema.toJson`` does."""

    def __init__(self, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        self.definitions = definitions
        self.seen: set[str] = set()

    def node(self, node: Any, space: str | None) -> Any:
        if isinstance(node, list):
            return [self.node(branch, space) for branch in node]
        if isinstance(node, str):
            if node == "string":
                return {"type": "string", **_JAVA_STRING}
            if node in _PRIMITIVES:
                return node
            return self.named_ref(node, space)
        if not isinstance(node, Mapping):
            raise InvalidOptionError(f"not an Avro schema node: {node!r}")
        kind = node.get("type")
        if kind in ("record", "error", "enum", "fixed"):
            return self.named(node, space)
        if kind == "array":
            return {"type": "array", "items": self.node(node["items"], space), **_props(node)}
        if kind == "map":
            # stringType=String marks map keys too, before the schema's own properties
            values = self.node(node["values"], space)
            return {"type": "map", "values": values, **_JAVA_STRING, **_props(node)}
        if kind == "string":
            return {"type": "string", **_JAVA_STRING, **_props(node)}
        if kind in _PRIMITIVES:
            props = _props(node)
            return {"type": kind, **props} if props else kind
        if isinstance(kind, (str, list, Mapping)):
            return self.node(kind, space)  # {"type": "SomeName"} or a wrapped type
        raise InvalidOptionError(f"not an Avro schema node: {node!r}")

    def named_ref(self, name: str, space: str | None) -> Any:
        qualified = name if "." in name else f"{space or NAMESPACE}.{name}"
        if qualified in self.seen:
            return _short(qualified) if qualified.rpartition(".")[0] == space else qualified
        definition = self.definitions.get(_short(qualified))
        if definition is None or qualified.rpartition(".")[0] != NAMESPACE:
            raise InvalidOptionError(f"unknown Avro type {name!r}")
        return self.named({**definition, "namespace": NAMESPACE}, space)

    def named(self, node: Mapping[str, Any], space: str | None) -> Any:
        name = str(node["name"])
        namespace = node.get("namespace") or (
            name.rpartition(".")[0] if "." in name else (space or NAMESPACE)
        )
        qualified = f"{namespace}.{_short(name)}"
        if qualified in self.seen:
            return _short(name) if namespace == space else qualified
        self.seen.add(qualified)
        out: dict[str, Any] = {"type": node["type"], "name": _short(name)}
        if namespace != space:
            out["namespace"] = namespace
        if node.get("doc") is not None:
            out["doc"] = node["doc"]
        if node["type"] in ("record", "error"):
            out["fields"] = [self.field(f, namespace) for f in node["fields"]]
        elif node["type"] == "enum":
            out["symbols"] = list(node["symbols"])
            if "default" in node:
                out["default"] = node["default"]
        else:
            out["size"] = node["size"]
        out.update({k: v for k, v in _props(node).items() if k != "default"})
        if node.get("aliases"):
            out["aliases"] = list(node["aliases"])
        return out

    def field(self, field: Mapping[str, Any], space: str) -> dict[str, Any]:
        out: dict[str, Any] = {"name": field["name"], "type": self.node(field["type"], space)}
        if field.get("doc") is not None:
            out["doc"] = field["doc"]
        if "default" in field:
            out["default"] = field["default"]
        if field.get("order", "ascending") != "ascending":
            out["order"] = field["order"]
        if field.get("aliases"):
            out["aliases"] = list(field["aliases"])
        out.update({k: v for k, v in field.items() if k not in _FIELD_RESERVED})
        return out


def java_schema_json(schema: Any) -> str:
    """What Java embeds for an avsc-style schema: the generated class's ``Schema.toString()``.

    Names not defined inside ``schema`` resolve against this module's definitions (like the
    avro-maven-plugin ``imports``) and are spelled out where first used.
    """
    printer = _JavaPrinter(_DEFINITIONS)
    return orjson.dumps(printer.node(schema, None)).decode("utf-8")


def _definition(name: str) -> dict[str, Any]:
    short = _short(name)
    definition = _DEFINITIONS.get(short)
    if definition is None or full_name(name) != f"{NAMESPACE}.{short}":
        raise InvalidOptionError(f"no Hudi Avro schema named {name!r}")
    return definition


@functools.cache
def schema_json(name: str) -> str:
    """Java's embedded schema text for a Hudi type (short or full name), compact JSON."""
    return java_schema_json(_definition(name))


def schema_dict(name: str) -> dict[str, Any]:
    """The schema of :func:`schema_json` as a fresh JSON dict (safe to modify)."""
    loaded: dict[str, Any] = orjson.loads(schema_json(name))
    return loaded


@functools.cache
def parsed(name: str) -> Any:
    """fastavro-parsed schema for a Hudi type, cached: treat it as read-only."""
    return fastavro.parse_schema(orjson.loads(schema_json(name)))


# ---------------------------------------------------------------------------------------------
# commit metadata records: timeline layout 2 files (table versions 8/9) and v6 archived entries

_COMMIT: Final = f"{NAMESPACE}.HoodieCommitMetadata"
_REPLACE: Final = f"{NAMESPACE}.HoodieReplaceCommitMetadata"


def _empty_commit_metadata() -> dict[str, Any]:
    # Java returns a fresh HoodieCommitMetadata for a 0-byte file (CommitMetadataSerDeV2).
    return {
        "partitionToWriteStats": {},
        "compacted": False,
        "extraMetadata": {},
        "operationType": "UNKNOWN",
    }


def decode_commit_metadata(data: bytes) -> dict[str, Any]:
    """A v8/v9 (replace)commit metadata OCF as the JSON form's dict.

    Keys and order follow the JSON form (``partitionToWriteStats``,
    ``partitionToReplaceFileIds`` for replace commits, ``compacted``, ``extraMetadata``,
    ``operationType``; ``version`` only when not null); write stats keep their Avro field
    names, which are the JSON names. Nulls stay ``None``. A 0-byte file gives Java's empty
    metadata. The record is resolved against this module's schema, as Java resolves it against
    its class, so an older writer's missing fields come back as defaults.
    """
    if not data:
        return _empty_commit_metadata()
    ocf = read_single_record(data)
    assert ocf is not None  # data is not empty
    if ocf.name not in (_COMMIT, _REPLACE):
        raise CorruptTableError(f"expected commit metadata, found an Avro {ocf.name}")
    replace = ocf.name == _REPLACE
    name = "HoodieReplaceCommitMetadata" if replace else "HoodieCommitMetadata"
    record = ocf.record
    if ocf.schema_json != schema_json(name):
        resolved = read_single_record(data, reader_schema=parsed(name))
        assert resolved is not None
        record = resolved.record

    stats = record["partitionToWriteStats"]
    out: dict[str, Any] = {
        "partitionToWriteStats": None
        if stats is None
        else {p: [dict(s) for s in entries] for p, entries in stats.items()}
    }
    if replace:
        ids = record["partitionToReplaceFileIds"]
        out["partitionToReplaceFileIds"] = (
            None if ids is None else {p: list(v) for p, v in ids.items()}
        )
    out["compacted"] = record["compacted"]
    out["extraMetadata"] = record["extraMetadata"]
    out["operationType"] = record["operationType"]
    if record["version"] is not None:
        out["version"] = record["version"]
    return out


def write_stat_record(stat: Mapping[str, Any]) -> dict[str, Any]:
    """An Avro ``HoodieWriteStat`` from a write stat in the JSON form: same-named fields
    copied, the rest null (how Jackson converts the Java object)."""
    out = {name: stat.get(name) for name in WRITE_STAT_FIELDS}
    runtime = out["runtimeStats"]
    if runtime is not None:
        out["runtimeStats"] = {k: runtime.get(k) for k in _RUNTIME_STATS_FIELDS}
    if out["logFiles"] is not None:
        out["logFiles"] = list(out["logFiles"])
    if out["cdcStats"] is not None:
        out["cdcStats"] = dict(out["cdcStats"])
    return out


def _commit_record(obj: Mapping[str, Any], replace: bool) -> dict[str, Any]:
    """The Avro ``HoodieCommitMetadata`` (``HoodieReplaceCommitMetadata`` with ``replace``)
    record of commit metadata in the JSON form's shape, taken as it is: keys outside the
    schema are ignored, missing ones take a fresh Java object's values, nulls stay null."""
    stats = obj.get("partitionToWriteStats", {})
    extra = obj.get("extraMetadata", {})
    record: dict[str, Any] = {
        "partitionToWriteStats": None
        if stats is None
        else {str(p): [write_stat_record(s) for s in entries] for p, entries in stats.items()},
        "compacted": obj.get("compacted", False),
        "extraMetadata": None if extra is None else dict(extra),
        "version": obj.get("version"),
        "operationType": obj.get("operationType", "UNKNOWN"),
    }
    if replace:
        ids = obj.get("partitionToReplaceFileIds", {})
        record["partitionToReplaceFileIds"] = (
            None if ids is None else {str(p): _str_list(v) for p, v in ids.items()}
        )
    return record


def encode_commit_metadata(
    obj: Mapping[str, Any], *, replace: bool = False, sync_marker: bytes | None = None
) -> bytes:
    """The v8/v9 timeline file for commit metadata given in the JSON form's shape.

    Takes what :func:`decode_commit_metadata` or ``CommitMetadata.to_json_obj()`` produce:
    keys outside the Avro schema (``recordsStats`` ...) are ignored, missing keys take the
    values of a fresh Java object (empty maps, ``compacted`` false, operation ``UNKNOWN``) and
    ``version`` stays null unless given, as in Spark's files. ``replace`` selects
    ``HoodieReplaceCommitMetadata`` (the ``replacecommit`` action). Raises InvalidOptionError
    for ``partitionToReplaceFileIds`` without ``replace``.
    """
    replace_ids = obj.get("partitionToReplaceFileIds")
    if replace_ids is not None and not replace:
        raise InvalidOptionError("partitionToReplaceFileIds needs replace=True")
    name = "HoodieReplaceCommitMetadata" if replace else "HoodieCommitMetadata"
    record = _commit_record(obj, replace)
    return write_single_record(schema_json(name), record, sync_marker=sync_marker)


def commit_metadata_record(obj: Mapping[str, Any], *, replace: bool = False) -> dict[str, Any]:
    """Avro ``HoodieCommitMetadata`` (or ``HoodieReplaceCommitMetadata``) from the JSON form,
    as a v6 archived timeline entry holds it.

    MetadataConversionUtils.convertCommitMetadata is a Jackson ``convertValue`` of the Java
    object into the Avro class: fields are matched by name, unknown JSON properties
    (``recordsStats`` ...) dropped, and ``version`` stays null because Jackson builds the Avro
    object with its no-arg constructor. A fresh Java object has empty maps, ``compacted``
    false and operation ``UNKNOWN``; those fill what the JSON lacks or leaves null.
    ``partitionToReplaceFileIds`` is kept only with ``replace``.
    """
    compacted = bool(obj.get("compacted") or False)
    operation = str(obj.get("operationType") or "UNKNOWN")
    if compacted:
        # 0.13's convertCommitMetadata forces COMPACT on a compaction commit (a no-op for
        # hudiwrite's, which say COMPACT already); its ``ROLLING_STAT: ""`` extraMetadata
        # entry, dropped in later versions, is not reproduced.
        operation = "COMPACT"
    stats = obj.get("partitionToWriteStats") or {}
    extra = obj.get("extraMetadata") or {}
    java: dict[str, Any] = {
        "partitionToWriteStats": {str(p): list(entries or []) for p, entries in stats.items()},
        "compacted": compacted,
        "extraMetadata": {str(k): str(v) for k, v in extra.items() if v is not None},
        "version": None,
        "operationType": operation,
    }
    if replace:
        ids = obj.get("partitionToReplaceFileIds") or {}
        java["partitionToReplaceFileIds"] = {str(p): list(v or []) for p, v in ids.items()}
    return _commit_record(java, replace)


def _str_list(values: Sequence[str]) -> list[str]:
    return [str(v) for v in values]
