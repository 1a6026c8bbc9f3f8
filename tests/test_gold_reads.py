"""hudiwrite's reader against Spark: every fixture table (versions 6, 8 and 9, MOR and COW) read
with hudiwrite equals Spark's gold reads: the snapshot (``gold_data/``) and every case of
``gold_options/manifest.json`` (projection, read-optimized, incremental), compared as multisets
of user-column rows."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hudiwrite as hw
from tests.fixtures import fixture_zips, unpack


def norm(value: Any) -> Any:
    """A hashable form in which Spark's and hudiwrite's Arrow values compare equal: Spark's
    gold files hold naive (UTC) timestamps where the table has UTC-adjusted ones."""
    if isinstance(value, dict):
        return tuple(sorted((k, norm(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(norm(v) for v in value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return ("ts", value)
    if isinstance(value, decimal.Decimal):
        return ("dec", value.normalize())
    return value


def rows(table: pa.Table, columns: list[str]) -> Counter[Any]:
    return Counter(tuple(norm(r[c]) for c in columns) for r in table.select(columns).to_pylist())


def read_folder(folder: Path) -> pa.Table:
    files = sorted(folder.glob("*.parquet"))
    assert files, f"no parquet file in {folder}"
    return pa.concat_tables([pq.read_table(f) for f in files])


def user_columns(table: pa.Table) -> list[str]:
    return [c for c in table.column_names if not c.startswith("_hoodie_")]


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fixtures")
    return {z.name: unpack(z, root / z.stem) for z in fixture_zips()}


ZIPS = [z.name for z in fixture_zips()]


def _table_dir(folder: Path) -> Path:
    (table,) = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("gold")]
    return table


@pytest.mark.parametrize("zip_name", ZIPS)
def test_snapshot_equals_gold(zip_name: str, unpacked: dict[str, Path]) -> None:
    folder = unpacked[zip_name]
    gold = read_folder(folder / "gold_data")
    columns = user_columns(gold)
    table = hw.HudiTable.open(str(_table_dir(folder)))
    ours = table.to_arrow()
    assert rows(ours, columns) == rows(gold, columns)
    # The streamed scan returns the same rows, also when base files come in tiny batches
    # (every slice merged piece by piece).
    streamed = table.scan().read_all()
    assert rows(streamed, columns) == rows(gold, columns)
    pieces = table.scan(batch_size=3).read_all()
    assert rows(pieces, columns) == rows(gold, columns)


def _cases() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for z in fixture_zips():
        import zipfile

        with zipfile.ZipFile(z) as zf:
            names = [n for n in zf.namelist() if n.endswith("gold_options/manifest.json")]
            for name in names:
                for case in json.loads(zf.read(name))["cases"]:
                    out.append((z.name, case))
    return out


CASES = _cases()


def test_gold_cases_found() -> None:
    assert len(CASES) >= 80
    kinds = Counter(
        "projection" if "projection" in c else "ro" if c.get("read_optimized") else "incr"
        for _, c in CASES
    )
    assert kinds["projection"] >= 50 and kinds["ro"] >= 10 and kinds["incr"] >= 15


@pytest.mark.parametrize(("zip_name", "case"), CASES, ids=[f"{z}:{c['name']}" for z, c in CASES])
def test_gold_option_case(zip_name: str, case: dict[str, Any], unpacked: dict[str, Path]) -> None:
    folder = unpacked[zip_name]
    gold = read_folder(folder / "gold_options" / case["name"])
    table = hw.HudiTable.open(str(_table_dir(folder)))
    if "projection" in case:
        ours = table.to_arrow(columns=case["projection"])
        assert ours.column_names == case["projection"]
    elif case.get("read_optimized"):
        ours = table.to_arrow(read_optimized=True)
    else:
        ours = table.read_incremental(case["start_timestamp"], case["end_timestamp"])
    columns = user_columns(gold)
    assert rows(ours, columns) == rows(gold, columns)
