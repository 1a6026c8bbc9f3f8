"""Shared test fixtures: locating and unpacking the Spark-written tables of ../shared/fixtures."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# the compatibility page (docs/interop.md) is written by these hooks at the end of a full run
from tests.interop_page import pytest_deselected, pytest_sessionfinish  # noqa: F401
from tests.spark.client import SparkHudi
from tests.spark.jars import RELEASES


def _find_fixtures() -> Path:
    """The Spark-written tables: ``$HUDIWRITE_FIXTURES``, else ``shared/fixtures/spark`` beside
    the checkout or beside any folder above it (a clean clone may sit deeper)."""
    env = os.environ.get("HUDIWRITE_FIXTURES")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[1]
    for folder in [repo, *repo.parents]:
        candidate = folder.parent / "shared" / "fixtures" / "spark"
        if candidate.is_dir():
            return candidate
    return Path("/work/shared/fixtures/spark")


FIXTURES = _find_fixtures()


def fixture_zips() -> list[Path]:
    zips = sorted(FIXTURES.glob("*.zip"))
    if not zips:
        raise RuntimeError(
            f"no fixture zips in {FIXTURES}; set HUDIWRITE_FIXTURES to the folder of "
            "shared/fixtures/spark"
        )
    return zips


def unpack(zip_path: Path, dest: Path) -> Path:
    """Unzip one fixture into ``dest`` and return its folder (holding the table and gold reads).

    Each zip holds a single top folder ``<name>/`` with the table in ``<name>/<name>/``; two zips
    share a top folder name, so every fixture gets its own destination.
    """
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(dest)
        top = {n.split("/", 1)[0] for n in zf.namelist()}
    (name,) = top
    return dest / name


@pytest.fixture
def unpack_fixture(tmp_path: Path):  # type: ignore[no-untyped-def]
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
