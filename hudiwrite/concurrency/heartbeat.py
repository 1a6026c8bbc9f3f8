"""Writer heartbeats: how one writer tells a running write from a crashed one.

A write keeps ``.hoodie/.heartbeat/<instant>`` fresh while it runs, as Hudi's Java writers do
with ``HoodieHeartbeatClient`` (the same folder and file name; Java writes an empty file and
reads only its modification time). A pending write whose heartbeat is missing or older than
two intervals is dead: rolling it back is safe. hudiwrite also puts its host name and process
id in the file, so that a write whose process is gone from this very host counts as dead at
once instead of after the timeout (the usual case: a service restarted after a crash).

The same kind of file, created put-if-absent, serves as a claim (an instant time being
reserved, a pending compaction being run) and as a table-wide lock under
``.hoodie/.aux/.locks/`` (commit, table services, rollback): held while it beats, taken over
once its holder is dead by the rules above. See docs/architecture.md, "Several writers".
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from types import TracebackType

import orjson

from hudiwrite.exceptions import CommitConflictError
from hudiwrite.model.paths import heartbeat_path, lock_path
from hudiwrite.storage import Storage

__all__ = [
    "COMMIT_LOCK",
    "ROLLBACK_LOCK",
    "SERVICES_LOCK",
    "TOLERABLE_MISSES",
    "Heartbeat",
    "commit_lock",
    "file_alive",
    "is_alive",
]

log = logging.getLogger(__name__)

#: Java's default ``hoodie.client.heartbeat.tolerable.misses``: a heartbeat older than this
#: many intervals is expired.
TOLERABLE_MISSES = 2


def _pid_namespace() -> str | None:
    """Linux's pid namespace of this process: two containers sharing a host name (host
    networking) have different ones, so a pid is only compared within one namespace."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _identity() -> dict[str, object]:
    return {"host": socket.gethostname(), "pidns": _pid_namespace(), "pid": os.getpid()}


