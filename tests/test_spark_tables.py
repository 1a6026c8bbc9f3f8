"""Tables Spark wrote, read and continued by hudiwrite.

Continuing fixtures: every MOR v6 fixture is upserted and deleted into with hudiwrite, and
hudi-rs (and hudiwrite) then read Spark's gold rows with those changes applied.

Tables Spark-Hudi writes now (section "spark-tables" of docs/interop.md): for each Hudi
release, small tables are written with datasource writes or Spark SQL, one per feature
(duplicates from bulk_insert, no meta fields, timestamp-based keys, bucket index, partial
updates, Spark's compaction and clustering), and hudiwrite's snapshot and read-optimized
reads must equal Spark's own reads of the same table, as multisets of rows over every
column Spark returns. Where a Spark release reads a table differently from Hudi's format
(a documented quirk: see the ``_spark_*`` functions), the quirk is applied to hudiwrite's
rows before comparing, so the test pins it down.
"""

from __future__ import annotations

import datetime as dt
import glob
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import hudiwrite as hw
from hudiwrite.formats.logblock.frame import HeaderKey
from tests.fixtures import FIXTURES
from tests.helpers import hudi_rs
from tests.interop_page import Section, cell, declare, not_applicable
from tests.model import diff, freeze
from tests.spark.client import SparkHudi
from tests.spark.jars import RELEASES

MOR_V6 = [
    "mor_v6_trips_8i1u.zip",
    "mor_v6_trips_8i3d.zip",
    "mor_v6_nonpartitioned.zip",
    "mor_v6_nonpartitioned_rollback.zip",
    "mor_v6_empty.zip",
    "mor_table_uncommitted_log_v6.zip",
]


#: The Spark-written MOR tables of versions 8 and 9 (Hudi 1.0.x-1.2).
MOR_1X = [
    "mor_v8_trips_8i3u1d.zip",
    "mor_v8_mor_boundary_windows.zip",
    "mor_table_delete_ord_int.zip",
    "mor_table_delete_ord_string.zip",
    "mor_table_parquet_log_block.zip",
    "mor_table_log_only.zip",
    "mor_table_corrupt_tail_block.zip",
    "mor_v9_mor_compacted_incremental.zip",
    "mor_table_evo_add_col.zip",
    "mor_v9_txns_simple_meta.zip",
]


