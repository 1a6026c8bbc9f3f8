"""A table written for a long time with every service inline: 300+ commits of upserts and
deletes with compaction every few commits, cleaning and archival. After every commit both
readers return exactly the model; at the end the active timeline and the number of file
slices are bounded and no file on storage is left unreferenced."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa
import pytest

import hudiwrite as hw
from hudiwrite.model.naming import PARTITION_METAFILE, parse_base_file_name, parse_log_file_name
from hudiwrite.read.fsview import FileSystemView
from tests.helpers import hudi_rs
from tests.model import TableModel, diff

SCHEMA = pa.schema(
    [("id", pa.string()), ("ts", pa.int64()), ("city", pa.string()), ("v", pa.string())]
)
CITIES = ["sf", "la", "ny"]
COMMITS = 300
OPTIONS = hw.TableOptions(
    compaction_delta_commits=4,
    clean_policy="keep_latest_commits",
    clean_retained=3,
    archive_min_instants=5,
    archive_max_instants=8,
)


def _model(version: int) -> TableModel:
    # version 8/9 with an ordering field: event-time ordering (ts grows with every commit)
    merge = "ordering" if version >= 8 else "latest"
    return TableModel(
        SCHEMA.names, lambda r: r["id"], lambda r: f"city={r['city']}", "ts", merge=merge
    )


@pytest.mark.slow
@pytest.mark.parametrize("version", [6, 9])
def test_three_hundred_commits_with_all_services(tmp_path: Path, version: int) -> None:
    rng = random.Random(20261121)
    path = tmp_path / "t"
    t = hw.HudiTable.create(
        str(path),
        SCHEMA,
        record_key="id",
        partition_by="city",
        ordering_field="ts",
        options=attrs.evolve(OPTIONS, table_version=version),
    )
    model = _model(version)
    keys = [f"k{i:03d}" for i in range(120)]
    seen: set[str] = set()
    for n in range(1, COMMITS + 1):
        if n > 5 and rng.random() < 0.2:
            victims = rng.sample(keys, 6)
            rows: list[dict[str, Any]] = [{"id": k, "city": rng.choice(CITIES)} for k in victims]
            result = t.delete(pa.Table.from_pylist(rows))
            model.delete(rows, result.instant_time)
        else:
            rows = [
                {"id": k, "ts": n, "city": CITIES[int(k[1:]) % 3], "v": f"{k}@{n}"}
                for k in rng.sample(keys, rng.randint(3, 15))
            ]
            result = t.upsert(pa.Table.from_pylist(rows, schema=SCHEMA))
            model.upsert(rows, result.instant_time)
        # Archival trims old compactions from the active timeline: count new ones by time.
        done = {i.time for i in t.timeline() if i.action == "commit" and i.is_completed}
        if done - seen:
            seen |= done
            model.compacted(model.compactions + 1)
        expected = model.expected_snapshot()
        got = model.actual(t.to_arrow())
        assert got == expected, f"commit {n}, hudiwrite:\n" + diff(expected, got)
        rs = model.actual(hudi_rs(path))
        assert rs == expected, f"commit {n}, hudi-rs:\n" + diff(expected, rs)

    assert model.compactions >= COMMITS // 4 - 1
    assert t.table_version == version
    _check_bounded(path, t, version)


def _check_bounded(path: Path, t: hw.HudiTable, version: int) -> None:
    timeline = t.timeline()
    writes = [i for i in timeline if i.action in ("deltacommit", "commit")]
    assert len(writes) <= OPTIONS.archive_max_instants, [str(i) for i in timeline]
    assert all(i.is_completed for i in timeline)
    if version == 6:
        archive = list((path / ".hoodie/archived").iterdir())
        assert any(p.name.startswith(".commits_.archive.") for p in archive)
    else:
        # the LSM timeline: data files, and its levels compacted (no more than a batch of
        # L0 files left behind)
        history = list((path / ".hoodie/timeline/history").glob("*.parquet"))
        assert history
        assert len([p for p in history if p.stem.endswith("_0")]) <= 10
        assert not list((path / ".hoodie").glob("*.deltacommit"))  # nothing on layout 1

    meta = t._meta  # internal: file_slices() lists the latest slices, this needs all kept
    tl = meta.timeline()
    view = FileSystemView.load(meta.storage, tl, None)
    referenced: set[str] = set()
    for partition in view.partitions:
        for group in view.file_groups(partition):
            # keep_latest_commits(3): at most the slices the last 3 commits read, plus the
            # latest one; with compaction every 4 delta commits that is at most 2.
            assert len(group.slices) <= 2, (group.file_id, [s.base_instant for s in group.slices])
            for s in group.slices:
                if s.base_file is not None:
                    referenced.add(s.base_file.path)
                referenced.update(f.path for f in s.log_files)
    on_storage: set[str] = set()
    for p in path.rglob("*"):
        rel = str(p.relative_to(path))
        if p.is_dir() or rel.startswith(".hoodie") or p.name == PARTITION_METAFILE:
            continue
        assert parse_base_file_name(p.name) or parse_log_file_name(p.name), rel
        on_storage.add(rel)
    assert on_storage == referenced, sorted(on_storage ^ referenced)[:10]
    assert not any((path / ".hoodie/.temp").iterdir())
    aux = [p.name for p in (path / ".hoodie/.aux").glob("*.compaction.requested")]
    active = {i.time for i in tl.instants}
    assert all(name.split(".")[0] in active for name in aux), aux
