"""The archived timeline of table version 6 (timeline layout 1): its entries, its files, reading.

Java's ``HoodieTimelineArchiver`` moves the oldest instants of a v6 table into
``.hoodie/archived/`` (``MetaClient.archive_dir``), in Hudi log files named
``.commits_.archive.<N>_1-0-1`` (``model/naming.py`` builds and parses the names):

* a file holds Avro data blocks (content version 3, at most :data:`ARCHIVE_BATCH_SIZE`
  records each, ``hoodie.commits.archival.batch``) whose header has only SCHEMA = the
  ``HoodieArchivedMetaEntry`` schema (``HoodieTimelineArchiver.writeToFile``);
* each record is one ``HoodieArchivedMetaEntry`` per archived instant *state file*
  (requested, inflight and completed are three records), built as
  ``MetadataConversionUtils.createMetaWrapper`` does.

This module owns that format: :class:`ArchivedInstant` (one entry; to and from its Avro
record, and built from a state file), :func:`encode_archive_file` and
:func:`decode_archive_file`, and the reader :func:`read_archived`. Which instants to archive,
and the crash-safe order of writing and deleting, are ``services/archive.py``'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs

from hudiwrite.exceptions import CorruptTableError, UnsupportedTableError
from hudiwrite.formats.avro_ocf import read_single_record
from hudiwrite.formats.hudi_avro_schemas import (
    commit_metadata_record,
    parsed,
    schema_dict,
    schema_json,
)
from hudiwrite.formats.logblock.avro_data import avro_records_content, decode_avro_records
from hudiwrite.formats.logblock.frame import BlockType, HeaderKey, LogBlock, encode_block
from hudiwrite.formats.logfile import LogFileBlock, read_blocks
from hudiwrite.model.naming import archive_file_version
from hudiwrite.timeline.instant import Action, Instant, State
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.metadata import json_metadata_object

__all__ = [
    "ARCHIVE_BATCH_SIZE",
    "ArchivedInstant",
    "archive_files",
    "decode_archive_file",
    "encode_archive_file",
    "read_archive_file",
    "read_archived",
]

#: ``hoodie.commits.archival.batch`` default: records per Avro data block.
ARCHIVE_BATCH_SIZE: Final = 10

_ENTRY: Final = "HoodieArchivedMetaEntry"
_ENTRY_FIELDS: Final = tuple(f["name"] for f in schema_dict(_ENTRY)["fields"])
# What identifies the state file; every other field of the entry is a metadata payload.
_IDENTITY: Final = frozenset(
    {"commitTime", "actionType", "actionState", "version", "stateTransitionTime"}
)
_PAYLOAD_FIELDS: Final = frozenset(_ENTRY_FIELDS) - _IDENTITY


# ---------------------------------------------------------------------------------------------
# one entry


def _known_payloads(_: Any, __: Any, value: Mapping[str, Any]) -> None:
    unknown = set(value) - _PAYLOAD_FIELDS
    if unknown:
        raise ValueError(f"not HoodieArchivedMetaEntry payload fields: {sorted(unknown)}")


@attrs.frozen
class ArchivedInstant:
    """One ``HoodieArchivedMetaEntry``: a state file of an archived instant and its metadata.

    ``payloads`` holds the entry's metadata fields that are set, by their Avro field name
    (``hoodieCommitMetadata``, ``hoodieCleanerPlan`` ...), each an Avro record as fastavro
    reads and writes it; Java sets at most one. ``version`` and ``stateTransitionTime`` are
    null in the entries hudiwrite writes (``new HoodieArchivedMetaEntry()`` leaves them so,
    and Storage does not expose the state file's modification time Java 0.14/0.15 puts in
    ``stateTransitionTime``); entries Java wrote may carry them.
    """

    time: str
    action: str
    state: State
    payloads: Mapping[str, Any] = attrs.field(factory=dict, validator=_known_payloads)
    state_transition_time: str | None = None
    version: int | None = None

    @property
    def instant(self) -> Instant:
        """The state file this entry stands for, as an instant of the active timeline."""
        return Instant(self.time, self.action, self.state)

    def payload(self, field: str) -> Any:
        """The Avro record of metadata field ``field``, or None when the entry has none."""
        return self.payloads.get(field)

    @classmethod
    def from_record(
        cls, record: Mapping[str, Any], where: str = "archived entry"
    ) -> ArchivedInstant:
        """From a decoded ``HoodieArchivedMetaEntry`` record.

        Raises CorruptTableError when the record lacks its time, action or state, or names a
        state Java does not have (Java's reader fails on such a record as well).
        """
        time, action, state = (record.get(k) for k in ("commitTime", "actionType", "actionState"))
        if time is None or action is None or state is None:
            raise CorruptTableError(f"{where} lacks its commitTime, actionType or actionState")
        try:
            parsed_state = State[str(state)]  # HoodieInstant.State.valueOf
        except KeyError:
            raise CorruptTableError(f"{where} has an unknown actionState {state!r}") from None
        return cls(
            time=str(time),
            action=str(action),
            state=parsed_state,
            payloads={k: v for k, v in record.items() if k in _PAYLOAD_FIELDS and v is not None},
            state_transition_time=record.get("stateTransitionTime"),
            version=record.get("version"),
        )

    def to_record(self) -> dict[str, Any]:
        """The ``HoodieArchivedMetaEntry`` record: every field present, unset ones null (as
        ``new HoodieArchivedMetaEntry()`` leaves them, not the schema defaults)."""
        record: dict[str, Any] = {name: None for name in _ENTRY_FIELDS}
        record.update(self.payloads)
        record["commitTime"] = self.time
        record["actionType"] = self.action
        record["actionState"] = self.state.name  # HoodieInstant.State.name()
        record["version"] = self.version
        record["stateTransitionTime"] = self.state_transition_time
        return record

    @classmethod
    def from_state_file(
        cls, instant: Instant, content: bytes, *, plan: bytes | None = None
    ) -> ArchivedInstant:
        """The entry of one state file (``content`` = its bytes).

        ``plan`` is the compaction plan (the ``.compaction.requested`` or
        ``.logcompaction.requested`` bytes) for compaction states, or the cleaner plan for a
        clean inflight file that is empty. Per action and state, as in
        MetadataConversionUtils.createMetaWrapper:

        * commit / deltacommit, any state: ``hoodieCommitMetadata`` if the JSON is not empty
          and its operation is not UNKNOWN (so the empty requested file has none, the inflight
          workload profile and the completed metadata have it); a completed compaction is a
          ``commit`` with operation COMPACT;
        * clean: completed -> ``hoodieCleanMetadata``, requested/inflight ->
          ``hoodieCleanerPlan``;
        * rollback: completed -> ``hoodieRollbackMetadata``, other states nothing;
        * compaction / logcompaction requested and inflight: ``hoodieCompactionPlan`` read from
          the requested file (0.x CompactionUtils.getCompactionPlan(metaClient, instantTime)
          reads the plan whatever the state; 0.x
          HoodieArchivedTimeline.loadCompactionDetailsInMemory looks for it on the INFLIGHT
          entry);
        * replacecommit: completed -> ``hoodieReplaceCommitMetadata``, inflight ->
          ``HoodieInflightReplaceMetadata`` (if not empty), requested ->
          ``hoodieRequestedReplaceMetadata`` (if not empty);
        * savepoint: ``hoodieSavePointMetadata``.

        An empty completed file gives an entry without payload
        (createMetaWrapperForEmptyInstant). Raises UnsupportedTableError for other actions
        (Java: "Action not fully supported yet") and CorruptTableError for a state file that
        does not parse.
        """
        field, payload = _state_file_payload(instant, content, plan)
        payloads = {} if field is None or payload is None else {field: payload}
        return cls(instant.time, instant.action, instant.state, payloads)


def _json_metadata(content: bytes, instant: Instant) -> dict[str, Any] | None:
    """The JSON commit metadata of a state file; None when Java would archive none.

    MetadataConversionUtils.getCommitMetadata: an empty file deserializes to a fresh object
    with operation UNKNOWN, and that yields no metadata in the archived entry.
    """
    obj = json_metadata_object(content, f"commit metadata of {instant}")
    if obj is None or str(obj.get("operationType") or "UNKNOWN") == "UNKNOWN":
        return None
    return obj


def _avro_payload(content: bytes, name: str, instant: Instant) -> dict[str, Any] | None:
    """An Avro timeline file resolved to this module's ``name`` schema; None when empty."""
    if not content:
        return None
    try:
        ocf = read_single_record(content, reader_schema=parsed(name))
    except CorruptTableError as exc:
        raise CorruptTableError(f"{instant}: {exc}") from exc
    return None if ocf is None else ocf.record


def _commit_payload(content: bytes, instant: Instant, *, replace: bool = False) -> Any:
    obj = _json_metadata(content, instant)
    return None if obj is None else commit_metadata_record(obj, replace=replace)


def _state_file_payload(
    instant: Instant, content: bytes, plan: bytes | None
) -> tuple[str | None, Any]:
    """(entry field, Avro record) createMetaWrapper sets for one state file; see
    :meth:`ArchivedInstant.from_state_file`."""
    action = instant.action
    if action in Action.COMMIT_METADATA:
        return "hoodieCommitMetadata", _commit_payload(content, instant)
    if action == Action.CLEAN:
        if instant.is_completed:
            return "hoodieCleanMetadata", _avro_payload(content, "HoodieCleanMetadata", instant)
        source = content or plan or b""
        return "hoodieCleanerPlan", _avro_payload(source, "HoodieCleanerPlan", instant)
    if action == Action.ROLLBACK:
        if not instant.is_completed:
            return None, None
        return "hoodieRollbackMetadata", _avro_payload(content, "HoodieRollbackMetadata", instant)
    if action in (Action.COMPACTION, Action.LOG_COMPACTION):
        source = plan if plan is not None else content
        return "hoodieCompactionPlan", _avro_payload(source, "HoodieCompactionPlan", instant)
    if action == Action.REPLACE_COMMIT:
        if instant.is_completed:
            return "hoodieReplaceCommitMetadata", _commit_payload(content, instant, replace=True)
        if instant.state is State.INFLIGHT:
            return "HoodieInflightReplaceMetadata", _commit_payload(content, instant)
        name = "HoodieRequestedReplaceMetadata"
        return "hoodieRequestedReplaceMetadata", _avro_payload(content, name, instant)
    if action == Action.SAVEPOINT:
        name = "HoodieSavepointMetadata"
        return "hoodieSavePointMetadata", _avro_payload(content, name, instant)
    # MetadataConversionUtils: "Action not fully supported yet"
    raise UnsupportedTableError(f"cannot archive {instant}: action {action!r}")


# ---------------------------------------------------------------------------------------------
# one archive file


def encode_archive_file(entries: Sequence[ArchivedInstant]) -> bytes:
    """The bytes of an archive file holding ``entries``: Avro data blocks of at most
    :data:`ARCHIVE_BATCH_SIZE` records, each with SCHEMA alone in its header
    (HoodieTimelineArchiver.writeToFile)."""
    text = schema_json(_ENTRY)
    blocks = []
    for start in range(0, len(entries), ARCHIVE_BATCH_SIZE):
        batch = [e.to_record() for e in entries[start : start + ARCHIVE_BATCH_SIZE]]
        block = LogBlock(
            BlockType.AVRO_DATA_BLOCK,
            ((HeaderKey.SCHEMA, text),),
            avro_records_content(batch, text),
        )
        blocks.append(encode_block(block))
    return b"".join(blocks)


def decode_archive_file(data: bytes, where: str = "archive file") -> list[ArchivedInstant]:
    """The entries of an archive file's bytes, in file order.

    Corrupt byte ranges, blocks other than Avro data blocks and blocks without a SCHEMA are
    skipped, as Java's reader skips them; records are resolved against Java's current entry
    schema. Raises CorruptTableError for an entry :meth:`ArchivedInstant.from_record` refuses.
    """
    reader_text = schema_json(_ENTRY)
    out: list[ArchivedInstant] = []
    for item in read_blocks(data):
        if not isinstance(item, LogFileBlock):
            continue
        block = item.block
        if block.block_type != BlockType.AVRO_DATA_BLOCK or block.schema is None:
            continue
        writer = block.schema
        reader = None if writer == reader_text else reader_text
        records = decode_avro_records(block.content, writer, reader)
        out.extend(ArchivedInstant.from_record(r, f"an entry of {where}") for r in records)
    return out


# ---------------------------------------------------------------------------------------------
# the archive folder


def archive_files(meta: MetaClient) -> list[tuple[int, str]]:
    """(N, relative path) of every archive file of the table, oldest (lowest N) first."""
    out = []
    for f in meta.storage.list_files(meta.archive_dir):
        version = archive_file_version(f.name)
        if version is not None:
            out.append((version, f.path))
    return sorted(out)


def read_archive_file(meta: MetaClient, path: str) -> list[ArchivedInstant]:
    """The entries of the archive file at ``path`` (relative), see :func:`decode_archive_file`."""
    return decode_archive_file(meta.storage.read_bytes(path), path)


def read_archived(meta: MetaClient) -> list[ArchivedInstant]:
    """Every entry of the archived timeline, oldest file first.

    Java (HoodieArchivedTimeline.loadInstants) reads the files newest first and sorts the
    instants it collects; file order here is the order they were written.
    """
    entries: list[ArchivedInstant] = []
    for _, path in archive_files(meta):
        entries.extend(read_archive_file(meta, path))
    return entries