def test_fixture_list_is_complete() -> None:
    """Every MOR table among the fixtures is covered here."""
    found = [p.name for p in FIXTURES.glob("*.zip") if not p.name.startswith("cow_")]
    assert sorted(found) == sorted(MOR_V6 + MOR_1X)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Spark's gold rows in the table's Arrow types (Spark writes naive ns timestamps)."""
    columns = []
    for field in schema:
        col = table.column(field.name)
        if pa.types.is_timestamp(field.type) and pa.types.is_timestamp(col.type):
            col = col.cast(pa.timestamp(field.type.unit, tz=col.type.tz)).cast(field.type)
        else:
            col = col.cast(field.type)
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=schema)


def _rows(table: pa.Table, columns: list[str]) -> Counter[Any]:
    return Counter(tuple(freeze(r[c]) for c in columns) for r in table.select(columns).to_pylist())


def _new_key(value: Any, n: int) -> Any:
    if isinstance(value, str):
        return f"hudiwrite-{n}-{value}"
    if isinstance(value, int):
        return 100_000 + n
    raise AssertionError(f"unexpected key type {type(value)}")


def _changed(row: dict[str, Any], schema: pa.Schema, skip: set[str]) -> dict[str, Any]:
    """The row with one non-key value changed, so an update is visible."""
    out = dict(row)
    for field in schema:
        if field.name in skip:
            continue
        if pa.types.is_string(field.type):
            out[field.name] = f"{row[field.name]}-updated"
            return out
        if pa.types.is_floating(field.type):
            out[field.name] = (row[field.name] or 0.0) + 1.5
            return out
    raise AssertionError("no column to change")


def _later(value: Any) -> Any:
    """An ordering value greater than ``value`` (the fixtures order by numbers or text)."""
    if isinstance(value, str):
        return value + "~"
    return (value or 0) + 1


@pytest.mark.parametrize("zip_name", MOR_V6 + MOR_1X)
def test_continue_spark_table(zip_name: str, unpack_fixture: Any) -> None:
    """Upsert and delete with hudiwrite into a table Spark wrote, then compact and clean
    it; after each step hudi-rs and hudiwrite read Spark's gold rows with the changes. The
    table keeps its version and, on 8/9, its timeline layout 2."""
    root = unpack_fixture(zip_name)
    name = root.name
    path = str(root / name)
    gold_file = glob.glob(str(root / "gold_data" / "*.parquet"))
    gold = pq.read_table(gold_file[0]) if gold_file else None

    table = hw.HudiTable.open(path)
    schema = table.schema()
    columns = schema.names
    props = table.properties
    key_fields = props["hoodie.table.recordkey.fields"].split(",")
    partition_fields = [f for f in props.get("hoodie.table.partition.fields", "").split(",") if f]
    ordering = props.get("hoodie.table.precombine.field") or props.get(
        "hoodie.table.ordering.fields"
    )
    gold_rows = _conform(gold.select(columns), schema).to_pylist() if gold is not None else []

    expected: dict[tuple[Any, ...], dict[str, Any]] = {
        tuple(r[k] for k in key_fields): r for r in gold_rows
    }
    top = _later(
        max((r[ordering] for r in gold_rows if ordering and r[ordering] is not None), default=0)
    )
    skip = set(key_fields) | set(partition_fields) | ({ordering} if ordering else set())

    updates = [_changed(r, schema, skip) for r in gold_rows[:2]]
    if gold_rows:
        template = gold_rows[0]
    else:  # an empty table: build a row from the schema
        template = {c: None for c in columns}
        for field in schema:
            if pa.types.is_integer(field.type):
                template[field.name] = 1
            elif pa.types.is_string(field.type):
                template[field.name] = "x"
    inserts = []
    for n in range(3):
        row = dict(template)
        for k in key_fields:
            row[k] = _new_key(template[k] if template[k] is not None else "k", n)
        inserts.append(row)
    for row in updates + inserts:
        if ordering:
            row[ordering] = top
    batch = pa.Table.from_pylist(updates + inserts, schema=schema)
    result = table.upsert(batch)
    assert result.num_updated == len(updates)
    assert result.num_inserted == len(inserts)
    for row in updates + inserts:
        expected[tuple(row[k] for k in key_fields)] = row

    victims = gold_rows[2:3] + inserts[:1]
    if victims:
        keys = pa.Table.from_pylist(victims, schema=schema).select(
            list(dict.fromkeys(key_fields + partition_fields))
        )
        result = table.delete(keys)
        assert result.num_deleted == len(victims)
        for row in victims:
            expected.pop(tuple(row[k] for k in key_fields))

    want = Counter(tuple(freeze(r[c]) for c in columns) for r in expected.values())

    def check(step: str) -> None:
        got_rs = _rows(hudi_rs(path), columns)
        assert got_rs == want, f"hudi-rs after {step}:\n" + diff(want, got_rs)
        got_own = _rows(hw.HudiTable.open(path).to_arrow(), columns)
        assert got_own == want, f"hudiwrite after {step}:\n" + diff(want, got_own)

    check("the writes")
    # The writes left the table as Java would: no markers, the last completed delta commit
    # is the delete (named T_C on layout 2), the version unchanged.
    hoodie = Path(path) / ".hoodie"
    assert not any((hoodie / ".temp").iterdir())
    deltas = [i for i in table.timeline() if i.action == "deltacommit" and i.is_completed]
    assert max(i.time for i in deltas) == result.instant_time
    version = int(props["hoodie.table.version"])
    assert hw.HudiTable.open(path).table_version == version
    if version >= 8:
        (done,) = (hoodie / "timeline").glob(f"{result.instant_time}_*.deltacommit")
        assert done.name.split("_")[1].split(".")[0] > result.instant_time
        assert done.read_bytes().startswith(b"Obj\x01")  # Avro commit metadata
    compacted = table.compact()
    if compacted.executed:
        check("compaction")
    table.clean()
    check("cleaning")


# -- tables Spark-Hudi writes, read by hudiwrite -------------------------------------------------

COMMIT_TIME = "_hoodie_commit_time"
SEQNO = "_hoodie_commit_seqno"
RECORD_KEY = "_hoodie_record_key"
PARTITION_PATH = "_hoodie_partition_path"
FILE_NAME = "_hoodie_file_name"


def _log_headers(path: Path) -> list[dict[int, str]]:
    """The headers of every data or delete block in the table's log files."""
    from hudiwrite.formats.logfile import LogFileBlock, iter_blocks

    headers = []
    for log in path.glob("**/.*.log.*"):
        if log.name.endswith(".crc") or ".hoodie" in log.relative_to(path).parts:
            continue
        for entry in iter_blocks(log.read_bytes()):
            if isinstance(entry, LogFileBlock):
                headers.append({int(k): v for k, v in entry.block.header})
    return headers


