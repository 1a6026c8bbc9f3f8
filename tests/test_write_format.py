"""What a write leaves on storage: the files, names, footers, blocks and timeline entries Java
writes, checked file by file."""

from __future__ import annotations

import base64
import logging
import re
import zipfile
from pathlib import Path
from typing import Any

import fsspec
import hudi
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hudiwrite as hw
from hudiwrite.formats.bloomfilter import BloomFilter, bloom_footer
from hudiwrite.formats.logblock.delete import decode_delete_records
from hudiwrite.formats.logblock.frame import BlockType, HeaderKey
from hudiwrite.formats.logfile import LogFileBlock, read_blocks
from hudiwrite.model.naming import LogFileName, parse_base_file_name, parse_log_file_name
from hudiwrite.model.tableconfig import Keys, TableConfig, format_properties, parse_properties
from hudiwrite.write import executor as executor_module
from tests.fixtures import FIXTURES
from tests.helpers import hudi_rs

SCHEMA = pa.schema(
    [("id", pa.string()), ("ts", pa.int64()), ("city", pa.string()), ("v", pa.float64())]
)


def _rows(ids: list[str], ts: int, cities: list[str]) -> pa.Table:
    return pa.table(
        {
            "id": ids,
            "ts": [ts] * len(ids),
            "city": cities,
            "v": [float(i) for i in range(len(ids))],
        },
        schema=SCHEMA,
    )


@pytest.fixture
def table(tmp_path: Path) -> hw.HudiTable:
    return hw.HudiTable.create(
        str(tmp_path / "t"), SCHEMA, record_key="id", partition_by="city", ordering_field="ts"
    )


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_create_matches_a_fresh_spark_table(tmp_path: Path) -> None:
    path = tmp_path / "t"
    hw.HudiTable.create(str(path), SCHEMA, record_key="id", ordering_field="ts")
    with zipfile.ZipFile(FIXTURES / "mor_v6_empty.zip") as zf:
        prefix = "v6_empty/v6_empty/"
        spark = {n[len(prefix) :].rstrip("/") for n in zf.namelist() if n.startswith(prefix)}
    assert _files(path) == {s for s in spark if s}
    props = parse_properties((path / ".hoodie/hoodie.properties").read_text("latin-1"))
    spark_props = parse_properties(
        zipfile.ZipFile(FIXTURES / "mor_v6_empty.zip")
        .read("v6_empty/v6_empty/.hoodie/hoodie.properties")
        .decode("latin-1")
    )
    # Every key a Spark-created table has (database name aside) is present.
    assert set(spark_props) - {Keys.DATABASE} <= set(props)
    assert props[Keys.TIMEZONE] == "UTC"
    assert props[Keys.PAYLOAD_CLASS].endswith("OverwriteWithLatestAvroPayload")
    assert props[Keys.VERSION] == "6" and props[Keys.TIMELINE_LAYOUT] == "1"
    assert props[Keys.KEYGEN_CLASS] == "org.apache.hudi.keygen.NonpartitionedKeyGenerator"
    TableConfig(props).validate_checksum()
    # hudi-rs reads the empty table
    assert hudi.HudiTable(str(path)).read(hudi.HudiReadOptions()) == []


def test_key_generators_recorded(tmp_path: Path) -> None:
    cases = [
        ("id", "city", "SimpleKeyGenerator"),
        (["id", "city"], "city", "ComplexKeyGenerator"),
        ("id", ["city", "id"], "ComplexKeyGenerator"),
        (["id", "ts"], None, "NonpartitionedKeyGenerator"),
    ]
    for n, (key, part, cls) in enumerate(cases):
        t = hw.HudiTable.create(str(tmp_path / f"t{n}"), SCHEMA, record_key=key, partition_by=part)
        assert t.properties[Keys.KEYGEN_CLASS] == f"org.apache.hudi.keygen.{cls}"
        t.upsert(_rows(["a", "b"], 1, ["sf", "la"]))
        keys = sorted(t.to_arrow().column("_hoodie_record_key").to_pylist())
        if cls == "SimpleKeyGenerator":
            assert keys == ["a", "b"]
        elif n == 1:
            assert keys == ["id:a,city:sf", "id:b,city:la"]
        elif n == 2:
            assert keys == ["id:a", "id:b"]
        else:
            assert keys == ["id:a,ts:1", "id:b,ts:1"]


