"""Compaction: plans in Java's Avro form, execution that keeps record meta columns, plans
scheduled by one process and executed by another with writes in between, Spark tables
compacted by hudiwrite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import fastavro
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hudiwrite as hw
from hudiwrite.formats.avro_ocf import read_single_record
from hudiwrite.formats.hudi_avro_schemas import parsed
from hudiwrite.model.naming import parse_base_file_name, parse_log_file_name
from hudiwrite.timeline.metadata import CommitMetadata
from tests.helpers import batch, create, hudi_rs, versions_by_id
from tests.test_gold_reads import read_folder, rows, user_columns


def test_compaction_rewrites_slices_and_keeps_meta_columns(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = create(path)
    r1 = t.upsert(batch(["a", "b", "c"], 1))
    t.upsert(batch(["x"], 1, city="la"))
    r2 = t.upsert(batch(["a"], 2))
    t.delete(pa.table({"id": ["b"], "city": ["sf"]}))
    before = versions_by_id(t.to_arrow())
    seqnos = {r["id"]: r["_hoodie_commit_seqno"] for r in t.to_arrow().to_pylist()}

    result = t.compact()
    assert len(result.scheduled) == 1 and result.executed == result.scheduled
    tc = result.executed[0]
    assert result.file_groups == 1  # only city=sf has log files
    assert result.records_written == 2

    hoodie = path / ".hoodie"
    plan = read_single_record((hoodie / f"{tc}.compaction.requested").read_bytes())
    assert plan is not None
    assert plan.name == "org.apache.hudi.avro.model.HoodieCompactionPlan"
    fastavro.validate(plan.record, parsed("HoodieCompactionPlan"), raise_errors=True)
    (op,) = plan.record["operations"]
    assert op["partitionPath"] == "city=sf" and len(op["deltaFilePaths"]) == 2
    assert (hoodie / ".aux" / f"{tc}.compaction.requested").read_bytes() == (
        hoodie / f"{tc}.compaction.requested"
    ).read_bytes()
    assert (hoodie / f"{tc}.compaction.inflight").read_bytes() == b""
    done = orjson.loads((hoodie / f"{tc}.commit").read_bytes())
    assert done["compacted"] is True and done["operationType"] == "COMPACT"
    (stat,) = done["partitionToWriteStats"]["city=sf"]
    assert stat["prevCommit"] == r1.instant_time
    assert stat["totalLogFilesCompacted"] == 2

    new_base = path / stat["path"]
    assert stat["fileSizeInBytes"] == stat["totalWriteBytes"] == new_base.stat().st_size
    parsed_name = parse_base_file_name(new_base.name)
    assert parsed_name is not None and parsed_name.instant == tc
    stored = pq.read_table(new_base).to_pylist()
    assert {r["id"]: r["_hoodie_commit_time"] for r in stored} == {
        "a": r2.instant_time,
        "c": r1.instant_time,
    }
    assert {r["id"]: r["_hoodie_commit_seqno"] for r in stored} == {
        k: v for k, v in seqnos.items() if k in ("a", "c")
    }
    assert {r["_hoodie_file_name"] for r in stored} == {new_base.name}
    assert not (hoodie / ".temp" / tc).exists()

    assert versions_by_id(t.to_arrow()) == before
    assert versions_by_id(hudi_rs(path)) == before
    # read-optimized now shows the compacted state
    assert versions_by_id(t.to_arrow(read_optimized=True)) == before
    # time travel to before the compaction still reads the old slice
    assert versions_by_id(t.to_arrow(as_of=r2.instant_time))["a"] == (2, r2.instant_time)
    # nothing left to compact
    again = t.compact()
    assert again.scheduled == () and again.executed == ()


_EXECUTE = """
import sys
import hudiwrite as hw
t = hw.HudiTable.open(sys.argv[1], options=hw.TableOptions(
    compaction_delta_commits=None, auto_clean=False, auto_archive=False))
