"""The one place that touches fsspec: reads, writes, put-if-absent, listing and deletion.

Everything above this module speaks in paths relative to the table's base path, with ``/`` as
the separator. ``Storage`` turns them into the filesystem's own paths.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import posixpath
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import IO, Any

import attrs
import fsspec
import fsspec.core
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from hudiwrite.exceptions import CorruptTableError, InvalidOptionError

__all__ = ["WHOLE_READ_BYTES", "FileInfo", "Storage"]

#: Parquet files up to this size are read from object stores in a single request.
WHOLE_READ_BYTES = 8 * 1024 * 1024


@attrs.frozen
class FileInfo:
    """One listed file: its path relative to the base path and its size in bytes."""

    path: str
    size: int

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def parent(self) -> str:
        return posixpath.dirname(self.path)


class Storage:
    """A table's base location on an fsspec filesystem."""

    def __init__(self, uri: str, storage_options: Mapping[str, Any] | None = None) -> None:
        if not isinstance(uri, (str, os.PathLike)):
            raise InvalidOptionError(f"a table location is a URL or path, got {type(uri).__name__}")
        if storage_options is not None and not isinstance(storage_options, Mapping):
            raise InvalidOptionError(
                f"storage_options must be a mapping, got {type(storage_options).__name__}"
            )
        self.uri = str(uri)
        self.storage_options = dict(storage_options or {})
        try:
            fs, root = fsspec.core.url_to_fs(self.uri, **self.storage_options)
        except ImportError as exc:  # fsspec names the package the protocol needs
            raise InvalidOptionError(f"cannot open {self.uri!r}: {exc}") from exc
        except (ValueError, TypeError) as exc:  # unknown protocol, bad storage option
            raise InvalidOptionError(
                f"cannot open {self.uri!r} with fsspec (storage_options "
                f"{sorted(self.storage_options)}): {exc}"
            ) from exc
        self.fs: fsspec.AbstractFileSystem = fs
        self.root: str = root.rstrip("/") or "/"
        protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
        self._local = "file" in protocols or "local" in protocols
        self._s3 = any(p in ("s3", "s3a") for p in protocols)

    @property
    def arrow_fs(self) -> pafs.FileSystem:
        """The filesystem as pyarrow sees it, so parquet reads use pyarrow's own I/O paths."""
        cached = getattr(self, "_arrow_fs", None)
        if cached is None:
            if self._local:
                cached = pafs.LocalFileSystem()
            else:
                cached = pafs.PyFileSystem(pafs.FSSpecHandler(self.fs))
            self._arrow_fs = cached
        return cached

    # -- paths ---------------------------------------------------------------------------

    def full_path(self, rel: str) -> str:
        """The filesystem path of ``rel`` (relative to the base path)."""
        rel = rel.strip("/")
        return f"{self.root}/{rel}" if rel else self.root

    def qualified(self, rel: str) -> str:
        """``rel`` as a URL with the filesystem's scheme, the form Hudi records in metadata."""
        path = self.full_path(rel)
        protocol = str(
            self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        )
        if protocol in ("file", "local"):
            return f"file:{path}"
        return f"{protocol}://{path.lstrip('/')}"

    def _relative(self, full: str) -> str:
        full = full.rstrip("/")
        root = self.root.rstrip("/")
        if full == root:
            return ""
        prefix = root + "/" if root != "/" else "/"
        if not full.startswith(prefix):
            # fsspec may strip a leading slash or the protocol; compare without them.
            stripped = str(self.fs._strip_protocol(full)).rstrip("/")
            if stripped.startswith(prefix):
                return stripped[len(prefix) :]
            raise ValueError(f"{full!r} is outside the table at {self.root!r}")
        return full[len(prefix) :]

    def relative(self, recorded: str) -> str:
        """The table-relative path of a path Hudi recorded in metadata, with or without a
        scheme (``file:/t/p/f``, ``file:///t/p/f``, ``/t/p/f``, ``s3a://bucket/t/p/f``);
        ``ValueError`` if it lies outside the table."""
        path = recorded
        if "://" in path:
            path = path.split("://", 1)[1]
        elif path.startswith("file:"):
            path = path[len("file:") :]
        path = path.lstrip("/")
        root = self.root.strip("/")
        if root and path.startswith(root + "/"):
            return path[len(root) + 1 :]
        if not root and path:
            return path
        raise ValueError(f"{recorded!r} is outside the table at {self.root!r}")

    # -- reading ----------------------------------------------------------------------

    def read_bytes(self, rel: str) -> bytes:
        data: bytes = self.fs.cat_file(self.full_path(rel))
        return data

    def open_input(self, rel: str) -> IO[bytes]:
        """A seekable binary stream (what pyarrow.parquet wants for footer-first reads)."""
        stream: IO[bytes] = self.fs.open(self.full_path(rel), "rb")
        return stream

    def parquet_file(self, rel: str, size: int | None = None) -> pq.ParquetFile:
        """Open a parquet file for reading. On object stores a file of known size up to
        ``WHOLE_READ_BYTES`` is fetched in one GET (pyarrow's reader would HEAD it for its
        size, then GET the footer and the column chunks separately).

        Raises CorruptTableError when the file is not parquet (decode its data inside
        :func:`unreadable_as_corrupt` for the same error on a damaged body)."""
        with unreadable_as_corrupt(rel):
            if not self._local and size is not None and size <= WHOLE_READ_BYTES:
                return pq.ParquetFile(pa.BufferReader(self.read_bytes(rel)))
            return pq.ParquetFile(self.full_path(rel), filesystem=self.arrow_fs)

    def exists(self, rel: str) -> bool:
        if self._local:
            return os.path.exists(self.full_path(rel))
        return bool(self.fs.exists(self.full_path(rel)))

    def modified(self, rel: str) -> float | None:
        """Last modification time (seconds since the epoch), or None if the file is absent."""
        path = self.full_path(rel)
        try:
            if self._local:
                return os.stat(path).st_mtime
            self.fs.invalidate_cache(path)
            stamp = self.fs.modified(path)
        except FileNotFoundError:
            return None
        except NotImplementedError:
            return self._modified_from_info(path)
        return _epoch_seconds(stamp)

    def _modified_from_info(self, path: str) -> float | None:
        """For filesystems without ``modified()``: the usual time fields of ``info()``."""
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return None
        for key in ("mtime", "LastModified", "last_modified", "updated", "modified", "created"):
            value = info.get(key)
            if isinstance(value, (int, float)):
                return float(value)
            if isinstance(value, datetime.datetime):
                return _epoch_seconds(value)
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    return _epoch_seconds(datetime.datetime.fromisoformat(value))
        # A store that keeps no times: the file is as fresh as it can be judged, so a lock
        # or heartbeat left by a dead process of another host never expires there.
        return time.time()

    def list_files(self, rel: str) -> list[FileInfo]:
        """Files directly inside ``rel`` (no directories); empty if ``rel`` does not exist."""
        if self._local:
            return sorted(self._scan_local(rel, recursive=False), key=lambda f: f.path)
        try:
            entries = self.fs.ls(self.full_path(rel), detail=True, refresh=True)
        except FileNotFoundError:
            return []
        except TypeError:  # filesystems whose ls() takes no refresh flag
            try:
                entries = self.fs.ls(self.full_path(rel), detail=True)
            except FileNotFoundError:
                return []
        out = []
        for e in entries:
            if e.get("type") == "directory":
                continue
            out.append(FileInfo(self._relative(e["name"]), int(e.get("size") or 0)))
        return sorted(out, key=lambda f: f.path)

    def _scan_local(self, rel: str, *, recursive: bool) -> list[FileInfo]:
        """Local listing with ``os.scandir``: one system call per directory, where fsspec's
        local ``ls`` stats every entry through Python."""
        out: list[FileInfo] = []
        stack = [rel.strip("/")]
        while stack:
            current = stack.pop()
            try:
                with os.scandir(self.full_path(current)) as entries:
                    for entry in entries:
                        child = f"{current}/{entry.name}" if current else entry.name
                        try:
                            if entry.is_dir(follow_symlinks=False):
                                if recursive:
                                    stack.append(child)
                            elif entry.is_file():
                                out.append(FileInfo(child, entry.stat().st_size))
                        except FileNotFoundError:
                            continue  # removed by another process since the scan saw it
            except (FileNotFoundError, NotADirectoryError):
                continue
        return out

    def walk_files(self, rel: str = "") -> list[FileInfo]:
        """Every file below ``rel``, recursively, in one listing call where the store allows."""
        if self._local:
            return sorted(self._scan_local(rel, recursive=True), key=lambda f: f.path)
        self.fs.invalidate_cache()
        try:
            found = self.fs.find(self.full_path(rel), detail=True)
        except FileNotFoundError:
            return []
        out = []
        for name, e in found.items():
            if e.get("type") == "directory":
                continue
            out.append(FileInfo(self._relative(name), int(e.get("size") or 0)))
        return sorted(out, key=lambda f: f.path)

    # -- writing ----------------------------------------------------------------------

    def makedirs(self, rel: str) -> None:
        self.fs.makedirs(self.full_path(rel), exist_ok=True)

    def _drop_hadoop_checksum(self, path: str) -> None:
        """Remove the ``.<name>.crc`` that Hadoop's local filesystem keeps beside a file it
        wrote (``ChecksumFileSystem.getChecksumFile``). Spark-Hudi verifies a file against it
        on every read, so a file hudiwrite rewrites or deletes must not keep a stale one:
        Java would refuse the new ``hoodie.properties`` with a checksum error."""
        if self._local:
            crc = posixpath.join(posixpath.dirname(path), f".{posixpath.basename(path)}.crc")
            with contextlib.suppress(FileNotFoundError):
                os.remove(crc)

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write (or overwrite) a whole file."""
        path = self.full_path(rel)
        if self._local:
            self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
            self._drop_hadoop_checksum(path)
        self.fs.pipe_file(path, data)

    def replace_file(self, rel: str, data: bytes) -> None:
        """Write a whole file so that readers see the old content or the new, never a torn
        one. Local files are written aside, synced and renamed over the old one; an object
        store's PUT is atomic already."""
        path = self.full_path(rel)
        if not self._local:
            self.fs.pipe_file(path, data)
            return
        directory = posixpath.dirname(path)
        os.makedirs(directory, exist_ok=True)
        tmp = posixpath.join(directory, f".{posixpath.basename(path)}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            self._drop_hadoop_checksum(path)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def create_exclusive(self, rel: str, data: bytes) -> None:
        """Write a new file atomically; raise ``FileExistsError`` if it already exists.

        This is the commit switch: a completed instant file must appear whole, at once, and
        only once. Local files are written aside and hard-linked into place (``link`` fails if
        the name exists); S3 uses a conditional PUT (``If-None-Match: *``).
        """
        path = self.full_path(rel)
        if self._local:
            directory = posixpath.dirname(path)
            os.makedirs(directory, exist_ok=True)
            tmp = posixpath.join(directory, f".{posixpath.basename(path)}.{uuid.uuid4().hex}.tmp")
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            finally:
                os.unlink(tmp)
            self._drop_hadoop_checksum(path)  # one left by a deleted file of that name
            return
        if self._s3:
            try:
                self.fs.pipe_file(path, data, mode="create")
            except FileExistsError:
                raise
            except OSError as exc:
                if _is_precondition_failure(exc):
                    raise FileExistsError(path) from exc
                raise
            finally:
                self.fs.invalidate_cache(path)
            return
        try:
            with self.fs.open(path, "xb") as f:
                f.write(data)
        except (ValueError, NotImplementedError):
            self.fs.pipe_file(path, data, mode="create")

    @contextlib.contextmanager
    def open_output(self, rel: str) -> Iterator[IO[bytes]]:
        """A binary output stream for a new file (streamed: no need to hold it in memory)."""
        path = self.full_path(rel)
        if self._local:
            self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
            self._drop_hadoop_checksum(path)
        with self.fs.open(path, "wb") as f:
            yield f

    def delete(self, rel: str) -> None:
        """Delete one file; a missing file is not an error."""
        path = self.full_path(rel)
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)
        self._drop_hadoop_checksum(path)

    def delete_if_present(self, rel: str) -> bool:
        """Delete one file; whether it was there (Hadoop's ``FileSystem.delete`` result).
        Local files cost one call; object stores a HEAD and a DELETE, as S3A's do."""
        path = self.full_path(rel)
        if self._local:
            try:
                os.remove(path)
            except FileNotFoundError:
                return False
            self._drop_hadoop_checksum(path)
            return True
        self.fs.invalidate_cache(path)
        if not self.fs.exists(path):
            return False
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)
        return True

    def top_level_names(self) -> set[str] | None:
        """Names directly under the base path, or None when the base path does not exist."""
        path = self.full_path("")
        try:
            if not self.fs.isdir(path):
                return None
            return {posixpath.basename(e.rstrip("/")) for e in self.fs.ls(path, detail=False)}
        except FileNotFoundError:
            return None

    def delete_tree(self, rel: str) -> None:
        """Delete a directory and everything below it; missing is not an error."""
        path = self.full_path(rel)
        with contextlib.suppress(FileNotFoundError):
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)

    def remove_empty_dir(self, rel: str) -> None:
        """Remove a directory if it is empty (object stores have no empty directories)."""
        path = self.full_path(rel)
        if self._local:
            with contextlib.suppress(OSError):
                os.rmdir(path)
        else:
            with contextlib.suppress(OSError, FileNotFoundError, NotImplementedError):
                if self.fs.isdir(path) and not self.fs.ls(path):
                    self.fs.rmdir(path)

    def invalidate(self) -> None:
        """Forget cached listings (fsspec caches directory listings on object stores)."""
        self.fs.invalidate_cache()


