"""Load on the S3 test server: 8 writer processes and a table-services process at once.

Eight processes upsert and delete into one Merge-on-Read table on a local S3-compatible
server (SeaweedFS, ``tests/s3server.py``) with compaction, cleaning and archival running
inline, while a ninth process calls ``compact()``, ``clean()`` and ``archive()`` in a loop. A
write refused with ``CommitConflictError`` is retried (with new values, so a refused attempt
that leaked would show) until it lands. At the end, with no process left, the table holds
exactly the model: hudiwrite and hudi-rs (over S3) read it, no update is lost, every
reported instant completed and nothing is pending.

The model. Each writer owns its keys and writes them in order, so the last write of a key
that returned is what the table must hold: that writer's last successful upsert of the
key (ordering value = commit number, values and ``_hoodie_commit_time`` of that attempt),
or nothing after its last successful delete. Two writers share each partition: their
writes meet in the partition's file groups (the small-file merge puts every insert into the
smallest group, and updates go to the logs of whatever group a key is in), so concurrent
writes of a pair conflict, and so does every write in flight when a compaction is planned.

Runtime. A commit under this contention takes about 95 requests (timeline listings,
heartbeat and lock checks, the inline services; retries included). The writers' s3fs and
botocore spend about 3 ms of CPU on each; SeaweedFS (Go) about 1 ms. moto needed 5-7 ms of
single-threaded Python per request, which made the full load too slow; SeaweedFS makes it
fit. CI runs 8 x 25 commits (about 2 minutes); the full load of the issue, 8 x 100, is run
with::

    HUDIWRITE_S3_LOAD_COMMITS=100 .venv/bin/python -m pytest -s tests/test_s3_load.py

(``-s`` prints the report: time, conflicts, requests, CPU, services.) Fewer rows per commit
would not help: the cost is per commit, not per row.
"""

from __future__ import annotations

import collections
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hudi
import pyarrow as pa
import pytest
import s3fs

import hudiwrite as hw
from hudiwrite.concurrency.heartbeat import Heartbeat
from hudiwrite.model.paths import HEARTBEAT_DIR, LOCK_DIR, MARKER_DIR
from hudiwrite.storage import Storage
from tests.s3server import KEY, REGION, SECRET, SeaweedS3, storage_options

pytestmark = pytest.mark.slow

BUCKET = "hudi-load"

WRITERS = 8
COMMITS = int(os.environ.get("HUDIWRITE_S3_LOAD_COMMITS", "25"))
PARTITIONS = 4  # writers w and w + 4 share partition p{w % 4}
KEYS_PER_WRITER = 12
ROWS_PER_COMMIT = 3
DELETE_EVERY = 7  # every 7th commit of a writer deletes one of its live keys
#: A commit refused this often fails the test. Optimistic concurrency is not fair: a writer
#: whose commits are long (inserts rewrite the partition's small file group) can lose to its
#: partner's short update-only commits of the same group for as long as the partner writes
#: (in an 8 x 100 run one writer needed over 60 attempts for one commit), so the bound is
#: loose and the test's deadline is what stops a livelock.
MAX_ATTEMPTS = 1000

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("part", pa.string()),
        ("ts", pa.int64()),
        ("writer", pa.int64()),
        ("seq", pa.int64()),
        ("attempt", pa.int64()),
        ("note", pa.string()),
    ]
)
KEY_SCHEMA = pa.schema([("id", pa.string()), ("part", pa.string())])

#: Services inline in every writer, at settings that make them run often in this run:
#: a compaction every 10 delta commits (table-wide), cleaning that keeps the slices of the
#: last 4 commits, archival between 8 and 12 instants.
WRITER_OPTIONS = hw.TableOptions(
    compaction_delta_commits=10, clean_retained=4, archive_min_instants=8, archive_max_instants=12
)
#: Seconds between the service process's rounds of compact, clean and archive.
SERVICE_PAUSE = 4.0

ROOT = Path(__file__).resolve().parents[1]


# -- the processes ---------------------------------------------------------------------------


