"""Simulated process deaths inside a hudiwrite write, at each step of the commit protocol."""

from __future__ import annotations

from typing import Any

import pytest

import hudiwrite as hw
from hudiwrite.storage import Storage
from hudiwrite.timeline import metaclient
from hudiwrite.write import executor, transaction

#: Every (step, nth) ``crash_at`` knows: after the requested and inflight files, before each
#: of the first three data files, and before the completed file.
CRASH_POINTS = [
    ("after_requested", 0),
    ("after_inflight", 0),
    ("after_data_file", 0),
    ("after_data_file", 1),
    ("after_data_file", 2),
    ("before_completed", 0),
]


class Crash(BaseException):
    """A process death: not an Exception, and the write's own clean-up is disabled."""


def crash_at(monkeypatch: pytest.MonkeyPatch, step: str, nth: int = 0) -> None:
    """Make the next write die at ``step``: ``after_requested``, ``after_inflight``,
    ``after_data_file`` (before its ``nth``+1-th data file) or ``before_completed``."""
    monkeypatch.setattr(transaction._Transaction, "abort", lambda self: None)
    if step == "after_requested":
        real = metaclient.MetaClient.write_instant

        def write_instant(self: Any, instant: Any, content: bytes = b"") -> None:
            if instant.state is hw.State.INFLIGHT and instant.action == "deltacommit":
                raise Crash(step)
            real(self, instant, content)

        monkeypatch.setattr(metaclient.MetaClient, "write_instant", write_instant)
    elif step == "after_inflight":

        def run(self: Any, prepared: Any) -> Any:
            raise Crash(step)

        monkeypatch.setattr(executor.WriteExecutor, "run", run)
    elif step == "after_data_file":
        # Die when the (nth+1)-th data file is about to be written.
        count = {"n": 0}
        real_write = Storage.write_bytes
        real_open = Storage.open_output

        def tick(rel: str) -> None:
            name = rel.rsplit("/", 1)[-1]
            if ".marker." in rel or name.startswith(".hoodie"):
                return
            if count["n"] == nth + 1:
                raise Crash(step)
            count["n"] += 1

        def write_bytes(self: Any, rel: str, data: bytes) -> None:
            tick(rel)
            real_write(self, rel, data)

        def open_output(self: Any, rel: str) -> Any:
            tick(rel)
            return real_open(self, rel)

        monkeypatch.setattr(Storage, "write_bytes", write_bytes)
        monkeypatch.setattr(Storage, "open_output", open_output)
    elif step == "before_completed":

        def commit(self: Any, *args: Any) -> None:
            raise Crash(step)

        monkeypatch.setattr(transaction._Transaction, "commit", commit)
    else:  # pragma: no cover
        raise AssertionError(step)
