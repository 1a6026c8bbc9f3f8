"""Fault injection: one hudiwrite operation runs in a child process that dies at a chosen
storage call; the parent then holds the table to what the README promises after a crash.

Why it is built this way:

* A crash is a real process death (``os._exit``): no ``finally`` block, no ``except
  BaseException`` clean-up, no heartbeat removal runs, so the table is left as an OOM kill or
  a power cut leaves it, and the heartbeats and locks name a process that is really gone.
* Every public method of :class:`hudiwrite.storage.Storage` is wrapped (``STORAGE_METHODS``
  says what each one does; ``tests/test_fault_injection.py`` fails when a method is added
  without a class here), so the kill points are exactly the places where a process can stop
  between two effects on the store: before every call, after every call that changes the
  store, and, for whole-file writes, with the file torn (half its bytes) or empty.
* A dry run records the calls an operation makes; the kill points are derived from it, and a
  killed child reports the call it died at, so a call sequence that changes between runs is
  caught instead of silently testing something else. For that the operations run with one
  worker thread, and heartbeat threads (driven by the wall clock) are not counted.
* Children fork from a ``forkserver`` that imported hudiwrite, pyarrow and hudi-rs once: a
  fresh interpreter per kill point costs about a second, a fork a few milliseconds.
* The checks after a kill run in a child as well (one job per worker slot, two slots on two
  cores) against ``tests/model.TableModel``, which follows the preparation writes
  independently of hudiwrite's reader. See :func:`check_recovery` for what is checked.
* The table is prepared once per slot, at the path where that slot's jobs run, and
  restored there from a snapshot before each job: it is never moved, since pending rollback
  and clean plans hold absolute paths (a moved table cannot finish them).

``HUDIWRITE_FAULT_SWEEP=full`` runs every kill point; the default (``ci``) runs one kill
point per distinct state of the store a crash can leave, at most ``CI_POINTS`` per operation
(:func:`distinct_states`, :func:`select_points`). Add an entry to ``OPERATIONS`` for every
new operation the library gets.
"""

from __future__ import annotations

import contextlib
import copy
import io
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import os
import pickle
import re
import shutil
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Final, Literal, NoReturn

import attrs
import orjson
import pyarrow as pa
import pytest

import hudiwrite as hw
from hudiwrite.formats.logblock.frame import BlockType, HeaderKey
from hudiwrite.formats.logfile import LogFileBlock, iter_blocks
from hudiwrite.model.naming import (
    PARTITION_METAFILE,
    join_partition,
    parse_base_file_name,
    parse_log_file_name,
)
from hudiwrite.model.paths import METADATA_TABLE_DIR
from hudiwrite.model.tableconfig import Keys
from hudiwrite.read.fsview import list_all_partitions
from hudiwrite.storage import Storage
from hudiwrite.timeline.instant import Action
from hudiwrite.timeline.metaclient import MetaClient, read_table_config
from tests.crash import Crash, crash_at
from tests.helpers import hudi_rs
from tests.model import Row, TableModel, diff
from tests.workload import Layout, Workload, conform

__all__ = [
    "KILLED",
    "NOT_TORN",
    "NO_SERVICES",
    "OPERATIONS",
    "SCHEMA",
    "STORAGE_METHODS",
    "UPSERT_ROWS",
    "WRITE",
    "Call",
    "KillPoint",
    "Kind",
    "Operation",
    "Outcome",
    "Prepared",
    "SweepReport",
    "aux_plans_whole",
    "check_recovery",
    "copy_table",
    "distinct_states",
    "dry_run",
    "kill_points",
    "neutralised",
    "prepare",
    "public_storage_methods",
    "retained_files_exist",
    "run_child",
    "select_points",
    "sweep",
    "sweep_mode",
]

#: Exit status of a child that died where it was told to.
KILLED: Final = 86
#: Exit status of a child asked to tear an atomic write that wrote no temporary file (the
#: storage implementation changed: :func:`_tear_atomic` must follow it).
NOT_TORN: Final = 87

ENV: Final = "HUDIWRITE_FAULT_SWEEP"

Kind = Literal["before", "after", "torn", "empty"]

# -- what each storage method does -----------------------------------------------------------

#: Reads: a process can die before them (after them is the same as before the next call).
READ: Final = "read"
#: Writes a whole file: a process can die before, after, or halfway (torn, empty).
WRITE: Final = "write"
#: Changes the store otherwise (deletes, directories): before and after.
MUTATE: Final = "mutate"
#: Path arithmetic, no I/O: not wrapped.
PURE: Final = "pure"

STORAGE_METHODS: Final[Mapping[str, str]] = {
    "full_path": PURE,
    "qualified": PURE,
    "relative": PURE,
    "read_bytes": READ,
    "open_input": READ,
    "parquet_file": READ,
    "exists": READ,
    "modified": READ,
    "list_files": READ,
    "walk_files": READ,
    "top_level_names": READ,
    "invalidate": READ,
    "write_bytes": WRITE,
    "replace_file": WRITE,
    "create_exclusive": WRITE,
    "open_output": WRITE,
    "makedirs": MUTATE,
    "delete": MUTATE,
    "delete_if_present": MUTATE,
    "delete_tree": MUTATE,
    "remove_empty_dir": MUTATE,
}

#: Whole-file writes the store makes atomic (a temporary file renamed or linked into place):
#: a torn one leaves a torn temporary file and the target as it was.
ATOMIC_WRITES: Final = frozenset({"replace_file", "create_exclusive"})


def public_storage_methods() -> set[str]:
    """Every public method of ``Storage`` (properties excluded): what must be classified."""
    return {n for n, v in vars(Storage).items() if not n.startswith("_") and callable(v)}


@attrs.frozen
class Call:
    """One storage call of an operation, as the dry run saw it."""

    index: int
    method: str
    path: str
    #: Bytes a whole-file write wrote (None for other calls).
    size: int | None = None
    #: Whether an ``open_output`` stream was open (a file half written) during the call.
    streaming: bool = False

    @property
    def shape(self) -> str:
        """The path with instant times, file ids and write tokens blanked: what must be the
        same from run to run."""
        return _shape(self.path)

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Call:
        size = obj.get("size")
        return cls(
            int(obj["index"]),
            str(obj["method"]),
            str(obj["path"]),
            None if size is None else int(size),
            bool(obj.get("streaming")),
        )


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(-\d+)?")


def _shape(path: str) -> str:
    return re.sub(r"\d+", "#", _UUID.sub("<id>", path))


@attrs.frozen(order=True)
class KillPoint:
    """Where a child dies: at call ``index`` (0-based), in the manner of ``kind``."""

    index: int
    kind: Kind

    @property
    def label(self) -> str:
        return f"{self.kind}#{self.index}"


