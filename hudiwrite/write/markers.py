"""Direct markers: an empty file per data file, written before the data file (protocol §8.5).

Markers tell a rollback (hudiwrite's or Java's) which files a failed write may have left.
"""

from __future__ import annotations

import posixpath

from hudiwrite.model.naming import join_partition, marker_name, split_marker_name
from hudiwrite.model.paths import marker_dir
from hudiwrite.storage import Storage

__all__ = ["IOType", "Markers"]


class IOType:
    CREATE = "CREATE"
    MERGE = "MERGE"
    APPEND = "APPEND"


class Markers:
    """The marker folder ``.hoodie/.temp/<instant>/`` of one write."""

    def __init__(self, storage: Storage, instant_time: str) -> None:
        self.storage = storage
        self.root = marker_dir(instant_time)

    def create(self, partition: str, data_file_name: str, io_type: str) -> None:
        rel = join_partition(partition, marker_name(data_file_name, io_type))
        self.storage.write_bytes(f"{self.root}/{rel}", b"")

    def data_files(self) -> list[tuple[str, str]]:
        """(partition, data file name) of every file the markers announce."""
        out = []
        for f in self.storage.walk_files(self.root):
            rel = f.path[len(self.root) + 1 :]
            split = split_marker_name(posixpath.basename(rel))
            if split is not None:
                out.append((posixpath.dirname(rel), split[0]))
        return out

    def delete_all(self) -> None:
        self.storage.delete_tree(self.root)
