"""Archival of the v6 active timeline: the plan, the archive file Java reads, and reads that do
not change (hudiwrite and hudi-rs) when old instants leave the active timeline."""

from __future__ import annotations

import io
import os
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
from hudiwrite.services.archive import plan_archive, run_archive
from hudiwrite.services.settings import ArchiveSettings
from hudiwrite.timeline.archived import ArchivedInstant, read_archived
from hudiwrite.timeline.instant import CLOCK, Action, Instant, State
from hudiwrite.timeline.layout import LAYOUT_V6
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.timeline import Timeline
from hudiwrite.write import transaction
from tests.helpers import hudi_rs

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

    result = run_archive(meta, ArchiveSettings(min_instants=20, max_instants=30))

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
    again = run_archive(meta, ArchiveSettings(min_instants=20, max_instants=30))
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
    result = run_archive(_meta(t), ArchiveSettings(min_instants=4, max_instants=8))
    assert result.archived == () and result.archive_file is None
    assert _timeline_files(path) == before
    assert _archive_files(path) == []
    _commit(t, 8)  # the ninth commit crosses max: down to min
    result = run_archive(_meta(t), ArchiveSettings(min_instants=4, max_instants=8))
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

    result = run_archive(_meta(t), ArchiveSettings(min_instants=2, max_instants=4))
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

    result = run_archive(_meta(t), ArchiveSettings(min_instants=2, max_instants=4))
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

    result = run_archive(meta, ArchiveSettings(min_instants=2, max_instants=4))
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
    settings = ArchiveSettings(min_instants=4, max_instants=8)

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
    settings = ArchiveSettings(min_instants=4, max_instants=8)

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
    settings = ArchiveSettings(min_instants=2, max_instants=4)
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
        timeline, ArchiveSettings(3, 7), earliest_clean_retained=None, state_files=states
    )
    assert [g[0].time for g in groups] == [_t(n) for n in range(1, 6)]
    assert all(len(g) == 3 for g in groups)
    # without the compaction there are 7: nothing to do
    fewer = _timeline(*[x for n in range(1, 8) for x in _done(n)])
    assert plan_archive(fewer, ArchiveSettings(3, 7), earliest_clean_retained=None) == []
    # a completed compaction archives as one group of its three files
    all_groups = plan_archive(
        timeline, ArchiveSettings(0, 7), earliest_clean_retained=None, state_files=states
    )
    assert all_groups[-1] == (
        Instant(_t(8), Action.COMPACTION, State.REQUESTED),
        Instant(_t(8), Action.COMPACTION, State.INFLIGHT),
        Instant(_t(8), Action.COMMIT, State.COMPLETED),
    )


def test_plan_bounds() -> None:
    base = [x for n in range(1, 11) for x in _done(n * 10)]
    settings = ArchiveSettings(2, 4)

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
    groups = plan_archive(timeline, ArchiveSettings(3, 6), earliest_clean_retained=None)
    assert [(g[-1].action, g[-1].time) for g in groups] == [
        ("rollback", _t(600 + n)) for n in range(1, 10)
    ]
    # commits go: cleans older than the first retained commit go along
    groups = plan_archive(timeline, ArchiveSettings(2, 4), earliest_clean_retained=None)
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
