"""hudiwrite: write and read Apache Hudi Merge-on-Read tables from Python, without a JVM."""

from __future__ import annotations

from hudiwrite.exceptions import (
    CommitConflictError,
    CorruptTableError,
    HudiError,
    InvalidOptionError,
    InvalidRecordError,
    SchemaMismatchError,
    TableExistsError,
    TableNotFoundError,
    UnsupportedTableError,
    UnsupportedTypeError,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "CommitConflictError",
    "CorruptTableError",
    "HudiError",
    "InvalidOptionError",
    "InvalidRecordError",
    "SchemaMismatchError",
    "TableExistsError",
    "TableNotFoundError",
    "UnsupportedTableError",
    "UnsupportedTypeError",
    "__version__",
]
