"""Shared test fixtures: the Spark-written tables of ../shared/fixtures, Spark-Hudi sessions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures import FIXTURES, unpack

# the compatibility page (docs/interop.md) is written by these hooks at the end of a full run
from tests.interop_page import pytest_deselected, pytest_sessionfinish  # noqa: F401
from tests.spark.client import SparkHudi
from tests.spark.jars import ALL_RELEASES, MATRIX, RELEASES


@pytest.fixture
def unpack_fixture(tmp_path: Path) -> Callable[[str], Path]:
    def _unpack(zip_name: str) -> Path:
        return unpack(FIXTURES / zip_name, tmp_path / zip_name.removesuffix(".zip"))

    return _unpack


# -- Java Hudi in the loop ---------------------------------------------------------------------


class SparkPool:
    """Spark-Hudi workers, one per Hudi release, each kept for the rest of the session once
    started. The releases of the matrix (``MATRIX``: what the ``spark`` fixture runs) start
    together on the first use of any of them, their JVMs side by side; any other release
    (``"1.0"``) starts only when a test asks for it by label."""

    def __init__(self) -> None:
        self._engines: dict[str, SparkHudi] = {}

    def get(self, label: str) -> SparkHudi:
        if label not in ALL_RELEASES:
            raise KeyError(f"no Hudi release labelled {label!r}: {sorted(ALL_RELEASES)}")
        for name in MATRIX if label in MATRIX else (label,):
            if name not in self._engines:
                self._engines[name] = SparkHudi(name)
        return self._engines[label]

    @property
    def started(self) -> tuple[str, ...]:
        """The labels of the workers started so far."""
        return tuple(self._engines)

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
    """A Spark session with one Hudi release of the matrix (``0.15`` or ``1.x``); never
    skipped: if Java, pyspark or the bundle is missing, every test using it fails with the
    reason."""
    return spark_pool.get(request.param)


@pytest.fixture(scope="session")
def spark_v8(spark_pool: SparkPool) -> SparkHudi:
    """A Spark session with Spark-Hudi 1.0.2 (label ``1.0``), which writes table version 8;
    its worker starts on the first test that asks for it. Never skipped, like ``spark``."""
    return spark_pool.get("1.0")
