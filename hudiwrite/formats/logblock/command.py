"""Command blocks (type 0; protocol-v6.md §5.7): a header and no content.

The only command Hudi has is the rollback a v6 table appends to a log file when it rolls
back a delta commit whose blocks it cannot delete: Java's log reader then skips the blocks
of the target instant.
"""

from __future__ import annotations

import enum

from hudiwrite.formats.logblock.frame import BlockType, HeaderKey, LogBlock

__all__ = ["CommandBlockType", "rollback_command_block"]


class CommandBlockType(enum.IntEnum):
    """``HoodieCommandBlockTypeEnum``; the header carries the ordinal as a decimal string."""

    ROLLBACK_BLOCK = 0


def rollback_command_block(instant_time: str, target_instant_time: str) -> LogBlock:
    """The command block a v6 rollback appends: empty content (protocol-v6.md §5.7)."""
    return LogBlock(
        BlockType.COMMAND_BLOCK,
        (
            (HeaderKey.INSTANT_TIME, instant_time),
            (HeaderKey.TARGET_INSTANT_TIME, target_instant_time),
            (HeaderKey.COMMAND_BLOCK_TYPE, str(int(CommandBlockType.ROLLBACK_BLOCK))),
        ),
    )
