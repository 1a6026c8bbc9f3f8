"""The archived timeline of table versions 8 and 9 (timeline layout 2): Hudi 1.x's LSM timeline.

Java's ``TimelineArchiverV2`` moves old instants of a 1.x table out of the active timeline into
``.hoodie/<hoodie.timeline.path>/<hoodie.timeline.history.path>/`` (default
``.hoodie/timeline/history/``, ``TimelinePathProviderV2.getTimelineHistoryPath``; the layout's
``TableLayout.history_dir`` owns the path, ``Keys.HISTORY_PATH`` the key), which
``LSMTimelineWriter`` keeps as a small LSM tree (``LSMTimeline`` describes it):

* data files ``<min>_<max>_<level>.parquet`` (``LSMTimeline.ARCHIVE_FILE_PATTERN``
  ``^(\\d+)_(\\d+)_(\\d)\\.parquet``), written by Java's parquet Avro writer: one row per
  archived instant, a ``HoodieLSMTimelineInstant`` record (:class:`LsmInstant`). A new batch is
  a level-0 file named after the first and the last *instant time* of the batch (not the
  completion time: checked on files Spark-Hudi 1.2 wrote); a compaction of files of level L is
  named after the smallest min and the largest max of its inputs, at level L+1;
* ``manifest_<N>`` (:class:`LsmManifest`): the files of snapshot version N, as JSON written by
  Jackson's default pretty printer (``HoodieLSMTimelineManifest.toJsonString``);
* ``_version_``: the current snapshot version N as decimal text, no newline
  (``LSMTimelineWriter.updateVersionFile``). Readers that cannot read it take the highest
  ``manifest_N`` (``LSMTimeline.latestSnapshotVersion``).

The byte codecs (:func:`encode_lsm_file`, :func:`decode_lsm_table`, :meth:`LsmManifest.to_json`,
:meth:`LsmManifest.from_json`, :func:`lsm_instant`) do no I/O; :class:`LsmTimeline` reads and
writes one history folder through :class:`~hudiwrite.storage.Storage`, in Java's order;
:class:`CompletionLookup` gives readers the completion times of archived instants. Which
instants to archive, and deleting them from the active timeline, are the archival service's.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from hudiwrite.exceptions import CorruptTableError
from hudiwrite.formats.hudi_avro_schemas import decode_commit_metadata
from hudiwrite.formats.parquet import AVRO_SCHEMA_KEY, WRITER_MODEL_KEY, writer_properties
from hudiwrite.storage import Storage, unreadable_as_corrupt
from hudiwrite.timeline.instant import Action
from hudiwrite.timeline.layout import AVRO_MAGIC, TableLayout
from hudiwrite.timeline.metadata import CommitMetadata

__all__ = [
    "INSTANT_VERSION",
    "LSM_INSTANT_SCHEMA",
    "CompletionLookup",
    "LsmFileEntry",
    "LsmFileName",
    "LsmInstant",
    "LsmMaintenance",
    "LsmManifest",
    "LsmSettings",
    "LsmTimeline",
    "TimeRange",
    "compacted_file_name",
    "decode_lsm_file",
    "decode_lsm_table",
    "encode_lsm_file",
    "lsm_instant",
]

log = logging.getLogger("hudiwrite")

#: ``LSMTimeline.LSM_TIMELINE_INSTANT_VERSION_1``: the ``version`` of every row Java writes.
INSTANT_VERSION: Final = 1

#: The writer schema Java embeds as ``parquet.avro.schema``: the generated class's schema
#: (``HoodieLSMTimelineInstant.getClassSchema().toString()``, taken from the 1.2.0 bundle; the
#: same text is in the files Spark-Hudi 1.2 writes).
LSM_INSTANT_SCHEMA: Final = (
    '{"type":"record","name":"HoodieLSMTimelineInstant","namespace":"org.apache.hudi.avro.model",'
    '"fields":[{"name":"instantTime","type":["null",{"type":"string","avro.java.string":"String"}],'
    '"default":null},{"name":"completionTime","type":["null",{"type":"string",'
    '"avro.java.string":"String"}],"default":null},{"name":"action","type":["null",'
    '{"type":"string","avro.java.string":"String"}],"default":null},{"name":"metadata",'
    '"type":["null","bytes"],"default":null},{"name":"plan","type":["null","bytes"],'
    '"default":null},{"name":"version","type":"int","default":1}]}'
)

# The parquet schema parquet-mr's AvroSchemaConverter makes of it: optional binary (String)
# for the nullable strings, optional binary for the nullable bytes, required int32 for the
# int. (Java's message is named after the record's full name; pyarrow always names it
# "schema", which no reader looks at: AvroReadSupport reads parquet.avro.schema.)
_ARROW_SCHEMA: Final = pa.schema(
    [
        pa.field("instantTime", pa.string()),
        pa.field("completionTime", pa.string()),
        pa.field("action", pa.string()),
        pa.field("metadata", pa.binary()),
        pa.field("plan", pa.binary()),
        pa.field("version", pa.int32(), nullable=False),
    ]
)
#: The footer's key-value metadata: what parquet-mr's AvroWriteSupport writes (Java's readers
#: take the writer schema from parquet.avro.schema).
_FOOTER: Final = {AVRO_SCHEMA_KEY: LSM_INSTANT_SCHEMA, WRITER_MODEL_KEY: "avro"}
#: Parquet Avro files Java writes for the timeline are gzip-compressed
#: (``hoodie.parquet.compression.codec`` default), footer format version 1.
_COMPRESSION: Final = "gzip"
_FORMAT_VERSION: Final = "1.0"

# LSMTimeline: VERSION_FILE_NAME, MANIFEST_FILE_PREFIX, TEMP_FILE_SUFFIX, ARCHIVE_FILE_PATTERN.
_VERSION_FILE: Final = "_version_"
_MANIFEST_PREFIX: Final = "manifest_"
_TEMP_SUFFIX: Final = ".tmp"
_FILE_PATTERN: Final = re.compile(r"^(\d+)_(\d+)_(\d)\.parquet$")
_PARQUET_SUFFIX: Final = ".parquet"
_JAVA_INT: Final = re.compile(r"[+-]?[0-9]+")

#: LSMTimelineWriter.FILE_LAYER_ZERO: the level of a freshly archived batch.
_LEVEL_ZERO: Final = 0

_PAYLOAD_COLUMNS: Final = ("metadata", "plan")


# ---------------------------------------------------------------------------------------------
# settings


@attrs.frozen
class LsmSettings:
    """LSMTimelineWriter's knobs (HoodieArchivalConfig, defaults of Hudi 1.2.0).

    * ``compaction_batch_size``: ``hoodie.timeline.compaction.batch.size`` (10): a level is
      compacted once it holds this many files, at most this many at a time;
    * ``compaction_max_bytes``: ``hoodie.timeline.compaction.target.file.max.bytes``
      (1,048,576,000): a compaction stops adding inputs once they exceed this size;
    * ``manifest_retained_versions``: ``hoodie.timeline.manifest.retained.versions`` (3, new in
      1.2.0; 1.0 and 1.1 keep the same 3 fixed): snapshot versions kept by the clean that
      follows every archival, plus one per compaction that run made.
    """

    compaction_batch_size: int = 10
    compaction_max_bytes: int = 1_048_576_000
    manifest_retained_versions: int = 3

    def __attrs_post_init__(self) -> None:
        if self.compaction_batch_size < 1 or self.manifest_retained_versions < 1:
            raise ValueError(f"LSM settings must be positive: {self}")


# ---------------------------------------------------------------------------------------------
# one archived instant


@attrs.frozen
class LsmInstant:
    """One ``HoodieLSMTimelineInstant`` row: an archived instant.

    ``action`` is the completed instant's action (a compaction is a ``commit``, clustering a
    ``replacecommit``, a log compaction a ``deltacommit``); ``metadata`` the completed instant
    file's bytes (None when it was empty); ``plan`` the bytes of the plan where the action has
    one (:func:`lsm_instant` says which). Java's schema lets every field but ``version`` be
    null; Java's readers fail on a null ``completionTime`` or ``action``
    (ArchivedTimelineV2.readCommit calls ``toString`` on both), so hudiwrite never writes one.
    """

    instant_time: str
    completion_time: str | None
    action: str | None
    metadata: bytes | None = None
    plan: bytes | None = None
    version: int = INSTANT_VERSION

    def commit_metadata(self) -> CommitMetadata | None:
        """The commit metadata of an archived (delta/replace) commit, from ``metadata`` (an
        Avro container as layout 2 writes it, or the JSON of a legacy file); None when the
        completed file was empty. Raises CorruptTableError when the bytes do not parse."""
        data = self.metadata
        if not data:
            return None
        where = f"the archived metadata of {self.instant_time} ({self.action})"
        if data.startswith(AVRO_MAGIC):
            return CommitMetadata.from_json_obj(decode_commit_metadata(data), where)
        return CommitMetadata.from_json_bytes(data, where)

    def to_row(self) -> dict[str, Any]:
        """The row as it is stored, keyed by Java's field names."""
        return {
            "instantTime": self.instant_time,
            "completionTime": self.completion_time,
            "action": self.action,
            "metadata": self.metadata,
            "plan": self.plan,
            "version": self.version,
        }