#: A query of a table: ``snapshot`` or ``read_optimized``.
Query = str
#: Spark's deviation from hudiwrite's rows: (release label, query, hudiwrite's rows, table
#: path) -> the rows as that Spark release returns them.
Quirk = Callable[[str, Query, pa.Table, Path], pa.Table]


def _data(keys: Sequence[int], ts: int, *, epoch: bool = False) -> pa.Table:
    """Rows ``k<i>`` of commit ``ts`` (ordering value ``ts``); every fourth name is null.
    With ``epoch``, also an epoch-millisecond time and a ``yyyy-MM-dd`` day per key, three
    hours apart across a midnight in UTC."""
    columns: dict[str, pa.Array] = {
        "id": pa.array([f"k{i}" for i in keys], pa.string()),
        "ts": pa.array([ts] * len(keys), pa.int64()),
        "part": pa.array([f"p{i % 2}" for i in keys], pa.string()),
        "name": pa.array([None if i % 4 == 3 else f"n{i}-{ts}" for i in keys], pa.string()),
        "v": pa.array([i * 1.5 + ts for i in keys], pa.float64()),
    }
    if epoch:
        start = dt.datetime(2024, 1, 30, 22, tzinfo=dt.timezone.utc)
        millis = [int((start + dt.timedelta(hours=3 * (i % 3))).timestamp() * 1000) for i in keys]
        columns["event_ms"] = pa.array(millis, pa.int64())
        columns["day"] = pa.array([f"2024-02-0{1 + i % 3}" for i in keys], pa.string())
    return pa.table(columns)


def _options(name: str, operation: str, **extra: str) -> dict[str, str]:
    """Datasource write options: a MOR table keyed by ``id``, ordered by ``ts``,
    partitioned by ``part`` (Hive style); small shuffles. Hudi's defaults otherwise (the
    metadata table on)."""
    options = {
        "hoodie.table.name": name,
        "hoodie.datasource.write.operation": operation,
        "hoodie.datasource.write.table.type": "MERGE_ON_READ",
        "hoodie.datasource.write.recordkey.field": "id",
        "hoodie.datasource.write.precombine.field": "ts",
        "hoodie.datasource.write.partitionpath.field": "part",
        "hoodie.datasource.write.hive_style_partitioning": "true",
    }
    for op in ("insert", "upsert", "bulkinsert", "delete"):
        options[f"hoodie.{op}.shuffle.parallelism"] = "2"
    options.update(extra)
    return options


def _build_duplicates(spark: SparkHudi, path: Path) -> None:
    """bulk_insert without combining lets k0, k1, k2 in twice (one file group per partition:
    the input is one small file); an upsert updates k0 (a duplicate) and k3 and inserts k11;
    a delete removes k1 (a duplicate) and k4, and names an absent key."""
    bulk = _options("dups", "bulk_insert", **{"hoodie.combine.before.insert": "false"})
    spark.write(
        path, pa.concat_tables([_data(range(10), 1), _data([0, 1, 2], 1)]), bulk, "overwrite"
    )
    spark.write(path, _data([0, 3, 11], 2), _options("dups", "upsert"))
    spark.write(path, _data([1, 4, 12], 3), _options("dups", "delete"))
    base = hw.HudiTable.open(str(path)).to_arrow(read_optimized=True, columns=[RECORD_KEY])
    counts = Counter(base.column(RECORD_KEY).to_pylist())
    assert {k for k, n in counts.items() if n > 1} == {"k0", "k1", "k2"}, counts


