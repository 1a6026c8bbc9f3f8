"""hudiwrite: write and read Apache Hudi Merge-on-Read tables from Python, without a JVM."""

from __future__ import annotations

from hudiwrite.config import PayloadClass, TableOptions
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
from hudiwrite.read.inventory import FileSliceInfo, PartitionStats, TableStats
from hudiwrite.read.snapshot import Filter
from hudiwrite.services.settings import ArchiveResult, CleanResult, CompactionResult
from hudiwrite.table import HudiTable, WriteMode, write_hudi
from hudiwrite.timeline.instant import Instant, State
from hudiwrite.timeline.metadata import CommitMetadata, WriteStat
from hudiwrite.write.planner import Operation
from hudiwrite.write.result import PartitionCounts, WriteResult
from hudiwrite.write.source import ArrowData, ArrowStreamExportable

__version__ = "0.1.0.dev0"

__all__ = [
    "ArchiveResult",
    "ArrowData",
    "ArrowStreamExportable",
    "CleanResult",
    "CommitConflictError",
    "CommitMetadata",
    "CompactionResult",
    "CorruptTableError",
    "FileSliceInfo",
    "Filter",
    "HudiError",
    "HudiTable",
    "Instant",
    "InvalidOptionError",
    "InvalidRecordError",
    "Operation",
    "PartitionCounts",
    "PartitionStats",
    "PayloadClass",
    "SchemaMismatchError",
    "State",
    "TableExistsError",
    "TableNotFoundError",
    "TableOptions",
    "TableStats",
    "UnsupportedTableError",
    "UnsupportedTypeError",
    "WriteMode",
    "WriteResult",
    "WriteStat",
    "__version__",
    "write_hudi",
]
