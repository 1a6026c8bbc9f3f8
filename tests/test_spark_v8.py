"""Spark-Hudi 1.0.2, the release that writes table version 8, in the loop.

The ``spark`` fixture runs the matrix (0.15.0 and 1.2.0); 1.0.2 runs only where a test asks
for it (``spark_v8``), and its worker starts then. This proves that worker: a MOR table
written through Spark-Hudi 1.0.2's datasource is a version-8 table on timeline layout 2,
and Spark reads back what it wrote (and so does hudiwrite's reader).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import hudiwrite as hw
from tests.conftest import SparkPool
from tests.spark.client import SparkHudi
from tests.spark.jars import ALL_RELEASES, MATRIX


def _rows(keys: list[int], ts: int) -> pa.Table:
    return pa.table(
        {
            "id": pa.array([f"k{i}" for i in keys], pa.string()),
            "ts": pa.array([ts] * len(keys), pa.int64()),
            "part": pa.array([f"p{i % 2}" for i in keys], pa.string()),
            "v": pa.array([i + ts / 10 for i in keys], pa.float64()),
        }
    )


def _options(operation: str) -> dict[str, str]:
    options = {
        "hoodie.table.name": "v8",
        "hoodie.datasource.write.operation": operation,
        "hoodie.datasource.write.table.type": "MERGE_ON_READ",
        "hoodie.datasource.write.recordkey.field": "id",
        "hoodie.datasource.write.precombine.field": "ts",
        "hoodie.datasource.write.partitionpath.field": "part",
    }
    for op in ("insert", "upsert", "delete"):
        options[f"hoodie.{op}.shuffle.parallelism"] = "2"
    return options


def _by_key(table: pa.Table) -> dict[str, tuple[Any, ...]]:
    return {r["id"]: (r["ts"], r["part"], r["v"]) for r in table.to_pylist()}


def test_pool_starts_a_release_outside_the_matrix_only_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The matrix's workers start together; "1.0" starts on its own, on request."""
    started: list[str] = []

    class FakeWorker:
        def __init__(self, label: str) -> None:
            started.append(label)
            self.label = label

        def close(self) -> None:
            pass

    monkeypatch.setattr("tests.conftest.SparkHudi", FakeWorker)
    pool = SparkPool()
    pool.get("0.15")
    assert pool.started == MATRIX
    pool.get("1.x")
    assert "1.0" not in pool.started
    assert pool.get("1.0").label == "1.0"
    assert pool.get("1.0").label == "1.0"
    assert started == [*MATRIX, "1.0"]
    with pytest.raises(KeyError, match="no Hudi release"):
        pool.get("0.14")
    pool.close()


def test_spark_102_writes_and_reads_a_v8_mor_table(spark_v8: SparkHudi, tmp_path: Path) -> None:
    assert spark_v8.release.version == "1.0.2"
    assert ALL_RELEASES[spark_v8.label].table_version == 8
    path = tmp_path / "t"
    spark_v8.write(path, _rows([0, 1, 2, 3, 4, 5], 1), _options("insert"), "overwrite")
    spark_v8.write(path, _rows([1, 2, 6], 2), _options("upsert"))
    spark_v8.write(path, _rows([3], 3), _options("delete"))

    props = dict(
        line.split("=", 1)
        for line in (path / ".hoodie" / "hoodie.properties").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert props["hoodie.table.version"] == "8"
    assert props["hoodie.table.initial.version"] == "8"
    assert props["hoodie.timeline.layout.version"] == "2"
    assert props["hoodie.table.type"] == "MERGE_ON_READ"
    completed = sorted(p.name for p in (path / ".hoodie" / "timeline").glob("*_*.deltacommit"))
    assert len(completed) == 3, completed  # layout 2: T_C.deltacommit, one per write
    assert list(path.glob("p*/.*.log.*")), "the upsert and the delete wrote no log file"

    want = _by_key(_rows([0, 4, 5], 1)) | _by_key(_rows([1, 2, 6], 2))
    assert _by_key(spark_v8.snapshot(path)) == want
    table = hw.HudiTable.open(str(path))
    assert table.table_version == 8
    assert _by_key(table.to_arrow(columns=["id", "ts", "part", "v"])) == want
