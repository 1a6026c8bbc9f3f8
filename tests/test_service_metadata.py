"""The typed timeline records of the table services (``timeline/service_metadata.py``): every
Spark-written plan and metadata file decodes and writes back to the same record, each type
round-trips through its bytes, and a malformed record read from disk is a CorruptTableError
naming the file, never a KeyError or TypeError."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import hudiwrite as hw
from hudiwrite.exceptions import CorruptTableError
from hudiwrite.formats.avro_ocf import MAGIC, read_single_record, write_single_record
from hudiwrite.formats.hudi_avro_schemas import parsed, schema_json
from hudiwrite.services.clean import savepointed_files
from hudiwrite.storage import Storage
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.service_metadata import (
    ActionInstant,
    CleanerPlan,
    CleanMetadata,
    CleanPartitionMetadata,
    CompactionOperation,
    CompactionPlan,
    InstantInfo,
    RollbackMetadata,
    RollbackPartitionMetadata,
    RollbackPlan,
    RollbackRequest,
    SavepointMetadata,
)
from tests.fixtures import fixture_zips, unpack
from tests.helpers import batch, create

RECORD_TYPES: dict[str, Any] = {
    "HoodieCompactionPlan": CompactionPlan,
    "HoodieCleanerPlan": CleanerPlan,
    "HoodieCleanMetadata": CleanMetadata,
    "HoodieRollbackPlan": RollbackPlan,
    "HoodieRollbackMetadata": RollbackMetadata,
    "HoodieSavepointMetadata": SavepointMetadata,
}


def test_spark_written_records_decode_and_write_back(tmp_path: Path) -> None:
    found: set[str] = set()
    for zip_path in fixture_zips():
        root = unpack(zip_path, tmp_path / zip_path.stem)
        for path in sorted(root.rglob("*")):
            data = path.read_bytes() if path.is_file() and ".hoodie" in path.parts else b""
            if not data.startswith(MAGIC):
                continue
            ocf = read_single_record(data)
            assert ocf is not None
            name = ocf.name.rsplit(".", 1)[-1]
            if name not in RECORD_TYPES:
                continue
            found.add(name)
            record = RECORD_TYPES[name].from_bytes(data, str(path))
            resolved = read_single_record(data, reader_schema=parsed(name))
            assert resolved is not None
            expected = dict(resolved.record)
            # the one field hudiwrite does not keep: Spark writes an empty list, hudiwrite null
            if expected.get("missingSchedulePartitions") == []:
                expected["missingSchedulePartitions"] = None
            written = read_single_record(record.to_bytes(), reader_schema=parsed(name))
            assert written is not None
            assert written.record == expected, path
    assert found == {"HoodieCompactionPlan", "HoodieRollbackPlan", "HoodieRollbackMetadata"}


OPERATION = CompactionOperation(
    "f1-0",
    "city=sf",
    "20240101000000000",
    "f1-0_0-1-0_20240101000000000.parquet",
    (".f1-0_20240101000000000.log.1_0-1-0",),
    {"TOTAL_LOG_FILES": 1.0},
)

SAMPLES: list[Any] = [
    CompactionPlan((OPERATION, CompactionOperation("f2-0", "", "20240101000000001", None, ()))),
    CleanerPlan(
        "KEEP_LATEST_COMMITS",
        ActionInstant("20240101000000000", "deltacommit", "COMPLETED"),
        "20240101000000009",
        {"city=sf": ("file:/t/city=sf/a.parquet", "file:/t/city=sf/.a.log.1_0-1-0")},
    ),
    CleanerPlan("KEEP_LATEST_FILE_VERSIONS", None, extra_metadata=None),
    CleanMetadata(
        "20240101000000010",
        7,
        1,
        "",
        "20240101000000009",
        {"city=sf": CleanPartitionMetadata("city=sf", "KEEP", ("a",), ("a",), ())},
        bootstrap_partition_metadata=None,
        extra_metadata={"k": "v"},
    ),
    RollbackPlan(
        InstantInfo("20240101000000003", "deltacommit"),
        (
            RollbackRequest("city=sf", files_to_be_deleted=("/t/city=sf/b.parquet",)),
            RollbackRequest("city=la", "f1-0", "20240101000000000", (), {"file:/t/l": 42}),
        ),
    ),
    RollbackMetadata(
        "20240101000000004",
        3,
        1,
        ("20240101000000003",),
        {"city=sf": RollbackPartitionMetadata("city=sf", ("/t/city=sf/b.parquet",))},
        instants_rollback=(InstantInfo("20240101000000003", "deltacommit"),),
    ),
    SavepointMetadata("me", 1700000000, "", {"city=sf": ("a.parquet",)}),
]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: type(s).__name__)
def test_records_round_trip_through_their_bytes(sample: Any) -> None:
    data = sample.to_bytes()
    ocf = read_single_record(data)
    assert ocf is not None and ocf.name == f"org.apache.hudi.avro.model.{sample.SCHEMA}"
    assert ocf.schema_json == schema_json(sample.SCHEMA)
    assert type(sample).from_bytes(data, "x") == sample
    assert (
        list(sample.to_record())
        == [f["name"] for f in parsed(sample.SCHEMA)["fields"]][: len(sample.to_record())]
    )


def test_empty_and_damaged_files_name_the_file() -> None:
    with pytest.raises(CorruptTableError, match=r"^\.hoodie/1\.rollback\.requested: .*empty"):
        RollbackPlan.from_bytes(b"", ".hoodie/1.rollback.requested")
    assert CleanMetadata.from_bytes_or_none(b"", ".hoodie/1.clean") is None
    data = SAMPLES[0].to_bytes()
    with pytest.raises(CorruptTableError, match=r"^\.hoodie/1\.compaction\.requested: .*trunc"):
        CompactionPlan.from_bytes(data[:40], ".hoodie/1.compaction.requested")


def _op(**changes: Any) -> dict[str, Any]:
    op = OPERATION.to_record()
    return {**op, **changes}


#: (record type, a malformed record as fastavro could decode it, what the error says)
MALFORMED: dict[str, tuple[Any, dict[str, Any], str]] = {
    "compaction-null-file-id": (
        CompactionPlan,
        {"operations": [_op(fileId=None)]},
        "compaction operation field 'fileId' is not a string",
    ),
    "compaction-op-not-record": (CompactionPlan, {"operations": [5]}, "is not a record"),
    "compaction-logs-not-strings": (
        CompactionPlan,
        {"operations": [_op(deltaFilePaths=[1])]},
        "'deltaFilePaths' is not an array of strings",
    ),
    "cleaner-plan-no-policy": (CleanerPlan, {"policy": None}, "'policy' is not a string"),
    "cleaner-plan-paths-not-array": (
        CleanerPlan,
        {"policy": "KEEP_LATEST_COMMITS", "filePathsToBeDeletedPerPartition": {"p": "x"}},
        "is not an array",
    ),
    "clean-metadata-bad-count": (
        CleanMetadata,
        {**SAMPLES[3].to_record(), "totalFilesDeleted": "1"},
        "'totalFilesDeleted' is not an integer",
    ),
    "rollback-plan-no-target": (
        RollbackPlan,
        {"instantToRollback": None, "RollbackRequests": []},
        "names no instant to roll back",
    ),
    "rollback-logs-without-slice": (
        RollbackPlan,
        {
            "instantToRollback": {"commitTime": "1", "action": "deltacommit"},
            "RollbackRequests": [{"partitionPath": "p", "logBlocksToBeDeleted": {"l": 1}}],
        },
        "names no file slice",
    ),
    "rollback-metadata-bad-sizes": (
        RollbackMetadata,
        {
            **SAMPLES[5].to_record(),
            "partitionMetadata": {"p": {"partitionPath": "p", "rollbackLogFiles": {"l": "1"}}},
        },
        "'rollbackLogFiles' is not a map of integers",
    ),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_records_are_corrupt_and_name_the_file(case: str) -> None:
    cls, record, message = MALFORMED[case]
    with pytest.raises(CorruptTableError, match=r"^\.hoodie/9\.x: ") as caught:
        cls.from_record(record, ".hoodie/9.x")
    assert message in str(caught.value)


def test_version_1_cleaner_plan_names_files() -> None:
    plan = CleanerPlan("KEEP_LATEST_COMMITS", None, legacy_file_names={"p": ("a", "b")})
    assert plan.paths_by_partition(lambda rel: f"file:/t/{rel}") == {
        "p": ("file:/t/p/a", "file:/t/p/b")
    }


def _write_plan(path: Path, mutate: Callable[[dict[str, Any]], None]) -> Path:
    """Schedule a compaction, then rewrite its plan (both copies) with ``mutate`` applied."""
    (instant,) = hw.HudiTable.open(str(path)).compact(plan_only=True).scheduled
    requested = path / ".hoodie" / f"{instant}.compaction.requested"
    ocf = read_single_record(requested.read_bytes())
    assert ocf is not None
    record = dict(ocf.record)
    mutate(record)
    data = write_single_record(schema_json("HoodieCompactionPlan"), record)
    for plan in (requested, path / ".hoodie" / ".aux" / requested.name):
        plan.write_bytes(data)
    return requested


def test_a_malformed_plan_on_the_timeline_names_its_file(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = create(path)
    t.upsert(batch(["a"], 1))
    t.upsert(batch(["a"], 2))
    requested = _write_plan(path, lambda r: r["operations"][0].update(fileId=None))
    table = hw.HudiTable.open(str(path))
    for call in (lambda: table.upsert(batch(["b"], 3)), table.compact):
        with pytest.raises(CorruptTableError, match=f"{requested.name}: compaction operation"):
            call()


def test_savepointed_files_come_from_savepoint_metadata(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = create(path)
    commit = t.upsert(batch(["a"], 1)).instant_time
    savepoint = SavepointMetadata("me", 0, "", {"city=sf": ("x.parquet", "y.parquet")})
    # a savepoint's instant is the commit it keeps
    (path / ".hoodie" / f"{commit}.savepoint").write_bytes(savepoint.to_bytes())
    meta = MetaClient.load(Storage(str(path)))
    assert savepointed_files(meta, meta.timeline()) == {"x.parquet", "y.parquet"}