def lsm_instant(
    instant_time: str,
    completion_time: str,
    action: str,
    completed: bytes,
    *,
    pending_action: str | None = None,
    requested: bytes | None = None,
    inflight: bytes | None = None,
) -> LsmInstant:
    """The row Java archives for one instant (MetadataConversionUtils.createLSMTimelineInstant).

    ``action`` is the completed file's action, ``completed`` its bytes; ``pending_action`` the
    action of the requested and inflight files (``compaction`` for a compaction that completed
    as a ``commit``; defaults to ``action``); ``requested`` and ``inflight`` their bytes, or
    None when the file is not there. Per pending action (ActiveAction):

    * every action: ``metadata`` = the completed file's bytes, None if empty;
    * ``clean``: ``plan`` = the bytes of the requested file, else of the inflight one
      (``readCleanerInfoAsBytes(getPendingInstant())``, taken even when empty);
    * ``replacecommit`` / ``clustering``: ``plan`` = the requested file if not empty, replaced
      by the inflight file if that is not empty (Java sets both in turn, the inflight last);
    * ``compaction`` / ``logcompaction``: ``plan`` = the requested file (the plan);
    * everything else (``deltacommit``, ``commit``, ``rollback``, ``savepoint``, ...): no plan.
      A delta commit's plan is null: its requested file is empty, its inflight file holds
      the workload profile, and Java archives neither.

    ``version`` is :data:`INSTANT_VERSION`.
    """
    pending = pending_action or action
    plan: bytes | None = None
    if pending == Action.CLEAN:
        plan = requested if requested is not None else inflight
    elif pending in (Action.REPLACE_COMMIT, Action.CLUSTERING):
        if requested:
            plan = requested
        if inflight:
            plan = inflight
    elif pending in (Action.COMPACTION, Action.LOG_COMPACTION):
        plan = requested
    return LsmInstant(
        instant_time=instant_time,
        completion_time=completion_time,
        action=action,
        metadata=completed or None,
        plan=plan,
    )