def _conflict_kind(exc: hw.CommitConflictError) -> str:
    text = str(exc)
    for marker, kind in (
        ("changed file group", "file-group"),
        ("removed meanwhile", "file-removed"),
        ("commit lock", "commit-lock"),
        ("rolled back by another writer", "rolled-back"),
        ("no free instant time", "instant-time"),
        ("table services", "services-lock"),
    ):
        if marker in text:
            return kind
    return "other"


def _writer_main(uri: str, storage_options: dict[str, Any], writer: int, commits: int) -> None:
    """One writer: ``commits`` commits of its own keys, each retried until it lands; prints
    one JSON line per landed commit and a summary line."""
    table = hw.HudiTable.open(uri, storage_options=storage_options, options=WRITER_OPTIONS)
    rng = random.Random(1000 + writer)
    part = f"p{writer % PARTITIONS}"
    keys = [f"w{writer}-k{j:02d}" for j in range(KEYS_PER_WRITER)]
    live: set[str] = set()
    conflicts: collections.Counter[str] = collections.Counter()
    most = 0  # attempts of the commit that needed the most
    started = time.monotonic()
    for seq in range(1, commits + 1):
        delete = seq % DELETE_EVERY == 0 and bool(live)
        chosen = [rng.choice(sorted(live))] if delete else rng.sample(keys, ROWS_PER_COMMIT)
        attempt = 0
        while True:
            attempt += 1
            try:
                if delete:
                    result = table.delete(
                        pa.table({"id": chosen, "part": [part] * len(chosen)}, KEY_SCHEMA)
                    )
                else:
                    n = len(chosen)
                    batch = {
                        "id": chosen,
                        "part": [part] * n,
                        "ts": [seq] * n,
                        "writer": [writer] * n,
                        "seq": [seq] * n,
                        "attempt": [attempt] * n,
                        "note": [f"{k}@{seq}.{attempt}" for k in chosen],
                    }
                    result = table.upsert(pa.table(batch, SCHEMA))
            except hw.CommitConflictError as exc:
                conflicts[_conflict_kind(exc)] += 1
                if attempt >= MAX_ATTEMPTS:
                    raise
                time.sleep(rng.uniform(0.0, 0.05 * min(attempt, 6)))
                continue
            break
        most = max(most, attempt)
        # What the write reports must agree with what this writer knows of its keys.
        if delete:
            assert result.num_deleted == len(chosen), (seq, chosen, result)
            live.difference_update(chosen)
        else:
            assert result.num_inserted + result.num_updated == len(chosen), (seq, result)
            assert result.num_updated >= len(live & set(chosen)), (seq, chosen, live, result)
            live.update(chosen)
        line = {
            "seq": seq,
            "op": "delete" if delete else "upsert",
            "keys": chosen,
            "part": part,
            "attempt": attempt,
            "instant": result.instant_time,
        }
        print(json.dumps(line), flush=True)
    summary = {
        "summary": True,
        "conflicts": conflicts,
        "most_attempts": most,
        "seconds": time.monotonic() - started,
    }
    print(json.dumps(summary), flush=True)


def _service_main(uri: str, storage_options: dict[str, Any], stop: str, deadline: float) -> None:
    """The table-services process: compact, clean, archive, pause; until ``stop`` exists
    (or ``deadline`` seconds passed). A service refused because a writer's inline services
    hold the lock counts as busy; any other error fails the process."""
    table = hw.HudiTable.open(uri, storage_options=storage_options, options=WRITER_OPTIONS)
    done: collections.Counter[str] = collections.Counter()
    steps: list[tuple[str, Callable[[], object]]] = [
        ("compact", table.compact),
        ("clean", table.clean),
        ("archive", table.archive),
    ]
    end = time.monotonic() + deadline
    while not os.path.exists(stop) and time.monotonic() < end:
        for name, step in steps:
            try:
                result = step()
            except hw.CommitConflictError as exc:
                done[f"{name}:refused:{_conflict_kind(exc)}"] += 1
                continue
            done[f"{name}:ran"] += 1
            if isinstance(result, hw.CompactionResult):
                done["compactions executed"] += len(result.executed)
            elif isinstance(result, hw.CleanResult) and result.instant_time is not None:
                done["cleans"] += 1
            elif isinstance(result, hw.ArchiveResult):
                done["instants archived"] += len(result.archived)
        waited = 0.0
        while waited < SERVICE_PAUSE and not os.path.exists(stop):
            time.sleep(0.2)
            waited += 0.2
    print(json.dumps({"summary": True, "services": done}), flush=True)