def test_timeline_and_data_files(table: hw.HudiTable) -> None:
    root = Path(table.uri)
    r1 = table.upsert(_rows(["a", "b", "c"], 1, ["sf", "sf", "la"]))
    r2 = table.upsert(_rows(["a", "d"], 2, ["sf", "la"]))
    r3 = table.delete(pa.table({"id": ["b"], "city": ["sf"]}))
    assert r1.instant_time < r2.instant_time < r3.instant_time
    hoodie = root / ".hoodie"
    for r in (r1, r2, r3):
        assert (hoodie / f"{r.instant_time}.deltacommit.requested").read_bytes() == b""
        inflight = orjson.loads((hoodie / f"{r.instant_time}.deltacommit.inflight").read_bytes())
        assert inflight["operationType"] == r.operation
        done = orjson.loads((hoodie / f"{r.instant_time}.deltacommit").read_bytes())
        assert done["operationType"] == r.operation
        schema = orjson.loads(done["extraMetadata"]["schema"])
        assert [f["name"] for f in schema["fields"]] == SCHEMA.names
        stats = [s for ss in done["partitionToWriteStats"].values() for s in ss]
        assert sorted(s["path"] for s in stats) == sorted(r.files_written)
        for s in stats:
            assert (root / s["path"]).stat().st_size == s["fileSizeInBytes"]
        assert not (hoodie / ".temp" / r.instant_time).exists(), "markers must be removed"

    # partition metadata written by the first commit into each partition
    for city, first in (("sf", r1), ("la", r1)):
        text = (root / f"city={city}/.hoodie_partition_metadata").read_text()
        assert f"commitTime={first.instant_time}" in text and "partitionDepth=1" in text

    # base files: meta columns and Hudi's footer
    (base_sf,) = [f for f in r1.files_written if f.startswith("city=sf/")]
    parsed = parse_base_file_name(base_sf.split("/")[1])
    assert parsed is not None and parsed.instant == r1.instant_time
    pf = pq.ParquetFile(root / base_sf)
    meta = {k.decode(): v.decode() for k, v in pf.metadata.metadata.items()}
    rows = pf.read().to_pylist()
    keys = [r["_hoodie_record_key"] for r in rows]
    assert meta["hoodie_min_record_key"] == min(keys)
    assert meta["hoodie_max_record_key"] == max(keys)
    assert meta == {**meta, **bloom_footer(pa.array(keys))}
    assert BloomFilter.from_footer(
        meta["org.apache.hudi.bloomfilter"], meta["hoodie_bloom_filter_type_code"]
    ).might_contain(pa.array(keys)).to_pylist() == [True] * len(keys)
    avro = orjson.loads(meta["parquet.avro.schema"])
    assert [f["name"] for f in avro["fields"]][:5] == [
        "_hoodie_commit_time",
        "_hoodie_commit_seqno",
        "_hoodie_record_key",
        "_hoodie_partition_path",
        "_hoodie_file_name",
    ]
    assert meta["writer.model.name"] == "avro"
    task = parsed.write_token.split("-")[0]
    for i, r in enumerate(rows):
        assert r["_hoodie_commit_time"] == r1.instant_time
        assert r["_hoodie_commit_seqno"] == f"{r1.instant_time}_{task}_{i}"
        assert r["_hoodie_partition_path"] == "city=sf"
        assert r["_hoodie_file_name"] == base_sf.split("/")[1]

    # log files: named after the slice's base instant, versions 1 and 2, blocks with headers
    def log_name(path: str) -> LogFileName:
        parsed = parse_log_file_name(path.split("/")[1])
        assert parsed is not None, path
        return parsed

    logs = sorted(
        (log_name(f).sort_key, log_name(f), f)
        for f in r2.files_written + r3.files_written
        if "/." in f
    )
    assert [(lg.file_id, lg.base_instant, lg.version) for _, lg, _ in logs] == [
        (parsed.file_id, r1.instant_time, 1),
        (parsed.file_id, r1.instant_time, 2),
    ]
    update_blocks = [e for e in read_blocks((root / logs[0][2]).read_bytes())]
    assert [type(e) for e in update_blocks] == [LogFileBlock]
    assert isinstance(update_blocks[0], LogFileBlock)
    block = update_blocks[0].block
    assert block.block_type == BlockType.PARQUET_DATA_BLOCK
    assert block.get(HeaderKey.INSTANT_TIME) == r2.instant_time
    assert orjson.loads(block.get(HeaderKey.SCHEMA) or "")["fields"][0]["name"] == (
        "_hoodie_commit_time"
    )
    records = pq.read_table(pa.BufferReader(block.content)).to_pylist()
    assert [(r["_hoodie_record_key"], r["_hoodie_file_name"]) for r in records] == [
        ("a", parsed.file_id)
    ]
    (delete_entry,) = read_blocks((root / logs[1][2]).read_bytes())
    assert isinstance(delete_entry, LogFileBlock)
    assert delete_entry.block.block_type == BlockType.DELETE_BLOCK
    deletes = decode_delete_records(delete_entry.block.content)
    assert deletes.record_keys.to_pylist() == ["b"]
    assert deletes.ordering_values.to_pylist() == [0]  # IntWrapper(0): the delete always wins


