"""A table holding a torn last block, a write that never completed and a pending compaction
reads as its committed data only, in hudiwrite and in hudi-rs; writes made while the
compaction is pending go to the compaction's new file slice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hudiwrite as hw
from hudiwrite.formats.avro_ocf import write_single_record
from hudiwrite.formats.hudi_avro_schemas import schema_json
from hudiwrite.formats.logfile import LogFileBlock, read_blocks
from hudiwrite.model.naming import parse_base_file_name, parse_log_file_name
from hudiwrite.write import transaction
from tests.helpers import batch, create, hudi_rs, versions_by_id


def _crash_during_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next write die after its data files, before its commit file: no abort."""

    def die(self: Any, *args: Any) -> None:
        raise KeyboardInterrupt("simulated crash")

    monkeypatch.setattr(transaction._Transaction, "commit", die)
    monkeypatch.setattr(transaction._Transaction, "abort", lambda self: None)


def _schedule_compaction(path: Path, instant: str, partition: str) -> tuple[str, str]:
    """Write a compaction plan (as Spark's scheduler would) for the partition's file group;
    return its file id and the base file it compacts."""
    files = sorted(p.name for p in (path / partition).iterdir())
    base = next(n for n in files if parse_base_file_name(n) is not None)
    parsed = parse_base_file_name(base)
    assert parsed is not None
    logs = [n for n in files if (lg := parse_log_file_name(n)) and lg.file_id == parsed.file_id]
    operation = {
        "baseInstantTime": parsed.instant,
        "deltaFilePaths": logs,
        "dataFilePath": base,
        "fileId": parsed.file_id,
        "partitionPath": partition,
        "metrics": {"TOTAL_LOG_FILES": float(len(logs))},
        "bootstrapFilePath": None,
    }
    plan = {
        "operations": [operation],
        "extraMetadata": {},
        "version": 2,
        "strategy": None,
        "preserveHoodieMetadata": False,
    }
    data = write_single_record(schema_json("HoodieCompactionPlan"), plan)
    (path / ".hoodie" / f"{instant}.compaction.requested").write_bytes(data)
    (path / ".hoodie" / ".aux" / f"{instant}.compaction.requested").write_bytes(data)
    (path / ".hoodie" / f"{instant}.compaction.inflight").write_bytes(b"")
    return parsed.file_id, base


def test_only_committed_data_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t"
    # No inline compaction: the compaction below must stay pending while we read.
    options = hw.TableOptions(compaction_delta_commits=None)
    t = create(path, options)
    r1 = t.upsert(batch(["a", "b", "c"], 1))
    r2 = t.upsert(batch(["a"], 2))
    expected = {"a": (2, r2.instant_time), "b": (1, r1.instant_time), "c": (1, r1.instant_time)}

    # A write that dies before its commit file; then its log file is torn.
    with monkeypatch.context() as m:
        _crash_during_commit(m)
        with pytest.raises(KeyboardInterrupt):
            t.upsert(batch(["b", "new"], 3))
    hoodie = path / ".hoodie"
    (failed,) = [
        p.name.split(".")[0]
        for p in hoodie.glob("*.deltacommit.inflight")
        if not (hoodie / p.name.replace(".inflight", "")).exists()
    ]
    failed_logs = [
        p
        for p in (path / "city=sf").iterdir()
        if parse_log_file_name(p.name)
        and any(
            isinstance(e, LogFileBlock) and e.block.instant_time == failed
            for e in read_blocks(p.read_bytes())
        )
    ]
    assert failed_logs, "the failed write left its log file behind"
    torn = failed_logs[0]
    torn.write_bytes(torn.read_bytes()[: torn.stat().st_size // 2])

    compaction = t.upsert(batch(["zz"], 4, city="la")).instant_time
    expected["zz"] = (4, compaction)
    # Torn block and failed write: both readers see the committed data only.
    assert versions_by_id(t.to_arrow()) == expected
    assert versions_by_id(hudi_rs(path)) == expected

    # A compaction planned by another process and not executed; a half-written output.
    tc = str(int(compaction) + 1)
    file_id, _ = _schedule_compaction(path, tc, "city=sf")
    (path / "city=sf" / f"{file_id}_9-9-9_{tc}.parquet").write_bytes(b"PAR1 torn")

    # A write while the compaction is pending: its log goes to the compaction's slice.
    r4 = t.upsert(batch(["c"], 5))
    expected["c"] = (5, r4.instant_time)
    (new_log,) = r4.files_written
    parsed = parse_log_file_name(new_log.split("/")[1])
    assert parsed is not None
    assert (parsed.file_id, parsed.base_instant, parsed.version) == (file_id, tc, 1)

    # Java's file-system view merges the pending compaction's new slice (logs named after
    # the compaction instant) with the previous slice (protocol §6.1); hudi-rs 0.5.0 does not
    # read such v6 logs until the compaction completes, so only hudiwrite is checked here.
    assert versions_by_id(t.to_arrow()) == expected
    assert failed not in {v[1] for v in versions_by_id(t.to_arrow()).values()}
    # read-optimized: base files only, the torn compaction output ignored
    ro = versions_by_id(t.to_arrow(read_optimized=True))
    assert ro == {
        "a": (1, r1.instant_time),
        "b": (1, r1.instant_time),
        "c": (1, r1.instant_time),
        "zz": (4, compaction),
    }
