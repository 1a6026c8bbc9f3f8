"""The exception hierarchy: every error hudiwrite raises on purpose derives from HudiError.

Catch ``HudiError`` to handle anything the library refuses; catch a subclass to react to one
kind of problem. Errors from the underlying storage (``OSError`` and friends) are wrapped only
where hudiwrite can add meaning; otherwise they propagate unchanged.
"""

from __future__ import annotations

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
]


class HudiError(Exception):
    """Root of all errors raised by hudiwrite."""


class InvalidOptionError(HudiError, ValueError):
    """An option or argument has a value hudiwrite does not accept."""


class TableNotFoundError(HudiError):
    """No Hudi table (no ``.hoodie/hoodie.properties``) exists at the given location."""


class TableExistsError(HudiError):
    """A table already exists where a new one was to be created."""


class SchemaMismatchError(HudiError):
    """The data does not fit the table's schema: missing, extra or incompatible columns."""


class UnsupportedTypeError(SchemaMismatchError):
    """An Arrow type has no representation in a Hudi (Avro) schema, or cannot serve as a key."""


class InvalidRecordError(HudiError):
    """A record cannot be written: null or empty key, bad partition value, null ordering value."""


class UnsupportedTableError(HudiError):
    """The table uses a version, layout or feature this release cannot read or write."""


class CorruptTableError(HudiError):
    """The table's metadata is inconsistent or unreadable (bad checksum, undecodable instant)."""


class CommitConflictError(HudiError):
    """Another writer committed a conflicting change while this write was in progress."""
