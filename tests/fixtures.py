"""Locating and unpacking the Spark-written tables of ../shared/fixtures (zips with Spark's
own reads beside each table)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path


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
