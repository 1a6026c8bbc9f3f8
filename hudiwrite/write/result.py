"""What a write reports to its caller: :class:`WriteResult` and its per-partition counts."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from hudiwrite.timeline.metadata import WriteStat
from hudiwrite.write.planner import Operation, WritePlan

__all__ = ["PartitionCounts", "WriteResult"]


@attrs.frozen
class PartitionCounts:
    """Records one write wrote to one partition path."""

    num_inserted: int
    num_updated: int
    num_deleted: int


@attrs.frozen
class WriteResult:
    """What one write did.

    ``num_inserted`` counts records written to new base files, ``num_updated`` records
    written to log files for keys already in the table, ``num_deleted`` delete records
    written for existing keys. ``num_skipped`` counts the input rows that wrote nothing:
    rows that lost a key's in-batch deduplication to a later or greater-ordered row,
    deletes of absent keys, inserts of live keys dropped by
    ``TableOptions(insert_duplicates="drop")`` and soft-delete rows of new keys. The four
    add up to the number of input rows. ``partitions`` breaks the written records down by
    partition path ("" for a non-partitioned table); ``files_written`` are the table-relative
    paths of the data files the write created.
    """

    instant_time: str
    operation: Operation
    num_inserted: int
    num_updated: int
    num_deleted: int
    files_written: tuple[str, ...]
    bytes_written: int
    num_skipped: int = 0
    partitions: Mapping[str, PartitionCounts] = attrs.field(factory=dict)

    @classmethod
    def of(cls, instant_time: str, plan: WritePlan, stats: tuple[WriteStat, ...]) -> WriteResult:
        """The result of the committed write ``plan`` that wrote ``stats``."""
        return cls(
            instant_time=instant_time,
            operation=plan.operation,
            num_inserted=plan.num_inserts,
            num_updated=plan.num_updates,
            num_deleted=plan.num_deletes,
            files_written=tuple(s.path or "" for s in stats),
            bytes_written=sum(s.total_write_bytes for s in stats),
            num_skipped=plan.num_skipped,
            partitions={p: PartitionCounts(*c) for p, c in plan.partition_counts().items()},
        )