def _build_no_meta_fields(table_type: str) -> Callable[[SparkHudi, Path], None]:
    def build(spark: SparkHudi, path: Path) -> None:
        """Inserts, an upsert (updates and an insert), a delete, another upsert, all with
        ``hoodie.populate.meta.fields=false``: no file stores record keys."""

        def options(operation: str) -> dict[str, str]:
            return _options(
                "virtual",
                operation,
                **{
                    "hoodie.populate.meta.fields": "false",
                    "hoodie.datasource.write.table.type": table_type,
                },
            )

        spark.write(path, _data(range(10), 1), options("insert"), "overwrite")
        spark.write(path, _data([0, 3, 11], 2), options("upsert"))
        spark.write(path, _data([4, 12], 3), options("delete"))
        spark.write(path, _data([3, 5, 13], 4), options("upsert"))
        props = hw.HudiTable.open(str(path)).properties
        assert props["hoodie.populate.meta.fields"] == "false"
        if table_type == "MERGE_ON_READ":
            assert _log_headers(path), "updates and deletes went to log files"

    return build


_TIMESTAMP_KEYS = {
    "epoch millis": {
        "hoodie.datasource.write.partitionpath.field": "event_ms",
        "hoodie.keygen.timebased.timestamp.type": "EPOCHMILLISECONDS",
        "hoodie.keygen.timebased.output.dateformat": "yyyy/MM/dd",
        "hoodie.keygen.timebased.timezone": "UTC",
        "hoodie.datasource.write.hive_style_partitioning": "false",
    },
    "date string": {
        "hoodie.datasource.write.partitionpath.field": "day",
        "hoodie.keygen.timebased.timestamp.type": "DATE_STRING",
        "hoodie.keygen.timebased.input.dateformat": "yyyy-MM-dd",
        "hoodie.keygen.timebased.output.dateformat": "yyyyMMdd",
        "hoodie.datasource.write.hive_style_partitioning": "true",
    },
}


def _build_timestamp_keys(kind: str) -> Callable[[SparkHudi, Path], None]:
    def build(spark: SparkHudi, path: Path) -> None:
        """TimestampBasedKeyGenerator: partition paths are dates formatted from a column
        (``2024/01/31`` from epoch millis, ``day=20240201`` from ``2024-02-01``)."""

        def options(operation: str) -> dict[str, str]:
            keygen = "org.apache.hudi.keygen.TimestampBasedKeyGenerator"
            extra = {"hoodie.datasource.write.keygenerator.class": keygen, **_TIMESTAMP_KEYS[kind]}
            return _options("stamped", operation, **extra)

        spark.write(path, _data(range(10), 1, epoch=True), options("insert"), "overwrite")
        spark.write(path, _data([0, 3, 11], 2, epoch=True), options("upsert"))
        spark.write(path, _data([4, 12], 3, epoch=True), options("delete"))

    return build


def _build_bucket_index(spark: SparkHudi, path: Path) -> None:
    """Simple bucket index, four buckets: file groups are buckets (file ids
    ``0000000<n>-...``), updates and deletes go to the buckets' logs, a new key of an empty
    bucket opens its file group."""

    def options(operation: str) -> dict[str, str]:
        bucket = {
            "hoodie.index.type": "BUCKET",
            "hoodie.bucket.index.num.buckets": "4",
            "hoodie.index.bucket.engine": "SIMPLE",
        }
        return _options("buckets", operation, **bucket)

    spark.write(path, _data(range(12), 1), options("upsert"), "overwrite")
    spark.write(path, _data([0, 3, 11, 14, 15], 2), options("upsert"))
    spark.write(path, _data([4, 5, 14, 20], 3), options("delete"))
    spark.write(path, _data([4, 3, 16], 4), options("upsert"))
    files = [f.name for f in path.glob("p*/*") if not f.name.endswith(".crc")]
    buckets = {f.lstrip(".").split("-", 1)[0] for f in files if not f.startswith(".hoodie")}
    assert buckets and buckets <= {f"{n:08d}" for n in range(4)}, files