def test_avro_log_blocks(tmp_path: Path) -> None:
    t = hw.HudiTable.create(
        str(tmp_path / "t"),
        SCHEMA,
        record_key="id",
        partition_by="city",
        ordering_field="ts",
        options=hw.TableOptions(log_block_format="avro"),
    )
    t.upsert(_rows(["a"], 1, ["sf"]))
    r = t.upsert(_rows(["a"], 2, ["sf"]))
    (log,) = r.files_written
    (entry,) = read_blocks((Path(t.uri) / log).read_bytes())
    assert isinstance(entry, LogFileBlock)
    assert entry.block.block_type == BlockType.AVRO_DATA_BLOCK
    assert t.to_arrow().column("ts").to_pylist() == [2]


def test_metadata_table_is_removed_before_writing(
    table: hw.HudiTable, caplog: pytest.LogCaptureFixture
) -> None:
    root = Path(table.uri)
    table.upsert(_rows(["a"], 1, ["sf"]))
    (root / ".hoodie/metadata/files").mkdir(parents=True)
    (root / ".hoodie/metadata/files/.files-0000_00000000000000.log.1_0-0-0").write_bytes(b"x")
    props_path = root / ".hoodie/hoodie.properties"
    props = parse_properties(props_path.read_text("latin-1"))
    props[Keys.METADATA_PARTITIONS] = "files"
    props_path.write_text(format_properties(props), "latin-1")
    with caplog.at_level(logging.WARNING, logger="hudiwrite"):
        table.upsert(_rows(["b"], 2, ["sf"]))
    assert "metadata table" in caplog.text
    assert not (root / ".hoodie/metadata").exists()
    after = parse_properties(props_path.read_text("latin-1"))
    assert after[Keys.METADATA_PARTITIONS] == ""  # HoodieTableConfig.clearMetadataPartitions
    assert after[Keys.METADATA_PARTITIONS_INFLIGHT] == ""
    assert not (root / ".hoodie/hoodie.properties.backup").exists()
    TableConfig(after).validate_checksum()
    assert sorted(table.to_arrow().column("id").to_pylist()) == ["a", "b"]


