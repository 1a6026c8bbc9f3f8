"""Systematic fault injection (``tests/faults.py``): every operation that writes to a table
is run in a child process killed before each storage call, after each call that changes the
store, and in the middle of each whole-file write (torn: half the bytes; empty); each time
the next write must recover the table completely.

CI runs one kill point per distinct state of the store a crash can leave (up to
``faults.CI_POINTS`` per operation); ``HUDIWRITE_FAULT_SWEEP=full`` runs every kill point.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa
import pytest

import hudiwrite as hw
from hudiwrite.storage import Storage
from hudiwrite.timeline.metaclient import MetaClient
from tests import faults
from tests.crash import Crash, crash_at
from tests.faults import (
    OPERATIONS,
    STORAGE_METHODS,
    WRITE,
    Call,
    KillPoint,
    Kind,
    kill_points,
    select_points,
)


def test_every_storage_method_is_classified() -> None:
    """A new ``Storage`` method is a new place to die: the harness must know what it does
    before the sweep can claim to cover every call."""
    assert faults.public_storage_methods() == set(STORAGE_METHODS)


def test_kill_points_and_the_ci_sample() -> None:
    """Kill points follow the call kinds; the CI sample keeps one point per state of the
    store a crash can leave, and past its budget always keeps the first and last state and
    the timeline transitions, reproducibly."""
    calls = [
        Call(0, "list_files", ".hoodie"),
        Call(1, "create_exclusive", ".hoodie/.heartbeat/20260101000000000", 40),
        Call(2, "create_exclusive", ".hoodie/20260101000000000.deltacommit.requested", 0),
        Call(3, "read_bytes", ".hoodie/20250101000000000.deltacommit"),
        Call(4, "delete", ".hoodie/.aux/.locks/commit"),
        Call(5, "open_output", "sf/f1_0-1-0_20260101000000000.parquet", 5000),
        Call(6, "read_bytes", "sf/f0_0-1-0_20250101000000000.parquet", streaming=True),
        Call(7, "write_bytes", "sf/.f1_20250101000000000.log.1_0-0-0", 1000),
        *(Call(i, "read_bytes", f"sf/x{i}") for i in range(8, 40)),
        Call(40, "create_exclusive", ".hoodie/20260101000000000.deltacommit", 900),
        Call(41, "delete_tree", ".hoodie/.temp/20260101000000000"),
    ]
    points = kill_points(calls)
    kinds = {(p.index, p.kind) for p in points}
    assert (0, "after") not in kinds  # a read changes nothing: after it is before the next
    assert {(7, k) for k in ("before", "after", "torn", "empty")} <= kinds
    assert (2, "torn") not in kinds  # an empty file has no half
    assert (4, "after") in kinds and (41, "after") in kinds
    assert len(points) == 42 + 7 + 2 * 4  # befores, seven changes, four writes torn/empty
    states = faults.distinct_states(calls, points)
    assert KillPoint(0, "before") in states and KillPoint(6, "before") in states  # streaming
    assert KillPoint(3, "before") not in states  # the state after call 2
    assert KillPoint(40, "before") not in states and KillPoint(40, "torn") in states
    assert {p.kind for p in states} == {"before", "after", "torn", "empty"}
    assert select_points(calls, points) == states  # within the budget: all of them
    sample = select_points(calls, points, budget=8)
    assert sample == select_points(calls, points, budget=8)
    assert len(sample) == 8 and sample == sorted(set(sample)) and set(sample) <= set(states)
    assert states[0] in sample and states[-1] in sample
    assert {KillPoint(40, k) for k in ("after", "torn", "empty")} <= set(sample)


def test_the_injected_faults_leave_what_they_claim(tmp_path: Path) -> None:
    """The harness itself: a torn log write leaves half its bytes at its path, an empty one
    none, and a torn atomic write (the completed instant) leaves a torn temporary file and
    no instant file, each in a child that exits with ``KILLED`` at the dry run's call."""
    op = OPERATIONS["upsert"]
    table, snapshot = tmp_path / "t", tmp_path / "snapshot"
    faults.prepare(op, table)
    faults.copy_table(table, snapshot)
    before = sorted(p.name for p in (table / ".hoodie").glob("*.deltacommit"))
    (tmp_path / "dry").mkdir()
    calls = faults.dry_run(op, table, tmp_path / "dry")
    log = next(c for c in calls if c.method == "write_bytes" and not c.path.startswith(".hoodie"))
    done = next(
        c for c in calls if c.method == "create_exclusive" and c.path.endswith(".deltacommit")
    )
    cases: list[tuple[Call, Kind]] = [(log, "torn"), (log, "empty"), (done, "torn")]
    for n, (call, kind) in enumerate(cases):
        work = tmp_path / f"k{n}"
        work.mkdir()
        faults.copy_table(snapshot, table)
        assert faults.run_child(op, table, KillPoint(call.index, kind), work) == faults.KILLED
        died = Call.from_json(orjson.loads((work / "report.json").read_bytes())["killed"])
        assert (died.index, died.method, died.shape) == (call.index, call.method, call.shape)
        assert died.size and died.size > 1  # what this run was writing
        if call is log:
            folder, name = log.path.rsplit("/", 1)
            (found,) = (table / folder).glob(name.rsplit("_", 1)[0] + "_*")  # token: random
            assert found.stat().st_size == (died.size // 2 if kind == "torn" else 0)
        else:
            assert sorted(p.name for p in (table / ".hoodie").glob("*.deltacommit")) == before
            (tmp,) = list((table / ".hoodie").glob(".*.deltacommit.*.tmp"))
            assert tmp.stat().st_size == died.size // 2


@pytest.mark.slow
@pytest.mark.parametrize("name", list(OPERATIONS))
def test_every_kill_point_recovers(name: str, tmp_path: Path) -> None:
    """Kill the operation at each (sampled) point; the next write recovers: both readers
    return the model, nothing is pending, no failed file survives un-neutralised, no
    retained commit misses a file (see ``faults.check_recovery``)."""
    op = OPERATIONS[name]
    report = faults.sweep(op, tmp_path, faults.sweep_mode())
    print(report.summary())
    kinds = {p.kind for p in report.points}
    assert {"before", "after"} <= kinds
    if any(STORAGE_METHODS[c.method] == WRITE and (c.size or 0) > 1 for c in report.calls):
        assert {"torn", "empty"} <= kinds
    if op.writes_data:
        # the sample reaches both sides of the commit point
        assert {r.outcome.visible for r in report.results} == {"committed", "not committed"}
    assert not report.failures, "\n".join(report.failures[:20])


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    """The invariant checks report what they exist to catch (in this process, no child):
    files of a write that vanished from the timeline without a rollback, a file a retained
    commit wrote gone missing, and a torn ``.aux`` plan copy."""
    path = tmp_path / "t"
    faults.prepare(OPERATIONS["upsert"], path)
    clean = (faults.neutralised(path), faults.retained_files_exist(path))
    assert clean == ([], [])
    table = hw.HudiTable.open(str(path), options=faults.NO_SERVICES)
    with pytest.MonkeyPatch.context() as m:
        crash_at(m, "before_completed")
        with pytest.raises(Crash):
            table.upsert(pa.Table.from_pylist(faults.UPSERT_ROWS, schema=faults.SCHEMA))
    (failed,) = [i for i in table.timeline() if not i.is_completed]
    for state_file in (path / ".hoodie").glob(f"{failed.time}.deltacommit.*"):
        state_file.unlink()  # gone from the timeline, never rolled back
    found = "\n".join(faults.neutralised(path))
    assert f"of instant {failed.time} survives" in found  # its new base files
    assert f"a block of {failed.time} (never completed) has no rollback" in found
    meta = MetaClient.load(Storage(str(path)))
    last = [i for i in meta.timeline().completed if i.action == "deltacommit"][-1]
    log = path / next(s.path or "" for s in meta.commit_metadata(last).all_stats() if s.is_log)
    log.unlink()
    missing = faults.retained_files_exist(path)
    assert missing and all(log.name in m for m in missing), missing
    plan = hw.HudiTable.open(str(path), options=faults.NO_SERVICES).compact(plan_only=True)
    (planned,) = plan.scheduled
    assert faults.aux_plans_whole(path) == []
    copy = path / ".hoodie" / ".aux" / f"{planned}.compaction.requested"
    copy.write_bytes(copy.read_bytes()[:10])
    (torn,) = faults.aux_plans_whole(path)
    assert "Java reads the copy" in torn