def kill_points(calls: Sequence[Call]) -> list[KillPoint]:
    """Every way to die during the recorded calls: before each call, after each one that
    changes the store, and torn and empty for whole-file writes of at least two bytes (an
    empty file cut in half is the empty file)."""
    out: list[KillPoint] = []
    for call in calls:
        role = STORAGE_METHODS[call.method]
        out.append(KillPoint(call.index, "before"))
        if role in (WRITE, MUTATE):
            out.append(KillPoint(call.index, "after"))
        if role == WRITE and (call.size or 0) >= 2:
            out.append(KillPoint(call.index, "torn"))
            out.append(KillPoint(call.index, "empty"))
    return out


def distinct_states(calls: Sequence[Call], points: Sequence[KillPoint]) -> list[KillPoint]:
    """One kill point per state of the store a crash can leave. A dead process leaves only
    what it wrote: dying before a call leaves what dying after the last change before it
    left, unless a file was being streamed meanwhile (its flushed part is on disk). So the
    distinct states are the one before the first call, the one after each change, the torn
    and empty writes, and those reached while a stream was open."""
    by_index = {c.index: c for c in calls}
    out = []
    for p in points:
        if p.kind != "before" or p.index == 0 or by_index[p.index].streaming:
            out.append(p)
    return out


#: Kill points each operation runs at most in CI mode (see :func:`select_points`).
CI_POINTS: Final = 40


