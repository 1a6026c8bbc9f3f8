"""``hoodie.properties``: the Java Properties text codec, the checksum, and typed access.

The property keys live here and nowhere else (protocol §1.1).
"""

from __future__ import annotations

import datetime as dt
import enum
import zlib
from collections.abc import Mapping, Sequence

import attrs

from hudiwrite.exceptions import CorruptTableError, InvalidOptionError, UnsupportedTableError
from hudiwrite.model.keys import KeyGenerator

__all__ = [
    "Keys",
    "MergeSemantics",
    "PayloadClass",
    "TableConfig",
    "format_properties",
    "java_date_string",
    "parse_properties",
    "table_checksum",
]


class Keys:
    """Property keys of ``hoodie.properties``."""

    NAME = "hoodie.table.name"
    DATABASE = "hoodie.database.name"
    TYPE = "hoodie.table.type"
    VERSION = "hoodie.table.version"
    TIMELINE_LAYOUT = "hoodie.timeline.layout.version"
    RECORD_KEY_FIELDS = "hoodie.table.recordkey.fields"
    PRECOMBINE_FIELD = "hoodie.table.precombine.field"
    ORDERING_FIELDS = "hoodie.table.ordering.fields"  # Hudi 1.x spelling, also on v6 tables
    PARTITION_FIELDS = "hoodie.table.partition.fields"
    KEYGEN_CLASS = "hoodie.table.keygenerator.class"
    KEYGEN_TYPE = "hoodie.table.keygenerator.type"
    HIVE_STYLE = "hoodie.datasource.write.hive_style_partitioning"
    URL_ENCODE = "hoodie.datasource.write.partitionpath.urlencode"
    DROP_PARTITION_COLUMNS = "hoodie.datasource.write.drop.partition.columns"
    ARCHIVELOG_FOLDER = "hoodie.archivelog.folder"
    PAYLOAD_CLASS = "hoodie.compaction.payload.class"
    MERGER_STRATEGY = "hoodie.compaction.record.merger.strategy"
    MERGE_MODE = "hoodie.record.merge.mode"
    MERGE_STRATEGY_ID = "hoodie.record.merge.strategy.id"
    LEGACY_PAYLOAD_CLASS = "hoodie.table.legacy.payload.class"
    TIMELINE_PATH = "hoodie.timeline.path"
    HISTORY_PATH = "hoodie.timeline.history.path"
    INITIAL_VERSION = "hoodie.table.initial.version"
    TABLE_FORMAT = "hoodie.table.format"
    INDEX_DEFS_PATH = "hoodie.table.index.defs.path"
    CREATE_SCHEMA = "hoodie.table.create.schema"
    POPULATE_META_FIELDS = "hoodie.populate.meta.fields"
    CHECKSUM = "hoodie.table.checksum"
    TIMEZONE = "hoodie.table.timeline.timezone"
    BASE_FILE_FORMAT = "hoodie.table.base.file.format"
    LOG_FILE_FORMAT = "hoodie.table.log.file.format"
    METADATA_PARTITIONS = "hoodie.table.metadata.partitions"
    METADATA_PARTITIONS_INFLIGHT = "hoodie.table.metadata.partitions.inflight"
    CDC_ENABLED = "hoodie.table.cdc.enabled"


class TableType:
    """``hoodie.table.type`` values (HoodieTableType)."""

    MERGE_ON_READ = "MERGE_ON_READ"
    COPY_ON_WRITE = "COPY_ON_WRITE"


#: ``hoodie.table.base.file.format`` of every table hudiwrite reads and writes.
PARQUET = "PARQUET"

PROPERTIES_FILE = "hoodie.properties"
#: What java.util.Properties reads and writes.
PROPERTIES_ENCODING = "latin-1"
PROPERTIES_BACKUP = "hoodie.properties.backup"