def _main(argv: list[str]) -> None:
    role, uri, options = argv[0], argv[1], json.loads(argv[2])
    if role == "writer":
        _writer_main(uri, options, int(argv[3]), int(argv[4]))
    elif role == "service":
        _service_main(uri, options, argv[3], float(argv[4]))
    else:
        raise SystemExit(f"unknown role {role!r}")


# -- the server --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def load_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], SeaweedS3]]:
    """A SeaweedFS server of its own, with every AWS variable replaced by a dummy so that
    nothing reaches real AWS."""

    no_config = tmp_path_factory.mktemp("aws-load") / "absent"
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                mp.delenv(name)
        for name, value in _aws_env(no_config).items():
            mp.setenv(name, value)
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            mp.delenv(proxy, raising=False)
            mp.delenv(proxy.lower(), raising=False)
        server = SeaweedS3(tmp_path_factory.mktemp("seaweed"))
        endpoint = server.start()
        try:
            opts = storage_options(endpoint)
            s3fs.S3FileSystem(skip_instance_cache=True, **opts).call_s3(
                "create_bucket", Bucket=BUCKET
            )
            yield opts, server
        finally:
            server.stop()


def _aws_env(no_config: Path) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": str(no_config),
        "AWS_SHARED_CREDENTIALS_FILE": str(no_config),
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


# -- the test ----------------------------------------------------------------------------------


class _Process:
    """A child running ``_main`` with its output in files (a pipe could fill and block)."""

    def __init__(self, name: str, args: list[str], folder: Path) -> None:
        self.name = name
        self.out = folder / f"{name}.out"
        self.err = folder / f"{name}.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.test_s3_load", *args],
                cwd=ROOT,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )

    def wait(self, deadline: float) -> list[dict[str, Any]]:
        """The JSON lines it printed, once it exited 0 (else AssertionError with stderr)."""
        try:
            code = self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            raise AssertionError(f"{self.name} did not finish in time: {self._tail()}") from None
        assert code == 0, f"{self.name} exited with {code}: {self._tail()}"
        return [json.loads(line) for line in self.out.read_text().splitlines()]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def _tail(self) -> str:
        return self.err.read_text(errors="replace")[-4000:]


Model = dict[str, tuple[int, int, str] | None]  # key -> (seq, attempt, instant), None: deleted


def _model(writer: int, lines: list[dict[str, Any]], commits: int) -> tuple[Model, int]:
    """The writer's keys as its landed commits left them, and its conflict count."""
    model: Model = {}
    summary: dict[str, Any] | None = None
    seqs: list[int] = []
    instants: list[str] = []
    for line in lines:
        if line.get("summary"):
            summary = line
            continue
        seqs.append(line["seq"])
        instants.append(line["instant"])
        assert line["part"] == f"p{writer % PARTITIONS}"
        for key in line["keys"]:
            assert key.startswith(f"w{writer}-"), key
            if line["op"] == "delete":
                model[key] = None
            else:
                model[key] = (line["seq"], line["attempt"], line["instant"])
    assert summary is not None, f"writer {writer} printed no summary"
    assert seqs == list(range(1, commits + 1)), f"writer {writer} landed {seqs}"
    # One writer's instants grow: each is reserved later than every instant on the timeline.
    assert instants == sorted(instants) and len(set(instants)) == len(instants)
    conflicts = sum(summary["conflicts"].values())
    attempts = sum(line["attempt"] for line in lines if not line.get("summary"))
    assert attempts == commits + conflicts, (writer, attempts, commits, summary)
    return model, conflicts


def _rows(table: pa.Table) -> dict[str, tuple[int, int, int, str, str]]:
    """key -> (writer, seq, attempt, note, partition) of a read; a key read twice fails."""
    out: dict[str, tuple[int, int, int, str, str]] = {}
    for r in table.select(["id", "writer", "seq", "attempt", "note", "part"]).to_pylist():
        assert r["id"] not in out, f"key {r['id']} read twice"
        out[r["id"]] = (r["writer"], r["seq"], r["attempt"], r["note"], r["part"])
    return out