# ---------------------------------------------------------------------------------------------
# data files


@attrs.frozen(order=True)
class LsmFileName:
    """The name of a data file: ``<min>_<max>_<level>.parquet`` (LSMTimeline)."""

    min_instant: str
    max_instant: str
    level: int

    @property
    def name(self) -> str:
        # LSMTimelineWriter.newFileName: "%s_%s_%d" + ".parquet"
        return f"{self.min_instant}_{self.max_instant}_{self.level}{_PARQUET_SUFFIX}"

    @classmethod
    def parse(cls, name: str) -> LsmFileName | None:
        """The parts of ``name``, or None if it is not a data file name (Java's pattern:
        decimal times and a one-digit level)."""
        m = _FILE_PATTERN.match(name)
        if m is None:
            return None
        return cls(m.group(1), m.group(2), int(m.group(3)))


def compacted_file_name(names: Sequence[str]) -> str:
    """The name of the file compacting ``names`` (all of one level L): the smallest min and the
    largest max of the inputs, level L+1 (LSMTimelineWriter.compactedFileName: the level is the
    first input's). Raises ValueError for an empty list or a name that is not a data file."""
    parsed = [_parse_or_raise(n) for n in names]
    if not parsed:
        raise ValueError("no files to compact")
    return LsmFileName(
        min(p.min_instant for p in parsed),
        max(p.max_instant for p in parsed),
        parsed[0].level + 1,
    ).name


