"""Several writers on one table: a running write is never taken for a failed one.

Writes keep a heartbeat in ``.hoodie/.heartbeat/<instant>`` (Java's folder and file name).
The eager rollback at the start of a write only rolls back pending writes whose writer is
dead: heartbeat gone, older than two intervals, or naming a process of this host that no
longer runs. These tests run real second processes, pause them mid-write, and kill them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

import hudiwrite as hw
from hudiwrite.concurrency.heartbeat import TOLERABLE_MISSES, Heartbeat, file_alive, is_alive
from hudiwrite.model.paths import heartbeat_path
from hudiwrite.services.rollback import rollback_instant
from hudiwrite.storage import Storage
from hudiwrite.write import executor as executor_module
from tests import helpers
from tests.helpers import NO_SERVICES, batch, hudi_rs, values_by_city_id


@pytest.fixture(autouse=True, params=[6, 9], ids=["v6", "v9"])
def table_version(request: pytest.FixtureRequest) -> int:
    """Every multi-writer test runs on a version-6 and on a version-9 table: heartbeats,
    reserved instants and the commit, services and rollback locks are the same on both
    (on 9 completion times are taken under the commit lock)."""
    version: int = request.param
    return version


_VERSION: list[int] = [6]


@pytest.fixture(autouse=True)
def _bind_version(table_version: int) -> None:
    _VERSION[0] = table_version


def create(
    path: Path | str, options: hw.TableOptions = NO_SERVICES, **changes: Any
) -> hw.HudiTable:
    """``tests.helpers.create`` on a table of the test's version."""
    return helpers.create(path, options, table_version=_VERSION[0], **changes)


#: A second writer: upserts into ``ny``, pauses after writing its data files (before the
#: commit) until told to go on, and reports where it is through files next to the table.
PAUSED_WRITER = """
import sys, time
from pathlib import Path
import pyarrow as pa
import hudiwrite as hw
from hudiwrite.write import executor as ex

table_path, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
real = ex.WriteExecutor.run

def paused(self, prepared):
    stats = real(self, prepared)
    ready.write_text(self.instant_time)
    while not go.exists():
        time.sleep(0.02)
    return stats

ex.WriteExecutor.run = paused
t = hw.HudiTable.open(table_path)
batch = pa.table(
    {"id": ["p1", "p2"], "ts": [5, 5], "city": ["ny", "ny"], "v": [50, 50]},
    schema=pa.schema([("id", pa.string()), ("ts", pa.int64()), ("city", pa.string()),
                      ("v", pa.int64())]),
)
result = t.upsert(batch)
print(result.instant_time)
"""


#: A second process running ``compact()``, paused after its first new base file.
PAUSED_COMPACTION = """
import sys, threading, time
from pathlib import Path
import hudiwrite as hw
from hudiwrite.services import compaction

table_path, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
real = compaction.BaseFileWriter.close
first = threading.Lock()

def paused(self):
    real(self)
    if first.acquire(blocking=False):
        timeline = hw.HudiTable.open(table_path).timeline()
        (pending,) = [i.time for i in timeline if i.action == "compaction"]
        ready.write_text(pending)
        while not go.exists():
            time.sleep(0.02)

compaction.BaseFileWriter.close = paused
result = hw.HudiTable.open(table_path).compact()
print(",".join(result.executed))
"""


def _table(path: Path, **options: Any) -> hw.HudiTable:
    t = create(path, **options)
    t.upsert(batch(["a", "b"], 1, "sf", v=10))
    return t