def _build_partial_updates(spark: SparkHudi, path: Path) -> None:
    """Spark SQL on a MOR table of 1.x's table version: MERGE INTO updating some columns
    writes partial-update log blocks (``IS_PARTIAL``), twice on k0 (different columns, so
    two partial records of a key merge with each other before the base row); a delete."""
    name = f"hw_partial_{spark.release.version.replace('.', '_')}"
    spark.sql(
        f"create table {name} (id string, ts bigint, name string, v double, part string) "
        "using hudi tblproperties (type = 'mor', primaryKey = 'id', preCombineField = 'ts') "
        f"partitioned by (part) location '{path}'"
    )
    values = ", ".join(f"('k{i}', 1, 'n{i}', {i}.5, 'p{i % 2}')" for i in range(10))
    spark.sql(f"insert into {name} values {values}")
    # The source carries the partition column: without it Hudi 1.2 updates nothing.
    spark.sql(
        f"merge into {name} t using (select 'k0' as id, 2L as ts, 'upd0' as name, 'p0' as part "
        "union all select 'k3', 2L, 'upd3', 'p1') s on t.id = s.id "
        "when matched then update set name = s.name, ts = s.ts"
    )
    spark.sql(
        f"merge into {name} t using (select 'k0' as id, 3L as ts, 9.25D as v, 'p0' as part "
        "union all select 'k5', 3L, 7.75D, 'p1') s on t.id = s.id "
        "when matched then update set v = s.v, ts = s.ts"
    )
    spark.sql(f"delete from {name} where id = 'k7'")
    partial = [h for h in _log_headers(path) if h.get(int(HeaderKey.IS_PARTIAL)) == "true"]
    commits = {h[int(HeaderKey.INSTANT_TIME)] for h in partial}
    assert len(commits) == 2, "each MERGE INTO wrote partial-update blocks"


def _build_services(spark: SparkHudi, path: Path) -> None:
    """Upserts and a delete, Spark's compaction (procedure), an upsert, Spark's clustering
    (procedure: a replace commit), more upserts and a delete."""
    spark.write(path, _data(range(12), 1), _options("serviced", "upsert"), "overwrite")
    spark.write(path, _data([0, 3, 11, 14], 2), _options("serviced", "upsert"))
    spark.write(path, _data([4, 5, 20], 3), _options("serviced", "delete"))
    spark.sql(
        f"call run_compaction(op => 'scheduleAndExecute', path => '{path}', "
        "options => 'hoodie.compact.inline.max.delta.commits=1')"
    )
    spark.write(path, _data([1, 3, 16], 4), _options("serviced", "upsert"))
    spark.sql(f"call run_clustering(path => '{path}')")
    spark.write(path, _data([2, 3, 17], 5), _options("serviced", "upsert"))
    spark.write(path, _data([6, 16], 6), _options("serviced", "delete"))
    actions = {i.action for i in hw.HudiTable.open(str(path)).timeline() if i.is_completed}
    assert {"commit", "replacecommit"} <= actions, f"compaction and clustering ran: {actions}"


# -- Spark's quirks ----------------------------------------------------------------------------


def _file_id(file_name: str) -> str:
    """The file id in a ``_hoodie_file_name`` (a base file's name, or a log record's id)."""
    return file_name.split("_", 1)[0]


def _spark_015_merges_one_duplicate(
    label: str, query: Query, rows: pa.Table, path: Path
) -> pa.Table:
    """Spark-Hudi 0.15's snapshot reader (``RecordMergingFileIterator``, Iterators.scala)
    takes a key's log record out of its map when it merges it into the first base row of
    that key: the key's other base rows of the file group (bulk_insert duplicates) come out
    unmerged, and a delete removes the first copy only. hudiwrite, like Java's compaction
    (``HoodieMergeHandle``) and Spark-Hudi 1.x, merges the log record into every copy.
    (Rows compared without sequence numbers: duplicates differ only there.)"""
    if label != "0.15" or query != "snapshot":
        return rows
    base = hw.HudiTable.open(str(path)).to_arrow(read_optimized=True).to_pylist()
    copies: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in base:
        copies.setdefault((_file_id(row[FILE_NAME]), row[RECORD_KEY]), []).append(row)
    out = rows.to_pylist()
    for (file_id, key), group in copies.items():
        if len(group) < 2:
            continue
        merged = [
            i
            for i, row in enumerate(out)
            if row[RECORD_KEY] == key
            and _file_id(row[FILE_NAME]) == file_id
            and row[COMMIT_TIME] != group[0][COMMIT_TIME]
        ]
        untouched = any(
            row[RECORD_KEY] == key and row[COMMIT_TIME] == group[0][COMMIT_TIME] for row in out
        )
        if untouched:
            continue
        # all but the first copy come out as stored; one merged record (none if deleted)
        drop = set(merged[1:])
        out = [row for i, row in enumerate(out) if i not in drop] + group[1:]
    return pa.Table.from_pylist(out, schema=rows.schema)


