"""Shared test fixtures: locating and unpacking the Spark-written tables of ../shared/fixtures."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "spark"


def fixture_zips() -> list[Path]:
    return sorted(FIXTURES.glob("*.zip"))


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
