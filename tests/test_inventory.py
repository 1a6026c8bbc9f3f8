"""The table's inventory views (``partitions``, ``file_slices``, ``stats``,
``commit_metadata``) agree with the files on disk and the commits that wrote them."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hudiwrite as hw
from tests.helpers import NO_SERVICES

SCHEMA = pa.schema([("id", pa.string()), ("ts", pa.int64()), ("city", pa.string())])


def _batch_without_v(ids: list[str], ts: int, cities: list[str]) -> pa.Table:
    return pa.table({"id": ids, "ts": [ts] * len(ids), "city": cities}, schema=SCHEMA)


@pytest.fixture
def table(tmp_path: Path) -> hw.HudiTable:
    t = hw.HudiTable.create(
        str(tmp_path / "t"), SCHEMA, record_key="id", partition_by="city",
        ordering_field="ts", options=NO_SERVICES,
    )  # fmt: skip
    t.upsert(_batch_without_v(["a", "b", "c"], 1, ["sf", "sf", "la"]))
    t.upsert(_batch_without_v(["a"], 2, ["sf"]))  # an update: a log file in sf
    return t


def _root(table: hw.HudiTable) -> Path:
    return Path(table.uri.removeprefix("file:"))


def test_empty_table(tmp_path: Path) -> None:
    t = hw.HudiTable.create(str(tmp_path / "e"), SCHEMA, record_key="id", partition_by="city")
    assert t.partitions() == ()
    assert t.file_slices() == ()
    assert t.stats().partitions == ()
    assert t.stats().base_rows == 0


def test_partitions_and_file_slices_match_the_files(table: hw.HudiTable) -> None:
    root = _root(table)
    assert table.partitions() == ("city=la", "city=sf")
    slices = table.file_slices()
    assert [s.partition for s in slices] == ["city=la", "city=sf"]
    for s in slices:
        assert s.base_file is not None
        assert (root / s.base_file).stat().st_size == s.base_file_bytes
        assert s.base_file.startswith(f"{s.partition}/{s.file_id}_")
        assert s.total_bytes == s.base_file_bytes + s.log_bytes
        assert sum((root / f).stat().st_size for f in s.log_files) == s.log_bytes
    (sf,) = table.file_slices("city=sf")
    assert len(sf.log_files) == 1 and sf.log_bytes > 0
    (la,) = table.file_slices("city=la")
    assert la.log_files == ()
    assert table.file_slices("city=nowhere") == ()
    with pytest.raises(hw.InvalidOptionError):
        table.file_slices(3)  # type: ignore[arg-type]


def test_stats_count_files_bytes_and_base_rows(table: hw.HudiTable) -> None:
    root = _root(table)
    stats = table.stats()
    by = {p.partition: p for p in stats.partitions}
    assert set(by) == {"city=la", "city=sf"}
    assert (by["city=sf"].base_rows, by["city=la"].base_rows) == (2, 1)
    assert (by["city=sf"].log_files, by["city=la"].log_files) == (1, 0)
    for s in table.file_slices():
        assert s.base_file is not None
        assert pq.ParquetFile(root / s.base_file).metadata.num_rows == by[s.partition].base_rows
    assert stats.base_rows == 3
    assert stats.file_groups == 2
    assert stats.base_bytes == sum(s.base_file_bytes for s in table.file_slices())
    assert stats.log_bytes == by["city=sf"].log_bytes > 0
    # After compaction the log is folded into a new base file.
    table.compact()
    after = {p.partition: p for p in table.stats().partitions}
    assert after["city=sf"].log_files == 0 and after["city=sf"].base_rows == 2


def test_commit_metadata(table: hw.HudiTable) -> None:
    first, second = [i for i in table.timeline() if i.action == "deltacommit"]
    md = table.commit_metadata(first.time)
    assert md.operation_type == "UPSERT"
    assert sorted(md.partition_to_write_stats) == ["city=la", "city=sf"]
    assert sum(s.num_inserts for s in md.all_stats()) == 3
    assert md.schema is not None and '"id"' in md.schema
    md2 = table.commit_metadata(second)
    assert sum(s.num_update_writes for s in md2.all_stats()) == 1
    assert isinstance(md2, hw.CommitMetadata)
    with pytest.raises(hw.InvalidOptionError, match="no completed"):
        table.commit_metadata("20000101000000000")
    with pytest.raises(hw.InvalidOptionError):
        table.commit_metadata(5)  # type: ignore[arg-type]