#: UUID of Hudi's default payload-based record merger strategy.
PAYLOAD_MERGER_STRATEGY = "eeb8d96f-b1e4-49fd-bbf8-28ac514178e5"
#: Default folder of the archived timeline, under ``.hoodie`` (``hoodie.archivelog.folder``).
ARCHIVE_FOLDER = "archived"
#: Defaults of ``hoodie.timeline.path`` (under ``.hoodie``) and ``hoodie.timeline.history.path``
#: (under the timeline folder) on timeline layout 2 (HoodieTableConfig).
DEFAULT_TIMELINE_PATH = "timeline"
DEFAULT_HISTORY_PATH = "history"


#: Keys every table's properties hold (Spark has written them since table version 1).
_REQUIRED = (Keys.NAME, Keys.TYPE, Keys.VERSION)
#: Table version 4 (Hudi 0.11) introduced ``hoodie.table.checksum``.
_CHECKSUM_SINCE_VERSION = 4


def table_checksum(table_name: str, database: str | None) -> int:
    """CRC32 of ``<database>.<table>`` (empty database when absent), as Java computes it."""
    return zlib.crc32(f"{database or ''}.{table_name}".encode())


class PayloadClass:
    """Merge semantics, named by Hudi's payload classes (``hoodie.compaction.payload.class``)."""

    #: The newest write wins (within one write, the greatest ordering value).
    OVERWRITE_WITH_LATEST = "org.apache.hudi.common.model.OverwriteWithLatestAvroPayload"
    #: The greatest ordering value wins, also against records already in base files.
    DEFAULT = "org.apache.hudi.common.model.DefaultHoodieRecordPayload"

    SUPPORTED = (OVERWRITE_WITH_LATEST, DEFAULT)

    @classmethod
    def resolve(cls, name: str) -> str:
        """The full class name for a full or short (``"DefaultHoodieRecordPayload"``) name."""
        for full in cls.SUPPORTED:
            if name in (full, full.rsplit(".", 1)[-1]):
                return full
        raise InvalidOptionError(
            f"unsupported payload class {name!r}; use one of "
            + ", ".join(c.rsplit(".", 1)[-1] for c in cls.SUPPORTED)
        )


class MergeSemantics(str, enum.Enum):
    """How records of one key combine, from a table's payload class or merge mode.

    See ``hudiwrite.read.merge`` for what each means. Version 6 tables name a payload class;
    versions 8/9 a merge mode (``hoodie.record.merge.mode``), inferred from the strategy id,
    the payload class or the presence of an ordering field when absent (protocol-v8 §2.2).
    """

    OVERWRITE_PAYLOAD = "overwrite_payload"
    DEFAULT_PAYLOAD = "default_payload"
    EVENT_TIME = "event_time"
    COMMIT_TIME = "commit_time"

    def __str__(self) -> str:
        return self.value


#: Strategy ids of Hudi's event-time (also 0.x's payload-based default) and commit-time
#: record mergers (HoodieRecordMerger).
_EVENT_TIME_STRATEGY = PAYLOAD_MERGER_STRATEGY
_COMMIT_TIME_STRATEGY = "ce9acb64-bde0-424c-9b91-f6ebba25356d"
_EVENT_TIME_PAYLOADS = (
    PayloadClass.DEFAULT,
    "org.apache.hudi.common.model.EventTimeAvroPayload",
)


# -- Java Properties text ------------------------------------------------------------------

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _logical_lines(text: str) -> list[str]:
    """Join continuation lines (an odd number of trailing backslashes) as Java does."""
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.lstrip(" \t\f") if pending else raw
        if not pending and (not line.strip() or line.lstrip(" \t\f")[:1] in ("#", "!")):
            continue
        backslashes = len(line) - len(line.rstrip("\\"))
        if backslashes % 2 == 1:
            pending += line[:-1]
            continue
        out.append(pending + line)
        pending = ""
    if pending:
        out.append(pending)
    return out