def _spark_timestamp_partition_columns(
    label: str, query: Query, rows: pa.Table, path: Path
) -> pa.Table:
    """How Spark returns the partition column of a TimestampBasedKeyGenerator table (the
    stored column holds the original value; the path a formatted date):

    * 0.15, read-optimized: the partition path's value as a string (``2024/01/31``,
      ``20240201``: the file index's partition values, typed string for this key
      generator); the snapshot reads the stored values.
    * 1.x, both queries: the stored values, typed string (``"1706652000000"``).
    """
    config = hw.HudiTable.open(str(path)).properties
    (field,) = config["hoodie.table.partition.fields"].split(",")
    hive = config.get("hoodie.datasource.write.hive_style_partitioning") == "true"
    index = rows.schema.get_field_index(field)
    if label == "0.15" and query == "read_optimized":
        paths = rows.column(PARTITION_PATH)
        values = pc.replace_substring_regex(paths, f"^{field}=", "") if hive else paths
        return rows.set_column(index, field, values.cast(pa.string()))
    if label == "1.x":
        return rows.set_column(index, field, rows.column(field).cast(pa.string()))
    return rows


@attrs.frozen
class SparkCase:
    """One table Spark writes, and how hudiwrite's reads of it are held to Spark's."""

    name: str
    checks: str
    build: Callable[[SparkHudi, Path], None]
    read_optimized: bool = True
    #: Releases that can write the table, and why the others cannot.
    releases: tuple[str, ...] = tuple(RELEASES)
    not_applicable: str = ""
    quirk: Quirk | None = None
    #: Columns left out of the comparison, and why (see the quirk).
    ignored: tuple[str, ...] = ()


SPARK_CASES = [
    SparkCase(
        "bulk_insert with duplicate keys",
        "duplicates kept; an update and a delete of duplicated keys",
        _build_duplicates,
        quirk=_spark_015_merges_one_duplicate,
        # 1.x merges by record position: each copy takes the log record written for it
        # (the update is logged once per copy), identical but for the sequence number
        ignored=(SEQNO,),
    ),
    SparkCase(
        "no meta fields, MOR",
        "`populate.meta.fields=false`: keys from the key generator",
        _build_no_meta_fields("MERGE_ON_READ"),
    ),
    SparkCase(
        "no meta fields, COW",
        "`populate.meta.fields=false`, copy-on-write",
        _build_no_meta_fields("COPY_ON_WRITE"),
        read_optimized=False,
    ),
    SparkCase(
        "timestamp keys, epoch millis",
        "TimestampBasedKeyGenerator, `yyyy/MM/dd` paths",
        _build_timestamp_keys("epoch millis"),
        quirk=_spark_timestamp_partition_columns,
    ),
    SparkCase(
        "timestamp keys, date string",
        "TimestampBasedKeyGenerator, DATE_STRING input",
        _build_timestamp_keys("date string"),
        quirk=_spark_timestamp_partition_columns,
    ),
    SparkCase(
        "bucket index",
        "simple bucket engine, 4 buckets; upserts and deletes",
        _build_bucket_index,
    ),
    SparkCase(
        "partial updates (MERGE INTO)",
        "partial-update log blocks, two on one key",
        _build_partial_updates,
        releases=("1.x",),
        not_applicable="partial-update log blocks need table version 8+",
    ),
    SparkCase(
        "compacted and clustered by Spark",
        "`run_compaction`, `run_clustering`, writes after them",
        _build_services,
    ),
]
SPARK_CASE = {c.name: c for c in SPARK_CASES}

