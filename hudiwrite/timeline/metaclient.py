"""Access to a table's meta folder: properties, the active timeline, instant contents."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TypeVar

import attrs

from hudiwrite.concurrency.heartbeat import Heartbeat
from hudiwrite.exceptions import (
    CommitConflictError,
    CorruptTableError,
    TableNotFoundError,
    UnsupportedTableError,
)
from hudiwrite.formats.avro_schema import TableSchema
from hudiwrite.model.paths import (
    BACKUP_PATH,
    METADATA_TABLE_DIR,
    NEW_TABLE_DIRS,
    PROPERTIES_PATH,
    meta_path,
)
from hudiwrite.model.tableconfig import ARCHIVE_FOLDER, Keys, TableConfig
from hudiwrite.storage import Storage
from hudiwrite.timeline.instant import CLOCK, Action, Instant, State
from hudiwrite.timeline.layout import AVRO_MAGIC, ArchiveFormat, TableLayout, layout_for_config
from hudiwrite.timeline.lsm import CompletionLookup, LsmTimeline
from hudiwrite.timeline.metadata import CommitMetadata
from hudiwrite.timeline.service_metadata import CleanMetadata, CompactionPlan
from hudiwrite.timeline.timeline import Timeline

__all__ = [
    "MetaClient",
    "config_exists",
    "create_table_files",
    "read_table_config",
]

log = logging.getLogger("hudiwrite")


def create_table_files(storage: Storage, config: TableConfig) -> None:
    """Lay out a new table: the meta folders and the archived timeline's folder
    (``.hoodie/archived`` on layout 1; on layout 2 the LSM history folder, with the timeline
    folder above it), then ``hoodie.properties`` put-if-absent (the step that makes it a
    table). FileExistsError if another table got there first."""
    layout = layout_for_config(config.props, config.version, config.timeline_layout_version)
    for d in NEW_TABLE_DIRS:
        storage.makedirs(d)
    storage.makedirs(layout.history_dir or meta_path(ARCHIVE_FOLDER))
    storage.create_exclusive(PROPERTIES_PATH, config.to_bytes())


def _read_config_file(storage: Storage, rel: str) -> TableConfig:
    """One properties file (``FileNotFoundError`` if absent, also when the table location
    is a file rather than a folder)."""
    try:
        raw = storage.read_bytes(rel)
    except NotADirectoryError as exc:
        raise FileNotFoundError(str(exc)) from exc
    return TableConfig.from_bytes(raw, rel)


def read_table_config(storage: Storage) -> TableConfig:
    """Load ``hoodie.properties``; when it is missing, empty, torn or fails its checksum, the
    backup an interrupted update leaves beside it (Java: ``HoodieTableConfig.fetchConfigs``).

    Raises ``TableNotFoundError`` when neither file exists and ``CorruptTableError`` when
    neither is a whole table config.
    """
    try:
        return _read_config_file(storage, PROPERTIES_PATH)
    except FileNotFoundError:
        primary_error: CorruptTableError | None = None
    except CorruptTableError as exc:
        primary_error = exc
    try:
        config = _read_config_file(storage, BACKUP_PATH)
    except FileNotFoundError:
        if primary_error is not None:
            raise CorruptTableError(
                f"{PROPERTIES_PATH} of {storage.uri!r} is unusable and there is no backup: "
                f"{primary_error}"
            ) from None
        raise TableNotFoundError(
            f"no Hudi table at {storage.uri!r} (missing {PROPERTIES_PATH})"
        ) from None
    except CorruptTableError as exc:
        raise CorruptTableError(
            f"neither {PROPERTIES_PATH} ({primary_error or 'missing'}) nor its backup ({exc}) "
            f"of {storage.uri!r} is a whole table config"
        ) from None
    log.warning(
        "%s of %s is %s; using %s (an update of the table config was interrupted)",
        PROPERTIES_PATH,
        storage.uri,
        primary_error or "missing",
        BACKUP_PATH,
    )
    return config


def config_exists(storage: Storage) -> bool:
    """Whether a table config (or the backup an interrupted update left) is there."""
    return storage.exists(PROPERTIES_PATH) or storage.exists(BACKUP_PATH)


_RESERVE_ATTEMPTS = 50

#: Completed commits' metadata (and compaction plans) a client keeps; an active timeline
#: holds fewer.
_COMMIT_METADATA_CACHE = 512
#: Completed instant files a client keeps, up to this many of at most this size each.
_CACHED_FILES = 256
_CACHED_FILE_BYTES = 256 * 1024


_V = TypeVar("_V")


def _keep(cache: dict[str, _V], key: str, value: _V, limit: int) -> None:
    """Put into a bounded per-client cache (emptied when full: the active timeline's files
    are few, so a full cache means a very long-lived client, not a hot working set)."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value


