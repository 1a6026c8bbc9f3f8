"""Shared test fixtures: the Spark-written tables of ../shared/fixtures, Spark-Hudi sessions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures import FIXTURES, unpack

# the compatibility page (docs/interop.md) is written by these hooks at the end of a full run
from tests.interop_page import pytest_deselected, pytest_sessionfinish  # noqa: F401
from tests.spark.client import SparkHudi
from tests.spark.jars import RELEASES


@pytest.fixture
def unpack_fixture(tmp_path: Path) -> Callable[[str], Path]:
    def _unpack(zip_name: str) -> Path:
        return unpack(FIXTURES / zip_name, tmp_path / zip_name.removesuffix(".zip"))

    return _unpack


# -- Java Hudi in the loop ---------------------------------------------------------------------


class SparkPool:
    """One Spark-Hudi worker per Hudi release, started together on first use (their JVMs
    start side by side) and kept for the whole session."""

    def __init__(self) -> None:
        self._engines: dict[str, SparkHudi] = {}

    def get(self, label: str) -> SparkHudi:
        if not self._engines:
            for name in RELEASES:
                self._engines[name] = SparkHudi(name)
        return self._engines[label]

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()


@pytest.fixture(scope="session")
def spark_pool() -> Iterator[SparkPool]:
    pool = SparkPool()
    yield pool
    pool.close()


@pytest.fixture(scope="session", params=list(RELEASES))
def spark(request: pytest.FixtureRequest, spark_pool: SparkPool) -> SparkHudi:
    """A Spark session with one Hudi release (``0.15`` or ``1.x``); never skipped: if Java,
    pyspark or the bundle is missing, every test using it fails with the reason."""
    return spark_pool.get(request.param)