def _parse_or_raise(name: str) -> LsmFileName:
    parsed = LsmFileName.parse(name)
    if parsed is None:
        raise ValueError(f"not an LSM timeline file name: {name!r}")
    return parsed


def _level_of(name: str) -> int:
    """LSMTimeline.getFileLayer: the level, 0 for a name that does not match."""
    parsed = LsmFileName.parse(name)
    return parsed.level if parsed is not None else 0


def encode_lsm_file(instants: Iterable[LsmInstant]) -> bytes:
    """A data file holding ``instants`` in the given order, as Java's parquet Avro writer lays
    it out: the parquet schema AvroSchemaConverter derives from ``HoodieLSMTimelineInstant``
    (nullable strings and bytes optional, ``version`` a required int32), the footer keys
    ``parquet.avro.schema`` (:data:`LSM_INSTANT_SCHEMA`) and ``writer.model.name`` = ``avro``,
    gzip pages, one row group, no ``ARROW:schema`` key."""
    rows = [i.to_row() for i in instants]
    table = pa.Table.from_pylist(rows, schema=_ARROW_SCHEMA)
    sink = io.BytesIO()
    options = writer_properties(_COMPRESSION)
    with pq.ParquetWriter(sink, _ARROW_SCHEMA, version=_FORMAT_VERSION, **options) as writer:
        if table.num_rows:
            writer.write_table(table, row_group_size=table.num_rows)
        writer.add_key_value_metadata(_FOOTER)
    return sink.getvalue()


def decode_lsm_table(table: pa.Table, where: str = "LSM timeline file") -> list[LsmInstant]:
    """The instants of a data file read into Arrow (some columns may be left out: those are
    None in the result, ``version`` then 1).

    Columns resolve by name, as Java's Avro reader resolves fields against its class schema;
    a missing optional column reads as null. Raises CorruptTableError when ``instantTime`` is
    missing or null (Java's loader fails on it) or a column has the wrong type."""
    names = set(table.column_names)
    if "instantTime" not in names:
        raise CorruptTableError(f"{where} has no instantTime column")
    columns: dict[str, list[Any]] = {}
    for field in _ARROW_SCHEMA:
        if field.name not in names:
            continue
        column = table.column(field.name)
        if not _compatible(column.type, field.type):
            raise CorruptTableError(
                f"{where}: column {field.name} is {column.type}, expected {field.type}"
            )
        columns[field.name] = column.to_pylist()
    out = []
    for n in range(table.num_rows):
        time = columns["instantTime"][n]
        if time is None:
            raise CorruptTableError(f"{where}: row {n} has no instantTime")

        def get(name: str, n: int = n) -> Any:
            values = columns.get(name)
            return None if values is None else values[n]

        version = get("version")
        out.append(
            LsmInstant(
                instant_time=str(time),
                completion_time=get("completionTime"),
                action=get("action"),
                metadata=get("metadata"),
                plan=get("plan"),
                version=INSTANT_VERSION if version is None else int(version),
            )
        )
    return out


def _compatible(actual: pa.DataType, expected: pa.DataType) -> bool:
    if pa.types.is_string(expected):
        return bool(pa.types.is_string(actual) or pa.types.is_large_string(actual))
    if pa.types.is_binary(expected):
        return bool(pa.types.is_binary(actual) or pa.types.is_large_binary(actual))
    return bool(pa.types.is_integer(actual))


def decode_lsm_file(data: bytes, where: str = "LSM timeline file") -> list[LsmInstant]:
    """The instants of a data file's bytes, in file order (see :func:`decode_lsm_table`).
    Raises CorruptTableError when the bytes are not parquet or not such a file."""
    with unreadable_as_corrupt(where):
        table = pq.read_table(pa.BufferReader(data))
    return decode_lsm_table(table, where)


# ---------------------------------------------------------------------------------------------
# manifests


@attrs.frozen
class LsmFileEntry:
    """One file of a snapshot: its name and length in bytes (HoodieLSMTimelineManifest.
    LSMFileEntry)."""

    file_name: str
    file_len: int


