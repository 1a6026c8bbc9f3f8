"""Key generators: record keys and partition paths as Java's key generators print them.

Vectorised over Arrow arrays (protocol §10). Values become strings with Java ``toString``
semantics; types whose Java string form Arrow cannot reproduce exactly (floating point,
decimals, binary) are refused as key or partition fields rather than risking keys that a Java
writer would spell differently.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from hudiwrite.exceptions import InvalidRecordError, SchemaMismatchError, UnsupportedTypeError

__all__ = [
    "DEFAULT_PARTITION",
    "KeyGenerator",
    "KeyGeneratorKind",
    "column_by_path",
    "partition_values",
]

DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"
NULL_KEY_PART = "__null__"
EMPTY_KEY_PART = "__empty__"
#: Longest directory name a partition segment may have: NAME_MAX of ext4, APFS, NTFS, HDFS.
MAX_SEGMENT_BYTES = 255

_KEYGEN_PACKAGE = "org.apache.hudi.keygen."


class KeyGeneratorKind:
    SIMPLE = "SimpleKeyGenerator"
    COMPLEX = "ComplexKeyGenerator"
    NON_PARTITIONED = "NonpartitionedKeyGenerator"

    ALL = (SIMPLE, COMPLEX, NON_PARTITIONED)


# Characters Hive escapes in partition values (PartitionPathEncodeUtils.escapePathName).
_ESCAPED_CHARS = ['"', "#", "%", "'", "*", "/", ":", "=", "?", "\\", "{", "[", "]", "^"] + [
    chr(c) for c in [*range(0x01, 0x20), 0x7F]
]


def _url_encode(values: pa.Array) -> pa.Array:
    # '%' first so the escapes themselves are not escaped again.
    ordered = ["%"] + [c for c in _ESCAPED_CHARS if c != "%"]
    for c in ordered:
        values = pc.replace_substring(values, c, f"%{ord(c):02X}")
    return values


def partition_values(
    partition: str, fields: Sequence[str], *, hive_style: bool, url_encoded: bool
) -> list[str | None] | None:
    """The values a partition path encodes, one per partition field (None for Hive's
    default partition): the inverse of :meth:`KeyGenerator.partition_paths`. None if the
    path does not have that shape."""
    segments = partition.split("/") if partition else []
    if len(segments) != len(fields):
        return None
    values: list[str | None] = []
    for field, segment in zip(fields, segments, strict=True):
        value = segment
        if hive_style:
            prefix = f"{field}="
            if not segment.startswith(prefix):
                return None
            value = segment[len(prefix) :]
        if url_encoded:
            value = urllib.parse.unquote(value)
        values.append(None if value == DEFAULT_PARTITION else value)
    return values


def column_by_path(table: pa.Table, path: str) -> pa.ChunkedArray:
    """A possibly nested (``a.b``) column; a null parent gives a null value."""
    parts = path.split(".")
    if parts[0] not in table.column_names:
        raise SchemaMismatchError(f"key or partition field {path!r} is not a column of the data")
    col = table.column(parts[0])
    for depth, part in enumerate(parts[1:], start=1):
        if not pa.types.is_struct(col.type) or col.type.get_field_index(part) < 0:
            raise SchemaMismatchError(
                f"key or partition field {path!r}: {'.'.join(parts[:depth])!r} has no field "
                f"{part!r}"
            )
        col = pc.struct_field(col, part)
    return col


def _java_strings(col: pa.ChunkedArray, field: str) -> pa.ChunkedArray:
    """Java ``toString`` of each value (None for null) for the types keys may use."""
    dtype = col.type
    if pa.types.is_dictionary(dtype):
        col = col.cast(dtype.value_type)
        dtype = dtype.value_type
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return col.cast(pa.string())
    if pa.types.is_integer(dtype) or pa.types.is_boolean(dtype) or pa.types.is_date32(dtype):
        # Arrow prints ints as Java does, booleans as true/false and dates as yyyy-MM-dd
        # (Hudi turns Avro logical dates into LocalDate before printing them).
        return col.cast(pa.string())
    if pa.types.is_date64(dtype):
        return col.cast(pa.date32()).cast(pa.string())
    if pa.types.is_timestamp(dtype):
        # Hudi prints an Avro timestamp-micros as its long value.
        micros = col.cast(pa.timestamp("us", tz=dtype.tz)).cast(pa.int64())
        return micros.cast(pa.string())
    raise UnsupportedTypeError(
        f"field {field!r} of type {dtype} cannot be a record key or partition field "
        "(use string, integer, boolean, date or timestamp columns)"
    )


@attrs.frozen
class KeyGenerator:
    """How record keys and partition paths are derived from a record."""

    kind: str = attrs.field(validator=attrs.validators.in_(KeyGeneratorKind.ALL))
    record_key_fields: tuple[str, ...]
    partition_fields: tuple[str, ...] = ()
    hive_style: bool = True
    url_encode: bool = False

    @classmethod
    def infer(
        cls,
        record_key: Sequence[str],
        partition_by: Sequence[str],
        *,
        hive_style: bool = True,
        url_encode: bool = False,
    ) -> KeyGenerator:
        """The key generator Spark would configure for these fields."""
        if not record_key:
            raise SchemaMismatchError("at least one record key field is required")
        if not partition_by:
            kind = KeyGeneratorKind.NON_PARTITIONED
        elif len(record_key) == 1 and len(partition_by) == 1:
            kind = KeyGeneratorKind.SIMPLE
        else:
            kind = KeyGeneratorKind.COMPLEX
        return cls(kind, tuple(record_key), tuple(partition_by), hive_style, url_encode)

    @classmethod
    def from_class_name(
        cls,
        class_name: str | None,
        record_key: Sequence[str],
        partition_by: Sequence[str],
        *,
        hive_style: bool,
        url_encode: bool,
    ) -> KeyGenerator:
        """The key generator named in ``hoodie.table.keygenerator.class``."""
        if class_name is None:
            return cls.infer(record_key, partition_by, hive_style=hive_style, url_encode=url_encode)
        short = class_name.rsplit(".", 1)[-1]
        if short not in KeyGeneratorKind.ALL:
            from hudiwrite.exceptions import UnsupportedTableError

            raise UnsupportedTableError(
                f"key generator {class_name} is not supported for writing "
                f"(supported: {', '.join(KeyGeneratorKind.ALL)})"
            )
        return cls(short, tuple(record_key), tuple(partition_by), hive_style, url_encode)

    @property
    def class_name(self) -> str:
        return _KEYGEN_PACKAGE + self.kind

    @property
    def is_partitioned(self) -> bool:
        return self.kind != KeyGeneratorKind.NON_PARTITIONED and bool(self.partition_fields)

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field the generator reads."""
        extra = self.partition_fields if self.is_partitioned else ()
        return tuple(dict.fromkeys(self.record_key_fields + extra))

    # -- record keys -------------------------------------------------------------------

    def record_keys(self, table: pa.Table, *, allow_ambiguous: bool = True) -> pa.ChunkedArray:
        """The ``_hoodie_record_key`` of every row.

        Raises InvalidRecordError on a null or empty key and, unless ``allow_ambiguous``
        (readers re-deriving keys of rows already written keep the default), on a complex-key
        value containing ',': Java's ``field:value,field:value`` form is then no longer
        one-to-one, so two records could share a key. A ':' is harmless: each part is split
        at its first ':' (Java: ``KeyGenUtils.extractRecordKeysByFields``), after the field
        name, which never contains one.
        """
        complex_form = self.kind == KeyGeneratorKind.COMPLEX or len(self.record_key_fields) > 1
        if not complex_form:
            (field,) = self.record_key_fields
            keys = _java_strings(column_by_path(table, field), field)
            bad = pc.or_kleene(pc.is_null(keys), pc.equal(pc.binary_length(keys), 0))
            self._raise_if_any(bad, table, f"record key field {field!r} is null or empty")
            return keys
        parts = []
        all_missing = None
        for field in self.record_key_fields:
            values = _java_strings(column_by_path(table, field), field)
            if not allow_ambiguous and len(self.record_key_fields) > 1:
                self._raise_if_any(
                    pc.fill_null(pc.match_substring(values, ","), False),
                    table,
                    f"record key field {field!r} has a value containing ',', the separator "
                    "of complex keys: two different records could get the same key "
                    "(TableOptions(allow_ambiguous_keys=True) accepts it, as Java does)",
                    column=values,
                )
            missing = pc.fill_null(pc.equal(pc.binary_length(values), 0), True)
            all_missing = missing if all_missing is None else pc.and_(all_missing, missing)
            values = pc.if_else(pc.is_null(values), NULL_KEY_PART, values)
            values = pc.if_else(pc.equal(pc.binary_length(values), 0), EMPTY_KEY_PART, values)
            parts.append(pc.binary_join_element_wise(f"{field}:", values, ""))
        assert all_missing is not None
        self._raise_if_any(
            all_missing,
            table,
            f"record key fields {list(self.record_key_fields)} are all null or empty",
        )
        joined = pc.binary_join_element_wise(*parts, ",")
        return joined

    # -- partition paths ---------------------------------------------------------------

    def partition_paths(self, table: pa.Table) -> pa.ChunkedArray:
        """The ``_hoodie_partition_path`` of every row (``""`` when non-partitioned)."""
        if not self.is_partitioned:
            empty = pa.repeat(pa.scalar("", pa.string()), table.num_rows)
            return pa.chunked_array([empty], type=pa.string())
        segments = []
        for field in self.partition_fields:
            values = _java_strings(column_by_path(table, field), field)
            values = pc.if_else(
                pc.fill_null(pc.equal(pc.binary_length(values), 0), True),
                DEFAULT_PARTITION,
                values,
            )
            self._check_partition_values(values, table, field)
            if self.url_encode:
                values = _url_encode(values)
            if self.hive_style:
                values = pc.binary_join_element_wise(f"{field}=", values, "")
            self._raise_if_any(
                pc.greater(pc.binary_length(values), MAX_SEGMENT_BYTES),
                table,
                f"partition field {field!r} has a value whose directory name "
                f"would be longer than {MAX_SEGMENT_BYTES} bytes (UTF-8), the limit of "
                "file systems and object stores' listings",
                column=values,
            )
            segments.append(values)
        if len(segments) == 1:
            return segments[0]
        return pc.binary_join_element_wise(*segments, "/")

    def _check_partition_values(self, values: pa.ChunkedArray, table: pa.Table, field: str) -> None:
        """A value must map to exactly one directory level that every reader lists.

        Hive's escaping (url_encode) takes care of '/' and control characters but leaves '.'
        alone, so in plain (non-hive) layout a leading '.' ('..', '.hoodie', hidden folders)
        is refused either way.
        """
        bad = pc.starts_with(values, ".") if not self.hive_style else None
        if not self.url_encode:
            unsafe = pc.or_(
                pc.match_substring(values, "/"),
                pc.match_substring_regex(values, r"[\x00-\x1f\x7f]"),
            )
            bad = unsafe if bad is None else pc.or_(bad, unsafe)
        if bad is None:
            return
        hint = "" if self.url_encode else "; enable url_encode_partitions to store such values"
        self._raise_if_any(
            bad,
            table,
            f"partition field {field!r} has a value that is not a valid directory name "
            f"(contains '/' or a control character, or starts with '.'){hint}",
            column=values,
        )

    @staticmethod
    def _raise_if_any(
        mask: pa.ChunkedArray | pa.Array,
        table: pa.Table,
        message: str,
        column: pa.ChunkedArray | None = None,
    ) -> None:
        if table.num_rows == 0 or not pc.any(mask).as_py():
            return
        count = pc.sum(mask).as_py()
        first = pc.index(mask, True).as_py()
        detail = f" (row {first}"
        if column is not None:
            detail += f", value {column[first].as_py()!r}"
        detail += f"; {count} row(s) in all)"
        raise InvalidRecordError(message + detail)