class _PausedWriter:
    """A second process in the middle of a write (data files written, not committed)."""

    def __init__(self, table_path: Path, tmp_path: Path, script: str = PAUSED_WRITER) -> None:
        self.ready = tmp_path / "ready"
        self.go = tmp_path / "go"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, str(table_path), str(self.ready), str(self.go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while not self.ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                _, err = self.proc.communicate(timeout=10)
                raise AssertionError(f"second writer did not reach its pause: {err.decode()}")
            time.sleep(0.02)
        time.sleep(0.05)  # the file is written before its content is flushed on some stores
        self.instant = self.ready.read_text()

    def finish(self) -> tuple[int, str, str]:
        self.go.touch()
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, out.decode().strip(), err.decode()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.communicate(timeout=30)  # reaped (its pid no longer exists), pipes closed


def _pending(path: Path) -> list[str]:
    """Instants of the active timeline that have not completed."""
    timeline = hw.HudiTable.open(str(path)).timeline()
    return [i.time for i in timeline if i.state is not hw.State.COMPLETED]


@pytest.mark.slow
def test_live_write_of_another_process_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = _table(path)
    other = _PausedWriter(path, tmp_path)
    heartbeat = path / heartbeat_path(other.instant)
    owner = orjson.loads(heartbeat.read_bytes())
    assert owner["pid"] == other.proc.pid and owner["writer"] == "hudiwrite"

    # This writer's eager rollback runs, sees the other's pending write and leaves it be.
    mine = t.upsert(batch(["c"], 2, "la", v=20))
    assert t.rollback_failed() == ()
    assert _pending(path) == [other.instant]
    expected = {("sf", "a"): 10, ("sf", "b"): 10, ("la", "c"): 20}
    assert values_by_city_id(t.to_arrow()) == expected  # the other write is not visible yet

    code, out, err = other.finish()
    assert code == 0, err
    assert out == other.instant != mine.instant_time
    expected |= {("ny", "p1"): 50, ("ny", "p2"): 50}
    assert values_by_city_id(hw.HudiTable.open(str(path)).to_arrow()) == expected
    assert values_by_city_id(hudi_rs(path)) == expected
    assert not heartbeat.exists()  # removed once the write completed


@pytest.mark.slow
def test_killed_writer_is_rolled_back_by_the_next_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = _table(path)
    other = _PausedWriter(path, tmp_path)
    other.kill()
    assert (path / heartbeat_path(other.instant)).exists()  # a death leaves it behind
    assert list((path / "city=ny").glob("*.parquet"))  # and its data files

    t.upsert(batch(["c"], 2, "la", v=20))  # the heartbeat names a gone process: rolled back now
    assert _pending(path) == []
    assert not (path / heartbeat_path(other.instant)).exists()
    assert not (path / "city=ny").exists()
    expected = {("sf", "a"): 10, ("sf", "b"): 10, ("la", "c"): 20}
    assert values_by_city_id(t.to_arrow()) == expected
    assert values_by_city_id(hudi_rs(path)) == expected


@pytest.mark.slow
def test_other_hosts_writes_wait_for_their_heartbeat_to_expire(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t = _table(path, heartbeat_interval=5.0)
    other = _PausedWriter(path, tmp_path)
    other.kill()
    heartbeat = path / heartbeat_path(other.instant)
    # As if the writer ran on another machine: its pid means nothing here.
    heartbeat.write_bytes(orjson.dumps({"host": "elsewhere", "pidns": None, "pid": 1}))

    t.upsert(batch(["c"], 2, "la", v=20))
    assert _pending(path) == [other.instant]  # its writer may still be alive
    expected = {("sf", "a"): 10, ("sf", "b"): 10, ("la", "c"): 20}
    assert values_by_city_id(t.to_arrow()) == expected
    assert values_by_city_id(hudi_rs(path)) == expected

    old = time.time() - 5.0 * TOLERABLE_MISSES - 1
    os.utime(heartbeat, (old, old))  # no beat for more than two intervals: dead
    assert [i.time for i in t.rollback_failed()] == [other.instant]
    assert _pending(path) == [] and not heartbeat.exists()
    assert values_by_city_id(t.to_arrow()) == expected
    assert values_by_city_id(hudi_rs(path)) == expected


def test_a_write_rolled_back_under_it_does_not_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If another writer took this write for dead (say its heartbeat stalled) and rolled it
    back, the commit is refused instead of publishing files that are gone."""
    path = tmp_path / "t"
    t = _table(path)
    real = executor_module.WriteExecutor.run

    def rolled_back_meanwhile(self: Any, prepared: Any) -> Any:
        stats = real(self, prepared)
        meta = t._meta  # internal on purpose: the other writer's rollback, injected here
        timeline = meta.timeline()
        (mine,) = [i for i in timeline.pending_writes if i.time == self.instant_time]
        rollback_instant(meta, mine)  # what the other writer does
        return stats

    monkeypatch.setattr(executor_module.WriteExecutor, "run", rolled_back_meanwhile)
    with pytest.raises(hw.CommitConflictError, match="rolled back by another writer"):
        t.upsert(batch(["a", "z"], 3, "sf", v=30))
    monkeypatch.undo()
    expected = {("sf", "a"): 10, ("sf", "b"): 10}
    assert values_by_city_id(t.to_arrow()) == expected
    assert values_by_city_id(hudi_rs(path)) == expected
    assert _pending(path) == []
    assert not list((path / ".hoodie" / ".heartbeat").glob("*"))


def _table_to_compact(path: Path) -> tuple[hw.HudiTable, dict[tuple[str, str], int]]:
    t = _table(path)
    t.upsert(batch(["x", "y"], 1, "la", v=10))
    t.upsert(batch(["a"], 2, "sf", v=20))
    t.upsert(batch(["x"], 3, "la", v=30))
    return t, {("sf", "a"): 20, ("sf", "b"): 10, ("la", "x"): 30, ("la", "y"): 10}


@pytest.mark.slow
def test_compaction_run_by_a_live_process_is_not_run_twice(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t, expected = _table_to_compact(path)
    other = _PausedWriter(path, tmp_path, PAUSED_COMPACTION)
    written = sorted(p.name for p in path.glob(f"city=*/*_{other.instant}.parquet"))
    assert written  # paused after its first base file (the pool may have written both)

    # The other process holds the table-services lock: this one may not run them now.
    with pytest.raises(hw.CommitConflictError, match="another process"):
        t.compact()
    t.upsert(batch(["q"], 4, "ny", v=40))  # writes go on; their inline services are skipped
    assert sorted(p.name for p in path.glob(f"city=*/*_{other.instant}.parquet")) == written
    expected |= {("ny", "q"): 40}
    assert values_by_city_id(t.to_arrow()) == expected

    code, out, err = other.finish()
    assert code == 0, err
    assert out == other.instant
    assert [i.state for i in t.timeline() if i.time == other.instant] == [hw.State.COMPLETED]
    assert len(list(path.glob(f"city=*/*_{other.instant}.parquet"))) == 2
    assert values_by_city_id(t.to_arrow()) == expected
    assert values_by_city_id(hudi_rs(path)) == expected


@pytest.mark.slow
def test_compaction_of_a_killed_process_is_finished_by_the_next(tmp_path: Path) -> None:
    path = tmp_path / "t"
    t, expected = _table_to_compact(path)
    other = _PausedWriter(path, tmp_path, PAUSED_COMPACTION)
    other.kill()
    result = t.compact()
    assert result.executed == (other.instant,)
    assert len(list(path.glob(f"city=*/*_{other.instant}.parquet"))) == 2
    assert not (path / heartbeat_path(other.instant)).exists()
    assert values_by_city_id(t.to_arrow()) == expected
    assert values_by_city_id(hudi_rs(path)) == expected


def test_heartbeat_beats_during_a_write_and_is_removed_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t"
    t = _table(path, heartbeat_interval=0.05)
    storage = Storage(str(path))
    seen: list[float] = []
    real = executor_module.WriteExecutor.run

    def slow(self: Any, prepared: Any) -> Any:
        rel = heartbeat_path(self.instant_time)
        for _ in range(4):
            modified = storage.modified(rel)
            assert modified is not None
            seen.append(modified)
            time.sleep(0.12)
        assert is_alive(storage, self.instant_time, 0.05)
        return real(self, prepared)

    monkeypatch.setattr(executor_module.WriteExecutor, "run", slow)
    result = t.upsert(batch(["c"], 2, "la", v=20))
    assert len(set(seen)) > 1, "the heartbeat was not refreshed while the write ran"
    assert storage.modified(heartbeat_path(result.instant_time)) is None


def test_liveness_of_java_style_empty_heartbeats() -> None:
    """Java writes empty heartbeat files and judges them by age only; so does hudiwrite."""
    storage = Storage("memory://heartbeats/t")
    storage.write_bytes(heartbeat_path("20261121000000000"), b"")
    now = time.time()
    assert is_alive(storage, "20261121000000000", 60.0, now=now)
    assert is_alive(storage, "20261121000000000", 60.0, now=now + 119)
    assert not is_alive(storage, "20261121000000000", 60.0, now=now + 121)
    assert not is_alive(storage, "20261121000000001", 60.0, now=now)  # none: dead


def test_heartbeat_interval_must_be_positive() -> None:
    with pytest.raises(hw.InvalidOptionError):
        hw.TableOptions(heartbeat_interval=0)


def test_claims_are_exclusive_and_a_taken_over_claim_is_not_deleted(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path))
    path = tmp_path / heartbeat_path("100")
    first = Heartbeat.claim(storage, "100", 60.0)
    assert first is not None
    with first:
        assert Heartbeat.claim(storage, "100", 60.0) is None  # held by a live process
        # This process stalls (no beat for over an interval); another host decides the
        # claim expired and takes it over.
        first._last_beat = time.monotonic() - 61.0
        path.write_bytes(orjson.dumps({"host": "elsewhere", "pidns": None, "pid": 1}))
    assert orjson.loads(path.read_bytes())["host"] == "elsewhere"  # left to its new holder
    assert Heartbeat.claim(storage, "100", 60.0) is None  # fresh: that holder is alive
    old = time.time() - 60.0 * TOLERABLE_MISSES - 5
    os.utime(path, (old, old))  # ...until its heartbeat expires: then it is taken over
    second = Heartbeat.claim(storage, "100", 60.0)
    assert second is not None
    with second:
        assert orjson.loads(path.read_bytes())["pid"] == os.getpid()
    assert not path.exists()  # our own claim: removed


#: One of several writers of a stress test: upserts into its own partition with all table
#: services inline at aggressive settings; prints each committed batch as a JSON line.
STRESS_WRITER = """
import json, random, sys
import pyarrow as pa
import hudiwrite as hw

path, wid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
schema = pa.schema(
    [("id", pa.string()), ("ts", pa.int64()), ("city", pa.string()), ("v", pa.int64())]
)
options = hw.TableOptions(
    compaction_delta_commits=3, clean_retained=2, archive_min_instants=4, archive_max_instants=6
)
t = hw.HudiTable.open(path, options=options)
rng = random.Random(wid)
for i in range(n):
    ids = [f"w{wid}-k{rng.randrange(25)}" for _ in range(4)]
    batch = pa.table(
        {"id": ids, "ts": [i + 1] * 4, "city": [f"c{wid}"] * 4, "v": [i + 1] * 4}, schema
    )
    try:
        t.upsert(batch)
    except hw.CommitConflictError:
        continue  # refused as a whole: nothing of it may show
    print(json.dumps([ids, i + 1]), flush=True)
"""


@pytest.mark.slow
def test_several_processes_with_inline_services_lose_nothing(tmp_path: Path) -> None:
    """Three processes write one table at once, each running compaction, cleaning and
    archival inline: every write that returned is in the final table, exactly (hudiwrite and
    hudi-rs), and every write that was refused is absent. This found lost commits (partial
    local listings, shared instant times, a compaction planned between a write's conflict
    check and its commit) before the instant reservation and the commit lock."""
    path = tmp_path / "t"
    create(path, hw.TableOptions())
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", STRESS_WRITER, str(path), str(w), "20"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(3)
    ]
    model: dict[tuple[str, str], int] = {}
    committed = 0
    for w, proc in enumerate(writers):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        for line in out.splitlines():
            ids, ts = orjson.loads(line)
            committed += 1
            for key in ids:
                model[(f"c{w}", key)] = ts  # the writer stores v = ts
    assert committed >= 20  # most writes go through (refusals come from compactions)
    t = hw.HudiTable.open(str(path))
    assert values_by_city_id(t.to_arrow()) == model
    assert values_by_city_id(hudi_rs(path)) == model
    actions = {i.action for i in t.timeline()}
    assert "commit" in actions  # compactions ran (and completed) among the writers
    assert not [i for i in t.timeline() if i.state is not hw.State.COMPLETED]


def test_local_listing_skips_a_file_removed_while_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's temporary file can vanish between readdir and stat: the listing
    drops that one entry and keeps the rest (it used to give up the whole directory)."""
    for name in ("a.tmp", "b", "c"):
        (tmp_path / name).write_bytes(b"x")
    real_scandir = os.scandir

    class Vanished:
        def __init__(self, entry: Any) -> None:
            self._entry = entry
            self.name = entry.name

        def is_dir(self, follow_symlinks: bool = True) -> bool:
            return False

        def is_file(self) -> bool:
            return True

        def stat(self) -> Any:
            raise FileNotFoundError(self.name)

    class Scan:
        def __init__(self, path: str) -> None:
            self._it = real_scandir(path)

        def __enter__(self) -> Any:
            entries = sorted(self._it.__enter__(), key=lambda e: e.name)
            return [Vanished(e) if e.name == "a.tmp" else e for e in entries]

        def __exit__(self, *exc: Any) -> None:
            self._it.__exit__(*exc)

    monkeypatch.setattr(os, "scandir", Scan)
    storage = Storage(str(tmp_path))
    assert [f.name for f in storage.list_files("")] == ["b", "c"]
    assert [f.name for f in storage.walk_files("")] == ["b", "c"]


@pytest.mark.slow
def test_one_process_rolls_back_at_a_time(tmp_path: Path) -> None:
    from hudiwrite.concurrency.heartbeat import ROLLBACK_LOCK

    path = tmp_path / "t"
    t = _table(path)
    other = _PausedWriter(path, tmp_path)
    other.kill()
    held = Heartbeat.lock(Storage(str(path)), ROLLBACK_LOCK, 60.0)
    assert held is not None
    with held:  # as if another live process were rolling back right now
        assert t.rollback_failed() == ()
        assert _pending(path) == [other.instant]
    assert [i.time for i in t.rollback_failed()] == [other.instant]
    assert _pending(path) == []
    assert values_by_city_id(t.to_arrow()) == {("sf", "a"): 10, ("sf", "b"): 10}


def test_a_failing_inline_service_does_not_fail_the_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The write has landed when the inline services run: their failures (HudiErrors
    included, e.g. the services lock held elsewhere) are logged, never raised, so a caller
    does not retry a write that succeeded."""
    from hudiwrite.services import inline as inline_module

    path = tmp_path / "t"
    t = _table(
        path, auto_clean=True, clean_retained=1, archive_min_instants=2, archive_max_instants=3
    )

    def busy(*args: Any, **kwargs: Any) -> Any:
        raise hw.CommitConflictError("table services are busy elsewhere")

    monkeypatch.setattr(inline_module, "run_clean", busy)
    with caplog.at_level("WARNING", logger="hudiwrite"):
        for n in range(2, 5):
            result = t.upsert(batch(["a"], n, "sf", v=n * 10))
            assert result.num_updated == 1
    assert "inline cleaning" in caplog.text and "busy elsewhere" in caplog.text
    assert values_by_city_id(t.to_arrow()) == {("sf", "a"): 40, ("sf", "b"): 10}


def test_readers_ignore_heartbeats_and_locks(tmp_path: Path) -> None:
    """Files a crashed process can leave behind (a heartbeat, a lock) change no reader's
    view of the table: not hudi-rs's, not hudiwrite's."""
    path = tmp_path / "t"
    t = _table(path)
    expected = values_by_city_id(t.to_arrow())
    storage = Storage(str(path))
    storage.write_bytes(heartbeat_path("20991231235959999"), b"")
    for name in ("commit", "table-services", "rollback"):
        storage.write_bytes(f".hoodie/.aux/.locks/{name}", b'{"host": "gone", "pid": 1}')
    assert values_by_city_id(hudi_rs(path)) == expected
    assert values_by_city_id(hw.HudiTable.open(str(path)).to_arrow()) == expected
    assert [i.state for i in hw.HudiTable.open(str(path)).timeline()] == [hw.State.COMPLETED]


def test_heartbeat_age_on_stores_without_modified(monkeypatch: pytest.MonkeyPatch) -> None:
    """A filesystem without ``modified()``: the age comes from ``info()``'s time fields."""
    storage = Storage("memory://heartbeats/no-modified")
    storage.write_bytes("x", b"")
    fs_type = type(storage.fs)

    def unsupported(self: Any, path: str) -> Any:
        raise NotImplementedError

    monkeypatch.setattr(fs_type, "modified", unsupported)
    real_info = fs_type.info
    old = time.time() - 500
    monkeypatch.setattr(
        fs_type, "info", lambda self, path, **kw: {**real_info(self, path, **kw), "created": old}
    )
    assert storage.modified("x") == pytest.approx(old)
    assert storage.modified("absent") is None
    assert not file_alive(storage, "x", 60.0)  # 500 s old: expired
