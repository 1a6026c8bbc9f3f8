"""What differs between table versions, in one object.

Table versions differ in where timeline files live, how they are named, how commit metadata is
encoded and how log files attach to file slices; the write path and the reader ask the layout
instead of branching on the version number.

* Version 6 (Hudi 0.14/0.15), timeline layout 1: timeline files in ``.hoodie/``, completed
  instants named ``T.action``, JSON commit metadata, a log file named after its file slice's
  base instant.
* Versions 8 and 9 (Hudi 1.x), timeline layout 2: timeline files in ``.hoodie/timeline/``,
  completed instants named ``T_C.action`` (C the completion time), Avro commit metadata, a log
  file named after the delta commit that wrote it and attached to a slice by completion time
  (protocol-v8 §1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum

import attrs

from hudiwrite.exceptions import UnsupportedTableError
from hudiwrite.formats.hudi_avro_schemas import encode_commit_metadata
from hudiwrite.model.paths import HOODIE_DIR, meta_path
from hudiwrite.model.tableconfig import DEFAULT_HISTORY_PATH, DEFAULT_TIMELINE_PATH, Keys
from hudiwrite.timeline.instant import Action, Instant, State
from hudiwrite.timeline.metadata import CommitMetadata

__all__ = ["LAYOUT_V6", "ArchiveFormat", "TableLayout", "layout_for_config", "layout_for_version"]

_STATE_SUFFIX = {State.REQUESTED: ".requested", State.INFLIGHT: ".inflight", State.COMPLETED: ""}

# <time>[_<completion>].<action>[.<state>]  (and the legacy "<time>.inflight" for commits)
_NAME = re.compile(r"^(\d{14,17})(?:_(\d{14,17}))?\.([a-z]+)(?:\.(requested|inflight))?$")

# Actions whose completed instant carries another action's name (protocol §2.1, v8 §1.2).
_COMPLETED_AS = {
    Action.COMPACTION: Action.COMMIT,
    Action.LOG_COMPACTION: Action.DELTA_COMMIT,
    Action.CLUSTERING: Action.REPLACE_COMMIT,
}
_KNOWN_ACTIONS = frozenset(
    {
        Action.COMMIT,
        Action.DELTA_COMMIT,
        Action.COMPACTION,
        Action.LOG_COMPACTION,
        Action.CLEAN,
        Action.ROLLBACK,
        Action.REPLACE_COMMIT,
        Action.CLUSTERING,
        Action.SAVEPOINT,
        Action.RESTORE,
        Action.INDEXING,
    }
)

#: The magic of an Avro object container file (layout-2 instant contents).
AVRO_MAGIC = b"Obj\x01"


class ArchiveFormat(Enum):
    """Where archival moves old instants: the one place the format is chosen (the archival
    service and the readers ask the layout)."""

    #: Hudi log files of ``HoodieArchivedMetaEntry`` records in ``.hoodie/archived/``, one
    #: entry per state file (0.x ``HoodieTimelineArchiver``; ``timeline/archived.py``).
    LOG = "log"
    #: The LSM timeline in ``TableLayout.history_dir``: parquet files of one
    #: ``HoodieLSMTimelineInstant`` row per instant (1.x ``TimelineArchiverV2``;
    #: ``timeline/lsm.py``).
    LSM = "lsm"


@attrs.frozen
class TableLayout:
    """Naming and encoding rules of one table version."""

    table_version: int
    timeline_layout_version: int
    #: Directory (relative to the base path) holding the active timeline's files.
    timeline_dir: str
    #: Whether a log file is named after its file slice's base instant (v6) or after the
    #: delta commit that wrote it and attached to a slice by completion time (v8+).
    log_named_by_slice: bool
    #: Whether hudiwrite can write tables of this version.
    writable: bool
    #: Whether timestamps without a time zone (Avro ``local-timestamp-micros``) may be
    #: stored. Hudi 0.x has no such type: Spark-Hudi 0.15 refuses to write Spark's
    #: TimestampNTZ ("Failed to convert struct type to avro schema") and its reader fails on
    #: the column (docs/format-notes.md); Hudi 1.x reads and writes it.
    local_timestamps: bool = True
    #: Folder (relative to the base path) of the 1.x archived (LSM) timeline,
    #: ``<timeline>/<hoodie.timeline.history.path>``; None on layout 1, whose archive log
    #: files live in ``MetaClient.archive_dir``.
    history_dir: str | None = None
    #: Whether the inflight file of a clean repeats its plan (0.x and 1.0.x:
    #: ``transitionCleanRequestedToInflight`` is passed the plan) or is empty (1.1+).
    plan_in_clean_inflight: bool = True
    #: Whether a compaction plan is also copied to ``.hoodie/.aux`` (0.x readers look there
    #: first; 1.x no longer writes or reads the copy).
    compaction_plan_aux_copy: bool = True
    #: Where archived instants go (and archived completion times come from).
    archive_format: ArchiveFormat = ArchiveFormat.LOG

    @property
    def has_completion_times(self) -> bool:
        return self.timeline_layout_version >= 2

    # -- instant files -----------------------------------------------------------------

    def instant_file_name(self, instant: Instant) -> str:
        """The timeline file (relative to the base path) recording ``instant``'s state."""
        action = instant.action
        if instant.state is State.COMPLETED:
            action = _COMPLETED_AS.get(action, action)
            if self.has_completion_times:
                if instant.completion_time is None:
                    raise ValueError(f"{instant} needs a completion time on timeline layout 2")
                return f"{self.timeline_dir}/{instant.time}_{instant.completion_time}.{action}"
            return f"{self.timeline_dir}/{instant.time}.{action}"
        if action == Action.COMMIT and instant.state is State.INFLIGHT:
            return f"{self.timeline_dir}/{instant.time}.inflight"  # legacy name, no action
        return f"{self.timeline_dir}/{instant.time}.{action}{_STATE_SUFFIX[instant.state]}"

    def parse_instant_file(self, name: str) -> Instant | None:
        """The instant a timeline file name records, or None for other files."""
        m = _NAME.match(name)
        if m is None:
            return None
        time, completion, action, suffix = m.group(1), m.group(2), m.group(3), m.group(4)
        if action == "inflight" and suffix is None and completion is None:
            return Instant(time, Action.COMMIT, State.INFLIGHT)
        if action not in _KNOWN_ACTIONS:
            return None
        if suffix is not None:
            if completion is not None:
                return None
            state = State.REQUESTED if suffix == "requested" else State.INFLIGHT
            return Instant(time, action, state)
        if action in _COMPLETED_AS:
            return None  # a completed compaction is named ".commit", clustering ".replacecommit"
        # Layout 2 readers (Java) still accept a legacy completed name without C.
        return Instant(time, action, State.COMPLETED, completion)

    def comparable_action(self, action: str) -> str:
        """The action an instant is grouped under (compaction completes as a commit)."""
        return _COMPLETED_AS.get(action, action)

    # -- instant contents ----------------------------------------------------------------

    def encode_commit_metadata(self, metadata: CommitMetadata, action: str) -> bytes:
        """The bytes of a (delta/replace) commit's inflight or completed file: Jackson's
        pretty JSON on layout 1, an Avro object container of ``HoodieCommitMetadata`` (or
        ``HoodieReplaceCommitMetadata`` for a replacecommit or clustering) on layout 2
        (``CommitMetadataSerDeV2``, protocol-v8 §1.3)."""
        if not self.has_completion_times:
            return metadata.to_json_bytes()
        replace = _COMPLETED_AS.get(action, action) == Action.REPLACE_COMMIT
        return encode_commit_metadata(metadata.to_json_obj(), replace=replace)