r = t.compact()
print(",".join(r.executed))
"""


def test_plan_in_one_process_execute_in_another(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = create(path)
    t.upsert(batch(["a", "b", "c", "d"], 1))
    t.upsert(batch(["a", "b"], 2))
    planned = t.compact(plan_only=True)
    (tc,) = planned.scheduled
    assert planned.executed == ()
    expected = versions_by_id(t.to_arrow())

    # Writes while the plan is pending go to the compaction's slice.
    r3 = t.upsert(batch(["b", "e"], 3))
    expected["b"] = (3, r3.instant_time)
    expected["e"] = (3, r3.instant_time)
    logs = [parse_log_file_name(Path(f).name) for f in r3.files_written if "/." in f]
    assert [(lg.base_instant, lg.version) for lg in logs if lg] == [(tc, 1)]
    r4 = t.delete(pa.table({"id": ["c"], "city": ["sf"]}))
    expected.pop("c")
    assert len(r4.files_written) == 1
    assert versions_by_id(t.to_arrow()) == expected

    out = subprocess.run(
        [sys.executable, "-c", _EXECUTE, str(path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == tc
    assert versions_by_id(t.to_arrow()) == expected
    assert versions_by_id(hudi_rs(path)) == expected
    # The compacted base file holds the pre-plan state; the later logs sit on top of it.
    assert versions_by_id(t.to_arrow(read_optimized=True))["b"][0] == 2
    r5 = t.upsert(batch(["a"], 5))
    expected["a"] = (5, r5.instant_time)
    assert versions_by_id(t.to_arrow()) == expected
    assert versions_by_id(hudi_rs(path)) == expected


def test_interrupted_compaction_is_redone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t"
    t = create(path)
    t.upsert(batch(["a", "b"], 1))
    t.upsert(batch(["x"], 1, city="la"))
    t.upsert(batch(["a"], 2))
    t.upsert(batch(["x"], 2, city="la"))
    expected = versions_by_id(t.to_arrow())
    real = CommitMetadata.to_json_bytes

    def boom(self: Any) -> bytes:
        raise KeyboardInterrupt("crash before the compaction commit")

    monkeypatch.setattr(CommitMetadata, "to_json_bytes", boom)
    with pytest.raises(KeyboardInterrupt):
        t.compact()
    monkeypatch.setattr(CommitMetadata, "to_json_bytes", real)
    (pending,) = [i for i in t.timeline() if i.action == "compaction"]
    assert pending.state is hw.State.INFLIGHT
    assert versions_by_id(t.to_arrow()) == expected  # partial output is invisible
    assert versions_by_id(hudi_rs(path)) == expected
    result = t.compact()
    assert pending.time in result.executed
    assert versions_by_id(t.to_arrow()) == expected
    assert versions_by_id(hudi_rs(path)) == expected
    outputs = [p for p in path.rglob(f"*_{pending.time}.parquet")]
    assert len(outputs) == 2  # one per file group, the partial ones were replaced


def test_inline_compaction_every_n_delta_commits(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = create(path, compaction_delta_commits=3)
    for ts in range(1, 8):
        t.upsert(batch(["a", f"k{ts}"], ts))
    compactions = [i for i in t.timeline() if i.action == "commit" and i.is_completed]
    assert len(compactions) == 2  # after delta commits 3 and 6
    assert versions_by_id(t.to_arrow()) == versions_by_id(hudi_rs(path))
    assert len(versions_by_id(t.to_arrow())) == 8


SPARK_V6 = [
    "mor_v6_trips_8i1u.zip",
    "mor_v6_trips_8i3d.zip",
    "mor_v6_nonpartitioned.zip",
    "mor_v6_nonpartitioned_rollback.zip",
    "mor_table_uncommitted_log_v6.zip",
]


@pytest.mark.parametrize("zip_name", SPARK_V6)
def test_spark_tables_compacted_cleaned_archived(zip_name: str, unpack_fixture: Any) -> None:
    """Spark's v6 tables, compacted (then cleaned and archived) by hudiwrite, still read as
    Spark's gold rows."""
    folder = Path(unpack_fixture(zip_name))
    (table_dir,) = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("gold")]
    gold = read_folder(folder / "gold_data")
    columns = user_columns(gold)
    options = hw.TableOptions(
        compaction_delta_commits=None,
        auto_clean=False,
        auto_archive=False,
        clean_retained=1,
        archive_min_instants=2,
        archive_max_instants=3,
    )
    t = hw.HudiTable.open(str(table_dir), options=options)
    result = t.compact()
    assert result.executed, "every v6 fixture has log files to compact"

    def reads_gold() -> None:
        assert rows(t.to_arrow(), columns) == rows(gold, columns)
        rs = hudi_rs(table_dir)
        assert rows(rs, columns) == rows(gold, columns)

    reads_gold()
    assert rows(t.to_arrow(read_optimized=True), columns) == rows(gold, columns)
    # Rewrite one existing row unchanged (a no-op for the data, a new log and commit for the
    # table), compact again, then clean and archive: the older slices and instants go.
    existing = t.to_arrow().slice(0, 1)
    for _ in range(3):
        t.upsert(existing)
    t.compact()
    cleaned = t.clean()
    assert cleaned.instant_time is not None and cleaned.files_deleted
    archived = t.archive()
    assert archived.archived and archived.archive_file is not None
    reads_gold()