def _expected(model: Model) -> dict[str, tuple[int, int, int, str, str]]:
    out = {}
    for key, state in model.items():
        if state is None:
            continue
        seq, attempt, _ = state
        writer = int(key[1:].split("-", 1)[0])
        out[key] = (writer, seq, attempt, f"{key}@{seq}.{attempt}", f"p{writer % PARTITIONS}")
    return out


def _hudi_rs(uri: str, opts: dict[str, Any]) -> pa.Table:
    options = {
        "aws_endpoint_url": opts["endpoint_url"],
        "aws_access_key_id": KEY,
        "aws_secret_access_key": SECRET,
        "aws_region": REGION,
        "aws_allow_http": "true",
    }
    batches = hudi.HudiTable(uri, options=options).read()
    assert batches, f"hudi-rs read nothing from {uri}"
    return pa.Table.from_batches(batches)


def _lost(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(expected) | set(got) if expected.get(k) != got.get(k))


def _children_cpu() -> float:
    """CPU seconds of this process's waited-for children (the writers and the service)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def _check_reads(uri: str, opts: dict[str, Any], model: Model, when: str) -> int:
    """Both readers return exactly the model; returns the number of live keys."""
    expected = _expected(model)
    got = hw.HudiTable.open(uri, storage_options=opts).to_arrow()
    mine = _rows(got)
    lost = _lost(expected, mine)
    assert lost == [], f"{when}: {len(lost)} lost updates (hudiwrite): " + ", ".join(
        f"{k}: expected {expected.get(k)}, read {mine.get(k)}" for k in lost[:10]
    )
    # Every row is the record of the attempt the model names, not of a refused one.
    instants = {k: state[2] for k, state in model.items() if state is not None}
    commit_times = dict(
        zip(got["id"].to_pylist(), got["_hoodie_commit_time"].to_pylist(), strict=True)
    )
    wrong = {k: (v, instants[k]) for k, v in commit_times.items() if instants[k] != v}
    assert wrong == {}, f"{when}: rows with another commit's time: {list(wrong.items())[:5]}"
    theirs = _rows(_hudi_rs(uri, opts))
    lost_rs = _lost(expected, theirs)
    assert lost_rs == [], f"{when}: {len(lost_rs)} lost updates (hudi-rs): " + ", ".join(
        f"{k}: expected {expected.get(k)}, read {theirs.get(k)}" for k in lost_rs[:10]
    )
    return len(expected)


def test_eight_writers_and_a_service_process_on_s3(
    load_s3: tuple[dict[str, Any], SeaweedS3], tmp_path: Path
) -> None:
    opts, server = load_s3
    uri = f"s3://{BUCKET}/load"
    hw.HudiTable.create(
        uri, SCHEMA, record_key="id", partition_by="part", ordering_field="ts",
        storage_options=opts,
    )  # fmt: skip
    stop = tmp_path / "stop"
    started = time.monotonic()
    before, cpu_before, server_before = server.requests(), _children_cpu(), server.cpu_seconds()
    limit = 120 + 30 * COMMITS  # seconds: several times what the load takes on two cores
    deadline = started + limit
    encoded = json.dumps(opts)
    writers = [
        _Process(f"writer{w}", ["writer", uri, encoded, str(w), str(COMMITS)], tmp_path)
        for w in range(WRITERS)
    ]
    service = _Process("service", ["service", uri, encoded, str(stop), str(limit)], tmp_path)
    try:
        outputs = [w.wait(deadline) for w in writers]
        writing = time.monotonic() - started
        stop.touch()
        (service_summary,) = service.wait(time.monotonic() + 300)
    finally:
        for proc in [*writers, service]:
            proc.kill()
    after = server.requests()
    counts = {k: n - before.get(k, 0) for k, n in after.items() if n > before.get(k, 0)}
    used = sum(counts.values())
    server_cpu = server.cpu_seconds() - server_before
    children_cpu = _children_cpu() - cpu_before

    model: Model = {}
    conflicts = 0
    kinds: collections.Counter[str] = collections.Counter()
    most, per_writer = 0, []
    for w, lines in enumerate(outputs):
        part, n = _model(w, lines, COMMITS)
        model |= part
        conflicts += n
        kinds.update(lines[-1]["conflicts"])
        most = max(most, lines[-1]["most_attempts"])
        per_writer.append(n)

    table = hw.HudiTable.open(uri, storage_options=opts)
    timeline = table.timeline()
    pending = [i for i in timeline if i.state is not hw.State.COMPLETED]
    assert pending == [], f"pending instants left behind: {pending}"
    live = _check_reads(uri, opts, model, "after the load")

    # Every landed write completed (on the active timeline, or archived after completing),
    # and the services ran among the writers: cleaning and archival.
    from hudiwrite.timeline.archived import read_archived
    from hudiwrite.timeline.metaclient import MetaClient

    archived = [
        (e.time, e.action)
        for e in read_archived(MetaClient.load(Storage(uri, opts)))
        if e.state is hw.State.COMPLETED
    ]
    completed = {(i.time, i.action) for i in timeline} | set(archived)
    landed = {line["instant"] for lines in outputs for line in lines if "instant" in line}
    assert len(landed) == WRITERS * COMMITS
    missing = sorted(t for t in landed if (t, "deltacommit") not in completed)
    assert missing == [], f"landed writes not completed on the timeline: {missing[:5]}"
    actions = collections.Counter(action for _, action in completed)
    assert actions["clean"] >= 1, f"no clean completed: {actions}"
    assert archived, "nothing was archived"
    services = service_summary["services"]
    assert services.get("compact:ran", 0) >= 1, f"the service process never compacted: {services}"

    # Nothing of the writers' machinery is left: heartbeats, locks, markers.
    # (SeaweedFS's filer keeps a folder as an entry of its own, listed as an empty object:
    # the folders themselves may remain, nothing in them)
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **opts)
    folders = [f"{BUCKET}/load/{f}" for f in (HEARTBEAT_DIR, LOCK_DIR, MARKER_DIR)]
    leftovers = [p for folder in folders for p in fs.find(folder) if p.rstrip("/") != folder]
    assert leftovers == [], f"left behind: {leftovers[:10]}"

    # Conflicts really happened, and were retried until each write landed (checked above).
    assert conflicts > 0, "no write conflicted: the writers did not contend"

    # Compaction is scheduled only while no write is in flight (as in Java), which eight
    # busy writers seldom allow: once they are done, one runs (unless the last commit's
    # inline compaction left no log behind), and the table still reads as the model.
    compacted = table.compact()
    compactions = actions["commit"] + len(compacted.executed)
    assert compactions >= 1, f"no compaction ran: {actions}, then {compacted}"
    table.clean()
    table.archive()
    _check_reads(uri, opts, model, "after the final compaction")
    assert all(i.state is hw.State.COMPLETED for i in table.timeline())

    print(
        f"\n{WRITERS} writers x {COMMITS} commits on S3 in {writing:.0f} s: {conflicts} "
        f"conflicts retried ({dict(kinds)}; per writer {per_writer}; at most {most} attempts "
        f"for one commit), {live} live keys, 0 lost updates; "
        f"CPU: server {server_cpu:.0f} s, writers and service {children_cpu:.0f} s; "
        f"{used} requests ({used / (WRITERS * COMMITS):.0f} per landed commit, "
        f"{used / writing:.0f}/s: {counts}); timeline {dict(actions)}, "
        f"{len(compacted.executed)} compaction(s) after the load; "
        f"service process {services}"
    )


# -- regressions the load found, made deterministic (local files) -------------------------------


def test_a_lock_released_while_claimed_is_not_taken_from_its_new_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B's put-if-absent of the commit lock fails, the holder releases it and C takes it
    before B looks at the file: B must see C's lock and back off. It used to take the
    absent file for a dead holder's and delete it, C's lock by then, and hold the lock
    together with C: two writes committed over each other, and one was lost."""
    storage = Storage(str(tmp_path))
    rel = f"{LOCK_DIR}/commit"
    holder = Heartbeat.lock(storage, "commit", 60.0)
    assert holder is not None
    real = Storage.modified
    taken: list[Heartbeat] = []

    def released_and_retaken(self: Storage, path: str) -> float | None:
        if path == rel and not taken:
            holder.release()  # the holder lets go ...
            newcomer = Heartbeat.lock(storage, "commit", 60.0)  # ... and C takes the lock
            assert newcomer is not None
            taken.append(newcomer)
            return None  # B looked when the file was absent
        return real(self, path)

    monkeypatch.setattr(Storage, "modified", released_and_retaken)
    assert Heartbeat.lock(storage, "commit", 60.0) is None  # B: held by C
    assert taken and (tmp_path / rel).exists()  # C's lock is still there
    taken[0].release()
    assert not (tmp_path / rel).exists()


