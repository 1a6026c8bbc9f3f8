"""What differs between table versions, in one object.

Table versions differ in where timeline files live, how they are named, how commit metadata is
encoded and what a log file's base instant means; the write path and the reader ask the layout
instead of branching on the version number. Version 6 (timeline layout 1) is implemented;
versions 8 and 9 (layout 2) slot in as further ``TableLayout`` instances.
"""

from __future__ import annotations

import re

import attrs

from hudiwrite.exceptions import UnsupportedTableError
from hudiwrite.model.naming import HOODIE_DIR
from hudiwrite.timeline.instant import Action, Instant, State

__all__ = ["LAYOUT_V6", "TableLayout", "layout_for_version"]

_STATE_SUFFIX = {State.REQUESTED: ".requested", State.INFLIGHT: ".inflight", State.COMPLETED: ""}

# <17 or 14 digit time>.<action>[.<state>]  (plus the legacy "<time>.inflight" for commits)
_V1_NAME = re.compile(r"^(\d{14,17})\.([a-z]+)(\.(requested|inflight))?$")

# Actions whose completed instant carries another action's name (protocol §2.1).
_COMPLETED_AS = {Action.COMPACTION: Action.COMMIT, Action.LOG_COMPACTION: Action.DELTA_COMMIT}
_KNOWN_ACTIONS = frozenset(
    {
        Action.COMMIT,
        Action.DELTA_COMMIT,
        Action.COMPACTION,
        Action.LOG_COMPACTION,
        Action.CLEAN,
        Action.ROLLBACK,
        Action.REPLACE_COMMIT,
        Action.SAVEPOINT,
        Action.RESTORE,
        Action.INDEXING,
    }
)


@attrs.frozen
class TableLayout:
    """Naming and encoding rules of one table version."""

    table_version: int
    timeline_layout_version: int
    #: Directory (relative to the base path) holding the active timeline's files.
    timeline_dir: str
    #: Whether a log file is named after its file slice's base instant (v6) or after the
    #: delta commit that wrote it (v8+).
    log_named_by_slice: bool
    #: Whether hudiwrite can write tables of this version.
    writable: bool

    # -- instant files -----------------------------------------------------------------

    def instant_file_name(self, instant: Instant) -> str:
        """The timeline file (relative to the base path) recording ``instant``'s state."""
        if self.timeline_layout_version != 1:
            raise UnsupportedTableError(
                f"timeline layout {self.timeline_layout_version} is not supported yet"
            )
        action = instant.action
        if instant.state is State.COMPLETED:
            action = _COMPLETED_AS.get(action, action)
            return f"{self.timeline_dir}/{instant.time}.{action}"
        if action == Action.COMMIT and instant.state is State.INFLIGHT:
            return f"{self.timeline_dir}/{instant.time}.inflight"  # legacy name, no action
        return f"{self.timeline_dir}/{instant.time}.{action}{_STATE_SUFFIX[instant.state]}"

    def parse_instant_file(self, name: str) -> Instant | None:
        """The instant a timeline file name records, or None for other files."""
        m = _V1_NAME.match(name)
        if m is None:
            return None
        time, action, suffix = m.group(1), m.group(2), m.group(4)
        if action == "inflight" and suffix is None:
            return Instant(time, Action.COMMIT, State.INFLIGHT)
        if action not in _KNOWN_ACTIONS:
            return None
        if suffix == "requested":
            return Instant(time, action, State.REQUESTED)
        if suffix == "inflight":
            return Instant(time, action, State.INFLIGHT)
        if action in _COMPLETED_AS:
            return None  # a completed compaction is named ".commit"
        return Instant(time, action, State.COMPLETED)

    def comparable_action(self, action: str) -> str:
        """The action an instant is grouped under (compaction completes as a commit)."""
        return _COMPLETED_AS.get(action, action)


LAYOUT_V6 = TableLayout(
    table_version=6,
    timeline_layout_version=1,
    timeline_dir=HOODIE_DIR,
    log_named_by_slice=True,
    writable=True,
)

_LAYOUTS = {6: LAYOUT_V6}


def layout_for_version(version: int, timeline_layout_version: int | None = None) -> TableLayout:
    """The layout of a table version; ``UnsupportedTableError`` for versions not handled."""
    layout = _LAYOUTS.get(version)
    if layout is None:
        raise UnsupportedTableError(
            f"table version {version} is not supported (supported: "
            f"{', '.join(str(v) for v in sorted(_LAYOUTS))})"
        )
    if timeline_layout_version not in (None, layout.timeline_layout_version):
        raise UnsupportedTableError(
            f"table version {version} with timeline layout {timeline_layout_version} "
            "is not supported"
        )
    return layout