@contextlib.contextmanager
def unreadable_as_corrupt(what: str) -> Iterator[None]:
    """Arrow's "this is not valid parquet/IPC" (``ArrowInvalid``, a ValueError) while decoding
    ``what`` becomes CorruptTableError naming it. I/O errors pass unchanged: a transient
    store failure is not corruption."""
    try:
        yield
    except pa.ArrowInvalid as exc:
        raise CorruptTableError(f"{what} is damaged or not a parquet file: {exc}") from exc


def _epoch_seconds(stamp: datetime.datetime) -> float:
    if stamp.tzinfo is None:  # fsspec's stores report UTC
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return float(stamp.timestamp())


def _is_precondition_failure(exc: BaseException) -> bool:
    """Whether an S3 error means "the object already exists" for a conditional PUT.

    s3fs maps a 412 to FileExistsError only when the response names the failed condition;
    otherwise the code sits on the botocore error it wraps. A 409 ConditionalRequestConflict
    (a concurrent conditional PUT to the same key) also means another writer got there.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        response = getattr(current, "response", None)
        if isinstance(response, dict):
            error = response.get("Error") or {}
            code = str(error.get("Code", ""))
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (412, 409):
                return True
        text = str(current)
        if "PreconditionFailed" in text or "pre-conditions you specified" in text:
            return True
        current = current.__cause__ or current.__context__
    return False