def test_inserts_of_a_write_planned_after_a_later_instant_stay_visible(tmp_path: Path) -> None:
    """A write reserves its instant; before it plans, a write with a later instant merges
    inserts into the partition's file group and completes. The first write's inserts used
    to be merged into that group too, in a base file named after its own (earlier) instant:
    an older slice than the latest one, which no reader reads, and the cleaner removes."""
    schema = pa.schema([("id", pa.string()), ("ts", pa.int64()), ("p", pa.string())])
    options = hw.TableOptions(compaction_delta_commits=None, auto_clean=False, auto_archive=False)
    path = str(tmp_path / "t")
    mine = hw.HudiTable.create(
        path, schema, record_key="id", partition_by="p", ordering_field="ts", options=options
    )

    def batch(key: str) -> pa.Table:
        return pa.table({"id": [key], "ts": [1], "p": ["a"]}, schema)

    mine.upsert(batch("k0"))
    other = hw.HudiTable.open(path, options=options)
    meta = mine._meta
    real_timeline, real_reserve = meta.timeline, meta.reserve_instant
    reserved: list[str] = []
    calls: list[hw.WriteResult] = []

    def reserve(*args: Any, **kwargs: Any) -> Any:
        out = real_reserve(*args, **kwargs)
        reserved.append(out[0])
        return out

    def timeline() -> Any:
        if reserved and not calls:  # the listing the write plans from
            calls.append(other.upsert(batch("k1")))
        return real_timeline()

    meta.reserve_instant = reserve  # type: ignore[method-assign]
    meta.timeline = timeline  # type: ignore[method-assign]
    try:
        late = mine.upsert(batch("k2"))
    finally:
        meta.reserve_instant = real_reserve  # type: ignore[method-assign]
        meta.timeline = real_timeline  # type: ignore[method-assign]
    assert calls and calls[0].instant_time > late.instant_time
    rs = pa.Table.from_batches(hudi.HudiTable(path).read())
    for got in (hw.HudiTable.open(path).to_arrow(), rs):
        assert sorted(got["id"].to_pylist()) == ["k0", "k1", "k2"]


