"""Cleaning (table version 6): which slices go under each policy (checked against an
expectation computed from the file names alone), the Avro plan and metadata in Java's form,
reads unchanged inside the retained window, pending compactions, interrupted cleans, and the
pure planner's Java rules (earliest commit to retain, replaced file groups, savepoints)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import fastavro
import pyarrow as pa
import pytest

import hudiwrite as hw
from hudiwrite.formats.avro_ocf import read_single_record
from hudiwrite.formats.hudi_avro_schemas import parsed
from hudiwrite.model.naming import parse_base_file_name, parse_log_file_name
from hudiwrite.read.fsview import FileSystemView
from hudiwrite.services.clean import (
    earliest_commit_to_retain,
    partitions_to_clean,
    plan_clean,
    plan_table_clean,
    run_clean,
)
from hudiwrite.services.settings import CleanSettings
from hudiwrite.storage import FileInfo, Storage
from hudiwrite.timeline.layout import LAYOUT_V6
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.timeline import Timeline
from tests.helpers import batch, create, hudi_rs, versions_by_id

COMMITS_2 = CleanSettings("keep_latest_commits", 2)
VERSIONS_1 = CleanSettings("keep_latest_file_versions", 1)


def _meta(t: hw.HudiTable) -> MetaClient:
    # internal on purpose: run_clean and the planner take it, with settings not the table's
    return t._meta


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return sorted(table.to_pylist(), key=lambda r: r["id"])


def _user_rows(table: pa.Table) -> list[tuple[Any, ...]]:
    return sorted((r["id"], r["ts"], r["city"], r["v"]) for r in table.to_pylist())


def _data_files(path: Path) -> dict[str, tuple[str, str]]:
    """Relative path -> (file id, slice instant) of every data file, from its name alone."""
    out: dict[str, tuple[str, str]] = {}
    for f in path.rglob("*"):
        rel = f.relative_to(path).as_posix()
        if not f.is_file() or rel.startswith(".hoodie"):
            continue
        base = parse_base_file_name(f.name)
        log = parse_log_file_name(f.name)
        if base is not None:
            out[rel] = (f"{f.parent.name}/{base.file_id}", base.instant)
        elif log is not None:
            out[rel] = (f"{f.parent.name}/{log.file_id}", log.base_instant)
    return out


def _timeline_names(path: Path) -> list[str]:
    return sorted(f.name for f in (path / ".hoodie").iterdir() if f.is_file())


def _completed_commits(path: Path) -> list[str]:
    names = _timeline_names(path)
    return sorted(n.split(".")[0] for n in names if re.fullmatch(r"\d+\.(deltacommit|commit)", n))


def _expected_deletions(path: Path, earliest: str, protect: dict[str, str]) -> set[str]:
    """KEEP_LATEST_COMMITS restated: per file group keep the newest slice, the slices at or
    after ``earliest``, the newest slice before it, and slices at or after a pending
    compaction's base instant (``protect``: group -> base instant)."""
    files = _data_files(path)
    slices: dict[str, set[str]] = {}
    for group, instant in files.values():
        slices.setdefault(group, set()).add(instant)
    keep: dict[str, set[str]] = {}
    for group, instants in slices.items():
        older = [i for i in instants if i < earliest]
        kept = {max(instants)} | {i for i in instants if i >= earliest}
        kept |= {max(older)} if older else set()
        kept |= {i for i in instants if group in protect and i >= protect[group]}
        keep[group] = kept
    return {rel for rel, (group, instant) in files.items() if instant not in keep[group]}


def _cleans(path: Path) -> list[str]:
    return [n for n in _timeline_names(path) if ".clean" in n]


def _decode(data: bytes, name: str) -> dict[str, Any]:
    record = read_single_record(data, reader_schema=parsed(name))
    assert record is not None
    assert record.name == f"org.apache.hudi.avro.model.{name}"
    fastavro.validate(record.record, parsed(name), raise_errors=True)
    return record.record


def _history(t: hw.HudiTable, rounds: int) -> None:
    """Old slices in city=sf: inserts, then rounds of (update, compact); city=la keeps one
    slice (inserted once) and city=ny gets one compaction."""
    t.upsert(batch(["a", "b", "c"], 1))
    t.upsert(batch(["x"], 1, city="la"))
    t.upsert(batch(["n"], 1, city="ny"))
    for r in range(2, 2 + rounds):
        t.upsert(batch(["a", "b"] if r % 2 else ["a"], r))
        if r == 2:
            t.upsert(batch(["n"], r, city="ny"))
        t.compact()


