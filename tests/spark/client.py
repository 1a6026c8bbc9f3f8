"""The test process's side of a Spark-Hudi worker (``tests.spark.worker``).

``SparkHudi(label)`` starts a worker process for one Hudi release: its JVM starts in the
background while the caller goes on, and the first request waits for it. Requests are
answered in order; a Java exception becomes a ``SparkError`` carrying Java's message.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tests.spark.jars import ALL_RELEASES, HudiRelease, jar_path

#: Seconds one request may take before the worker is taken for hung.
REQUEST_TIMEOUT = float(os.environ.get("HUDIWRITE_SPARK_TIMEOUT", "600"))


class SparkError(RuntimeError):
    """Spark (or Hudi inside it) raised: ``java_class`` and Java's message."""

    def __init__(self, java_class: str, message: str, trace: str) -> None:
        super().__init__(f"{java_class}: {message}\n--- worker traceback ---\n{trace}")
        self.java_class = java_class
        self.message = message


class SparkUnavailableError(RuntimeError):
    """Spark could not start: no Java, no pyspark, or no jar. Never a reason to skip."""


def _check_java() -> None:
    java_home = os.environ.get("JAVA_HOME")
    java = Path(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise SparkUnavailableError("no Java found (JAVA_HOME or java on PATH): Spark needs 17")


class SparkHudi:
    """One Spark session with one Hudi bundle, in a worker process."""

    def __init__(self, label: str) -> None:
        self.release: HudiRelease = ALL_RELEASES[label]
        self.label = label
        try:
            import pyspark  # noqa: F401
        except ImportError as exc:
            raise SparkUnavailableError(
                "pyspark is not installed: pip install -e '.[test]' installs pyspark==3.5.*"
            ) from exc
        _check_java()
        jar = jar_path(label)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"hudiwrite-spark-{label}-"))
        self.log_path = self.workdir / "worker.log"
        self._log = self.log_path.open("wb")
        env = dict(os.environ)
        env.setdefault("PYSPARK_PYTHON", sys.executable)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.spark.worker", str(jar), str(self.workdir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            text=True,
        )
        self._lock = threading.Lock()
        self._ready: dict[str, Any] | None = None
        self._names = itertools.count()

    # -- protocol -------------------------------------------------------------------------

    def _log_tail(self) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace")
        lines = [ln for ln in text.splitlines() if not ln.startswith("\tat ")]
        return "\n".join(lines[-40:])

    def _read_answer(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self._proc.stdout.readline()))  # type: ignore[union-attr]
        reader.daemon = True
        reader.start()
        reader.join(REQUEST_TIMEOUT)
        if reader.is_alive():
            self._proc.kill()
            raise SparkUnavailableError(
                f"Spark-Hudi {self.release.version} did not answer in {REQUEST_TIMEOUT:.0f} s; "
                f"log tail:\n{self._log_tail()}"
            )
        if not result or not result[0]:
            raise SparkUnavailableError(
                f"the Spark-Hudi {self.release.version} worker exited "
                f"(code {self._proc.poll()}); log tail:\n{self._log_tail()}"
            )
        answer: dict[str, Any] = json.loads(result[0])
        return answer

    def _wait_ready(self) -> None:
        if self._ready is None:
            self._ready = self._read_answer()
            if not self._ready.get("ok"):
                raise SparkUnavailableError(
                    f"Spark-Hudi {self.release.version} did not start: {self._ready}; "
                    f"log tail:\n{self._log_tail()}"
                )

    def request(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            self._wait_ready()
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            answer = self._read_answer()
        if not answer.get("ok"):
            raise SparkError(answer["error"], answer["message"], answer.get("traceback", ""))
        return answer

    def _out(self, suffix: str) -> Path:
        return self.workdir / f"r{next(self._names)}.{suffix}"

    def _table(self, **request: Any) -> pa.Table:
        out = self._out("arrow")
        self.request(out=str(out), **request)
        try:
            with pa.memory_map(str(out)) as source:
                return pa.ipc.open_file(source).read_all()
        finally:
            out.unlink(missing_ok=True)

    # -- what tests call ------------------------------------------------------------------

    @property
    def spark_version(self) -> str:
        self._wait_ready()
        assert self._ready is not None
        return str(self._ready["version"])

    def read(
        self,
        path: str | Path,
        options: Mapping[str, str] | None = None,
        columns: list[str] | None = None,
    ) -> pa.Table:
        """``spark.read.format("hudi").options(...).load(path)`` as an Arrow table."""
        return self._table(op="read", path=str(path), options=dict(options or {}), columns=columns)

    def snapshot(self, path: str | Path) -> pa.Table:
        return self.read(path)

    def read_optimized(self, path: str | Path) -> pa.Table:
        return self.read(path, {"hoodie.datasource.query.type": "read_optimized"})

    def incremental(self, path: str | Path, begin: str, end: str | None = None) -> pa.Table:
        """Records changed by commits after ``begin`` up to ``end`` (inclusive)."""
        options = {
            "hoodie.datasource.query.type": "incremental",
            "hoodie.datasource.read.begin.instanttime": begin,
        }
        if end is not None:
            options["hoodie.datasource.read.end.instanttime"] = end
        return self.read(path, options)

    def as_of(self, path: str | Path, instant: str) -> pa.Table:
        return self.read(path, {"as.of.instant": instant})

    def sql(self, query: str) -> pa.Table:
        """Run one Spark SQL statement (``call ...`` procedures too) and return its rows."""
        return self._table(op="sql", query=query)

    def write(
        self,
        path: str | Path,
        data: pa.Table,
        options: Mapping[str, str],
        mode: str = "append",
    ) -> None:
        """A datasource write of ``data`` (handed over as a parquet file) with ``options``."""
        staged = self._out("parquet")
        pq.write_table(data, staged)
        try:
            self.request(
                op="write", path=str(path), input=str(staged), options=dict(options), mode=mode
            )
        finally:
            staged.unlink(missing_ok=True)

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.write(json.dumps({"op": "stop"}) + "\n")
                self._proc.stdin.flush()
                self._proc.wait(60)
            except Exception:
                self._proc.kill()
                self._proc.wait(60)
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a dead worker: unflushed input is moot
                    pipe.close()
        self._log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