class MetaClient:
    """The table's configuration and layout, and I/O on its timeline."""

    def __init__(self, storage: Storage, config: TableConfig) -> None:
        self.storage = storage
        self.config = config
        self.layout: TableLayout = layout_for_config(
            config.props, config.version, config.timeline_layout_version
        )
        # Completed instants' files never change. Kept: commit metadata once parsed (a file
        # another writer is still writing does not parse, so it is never kept half-read),
        # and the completed files this client wrote itself.
        self._commit_metadata: dict[str, CommitMetadata] = {}
        self._compaction_plans: dict[str, CompactionPlan] = {}
        self._clean_metadata: dict[str, CleanMetadata] = {}
        self._completed_files: dict[str, bytes] = {}
        self._history: LsmTimeline | None = None

    @classmethod
    def load(cls, storage: Storage) -> MetaClient:
        return cls(storage, read_table_config(storage))

    def update_config(self, updates: Mapping[str, str | None]) -> TableConfig:
        """Set (or, for None, remove) properties, crash-safe as Java's
        ``HoodieTableConfig.modify``: the current file is copied to the backup, the new file
        replaces it whole, then the backup goes. A crash at any point leaves a readable
        config: the old one, the backup, or the new one. Applied to the config as stored now
        (another writer may have changed it); returns the new config."""
        storage = self.storage
        try:
            raw = storage.read_bytes(PROPERTIES_PATH)
            current = TableConfig.from_bytes(raw, PROPERTIES_PATH)
        except (FileNotFoundError, CorruptTableError):
            # the primary is torn: the backup is what was read, keep it until replaced
            current = read_table_config(storage)
        else:
            storage.replace_file(BACKUP_PATH, raw)
        updated = current.with_updates(updates)
        storage.replace_file(PROPERTIES_PATH, updated.to_bytes())
        storage.delete(BACKUP_PATH)
        self._set_config(updated)
        return updated

    def _set_config(self, config: TableConfig) -> None:
        self.layout = layout_for_config(
            config.props, config.version, config.timeline_layout_version
        )
        self.config = config

    def require_writable(self, purpose: str) -> None:
        """Raise UnsupportedTableError naming ``purpose`` ("write", "compaction", ...) if
        hudiwrite cannot change this table (:meth:`TableConfig.unwritable_reason`)."""
        reason = self.config.unwritable_reason(self.layout.writable)
        if reason is not None:
            raise UnsupportedTableError(f"cannot run {purpose} on {self.storage.uri!r}: {reason}")

    def drop_metadata_table(self) -> bool:
        """Remove a metadata table hudiwrite does not maintain (it would hide new files from
        readers that trust it) and clear its partitions from the config, as Hudi does when a
        writer runs with the metadata table disabled. Returns whether there was one."""
        config = self.config
        has_dir = self.storage.exists(METADATA_TABLE_DIR)
        flagged = config.get(Keys.METADATA_PARTITIONS) or config.get(
            Keys.METADATA_PARTITIONS_INFLIGHT
        )
        if not has_dir and not flagged:
            return False
        log.warning(
            "table %s has a metadata table; hudiwrite does not maintain it, so it is being "
            "removed (as Hudi does when a writer disables the metadata table)",
            config.name,
        )
        if flagged:
            # HoodieTableConfig.clearMetadataPartitions: both keys set empty (disabling
            # ``files`` disables every partition); index definitions (1.x
            # ``.index_defs/index.json``) are left as Java's deleteMetadataTable leaves them.
            self.update_config(
                {Keys.METADATA_PARTITIONS: "", Keys.METADATA_PARTITIONS_INFLIGHT: ""}
            )
        self.storage.delete_tree(METADATA_TABLE_DIR)
        return True

    def reload_config(self) -> None:
        """Re-read ``hoodie.properties`` (another writer may have changed the table)."""
        self._set_config(read_table_config(self.storage))

    # -- timeline --------------------------------------------------------------------------

    @property
    def archive_dir(self) -> str:
        """``.hoodie/<hoodie.archivelog.folder>`` (HoodieTableMetaClient.getArchivePath)."""
        folder = self.config.props.get(Keys.ARCHIVELOG_FOLDER) or ARCHIVE_FOLDER
        return meta_path(folder)

    @property
    def history(self) -> LsmTimeline | None:
        """The LSM timeline of a layout-2 table (None on layout 1), one object per client so
        that what it caches outlives a timeline."""
        if self.layout.archive_format is not ArchiveFormat.LSM:
            return None
        history = self._history
        if history is None or (self.layout.history_dir or "").strip("/") != history.directory:
            history = self._history = LsmTimeline.for_layout(self.storage, self.layout)
        return history

    def timeline(self) -> Timeline:
        """The active timeline as listed now; on layout 2 it looks up the completion times
        of archived instants in the LSM timeline when asked (not before)."""
        self.storage.invalidate()
        names = [f.name for f in self.storage.list_files(self.layout.timeline_dir)]
        timeline = Timeline.from_file_names(self.layout, names)
        history = self.history
        if history is None:
            return timeline
        return attrs.evolve(timeline, archived_completion=CompletionLookup(history))

    def instant_path(self, instant: Instant) -> str:
        return self.layout.instant_file_name(instant)

    def read_instant(self, instant: Instant) -> bytes:
        path = self.instant_path(instant)
        cached = self._completed_files.get(path)
        if cached is not None:
            return cached
        return self.storage.read_bytes(path)

    def _remember(self, path: str, data: bytes) -> None:
        if len(data) > _CACHED_FILE_BYTES:
            return
        _keep(self._completed_files, path, data, _CACHED_FILES)

    def reserve_instant(
        self,
        action: str,
        content: bytes = b"",
        *,
        heartbeat_interval: float = 60.0,
        keep_heartbeat: bool = False,
    ) -> tuple[str, Heartbeat | None]:
        """Create the requested file of a new instant whose time no other instant has.

        Instant times have millisecond resolution, and two processes (or a write and a
        compaction) can pick the same one; the timeline would then show only one of them.
        Every hudiwrite process takes a time by claiming its heartbeat file put-if-absent,
        checks the timeline holds nothing at that time, and only then creates its requested
        file; the next millisecond is tried on any collision. The time must also be later
        than every instant on the timeline (the clock is trusted first, the listing checks
        it). A write keeps the heartbeat (returned, to be entered) while it runs; a service
        lets it go once its requested file exists.
        """
        after: str | None = None
        for _ in range(_RESERVE_ATTEMPTS):
            time = CLOCK.next(after=after)
            after = time
            heartbeat = Heartbeat.claim(self.storage, time, heartbeat_interval)
            if heartbeat is None:
                continue
            try:
                timeline = self.timeline()
                last = timeline.last_time()
                if (last is not None and last >= time) or any(
                    i.time == time for i in timeline.instants
                ):
                    heartbeat.release()
                    after = max(time, last or "")
                    continue
                self.write_instant(Instant(time, action, State.REQUESTED), content)
            except FileExistsError:
                heartbeat.release()
                continue
            except BaseException:
                heartbeat.release()  # no orphan heartbeat for an instant that never was
                raise
            if keep_heartbeat:
                return time, heartbeat
            heartbeat.release()
            return time, None
        raise CommitConflictError(f"no free instant time after {_RESERVE_ATTEMPTS} attempts")

    def encode_commit_metadata(self, metadata: CommitMetadata, action: str) -> bytes:
        """The bytes of ``metadata`` in an inflight or completed file of ``action``, in
        this table's encoding (JSON on layout 1, Avro on layout 2)."""
        return self.layout.encode_commit_metadata(metadata, action)

    def complete_instant(
        self, time: str, action: str, content: bytes, timeline: Timeline | None = None
    ) -> Instant:
        """Write the completed file of the instant requested at ``time``; returns it.

        On layout 1 the file is ``T.action``, created only if absent. On layout 2 it is
        ``T_C.action``, C a completion time later than every time on ``timeline`` (listed
        now when not given; a write passes the one it checked for conflicts under the
        commit lock), as Java's ``ActiveTimelineV2.saveAsComplete`` takes a new time. Raises
        FileExistsError when the instant is completed already (another process finished
        it first): on layout 2 the name alone cannot tell, so the timeline is asked."""
        if not self.layout.has_completion_times:
            instant = Instant(time, action, State.COMPLETED)
            self.write_instant(instant, content)
            return instant
        if timeline is None:
            timeline = self.timeline()
        family = self.layout.comparable_action(action)
        for other in timeline.completed:
            if other.time == time and self.layout.comparable_action(other.action) == family:
                raise FileExistsError(f"{other} is completed already")
        completion = CLOCK.next(after=max(timeline.last_time() or "", time))
        instant = Instant(time, action, State.COMPLETED, completion)
        self.write_instant(instant, content)
        return instant

    def completed_instant(self, time: str, action: str) -> Instant | None:
        """The completed instant requested at ``time`` of ``action``'s family, as the
        timeline shows it now (with its completion time on layout 2); None if not completed."""
        family = self.layout.comparable_action(action)
        for instant in self.timeline().completed:
            if instant.time == time and self.layout.comparable_action(instant.action) == family:
                return instant
        return None

    def write_instant(self, instant: Instant, content: bytes = b"") -> None:
        """Create the file recording ``instant``; it must not exist yet."""
        path = self.instant_path(instant)
        self.storage.create_exclusive(path, content)
        if instant.is_completed:
            self._remember(path, content)

    def commit_metadata(self, instant: Instant) -> CommitMetadata:
        """The metadata of a completed (delta/replace) commit: JSON on layout 1, an Avro
        container on layout 2 (where legacy JSON files are still read)."""
        path = self.instant_path(instant)
        cached = self._commit_metadata.get(path) if instant.is_completed else None
        if cached is not None:
            return cached
        data = self.read_instant(instant)
        if data.startswith(AVRO_MAGIC):
            from hudiwrite.formats.hudi_avro_schemas import decode_commit_metadata

            metadata = CommitMetadata.from_json_obj(decode_commit_metadata(data), str(instant))
        else:
            metadata = CommitMetadata.from_json_bytes(data, str(instant))
        if instant.is_completed:
            _keep(self._commit_metadata, path, metadata, _COMMIT_METADATA_CACHE)
        return metadata

    def table_schema(self, timeline: Timeline | None = None) -> TableSchema | None:
        """The table's data schema as of ``timeline``'s latest completed write (default: the
        current timeline), else its create schema; None for a table with neither."""
        schema = self.latest_schema(timeline if timeline is not None else self.timeline())
        return TableSchema.from_avro(schema) if schema else None

    def latest_schema(self, timeline: Timeline) -> str | None:
        """Avro data schema of the latest completed write (``extraMetadata.schema``),
        else the create schema."""
        for instant in reversed(timeline.completed_writes):
            schema = self.commit_metadata(instant).schema
            if schema:
                return schema
        return self.config.create_schema

    def compaction_plan(self, instant: Instant) -> CompactionPlan:
        """The plan of a (log) compaction instant (its requested file).

        Raises CorruptTableError naming the file when it is empty or not a whole Hudi
        compaction plan, FileNotFoundError when the requested file is gone."""
        requested = Instant(instant.time, instant.action, State.REQUESTED)
        path = self.instant_path(requested)
        cached = self._compaction_plans.get(path)
        if cached is not None:
            return cached
        plan = CompactionPlan.from_bytes(self.read_instant(requested), path)
        # A requested plan never changes: kept once it decoded (every write consults it).
        _keep(self._compaction_plans, path, plan, _COMMIT_METADATA_CACHE)
        return plan

    def clean_metadata(self, instant: Instant) -> CleanMetadata | None:
        """The metadata of a completed clean; None for an empty file (a clean a crash left
        empty on HDFS or local disk). Kept once decoded (the cleaner and the archiver both
        consult the latest one); an empty file is not kept, another writer may still be
        writing it. Raises CorruptTableError naming the file for anything but an empty file
        or whole clean metadata."""
        path = self.instant_path(instant)
        cached = self._clean_metadata.get(path)
        if cached is not None:
            return cached
        metadata = CleanMetadata.from_bytes_or_none(self.read_instant(instant), path)
        if metadata is not None:
            _keep(self._clean_metadata, path, metadata, _COMMIT_METADATA_CACHE)
        return metadata

    def earliest_clean_retained(self, timeline: Timeline) -> str | None:
        """``earliestCommitToRetain`` of the latest completed clean that recorded one (None
        if no clean did): slices older than it may be gone, so cleaning continues from it,
        archival keeps it and time travel before it is refused."""
        cleans = [i for i in timeline.completed if i.action == Action.CLEAN]
        for clean in reversed(cleans):
            metadata = self.clean_metadata(clean)
            if metadata is None:
                continue  # an empty completed clean (crash on HDFS/local): look further back
            return metadata.earliest_retained
        return None

    def pending_compaction_operations(
        self, timeline: Timeline, *, include_log_compaction: bool = False
    ) -> dict[tuple[str, str], tuple[str, str]]:
        """(partition, file id) -> (compaction instant, base instant of the slice it
        compacts), for every file group a pending compaction plans to rewrite."""
        actions = {Action.COMPACTION}
        if include_log_compaction:
            actions.add(Action.LOG_COMPACTION)
        out: dict[tuple[str, str], tuple[str, str]] = {}
        for instant in timeline.pending:
            if instant.action not in actions:
                continue
            for op in self.compaction_plan(instant).operations:
                key = (op.partition_path, op.file_id)
                base = op.base_instant_time
                if key not in out or base < out[key][1]:
                    out[key] = (instant.time, base)
        return out

    def pending_compaction_groups(self, timeline: Timeline) -> dict[tuple[str, str], str]:
        """(partition, file id) -> instant of the pending compaction that covers the group."""
        return {k: v[0] for k, v in self.pending_compaction_operations(timeline).items()}

    def replaced_file_groups(self, timeline: Timeline) -> dict[tuple[str, str], str]:
        """(partition, file id) -> time of the completed replace commit that replaced the
        file group (insert_overwrite, clustering)."""
        out: dict[tuple[str, str], str] = {}
        for instant in timeline.completed:
            if instant.action != Action.REPLACE_COMMIT:
                continue
            md = self.commit_metadata(instant)
            for partition, ids in (md.partition_to_replace_file_ids or {}).items():
                for fid in ids:
                    out.setdefault((partition, fid), instant.time)
        return out