def test_keep_latest_commits_deletes_exactly_the_old_slices(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = create(path)
    _history(t, rounds=3)
    t.upsert(batch(["c"], 10))  # logs in the newest slice
    planned = t.compact(plan_only=True)
    (tp,) = planned.scheduled
    d1 = t.upsert(batch(["a", "z"], 11))  # logs in the pending compaction's slice
    t.upsert(batch(["b"], 12))

    # Java's rule: the 2nd latest completed commit, but not past the pending compaction, so
    # the last commit before it (the deltacommit that wrote "c").
    commits = _completed_commits(path)
    assert commits[-2] == d1.instant_time > tp
    earliest = max(c for c in commits if c < tp)
    plan_requested = _decode(
        (path / ".hoodie" / f"{tp}.compaction.requested").read_bytes(), "HoodieCompactionPlan"
    )
    protect = {
        f"{op['partitionPath']}/{op['fileId']}": op["baseInstantTime"]
        for op in plan_requested["operations"]
    }
    input_files = {
        f"{op['partitionPath']}/{name}"
        for op in plan_requested["operations"]
        for name in [op["dataFilePath"], *op["deltaFilePaths"]]
        if name
    }
    expected = _expected_deletions(path, earliest, protect)
    assert len(expected) >= 6  # city=sf has two old slices with logs, city=ny one
    before_files = _data_files(path)
    assert expected < set(before_files)
    before = _rows(t.to_arrow())
    before_rs = _user_rows(hudi_rs(path))
    retained = [c for c in commits if c >= earliest]
    as_of_before = {c: _rows(t.to_arrow(as_of=c)) for c in retained}
    incremental_before = _rows(t.read_incremental(earliest))

    result = run_clean(_meta(t), COMMITS_2)

    assert result.instant_time is not None and result.instant_time > tp
    assert result.earliest_retained == earliest
    assert result.policy == "keep_latest_commits"
    assert set(result.files_deleted) == expected
    after_files = _data_files(path)
    assert set(after_files) == set(before_files) - expected
    assert input_files <= set(after_files)  # the pending compaction can still run
    groups = {group for group, _ in before_files.values()}
    for group in groups:  # the newest slice of every group is intact
        newest = max(i for g, i in before_files.values() if g == group)
        assert {r for r, v in before_files.items() if v == (group, newest)} <= set(after_files)

    hoodie = path / ".hoodie"
    ct = result.instant_time
    requested = (hoodie / f"{ct}.clean.requested").read_bytes()
    assert (hoodie / f"{ct}.clean.inflight").read_bytes() == requested
    plan = _decode(requested, "HoodieCleanerPlan")
    action = "deltacommit" if (hoodie / f"{earliest}.deltacommit").exists() else "commit"
    assert plan["earliestInstantToRetain"] == {
        "timestamp": earliest,
        "action": action,
        "state": "COMPLETED",
    }
    assert plan["policy"] == "KEEP_LATEST_COMMITS"
    assert plan["lastCompletedCommitTimestamp"] == commits[-1]
    assert plan["version"] == 2
    assert plan["filesToBeDeletedPerPartition"] == {}
    assert plan["partitionsToBeDeleted"] == []
    planned_paths = {
        p: sorted(info["filePath"] for info in infos)
        for p, infos in plan["filePathsToBeDeletedPerPartition"].items()
    }
    by_partition: dict[str, list[str]] = {}
    for rel in expected:
        by_partition.setdefault(rel.split("/")[0], []).append(f"file:{path / rel}")
    assert planned_paths == {p: sorted(v) for p, v in by_partition.items()}
    assert all(
        info["isBootstrapBaseFile"] is False
        for infos in plan["filePathsToBeDeletedPerPartition"].values()
        for info in infos
    )

    md = _decode((hoodie / f"{ct}.clean").read_bytes(), "HoodieCleanMetadata")
    assert md["startCleanTime"] == ct
    assert md["totalFilesDeleted"] == len(expected)
    assert md["earliestCommitToRetain"] == earliest
    assert md["lastCompletedCommitTimestamp"] == commits[-1]
    assert md["version"] == 2
    assert md["bootstrapPartitionMetadata"] == {}
    assert set(md["partitionMetadata"]) == set(by_partition)
    for partition, pm in md["partitionMetadata"].items():
        names = sorted(Path(p).name for p in by_partition[partition])
        assert pm["partitionPath"] == partition
        assert pm["policy"] == "KEEP_LATEST_COMMITS"
        assert sorted(pm["deletePathPatterns"]) == names
        assert sorted(pm["successDeleteFiles"]) == names
        assert pm["failedDeleteFiles"] == []
        assert pm["isPartitionDeleted"] is False

    # Reads inside the retained window are unchanged, by both readers.
    assert _rows(t.to_arrow()) == before
    assert _user_rows(hudi_rs(path)) == before_rs
    assert {c: _rows(t.to_arrow(as_of=c)) for c in retained} == as_of_before
    assert _rows(t.read_incremental(earliest)) == incremental_before

    # The pending compaction still runs on its input slice; a second clean finds nothing.
    assert t.compact().executed == (tp,)
    assert versions_by_id(t.to_arrow()) == versions_by_id(pa.Table.from_pylist(before))
    # (hudi-rs reads the pending compaction's new logs only once it completed.)
    assert _user_rows(hudi_rs(path)) == _user_rows(pa.Table.from_pylist(before))
    cleans = _cleans(path)
    again = run_clean(_meta(t), CleanSettings("keep_latest_commits", 5))
    assert again.instant_time is None and again.files_deleted == ()
    assert _cleans(path) == cleans


def test_keep_latest_file_versions_keeps_one_slice_per_group(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = create(path)
    _history(t, rounds=3)
    t.upsert(batch(["b"], 9))
    before = _rows(t.to_arrow())
    before_files = _data_files(path)
    newest: dict[str, str] = {}
    for group, instant in before_files.values():
        newest[group] = max(instant, newest.get(group, instant))
    assert len({i for g, i in before_files.values() if g.startswith("city=sf")}) == 4

    result = run_clean(_meta(t), VERSIONS_1)

    after_files = _data_files(path)
    assert set(after_files) == {r for r, (g, i) in before_files.items() if i == newest[g]}
    assert set(result.files_deleted) == set(before_files) - set(after_files)
    assert result.earliest_retained is None
    ct = result.instant_time
    assert ct is not None
    plan = _decode((path / ".hoodie" / f"{ct}.clean.requested").read_bytes(), "HoodieCleanerPlan")
    assert plan["policy"] == "KEEP_LATEST_FILE_VERSIONS"
    assert plan["earliestInstantToRetain"] is None
    md = _decode((path / ".hoodie" / f"{ct}.clean").read_bytes(), "HoodieCleanMetadata")
    assert md["earliestCommitToRetain"] == ""
    assert md["totalFilesDeleted"] == len(result.files_deleted)
    assert _rows(t.to_arrow()) == before
    assert _user_rows(hudi_rs(path)) == _user_rows(pa.Table.from_pylist(before))


def test_nothing_to_clean_writes_no_instant(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = create(path)
    t.upsert(batch(["a", "b"], 1))
    t.upsert(batch(["a"], 2))
    # Two commits, two retained: no earliest commit to retain at all.
    assert run_clean(_meta(t), COMMITS_2) == hw.CleanResult(None, "keep_latest_commits", None, ())
    # More commits than retained, but every file group has a single slice.
    t.upsert(batch(["b"], 3))
    single = run_clean(_meta(t), COMMITS_2)
    assert single.instant_time is None and single.files_deleted == ()
    assert single.earliest_retained == _completed_commits(path)[-2]
    assert run_clean(_meta(t), VERSIONS_1).instant_time is None
    assert _cleans(path) == []

    t.compact()
    t.upsert(batch(["a"], 4))
    t.upsert(batch(["a"], 5))
    first = run_clean(_meta(t), COMMITS_2)
    assert first.instant_time is not None and first.files_deleted
    second = run_clean(_meta(t), COMMITS_2)
    assert second.instant_time is None and second.files_deleted == ()
    assert _cleans(path) == [
        f"{first.instant_time}.clean",
        f"{first.instant_time}.clean.inflight",
        f"{first.instant_time}.clean.requested",
    ]


def test_interrupted_clean_is_finished_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t"
    t = create(path)
    _history(t, rounds=3)
    t.upsert(batch(["c"], 9))
    before = _rows(t.to_arrow())
    before_files = set(_data_files(path))

    real_delete = Storage.delete_if_present
    calls: list[str] = []

    def crash_on_second(self: Storage, rel: str) -> bool:
        calls.append(rel)
        if len(calls) == 2:
            raise KeyboardInterrupt("crash while deleting")
        return real_delete(self, rel)

    monkeypatch.setattr(Storage, "delete_if_present", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        run_clean(_meta(t), COMMITS_2)
    monkeypatch.setattr(Storage, "delete_if_present", real_delete)

    (pending,) = {n.split(".")[0] for n in _cleans(path)}
    assert _cleans(path) == [f"{pending}.clean.inflight", f"{pending}.clean.requested"]
    first_deleted = calls[0]
    assert first_deleted not in _data_files(path)
    assert _rows(t.to_arrow()) == before

    result = run_clean(_meta(t), COMMITS_2)
    assert result.instant_time == pending
    plan = _decode(
        (path / ".hoodie" / f"{pending}.clean.requested").read_bytes(), "HoodieCleanerPlan"
    )
    planned = {
        info["filePath"].removeprefix(f"file:{path}/")
        for infos in plan["filePathsToBeDeletedPerPartition"].values()
        for info in infos
    }
    assert set(_data_files(path)) == before_files - planned
    assert set(result.files_deleted) == planned - {first_deleted}
    md = _decode((path / ".hoodie" / f"{pending}.clean").read_bytes(), "HoodieCleanMetadata")
    failed = [f for pm in md["partitionMetadata"].values() for f in pm["failedDeleteFiles"]]
    # Java records a file already gone on a retry as a failed delete.
    assert failed == [Path(first_deleted).name]
    assert md["totalFilesDeleted"] == len(planned) - 1
    assert _rows(t.to_arrow()) == before
    assert _user_rows(hudi_rs(path)) == _user_rows(pa.Table.from_pylist(before))
    assert run_clean(_meta(t), COMMITS_2).instant_time is None


def test_clean_interrupted_before_inflight_runs_from_its_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t"
    t = create(path)
    _history(t, rounds=3)
    t.upsert(batch(["c"], 9))
    before_files = set(_data_files(path))
    meta = _meta(t)
    real_write = type(meta).write_instant

    def no_inflight(self: Any, instant: hw.Instant, content: bytes = b"") -> None:
        if instant.action == "clean" and instant.state is hw.State.INFLIGHT:
            raise KeyboardInterrupt("crash after the plan")
        real_write(self, instant, content)

    monkeypatch.setattr(type(meta), "write_instant", no_inflight)
    with pytest.raises(KeyboardInterrupt):
        run_clean(meta, COMMITS_2)
    monkeypatch.setattr(type(meta), "write_instant", real_write)
    (requested,) = _cleans(path)
    assert requested.endswith(".clean.requested")
    assert set(_data_files(path)) == before_files

    result = run_clean(meta, COMMITS_2)
    assert result.instant_time == requested.split(".")[0]
    assert result.files_deleted and set(_data_files(path)) == before_files - set(
        result.files_deleted
    )


def test_pending_compaction_input_slice_survives_keep_latest_versions(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = create(path)
    _history(t, rounds=2)
    t.upsert(batch(["a"], 8))
    (tp,) = t.compact(plan_only=True).scheduled
    t.upsert(batch(["a", "b"], 9))  # logs into the compaction's slice
    plan = _decode(
        (path / ".hoodie" / f"{tp}.compaction.requested").read_bytes(), "HoodieCompactionPlan"
    )
    sf_op = next(op for op in plan["operations"] if op["partitionPath"] == "city=sf")
    base = sf_op["baseInstantTime"]
    before = _rows(t.to_arrow())
    files = _data_files(path)
    sf = {r: i for r, (g, i) in files.items() if g.startswith("city=sf")}
    assert sorted(set(sf.values()))[-2:] == [base, tp]
    assert len(set(sf.values())) == 4  # two older slices to delete

    result = run_clean(_meta(t), VERSIONS_1)

    left = {r: i for r, (g, i) in _data_files(path).items() if g.startswith("city=sf")}
    # The compaction's own slice counts as the version kept, and its input is protected.
    assert set(left.values()) == {base, tp}
    assert set(left) == {r for r, i in sf.items() if i >= base}
    assert {r for r, i in sf.items() if i < base} <= set(result.files_deleted)
    assert _rows(t.to_arrow()) == before
    assert t.compact().executed == (tp,)
    assert versions_by_id(t.to_arrow()) == versions_by_id(pa.Table.from_pylist(before))
    assert _user_rows(hudi_rs(path)) == _user_rows(pa.Table.from_pylist(before))


# -- the pure planner ------------------------------------------------------------------------

_F1 = "11111111-1111-1111-1111-111111111111-0"
_F2 = "22222222-2222-2222-2222-222222222222-0"


def _t(n: int) -> str:
    return f"20250101000000{n:03d}"


def _timeline(*names: str) -> Timeline:
    """A timeline from names with short times: ``"3.commit"`` is instant ``_t(3)``."""
    full = [_t(int(n.split(".", 1)[0])) + "." + n.split(".", 1)[1] for n in names]
    return Timeline.from_file_names(LAYOUT_V6, full)


def _view(timeline: Timeline, files: list[str]) -> FileSystemView:
    listing = {"p": [FileInfo(f"p/{name}", 1) for name in files]}
    return FileSystemView.build(timeline, listing)


def _retain(timeline: Timeline, n: int) -> tuple[str, str] | None:
    found = earliest_commit_to_retain(timeline, n)
    return None if found is None else (found.time, found.action)


def test_earliest_commit_to_retain_follows_java() -> None:
    tl = _timeline("1.deltacommit", "2.deltacommit", "3.commit", "4.deltacommit")
    assert _retain(tl, 2) == (_t(3), "commit")
    assert _retain(tl, 4) is None  # not more completed commits than retained
    # A pending write bounds it: the last completed commit before the earliest pending one.
    pending = _timeline("1.deltacommit", "2.deltacommit.inflight", "3.commit", "4.deltacommit")
    assert _retain(pending, 1) == (_t(1), "deltacommit")
    assert _retain(_timeline("1.compaction.requested", "2.deltacommit", "3.deltacommit"), 1) is None
    # Clean and rollback instants neither count nor bound.
    noisy = _timeline("1.deltacommit", "2.clean.requested", "3.rollback", "4.deltacommit")
    assert _retain(noisy, 1) == (_t(4), "deltacommit")
    assert _retain(noisy, 2) is None
    with pytest.raises(hw.HudiError):
        earliest_commit_to_retain(tl, 0)


def test_planner_replaced_groups_pending_compactions_and_savepoints() -> None:
    tl = _timeline("1.deltacommit", "2.commit", "3.replacecommit", "4.deltacommit", "5.commit")
    f1_old = [f"p/{_F1}_0-1-0_{_t(1)}.parquet", f"p/.{_F1}_{_t(1)}.log.1_0-1-0"]
    f2 = f"p/{_F2}_0-1-0_{_t(1)}.parquet"
    files = [
        *(f.removeprefix("p/") for f in f1_old),
        f"{_F1}_0-1-0_{_t(2)}.parquet",
        f"{_F1}_0-1-0_{_t(5)}.parquet",
        f2.removeprefix("p/"),
    ]
    view = _view(tl, files)
    replaced = {("p", _F2): _t(3)}

    def plan(settings: CleanSettings, **kw: Any) -> tuple[str, ...]:
        kw.setdefault("pending_compaction_groups", {})
        found = plan_clean(tl, view, settings, replaced_groups=replaced, **kw)
        return () if found is None else found.all_files

    # Earliest commit to retain is 4, after the replace at 3: the replaced group goes
    # entirely (listed first, as Java adds it first); F1 keeps 5 (latest) and 2 (the newest
    # before 4) and loses the base and log files of slice 1.
    full = plan_clean(tl, view, COMMITS_2, pending_compaction_groups={}, replaced_groups=replaced)
    assert full is not None and full.earliest_retained is not None
    assert (full.earliest_retained.time, full.last_completed_commit) == (_t(4), _t(5))
    assert full.files == {"p": (f2, *f1_old)}
    # Retaining 3 commits puts the earliest at the replace itself: F2 stays (F1's slice 1,
    # older than the newest slice before 3, still goes).
    assert plan(CleanSettings("keep_latest_commits", 3)) == tuple(f1_old)
    # Retaining 4: the earliest is 2, and slice 1 is the newest before it: nothing goes.
    assert plan(CleanSettings("keep_latest_commits", 4)) == ()
    # A savepointed base file is never deleted (the whole slice stays).
    assert plan(COMMITS_2, savepointed={f1_old[0].removeprefix("p/")}) == (f2,)
    # A pending compaction of F1's slice 1 protects it and everything newer.
    assert plan(COMMITS_2, pending_compaction_groups={("p", _F1): _t(1)}) == (f2,)
    # KEEP_LATEST_FILE_VERSIONS(2): F1 keeps 5 and 2; replaced groups always go.
    assert plan(CleanSettings("keep_latest_file_versions", 2)) == (f2, *f1_old)
    # ... and with a pending compaction of slice 5, it counts as one of the two versions.
    pending = {("p", _F1): _t(5)}
    two = CleanSettings("keep_latest_file_versions", 2)
    assert plan(two, pending_compaction_groups=pending) == (f2, *f1_old)
    assert plan(
        CleanSettings("keep_latest_file_versions", 3), pending_compaction_groups=pending
    ) == (f2,)
    with pytest.raises(hw.HudiError):
        plan(CleanSettings("keep_latest_by_hours", 2))  # type: ignore[arg-type]


def _plan_files(meta: Any, settings: CleanSettings, partitions: list[str] | None) -> set[str]:
    plan = plan_table_clean(meta, meta.timeline(), settings, partitions)
    return set(plan.all_files) if plan is not None else set()


def test_incremental_cleaning_lists_written_partitions_and_misses_nothing(tmp_path: Path) -> None:
    """After a first clean, a clean only lists the partitions written since that clean's
    earliest retained commit, and plans exactly what a full listing would: here with writes
    spread over 6 partitions, compactions (one pending across a clean) and deletes."""
    import random

    t = create(tmp_path / "t")
    meta = _meta(t)
    rng = random.Random(3)
    cities = [f"c{i}" for i in range(6)]
    incremental_seen = False
    for n in range(1, 41):
        city = rng.choice(cities[:2]) if n > 12 else rng.choice(cities)
        t.upsert(batch([f"k{rng.randrange(30)}" for _ in range(5)], n, city))
        if n % 6 == 0:
            t.compact(plan_only=True)
        if n % 6 == 3:
            t.compact()  # executes the plan scheduled three commits ago (pending meanwhile)
        if n % 4 == 0:
            timeline = meta.timeline()
            narrowed = partitions_to_clean(meta, timeline, "KEEP_LATEST_COMMITS")
            if narrowed is not None:
                incremental_seen = True
                written = {
                    p
                    for i in timeline.completed
                    if i.action in ("commit", "deltacommit")
                    for p in meta.commit_metadata(i).partition_to_write_stats
                }
                assert set(narrowed) <= written
                if n > 24:  # only the two hot partitions are written by now
                    assert set(narrowed) <= {"city=c0", "city=c1"}
            assert _plan_files(meta, COMMITS_2, narrowed) == _plan_files(meta, COMMITS_2, None)
            run_clean(meta, COMMITS_2)
    assert incremental_seen
    # Nothing a full listing would clean was left behind by the narrowed cleans.
    assert _plan_files(meta, COMMITS_2, None) == set()
    assert sorted(_user_rows(t.to_arrow())) == sorted(_user_rows(hudi_rs(tmp_path / "t")))


@pytest.mark.parametrize("version", [6, 8, 9])
def test_clean_files_per_table_version(tmp_path: Path, version: int) -> None:
    """The clean's timeline files as the version's Java writes them: the inflight file
    repeats the plan on 6 and 8 (0.15 and 1.0.2 pass it along), is empty on 9 (1.1+); the
    completed file is ``T.clean`` or ``T_C.clean``; the table reads the same after it."""
    path = tmp_path / "t"
    t = create(path, table_version=version, clean_retained=1)
    _history(t, rounds=3)
    before = _user_rows(t.to_arrow())
    result = t.clean()
    assert result.instant_time is not None and result.files_deleted
    timeline_dir = path / ".hoodie" / ("timeline" if version >= 8 else "")
    requested = (timeline_dir / f"{result.instant_time}.clean.requested").read_bytes()
    inflight = (timeline_dir / f"{result.instant_time}.clean.inflight").read_bytes()
    assert inflight == (requested if version < 9 else b"")
    completed = [p.name for p in timeline_dir.glob(f"{result.instant_time}*.clean")]
    if version >= 8:
        (name,) = completed
        assert re.fullmatch(rf"{result.instant_time}_\d{{17}}\.clean", name)
    else:
        assert completed == [f"{result.instant_time}.clean"]
    assert _user_rows(t.to_arrow()) == before
    assert _user_rows(hudi_rs(path)) == before
