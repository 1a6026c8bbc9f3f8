"""Archival of the active timeline for table version 6 (Hudi 0.14/0.15, timeline layout 1).

A table that commits forever must keep ``.hoodie/`` short: archival moves the oldest instants
into ``.hoodie/archived/`` and then deletes their files from the active timeline. Instants
older than the first active instant still count as committed (protocol §1.4,
``containsOrBeforeTimelineStarts``), so the table reads the same before and after.

On-disk format, as Java's ``HoodieTimelineArchiver`` writes it for v6 tables:

* every run writes a new Hudi log file ``.hoodie/archived/.commits_.archive.<N>_1-0-1``
  (never appended to: object stores cannot append, and Java rolls over to ``N+1`` there);
* the file holds Avro data blocks (content version 3, at most 10 records each,
  ``hoodie.commits.archival.batch``) whose header has only SCHEMA = the
  ``HoodieArchivedMetaEntry`` schema (``HoodieTimelineArchiver.writeToFile``);
* one ``HoodieArchivedMetaEntry`` per archived instant *state file* (requested, inflight and
  completed are three records), built as ``MetadataConversionUtils.createMetaWrapper`` does.

The three pieces: :func:`plan_archive` (pure: which instants), :func:`run_archive` (write the
archive file, then delete the instant files in a crash-safe order) and :func:`read_archived`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from hudiwrite.exceptions import CorruptTableError, UnsupportedTableError
from hudiwrite.formats.avro_ocf import read_single_record
from hudiwrite.formats.hudi_avro_schemas import (
    parsed,
    schema_dict,
    schema_json,
    write_stat_record,
)
from hudiwrite.formats.logblock import (
    BlockType,
    HeaderKey,
    LogBlock,
    avro_records_content,
    decode_avro_records,
    encode_block,
)
from hudiwrite.formats.logfile import LogFileBlock, read_blocks
from hudiwrite.model.naming import (
    AUX_DIR,
    archive_file_name,
    archive_file_version,
)
from hudiwrite.services.settings import ArchiveResult, ArchiveSettings
from hudiwrite.timeline.instant import Action, Instant, State
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.metadata import json_metadata_object
from hudiwrite.timeline.timeline import Timeline
from hudiwrite.write.markers import Markers

__all__ = [
    "ARCHIVE_BATCH_SIZE",
    "ArchiveGroup",
    "commit_metadata_record",
    "plan_archive",
    "read_archived",
    "run_archive",
    "to_archived_entry",
]

log = logging.getLogger("hudiwrite")

#: All state files of one instant (requested, inflight, completed), in state order.
ArchiveGroup = tuple[Instant, ...]

#: ``hoodie.commits.archival.batch`` default: records per Avro data block.
ARCHIVE_BATCH_SIZE: Final = 10

_ENTRY: Final = "HoodieArchivedMetaEntry"

# Archived by their own count rule (HoodieTimelineArchiver.getCleanInstantsToArchive).
_CLEANS: Final = (Action.CLEAN, Action.ROLLBACK)
# Never archived by Java 0.x; hudiwrite also lets none of them end up older than an archived
# commit (see plan_archive).
_KEPT: Final = frozenset({Action.SAVEPOINT, Action.RESTORE, Action.INDEXING})


# ---------------------------------------------------------------------------------------------
# names (file names are model/naming.py's, the folder is MetaClient.archive_dir)


def _archive_files(meta: MetaClient) -> list[tuple[int, str]]:
    """(N, relative path) of every archive file, oldest (lowest N) first."""
    out = []
    for f in meta.storage.list_files(meta.archive_dir):
        version = archive_file_version(f.name)
        if version is not None:
            out.append((version, f.path))
    return sorted(out)


# ---------------------------------------------------------------------------------------------
# planning (pure)


def _group_key(instant: Instant, timeline: Timeline) -> tuple[str, str]:
    return (instant.time, timeline.layout.comparable_action(instant.action))


def _default_states(instant: Instant) -> ArchiveGroup:
    """The state files layout 1 leaves for a completed instant when no listing is given."""
    states = (State.REQUESTED, State.INFLIGHT, State.COMPLETED)
    return tuple(Instant(instant.time, instant.action, s) for s in states)


def _min_time(*times: str | None) -> str | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None


def _before(time: str, bound: str | None) -> bool:
    return bound is None or time < bound


def plan_archive(
    timeline: Timeline,
    settings: ArchiveSettings,
    *,
    earliest_clean_retained: str | None,
    state_files: Iterable[Instant] | None = None,
) -> list[ArchiveGroup]:
    """Which instants to archive: groups of state files, oldest first. Does no I/O.

    Commits (HoodieTimelineArchiver.getCommitInstantsToArchive, 0.14): only when the
    completed commits timeline (commit, deltacommit, replacecommit; a completed compaction is
    a ``commit``) holds more than ``max_instants``, the oldest ones are archived, at most
    ``count - min_instants`` of them, and never

    * at or after the latest completed commit before the oldest pending write (Java's
      ``oldestCommitToRetain``: pending commit/deltacommit/compaction/logcompaction/replace);
    * at or after any other pending instant (clean, rollback, ...: hudiwrite's addition);
    * at or after the first savepoint, restore or indexing instant (Java stops at the first
      savepoint and never archives these actions; hudiwrite stops at all of them so none is
      left older than an archived commit);
    * at or after ``earliest_clean_retained``, the ``earliestCommitToRetain`` of the latest
      completed clean (the incremental cleaner and incremental reads need those commits; Java
      0.14 gets the same effect by raising min/max from the cleaner config, ArchivalUtils);
    * at or after the first replacecommit the last clean has not yet covered
      (ClusteringUtils.getOldestInstantToRetainForClustering: the replaced file groups must
      be cleaned before the replacecommit that hides them leaves the timeline).

    Cleans and rollbacks: Java archives the oldest ``count - min_instants`` completed ones of
    each action once there are more than ``max_instants`` (getCleanInstantsToArchive). On top
    of that, every completed clean or rollback older than the first commit that stays is
    archived along with the commits, so the active timeline still starts at a retained commit
    (hudiwrite's reader counts everything before the first active instant as committed, so no
    instant may stay behind older than an archived commit). Both stop at the pending,
    savepoint and clean-retained bounds above. This keeps Java's rules where they are simple
    and trades its config-driven extras (metadata-table and inline-compaction retention) for
    those fixed bounds; compared with Java it archives fewer commits, and cleans/rollbacks
    earlier only when they are older than every retained commit.

    ``state_files`` are the instants of every timeline file (all states; what a listing of
    ``.hoodie/`` parses to). Without it each group holds the requested/inflight/completed
    states layout 1 normally leaves. Whole instants are archived: every state file present.
    """
    instants = timeline.instants
    pending = [i for i in instants if not i.is_completed]
    commits = sorted(
        (i for i in instants if i.is_completed and i.action in Action.WRITES), key=lambda i: i.time
    )

    # Bounds that stop every kind of archival.
    oldest_pending = min((i.time for i in pending), default=None)
    first_kept = min((i.time for i in instants if i.action in _KEPT), default=None)
    hard_bound = _min_time(oldest_pending, first_kept, earliest_clean_retained)

    # Java's oldestCommitToRetain: the greatest completed commit before the oldest pending
    # write, or the pending write itself when no commit precedes it.
    oldest_pending_write = min(
        (i.time for i in pending if i.action in Action.WRITE_TIMELINE), default=None
    )
    retain_for_writes = None
    if oldest_pending_write is not None:
        before = [c.time for c in commits if c.time < oldest_pending_write]
        retain_for_writes = before[-1] if before else oldest_pending_write

    # ClusteringUtils.getOldestInstantToRetainForClustering.
    retain_for_replace = None
    replaces = sorted(i.time for i in instants if i.action == Action.REPLACE_COMMIT)
    if replaces:
        cleans_done = [
            i.time for i in instants if i.action == Action.CLEAN and i.state != State.REQUESTED
        ]
        if cleans_done:
            lower = earliest_clean_retained or max(cleans_done)
            retain_for_replace = next((t for t in replaces if t >= lower), None)
        else:
            retain_for_replace = replaces[0]

    commit_bound = _min_time(hard_bound, retain_for_writes, retain_for_replace)
    chosen: list[Instant] = []
    if len(commits) > settings.max_instants:
        limit = max(0, len(commits) - settings.min_instants)
        eligible = [c for c in commits if _before(c.time, commit_bound)]
        chosen.extend(eligible[:limit])
    chosen_times = {c.time for c in chosen}
    remaining = [c for c in commits if c.time not in chosen_times]
    new_start = remaining[0].time if remaining else commit_bound

    for action in _CLEANS:
        done = sorted(
            (i for i in instants if i.is_completed and i.action == action), key=lambda i: i.time
        )
        by_count: set[str] = set()
        if len(done) > settings.max_instants:
            by_count = {i.time for i in done[: max(0, len(done) - settings.min_instants)]}
        for i in done:
            if _before(i.time, hard_bound) and (i.time in by_count or _before(i.time, new_start)):
                chosen.append(i)

    if not chosen:
        return []
    wanted = {_group_key(i, timeline) for i in chosen}
    groups: dict[tuple[str, str], list[Instant]] = {key: [] for key in wanted}
    if state_files is None:
        for i in chosen:
            groups[_group_key(i, timeline)].extend(_default_states(i))
    else:
        for i in state_files:
            found = groups.get(_group_key(i, timeline))
            if found is not None and i not in found:
                found.append(i)
    return [
        tuple(sorted(groups[key], key=lambda i: (int(i.state), i.action)))
        for key in sorted(groups)
        if groups[key]
    ]


# ---------------------------------------------------------------------------------------------
# instant -> HoodieArchivedMetaEntry (MetadataConversionUtils.createMetaWrapper)


_ENTRY_FIELDS: Final = tuple(f["name"] for f in schema_dict(_ENTRY)["fields"])


def commit_metadata_record(obj: Mapping[str, Any], *, replace: bool = False) -> dict[str, Any]:
    """Avro ``HoodieCommitMetadata`` (or ``HoodieReplaceCommitMetadata``) from the JSON form.

    MetadataConversionUtils.convertCommitMetadata is a Jackson ``convertValue`` of the Java
    object into the Avro class: fields are matched by name, unknown JSON properties
    (``recordsStats`` ...) dropped, and ``version`` stays null because Jackson builds the Avro
    object with its no-arg constructor. A fresh Java object has empty maps, ``compacted``
    false and operation ``UNKNOWN``; those fill what the JSON lacks.
    """
    stats = obj.get("partitionToWriteStats") or {}
    extra = obj.get("extraMetadata") or {}
    compacted = bool(obj.get("compacted") or False)
    operation = str(obj.get("operationType") or "UNKNOWN")
    if compacted:
        # 0.13's convertCommitMetadata forces COMPACT on a compaction commit (a no-op for
        # hudiwrite's, which say COMPACT already); its ``ROLLING_STAT: ""`` extraMetadata
        # entry, dropped in later versions, is not reproduced.
        operation = "COMPACT"
    record: dict[str, Any] = {
        "partitionToWriteStats": {
            str(p): [write_stat_record(s) for s in (entries or [])] for p, entries in stats.items()
        },
        "compacted": compacted,
        "extraMetadata": {str(k): str(v) for k, v in extra.items() if v is not None},
        "version": None,
        "operationType": operation,
    }
    if replace:
        ids = obj.get("partitionToReplaceFileIds") or {}
        record["partitionToReplaceFileIds"] = {
            str(p): [str(f) for f in (v or [])] for p, v in ids.items()
        }
    return record


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


def _empty_entry(instant: Instant, action_type: str) -> dict[str, Any]:
    # ``new HoodieArchivedMetaEntry()`` leaves every field null (not the schema defaults), so
    # ``version`` is null too. ``stateTransitionTime`` is the state file's modification time in
    # Java 0.14/0.15; Storage does not expose it, and the field is optional (readers cast a
    # null to String).
    entry: dict[str, Any] = {name: None for name in _ENTRY_FIELDS}
    entry["commitTime"] = instant.time
    entry["actionType"] = action_type
    entry["actionState"] = instant.state.name  # HoodieInstant.State.name()
    return entry


def to_archived_entry(
    instant: Instant, content: bytes, *, plan: bytes | None = None
) -> dict[str, Any]:
    """The ``HoodieArchivedMetaEntry`` of one state file (``content`` = its bytes).

    ``plan`` is the compaction plan (the ``.compaction.requested`` or
    ``.logcompaction.requested`` bytes) for compaction states, or the cleaner plan for a
    clean inflight file that is empty. Per action and state, as in
    MetadataConversionUtils.createMetaWrapper:

    * commit / deltacommit, any state: ``hoodieCommitMetadata`` if the JSON is not empty and
      its operation is not UNKNOWN (so the empty requested file has none, the inflight
      workload profile and the completed metadata have it); a completed compaction is a
      ``commit`` with operation COMPACT;
    * clean: completed -> ``hoodieCleanMetadata``, requested/inflight -> ``hoodieCleanerPlan``;
    * rollback: completed -> ``hoodieRollbackMetadata``, other states nothing;
    * compaction / logcompaction requested and inflight: ``hoodieCompactionPlan`` read from
      the requested file (0.x CompactionUtils.getCompactionPlan(metaClient, instantTime) reads
      the plan whatever the state; 0.x HoodieArchivedTimeline.loadCompactionDetailsInMemory
      looks for it on the INFLIGHT entry);
    * replacecommit: completed -> ``hoodieReplaceCommitMetadata``, inflight ->
      ``HoodieInflightReplaceMetadata`` (if not empty), requested ->
      ``hoodieRequestedReplaceMetadata`` (if not empty);
    * savepoint: ``hoodieSavePointMetadata``.

    An empty completed file gives an entry without payload (createMetaWrapperForEmptyInstant).
    """
    action = instant.action
    entry = _empty_entry(instant, action)
    if action in Action.COMMIT_METADATA:
        obj = _json_metadata(content, instant)
        if obj is not None:
            entry["hoodieCommitMetadata"] = commit_metadata_record(obj)
    elif action == Action.CLEAN:
        if instant.is_completed:
            entry["hoodieCleanMetadata"] = _avro_payload(content, "HoodieCleanMetadata", instant)
        else:
            source = content or plan or b""
            entry["hoodieCleanerPlan"] = _avro_payload(source, "HoodieCleanerPlan", instant)
    elif action == Action.ROLLBACK:
        if instant.is_completed:
            entry["hoodieRollbackMetadata"] = _avro_payload(
                content, "HoodieRollbackMetadata", instant
            )
    elif action in (Action.COMPACTION, Action.LOG_COMPACTION):
        source = plan if plan is not None else content
        entry["hoodieCompactionPlan"] = _avro_payload(source, "HoodieCompactionPlan", instant)
    elif action == Action.REPLACE_COMMIT:
        if instant.is_completed:
            obj = _json_metadata(content, instant)
            if obj is not None:
                entry["hoodieReplaceCommitMetadata"] = commit_metadata_record(obj, replace=True)
        elif instant.state is State.INFLIGHT:
            obj = _json_metadata(content, instant)
            if obj is not None:
                entry["HoodieInflightReplaceMetadata"] = commit_metadata_record(obj)
        else:
            entry["hoodieRequestedReplaceMetadata"] = _avro_payload(
                content, "HoodieRequestedReplaceMetadata", instant
            )
    elif action == Action.SAVEPOINT:
        entry["hoodieSavePointMetadata"] = _avro_payload(
            content, "HoodieSavepointMetadata", instant
        )
    else:
        # MetadataConversionUtils: "Action not fully supported yet"
        raise UnsupportedTableError(f"cannot archive {instant}: action {action!r}")
    return entry


def _entry_key(entry: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(entry["commitTime"]), str(entry["actionType"]), str(entry["actionState"]))


def _instant_key(instant: Instant) -> tuple[str, str, str]:
    return (instant.time, instant.action, instant.state.name)


# ---------------------------------------------------------------------------------------------
# reading


def _file_entries(meta: MetaClient, path: str) -> list[dict[str, Any]]:
    """The entries of one archive file (corrupt ranges skipped, as Java's reader does)."""
    reader_text = schema_json(_ENTRY)
    out: list[dict[str, Any]] = []
    for item in read_blocks(meta.storage.read_bytes(path)):
        if not isinstance(item, LogFileBlock):
            continue
        block = item.block
        if block.block_type != BlockType.AVRO_DATA_BLOCK or block.schema is None:
            continue
        writer = block.schema
        reader = None if writer == reader_text else reader_text
        out.extend(decode_avro_records(block.content, writer, reader))
    return out


def read_archived(meta: MetaClient) -> list[dict[str, Any]]:
    """Every ``HoodieArchivedMetaEntry`` of the archived timeline, oldest file first.

    Java (HoodieArchivedTimeline.loadInstants) reads the files newest first and sorts the
    instants it collects; file order here is the order they were written.
    """
    entries: list[dict[str, Any]] = []
    for _, path in _archive_files(meta):
        entries.extend(_file_entries(meta, path))
    return entries


# ---------------------------------------------------------------------------------------------
# running


def _leftover_keys(
    meta: MetaClient, files: Sequence[tuple[int, str]], active: set[tuple[str, str, str]]
) -> set[tuple[str, str, str]]:
    """Entries of archive files an interrupted run left behind, newest file first.

    A finished run deletes every instant it archived, so only the newest files can hold
    entries of instants still on the active timeline; reading stops at the first file that
    holds none.
    """
    keys: set[tuple[str, str, str]] = set()
    for _, path in reversed(files):
        found = {_entry_key(e) for e in _file_entries(meta, path)}
        if not found & active:
            break
        keys |= found
    return keys


def _write_archive_file(
    meta: MetaClient, entries: Sequence[Mapping[str, Any]], files: Sequence[tuple[int, str]]
) -> str:
    """Write a new archive file holding ``entries``; its relative path.

    The name is the next version after the highest existing one; a name taken meanwhile (a
    concurrent archiver) moves on to the next version.
    """
    text = schema_json(_ENTRY)
    blocks = []
    for start in range(0, len(entries), ARCHIVE_BATCH_SIZE):
        batch = entries[start : start + ARCHIVE_BATCH_SIZE]
        # HoodieTimelineArchiver.writeToFile: the header holds SCHEMA only.
        block = LogBlock(
            BlockType.AVRO_DATA_BLOCK,
            ((HeaderKey.SCHEMA, text),),
            avro_records_content(batch, text),
        )
        blocks.append(encode_block(block))
    data = b"".join(blocks)
    version = (files[-1][0] if files else 0) + 1  # HoodieLogFile.LOGFILE_BASE_VERSION = 1
    folder = meta.archive_dir
    for _ in range(16):
        path = f"{folder}/{archive_file_name(version)}"
        try:
            meta.storage.create_exclusive(path, data)
            return path
        except FileExistsError:
            version += 1
    raise FileExistsError(f"no free archive file name in {folder}")


def _entries_for(
    meta: MetaClient, states: Iterable[Instant], skip: set[tuple[str, str, str]]
) -> list[dict[str, Any]]:
    out = []
    for instant in states:
        if _instant_key(instant) in skip:
            continue
        content = meta.read_instant(instant)
        plan: bytes | None = None
        if instant.action in (Action.COMPACTION, Action.LOG_COMPACTION):
            requested = Instant(instant.time, instant.action, State.REQUESTED)
            plan = content if instant == requested else meta.read_instant(requested)
        elif instant.action == Action.CLEAN and instant.state is State.INFLIGHT and not content:
            plan = meta.read_instant(Instant(instant.time, Action.CLEAN, State.REQUESTED))
        out.append(to_archived_entry(instant, content, plan=plan))
    return out


def _delete_archived(meta: MetaClient, states: Sequence[Instant]) -> None:
    """Remove archived instants from the active timeline, in Java's order.

    HoodieTimelineArchiver.deleteArchivedInstants: first every requested and inflight file,
    then the completed files one by one in ascending time (HUDI-7207). Deleting a completed
    file first would leave its instant looking pending: a deltacommit would look like a
    crashed write that the next writer rolls back, a compaction like a plan still to run.
    Ascending order keeps the timeline free of holes: whatever is gone is older than
    everything left, so it still counts as committed before the timeline start. A crash at
    any point leaves a table that reads the same, and the next run finishes the job.
    """
    storage = meta.storage
    for instant in states:
        if not instant.is_completed:
            storage.delete(meta.instant_path(instant))
    for instant in sorted((i for i in states if i.is_completed), key=lambda i: i.time):
        storage.delete(meta.instant_path(instant))


def _cleanup_aux_and_markers(
    meta: MetaClient, states: Sequence[Instant], timeline_after: Timeline
) -> None:
    """Drop what the archived instants left beside the timeline.

    Markers: HoodieTimelineArchiver.deleteAnyLeftOverMarkers. ``.aux``: the 0.x archiver
    removed every ``.aux`` instant file at or before the latest archived commit
    (deleteAllInstantsOlderOrEqualsInAuxMetaFolder), which also catches copies a crash left
    behind; instants still active are kept.
    """
    storage = meta.storage
    for time in sorted({i.time for i in states}):
        Markers(storage, time).delete_all()
    commits = [i.time for i in states if i.is_completed and i.action in Action.COMMIT_METADATA]
    if not commits:
        return
    threshold = max(commits)
    active = {i.time for i in timeline_after.instants}
    for f in storage.list_files(AUX_DIR):
        aux = timeline_after.layout.parse_instant_file(f.name)
        if aux is not None and aux.time <= threshold and aux.time not in active:
            storage.delete(f.path)


def _interrupted(by_group: Mapping[tuple[str, str], Sequence[Instant]]) -> bool:
    """Whether a completed instant lacks its requested file: the trace of a run that died
    while deleting (pending states go first). Only then is the archive read when nothing
    else is due; a run that died before deleting plans the same instants again anyway."""
    for states in by_group.values():
        kinds = {i.state for i in states}
        savepoint = any(i.action == Action.SAVEPOINT for i in states)  # has no requested file
        if State.COMPLETED in kinds and State.REQUESTED not in kinds and not savepoint:
            return True
    return False


def archive_due(meta: MetaClient, timeline: Timeline, settings: ArchiveSettings) -> bool:
    """Whether archival would move anything now (a cheap check before taking the
    table-services lock; :func:`run_archive` plans again under it)."""
    if meta.layout.has_completion_times or not meta.layout.writable:
        return False
    earliest = meta.earliest_clean_retained(timeline)
    return bool(plan_archive(timeline, settings, earliest_clean_retained=earliest))


def run_archive(meta: MetaClient, settings: ArchiveSettings) -> ArchiveResult:
    """Archive the instants :func:`plan_archive` picks; what was archived and where.

    1. Finish an interrupted run: instants whose every state file is already recorded in the
       newest archive files are only deleted (looked for when something is due, or when the
       timeline shows a run died while deleting).
    2. Plan on the rest of the timeline; write one new archive file with an entry per state
       file not yet archived.
    3. Delete the archived instants' files (:func:`_delete_archived` order), then their
       markers and ``.aux`` copies.

    A crash after step 2 leaves the active timeline untouched (the table reads the same); the
    next run sees the entries of the instants still active and writes them no second time.
    """
    meta.require_writable("archival")
    if meta.layout.has_completion_times:
        raise UnsupportedTableError(
            "archival writes the table-version-6 archived timeline, not the LSM timeline of "
            f"version {meta.config.version}"
        )
    storage = meta.storage
    storage.invalidate()
    names = [f.name for f in storage.list_files(meta.layout.timeline_dir)]
    timeline = Timeline.from_file_names(meta.layout, names)
    state_files = [i for i in (meta.layout.parse_instant_file(n) for n in names) if i is not None]
    earliest = meta.earliest_clean_retained(timeline)
    groups = plan_archive(
        timeline, settings, earliest_clean_retained=earliest, state_files=state_files
    )
    by_group: dict[tuple[str, str], list[Instant]] = {}
    for i in state_files:
        by_group.setdefault(_group_key(i, timeline), []).append(i)
    if not groups and not _interrupted(by_group):
        return ArchiveResult(archived=(), archive_file=None)

    # 1. groups an interrupted run already wrote out completely
    files = _archive_files(meta)
    active_keys = {_instant_key(i) for i in state_files}
    leftover = _leftover_keys(meta, files, active_keys) if files else set()
    recovered = {
        key: tuple(sorted(states, key=lambda i: int(i.state)))
        for key, states in by_group.items()
        if leftover and all(_instant_key(i) in leftover for i in states)
    }
    if recovered:
        log.info("finishing an interrupted archival of %d instants", len(recovered))
        rest = Timeline(
            timeline.layout,
            tuple(i for i in timeline.instants if _group_key(i, timeline) not in recovered),
        )
        rest_states = [i for i in state_files if _group_key(i, timeline) not in recovered]
        earliest = meta.earliest_clean_retained(rest)
        groups = plan_archive(
            rest, settings, earliest_clean_retained=earliest, state_files=rest_states
        )

    if not groups and not recovered:
        return ArchiveResult(archived=(), archive_file=None)

    # 2. the archive file
    planned = [i for g in groups for i in g]
    entries = _entries_for(meta, planned, leftover)
    archive_file = _write_archive_file(meta, entries, files) if entries else None

    # 3. deletions
    archived = sorted(
        {i for g in recovered.values() for i in g} | set(planned), key=lambda i: i.sort_key
    )
    _delete_archived(meta, archived)
    gone = {_group_key(i, timeline) for i in archived}
    after = Timeline(
        timeline.layout,
        tuple(i for i in timeline.instants if _group_key(i, timeline) not in gone),
    )
    _cleanup_aux_and_markers(meta, archived, after)
    storage.invalidate()
    log.info(
        "archived %d instant files (%d entries written to %s)",
        len(archived),
        len(entries),
        archive_file,
    )
    return ArchiveResult(archived=tuple(archived), archive_file=archive_file)
