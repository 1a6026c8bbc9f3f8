"""A write killed at each step (after requested, after inflight, after each data file,
before the completed file) is rolled back by the next write: the table reads the committed
data only, in hudiwrite and hudi-rs. A rollback killed midway is finished by the next one."""

from __future__ import annotations

from pathlib import Path

import fastavro
import pytest

import hudiwrite as hw
from hudiwrite.formats.avro_ocf import read_single_record
from hudiwrite.formats.hudi_avro_schemas import parsed
from hudiwrite.formats.logblock.frame import BlockType, HeaderKey
from hudiwrite.formats.logfile import LogFileBlock, read_blocks
from hudiwrite.timeline.service_metadata import RollbackMetadata
from tests.crash import CRASH_POINTS, Crash, crash_at
from tests.helpers import NO_SERVICES, batch, create, hudi_rs, values_by_city_id


def _files(path: Path) -> set[str]:
    return {
        str(p.relative_to(path))
        for p in path.rglob("*")
        if p.is_file() and "/.hoodie/" not in f"/{p.relative_to(path)}"
    }


def _committed_table(path: Path) -> hw.HudiTable:
    t = create(path)
    t.upsert(batch(["a", "b", "c"], 1, ["sf", "sf", "la"]))
    t.upsert(batch(["a"], 2, ["sf"]))
    return t


#: The failing write: updates in both old partitions, inserts in an old and a new partition.
FAILING = batch(["a", "c", "n1", "n2"], 9, ["sf", "la", "sf", "ny"])


@pytest.mark.parametrize(("step", "nth"), CRASH_POINTS, ids=[f"{s}-{n}" for s, n in CRASH_POINTS])
def test_killed_write_is_rolled_back_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, nth: int
) -> None:
    path = tmp_path / "t"
    t = _committed_table(path)
    committed = values_by_city_id(t.to_arrow())
    files_before = _files(path)
    with monkeypatch.context() as m:
        crash_at(m, step, nth)
        with pytest.raises(Crash):
            t.upsert(FAILING)
    (failed,) = [i for i in t.timeline() if not i.is_completed]
    # Readers ignore the failed write before any rollback.
    assert values_by_city_id(t.to_arrow()) == committed
    assert values_by_city_id(hudi_rs(path)) == committed

    # The next write rolls it back first (eager policy), then commits.
    r = hw.HudiTable.open(str(path), options=NO_SERVICES).upsert(batch(["b"], 10, ["sf"]))
    committed[("sf", "b")] = 10
    assert values_by_city_id(t.to_arrow()) == committed
    assert values_by_city_id(hudi_rs(path)) == committed
    timeline = t.timeline()
    assert all(i.is_completed for i in timeline)
    assert failed.time not in {i.time for i in timeline}
    rollbacks = [i for i in timeline if i.action == "rollback"]
    hoodie = path / ".hoodie"
    assert len(rollbacks) == 1
    meta = read_single_record((hoodie / f"{rollbacks[0].time}.rollback").read_bytes())
    plan = read_single_record((hoodie / f"{rollbacks[0].time}.rollback.requested").read_bytes())
    assert meta is not None and plan is not None
    fastavro.validate(meta.record, parsed("HoodieRollbackMetadata"), raise_errors=True)
    fastavro.validate(plan.record, parsed("HoodieRollbackPlan"), raise_errors=True)
    assert meta.record["commitsRollback"] == [failed.time]
    # Base files the failed write made are gone; only the new write's files were added,
    # plus rollback command-block logs where it had written logs into existing slices.
    added = _files(path) - files_before
    expected_new = {f for f in r.files_written}
    command_logs: set[str] = set()
    logs_kept: set[str] = set()
    for f in added - expected_new:
        entries = read_blocks((path / f).read_bytes())
        blocks = [e.block for e in entries if isinstance(e, LogFileBlock)]
        if blocks and all(b.block_type == BlockType.COMMAND_BLOCK for b in blocks):
            assert blocks[0].get(HeaderKey.TARGET_INSTANT_TIME) == failed.time
            command_logs.add(f)
        elif "/." in f"/{f}" and ".log." in f:
            # a log the failed write put in an existing slice: kept, neutralised
            assert any(
                isinstance(e, LogFileBlock) and e.block.instant_time == failed.time
                for e in read_blocks((path / f).read_bytes())
            )
            logs_kept.add(f)
        else:
            raise AssertionError(f"left behind: {f}")
    # every log the failed write left in an existing slice has its rollback command block
    assert len(command_logs) == len(logs_kept)
    assert not (path / "city=ny").exists() or not any((path / "city=ny").iterdir())
    assert not (hoodie / ".temp" / failed.time).exists()


def test_killed_rollback_is_finished_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t"
    t = _committed_table(path)
    committed = values_by_city_id(t.to_arrow())
    with monkeypatch.context() as m:
        crash_at(m, "before_completed")
        with pytest.raises(Crash):
            t.upsert(FAILING)
    (failed,) = [i for i in t.timeline() if not i.is_completed]

    # The rollback dies after its plan and inflight files, before its metadata.
    def dying(self: RollbackMetadata) -> bytes:
        raise Crash("rollback killed")

    with monkeypatch.context() as m:
        m.setattr(RollbackMetadata, "to_bytes", dying)
        with pytest.raises(Crash):
            t.rollback_failed()
    pending = [i for i in t.timeline() if not i.is_completed]
    assert {i.action for i in pending} == {"rollback", "deltacommit"}
    assert values_by_city_id(t.to_arrow()) == committed
    assert values_by_city_id(hudi_rs(path)) == committed

    done = t.rollback_failed()
    assert failed.time in {i.time for i in done}
    assert all(i.is_completed for i in t.timeline())
    assert [i.action for i in t.timeline()].count("rollback") == 1
    assert values_by_city_id(t.to_arrow()) == committed
    assert values_by_city_id(hudi_rs(path)) == committed
    # Running it again finds nothing more to do.
    assert t.rollback_failed() == ()