def test_streaming_input_spills_and_stays_correct(tmp_path: Path) -> None:
    t = hw.HudiTable.create(
        str(tmp_path / "t"),
        SCHEMA,
        record_key="id",
        partition_by="city",
        ordering_field="ts",
        options=hw.TableOptions(max_memory_bytes=4096),
    )
    n = 5000
    data = pa.table(
        {
            "id": [f"k{i % 3000}" for i in range(n)],  # duplicates across batches
            "ts": list(range(n)),
            "city": ["sf" if i % 2 else "la" for i in range(n)],
            "v": [float(i) for i in range(n)],
        },
        schema=SCHEMA,
    )
    reader = pa.RecordBatchReader.from_batches(SCHEMA, data.to_batches(max_chunksize=700))
    spilled: list[bool] = []
    original = executor_module.WriteExecutor.run

    def spy(self: Any, prepared: Any) -> Any:
        spilled.append(prepared.spilled)
        return original(self, prepared)

    executor_module.WriteExecutor.run = spy  # type: ignore[method-assign]
    try:
        result = t.upsert(reader)
    finally:
        executor_module.WriteExecutor.run = original  # type: ignore[method-assign]
    assert spilled == [True]
    # the last occurrence (greatest ts) of each (key, city) wins
    expected = {}
    for row in data.to_pylist():
        expected[(row["id"], row["city"])] = row["ts"]
    got = {(r["id"], r["city"]): r["ts"] for r in t.to_arrow().to_pylist()}
    assert got == expected
    assert result.num_inserted == len(expected)


def test_memory_filesystem_and_storage_options() -> None:
    uri = "memory://hudiwrite-test/t"
    fs = fsspec.filesystem("memory")
    if fs.exists("/hudiwrite-test"):
        fs.rm("/hudiwrite-test", recursive=True)
    t = hw.HudiTable.create(uri, SCHEMA, record_key="id", partition_by="city", ordering_field="ts")
    t.upsert(_rows(["a", "b"], 1, ["sf", "la"]))
    t.upsert(_rows(["a"], 2, ["sf"]))
    t.delete(pa.table({"id": ["b"], "city": ["la"]}))
    again = hw.HudiTable.open(uri)
    assert again.to_arrow().select(["id", "ts"]).to_pylist() == [{"id": "a", "ts": 2}]
    names = [p.rsplit("/", 1)[-1] for p in fs.find("/hudiwrite-test/t/.hoodie")]
    assert sum(1 for n in names if re.fullmatch(r"\d{17}\.deltacommit", n)) == 3


def test_table_services_on_memory_filesystem() -> None:
    """Inline compaction, cleaning and archival need nothing of a local disk."""
    uri = "memory://hudiwrite-services/t"
    fs = fsspec.filesystem("memory")
    if fs.exists("/hudiwrite-services"):
        fs.rm("/hudiwrite-services", recursive=True)
    options = hw.TableOptions(
        compaction_delta_commits=2, clean_retained=1, archive_min_instants=2, archive_max_instants=3
    )
    t = hw.HudiTable.create(
        uri, SCHEMA, record_key="id", partition_by="city", ordering_field="ts", options=options
    )
    model: dict[tuple[str, str], int] = {}
    for i in range(12):
        ids, cities = [f"k{i % 3}", f"n{i}"], ["sf", "la"]
        t.upsert(_rows(ids, i, cities))
        model |= {(k, c): i for k, c in zip(ids, cities, strict=True)}
    assert {(r["id"], r["city"]): r["ts"] for r in t.to_arrow().to_pylist()} == model
    actions = [i.action for i in t.timeline()]
    assert "commit" in actions and "clean" in actions  # compacted and cleaned inline
    assert len(actions) <= 3
    assert fs.find("/hudiwrite-services/t/.hoodie/archived")
    again = hw.HudiTable.open(uri)
    assert {(r["id"], r["city"]): r["ts"] for r in again.to_arrow().to_pylist()} == model


def test_concurrent_commit_on_same_file_group_conflicts(table: hw.HudiTable) -> None:
    root = Path(table.uri)
    table.upsert(_rows(["a", "b"], 1, ["sf", "sf"]))
    # Two writers at once: neither may roll back the other's in-flight write.
    concurrent = hw.TableOptions(rollback_failed_writes="never")
    table = hw.HudiTable.open(table.uri, options=concurrent)
    other = hw.HudiTable.open(table.uri, options=concurrent)
    original = executor_module.WriteExecutor.run
    calls: list[Any] = []

    def racing(self: Any, prepared: Any) -> Any:
        stats = original(self, prepared)
        if not calls:
            calls.append(1)
            executor_module.WriteExecutor.run = original  # type: ignore[method-assign]
            other.upsert(_rows(["b"], 3, ["sf"]))  # commits first, same file group
        return stats

    executor_module.WriteExecutor.run = racing  # type: ignore[method-assign]
    before = None
    try:
        with pytest.raises(hw.CommitConflictError):
            table.upsert(_rows(["a"], 2, ["sf"]))
    finally:
        executor_module.WriteExecutor.run = original  # type: ignore[method-assign]
    before = {r["id"]: r["ts"] for r in table.to_arrow().to_pylist()}
    assert before == {"a": 1, "b": 3}
    # the losing write left nothing behind: exactly two completed commits and their files
    hoodie = root / ".hoodie"
    assert len(list(hoodie.glob("*.deltacommit"))) == 2
    assert len(list(hoodie.glob("*.deltacommit.inflight"))) == 2
    logs = [p for p in (root / "city=sf").iterdir() if p.name.startswith(".") and ".log." in p.name]
    assert len(logs) == 1


