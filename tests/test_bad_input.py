"""Bad input is refused with the documented ``HudiError`` subclass and leaves the table as it was.

Every case builds (or copies) a table with several committed writes -- base files, log files
with updates and deletes, three partitions -- snapshots every byte and every directory under it,
makes the bad call and checks the snapshot is unchanged: no partial commit, no leftover data
files, markers or instant files.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import hudiwrite.write.source as source_module
from hudiwrite import (
    CorruptTableError,
    HudiError,
    HudiTable,
    InvalidOptionError,
    InvalidRecordError,
    SchemaMismatchError,
    TableExistsError,
    TableNotFoundError,
    TableOptions,
    UnsupportedTableError,
    UnsupportedTypeError,
    WriteMode,
    write_hudi,
)
from hudiwrite.model.tableconfig import Keys, TableConfig, parse_properties

# -- tables and data -------------------------------------------------------------------------

SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("region", pa.string()),
        ("ts", pa.int64()),
        ("val", pa.int32()),
        ("amount", pa.int64()),
        ("event_time", pa.timestamp("us", tz="UTC")),
        ("name", pa.string()),
    ]
)
EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
REGIONS = ("eu", "us", "asia")
OPS = ("upsert", "insert", "delete")
WRITE_OPS: tuple[WriteMode, ...] = ("upsert", "insert")


def _num(key: str | None) -> int:
    digits = "".join(c for c in key or "" if c.isdigit())
    return int(digits) if digits else 0


def rows(
    keys: list[str | None],
    regions: list[str | None] | None = None,
    *,
    ts: int | list[int | None] = 1,
    val: list[int] | None = None,
) -> pa.Table:
    """Deterministic rows of SCHEMA; ``amount`` and ``event_time`` derive from the key."""
    n = len(keys)
    if regions is None:
        regions = [REGIONS[i % 3] for i in range(n)]
    ts_values = [ts] * n if isinstance(ts, int) else ts
    return pa.table(
        {
            "key": pa.array(keys, pa.string()),
            "region": pa.array(regions, pa.string()),
            "ts": pa.array(ts_values, pa.int64()),
            "val": pa.array(val if val is not None else [10 * _num(k) for k in keys], pa.int32()),
            "amount": pa.array([100 * _num(k) for k in keys], pa.int64()),
            "event_time": pa.array(
                [EPOCH + dt.timedelta(seconds=_num(k)) for k in keys],
                pa.timestamp("us", tz="UTC"),
            ),
            "name": pa.array([f"name-{k}" for k in keys], pa.string()),
        },
        schema=SCHEMA,
    )


def replace(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


def new_rows(*bad_keys: str | None) -> pa.Table:
    """Two fresh (not yet in the table) rows, then the given keys in region 'eu'."""
    keys: list[str | None] = ["k100", "k101", *bad_keys]
    return rows(keys, ["eu", "us", *["eu"] * len(bad_keys)])


def build_table(
    path: Path,
    *,
    hive_style: bool = True,
    url_encode: bool = False,
    complex_key: bool = False,
) -> None:
    """Three commits: inserts (base files), updates + one insert (log files), a delete."""
    table = HudiTable.create(
        str(path),
        SCHEMA,
        record_key=["key", "amount"] if complex_key else "key",
        partition_by="region",
        ordering_field="ts",
        hive_style_partitioning=hive_style,
        options=TableOptions(url_encode_partitions=url_encode),
    )
    table.upsert(rows([f"k{i}" for i in range(1, 10)]))
    table.upsert(rows(["k1", "k2", "k3", "k10"], ts=2, val=[11, 21, 31, 100]))
    table.delete(rows(["k4"], ["eu"]))
    files = [p.name for p in path.rglob("*") if p.is_file()]
    assert any(n.endswith(".parquet") for n in files)
    assert any(".log." in n for n in files)
    partitions = [p for p in path.iterdir() if p.is_dir() and p.name != ".hoodie"]
    assert len(partitions) == 3


@pytest.fixture(scope="module")
def template_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("templates")


@pytest.fixture
def make_table(template_root: Path, tmp_path: Path) -> Callable[..., Path]:
    """A fresh copy of a committed table (built once per kind, then copied)."""

    def make(
        *, hive_style: bool = True, url_encode: bool = False, complex_key: bool = False
    ) -> Path:
        kind = (hive_style, url_encode, complex_key)
        template = template_root / "-".join(str(int(k)) for k in kind)
        if not (template / ".hoodie" / "hoodie.properties").exists():
            build_table(
                template, hive_style=hive_style, url_encode=url_encode, complex_key=complex_key
            )
        dest = tmp_path / "table"
        shutil.copytree(template, dest)
        return dest

    return make


@pytest.fixture
def table_path(make_table: Callable[..., Path]) -> Path:
    return make_table()


# -- snapshots -------------------------------------------------------------------------------

Snapshot = tuple[dict[str, bytes], frozenset[str]]


def snapshot(root: Path) -> Snapshot:
    """Every file (relative path -> bytes) and every directory below ``root``."""
    files: dict[str, bytes] = {}
    dirs: set[str] = set()
    if root.exists():
        for p in root.rglob("*"):
            rel = p.relative_to(root).as_posix()
            if p.is_dir():
                dirs.add(rel)
            else:
                files[rel] = p.read_bytes()
    return files, frozenset(dirs)


def assert_unchanged(root: Path, before: Snapshot) -> None:
    files, dirs = snapshot(root)
    old_files, old_dirs = before
    assert sorted(set(files) - set(old_files)) == [], "files were created"
    assert sorted(set(old_files) - set(files)) == [], "files were removed"
    assert sorted(p for p in old_files if files[p] != old_files[p]) == [], "files were changed"
    assert sorted(dirs ^ old_dirs) == [], "directories were created or removed"


def assert_nothing_at(path: Path) -> None:
    """Nothing is at the location: not a file, not even an empty folder."""
    assert not path.exists(), sorted(str(p) for p in path.rglob("*"))
    with pytest.raises(TableNotFoundError):
        HudiTable.open(str(path))


def expect_refused(
    root: Path,
    call: Callable[[], object],
    error: type[HudiError],
    *mentions: str,
) -> HudiError:
    """Run ``call``: it must raise ``error``, mention every fragment, and change nothing."""
    before = snapshot(root)
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, HudiError)
    message = str(info.value)
    for fragment in mentions:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert_unchanged(root, before)
    return info.value


def write(path: Path, op: str, data: Any, options: TableOptions | None = None) -> Callable[[], Any]:
    def call() -> Any:
        table = HudiTable.open(str(path), options=options)
        return getattr(table, op)(data)

    return call


def rewrite_properties(path: Path, **updates: str | None) -> None:
    """Change ``hoodie.properties`` keeping it well formed (the checksum stays valid)."""
    props_file = path / ".hoodie" / "hoodie.properties"
    config = TableConfig(parse_properties(props_file.read_bytes().decode("latin-1")))
    keyed = {getattr(Keys, k): v for k, v in updates.items()}
    text = config.with_updates(keyed).to_text()
    TableConfig(parse_properties(text)).validate_checksum()  # still passes the checksum check
    props_file.write_bytes(text.encode("latin-1"))


def snapshot_rows(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for row in HudiTable.open(str(path)).to_arrow().to_pylist():
        out[(row["_hoodie_record_key"], row["_hoodie_partition_path"])] = row
    return out


# -- invalid records -------------------------------------------------------------------------


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize(
    ("bad_key", "mention"),
    [(None, "'key'"), ("", "'key'")],
    ids=["null-key", "empty-key"],
)
def test_null_or_empty_record_key(
    table_path: Path, op: str, bad_key: str | None, mention: str
) -> None:
    expect_refused(
        table_path, write(table_path, op, new_rows(bad_key)), InvalidRecordError, mention
    )


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize(
    ("key", "amount"),
    [(None, None), ("", None)],
    ids=["all-null", "empty-and-null"],
)
def test_complex_key_with_all_parts_missing(
    make_table: Callable[..., Path], op: str, key: str | None, amount: int | None
) -> None:
    path = make_table(complex_key=True)
    data = new_rows("k102")
    data = replace(data, "key", pa.array(["k100", "k101", key], pa.string()))
    data = replace(data, "amount", pa.array([1, 2, amount], pa.int64()))
    expect_refused(path, write(path, op, data), InvalidRecordError, "key", "amount")


def test_complex_key_with_one_part_null_is_accepted(make_table: Callable[..., Path]) -> None:
    path = make_table(complex_key=True)
    data = replace(new_rows(), "amount", pa.array([None, 7], pa.int64()))
    HudiTable.open(str(path)).upsert(data)
    keys = {k for k, _ in snapshot_rows(path)}
    assert "key:k100,amount:__null__" in keys


@pytest.mark.parametrize("op", OPS)
def test_complex_key_value_with_the_separator(make_table: Callable[..., Path], op: str) -> None:
    """``key="k1,amount:5"`` with ``amount=7`` prints ``key:k1,amount:5,amount:7``: the key
    form is no longer one-to-one, so such values are refused unless asked for."""
    path = make_table(complex_key=True)
    data = new_rows("k1,amount:5")
    expect_refused(path, write(path, op, data), InvalidRecordError, "'key'", "','", "k1,amount:5")


def test_complex_key_separator_allowed_for_java_parity(make_table: Callable[..., Path]) -> None:
    path = make_table(complex_key=True)
    options = TableOptions(allow_ambiguous_keys=True)
    HudiTable.open(str(path), options=options).upsert(new_rows("k1,x"))
    keys = {k for k, _ in snapshot_rows(path)}
    assert "key:k1,x,amount:100" in keys  # Java's spelling of the same record


def test_colons_in_complex_key_values_are_accepted(make_table: Callable[..., Path]) -> None:
    """Each key part is split at its first ':' (after the field name): values may hold ':'."""
    path = make_table(complex_key=True)
    HudiTable.open(str(path)).upsert(new_rows("k7:12:00"))
    keys = {k for k, _ in snapshot_rows(path)}
    assert "key:k7:12:00,amount:7120000" in keys


def test_commas_in_a_simple_key_are_accepted(table_path: Path) -> None:
    HudiTable.open(str(table_path)).upsert(new_rows("k8,9"))
    assert ("k8,9", "region=eu") in snapshot_rows(table_path)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("hive_style", [True, False])
def test_partition_value_longer_than_a_directory_name(
    make_table: Callable[..., Path], op: str, hive_style: bool
) -> None:
    """Refused while the input is read, before an instant is reserved (it used to surface
    as an OSError from the file system mid-write)."""
    path = make_table(hive_style=hive_style)
    long_value = "é" * 128  # 128 characters, 256 bytes in UTF-8
    data = rows(["k100", "k101"], ["eu", long_value])
    expect_refused(path, write(path, op, data), InvalidRecordError, "'region'", "255 bytes")


def test_partition_value_at_the_directory_name_limit(make_table: Callable[..., Path]) -> None:
    path = make_table(hive_style=False)
    value = "p" * 255
    HudiTable.open(str(path)).upsert(rows(["k100"], [value]))
    assert ("k100", value) in snapshot_rows(path)


@pytest.mark.parametrize("op", WRITE_OPS)
def test_null_ordering_value(table_path: Path, op: str) -> None:
    data = replace(new_rows("k102"), "ts", pa.array([1, None, 1], pa.int64()))
    expect_refused(table_path, write(table_path, op, data), InvalidRecordError, "'ts'")


HIVE_BAD_PARTITIONS = ["a/b", "a\x01b", "line\nbreak", "del\x7f"]
PLAIN_BAD_PARTITIONS = [*HIVE_BAD_PARTITIONS, ".hidden", "..", ".hoodie"]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("value", HIVE_BAD_PARTITIONS)
def test_bad_partition_value_hive_style(table_path: Path, op: str, value: str) -> None:
    data = rows(["k100", "k101"], ["eu", value])
    expect_refused(table_path, write(table_path, op, data), InvalidRecordError, "'region'")


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("value", PLAIN_BAD_PARTITIONS)
def test_bad_partition_value_plain_style(
    make_table: Callable[..., Path], op: str, value: str
) -> None:
    path = make_table(hive_style=False)
    data = rows(["k100", "k101"], ["eu", value])
    expect_refused(path, write(path, op, data), InvalidRecordError, "'region'")


DOT_VALUES = [".hidden", "..", ".hoodie"]


def _url_encode_cases() -> Iterator[Any]:
    for hive_style in (True, False):
        style = "hive" if hive_style else "plain"
        for value in PLAIN_BAD_PARTITIONS:
            if not hive_style and value in DOT_VALUES:
                continue  # refused even when encoding: see the next test
            yield pytest.param(hive_style, value, id=f"{style}-{value!r}")


@pytest.mark.parametrize("value", DOT_VALUES)
def test_url_encoding_does_not_make_dot_values_safe(
    make_table: Callable[..., Path], value: str
) -> None:
    """Hive's escaping leaves '.' alone, so '..' or '.hoodie' would still name a folder
    outside the table or inside its meta folder: refused in plain layout either way."""
    path = make_table(hive_style=False, url_encode=True)
    data = rows(["k100", "k101"], ["eu", value])
    expect_refused(path, write(path, "upsert", data), InvalidRecordError, "'region'")


@pytest.mark.parametrize(("hive_style", "value"), list(_url_encode_cases()))
def test_url_encoded_partitions_accept_the_same_values(
    make_table: Callable[..., Path], tmp_path: Path, hive_style: bool, value: str
) -> None:
    path = make_table(hive_style=hive_style, url_encode=True)
    before = snapshot_rows(path)
    HudiTable.open(str(path)).upsert(rows(["k200", "k201"], ["eu", value]))
    table = HudiTable.open(str(path)).to_arrow()
    got = dict(
        zip(table.column("key").to_pylist(), table.column("region").to_pylist(), strict=True)
    )
    assert (got.get("k200"), got.get("k201")) == ("eu", value)
    assert len(table) == len(before) + 2
    # Nothing was written beside the table, and no data file went into the meta folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table"]
    meta_files = [p.name for p in (path / ".hoodie").rglob("*") if p.is_file()]
    assert [n for n in meta_files if n.endswith((".parquet", ".marker.CREATE"))] == []
    assert ".hoodie_partition_metadata" not in meta_files
    # Every partition is one directory level directly under the table.
    partitions = {p.parent for p in path.rglob(".hoodie_partition_metadata")}
    assert all(p.parent == path for p in partitions)
    # A delete finds the row again through its encoded partition path.
    HudiTable.open(str(path)).delete(rows(["k201"], [value]))
    assert "k201" not in HudiTable.open(str(path)).to_arrow().column("key").to_pylist()


# -- duplicates on insert ---------------------------------------------------------------------


def test_insert_of_existing_key_fails_by_default(table_path: Path) -> None:
    # k1 lives in a base file (updated in a log), k10 only in a base file of the 2nd commit.
    for existing, region in [("k1", "eu"), ("k10", "eu")]:
        data = rows(["k100", existing], ["us", region], val=[1, 999])
        expect_refused(table_path, write(table_path, "insert", data), InvalidRecordError, existing)


def test_insert_duplicates_drop_keeps_the_existing_row(table_path: Path) -> None:
    before = snapshot_rows(table_path)
    data = rows(["k1", "k100"], ["eu", "us"], ts=5, val=[999, 5])
    options = TableOptions(insert_duplicates="drop")
    result = HudiTable.open(str(table_path), options=options).insert(data)
    assert result.num_inserted == 1
    after = snapshot_rows(table_path)
    assert after[("k1", "region=eu")]["val"] == before[("k1", "region=eu")]["val"] == 11
    assert after[("k100", "region=us")]["val"] == 5
    assert len(after) == len(before) + 1


def test_insert_of_deleted_key_is_not_a_duplicate(table_path: Path) -> None:
    HudiTable.open(str(table_path)).insert(rows(["k4"], ["eu"], ts=3, val=[44]))
    assert snapshot_rows(table_path)[("k4", "region=eu")]["val"] == 44


# -- schema mismatches ------------------------------------------------------------------------


def _drop(name: str) -> Callable[[pa.Table], pa.Table]:
    return lambda t: t.drop_columns([name])


def _set(name: str, values: pa.Array) -> Callable[[pa.Table], pa.Table]:
    def change(t: pa.Table) -> pa.Table:
        return replace(t, name, values)

    return change


NS_TIMES = pa.array(
    [1_700_000_000_000_000_000, 1_700_000_000_000_000_001], pa.timestamp("ns", "UTC")
)

SCHEMA_CASES: list[tuple[str, Callable[[pa.Table], pa.Table], tuple[str, ...], str]] = [
    ("missing-key-column", _drop("key"), OPS, "key"),
    ("missing-partition-column", _drop("region"), OPS, "region"),
    ("missing-data-column", _drop("name"), WRITE_OPS, "name"),
    ("missing-ordering-column", _drop("ts"), WRITE_OPS, "ts"),
    ("extra-column", lambda t: t.append_column("extra", pa.array([1, 2])), WRITE_OPS, "extra"),
    ("string-into-int64", _set("amount", pa.array(["ten", "eleven"])), WRITE_OPS, "amount"),
    ("fraction-into-int64", _set("amount", pa.array([1.0, 1.5])), WRITE_OPS, "amount"),
    ("int64-overflows-int32", _set("val", pa.array([1, 2**40], pa.int64())), WRITE_OPS, "val"),
    ("nanosecond-timestamps", _set("event_time", NS_TIMES), WRITE_OPS, "event_time"),
    (
        "struct-into-string",
        _set("name", pa.array([{"a": 1}, {"a": 2}])),
        WRITE_OPS,
        "name",
    ),
    ("float-key-in-delete", _set("key", pa.array([1.0, 2.0])), ("delete",), "key"),
]


@pytest.mark.parametrize(
    ("op", "change", "mention"),
    [
        pytest.param(op, change, mention, id=f"{name}-{op}")
        for name, change, ops, mention in SCHEMA_CASES
        for op in ops
    ],
)
def test_schema_mismatch(
    table_path: Path, op: str, change: Callable[[pa.Table], pa.Table], mention: str
) -> None:
    data = change(new_rows())
    error = expect_refused(table_path, write(table_path, op, data), SchemaMismatchError, mention)
    assert f"'{mention}'" in str(error)


@pytest.mark.parametrize("op", ["upsert", "insert", "delete"])
def test_duplicate_column(table_path: Path, op: str) -> None:
    data = new_rows().append_column("val", pa.array([1, 2], pa.int32()))
    expect_refused(table_path, write(table_path, op, data), SchemaMismatchError, "'val'")


@pytest.mark.parametrize("op", WRITE_OPS)
def test_numeric_strings_into_int64(table_path: Path, op: str) -> None:
    data = replace(new_rows(), "amount", pa.array(["012", "13"]))
    expect_refused(table_path, write(table_path, op, data), SchemaMismatchError, "'amount'")


def test_whole_microsecond_nanosecond_timestamps_are_accepted(table_path: Path) -> None:
    # Control for the nanosecond case: a lossless cast is not an error.
    whole = pa.array(
        [1_700_000_000_000_000_000, 1_700_000_000_000_001_000], pa.timestamp("ns", "UTC")
    )
    HudiTable.open(str(table_path)).upsert(replace(new_rows(), "event_time", whole))
    assert ("k101", "region=us") in snapshot_rows(table_path)


@pytest.mark.parametrize("op", OPS)
def test_data_that_is_not_arrow(table_path: Path, op: str) -> None:
    data = new_rows().to_pylist()
    expect_refused(table_path, write(table_path, op, data), InvalidOptionError, "list")


# -- unsupported types and names at create ------------------------------------------------------

UNSUPPORTED_TYPES = {
    "uint64": pa.uint64(),
    "float16": pa.float16(),
    "time64": pa.time64("us"),
    "time32": pa.time32("ms"),
    "duration": pa.duration("us"),
    "interval": pa.month_day_nano_interval(),
    "map-int-keys": pa.map_(pa.int32(), pa.string()),
    "dense-union": pa.dense_union([pa.field("i", pa.int32()), pa.field("s", pa.string())]),
    "sparse-union": pa.sparse_union([pa.field("i", pa.int32()), pa.field("s", pa.string())]),
    "decimal256-40": pa.decimal256(40, 2),
    "null": pa.null(),
    "list-of-uint64": pa.list_(pa.uint64()),
    "struct-with-float16": pa.struct([("x", pa.float16())]),
    # table version 6: Hudi 0.x has no timestamp without a time zone (Spark-Hudi 0.15 can
    # neither write nor read one), at any depth
    "naive-timestamp": pa.timestamp("us"),
    "naive-timestamp-in-list-of-structs": pa.list_(pa.struct([("t", pa.timestamp("ms"))])),
    "naive-timestamp-in-map": pa.map_(pa.string(), pa.timestamp("ns")),
}


def _create_call(path: Path, schema: pa.Schema, **kwargs: Any) -> Callable[[], HudiTable]:
    kwargs.setdefault("record_key", "key")
    kwargs.setdefault("partition_by", "region")
    return lambda: HudiTable.create(str(path), schema, **kwargs)


BASE_FIELDS = [("key", pa.string()), ("region", pa.string()), ("ts", pa.int64())]


@pytest.mark.parametrize("dtype", UNSUPPORTED_TYPES.values(), ids=UNSUPPORTED_TYPES.keys())
def test_unsupported_type_at_create(tmp_path: Path, dtype: pa.DataType) -> None:
    path = tmp_path / "new"
    schema = pa.schema([*BASE_FIELDS, ("bad", dtype)])
    with pytest.raises(UnsupportedTypeError, match="bad"):
        _create_call(path, schema)()
    assert_nothing_at(path)


@pytest.mark.parametrize(
    ("role", "dtype"),
    [
        ("record_key", pa.float64()),
        ("record_key", pa.float32()),
        ("partition_by", pa.float64()),
        ("partition_by", pa.float32()),
        ("record_key", pa.decimal128(10, 2)),
        ("partition_by", pa.binary()),
    ],
)
def test_unsupported_key_or_partition_type(tmp_path: Path, role: str, dtype: pa.DataType) -> None:
    path = tmp_path / "new"
    schema = pa.schema([*BASE_FIELDS, ("f", dtype)])
    with pytest.raises(UnsupportedTypeError, match="'f'"):
        _create_call(path, schema, **{role: "f"})()
    assert_nothing_at(path)


def test_unsupported_ordering_type(tmp_path: Path) -> None:
    path = tmp_path / "new"
    schema = pa.schema([*BASE_FIELDS, ("o", pa.struct([("x", pa.int32())]))])
    with pytest.raises(UnsupportedTypeError, match="'o'"):
        _create_call(path, schema, ordering_field="o")()
    assert_nothing_at(path)


@pytest.mark.parametrize(
    ("schema", "mention"),
    [
        (pa.schema([*BASE_FIELDS, ("my col", pa.int32())]), "my col"),
        (pa.schema([*BASE_FIELDS, ("1abc", pa.int32())]), "1abc"),
        (pa.schema([*BASE_FIELDS, ("a-b", pa.int32())]), "a-b"),
        (pa.schema([*BASE_FIELDS, ("s", pa.struct([("my field", pa.int32())]))]), "my field"),
        (pa.schema([*BASE_FIELDS, ("dup", pa.int32()), ("dup", pa.int64())]), "dup"),
    ],
    ids=["space", "leading-digit", "dash", "nested-space", "duplicate"],
)
def test_invalid_column_names(tmp_path: Path, schema: pa.Schema, mention: str) -> None:
    path = tmp_path / "new"
    with pytest.raises(SchemaMismatchError) as info:
        _create_call(path, schema)()
    assert not isinstance(info.value, UnsupportedTypeError)
    assert mention in str(info.value)
    assert_nothing_at(path)


def test_invalid_table_name(tmp_path: Path) -> None:
    path = tmp_path / "new"
    with pytest.raises(InvalidOptionError, match="bad name"):
        _create_call(path, SCHEMA, table_name="bad name")()
    assert_nothing_at(path)


@pytest.mark.parametrize(
    ("kwargs", "mention"),
    [
        ({"record_key": "missing"}, "missing"),
        ({"partition_by": "missing"}, "missing"),
        ({"ordering_field": "missing"}, "missing"),
        ({"record_key": "region.sub"}, "region.sub"),
    ],
    ids=["record-key", "partition", "ordering", "nested-path"],
)
def test_create_with_a_field_not_in_the_schema(
    tmp_path: Path, kwargs: dict[str, str], mention: str
) -> None:
    path = tmp_path / "new"
    with pytest.raises(SchemaMismatchError, match=mention):
        _create_call(path, pa.schema(BASE_FIELDS), **kwargs)()
    assert_nothing_at(path)


# -- table versions and unsupported tables ----------------------------------------------------


@pytest.mark.parametrize("version", ["5", "8"])
def test_wrong_table_version(table_path: Path, version: str) -> None:
    rewrite_properties(table_path, VERSION=version)
    expect_refused(
        table_path, lambda: HudiTable.open(str(table_path)), UnsupportedTableError, version
    )
    call = lambda: write_hudi(str(table_path), new_rows(), record_key="key", partition_by="region")  # noqa: E731
    expect_refused(table_path, call, UnsupportedTableError, version)


def test_table_version_changed_under_an_open_handle(table_path: Path) -> None:
    handle = HudiTable.open(str(table_path))
    rewrite_properties(table_path, VERSION="8")
    expect_refused(table_path, lambda: handle.upsert(new_rows()), UnsupportedTableError, "8")


def test_non_numeric_table_version(table_path: Path) -> None:
    rewrite_properties(table_path, VERSION="six")
    expect_refused(table_path, lambda: HudiTable.open(str(table_path)), CorruptTableError, "six")


def test_wrong_timeline_layout_version(table_path: Path) -> None:
    rewrite_properties(table_path, TIMELINE_LAYOUT="2")
    expect_refused(table_path, lambda: HudiTable.open(str(table_path)), UnsupportedTableError)


UNSUPPORTED_TABLES = {
    "copy-on-write": ({"TYPE": "COPY_ON_WRITE"}, "COPY_ON_WRITE"),
    "custom-keygen": ({"KEYGEN_CLASS": "org.apache.hudi.keygen.CustomKeyGenerator"}, "Custom"),
    "partial-payload": (
        {"PAYLOAD_CLASS": "org.apache.hudi.common.model.PartialUpdateAvroPayload"},
        "PartialUpdateAvroPayload",
    ),
    "orc-base-files": ({"BASE_FILE_FORMAT": "ORC"}, "ORC"),
    "no-meta-fields": ({"POPULATE_META_FIELDS": "false"}, "meta fields"),
    "dropped-partition-columns": ({"DROP_PARTITION_COLUMNS": "true"}, "partition columns"),
}


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize(
    ("updates", "mention"), UNSUPPORTED_TABLES.values(), ids=UNSUPPORTED_TABLES.keys()
)
def test_unsupported_table_on_write(
    table_path: Path, op: str, updates: dict[str, str], mention: str
) -> None:
    rewrite_properties(table_path, **updates)
    data = new_rows() if op != "delete" else rows(["k1"], ["eu"])
    expect_refused(table_path, write(table_path, op, data), UnsupportedTableError, mention)


SERVICE_REFUSALS = (
    "copy-on-write",
    "orc-base-files",
    "no-meta-fields",
    "dropped-partition-columns",
)


@pytest.mark.parametrize("service", ["compact", "clean", "archive"])
@pytest.mark.parametrize("kind", SERVICE_REFUSALS)
def test_unsupported_table_on_services(table_path: Path, service: str, kind: str) -> None:
    """Services refuse what writes refuse, with the same reason: one check decides."""
    updates, mention = UNSUPPORTED_TABLES[kind]
    rewrite_properties(table_path, **updates)
    table = HudiTable.open(str(table_path))
    expect_refused(table_path, getattr(table, service), UnsupportedTableError, mention)


# -- existing, missing and corrupt tables -----------------------------------------------------


def test_create_over_an_existing_table(table_path: Path) -> None:
    expect_refused(table_path, _create_call(table_path, SCHEMA), TableExistsError)
    other = pa.schema([("id", pa.int64())])
    expect_refused(
        table_path,
        _create_call(table_path, other, record_key="id", partition_by=None),
        TableExistsError,
    )


def test_open_where_there_is_no_table(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TableNotFoundError):
        HudiTable.open(str(empty))
    assert list(empty.iterdir()) == []
    absent = tmp_path / "absent"
    with pytest.raises(TableNotFoundError):
        HudiTable.open(str(absent))
    assert not absent.exists()
    # Data files without a .hoodie folder are not a table either.
    plain = tmp_path / "plain"
    (plain / "region=eu").mkdir(parents=True)
    (plain / "region=eu" / "part.parquet").write_bytes(b"PAR1")
    expect_refused(plain, lambda: HudiTable.open(str(plain)), TableNotFoundError)


def test_tampered_checksum(table_path: Path) -> None:
    props_file = table_path / ".hoodie" / "hoodie.properties"
    text = props_file.read_text("latin-1")
    stored = TableConfig(parse_properties(text)).get(Keys.CHECKSUM)
    assert stored is not None
    props_file.write_text(text.replace(f"={stored}", f"={int(stored) ^ 1}"), "latin-1")
    expect_refused(
        table_path, lambda: HudiTable.open(str(table_path)), CorruptTableError, "checksum"
    )
    # write_hudi must not mistake a corrupt table for a missing one and create over it.
    call = lambda: write_hudi(str(table_path), new_rows(), record_key="key", partition_by="region")  # noqa: E731
    expect_refused(table_path, call, CorruptTableError)


# -- corrupt table files ---------------------------------------------------------------------


def _last_commit(path: Path) -> Path:
    return sorted((path / ".hoodie").glob("*.deltacommit"))[-1]


def _each(path: Path, pattern: str, change: Callable[[bytes], bytes]) -> None:
    """Apply ``change`` to every data file (outside ``.hoodie/``) matching ``pattern``."""
    found = sorted(p for p in path.rglob(pattern) if "/.hoodie/" not in p.as_posix())
    assert found, pattern
    for p in found:
        p.write_bytes(change(p.read_bytes()))


CORRUPTIONS: dict[str, tuple[Callable[[Path], object], str]] = {
    "commit-not-json": (lambda p: _last_commit(p).write_bytes(b"{not json"), "not valid JSON"),
    "commit-wrong-shape": (
        lambda p: _last_commit(p).write_bytes(b'{"partitionToWriteStats": 5}'),
        "not Hudi commit metadata",
    ),
    "base-file-not-parquet": (
        lambda p: _each(p, "*.parquet", lambda b: b"garbage" * 20),
        "not a parquet file",
    ),
    "base-file-truncated": (
        lambda p: _each(p, "*.parquet", lambda b: b[: len(b) // 2]),
        "damaged",
    ),
    "properties-garbage-no-backup": (
        lambda p: (p / ".hoodie" / "hoodie.properties").write_bytes(b"\xff\xfe=\n=="),
        "no backup",
    ),
}


@pytest.mark.parametrize("op", ["upsert", "delete", "to_arrow"])
@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=list(CORRUPTIONS))
def test_corrupt_table_files(table_path: Path, corruption: str, op: str) -> None:
    """Damaged files raise CorruptTableError naming the problem, and nothing is written."""
    damage, mention = CORRUPTIONS[corruption]
    damage(table_path)

    def call() -> Any:
        table = HudiTable.open(str(table_path))
        if op == "to_arrow":
            return table.to_arrow()
        return getattr(table, op)(new_rows() if op == "upsert" else rows(["k1"], ["eu"]))

    expect_refused(table_path, call, CorruptTableError, mention)


@pytest.mark.parametrize("corruption", [c for c in CORRUPTIONS if c.startswith(("commit", "base"))])
def test_compaction_of_corrupt_files(table_path: Path, corruption: str) -> None:
    """A compaction over damaged files fails with CorruptTableError once its plan is
    scheduled, as Java's does: the plan stays pending (requested or inflight) for a retry,
    with no output of its own, and no other file changes."""
    damage, mention = CORRUPTIONS[corruption]
    damage(table_path)
    old_files, _ = snapshot(table_path)
    with pytest.raises(CorruptTableError, match=mention):
        HudiTable.open(str(table_path)).compact()
    files, _ = snapshot(table_path)
    assert {p: b for p, b in files.items() if p in old_files} == old_files
    (plan,) = [p for p in files if p.count("/") == 1 and p.endswith(".compaction.requested")]
    instant = plan.removeprefix(".hoodie/").split(".")[0]
    new = set(files) - set(old_files)
    assert new <= {
        plan,
        f".hoodie/{instant}.compaction.inflight",
        f".hoodie/.aux/{instant}.compaction.requested",
    }, sorted(new)


@pytest.mark.parametrize("op", ["upsert", "compact"])
def test_truncated_compaction_plan(table_path: Path, op: str) -> None:
    HudiTable.open(str(table_path)).compact(plan_only=True)
    (plan,) = (table_path / ".hoodie").glob("*.compaction.requested")
    plan.write_bytes(plan.read_bytes()[:20])
    table = HudiTable.open(str(table_path))
    call = (lambda: table.upsert(new_rows())) if op == "upsert" else table.compact
    expect_refused(table_path, call, CorruptTableError, "truncated")


def test_bad_input_on_a_table_with_a_metadata_table(table_path: Path) -> None:
    meta_dir = table_path / ".hoodie" / "metadata"
    (meta_dir / ".hoodie").mkdir(parents=True)
    (meta_dir / ".hoodie" / "hoodie.properties").write_text("hoodie.table.name=t_metadata\n")
    (meta_dir / "files").mkdir()
    (meta_dir / "files" / ".files-0000-0_00000000000000.log.1_0-0-0").write_bytes(b"#HUDI#")
    rewrite_properties(table_path, METADATA_PARTITIONS="files")
    expect_refused(table_path, write(table_path, "upsert", new_rows(None)), InvalidRecordError)


# -- options ---------------------------------------------------------------------------------

BAD_OPTIONS: dict[str, dict[str, Any]] = {
    "log-block-orc": {"log_block_format": "orc"},
    "target-size-zero": {"target_file_size": 0},
    "target-size-negative": {"target_file_size": -5},
    "target-size-float": {"target_file_size": 1.5},
    "row-group-zero": {"row_group_rows": 0},
    "compression": {"parquet_compression": "lz77"},
    "insert-duplicates": {"insert_duplicates": "ignore"},
    "memory-zero": {"max_memory_bytes": 0},
    "workers-zero": {"max_workers": 0},
    "payload": {"payload_class": "NoSuchPayload"},
    "table-version-5": {"table_version": 5},
    "small-file-limit-negative": {"small_file_limit": -1},
    "small-file-rewrite-zero": {"small_file_rewrite": 0},
    "small-file-floor-negative": {"small_file_floor": -1},
}


def test_every_option_is_documented() -> None:
    """docs/options.md lists every TableOptions field with its default."""
    import attrs

    text = (Path(__file__).parent.parent / "docs" / "options.md").read_text()
    missing = [f.name for f in attrs.fields(TableOptions) if f"| `{f.name}` |" not in text]
    assert missing == []


@pytest.mark.parametrize("kwargs", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_bad_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidOptionError) as info:
        TableOptions(**kwargs)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, HudiError)
    (value,) = kwargs.values()
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"record_key": []},
        {"record_key": ["key", "key"]},
        {"record_key": ""},
        {"record_key": "key", "partition_by": ["region", "region"]},
    ],
    ids=["no-key", "key-twice", "empty-name", "partition-twice"],
)
def test_bad_create_arguments(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    path = tmp_path / "new"
    with pytest.raises(InvalidOptionError):
        HudiTable.create(str(path), SCHEMA, **kwargs)
    assert_nothing_at(path)


def test_write_hudi_bad_mode(tmp_path: Path, table_path: Path) -> None:
    for path in (tmp_path / "new", table_path):
        before = snapshot(path)
        with pytest.raises(InvalidOptionError, match="merge"):
            write_hudi(str(path), new_rows(), mode="merge", record_key="key")  # type: ignore[arg-type]
        assert_unchanged(path, before)


# -- streams: bad rows late in the input ------------------------------------------------------


def stream(third: pa.Table) -> pa.RecordBatchReader:
    """Three batches: two good (new and existing keys), then ``third``."""
    first = rows(["k110", "k111", "k1"], ["eu", "us", "eu"], ts=7)
    second = rows(["k112", "k2"], ["asia", "us"], ts=7)
    batches = [*first.to_batches(), *second.to_batches(), *third.to_batches()]
    return pa.RecordBatchReader.from_batches(SCHEMA, batches)


THIRD_BATCH_CASES = [
    (case, op)
    for case in ("null-key", "empty-key", "null-ordering", "slash-partition")
    for op in OPS
    if not (case == "null-ordering" and op == "delete")  # deletes do not read the ordering
]


@pytest.mark.parametrize("small_chunks", [False, True], ids=["one-chunk", "spilled-chunks"])
@pytest.mark.parametrize(
    ("case", "op"), THIRD_BATCH_CASES, ids=[f"{c}-{o}" for c, o in THIRD_BATCH_CASES]
)
def test_bad_row_in_third_batch(
    table_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    op: str,
    small_chunks: bool,
    case: str,
) -> None:
    column, values, mention = {
        "null-key": ("key", ["k120", None], "'key'"),
        "empty-key": ("key", ["k120", ""], "'key'"),
        "null-ordering": ("ts", [1, None], "'ts'"),
        "slash-partition": ("region", ["eu", "a/b"], "'region'"),
    }[case]
    third = rows(["k120", "k121"], ["eu", "eu"])
    third = replace(third, column, pa.array(values, SCHEMA.field(column).type))
    options = None
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir()
    if small_chunks:
        # Process every batch as its own chunk and spill from the first one on, so the first
        # two batches are fully prepared (and spilled to disk) before the bad one is seen.
        monkeypatch.setattr(source_module, "_CHUNK_BYTES", 1)
        monkeypatch.setattr(tempfile, "tempdir", str(spill_dir))
        options = TableOptions(max_memory_bytes=1)
    call = write(table_path, op, stream(third), options)
    expect_refused(table_path, call, InvalidRecordError, mention)
    assert list(spill_dir.iterdir()) == []


@pytest.mark.parametrize("op", WRITE_OPS)
def test_cast_failure_in_third_batch(table_path: Path, op: str) -> None:
    schema = SCHEMA.set(SCHEMA.get_field_index("val"), pa.field("val", pa.int64()))
    good = rows(["k110", "k111"]).cast(schema)
    bad = replace(rows(["k120", "k121"]).cast(schema), "val", pa.array([1, 2**40], pa.int64()))
    reader = pa.RecordBatchReader.from_batches(
        schema, [*good.to_batches(), *good.to_batches(), *bad.to_batches()]
    )
    expect_refused(table_path, write(table_path, op, reader), SchemaMismatchError, "'val'")


def test_failing_source_stream_leaves_the_table_alone(table_path: Path) -> None:
    def batches() -> Iterator[pa.RecordBatch]:
        yield from rows(["k110"]).to_batches()
        yield from rows(["k111"]).to_batches()
        raise RuntimeError("source went away")

    before = snapshot(table_path)
    reader = pa.RecordBatchReader.from_batches(SCHEMA, batches())
    with pytest.raises(Exception, match="source went away"):
        HudiTable.open(str(table_path)).upsert(reader)
    assert_unchanged(table_path, before)


# -- write_hudi to a new location -------------------------------------------------------------

NEW_URI_CASES: dict[str, tuple[Callable[[], Any], type[HudiError], str]] = {
    "null-key": (lambda: new_rows(None), InvalidRecordError, "'key'"),
    "null-ordering": (
        lambda: replace(new_rows(), "ts", pa.array([None, 1], pa.int64())),
        InvalidRecordError,
        "'ts'",
    ),
    "slash-partition": (lambda: rows(["k1", "k2"], ["eu", "a/b"]), InvalidRecordError, "'region'"),
    "unsupported-type": (
        lambda: new_rows().append_column("bad", pa.array([1, 2], pa.uint64())),
        UnsupportedTypeError,
        "bad",
    ),
    "invalid-name": (
        lambda: new_rows().append_column("my col", pa.array([1, 2])),
        SchemaMismatchError,
        "my col",
    ),
    "float-key": (
        lambda: replace(new_rows(), "key", pa.array([1.5, 2.5])),
        UnsupportedTypeError,
        "'key'",
    ),
    "bad-third-batch": (
        lambda: stream(replace(rows(["k120", "k121"]), "key", pa.array(["k120", None]))),
        InvalidRecordError,
        "'key'",
    ),
}


@pytest.mark.parametrize("mode", WRITE_OPS)
@pytest.mark.parametrize(
    ("make_data", "error", "mention"), NEW_URI_CASES.values(), ids=NEW_URI_CASES.keys()
)
def test_write_hudi_to_a_new_uri_with_bad_data(
    tmp_path: Path,
    mode: WriteMode,
    make_data: Callable[[], Any],
    error: type[HudiError],
    mention: str,
) -> None:
    path = tmp_path / "new"
    kwargs: dict[str, Any] = {"record_key": "key", "partition_by": "region", "ordering_field": "ts"}
    with pytest.raises(error) as info:
        write_hudi(str(path), make_data(), mode=mode, **kwargs)
    assert isinstance(info.value, HudiError)
    assert mention in str(info.value)
    assert_nothing_at(path)
    # Nothing left behind gets in the way of a good write to the same place.
    write_hudi(str(path), rows(["k1", "k2"]), mode=mode, **kwargs)
    assert sorted(HudiTable.open(str(path)).to_arrow().column("key").to_pylist()) == ["k1", "k2"]


def test_write_hudi_delete_to_a_new_uri(tmp_path: Path) -> None:
    path = tmp_path / "new"
    with pytest.raises(TableNotFoundError):
        write_hudi(str(path), rows(["k1"]), mode="delete", record_key="key")
    assert_nothing_at(path)


# -- nested fields ---------------------------------------------------------------------------

POINT = pa.struct([("x", pa.float64()), ("y", pa.float64())])
NESTED = pa.schema(
    [
        ("key", pa.string()),
        ("ts", pa.int64()),
        ("st", pa.struct([("a", pa.int32()), ("inner", POINT)])),
        ("pts", pa.list_(POINT)),
        ("tags", pa.map_(pa.string(), POINT)),
    ]
)


def _nested_row(st: Any, pts: Any, tags: Any) -> dict[str, Any]:
    return {"key": "k1", "ts": 2, "st": st, "pts": pts, "tags": tags}


GOOD_ST = {"a": 1, "inner": {"x": 1.0, "y": 2.0}}
GOOD_PTS = [{"x": 1.0, "y": 2.0}]
GOOD_TAGS = [("t", {"x": 1.0, "y": 2.0})]
NESTED_CASES = {
    # name: (column, its Arrow type in the batch, value, what the message names)
    "struct lacks a field": (
        "st",
        pa.struct([("a", pa.int32())]),
        {"a": 1},
        "st.inner is missing",
    ),
    "struct has an extra field": (
        "st",
        pa.struct([("a", pa.int32()), ("inner", POINT), ("b", pa.string())]),
        {**GOOD_ST, "b": "x"},
        "st.b is not in the table",
    ),
    "struct two levels down lacks a field": (
        "st",
        pa.struct([("a", pa.int32()), ("inner", pa.struct([("x", pa.float64())]))]),
        {"a": 1, "inner": {"x": 1.0}},
        "st.inner.y is missing",
    ),
    "struct in a list has an extra field": (
        "pts",
        pa.list_(pa.struct([("x", pa.float64()), ("y", pa.float64()), ("z", pa.float64())])),
        [{"x": 1.0, "y": 2.0, "z": 3.0}],
        "pts[].z is not in the table",
    ),
    "struct in a large list lacks a field": (
        "pts",
        pa.large_list(pa.struct([("x", pa.float64())])),
        [{"x": 1.0}],
        "pts[].y is missing",
    ),
    "struct in a map value renamed a field": (
        "tags",
        pa.map_(pa.string(), pa.struct([("x", pa.float64()), ("why", pa.float64())])),
        [("t", {"x": 1.0, "why": 2.0})],
        "tags{value}.y is missing",
    ),
}


@pytest.fixture(scope="module")
def nested_table() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "nested"
        table = HudiTable.create(str(path), NESTED, record_key=["key"], ordering_field="ts")
        table.upsert(pa.Table.from_pylist([_nested_row(GOOD_ST, GOOD_PTS, GOOD_TAGS)], NESTED))
        yield path


@pytest.mark.parametrize("case", list(NESTED_CASES))
@pytest.mark.parametrize("op", WRITE_OPS)
def test_nested_fields_must_match(nested_table: Path, case: str, op: str) -> None:
    column, dtype, value, mention = NESTED_CASES[case]
    fields = [pa.field(column, dtype) if f.name == column else f for f in NESTED]
    row = _nested_row(GOOD_ST, GOOD_PTS, GOOD_TAGS) | {column: value}
    batch = pa.Table.from_pylist([row], pa.schema(fields))
    expect_refused(nested_table, write(nested_table, op, batch), SchemaMismatchError, mention)


def test_nested_fields_in_another_order_are_matched_by_name(tmp_path: Path) -> None:
    path = tmp_path / "t"
    table = HudiTable.create(str(path), NESTED, record_key=["key"], ordering_field="ts")
    swapped = pa.struct(
        [("inner", pa.struct([("y", pa.float64()), ("x", pa.float64())])), ("a", pa.int32())]
    )
    fields = [pa.field("st", swapped) if f.name == "st" else f for f in NESTED]
    row = _nested_row({"inner": {"y": 2.0, "x": 1.0}, "a": 7}, GOOD_PTS, GOOD_TAGS)
    table.upsert(pa.Table.from_pylist([row], pa.schema(fields)))
    (got,) = table.to_arrow(columns=["st"]).to_pylist()
    assert got["st"] == {"a": 7, "inner": {"x": 1.0, "y": 2.0}}


def test_write_hudi_into_an_existing_folder_leaves_it_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "landing"
    path.mkdir()
    (path / "README.txt").write_text("the team's notes")
    before = snapshot(path)
    with pytest.raises(InvalidRecordError):
        write_hudi(str(path), new_rows(None), record_key="key", partition_by="region")
    assert_unchanged(path, before)


# -- errors of the wrong kind -----------------------------------------------------------------


def test_opening_a_file_as_a_table(tmp_path: Path) -> None:
    a_file = tmp_path / "data.parquet"
    a_file.write_bytes(b"PAR1")
    with pytest.raises(TableNotFoundError, match="no Hudi table"):
        HudiTable.open(str(a_file))


@pytest.mark.parametrize(
    ("kwargs", "mention"),
    [
        ({"target_file_size": True}, "target_file_size"),
        ({"max_workers": False}, "max_workers"),
        ({"small_file_rewrite": True}, "small_file_rewrite"),
        ({"compaction_delta_commits": True}, "compaction_delta_commits"),
        ({"auto_clean": "yes"}, "auto_clean"),
        ({"url_encode_partitions": 1}, "url_encode_partitions"),
        ({"database_name": ""}, "database_name"),
        ({"max_worker": 2}, "did you mean 'max_workers'"),
        ({"compression": "zstd"}, "unknown TableOptions option"),
    ],
    ids=lambda v: str(v) if isinstance(v, str) else "-".join(v),
)
def test_table_options_are_checked(kwargs: dict[str, Any], mention: str) -> None:
    with pytest.raises(InvalidOptionError) as info:
        TableOptions(**kwargs)
    assert mention in str(info.value)


def test_table_options_are_keywords_only() -> None:
    with pytest.raises(InvalidOptionError, match="keyword arguments only"):
        TableOptions(6)  # type: ignore[call-arg]


@pytest.mark.parametrize("how", ["create", "open", "write_hudi"])
def test_options_must_be_table_options(tmp_path: Path, table_path: Path, how: str) -> None:
    bad: Any = "fast"
    calls: dict[str, Callable[[], object]] = {
        "create": lambda: HudiTable.create(
            str(tmp_path / "new"), SCHEMA, record_key="key", options=bad
        ),
        "open": lambda: HudiTable.open(str(table_path), options=bad),
        "write_hudi": lambda: write_hudi(
            str(tmp_path / "new"), new_rows(), record_key="key", options=bad
        ),
    }
    expect_refused(table_path, calls[how], InvalidOptionError, "TableOptions", "'fast'")
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("uri", "storage_options", "mention"),
    [
        ("nope://bucket/table", None, "nope"),
        ("memory://t", "fast", "storage_options must be a mapping"),
    ],
    ids=["unknown-scheme", "options-not-a-mapping"],
)
def test_bad_locations(uri: str, storage_options: Any, mention: str) -> None:
    with pytest.raises(InvalidOptionError) as info:
        HudiTable.open(uri, storage_options=storage_options)
    assert mention in str(info.value)


def test_empty_database_name_as_spark_writes_it(table_path: Path) -> None:
    """Spark-Hudi 0.15 records ``hoodie.database.name=`` (empty) when no database is set:
    such a table opens and takes writes (an empty name means no database)."""
    rewrite_properties(table_path, DATABASE="")
    assert "hoodie.database.name=\n" in (table_path / ".hoodie/hoodie.properties").read_text()
    table = HudiTable.open(str(table_path))
    assert table.options.database_name is None
    table.upsert(new_rows())
    assert ("k100", "region=eu") in snapshot_rows(table_path)


def test_the_constructor_opens_a_table(table_path: Path, tmp_path: Path) -> None:
    """``HudiTable(uri)`` opens like ``HudiTable.open`` and refuses the same way."""
    table = HudiTable(str(table_path))
    assert snapshot_rows(table_path) == {
        (r["_hoodie_record_key"], r["_hoodie_partition_path"]): r
        for r in table.to_arrow().to_pylist()
    }
    with pytest.raises(TableNotFoundError):
        HudiTable(str(tmp_path / "nothing"))
    with pytest.raises(InvalidOptionError):
        HudiTable(str(table_path), options="fast")  # type: ignore[arg-type]
