"""File names of a Hudi table: file-group ids, write tokens, base files, log files, markers.

Each pattern lives here and nowhere else (protocol §4). File ids and write tokens must not
contain ``_`` or ``.``: Java splits base-file names on ``_`` and log-file names on ``.``.
"""

from __future__ import annotations

import re
import secrets
import threading
import uuid

import attrs

__all__ = [
    "ARCHIVE_WRITE_TOKEN",
    "PARTITION_METAFILE",
    "BaseFileName",
    "LogFileName",
    "WriteTokens",
    "archive_file_name",
    "archive_file_version",
    "base_file_name",
    "join_partition",
    "log_file_name",
    "marker_name",
    "new_file_id",
    "parse_base_file_name",
    "parse_log_file_name",
    "partition_depth",
    "partition_metadata_commit",
    "partition_metadata_text",
    "split_marker_name",
]

#: Written in every partition directory; partition discovery by listing looks for it.
PARTITION_METAFILE = ".hoodie_partition_metadata"
#: Its key for the instant that created the partition (HoodiePartitionMetadata.COMMIT_TIME_KEY).
_PARTITION_COMMIT_KEY = "commitTime"
#: Version of the first log file of a (file group, base instant) pair (LOGFILE_BASE_VERSION).
LOG_BASE_VERSION = 1

_BASE_FILE = re.compile(r"^([a-zA-Z0-9-]+)_([a-zA-Z0-9-]+)_([0-9]+)(\.[a-zA-Z0-9]+)$")
_LOG_FILE = re.compile(r"^\.(.+)_(.*)\.(log|archive)\.(\d+)(_((\d+)-(\d+)-(\d+))(.cdc)?)?$")


def new_file_id() -> str:
    """A new file-group id: a random UUID and the per-writer counter ``-0``."""
    return f"{uuid.uuid4()}-0"


@attrs.frozen
class BaseFileName:
    file_id: str
    write_token: str
    instant: str
    extension: str

    @property
    def name(self) -> str:
        return base_file_name(self.file_id, self.write_token, self.instant, self.extension)


@attrs.frozen(order=False)
class LogFileName:
    file_id: str
    base_instant: str
    version: int
    write_token: str
    extension: str = "log"
    suffix: str = ""

    @property
    def name(self) -> str:
        return log_file_name(self.file_id, self.base_instant, self.version, self.write_token)

    @property
    def sort_key(self) -> tuple[str, int, str, str]:
        """Java's log-file order within a slice: base instant, version, write token, suffix."""
        return (self.base_instant, self.version, self.write_token, self.suffix)


def base_file_name(
    file_id: str, write_token: str, instant: str, extension: str = ".parquet"
) -> str:
    return f"{file_id}_{write_token}_{instant}{extension}"


def log_file_name(file_id: str, base_instant: str, version: int, write_token: str) -> str:
    return _log_pattern(file_id, base_instant, "log", version, write_token)


def _log_pattern(file_id: str, base: str, extension: str, version: int, token: str) -> str:
    # HoodieLogFile / FSUtils.makeLogFileName: .<fileId>_<baseCommit>.<ext>.<version>_<token>
    return f".{file_id}_{base}.{extension}.{version}_{token}"


#: File id and extension of the archived timeline's log files (HoodieTimelineArchiver opens
#: its writer with ``withFileId("commits").withFileExtension(".archive").overBaseCommit("")``).
_ARCHIVE_FILE_ID = "commits"
_ARCHIVE_EXTENSION = "archive"
#: ``HoodieLogFormat.UNKNOWN_WRITE_TOKEN``: the archiver's writer has no task, hence Java's
#: names ``.commits_.archive.N_1-0-1``.
ARCHIVE_WRITE_TOKEN = "1-0-1"


def archive_file_name(version: int, write_token: str = ARCHIVE_WRITE_TOKEN) -> str:
    """``.commits_.archive.<N>_<token>``: the log-file pattern with an empty base commit."""
    return _log_pattern(_ARCHIVE_FILE_ID, "", _ARCHIVE_EXTENSION, version, write_token)


def archive_file_version(name: str) -> int | None:
    """The ``N`` of an archived-timeline file name (Java's ARCHIVE_FILE_PATTERN
    ``^\\.commits_\\.archive\\.([0-9]+).*``), or None for other files."""
    m = _LOG_FILE.match(name)
    if m is None or m.group(3) != _ARCHIVE_EXTENSION:
        return None
    if m.group(1) != _ARCHIVE_FILE_ID or m.group(2):
        return None
    return int(m.group(4))


def parse_base_file_name(name: str) -> BaseFileName | None:
    m = _BASE_FILE.match(name)
    if m is None:
        return None
    return BaseFileName(m.group(1), m.group(2), m.group(3), m.group(4))


def parse_log_file_name(name: str) -> LogFileName | None:
    m = _LOG_FILE.match(name)
    if m is None or m.group(3) != "log":
        return None
    return LogFileName(
        file_id=m.group(1),
        base_instant=m.group(2),
        version=int(m.group(4)),
        write_token=m.group(6) or "",
        extension=m.group(3),
        suffix=m.group(10) or "",
    )


_MARKER = ".marker."


def marker_name(data_file_name: str, io_type: str) -> str:
    """Direct-marker file name: ``<data file>.marker.<CREATE|MERGE|APPEND>`` (protocol §8.5)."""
    return f"{data_file_name}{_MARKER}{io_type}"


def split_marker_name(name: str) -> tuple[str, str] | None:
    """(data file name, IO type) of a direct-marker file name; None for other files."""
    if _MARKER not in name:
        return None
    data_file_name, io_type = name.rsplit(_MARKER, 1)
    return data_file_name, io_type


class WriteTokens:
    """Issues write tokens ``<task>-<stage>-<attempt>`` for the files of one write.

    Java derives them from Spark task ids; here ``task`` counts the files of the write and
    ``stage`` is random per write, so two concurrent writers that pick the same log version
    of the same file group still produce different names.
    """

    def __init__(self) -> None:
        self.stage = 1 + secrets.randbelow(2**30)
        self._next = 0
        self._lock = threading.Lock()

    def next(self) -> tuple[int, str]:
        """The next task number and its token (thread-safe: files are written in parallel)."""
        with self._lock:
            task = self._next
            self._next += 1
        return task, f"{task}-{self.stage}-{task}"


def partition_depth(partition: str) -> int:
    """Number of ``/``-separated levels of a partition path (0 for the base path)."""
    return len(partition.split("/")) if partition else 0


def partition_metadata_text(instant: str, partition: str, now_java: str) -> bytes:
    """Content of ``.hoodie_partition_metadata`` (protocol §1.3); ``now_java`` is the
    ``Date.toString()`` comment line Java writes."""
    text = (
        "#partition metadata\n"
        f"#{now_java}\n"
        f"{_PARTITION_COMMIT_KEY}={instant}\n"
        f"partitionDepth={partition_depth(partition)}\n"
    )
    return text.encode("latin-1")


def partition_metadata_commit(data: bytes) -> str | None:
    """The ``commitTime`` a ``.hoodie_partition_metadata`` file records (the write that
    created the partition), or None when the file has none. Java stores it as a properties
    file (``HoodiePartitionMetadata``); the text form is read here, latin-1 like Java."""
    for line in data.decode("latin-1").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.strip() == _PARTITION_COMMIT_KEY:
            return value.strip()
    return None


def join_partition(partition: str, name: str) -> str:
    """Relative path of a file in a partition (the base path when non-partitioned)."""
    return f"{partition}/{name}" if partition else name