def test_insert_revives_deleted_key_and_rejects_live_ones(table: hw.HudiTable) -> None:
    table.upsert(_rows(["a", "b"], 1, ["sf", "sf"]))
    table.delete(pa.table({"id": ["a"], "city": ["sf"]}))
    r = table.insert(_rows(["a"], 2, ["sf"]))
    assert (r.num_inserted, r.num_updated) == (0, 1)
    with pytest.raises(hw.InvalidRecordError, match="already exists"):
        table.insert(_rows(["b"], 3, ["sf"]))
    rows = {x["id"]: x["ts"] for x in table.to_arrow().to_pylist()}
    assert rows == {"a": 2, "b": 1}


def test_write_hudi_creates_then_upserts(tmp_path: Path) -> None:
    uri = str(tmp_path / "w")
    r1 = hw.write_hudi(
        uri,
        _rows(["a", "b"], 1, ["sf", "la"]),
        record_key="id",
        partition_by="city",
        ordering_field="ts",
    )
    r2 = hw.write_hudi(uri, _rows(["a"], 2, ["sf"]), record_key="id", partition_by="city")
    r3 = hw.write_hudi(
        uri,
        pa.table({"id": ["b"], "city": ["la"]}),
        mode="delete",
        record_key="id",
        partition_by="city",
    )
    assert (r1.num_inserted, r2.num_updated, r3.num_deleted) == (2, 1, 1)
    out = hudi_rs(uri)
    assert out.select(["id", "ts"]).to_pylist() == [{"id": "a", "ts": 2}]


def test_bloom_footer_base64_is_standard(table: hw.HudiTable) -> None:
    r = table.upsert(_rows(["x"], 1, ["sf"]))
    meta = pq.ParquetFile(Path(table.uri) / r.files_written[0]).metadata.metadata
    raw = base64.b64decode(meta[b"org.apache.hudi.bloomfilter"], validate=True)
    assert len(raw) == 323534  # one dynamic row with Hudi's default sizing


def _small_file_table(tmp_path: Path, **options: Any) -> hw.HudiTable:
    """A partitioned table for the small-file tests, without inline compaction."""
    return hw.HudiTable.create(
        str(tmp_path / "t"),
        SCHEMA,
        record_key="id",
        partition_by="city",
        ordering_field="ts",
        options=hw.TableOptions(compaction_delta_commits=None, **options),
    )


def _file_id(rel_path: str) -> str:
    """The file id of a base file given by its table-relative path."""
    parsed = parse_base_file_name(rel_path.split("/")[1])
    assert parsed is not None
    return parsed.file_id


