"""A local S3-compatible server for the S3 tests: moto's S3 backend served on 127.0.0.1.

Like ``moto.server.ThreadedMotoServer`` (werkzeug in a daemon thread, port chosen by the OS),
with one addition: for the buckets named in ``bare_412_buckets`` a 412 response loses its
optional ``<Condition>`` element, as some S3-compatible servers send it. That lets a test see
how a client copes with a ``PreconditionFailed`` that does not say which precondition failed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

# moto is imported when a server starts, so that processes which only need the credentials
# (the load test's writers) do not pay for importing it.

__all__ = ["KEY", "REGION", "SECRET", "LocalS3", "storage_options"]

_CONDITION = re.compile(rb"<Condition>.*?</Condition>", re.DOTALL)

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