LAYOUT_V6 = TableLayout(
    table_version=6,
    timeline_layout_version=1,
    timeline_dir=HOODIE_DIR,
    log_named_by_slice=True,
    writable=True,
    local_timestamps=False,
)


#: Table version 9 (Hudi 1.1) writes empty clean inflight files; 1.0.2 (version 8) still
#: copies the plan into it (seen on tables both wrote in the tests).
_EMPTY_CLEAN_INFLIGHT_SINCE = 9


def _layout_v2(version: int, timeline_path: str, history_path: str) -> TableLayout:
    return TableLayout(
        table_version=version,
        timeline_layout_version=2,
        timeline_dir=meta_path(timeline_path),
        log_named_by_slice=False,
        writable=True,
        history_dir=f"{meta_path(timeline_path)}/{history_path.strip('/')}",
        plan_in_clean_inflight=version < _EMPTY_CLEAN_INFLIGHT_SINCE,
        compaction_plan_aux_copy=False,
        archive_format=ArchiveFormat.LSM,
    )


_SUPPORTED = {6: 1, 8: 2, 9: 2}


def layout_for_version(
    version: int,
    timeline_layout_version: int | None = None,
    timeline_path: str = DEFAULT_TIMELINE_PATH,
    history_path: str = DEFAULT_HISTORY_PATH,
) -> TableLayout:
    """The layout of a table version; ``UnsupportedTableError`` for versions not handled."""
    expected = _SUPPORTED.get(version)
    if expected is None:
        raise UnsupportedTableError(
            f"table version {version} is not supported (supported: "
            f"{', '.join(str(v) for v in sorted(_SUPPORTED))})"
        )
    if timeline_layout_version not in (None, expected):
        raise UnsupportedTableError(
            f"table version {version} with timeline layout {timeline_layout_version} "
            "is not supported"
        )
    if expected == 1:
        return LAYOUT_V6
    return _layout_v2(version, timeline_path, history_path)


def layout_for_config(props: Mapping[str, str], version: int, layout_version: int) -> TableLayout:
    """The layout of a table from its version and ``hoodie.properties``."""
    return layout_for_version(
        version,
        layout_version or None,
        props.get(Keys.TIMELINE_PATH) or DEFAULT_TIMELINE_PATH,
        props.get(Keys.HISTORY_PATH) or DEFAULT_HISTORY_PATH,
    )