def test_inserts_fill_the_smallest_base_file(tmp_path: Path) -> None:
    """Small-file handling: new keys go into the partition's smallest base file (a new
    version of its file group, written with a MERGE marker) instead of a new file group."""
    t = _small_file_table(tmp_path)
    r1 = t.upsert(_rows(["a", "b"], 1, ["sf", "sf"]))
    (first,) = r1.files_written
    file_id = _file_id(first)
    r2 = t.upsert(_rows(["c", "d"], 2, ["sf", "sf"]))
    (second,) = r2.files_written
    parsed = parse_base_file_name(second.split("/")[1])
    assert parsed is not None and parsed.file_id == file_id
    assert parsed.instant == r2.instant_time
    assert (r2.num_inserted, r2.num_updated) == (2, 0)
    done = orjson.loads((Path(t.uri) / ".hoodie" / f"{r2.instant_time}.deltacommit").read_bytes())
    (stat,) = done["partitionToWriteStats"]["city=sf"]
    assert (stat["prevCommit"], stat["numWrites"], stat["numInserts"]) == (r1.instant_time, 4, 2)
    rows = pq.read_table(Path(t.uri) / second).to_pylist()
    assert {r["id"]: r["_hoodie_commit_time"] for r in rows} == {
        "a": r1.instant_time,
        "b": r1.instant_time,
        "c": r2.instant_time,
        "d": r2.instant_time,
    }
    assert {r["_hoodie_file_name"] for r in rows} == {second.split("/")[1]}
    expected = {"a": 1, "b": 1, "c": 2, "d": 2}
    assert {r["id"]: r["ts"] for r in t.to_arrow().to_pylist()} == expected
    rs = hudi_rs(t.uri)
    assert {r["id"]: r["ts"] for r in rs.to_pylist()} == expected
    # A group with log files takes inserts too: its merged records are rewritten with them.
    r3 = t.upsert(_rows(["a"], 3, ["sf"]))
    r4 = t.upsert(_rows(["e"], 4, ["sf"]))
    (fourth,) = r4.files_written
    assert _file_id(fourth) == file_id
    rows = {
        r["id"]: (r["ts"], r["_hoodie_commit_time"])
        for r in pq.read_table(Path(t.uri) / fourth).to_pylist()
    }
    assert rows["a"] == (3, r3.instant_time) and rows["e"] == (4, r4.instant_time)
    expected = {"a": 3, "b": 1, "c": 2, "d": 2, "e": 4}
    assert {r["id"]: r["ts"] for r in t.to_arrow().to_pylist()} == expected
    rs = hudi_rs(t.uri)
    assert {r["id"]: r["ts"] for r in rs.to_pylist()} == expected


def test_small_file_merges_are_bounded_by_the_rewrite_ratio(tmp_path: Path) -> None:
    """A group holding far more records than the inserts is not rewritten for them: the
    inserts start a new group, and the next small write fills that one. (Groups below
    ``small_file_floor`` are always filled; the bound is tested here with that floor at 0.)"""
    t = _small_file_table(tmp_path, small_file_rewrite=10, small_file_floor=0)
    big = t.upsert(_rows([f"k{i}" for i in range(200)], 1, ["sf"] * 200))
    (big_file,) = big.files_written
    big_id = _file_id(big_file)
    small = t.upsert(_rows(["x1"], 2, ["sf"]))  # 200 > 10 x 1: a new group
    (small_file,) = small.files_written
    small_id = _file_id(small_file)
    assert small_id != big_id
    again = t.upsert(_rows(["x2"], 3, ["sf"]))  # 1 <= 10 x 1: merged into the small group
    (again_file,) = again.files_written
    assert _file_id(again_file) == small_id
    assert t.to_arrow().num_rows == 202


def test_tiny_groups_always_take_inserts(tmp_path: Path) -> None:
    t = _small_file_table(tmp_path, small_file_rewrite=1)
    first = t.upsert(_rows([f"k{i}" for i in range(200)], 1, ["sf"] * 200))
    later = t.upsert(_rows(["x1"], 2, ["sf"]))  # 200 > 1 x 1, but the group is tiny
    file_ids = {_file_id(f) for f in first.files_written + later.files_written}
    assert len(file_ids) == 1


def test_partition_metadata_records_the_creating_commit() -> None:
    from hudiwrite.model.naming import partition_metadata_commit, partition_metadata_text

    text = partition_metadata_text("20261203101500123", "a/b", "Thu Dec 03 10:15:00 UTC 2026")
    assert partition_metadata_commit(text) == "20261203101500123"
    # Java writes it as a properties file: spaces around '=' and other key order parse too
    assert partition_metadata_commit(b"partitionDepth=2\ncommitTime = 123\n") == "123"
    assert partition_metadata_commit(b"#partition metadata\npartitionDepth=1\n") is None
    # a commitTime that merely contains the instant is not that instant (the old substring test)
    assert partition_metadata_commit(b"commitTime=1234\n") != "123"