@pytest.mark.parametrize("revive", ["upsert", "insert"])
def test_a_key_revived_while_its_group_awaits_compaction_stays_one_record(
    tmp_path: Path, revive: str
) -> None:
    """A deleted key written again while its file group has a pending compaction: the
    record used to go to a log of the slice the compaction starts, while the compacted
    base file dropped the key; the index, which reads base files, then did not find it,
    and the key's next insert was accepted (and its next upsert inserted it a second
    time). The write now completes the pending compaction first. Found by the state
    machine."""
    table = create(tmp_path / "t")
    table.upsert(batch(["k0", "k1"], 1))
    assert table.delete(pa.table({"id": ["k1"], "city": ["sf"]})).num_deleted == 1
    planned = table.compact(plan_only=True)
    assert len(planned.scheduled) == 1
    result = getattr(table, revive)(batch(["k1"], 3))
    assert result.num_inserted + result.num_updated == 1
    # the compaction ran before the write: nothing pending, and the key is in a base file
    assert table.timeline() and not [
        i
        for i in table.timeline()
        if i.action == "compaction" and i.state is not hw.State.COMPLETED
    ]
    with pytest.raises(hw.InvalidRecordError, match="exist"):
        table.insert(batch(["k1"], 4))
    again = table.upsert(batch(["k1"], 5))
    assert (again.num_inserted, again.num_updated) == (0, 1)
    table.compact()
    for got in (table.to_arrow(), hudi_rs(tmp_path / "t")):
        pairs = sorted(zip(got["id"].to_pylist(), got["ts"].to_pylist(), strict=True))
        assert pairs == [("k0", 1), ("k1", 5)]


def test_a_live_key_updated_under_a_pending_compaction_does_not_run_it(tmp_path: Path) -> None:
    """Only revivals need the compaction first: updates of live keys go to the new slice's
    log and leave the plan pending (for Java or a later compact() to run)."""
    table = create(tmp_path / "t")
    table.upsert(batch(["k0", "k1"], 1))
    table.upsert(batch(["k1"], 2))
    (scheduled,) = table.compact(plan_only=True).scheduled
    table.upsert(batch(["k0", "k1"], 3))
    pending = [i.time for i in table.timeline() if i.state is not hw.State.COMPLETED]
    assert pending == [scheduled]
    got = table.to_arrow()
    assert sorted(zip(got["id"].to_pylist(), got["ts"].to_pylist(), strict=True)) == [
        ("k0", 3),
        ("k1", 3),
    ]


@pytest.mark.parametrize("version", [6, 9])
def test_no_plan_names_a_log_of_a_write_that_started_while_planning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int
) -> None:
    """A write that reserves its instant and writes a log file between the planner's
    timeline listing and its file listing may still fail and delete that log (found by the
    S3 load test: a plan naming a vanished log never ran). The planner lists the timeline
    again and plans nothing while such a write runs; the next run plans."""
    from hudiwrite.read.fsview import FileSystemView
    from hudiwrite.timeline.instant import Action

    t = create(tmp_path / "t", table_version=version)
    t.upsert(batch(["a", "b"], 1))
    t.upsert(batch(["a"], 2))
    real_load = FileSystemView.load
    started: list[str] = []

    def load_while_a_write_starts(*args: Any, **kwargs: Any) -> Any:
        if not started:  # another process reserves its write now
            started.append(t._meta.reserve_instant(Action.DELTA_COMMIT)[0])
        return real_load(*args, **kwargs)

    monkeypatch.setattr(FileSystemView, "load", load_while_a_write_starts)
    assert t.compact(plan_only=True).scheduled == ()
    assert started and not any(i.action == "compaction" for i in t.timeline())
    monkeypatch.undo()
    t._meta.storage.delete(
        t._meta.instant_path(hw.Instant(started[0], "deltacommit", hw.State.REQUESTED))
    )
    assert t.compact(plan_only=True).scheduled