def _unescape(s: str) -> str:
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\" or i + 1 >= len(s):
            out.append(c)
            i += 1
            continue
        n = s[i + 1]
        if n == "u" and i + 6 <= len(s):
            out.append(chr(int(s[i + 2 : i + 6], 16)))
            i += 6
            continue
        out.append(_ESCAPES.get(n, n))
        i += 2
    # \uXXXX escapes of a supplementary character arrive as a surrogate pair: join them.
    return "".join(out).encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def parse_properties(text: str) -> dict[str, str]:
    """Parse the text of a ``java.util.Properties`` file."""
    props: dict[str, str] = {}
    for line in _logical_lines(text):
        line = line.lstrip(" \t\f")
        i = 0
        while i < len(line):
            c = line[i]
            if c == "\\":
                i += 2
                continue
            if c in "=: \t\f":
                break
            i += 1
        key = line[:i]
        rest = line[i:].lstrip(" \t\f")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t\f")
        props[_unescape(key)] = _unescape(rest)
    return props


def _escape(s: str, is_key: bool) -> str:
    out = []
    for i, c in enumerate(s):
        if c == " " and (is_key or i == 0):
            out.append("\\ ")
        elif c == "\\":
            out.append("\\\\")
        elif c == "\t":
            out.append("\\t")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\f":
            out.append("\\f")
        elif c in "=:#!":
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) > 0x7E:
            code = c.encode("utf-16-be")
            for j in range(0, len(code), 2):
                out.append(f"\\u{code[j]:02X}{code[j + 1]:02X}")
        else:
            out.append(c)
    return "".join(out)