def test_a_revived_key_merged_with_new_inserts_stays_one_record(tmp_path: Path) -> None:
    """Upserting a deleted key together with new keys of its partition: the inserts used to
    be merged into the key's file group, whose new base file drops the deleted record while
    the revived one went to a log, where the index does not look; the key's next upsert then
    inserted it a second time."""
    schema = pa.schema([("id", pa.string()), ("ts", pa.int64()), ("p", pa.string())])
    options = hw.TableOptions(compaction_delta_commits=None, auto_clean=False, auto_archive=False)
    path = str(tmp_path / "t")
    table = hw.HudiTable.create(
        path, schema, record_key="id", partition_by="p", ordering_field="ts", options=options
    )

    def upsert(ids: list[str], ts: int) -> hw.WriteResult:
        n = len(ids)
        return table.upsert(pa.table({"id": ids, "ts": [ts] * n, "p": ["a"] * n}, schema))

    upsert(["k0", "k1"], 1)
    assert table.delete(pa.table({"id": ["k1"], "p": ["a"]})).num_deleted == 1
    revived = upsert(["k1", "k2"], 3)
    assert (revived.num_inserted, revived.num_updated) == (1, 1)
    again = upsert(["k1"], 4)
    assert (again.num_inserted, again.num_updated) == (0, 1)
    expected = [("k0", 1), ("k1", 4), ("k2", 3)]
    rs = pa.Table.from_batches(hudi.HudiTable(path).read())
    for got in (table.to_arrow(), rs):
        assert sorted(zip(got["id"].to_pylist(), got["ts"].to_pylist(), strict=True)) == expected


if __name__ == "__main__":
    _main(sys.argv[1:])