@attrs.frozen
class LsmManifest:
    """The files of one snapshot version, in the manifest's order (new files are appended;
    a compaction drops its inputs and appends its output: HoodieLSMTimelineManifest.copy,
    addFile)."""

    files: tuple[LsmFileEntry, ...] = ()

    @property
    def file_names(self) -> tuple[str, ...]:
        return tuple(f.file_name for f in self.files)

    def __contains__(self, name: object) -> bool:
        return any(f.file_name == name for f in self.files)

    def replace(self, removed: Iterable[str], added: LsmFileEntry) -> LsmManifest:
        """The manifest without ``removed`` and with ``added`` appended."""
        gone = set(removed)
        kept = tuple(f for f in self.files if f.file_name not in gone)
        return LsmManifest((*kept, added))

    def to_json(self) -> bytes:
        """The manifest as Jackson's ``writerWithDefaultPrettyPrinter()`` writes it (UTF-8):
        two-space indents, ``" : "`` between names and values, array elements on the line of
        the bracket (``[ {`` ... ``}, {`` ... ``} ]``), no trailing newline."""
        if not self.files:
            return b'{\n  "files" : [ ]\n}'
        entries = [
            '{\n    "fileName" : '
            + orjson.dumps(f.file_name).decode()
            + ',\n    "fileLen" : '
            + str(int(f.file_len))
            + "\n  }"
            for f in self.files
        ]
        return ('{\n  "files" : [ ' + ", ".join(entries) + " ]\n}").encode()

    @classmethod
    def from_json(cls, data: bytes, where: str = "LSM manifest") -> LsmManifest:
        """Parse a manifest (HoodieLSMTimelineManifest.fromJsonString: empty text is an empty
        manifest; unknown properties are ignored). Raises CorruptTableError for anything else
        that is not a manifest."""
        if not data:
            return cls()
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise CorruptTableError(f"{where} is not JSON: {exc}") from exc
        if not isinstance(obj, dict):
            raise CorruptTableError(f"{where} is not a JSON object")
        files = obj.get("files", [])
        if not isinstance(files, list):
            raise CorruptTableError(f"{where}: files is not a list")
        entries = []
        for f in files:
            name = f.get("fileName") if isinstance(f, dict) else None
            length = f.get("fileLen", 0) if isinstance(f, dict) else None
            if not isinstance(name, str) or not isinstance(length, int):
                raise CorruptTableError(f"{where}: bad file entry {f!r}")
            entries.append(LsmFileEntry(name, length))
        return cls(tuple(entries))


# ---------------------------------------------------------------------------------------------
# time ranges


@attrs.frozen
class TimeRange:
    """Instant times from ``start`` to ``end`` (None: unbounded), both ends included unless
    ``end_inclusive`` is False (HoodieArchivedTimeline's TimeRangeFilter, StartTsFilter and
    ClosedOpenTimeRangeFilter)."""

    start: str | None = None
    end: str | None = None
    end_inclusive: bool = True

    def contains(self, time: str) -> bool:
        if self.start is not None and time < self.start:
            return False
        if self.end is None:
            return True
        return time <= self.end if self.end_inclusive else time < self.end

    def overlaps(self, low: str, high: str) -> bool:
        """Whether a file holding times ``low`` to ``high`` may hold any in range."""
        if self.start is not None and high < self.start:
            return False
        if self.end is None:
            return True
        return low <= self.end if self.end_inclusive else low < self.end


# ---------------------------------------------------------------------------------------------
# readers' view


class CompletionLookup:
    """Instant time -> completion time of the archived instants of one history folder, read
    on the first lookup (CompletionTimeQueryViewV2 loads archived completion times lazily
    too): a timeline whose readers never ask about an archived instant reads nothing."""

    def __init__(self, history: LsmTimeline) -> None:
        self._history = history
        self._times: Mapping[str, str] | None = None

    def __call__(self, instant_time: str) -> str | None:
        """When the archived instant ``instant_time`` completed; None when the history does
        not hold it."""
        if self._times is None:
            self._times = self._history.all_completion_times()
        return self._times.get(instant_time)


# ---------------------------------------------------------------------------------------------
# one history folder


@attrs.frozen
class LsmMaintenance:
    """What :meth:`LsmTimeline.compact_and_clean` did: the files it wrote (one per level it
    compacted) and the manifests and data files its clean deleted."""

    compacted: tuple[str, ...]
    deleted: tuple[str, ...]