def java_date_string(now: dt.datetime | None = None) -> str:
    """``java.util.Date.toString()`` in UTC, the comment line Java puts in properties files."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.astimezone(dt.timezone.utc).strftime("%a %b %d %H:%M:%S UTC %Y")


def format_properties(props: Mapping[str, str], now: dt.datetime | None = None) -> str:
    """The text Hudi writes: two comment lines, then escaped ``key=value`` lines. The checksum
    goes last, so a file cut short on a line boundary lacks it and reads as torn."""
    now = now or dt.datetime.now(dt.timezone.utc)
    iso = now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lines = [f"#Properties saved on {iso}", f"#{java_date_string(now)}"]
    ordered = sorted(props.items(), key=lambda kv: kv[0] == Keys.CHECKSUM)  # stable
    lines += [f"{_escape(k, True)}={_escape(v, False)}" for k, v in ordered]
    return "\n".join(lines) + "\n"


_KEYGEN_TYPES = {
    "SIMPLE": "org.apache.hudi.keygen.SimpleKeyGenerator",
    "COMPLEX": "org.apache.hudi.keygen.ComplexKeyGenerator",
    "NON_PARTITION": "org.apache.hudi.keygen.NonpartitionedKeyGenerator",
    "TIMESTAMP": "org.apache.hudi.keygen.TimestampBasedKeyGenerator",
    "CUSTOM": "org.apache.hudi.keygen.CustomKeyGenerator",
}

_KEYGEN_TYPE_OF = {cls: kind for kind, cls in _KEYGEN_TYPES.items()}

#: Table version 8 (Hudi 1.0) introduced merge modes, timeline layout 2 and the 1.x keys.
_FIRST_1X_VERSION = 8
#: Table version 9 (Hudi 1.1) renamed the ordering key and dropped strategy id and payload
#: class for the built-in merge modes (EightToNineUpgradeHandler).
_ORDERING_FIELDS_SINCE_VERSION = 9


class MergeMode:
    """``hoodie.record.merge.mode`` values (RecordMergeMode) hudiwrite writes."""

    EVENT_TIME_ORDERING = "EVENT_TIME_ORDERING"
    COMMIT_TIME_ORDERING = "COMMIT_TIME_ORDERING"


#: Merge mode -> (v8 ``hoodie.record.merge.strategy.id``, v8 ``hoodie.compaction.payload.class``)
#: as Spark-Hudi 1.0 writes them (HoodieRecordMerger constants; protocol-v8 §2.2).
_V8_MERGE_KEYS = {
    MergeMode.EVENT_TIME_ORDERING: (_EVENT_TIME_STRATEGY, PayloadClass.DEFAULT),
    MergeMode.COMMIT_TIME_ORDERING: (_COMMIT_TIME_STRATEGY, PayloadClass.OVERWRITE_WITH_LATEST),
}
#: The merge mode Hudi 1.x's upgrade gives a table of each payload class
#: (SevenToEightUpgradeHandler).
_MODE_OF_PAYLOAD = {
    PayloadClass.DEFAULT: MergeMode.EVENT_TIME_ORDERING,
    PayloadClass.OVERWRITE_WITH_LATEST: MergeMode.COMMIT_TIME_ORDERING,
}


def _merge_mode_1x(
    payload_class: str | None, merge_mode: str | None, ordering_field: str | None
) -> str:
    """The merge mode of a new version 8/9 table (see ``TableConfig.for_new_table``)."""
    mode = merge_mode.upper() if merge_mode else None
    if payload_class is not None:
        translated = _MODE_OF_PAYLOAD[payload_class]
        if mode is not None and mode != translated:
            raise InvalidOptionError(
                f"payload_class {payload_class.rsplit('.', 1)[-1]} means merge mode "
                f"{translated.lower()} on a version 8/9 table, not {mode.lower()}: give one"
            )
        mode = translated
    if mode is None:
        mode = MergeMode.EVENT_TIME_ORDERING if ordering_field else MergeMode.COMMIT_TIME_ORDERING
    if mode == MergeMode.EVENT_TIME_ORDERING and not ordering_field:
        raise InvalidOptionError(
            "event_time_ordering needs an ordering_field (the greatest value wins)"
        )
    if mode == MergeMode.COMMIT_TIME_ORDERING and ordering_field:
        raise InvalidOptionError(
            f"commit_time_ordering ignores ordering fields (the latest write wins); drop "
            f"ordering_field={ordering_field!r} or use event_time_ordering"
        )
    return mode


def _props_1x(
    version: int,
    keygen_class: str,
    payload_class: str | None,
    merge_mode: str | None,
    ordering_field: str | None,
) -> dict[str, str]:
    """The keys Spark-Hudi 1.x writes for a new table of ``version`` beyond the common ones
    (protocol-v8 §2.1, §2.5): initial version, timeline and history paths, the key
    generator's type, the merge mode and its companions, the ordering field's key."""
    mode = _merge_mode_1x(payload_class, merge_mode, ordering_field)
    props = {
        # 1.x's datasource writes set the deprecated archive folder key to the history path
        Keys.ARCHIVELOG_FOLDER: DEFAULT_HISTORY_PATH,
        Keys.INITIAL_VERSION: str(version),
        Keys.TIMELINE_PATH: DEFAULT_TIMELINE_PATH,
        Keys.HISTORY_PATH: DEFAULT_HISTORY_PATH,
        Keys.MERGE_MODE: mode,
    }
    kind = _KEYGEN_TYPE_OF.get(keygen_class)
    if kind is not None:
        props[Keys.KEYGEN_TYPE] = kind
    else:
        props[Keys.KEYGEN_CLASS] = keygen_class
    if version < _ORDERING_FIELDS_SINCE_VERSION:
        strategy, payload = _V8_MERGE_KEYS[mode]
        props[Keys.MERGE_STRATEGY_ID] = strategy
        props[Keys.PAYLOAD_CLASS] = payload
        if ordering_field:
            props[Keys.PRECOMBINE_FIELD] = ordering_field
    else:
        props[Keys.TABLE_FORMAT] = "native"
        if ordering_field:
            props[Keys.ORDERING_FIELDS] = ordering_field
    return props


# -- typed view ----------------------------------------------------------------------------


def _split(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(p.strip() for p in value.split(",") if p.strip())


def _bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() == "true"


def _as_dict(props: Mapping[str, str]) -> dict[str, str]:
    return dict(props)


@attrs.frozen
class TableConfig:
    """The parsed properties of a table, with typed accessors for what hudiwrite uses."""

    props: Mapping[str, str] = attrs.field(converter=_as_dict)

    def key_generator(self) -> KeyGenerator:
        """The key generator ``hoodie.properties`` names, over its key and partition fields."""
        return KeyGenerator.from_class_name(
            self.keygen_class,
            self.record_key_fields,
            self.partition_fields,
            hive_style=self.hive_style,
            url_encode=self.url_encode,
        )

    @classmethod
    def for_new_table(
        cls,
        *,
        name: str,
        version: int,
        timeline_layout: int,
        record_keys: Sequence[str],
        partition_fields: Sequence[str],
        keygen_class: str,
        hive_style: bool,
        url_encode: bool,
        payload_class: str | None,
        merge_mode: str | None,
        create_schema: str,
        ordering_field: str | None,
        database: str | None,
    ) -> TableConfig:
        """The ``hoodie.properties`` of a new Merge-on-Read table, as Spark-Hudi writes them
        (0.15 for version 6, protocol §1.1; 1.0.x for 8 and 1.1+ for 9, protocol-v8 §2),
        checksum included.

        ``payload_class`` names version 6's merge semantics (None: overwrite with latest);
        on 8/9 it is translated into a merge mode as Hudi 1.x's upgrade does, and
        ``merge_mode`` (``event_time_ordering`` / ``commit_time_ordering``, default by the
        presence of ``ordering_field``) names it directly. Raises InvalidOptionError for a
        payload class and merge mode that disagree, event-time ordering without an ordering
        field, or commit-time ordering with one."""
        props: dict[str, str] = {
            Keys.NAME: name,
            Keys.TYPE: TableType.MERGE_ON_READ,
            Keys.VERSION: str(version),
            Keys.TIMELINE_LAYOUT: str(timeline_layout),
            Keys.RECORD_KEY_FIELDS: ",".join(record_keys),
            Keys.HIVE_STYLE: str(hive_style).lower(),
            Keys.URL_ENCODE: str(url_encode).lower(),
            Keys.DROP_PARTITION_COLUMNS: "false",
            Keys.ARCHIVELOG_FOLDER: ARCHIVE_FOLDER,
            Keys.CREATE_SCHEMA: create_schema,
            Keys.TIMEZONE: "UTC",
            Keys.BASE_FILE_FORMAT: PARQUET,
        }
        if partition_fields:
            props[Keys.PARTITION_FIELDS] = ",".join(partition_fields)
        if version < _FIRST_1X_VERSION:
            props[Keys.KEYGEN_CLASS] = keygen_class
            props[Keys.PAYLOAD_CLASS] = payload_class or PayloadClass.OVERWRITE_WITH_LATEST
            props[Keys.MERGER_STRATEGY] = PAYLOAD_MERGER_STRATEGY
            if ordering_field is not None:
                props[Keys.PRECOMBINE_FIELD] = ordering_field
        else:
            props.update(
                _props_1x(version, keygen_class, payload_class, merge_mode, ordering_field)
            )
        if database:
            props[Keys.DATABASE] = database
        props[Keys.CHECKSUM] = str(table_checksum(name, database))
        return cls(props)

    @classmethod
    def from_text(cls, text: str) -> TableConfig:
        """Parse and validate; ``CorruptTableError`` for a file that cannot be a whole
        ``hoodie.properties`` (see ``validate``)."""
        config = cls(parse_properties(text))
        config.validate()
        return config

    def validate(self) -> None:
        """A whole ``hoodie.properties`` names the table, its type and version and, from
        version 4 on, carries a checksum that matches the name (Java's
        ``HoodieTableConfig.isValidChecksum``; Java falls back to the backup file when it
        does not). Anything less is a torn or foreign file: ``CorruptTableError``."""
        missing = [k for k in _REQUIRED if not self.props.get(k, "").strip()]
        if missing:
            raise CorruptTableError(f"hoodie.properties lacks {', '.join(missing)}")
        version = self._int(Keys.VERSION)
        if version >= _CHECKSUM_SINCE_VERSION and Keys.CHECKSUM not in self.props:
            raise CorruptTableError(
                f"hoodie.properties of a version-{version} table lacks {Keys.CHECKSUM} "
                "(a file cut short)"
            )
        self.validate_checksum()

    def to_text(self, now: dt.datetime | None = None) -> str:
        return format_properties(self.props, now)

    def to_bytes(self, now: dt.datetime | None = None) -> bytes:
        """The file's bytes: ``java.util.Properties.store`` writes ISO-8859-1 (characters
        beyond it are ``\\uXXXX``-escaped by :func:`format_properties`)."""
        return self.to_text(now).encode(PROPERTIES_ENCODING)

    @classmethod
    def from_bytes(cls, raw: bytes, where: str = PROPERTIES_FILE) -> TableConfig:
        """Parse and validate a file's bytes; CorruptTableError if it is empty, torn or
        not a table's config."""
        text = raw.decode(PROPERTIES_ENCODING)
        if not text.strip():
            raise CorruptTableError(f"{where} is empty")
        return cls.from_text(text)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.props.get(key, default)

    def with_updates(self, updates: Mapping[str, str | None]) -> TableConfig:
        """A copy with keys set (or removed, for ``None``)."""
        props = dict(self.props)
        for key, value in updates.items():
            if value is None:
                props.pop(key, None)
            else:
                props[key] = value
        return TableConfig(props)

    def validate_checksum(self) -> None:
        stored = self.props.get(Keys.CHECKSUM)
        if stored is None or Keys.NAME not in self.props:
            return
        expected = table_checksum(self.props[Keys.NAME], self.props.get(Keys.DATABASE))
        if stored.strip() != str(expected):
            raise CorruptTableError(
                f"hoodie.properties checksum {stored} does not match {expected} "
                f"computed from the table name"
            )

    @property
    def name(self) -> str:
        return self.props.get(Keys.NAME, "")

    @property
    def table_type(self) -> str:
        return self.props.get(Keys.TYPE, TableType.COPY_ON_WRITE)

    def _int(self, key: str) -> int:
        value = self.props.get(key) or "0"
        try:
            return int(value)
        except ValueError:
            raise CorruptTableError(f"hoodie.properties: {key}={value!r} is not a number") from None

    @property
    def version(self) -> int:
        return self._int(Keys.VERSION)

    @property
    def timeline_layout_version(self) -> int:
        return self._int(Keys.TIMELINE_LAYOUT)

    @property
    def record_key_fields(self) -> tuple[str, ...]:
        return _split(self.props.get(Keys.RECORD_KEY_FIELDS))

    @property
    def partition_fields(self) -> tuple[str, ...]:
        return _split(self.props.get(Keys.PARTITION_FIELDS))

    @property
    def precombine_field(self) -> str | None:
        """The ordering (precombine) field; Hudi 1.x writers name it ``ordering.fields``."""
        value = self.props.get(Keys.PRECOMBINE_FIELD) or self.props.get(Keys.ORDERING_FIELDS)
        fields = _split(value)
        return ",".join(fields) if fields else None

    @property
    def keygen_class(self) -> str | None:
        """The key generator class, or the class a ``keygenerator.type`` names."""
        explicit = self.props.get(Keys.KEYGEN_CLASS)
        if explicit:
            return explicit
        kind = (self.props.get(Keys.KEYGEN_TYPE) or "").upper()
        return _KEYGEN_TYPES.get(kind)

    @property
    def hive_style(self) -> bool:
        return _bool(self.props.get(Keys.HIVE_STYLE), False)

    @property
    def url_encode(self) -> bool:
        return _bool(self.props.get(Keys.URL_ENCODE), False)

    @property
    def payload_class(self) -> str | None:
        return self.props.get(Keys.PAYLOAD_CLASS) or None

    @property
    def populate_meta_fields(self) -> bool:
        return _bool(self.props.get(Keys.POPULATE_META_FIELDS), True)

    @property
    def base_file_format(self) -> str:
        return (self.props.get(Keys.BASE_FILE_FORMAT) or PARQUET).upper()

    def unwritable_reason(self, layout_writable: bool) -> str | None:
        """Why hudiwrite cannot write this table (or run its services on it), or None.

        The one place this is decided: writes, compaction, cleaning and archival all ask
        it (through :meth:`MetaClient.require_writable`).
        """
        if self.table_type != TableType.MERGE_ON_READ:
            return f"only Merge-on-Read tables can be written; this one is {self.table_type}"
        if not layout_writable:
            return f"writing table version {self.version} is not supported yet (only 6)"
        if not self.populate_meta_fields:
            return "tables without meta fields cannot be written"
        if self.base_file_format != PARQUET:
            return f"base file format {self.base_file_format} cannot be written (only {PARQUET})"
        if self.drop_partition_columns:
            return "tables that drop partition columns cannot be written"
        if self.precombine_field and "," in self.precombine_field:
            return f"several ordering fields ({self.precombine_field}) are not supported"
        return None

    @property
    def create_schema(self) -> str | None:
        return self.props.get(Keys.CREATE_SCHEMA) or None

    @property
    def metadata_partitions(self) -> tuple[str, ...]:
        return _split(self.props.get(Keys.METADATA_PARTITIONS))

    @property
    def merge_semantics(self) -> MergeSemantics:
        """The merge semantics readers and writers must apply to this table."""
        props = self.props
        payload = props.get(Keys.PAYLOAD_CLASS) or props.get(Keys.LEGACY_PAYLOAD_CLASS)
        if self.version < 8:
            if payload in (None, "", PayloadClass.OVERWRITE_WITH_LATEST):
                return MergeSemantics.OVERWRITE_PAYLOAD
            if payload in _EVENT_TIME_PAYLOADS:
                return MergeSemantics.DEFAULT_PAYLOAD
            raise UnsupportedTableError(f"payload class {payload} is not supported")
        mode = (props.get(Keys.MERGE_MODE) or "").strip().upper()
        if mode == "EVENT_TIME_ORDERING":
            return MergeSemantics.EVENT_TIME
        if mode == "COMMIT_TIME_ORDERING":
            return MergeSemantics.COMMIT_TIME
        if mode == "CUSTOM":
            if payload == PayloadClass.OVERWRITE_WITH_LATEST:
                return MergeSemantics.OVERWRITE_PAYLOAD
            if payload in _EVENT_TIME_PAYLOADS:
                return MergeSemantics.DEFAULT_PAYLOAD
            raise UnsupportedTableError(
                f"custom merge mode with payload {payload} / strategy "
                f"{props.get(Keys.MERGE_STRATEGY_ID)} is not supported"
            )
        strategy = props.get(Keys.MERGE_STRATEGY_ID)
        if self.version == 8 and strategy in (_EVENT_TIME_STRATEGY, _COMMIT_TIME_STRATEGY):
            if strategy == _EVENT_TIME_STRATEGY:
                return MergeSemantics.EVENT_TIME
            return MergeSemantics.COMMIT_TIME
        if payload == PayloadClass.OVERWRITE_WITH_LATEST:
            return MergeSemantics.COMMIT_TIME
        if payload in _EVENT_TIME_PAYLOADS:
            return MergeSemantics.EVENT_TIME
        if payload:
            raise UnsupportedTableError(f"payload class {payload} is not supported")
        return MergeSemantics.EVENT_TIME if self.precombine_field else MergeSemantics.COMMIT_TIME

    @property
    def drop_partition_columns(self) -> bool:
        return _bool(self.props.get(Keys.DROP_PARTITION_COLUMNS), False)