class Heartbeat:
    """Context manager: beats for ``instant_time`` every ``interval`` seconds until exit.

    The file is deleted on exit whatever happened: once this process stops working on the
    instant, the instant is either completed or dead, and a dead one should be rolled back.
    """

    def __init__(
        self, storage: Storage, instant_time: str, interval: float, *, rel: str | None = None
    ) -> None:
        self._storage = storage
        self._rel = rel if rel is not None else heartbeat_path(instant_time)
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._claimed = False
        self._last_beat = float("-inf")

    @classmethod
    def claim(cls, storage: Storage, instant_time: str, interval: float) -> Heartbeat | None:
        """The heartbeat of an instant several processes may try to run (a pending
        compaction): created only if no live process beats for it; None if one does.
        Enter the returned heartbeat to keep it beating."""
        return cls._claim(cls(storage, instant_time, interval))

    @classmethod
    def lock(cls, storage: Storage, name: str, interval: float) -> Heartbeat | None:
        """A table-wide lock held by beating, like :meth:`claim`: ``.hoodie/.aux/.locks/<name>``
        (hudiwrite's own; Java writers do not look there)."""
        return cls._claim(cls(storage, name, interval, rel=lock_path(name)))

    @classmethod
    def acquire(cls, storage: Storage, name: str, interval: float) -> Heartbeat | None:
        """:meth:`lock`, waiting while a live process holds it: at most until a holder that
        stopped beating would have expired (then it is taken over); None after that."""
        deadline = time.monotonic() + interval * TOLERABLE_MISSES + 10.0
        pause = 0.01
        while True:
            lock = cls.lock(storage, name, interval)
            if lock is not None or time.monotonic() > deadline:
                return lock
            time.sleep(pause)
            pause = min(pause * 2, 0.25)

    @classmethod
    def _claim(cls, beat: Heartbeat) -> Heartbeat | None:
        storage, interval = beat._storage, beat._interval
        for _ in range(2):
            try:
                storage.create_exclusive(beat._rel, beat._content())
            except FileExistsError:
                alive = _liveness(storage, beat._rel, interval)
                if alive:
                    return None
                if alive is None:
                    # Released since the create failed: try again. Never delete here: the
                    # file may be a new holder's by now (deleting it let two processes
                    # hold the commit lock at once, and both commit writes that conflict).
                    continue
                storage.delete(beat._rel)  # a dead runner's: take over
                continue
            beat._claimed = True
            beat._last_beat = time.monotonic()
            return beat
        return None  # another process took it over between our delete and create

    def release(self) -> None:
        """Give up a claim that was never entered (its file is deleted if still ours)."""
        if self._claimed and self._still_ours():
            self._storage.delete(self._rel)
        self._claimed = False

    def _content(self) -> bytes:
        return orjson.dumps({"writer": "hudiwrite", **_identity()})

    def _beat(self) -> None:
        self._storage.write_bytes(self._rel, self._content())
        self._last_beat = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._beat()
            except Exception as exc:  # keep beating; the next beat may succeed
                log.warning("could not refresh heartbeat %s: %s", self._rel, exc)

    def __enter__(self) -> Heartbeat:
        if not self._claimed:
            self._beat()
        self._thread = threading.Thread(
            target=self._run, name=f"hudiwrite-heartbeat-{self._rel}", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            if self._claimed and not self._still_ours():
                return  # we stalled, and another process took the claim over: its file now
            self._storage.delete(self._rel)
        except OSError as err:  # an expired heartbeat is as good as a deleted one
            log.warning("could not delete heartbeat %s: %s", self._rel, err)

    def _still_ours(self) -> bool:
        """Whether the file is still this process's. A file beaten less than one interval
        ago cannot have been taken over (that needs two intervals without a beat), so the
        store is only asked after a stall."""
        if time.monotonic() - self._last_beat < self._interval:
            return True
        try:
            return bool(self._storage.read_bytes(self._rel) == self._content())
        except FileNotFoundError:
            return False


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False  # exists (owned by someone else) or cannot tell: assume alive
    return False


def is_alive(
    storage: Storage, instant_time: str, interval: float, now: float | None = None
) -> bool:
    """Whether a live writer may still be working on ``instant_time``."""
    return file_alive(storage, heartbeat_path(instant_time), interval, now)


def file_alive(storage: Storage, rel: str, interval: float, now: float | None = None) -> bool:
    """Whether the heartbeat (or lock) file ``rel`` is kept by a live process."""
    return bool(_liveness(storage, rel, interval, now))


def _liveness(storage: Storage, rel: str, interval: float, now: float | None = None) -> bool | None:
    """:func:`file_alive`, with None when the file is absent (one look at the store)."""
    modified = storage.modified(rel)
    if modified is None:
        return None
    now = time.time() if now is None else now
    if now - modified > interval * TOLERABLE_MISSES:
        return False
    with contextlib.suppress(Exception):  # Java's heartbeats are empty: judged by age only
        owner = orjson.loads(storage.read_bytes(rel))
        me = _identity()
        pid = owner.get("pid") if isinstance(owner, dict) else None
        if (
            isinstance(pid, int)
            and owner.get("host") == me["host"]
            and owner.get("pidns") == me["pidns"]
            and pid != me["pid"]
            and _process_gone(pid)
        ):
            return False
    return True


#: The lock a write holds from its conflict check to its completed file, and compaction
#: scheduling while it plans.
COMMIT_LOCK = "commit"
#: The lock of the process scheduling compactions, cleaning or archiving.
SERVICES_LOCK = "table-services"
#: The lock held while failed writes are rolled back.
ROLLBACK_LOCK = "rollback"


@contextlib.contextmanager
def commit_lock(storage: Storage, interval: float) -> Iterator[None]:
    """Hold :data:`COMMIT_LOCK` (waiting for it); ``CommitConflictError`` if it stays taken."""
    lock = Heartbeat.acquire(storage, COMMIT_LOCK, interval)
    if lock is None:
        raise CommitConflictError(
            "another process holds the table's commit lock and keeps it alive; try again later"
        )
    with lock:
        yield
