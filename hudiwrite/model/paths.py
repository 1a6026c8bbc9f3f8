"""Where a table's meta folders and meta files live, relative to the table root.

The one owner of these paths, as Java keeps them on ``HoodieTableMetaClient``
(``getMetaPath``, ``getTempFolderPath``, ``getMetaAuxiliaryPath``, ``getArchivePath``,
``getHeartbeatFolderPath``, ``getMetadataTableBasePath``). File *names* (base files, log
files, instants, archives) belong to :mod:`hudiwrite.model.naming` and the timeline layout;
the properties file names to :mod:`hudiwrite.model.tableconfig`.
"""

from __future__ import annotations

from hudiwrite.model.tableconfig import PROPERTIES_BACKUP, PROPERTIES_FILE

__all__ = [
    "AUX_DIR",
    "BACKUP_PATH",
    "HEARTBEAT_DIR",
    "HOODIE_DIR",
    "LOCK_DIR",
    "MARKER_DIR",
    "METADATA_TABLE_DIR",
    "NEW_TABLE_DIRS",
    "PROPERTIES_PATH",
    "aux_path",
    "heartbeat_path",
    "lock_path",
    "marker_dir",
    "meta_path",
]

#: The meta folder at the root of every table.
HOODIE_DIR = ".hoodie"
#: ``hoodie.properties`` and the backup kept while it is rewritten.
PROPERTIES_PATH = f"{HOODIE_DIR}/{PROPERTIES_FILE}"
BACKUP_PATH = f"{HOODIE_DIR}/{PROPERTIES_BACKUP}"
#: Direct markers, one folder per instant (``.hoodie/.temp/<instant>/``).
MARKER_DIR = f"{HOODIE_DIR}/.temp"
#: Auxiliary metadata: 0.x copies of compaction plans, bootstrap index, hudiwrite's locks.
AUX_DIR = f"{HOODIE_DIR}/.aux"
#: Heartbeats of running writes, one file per instant (``.hoodie/.heartbeat/<instant>``).
HEARTBEAT_DIR = f"{HOODIE_DIR}/.heartbeat"
#: hudiwrite's table-wide locks (``Heartbeat.lock``), beside Java's auxiliary files.
LOCK_DIR = f"{AUX_DIR}/.locks"
#: The metadata table, a Hudi table of its own.
METADATA_TABLE_DIR = f"{HOODIE_DIR}/metadata"
#: Folders of a freshly created table of any version (protocol §1, protocol-v8 §1.1: what
#: Spark's init leaves behind), besides its archived timeline's folder (the layout's).
NEW_TABLE_DIRS = (
    f"{AUX_DIR}/.bootstrap/.partitions",
    f"{AUX_DIR}/.bootstrap/.fileids",
    f"{HOODIE_DIR}/.schema",
    MARKER_DIR,
)


def meta_path(folder: str) -> str:
    """A folder under ``.hoodie`` named in the table config (the archive folder, the
    timeline folder of layout 2)."""
    return f"{HOODIE_DIR}/{folder.strip('/')}"


def heartbeat_path(instant_time: str) -> str:
    return f"{HEARTBEAT_DIR}/{instant_time}"


def lock_path(name: str) -> str:
    return f"{LOCK_DIR}/{name}"


def marker_dir(instant_time: str) -> str:
    return f"{MARKER_DIR}/{instant_time}"


def aux_path(name: str) -> str:
    """The ``.aux`` copy of a timeline file (0.x keeps compaction plans there too)."""
    return f"{AUX_DIR}/{name}"