SPARK_TABLES = Section(
    "spark-tables",
    "Tables Spark-Hudi writes, read by hudiwrite",
    "Each table is written by that Spark-Hudi release (datasource writes or Spark SQL, "
    "with the release's default table version: 6 for 0.15.0, 9 for 1.2.0; tens of rows, "
    "updates and deletes) and hudiwrite's snapshot and read-optimized reads equal Spark's "
    "own, row for row over every column Spark returns (Spark's documented quirks applied).",
    tuple(f"Spark-Hudi {r.version}" for r in RELEASES.values()),
)
declare(SPARK_TABLES, {c.name: c.checks for c in SPARK_CASES})


@pytest.fixture(scope="module")
def spark_table(tmp_path_factory: pytest.TempPathFactory) -> Callable[[SparkHudi, str], Path]:
    """Each (release, case) table, written once by Spark."""
    built: dict[tuple[str, str], Path] = {}

    def get(spark: SparkHudi, name: str) -> Path:
        key = (spark.label, name)
        if key not in built:
            path = tmp_path_factory.mktemp("spark-table") / "t"
            SPARK_CASE[name].build(spark, path)
            built[key] = path
        return built[key]

    return get


def _multiset(table: pa.Table, columns: Sequence[str]) -> Counter[Any]:
    return Counter(
        tuple(freeze(row[c]) for c in columns) for row in table.select(list(columns)).to_pylist()
    )


def _compare(
    case: SparkCase, label: str, query: Query, spark_rows: pa.Table, ours: pa.Table, path: Path
) -> None:
    if case.quirk is not None:
        ours = case.quirk(label, query, ours, path)
    assert sorted(ours.column_names) == sorted(spark_rows.column_names), (
        f"{query}: hudiwrite returns columns {ours.column_names}, Spark {spark_rows.column_names}"
    )
    for field in spark_rows.schema:
        assert ours.schema.field(field.name).type == field.type, (
            f"{query}: column {field.name} is {ours.schema.field(field.name).type} in "
            f"hudiwrite's read, {field.type} in Spark's"
        )
    columns = [c for c in spark_rows.column_names if c not in case.ignored]
    want, got = _multiset(spark_rows, columns), _multiset(ours, columns)
    assert got == want, f"{query}: hudiwrite's rows differ from Spark's ({columns}):\n" + diff(
        want, got
    )


@pytest.mark.parametrize("name", list(SPARK_CASE))
def test_hudiwrite_reads_what_spark_wrote(
    name: str, spark: SparkHudi, spark_table: Callable[[SparkHudi, str], Path]
) -> None:
    case = SPARK_CASE[name]
    engine = f"Spark-Hudi {spark.release.version}"
    if spark.label not in case.releases:
        not_applicable(SPARK_TABLES, name, engine, case.not_applicable)
        return
    with cell(SPARK_TABLES, name, engine):
        path = spark_table(spark, name)
        table = hw.HudiTable.open(str(path))
        spark_rows = spark.snapshot(path)
        assert spark_rows.num_rows > 0
        _compare(case, spark.label, "snapshot", spark_rows, table.to_arrow(), path)
        if case.read_optimized:
            ours = table.to_arrow(read_optimized=True)
            _compare(case, spark.label, "read_optimized", spark.read_optimized(path), ours, path)


@pytest.mark.parametrize("name", ["timestamp keys, epoch millis", "timestamp keys, date string"])
def test_filters_on_timestamp_partition_columns(
    name: str, spark: SparkHudi, spark_table: Callable[[SparkHudi, str], Path]
) -> None:
    """A filter on the partition column of a timestamp-keyed table compares stored values
    (epoch millis, ``2024-02-01``), which the formatted paths do not spell: hudiwrite must
    not prune partitions by their paths then."""
    path = spark_table(spark, name)
    table = hw.HudiTable.open(str(path))
    everything = table.to_arrow()
    field = table.properties["hoodie.table.partition.fields"]
    value = everything.column(field)[0].as_py()
    got = table.to_arrow(filters=[(field, "=", value)])
    want = everything.filter(pc.equal(everything.column(field), value))
    assert got.num_rows == want.num_rows > 0
    assert _multiset(got, got.column_names) == _multiset(want, want.column_names)
