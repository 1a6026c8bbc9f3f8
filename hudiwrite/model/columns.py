"""Names of the columns Hudi gives a meaning: the five meta columns and the soft-delete
markers (protocol §7.1). Every module takes them from here."""

from __future__ import annotations

__all__ = [
    "COMMIT_SEQNO",
    "COMMIT_TIME",
    "FILE_NAME",
    "IS_DELETED",
    "META_FIELDS",
    "OPERATION",
    "PARTITION_PATH",
    "RECORD_KEY",
]

COMMIT_TIME = "_hoodie_commit_time"
COMMIT_SEQNO = "_hoodie_commit_seqno"
RECORD_KEY = "_hoodie_record_key"
PARTITION_PATH = "_hoodie_partition_path"
FILE_NAME = "_hoodie_file_name"

#: The five meta columns that lead every stored record, in order.
META_FIELDS: tuple[str, ...] = (COMMIT_TIME, COMMIT_SEQNO, RECORD_KEY, PARTITION_PATH, FILE_NAME)

#: A data column that, when true, makes the record a delete (``_hoodie_is_deleted``).
IS_DELETED = "_hoodie_is_deleted"
#: The operation column of tables written with ``hoodie.allow.operation.metadata.field``
#: (``D`` marks a delete).
OPERATION = "_hoodie_operation"