class LsmTimeline:
    """One history folder (``directory``, relative to the table's base path) on ``storage``.

    Writers must be alone on the folder (the table-services lock): like Java's archiver,
    this class takes no lock of its own.
    """

    def __init__(
        self, storage: Storage, directory: str, settings: LsmSettings | None = None
    ) -> None:
        self.storage = storage
        self.directory = directory.strip("/")
        self.settings = settings or LsmSettings()
        # completion_times() of the whole snapshot, with the manifest it was read from
        self._completions: tuple[LsmManifest, dict[str, str]] | None = None

    @classmethod
    def for_layout(
        cls, storage: Storage, layout: TableLayout, settings: LsmSettings | None = None
    ) -> LsmTimeline:
        """The history folder of a table of ``layout`` (``TableLayout.history_dir``). Raises
        ValueError for a layout without one (timeline layout 1)."""
        if layout.history_dir is None:
            raise ValueError(f"table version {layout.table_version} has no LSM timeline")
        return cls(storage, layout.history_dir, settings)

    def path(self, name: str) -> str:
        return f"{self.directory}/{name}"

    # -- snapshot versions ---------------------------------------------------------------

    def manifest_versions(self) -> list[int]:
        """Every snapshot version with a manifest file, ascending (LSMTimeline.
        allSnapshotVersions; names ending ``.tmp`` are not manifests)."""
        versions = []
        for f in self.storage.list_files(self.directory):
            version = _manifest_version(f.name)
            if version is not None:
                versions.append(version)
        return sorted(versions)

    def latest_version(self) -> int:
        """The current snapshot version: ``_version_``'s number, or the highest manifest when
        that file is missing or does not hold a number (a crash between writing a manifest
        and the version file); -1 for a folder without snapshots
        (LSMTimeline.latestSnapshotVersion)."""
        try:
            text = self.storage.read_bytes(self.path(_VERSION_FILE)).decode("utf-8")
        except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
            text = ""
        if _JAVA_INT.fullmatch(text):  # Integer.parseInt: no blanks, an optional sign
            return int(text)
        return max(self.manifest_versions(), default=-1)

    def read_manifest(self, version: int) -> LsmManifest:
        """The manifest of snapshot ``version`` (empty for a version below 0). Raises
        CorruptTableError when its file is missing or unreadable (Java fails the same way:
        only ``_version_`` falls back)."""
        if version < 0:
            return LsmManifest()
        path = self.path(f"{_MANIFEST_PREFIX}{version}")
        try:
            data = self.storage.read_bytes(path)
        except FileNotFoundError:
            raise CorruptTableError(f"the LSM timeline's snapshot {version}: no {path}") from None
        return LsmManifest.from_json(data, path)

    def latest_manifest(self) -> LsmManifest:
        """The manifest of :meth:`latest_version`."""
        return self.read_manifest(self.latest_version())

    # -- reading ------------------------------------------------------------------------

    def read_file(
        self, name: str, *, payloads: bool = True, size: int | None = None
    ) -> list[LsmInstant]:
        """The instants of data file ``name``; without ``payloads`` the ``metadata`` and
        ``plan`` columns are not read (None). Raises CorruptTableError for a missing or
        damaged file."""
        path = self.path(name)
        try:
            pf = self.storage.parquet_file(path, size)
        except FileNotFoundError:
            raise CorruptTableError(f"the LSM timeline lists {path}, which is missing") from None
        with unreadable_as_corrupt(path):
            present = set(pf.schema_arrow.names)
            wanted = [
                f.name
                for f in _ARROW_SCHEMA
                if f.name in present and (payloads or f.name not in _PAYLOAD_COLUMNS)
            ]
            table = pf.read(columns=wanted)
        return decode_lsm_table(table, path)

    def load(
        self, time_range: TimeRange | None = None, *, payloads: bool = True
    ) -> list[LsmInstant]:
        """The archived instants of the current snapshot (those in ``time_range``, if given),
        sorted by instant time; one per instant time, the first file of the manifest that
        holds it winning (ArchivedTimelineLoaderV2 keeps one per time). Files whose name
        says they hold no time in range are not read. Raises CorruptTableError when the
        snapshot or one of its files is unreadable."""
        manifest = self.latest_manifest()
        found: dict[str, LsmInstant] = {}
        for entry in manifest.files:
            parsed = LsmFileName.parse(entry.file_name)
            if parsed is None:
                raise CorruptTableError(
                    f"the LSM timeline in {self.directory} lists {entry.file_name!r}, "
                    "which is not a timeline file name"
                )
            if time_range is not None and not time_range.overlaps(
                parsed.min_instant, parsed.max_instant
            ):
                continue
            for instant in self.read_file(entry.file_name, payloads=payloads, size=entry.file_len):
                if time_range is None or time_range.contains(instant.instant_time):
                    found.setdefault(instant.instant_time, instant)
        return [found[t] for t in sorted(found)]

    def completion_times(self, time_range: TimeRange | None = None) -> dict[str, str]:
        """Instant time -> completion time of the archived instants (in ``time_range``), as
        CompletionTimeQueryViewV2 loads them (an instant without a completion time
        completed at its own time)."""
        return {
            i.instant_time: i.completion_time or i.instant_time
            for i in self.load(time_range, payloads=False)
        }

    def all_completion_times(self) -> Mapping[str, str]:
        """:meth:`completion_times` of the whole current snapshot, kept while the snapshot's
        manifest stays the same (a reader asks once per timeline: this costs two small reads,
        ``_version_`` and the manifest, when nothing was archived since)."""
        manifest = self.latest_manifest()
        cached = self._completions
        if cached is not None and cached[0] == manifest:
            return cached[1]
        times = self.completion_times()
        self._completions = (manifest, times)
        return times

    # -- writing ------------------------------------------------------------------------

    def append(self, instants: Sequence[LsmInstant]) -> str | None:
        """Archive a batch as a new level-0 file; the file's name, or None when an earlier
        run already committed this very batch (LSMTimelineWriter.write).

        The batch is sorted by instant time (as TimelineArchiverV2 hands it over) and named
        after its first and last instant times. Steps, each leaving a readable history:

        1. a file of that name that the current manifest lists means an earlier run got as
           far as its manifest (it died deleting the active files): nothing is written; one
           the manifest does not list is a torn leftover and is deleted;
        2. the data file is written (invisible until a manifest lists it);
        3. ``manifest_<N+1>`` = the current manifest plus the file (a torn one left by a
           crash before ``_version_`` moved is deleted first);
        4. ``_version_`` = N+1. Java deletes the old file and creates the new one (a reader in
           between falls back to the listing); here it is replaced atomically, which ends in
           the same state without that window.

        Raises ValueError for an empty batch or one with two rows of one instant time.
        """
        batch = sorted(instants, key=lambda i: i.instant_time)
        if not batch:
            raise ValueError("the instant actions to write should not be empty")
        times = [i.instant_time for i in batch]
        if len(set(times)) != len(times):
            raise ValueError("a batch holds one row per instant time")
        name = LsmFileName(times[0], times[-1], _LEVEL_ZERO).name
        path = self.path(name)
        if self.storage.exists(path):
            if name in self.latest_manifest():
                log.info("skipping archival of a batch already in the LSM timeline: %s", name)
                return None
            self.storage.delete(path)
        data = encode_lsm_file(batch)
        self.storage.write_bytes(path, data)
        self._update_manifest((), LsmFileEntry(name, len(data)))
        return name

    def _update_manifest(self, removed: Sequence[str], added: LsmFileEntry) -> int:
        """Write the next snapshot (the current one without ``removed``, with ``added``) and
        point ``_version_`` at it (LSMTimelineWriter.updateManifest, createManifestFile,
        updateVersionFile); its version."""
        latest = self.latest_version()
        manifest = self.read_manifest(latest).replace(removed, added)
        version = 1 if latest < 0 else latest + 1
        path = self.path(f"{_MANIFEST_PREFIX}{version}")
        self.storage.delete(path)  # left by a run that died before moving _version_
        self.storage.create_exclusive(path, manifest.to_json())
        self.storage.replace_file(self.path(_VERSION_FILE), str(version).encode())
        return version

    def compact_and_clean(self) -> LsmMaintenance:
        """Compact full levels, then clean old snapshots (LSMTimelineWriter.compactAndClean),
        as Java runs it after every archival, once the archived instants left the active
        timeline.

        Level 0 first: when it holds ``compaction_batch_size`` files or more, its files sorted
        by name are taken in order until the batch is full or their sizes add up past
        ``compaction_max_bytes`` (a first file alone past it is skipped); at least two are
        merged, in that order, into :func:`compacted_file_name` of them, and a new manifest
        replaces them with it. Each compaction goes on to the next level. The clean then
        keeps the newest ``manifest_retained_versions`` snapshots plus one per compaction just
        made, deletes the other manifests, then every data file none of the kept snapshots
        lists (:meth:`clean`). A crash at any step leaves a readable history; a compacted
        file no manifest lists is overwritten by the next run or removed by a clean.
        """
        manifest = self.latest_manifest()
        compacted: list[str] = []
        level = _LEVEL_ZERO
        made = self._compact_level(manifest, level)
        while made is not None:
            compacted.append(made.file_name)
            manifest = LsmManifest((*manifest.files, made))
            level += 1
            made = self._compact_level(manifest, level)
        deleted = self.clean(level)
        return LsmMaintenance(tuple(compacted), tuple(deleted))

    def _compact_level(self, manifest: LsmManifest, level: int) -> LsmFileEntry | None:
        """LSMTimelineWriter.doCompact on one level; the new file's entry, or None."""
        files = sorted(
            (f for f in manifest.files if _level_of(f.file_name) == level),
            key=lambda f: f.file_name,  # LSMFileEntry.compareTo
        )
        batch = self.settings.compaction_batch_size
        if len(files) < batch:
            return None
        candidates = _candidates(files, batch, self.settings.compaction_max_bytes)
        if len(candidates) < 2:
            return None
        name = compacted_file_name(candidates)
        sizes = {f.file_name: f.file_len for f in files}
        rows: list[LsmInstant] = []
        for source in candidates:
            rows.extend(self.read_file(source, size=sizes[source]))
        path = self.path(name)
        self.storage.delete(path)  # a compaction that died before its manifest
        data = encode_lsm_file(rows)
        self.storage.write_bytes(path, data)
        entry = LsmFileEntry(name, len(data))
        self._update_manifest(candidates, entry)
        log.info("compacted LSM timeline files %s into %s", candidates, name)
        return entry

    def clean(self, compacted_versions: int = 0) -> list[str]:
        """Delete snapshots beyond the newest ``manifest_retained_versions`` +
        ``compacted_versions`` and the data files only they list (LSMTimelineWriter.clean):
        first the old manifests, then every ``*.parquet`` of the folder that no kept snapshot
        lists. Does nothing while there are no more snapshots than that. Returns the deleted
        files' names."""
        keep = self.settings.manifest_retained_versions + compacted_versions
        versions = self.manifest_versions()
        if len(versions) <= keep:
            return []
        kept = sorted(versions, reverse=True)[:keep]
        referenced: set[str] = set()
        for version in kept:
            referenced.update(self.read_manifest(version).file_names)
        deleted: list[str] = []
        for f in self.storage.list_files(self.directory):
            listed = _manifest_version(f.name)
            if listed is not None and listed not in kept:
                self.storage.delete(f.path)
                deleted.append(f.name)
        for f in self.storage.list_files(self.directory):
            if f.name.endswith(_PARQUET_SUFFIX) and f.name not in referenced:
                self.storage.delete(f.path)
                deleted.append(f.name)
        return deleted


def _manifest_version(name: str) -> int | None:
    """N of ``manifest_N`` (LSMTimeline.getManifestVersion), None for other names."""
    if not name.startswith(_MANIFEST_PREFIX) or name.endswith(_TEMP_SUFFIX):
        return None
    digits = name[len(_MANIFEST_PREFIX) :]
    return int(digits) if digits.isdigit() else None


def _candidates(files: Sequence[LsmFileEntry], batch: int, max_bytes: int) -> list[str]:
    """LSMTimelineWriter.getCandidateFiles: at most ``batch`` consecutive files from the
    first; past ``max_bytes`` in total the group stops, or, while it holds fewer than two
    files, starts over from the next file."""
    candidates: list[str] = []
    total = 0
    for f in files:
        total += f.file_len
        candidates.append(f.file_name)
        if len(candidates) >= batch:
            break
        if total > max_bytes:
            if len(candidates) < 2:
                total = 0
                candidates.clear()
            else:
                break
    return candidates