def select_points(
    calls: Sequence[Call], points: Sequence[KillPoint], budget: int = CI_POINTS
) -> list[KillPoint]:
    """The CI sample, the same on every run: every distinct state a crash can leave
    (:func:`distinct_states`); where there are more than ``budget``, every way to die at a
    write of the timeline or of ``hoodie.properties`` (the commit protocol itself; at most
    two thirds of the budget, evenly spread) and evenly spread others, the first and the
    last state always included."""
    by_index = {c.index: c for c in calls}
    states = distinct_states(calls, points)
    if len(states) <= budget:
        return states

    def protocol(p: KillPoint) -> bool:
        call = by_index[p.index]
        if STORAGE_METHODS[call.method] not in (WRITE, MUTATE):
            return False
        directory, _, name = call.path.rpartition("/")
        return directory == ".hoodie" and (name[:1].isdigit() or name.startswith("hoodie."))

    chosen = {states[0], states[-1]}
    chosen.update(_spread([p for p in states if protocol(p)], budget * 2 // 3))
    rest = [p for p in states if p not in chosen]
    chosen.update(_spread(rest, budget - len(chosen)))
    return sorted(chosen)


def _spread(items: Sequence[KillPoint], n: int) -> list[KillPoint]:
    """``n`` items spaced evenly over ``items`` (first and last included)."""
    if n <= 0 or not items:
        return []
    if n >= len(items):
        return list(items)
    if n == 1:
        return [items[len(items) // 2]]
    step = (len(items) - 1) / (n - 1)
    return [items[round(i * step)] for i in range(n)]


def sweep_mode() -> Literal["ci", "full"]:
    value = os.environ.get(ENV, "ci").strip().lower()
    if value not in ("ci", "full"):
        raise ValueError(f"{ENV} must be 'ci' or 'full', not {value!r}")
    return "full" if value == "full" else "ci"


# -- the child: one operation under the storage wrapper --------------------------------------


class _Injector:
    """Counts the child's storage calls and dies at the planned one."""

    def __init__(self, plan: KillPoint | None, report: Path) -> None:
        self.plan = plan
        self.report = report
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.streams = 0  # open_output streams open now

    def tick(self, method: str, path: str, size: int | None = None) -> int:
        """The index of this call, or -1 for a heartbeat thread's: those beat on the wall
        clock (every ``heartbeat_interval``), so counting them would make the sequence
        depend on timing; their files are tested through the writes that create them."""
        if threading.current_thread().name.startswith("hudiwrite-heartbeat-"):
            return -1
        with self.lock:
            index = len(self.calls)
            self.calls.append(Call(index, method, path, size, self.streams > 0))
            return index

    def sized(self, index: int, size: int) -> None:
        if index >= 0:
            with self.lock:
                self.calls[index] = attrs.evolve(self.calls[index], size=size)

    def due(self, index: int, kind: Kind) -> bool:
        return self.plan is not None and self.plan == KillPoint(index, kind)

    def die(self, index: int, code: int = KILLED) -> NoReturn:
        call = self.calls[index]
        self.report.write_bytes(orjson.dumps({"killed": call.to_json()}))
        os._exit(code)

    def finish(self) -> None:
        self.report.write_bytes(orjson.dumps({"calls": [c.to_json() for c in self.calls]}))

    # -- the wrappers ----------------------------------------------------------------------

    def install(self) -> None:
        for name, role in STORAGE_METHODS.items():
            if role == PURE:
                continue
            real = getattr(Storage, name)
            if name == "open_output":
                wrapped: Any = self._open_output(real)
            elif role == WRITE:
                wrapped = self._whole_file(name, real)
            else:
                wrapped = self._plain(name, real, mutates=role == MUTATE)
            setattr(Storage, name, wrapped)

    def _plain(self, name: str, real: Callable[..., Any], *, mutates: bool) -> Callable[..., Any]:
        def call(storage: Storage, *args: Any, **kwargs: Any) -> Any:
            path = args[0] if args and isinstance(args[0], str) else str(kwargs.get("rel", ""))
            index = self.tick(name, path)
            if self.due(index, "before"):
                self.die(index)
            try:
                return real(storage, *args, **kwargs)
            finally:  # returned or raised: either way it is over
                if mutates and self.due(index, "after"):
                    self.die(index)

        return call

    def _whole_file(self, name: str, real: Callable[..., None]) -> Callable[..., None]:
        def call(storage: Storage, rel: str, data: bytes, *args: Any, **kwargs: Any) -> None:
            index = self.tick(name, rel, len(data))
            if self.due(index, "before"):
                self.die(index)
            tears: tuple[tuple[Kind, int], ...] = (("torn", len(data) // 2), ("empty", 0))
            for kind, cut in tears:
                if self.due(index, kind):
                    if name in ATOMIC_WRITES:
                        self._tear_atomic(index, real, storage, rel, data, cut)
                    real(storage, rel, data[:cut], *args, **kwargs)
                    self.die(index)
            try:
                real(storage, rel, data, *args, **kwargs)
            finally:  # returned or raised (an existing file for create_exclusive)
                if self.due(index, "after"):
                    self.die(index)

        return call

    def _tear_atomic(
        self,
        index: int,
        real: Callable[..., None],
        storage: Storage,
        rel: str,
        data: bytes,
        cut: int,
    ) -> NoReturn:
        """Die inside the real atomic write, at the moment its temporary file is synced:
        cut to ``cut`` bytes first. What stays is what a crash mid-write leaves: a torn
        temporary file under the implementation's own name, the target untouched."""

        def torn_fsync(fd: Any) -> None:
            os.ftruncate(fd if isinstance(fd, int) else fd.fileno(), cut)
            self.die(index)

        os.fsync = torn_fsync
        real(storage, rel, data)
        self.die(index, NOT_TORN)

    def _open_output(
        self, real: Callable[[Storage, str], contextlib.AbstractContextManager[Any]]
    ) -> Callable[[Storage, str], contextlib.AbstractContextManager[Any]]:
        @contextlib.contextmanager
        def open_output(storage: Storage, rel: str) -> Iterator[Any]:
            index = self.tick("open_output", rel)
            if self.due(index, "before"):
                self.die(index)
            tears: tuple[tuple[Kind, bool], ...] = (("torn", True), ("empty", False))
            for kind, half in tears:
                if self.due(index, kind):
                    buffer = io.BytesIO()
                    yield buffer
                    data = buffer.getvalue()
                    with real(storage, rel) as sink:
                        sink.write(data[: len(data) // 2] if half else b"")
                    self.die(index)
            with real(storage, rel) as sink:
                with self.lock:
                    self.streams += 1
                try:
                    yield sink
                finally:
                    with self.lock:
                        self.streams -= 1
            if index >= 0:
                self.sized(index, os.path.getsize(storage.full_path(rel)))
            if self.due(index, "after"):
                self.die(index)

        return open_output


def _quiet(log: str) -> None:
    """Send the child's output to its own file: the forkserver's descriptors belong to
    whichever test started it, and a child's traceback must reach its own report."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _child(op_name: str, table: str, plan: KillPoint | None, report: str, log: str) -> None:
    """Run one operation with the wrapper installed (the child's entry point)."""
    _quiet(log)
    injector = _Injector(plan, Path(report))
    injector.install()
    OPERATIONS[op_name].run(table)
    injector.finish()


# -- the scenarios ---------------------------------------------------------------------------

SCHEMA: Final = pa.schema(
    [("id", pa.string()), ("ts", pa.int64()), ("city", pa.string()), ("v", pa.int64())]
)
LAYOUT: Final = Layout(record_key=("id",), partition_by=("city",))
KEYS: Final = ["id", "city"]

#: Operations run with one worker thread (a reproducible call sequence) and no inline
#: services unless the scenario is about one.
NO_SERVICES: Final = hw.TableOptions(
    compaction_delta_commits=None, auto_clean=False, auto_archive=False, max_workers=1
)


def rows(spec: str, ts: int) -> list[Row]:
    """``"a:sf b:la"`` as rows (key ``a`` in partition ``sf``...) with ordering value ``ts``."""
    out: list[Row] = []
    for i, item in enumerate(spec.split()):
        key, city = item.split(":")
        out.append({"id": key, "ts": ts, "city": city, "v": ts * 100 + i})
    return out


def _arrow(data: Sequence[Row]) -> pa.Table:
    return pa.Table.from_pylist(list(data), schema=SCHEMA)


def _keys(data: Sequence[Row]) -> pa.Table:
    return _arrow(data).select(KEYS)


#: Two commits every scenario starts from: base files in two partitions, then updates that
#: put log files in both file groups.
BASE: Final = (rows("a:sf b:sf c:sf d:la e:la", 1), rows("a:sf d:la", 2))
#: The recovery write: updates in both old partitions (one of a key a killed delete may have
#: removed), inserts in an old and in a new partition.
RECOVERY: Final = rows("b:sf d:la r1:sf r2:ny e:la", 100)


def _open(table: str, options: hw.TableOptions = NO_SERVICES) -> hw.HudiTable:
    return hw.HudiTable.open(table, options=options)


def _model_upsert(data: Sequence[Row]) -> Callable[[TableModel, str], None]:
    def apply(model: TableModel, instant: str) -> None:
        model.upsert(list(data), instant)

    return apply


def _model_insert(data: Sequence[Row]) -> Callable[[TableModel, str], None]:
    def apply(model: TableModel, instant: str) -> None:
        model.insert(list(data), instant, "fail")

    return apply


def _model_delete(data: Sequence[Row]) -> Callable[[TableModel, str], None]:
    def apply(model: TableModel, instant: str) -> None:
        model.delete(list(data), instant)

    return apply


def _unchanged(model: TableModel, instant: str) -> None:
    """Table services change no record."""


def _nothing(wl: Workload) -> None:
    """No preparation beyond the two base commits."""


def _no_check(path: Path) -> list[str]:
    return []


@attrs.frozen
class Operation:
    """One operation under test: how its table is prepared, what it does, what it means to
    the model, and with which options the recovery write runs."""

    name: str
    #: Preparation after the two base commits (in the parent, through a ``Workload``).
    build: Callable[[Workload], None]
    #: The operation itself, in the child, on the table at the given path.
    run: Callable[[str], object]
    #: Its effect on the model, given its instant (for writes; services change nothing).
    apply: Callable[[TableModel, str], None] = _unchanged
    #: Whether it is a data write (a delta commit whose rows become visible or not).
    writes_data: bool = False
    #: Whether it creates the table (``write_hudi`` to a new location).
    creates_table: bool = False
    #: Options of the recovery write: what the next writer runs with.
    recovery: hw.TableOptions = NO_SERVICES
    #: Checks of its own after recovery (failures as text).
    extra_check: Callable[[Path], list[str]] = _no_check
    #: Checks of the run that was not killed: the scenario does what it is meant to.
    dry_check: Callable[[Path], list[str]] = _no_check
    #: The table version the operation runs on (its starting table is created with it).
    table_version: int = 6

    @property
    def merge(self) -> str:
        """The model's merge rule: version 8/9 tables with an ordering field are event-time
        ordered; version 6 ones use OverwriteWithLatestAvroPayload."""
        return "ordering" if self.table_version >= 8 else "latest"


def _upsert(data: Sequence[Row], options: hw.TableOptions = NO_SERVICES) -> Callable[[str], object]:
    return lambda table: _open(table, options).upsert(_arrow(data))


UPSERT_ROWS: Final = rows("a:sf e:la n1:sf n2:ny", 5)
INSERT_ROWS: Final = rows("n3:sf n4:tokyo n5:tokyo", 6)
DELETE_KEYS: Final = rows("b:sf e:la z:sf", 7)
CREATE_ROWS: Final = rows("a:sf b:sf c:la", 1)
PENDING_ROWS: Final = rows("a:sf d:la n6:sf n7:ny", 8)
METADATA_ROWS: Final = rows("a:sf d:la n8:paris", 9)
#: The write a rollback scenario leaves failed: logs in both old file groups, a merge into
#: the small file group of ``sf`` and a new partition.
FAILED_ROWS: Final = rows("a:sf d:la f1:sf f2:berlin", 50)

INLINE_ROWS: Final = rows("a:sf d:la n9:sf", 10)
_CLEAN_OPTIONS: Final = attrs.evolve(NO_SERVICES, clean_retained=1)
_INLINE_OPTIONS: Final = hw.TableOptions(
    compaction_delta_commits=3,
    clean_retained=1,
    archive_min_instants=2,
    archive_max_instants=3,
    max_workers=1,
)
_ARCHIVE_OPTIONS: Final = attrs.evolve(
    NO_SERVICES, clean_retained=1, archive_min_instants=2, archive_max_instants=3
)


def _build_clean(wl: Workload) -> None:
    """A compaction and one more commit: the slices before the compaction are cleanable."""
    wl.compact()
    wl.upsert(rows("b:sf e:la", 3))


def _build_archive(wl: Workload) -> None:
    """Six completed commits (a compaction among them) and a clean: more than
    ``archive_max_instants``, so archival has instants to move."""
    wl.compact()
    for ts in (3, 4, 5):
        wl.upsert(rows(f"b:sf e:la x{ts}:sf", ts))
    cleaned = _open(str(wl.path), _ARCHIVE_OPTIONS).clean()
    assert cleaned.instant_time is not None, "the archive scenario needs a completed clean"


def _build_failed_write(wl: Workload) -> None:
    """A write that died just before its completed file: everything else of it is there."""
    with pytest.MonkeyPatch.context() as m:
        crash_at(m, "before_completed")
        try:
            wl.table.upsert(_arrow(FAILED_ROWS))
        except Crash:
            pass
        else:  # pragma: no cover - the crash is the scenario
            raise AssertionError("the failed write did not fail")
    assert any(not i.is_completed for i in wl.table.timeline())


def _build_pending_compaction(wl: Workload) -> None:
    """A compaction plan that was scheduled and not run: the write goes to its new slices."""
    planned = wl.table.compact(plan_only=True)
    assert planned.scheduled and not planned.executed


def _then_killed(
    first: Callable[[Workload], None], name: str, method: str, kind: Kind, pattern: str
) -> Callable[[Workload], None]:
    """A build that, after ``first``, runs the operation ``name`` in a child killed at its
    first ``method`` call on a path containing ``pattern``: the starting point of an
    operation that has to finish what a crash left (a double fault once it is killed too).
    The call is found by a dry run in place, after which the table is put back."""

    def build(wl: Workload) -> None:
        first(wl)
        op = OPERATIONS[name]
        scratch = wl.path.parent / f"{wl.path.name}-interrupted"
        scratch.mkdir()
        shutil.copytree(wl.path, scratch / "snapshot")
        calls = dry_run(op, wl.path, scratch)
        call = next(c for c in calls if c.method == method and pattern in c.path)
        copy_table(scratch / "snapshot", wl.path)
        code = run_child(op, wl.path, KillPoint(call.index, kind), scratch)
        assert code == KILLED, f"preparing {name} killed at {call}: {_tail(scratch / 'child.log')}"
        shutil.rmtree(scratch)

    return build


def _build_metadata_table(wl: Workload) -> None:
    """What Spark leaves by default: ``hoodie.properties`` lists metadata partitions and
    ``.hoodie/metadata`` holds a metadata table (here a small stand-in)."""
    meta = MetaClient.load(Storage(str(wl.path)))
    meta.update_config({Keys.METADATA_PARTITIONS: "files"})
    mdt = wl.path / METADATA_TABLE_DIR
    (mdt / ".hoodie").mkdir(parents=True)
    (mdt / ".hoodie" / "hoodie.properties").write_text("hoodie.table.name=t_metadata\n")
    (mdt / "files").mkdir()
    (mdt / "files" / ".hoodie_partition_metadata").write_text("partitionDepth=1\n")
    (mdt / "files" / ".files-0000-0_00000000000000.log.1_0-0-0").write_bytes(b"#HUDI#")


def _metadata_table_removed(path: Path) -> list[str]:
    """The first write removed the metadata table and kept the rest of the config whole."""
    out = []
    config = read_table_config(Storage(str(path)))
    if config.get(Keys.METADATA_PARTITIONS):
        out.append("hoodie.properties still lists metadata partitions")
    if (path / METADATA_TABLE_DIR).exists():
        out.append(".hoodie/metadata is still there")
    if config.partition_fields != ("city",) or config.precombine_field != "ts":
        out.append(f"the config lost fields: {dict(config.props)}")
    return out


def _timeline(path: Path) -> list[hw.Instant]:
    return list(MetaClient.load(Storage(str(path))).timeline().instants)


def _ran(*actions: str) -> Callable[[Path], list[str]]:
    """A dry check: the run completed an instant of each of ``actions``."""

    def check(path: Path) -> list[str]:
        done = {i.action for i in _timeline(path) if i.is_completed}
        return [f"no completed {a} on the timeline" for a in actions if a not in done]

    return check


def _archived(path: Path) -> list[str]:
    """A dry check: an archive file was written."""
    if not list((path / ".hoodie" / "archived").glob(".commits_.archive.*")):
        return ["nothing was archived"]
    return []


def _services_ran(path: Path) -> list[str]:
    """A dry check: the write's inline services compacted, cleaned and archived."""
    return _ran(Action.COMMIT, Action.CLEAN)(path) + _archived(path)


def _archived_to_lsm(path: Path) -> list[str]:
    """A dry check (table version 9): the LSM timeline holds archived instants, none of
    which is still on the active timeline."""
    meta = MetaClient.load(Storage(str(path)))
    history = meta.history
    rows = history.load() if history is not None else []
    if not rows:
        return ["nothing was archived to the LSM timeline"]
    active = {i.time for i in meta.timeline().instants}
    still = sorted(r.instant_time for r in rows if r.instant_time in active)
    return [f"archived instants still on the active timeline: {still}"] if still else []


def _services_ran_v9(path: Path) -> list[str]:
    """A dry check: the write's inline services compacted, cleaned and archived (LSM)."""
    return _ran(Action.COMMIT, Action.CLEAN)(path) + _archived_to_lsm(path)


def _wrote_onto_the_plan(path: Path) -> list[str]:
    """The write went to the slices of the pending plan (log files on its instant)."""
    plans = [i.time for i in _timeline(path) if i.action == Action.COMPACTION]
    logs = [f.name for f in path.rglob(".*.log.*")]
    if len(plans) != 1 or not any(f"_{plans[0]}.log." in name for name in logs):
        return [f"no log file on the pending plan {plans}: {logs}"]
    return []


def _write_hudi_create(version: int) -> Callable[[str], object]:
    def run(table: str) -> object:
        return hw.write_hudi(
            table,
            _arrow(CREATE_ROWS),
            record_key="id",
            partition_by="city",
            ordering_field="ts",
            options=attrs.evolve(NO_SERVICES, table_version=version),
        )

    return run


def _completed_after_the_plan(path: Path) -> list[str]:
    """Layout 2: the write's log files are named after the write and it completed after the
    pending plan's instant, so readers put them in the plan's new slices."""
    timeline = _timeline(path)
    plans = [i.time for i in timeline if i.action == Action.COMPACTION]
    writes = [i for i in timeline if i.action == Action.DELTA_COMMIT and i.is_completed]
    last = writes[-1] if writes else None
    if len(plans) != 1 or last is None or (last.completion_time or "") <= plans[0]:
        return [f"the write did not complete after the pending plan {plans}: {last}"]
    logs = [f.name for f in path.rglob(".*.log.*")]
    if not any(f"_{last.time}.log." in name for name in logs):
        return [f"no log file named after the write {last.time}: {logs}"]
    return []


def _on_version_9(op: Operation) -> Operation:
    """The operation on a version-9 table (timeline layout 2), with the dry checks of that
    layout (archival goes to the LSM timeline)."""
    changes: dict[str, Any] = {"name": f"{op.name}_v9", "table_version": 9}
    if op.creates_table:
        changes["run"] = _write_hudi_create(9)
    if op.name == "write_during_pending_compaction":
        changes["dry_check"] = _completed_after_the_plan
    if op.name == "archive":
        changes["dry_check"] = _archived_to_lsm
    if op.name == "upsert_with_inline_services":
        changes["dry_check"] = _services_ran_v9
    return attrs.evolve(op, **changes)


#: Every operation that writes to a table. A new operation of the library gets an entry.
_ON_VERSION_6: Final[Mapping[str, Operation]] = {
    op.name: op
    for op in [
        Operation(
            "upsert",
            _nothing,
            _upsert(UPSERT_ROWS),
            _model_upsert(UPSERT_ROWS),
            writes_data=True,
        ),
        Operation(
            "insert",
            _nothing,
            lambda table: _open(table).insert(_arrow(INSERT_ROWS)),
            _model_insert(INSERT_ROWS),
            writes_data=True,
        ),
        Operation(
            "delete",
            _nothing,
            lambda table: _open(table).delete(_keys(DELETE_KEYS)),
            _model_delete(DELETE_KEYS),
            writes_data=True,
        ),
        Operation(
            "write_hudi_create",
            _nothing,
            _write_hudi_create(6),
            _model_upsert(CREATE_ROWS),
            writes_data=True,
            creates_table=True,
        ),
        Operation(
            "compaction",
            _nothing,
            lambda table: _open(table).compact(),
            # the next write runs a plan the crash left pending (inline compaction is on)
            recovery=attrs.evolve(NO_SERVICES, compaction_delta_commits=5),
            dry_check=_ran(Action.COMMIT),
        ),
        Operation(
            "clean",
            _build_clean,
            lambda table: _open(table, _CLEAN_OPTIONS).clean(),
            recovery=attrs.evolve(_CLEAN_OPTIONS, auto_clean=True),
            dry_check=_ran(Action.CLEAN),
        ),
        Operation(
            "archive",
            _build_archive,
            lambda table: _open(table, _ARCHIVE_OPTIONS).archive(),
            recovery=attrs.evolve(_ARCHIVE_OPTIONS, auto_archive=True),
            dry_check=_archived,
        ),
        Operation(
            "rollback",
            _build_failed_write,
            lambda table: _open(table).rollback_failed(),
            dry_check=_ran(Action.ROLLBACK),
        ),
        Operation(
            "write_during_pending_compaction",
            _build_pending_compaction,
            _upsert(PENDING_ROWS),
            _model_upsert(PENDING_ROWS),
            writes_data=True,
            dry_check=_wrote_onto_the_plan,
        ),
        Operation(
            "first_write_with_metadata_table",
            _build_metadata_table,
            _upsert(METADATA_ROWS),
            _model_upsert(METADATA_ROWS),
            writes_data=True,
            extra_check=_metadata_table_removed,
            dry_check=_metadata_table_removed,
        ),
        Operation(
            # the third delta commit: the write, then inline compaction, cleaning, archival
            "upsert_with_inline_services",
            _nothing,
            _upsert(INLINE_ROWS, _INLINE_OPTIONS),
            _model_upsert(INLINE_ROWS),
            writes_data=True,
            recovery=_INLINE_OPTIONS,
            dry_check=_services_ran,
        ),
        Operation(
            # a compaction that died after its first new base file, run again
            "resume_compaction",
            _then_killed(_nothing, "compaction", "open_output", "after", ".parquet"),
            lambda table: _open(table).compact(),
            recovery=attrs.evolve(NO_SERVICES, compaction_delta_commits=5),
            dry_check=_ran(Action.COMMIT),
        ),
        Operation(
            # a rollback that died after deleting its first file, run again
            "resume_rollback",
            _then_killed(_build_failed_write, "rollback", "delete", "after", ".parquet"),
            lambda table: _open(table).rollback_failed(),
            dry_check=_ran(Action.ROLLBACK),
        ),
    ]
}
#: ... and each of them again on a version-9 table (``<name>_v9``).
OPERATIONS: Final[Mapping[str, Operation]] = {
    **_ON_VERSION_6,
    **{v9.name: v9 for v9 in map(_on_version_9, _ON_VERSION_6.values())},
}


@attrs.frozen
class Prepared:
    """The table before the operation: its model and the instants on its timeline."""

    model: TableModel
    instants: frozenset[str]


def _empty_model(merge: str) -> TableModel:
    return TableModel(SCHEMA.names, LAYOUT.key_of, LAYOUT.partition_of, "ts", merge=merge)


def prepare(op: Operation, table: Path) -> Prepared:
    """Build the operation's starting table at ``table`` (in the parent)."""
    if op.creates_table:
        return Prepared(_empty_model(op.merge), frozenset())
    prep = attrs.evolve(NO_SERVICES, max_workers=2, table_version=op.table_version)
    wl = Workload(table, SCHEMA, LAYOUT, options=prep, merge=op.merge)
    for batch in BASE:
        wl.upsert(batch)
    op.build(wl)
    return Prepared(wl.model, frozenset(i.time for i in wl.table.timeline()))


# -- the checks (in a child) -----------------------------------------------------------------


def _compare(what: str, model: TableModel, got: pa.Table) -> list[str]:
    want = model.expected_snapshot()
    actual = model.actual(conform(got, SCHEMA))
    if actual == want:
        return []
    return [f"{what} differs from the model: " + diff(want, actual, model.columns)]


def neutralised(path: Path) -> list[str]:
    """No data file of an instant that never completed survives un-neutralised: its base
    files are gone, and every block it left in a log file is cancelled by a rollback
    command block (of a completed rollback) in the same file group. Logs must sit on a base
    instant that completed (or a compaction plan still pending). Instants older than the
    active timeline are archived, i.e. committed."""
    storage = Storage(str(path))
    meta = MetaClient.load(storage)
    timeline = meta.timeline()
    completed = {i.time for i in timeline.completed}
    pending_compactions = {i.time for i in timeline.pending_compactions}
    start = timeline.start_time() or ""

    def committed(instant: str) -> bool:
        return instant in completed or instant < start

    out: list[str] = []
    for partition, files in sorted(list_all_partitions(storage).items()):
        blocks: dict[tuple[str, str], set[str]] = {}  # file group -> instants of its blocks
        rolled_back: dict[tuple[str, str], set[str]] = {}
        for f in files:
            base = parse_base_file_name(f.name)
            if base is not None:
                if not committed(base.instant) and base.instant not in pending_compactions:
                    out.append(f"base file {f.path} of instant {base.instant} survives")
                continue
            log = parse_log_file_name(f.name)
            if log is None:
                continue
            if not committed(log.base_instant) and log.base_instant not in pending_compactions:
                out.append(f"log {f.path} sits on instant {log.base_instant}, never completed")
            group = (log.file_id, log.base_instant)
            for entry in iter_blocks(storage.read_bytes(f.path)):
                if not isinstance(entry, LogFileBlock):
                    continue  # a torn tail: every reader skips it
                block = entry.block
                instant = block.instant_time or ""
                if block.block_type == BlockType.COMMAND_BLOCK:
                    target = block.get(HeaderKey.TARGET_INSTANT_TIME) or ""
                    if committed(instant):
                        rolled_back.setdefault(group, set()).add(target)
                    continue
                blocks.setdefault(group, set()).add(instant)
        for group, instants in sorted(blocks.items()):
            for instant in sorted(instants):
                if not committed(instant) and instant not in rolled_back.get(group, set()):
                    out.append(
                        f"partition {partition!r}, file group {group[0]}: a block of "
                        f"{instant} (never completed) has no rollback command block"
                    )
    return out


def retained_files_exist(path: Path) -> list[str]:
    """Every file a retained commit (completed, at or after the last clean's earliest
    retained commit) wrote or wrote onto is still there."""
    storage = Storage(str(path))
    meta = MetaClient.load(storage)
    timeline = meta.timeline()
    earliest = meta.earliest_clean_retained(timeline) or ""
    out: list[str] = []
    for instant in timeline.completed:
        if instant.action not in (Action.COMMIT, Action.DELTA_COMMIT) or instant.time < earliest:
            continue
        for stat in meta.commit_metadata(instant).all_stats():
            partition = stat.partition_path or ""
            names = [stat.base_file, *stat.log_files] if stat.is_log else []
            paths = [stat.path or ""] + [join_partition(partition, n) for n in names if n]
            for rel in paths:
                if rel and not storage.exists(rel):
                    out.append(f"{instant} references {rel}, which is gone")
    return out


def aux_plans_whole(path: Path) -> list[str]:
    """Every compaction plan copy in ``.hoodie/.aux`` is the plan on the timeline, byte for
    byte: Java Hudi 0.x reads a compaction plan from ``.aux`` first
    (``HoodieActiveTimeline.readCompactionPlanAsBytes``) and falls back to the timeline only
    when the copy is missing, so a torn or empty copy fails every Spark reader that builds a
    file-system view while the plan is pending, and Spark's archiver afterwards."""
    aux = path / ".hoodie" / ".aux"
    out = []
    for copy_ in sorted(aux.glob("*.compaction.requested")):
        original = path / ".hoodie" / copy_.name
        if not original.exists():
            continue  # archived: hudiwrite's archival removes the copy too
        if copy_.read_bytes() != original.read_bytes():
            out.append(
                f".hoodie/.aux/{copy_.name} ({copy_.stat().st_size} bytes) is not the plan on "
                f"the timeline ({original.stat().st_size} bytes): Java reads the copy"
            )
    return out


@attrs.frozen
class Outcome:
    """What one kill point came to (returned by the checker as JSON)."""

    failures: tuple[str, ...] = ()
    #: "committed" when the killed operation's commit completed, else "not committed"
    #: (services: "-").
    visible: str = "-"
    #: Whether a compaction plan was still pending after the recovery write (then the
    #: harness ran ``compact()`` before the final checks).
    compacted: bool = False
    #: Files in partitions that no reader takes for data (e.g. torn temporary files).
    litter: tuple[str, ...] = ()


def _check_child(op_name: str, table: str, prepared: bytes, result: str, log: str) -> None:
    """The checker's entry point: run :func:`check_recovery`, report as JSON."""
    _quiet(log)
    try:
        outcome = check_recovery(OPERATIONS[op_name], Path(table), pickle.loads(prepared))
    except Exception:
        outcome = Outcome(failures=("checker raised: " + traceback.format_exc(limit=8),))
    Path(result).write_bytes(orjson.dumps(attrs.asdict(outcome)))


def check_recovery(op: Operation, path: Path, prepared: Prepared) -> Outcome:
    """After a kill:

    1. the table opens, and hudiwrite reads exactly the rows from before the operation or
       exactly those after it: after it if and only if its commit completed (a write is
       visible whole or not at all; both possibilities are compared); hudi-rs agrees while
       no compaction is pending (hudi-rs cannot read those slices);
    2. the next write (an upsert) succeeds, rolling back or finishing what was left;
    3. nothing is pending on the timeline; a compaction plan the recovery write leaves (its
       inline compaction is off) is run with ``compact()`` first, hudiwrite compared before;
    4. both readers return the model: the state of 1. plus the recovery rows;
    5. no data file of a failed instant survives un-neutralised (:func:`neutralised`), no
       retained commit references a missing file (:func:`retained_files_exist`), the
       compaction plan copies Java reads are whole (:func:`aux_plans_whole`), and the
       operation's own checks hold.
    """
    failures: list[str] = []
    model = prepared.model
    visible = "not committed" if op.writes_data else "-"
    if op.creates_table and not (path / ".hoodie" / "hoodie.properties").exists():
        pass  # died before the table existed: there is nothing to read yet
    else:
        table = hw.HudiTable.open(str(path), options=op.recovery)
        timeline = table.timeline()
        ours = [
            i
            for i in timeline
            if i.time not in prepared.instants and i.action == Action.DELTA_COMMIT
        ]
        if len(ours) > 1:
            failures.append(f"the operation made several delta commits: {ours}")
        before = prepared.model
        after = None
        if op.writes_data and ours:
            after = copy.deepcopy(prepared.model)
            op.apply(after, ours[0].time)
        committed = bool(ours) and ours[0].is_completed
        if committed:
            assert after is not None
            model, visible = after, "committed"
        got = table.to_arrow()
        problems = _compare(f"hudiwrite before recovery ({visible})", model, got)
        if problems:
            other = before if committed else after
            if other is not None and not _compare("", other, got):
                problems.append(
                    "its commit completed, yet its rows are not read"
                    if committed
                    else "rows of a write that never completed are read"
                )
        failures += problems
        compaction_pending = any(
            i.action == Action.COMPACTION for i in timeline if not i.is_completed
        )
        if not compaction_pending and any(i.is_completed for i in timeline):
            failures += _compare("hudi-rs before recovery", model, hudi_rs(path))
    # 2. the next write
    recovered = _recover(op, path)
    model = copy.deepcopy(model)
    model.upsert(list(RECOVERY), recovered.instant_time)
    table = hw.HudiTable.open(str(path), options=op.recovery)
    pending = [i for i in table.timeline() if not i.is_completed]
    compacted = False
    if pending:
        others = [str(i) for i in pending if i.action != Action.COMPACTION]
        if others:
            failures.append(f"pending after the recovery write: {others}")
        if len(others) < len(pending):
            failures += _compare("hudiwrite with a compaction pending", model, table.to_arrow())
            table.compact()
            compacted = True
    # 3.-5.
    left = [str(i) for i in table.timeline() if not i.is_completed]
    if left:
        failures.append(f"pending at the end: {left}")
    failures += _compare("hudiwrite after recovery", model, table.to_arrow())
    failures += _compare("hudi-rs after recovery", model, hudi_rs(path))
    failures += neutralised(path)
    failures += retained_files_exist(path)
    failures += aux_plans_whole(path)
    failures += op.extra_check(path)
    return Outcome(tuple(failures), visible, compacted, _litter(path))


def _recover(op: Operation, path: Path) -> hw.WriteResult:
    batch = _arrow(RECOVERY)
    if op.creates_table:
        return hw.write_hudi(
            str(path),
            batch,
            record_key="id",
            partition_by="city",
            ordering_field="ts",
            options=attrs.evolve(op.recovery, table_version=op.table_version),
        )
    return hw.HudiTable.open(str(path), options=op.recovery).upsert(batch)


def _litter(path: Path) -> tuple[str, ...]:
    """Files outside ``.hoodie`` that are neither data files nor partition metadata."""
    out = []
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path).as_posix()
        if not p.is_file() or rel.startswith(".hoodie/"):
            continue
        name = p.name
        if name == PARTITION_METAFILE or parse_base_file_name(name) or parse_log_file_name(name):
            continue
        out.append(rel)
    return tuple(out)


# -- the parent: prepare, dry run, kill points, checks -----------------------------------------

#: Kill points run at once (each a child, then a checker child), each in its own slot.
WORKERS: Final = max(2, min(4, os.cpu_count() or 2))


@attrs.frozen
class PointResult:
    #: None: the run that was not killed (the operation completed).
    point: KillPoint | None
    call: Call
    outcome: Outcome

    @property
    def label(self) -> str:
        if self.point is None:  # the run that was not killed, or the dry run's own check
            return "completed run" if self.call.index < 0 and self.call.method == "-" else "dry run"
        return f"{self.point.label} ({self.call.method} {self.call.path})"


@attrs.frozen
class SweepReport:
    """What the sweep of one operation did."""

    operation: str
    calls: tuple[Call, ...]
    points: tuple[KillPoint, ...]
    #: Kill points the full sweep has (``points`` is all of them or a sample).
    total_points: int
    results: tuple[PointResult, ...]
    seconds: float

    @property
    def failures(self) -> list[str]:
        return [
            f"{self.operation} {r.label}: {f}" for r in self.results for f in r.outcome.failures
        ]

    def summary(self) -> str:
        kinds = Counter(p.kind for p in self.points)
        visible = Counter(r.outcome.visible for r in self.results)
        compacted = sum(r.outcome.compacted for r in self.results)
        litter = sum(bool(r.outcome.litter) for r in self.results)
        return (
            f"{self.operation}: {len(self.calls)} storage calls, {len(self.points)} of "
            f"{self.total_points} kill points {dict(sorted(kinds.items()))}, outcomes "
            f"{dict(sorted(visible.items()))}, {compacted} compacted after recovery, "
            f"{litter} with litter, {len(self.failures)} failures, {self.seconds:.1f} s"
        )


_CONTEXT: multiprocessing.context.ForkServerContext | None = None


def _context() -> multiprocessing.context.ForkServerContext:
    """The forkserver, with everything a child needs imported once."""
    global _CONTEXT
    if _CONTEXT is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["hudiwrite", "pyarrow.parquet", "hudi", "tests.faults"])
        _CONTEXT = ctx
    return _CONTEXT


#: Seconds a child may take (an operation on these small tables takes well under one).
CHILD_TIMEOUT: Final = 300.0


def _start(target: Callable[..., None], *args: object) -> BaseProcess:
    process = _context().Process(target=target, args=args)
    process.start()
    return process


def _run(target: Callable[..., None], *args: object) -> int:
    """Run a child to its end; its exit status. Children are started and waited for from
    one thread only: ``Process.start()`` polls every running child, and two threads polling
    one forkserver child steal each other's exit status (the loser reads 255)."""
    process = _start(target, *args)
    process.join(timeout=CHILD_TIMEOUT)
    if process.is_alive():  # pragma: no cover - a hung child
        process.kill()
        process.join()
    code = process.exitcode
    assert code is not None
    return code


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-1500:]
    except FileNotFoundError:
        return "(no output)"


def copy_table(snapshot: Path, table: Path) -> None:
    """Put the prepared table back at ``table`` (nothing there, for a table the operation
    creates). Tables are restored where they were prepared, never moved: pending rollback
    and clean plans record absolute paths, as Java's do."""
    if table.exists():
        shutil.rmtree(table)
    if snapshot.exists():
        shutil.copytree(snapshot, table)
    else:
        table.parent.mkdir(parents=True, exist_ok=True)


def _child_args(
    op: Operation, table: Path, point: KillPoint | None, work: Path
) -> tuple[object, ...]:
    return (op.name, str(table), point, str(work / "report.json"), str(work / "child.log"))


def run_child(op: Operation, table: Path, point: KillPoint | None, work: Path) -> int:
    """Run the operation on ``table`` in a child that dies at ``point`` (None: it runs to
    the end); its exit status. ``work`` receives ``report.json`` and ``child.log``."""
    return _run(_child, *_child_args(op, table, point, work))


def dry_run(op: Operation, table: Path, work: Path) -> list[Call]:
    """Run the operation on ``table`` to completion under the wrapper; the calls it made."""
    code = run_child(op, table, None, work)
    if code != 0:
        raise AssertionError(
            f"{op.name}: the dry run failed ({code}):\n{_tail(work / 'child.log')}"
        )
    return [Call.from_json(c) for c in orjson.loads((work / "report.json").read_bytes())["calls"]]


@attrs.frozen
class _Slot:
    """Where one worker's kill points run: the table's path, the snapshot of the prepared
    table restored there before each job, and what the preparation there produced."""

    table: Path
    snapshot: Path
    prepared: bytes


def _slot(op: Operation, root: Path) -> _Slot:
    table = root / "t"
    prepared = pickle.dumps(prepare(op, table))
    snapshot = root / "snapshot"
    if table.exists():
        shutil.copytree(table, snapshot)
    return _Slot(table, snapshot, prepared)


@attrs.define
class _Job:
    """One kill point on its way through the two children: the operation, then the checker."""

    point: KillPoint | None
    call: Call
    work: Path
    slot: _Slot | None = None
    process: BaseProcess | None = None
    checking: bool = False
    outcome: Outcome | None = None


def _killed_as_planned(job: _Job, code: int) -> Outcome | None:
    """None if the operation's child died where it was told to (or, unkilled, finished);
    otherwise the failure."""
    want = KILLED if job.point is not None else 0
    if code != want:
        what = {0: "finished before the kill point", NOT_TORN: "wrote no temporary file"}
        tail = _tail(job.work / "child.log")
        return Outcome(failures=(f"child exited {code} ({what.get(code, 'crashed')}):\n{tail}",))
    if job.point is not None:
        died = Call.from_json(orjson.loads((job.work / "report.json").read_bytes())["killed"])
        if (died.method, died.shape) != (job.call.method, job.call.shape):
            return Outcome(
                failures=(
                    f"the call sequence changed: the dry run's call {job.call.index} was "
                    f"{job.call.method} {job.call.path}, this run's {died.method} {died.path}",
                )
            )
    return None


def _checked(job: _Job, code: int) -> Outcome:
    result = job.work / "check.json"
    if code != 0 or not result.exists():
        return Outcome(failures=(f"checker exited {code}:\n{_tail(job.work / 'check.log')}",))
    obj = orjson.loads(result.read_bytes())
    return Outcome(
        tuple(obj["failures"]), str(obj["visible"]), bool(obj["compacted"]), tuple(obj["litter"])
    )


def _finish(job: _Job, outcome: Outcome) -> None:
    """Record the outcome; keep the table of a failed job for a look, drop the rest."""
    job.outcome = outcome
    assert job.slot is not None
    if outcome.failures and job.slot.table.exists():
        shutil.copytree(job.slot.table, job.work / "t")
    elif not outcome.failures:
        shutil.rmtree(job.work)


def _run_jobs(op: Operation, slots: list[_Slot], jobs: list[_Job]) -> None:
    """Run every job, one per slot at a time, from this thread (see :func:`_run`)."""
    queue = list(reversed(jobs))
    free = list(slots)
    running: list[_Job] = []
    while queue or running:
        while queue and free:
            job = queue.pop()
            job.slot = free.pop()
            job.work.mkdir(parents=True)
            copy_table(job.slot.snapshot, job.slot.table)
            job.process = _start(_child, *_child_args(op, job.slot.table, job.point, job.work))
            running.append(job)
        by_sentinel: dict[int, _Job] = {
            j.process.sentinel: j for j in running if j.process is not None
        }
        ready = multiprocessing.connection.wait(list(by_sentinel), timeout=CHILD_TIMEOUT)
        if not ready:  # pragma: no cover - a hung child
            for j in running:
                assert j.process is not None
                j.process.kill()
            raise AssertionError(f"{op.name}: children hung at {[j.call for j in running]}")
        for sentinel in ready:
            assert isinstance(sentinel, int)  # Process.sentinel is a file descriptor
            job = by_sentinel[sentinel]
            assert job.process is not None and job.slot is not None
            job.process.join()
            code = job.process.exitcode
            assert code is not None
            running.remove(job)
            failed = None if job.checking else _killed_as_planned(job, code)
            if job.checking or failed is not None:
                _finish(job, _checked(job, code) if failed is None else failed)
                free.append(job.slot)
                continue
            job.checking = True
            job.process = _start(
                _check_child,
                op.name,
                str(job.slot.table),
                job.slot.prepared,
                str(job.work / "check.json"),
                str(job.work / "check.log"),
            )
            running.append(job)


def sweep(
    op: Operation, root: Path, mode: Literal["ci", "full"], workers: int = WORKERS
) -> SweepReport:
    """Prepare the operation's table (once per worker, each at the path its jobs use),
    dry-run it, then kill it at every chosen point (``workers`` at a time) and check each
    recovery. A run that is not killed is checked too: the completed operation must read as
    the model after it, and the dry run must have done what the scenario is about
    (``Operation.dry_check``)."""
    started = time.monotonic()
    slots = [_slot(op, root / f"slot{i}") for i in range(workers)]
    (root / "dry").mkdir(parents=True)
    calls = dry_run(op, slots[0].table, root / "dry")
    scenario = op.dry_check(slots[0].table)
    everything = kill_points(calls)
    points = everything if mode == "full" else select_points(calls, everything)
    by_index = {c.index: c for c in calls}
    jobs = [_Job(None, Call(-1, "-", "-"), root / "completed")]
    jobs += [_Job(p, by_index[p.index], root / f"k{n:04d}") for n, p in enumerate(points)]
    _run_jobs(op, slots, jobs)
    results = []
    for job in jobs:
        outcome = job.outcome
        assert outcome is not None
        if job.point is None and op.writes_data and outcome.visible != "committed":
            outcome = attrs.evolve(outcome, failures=(*outcome.failures, "not visible"))
        results.append(PointResult(job.point, job.call, outcome))
    if scenario:  # the completed run did not do what the scenario is about
        results.append(PointResult(None, Call(-1, "dry run", "-"), Outcome(tuple(scenario))))
    return SweepReport(
        op.name,
        tuple(calls),
        tuple(points),
        len(everything),
        tuple(results),
        time.monotonic() - started,
    )
