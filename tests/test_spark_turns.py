"""Spark-Hudi and hudiwrite take turns on one table.

The production shape this proves: a service writes a table with hudiwrite while Spark jobs
write to it too and compact and clean it. For several rounds, on a table hudiwrite created
and on one Spark created:

1. hudiwrite upserts and deletes;
2. Spark-Hudi upserts and deletes (datasource writes, Spark's defaults: its bloom or simple
   index finds the keys hudiwrite wrote, its metadata table is on);
3. Spark runs ``call run_compaction(op => 'scheduleAndExecute')`` and ``call run_clean``;
4. hudiwrite writes, compacts, cleans and archives (through one long-lived handle, as a
   service would hold it).

After every step Spark's, hudiwrite's and hudi-rs's snapshots equal the model. After the
services, Spark's ``show_commits``, ``show_archived_commits`` and ``show_fsview_all`` list the
table without error and agree with hudiwrite's timeline and file-system view.

Spark-Hudi 1.x writes the version-6 table as version 6 (``hoodie.write.table.version=6``,
no auto-upgrade): a user who has Athena on the table keeps it at version 6.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa
import pytest

import hudiwrite as hw
from hudiwrite.read.fsview import FileSystemView
from tests.interop_page import Section, cell, declare
from tests.judges import HudiRsJudge, HudiwriteJudge, SparkJudge, check_snapshot
from tests.model import Row
from tests.spark.client import SparkHudi
from tests.spark.jars import RELEASES
from tests.workload import Layout, Workload

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("ts", pa.int64()),
        ("part", pa.string()),
        ("region", pa.string()),
        ("n", pa.int32()),
        ("v", pa.float64()),
        ("st", pa.struct([("a", pa.int32()), ("tags", pa.list_(pa.string()))])),
    ]
)
REGIONS = ["eu", "us", "ap"]
PARTS = ["p0", "p1"]

#: Services often enough that a few rounds compact, clean and archive.
HUDIWRITE_OPTIONS = hw.TableOptions(
    compaction_delta_commits=None,  # compactions run when a step says so
    auto_clean=False,
    auto_archive=False,
    clean_retained=2,
    archive_min_instants=3,
    archive_max_instants=4,
)


@attrs.frozen
class Shape:
    """Who creates the table, and its keys and partitions."""

    name: str
    checks: str
    layout: Layout
    keygen: str
    created_by_spark: bool


SHAPES = [
    Shape(
        "created by hudiwrite",
        "simple key, hive-style partitions",
        Layout(("id",), ("part",)),
        "org.apache.hudi.keygen.SimpleKeyGenerator",
        created_by_spark=False,
    ),
    Shape(
        "created by Spark-Hudi",
        "complex key, plain partition paths",
        Layout(("id", "region"), ("part",), hive_style=False),
        "org.apache.hudi.keygen.ComplexKeyGenerator",
        created_by_spark=True,
    ),
]
BY_NAME = {s.name: s for s in SHAPES}

TURNS = Section(
    "turns",
    "Spark-Hudi and hudiwrite take turns on one table",
    "Three rounds of: hudiwrite upserts and deletes; Spark upserts and deletes; Spark runs "
    "`run_compaction(op => 'scheduleAndExecute')` and `run_clean`; hudiwrite writes, "
    "compacts, cleans and archives. After every step Spark's, hudiwrite's and hudi-rs's "
    "snapshots equal the model; Spark's `show_commits`, `show_archived_commits` and "
    "`show_fsview_all` agree with hudiwrite's timeline and file-system view.",
    tuple(f"Spark-Hudi {r.version}" for r in RELEASES.values()),
)
declare(TURNS, {s.name: s.checks for s in SHAPES})


def make_row(rng: random.Random, i: int, ts: int) -> Row:
    """Row ``i``: its partition and region follow from ``i`` (both are in some key)."""
    return {
        "id": f"k{i:03d}",
        "ts": ts,
        "part": PARTS[i % 2],
        "region": REGIONS[i % 3],
        "n": rng.choice([None, rng.randint(-50, 50)]),
        "v": round(rng.random() * 100, 3),
        "st": {"a": rng.randint(0, 9), "tags": [rng.choice(["x", "y", "é"])]},
    }


class Turns:
    """One table, its model, and the Spark session that shares it with hudiwrite."""

    def __init__(
        self, spark: SparkHudi, shape: Shape, path: Path, table_name: str, version: int = 6
    ) -> None:
        """``version``: the table version of the table (whoever creates it)."""
        self.spark = spark
        self.version = version
        self.shape = shape
        self.path = path
        self.table_name = table_name
        self.rng = random.Random(hash((shape.name, spark.label)) & 0xFFFF)
        self.ts = 0
        self.next_key = 0
        self.commits_seen: set[str] = set()
        self.wl: Workload
        layout = shape.layout
        self.write_options = {
            "hoodie.table.name": table_name,
            "hoodie.datasource.write.table.type": "MERGE_ON_READ",
            "hoodie.datasource.write.recordkey.field": ",".join(layout.record_key),
            "hoodie.datasource.write.partitionpath.field": ",".join(layout.partition_by),
            "hoodie.datasource.write.precombine.field": "ts",
            "hoodie.datasource.write.keygenerator.class": shape.keygen,
            "hoodie.datasource.write.hive_style_partitioning": str(layout.hive_style).lower(),
            **self.version_options,
        }
        if shape.created_by_spark:
            first = self.new_rows(12)
            self.spark.write(path, self._arrow(first), self.write_options, mode="overwrite")
            self.wl = Workload(path, SCHEMA, layout, options=HUDIWRITE_OPTIONS, existing=True)
            self.wl.apply_foreign("upsert", first, self.latest_delta_commit())
        else:
            options = attrs.evolve(HUDIWRITE_OPTIONS, table_version=version)
            self.wl = Workload(path, SCHEMA, layout, options=options)
            self.wl.upsert(self.new_rows(12))
        self.spark.sql(f"create table {table_name} using hudi location '{path}'")
        self.note_commits()

    @property
    def version_options(self) -> dict[str, str]:
        """Spark-Hudi keeps the table at its version: 1.x a version-6 table at 6."""
        if self.spark.release.table_version == self.version:
            return {}
        return {
            "hoodie.write.table.version": str(self.version),
            "hoodie.write.auto.upgrade": "false",
        }

    # -- rows -----------------------------------------------------------------------------

    def _tick(self) -> int:
        self.ts += 1
        return self.ts

    def new_rows(self, count: int) -> list[Row]:
        ts = self._tick()
        rows = [make_row(self.rng, self.next_key + j, ts) for j in range(count)]
        self.next_key += count
        return rows

    def live_keys(self) -> list[int]:
        return sorted(int(row["id"][1:]) for row, _ in self.wl.model.snapshot.values())

    def updates(self, count: int) -> list[Row]:
        ts = self._tick()
        picked = self.rng.sample(self.live_keys(), count)
        return [make_row(self.rng, i, ts) for i in picked]

    @staticmethod
    def _arrow(rows: list[Row]) -> pa.Table:
        return pa.Table.from_pylist(rows, schema=SCHEMA)

    # -- timeline -------------------------------------------------------------------------

    def latest_delta_commit(self) -> str:
        table = hw.HudiTable.open(str(self.path))
        done = [i.time for i in table.timeline() if i.action == "deltacommit" and i.is_completed]
        return done[-1]

    def note_commits(self) -> None:
        """Every completed (delta) commit that was ever on the active timeline."""
        for i in self.wl.table.timeline():
            if i.action in ("commit", "deltacommit") and i.is_completed:
                self.commits_seen.add(i.time)

    # -- steps ----------------------------------------------------------------------------

    def hudiwrite_writes(self) -> None:
        self.wl.upsert(self.updates(3) + self.new_rows(3))
        doomed = self.updates(2)
        self.wl.delete(doomed)

    def spark_writes(self) -> None:
        before = self.latest_delta_commit()
        rows = self.updates(4) + self.new_rows(2)
        self.spark.write(self.path, self._arrow(rows), self.write_options)
        instant = self.latest_delta_commit()
        assert instant > before, "Spark committed a delta commit"
        self.wl.apply_foreign("upsert", rows, instant)
        doomed = self.updates(2)
        delete = {**self.write_options, "hoodie.datasource.write.operation": "delete"}
        self.spark.write(self.path, self._arrow(doomed), delete)
        self.wl.apply_foreign("delete", doomed, self.latest_delta_commit())
        self.wl.follow_compactions()  # Spark's inline compaction may have run
        self.relearn_base_files()

    def spark_services(self) -> None:
        options = ",".join(
            f"{k}={v}"
            for k, v in {
                "hoodie.compact.inline.max.delta.commits": "1",
                **self.version_options,
            }.items()
        )
        done = self.spark.sql(
            f"call run_compaction(op => 'scheduleAndExecute', path => '{self.path}', "
            f"options => '{options}')"
        ).to_pylist()
        assert all(r["state"] == "COMPLETED" for r in done), done
        # Spark's datasource writes compact inline every 5 delta commits by default: either
        # that or the procedure compacted every log Spark and hudiwrite wrote
        timeline = hw.HudiTable.open(str(self.path)).timeline()
        latest = {
            a: max(i.time for i in timeline if i.action == a) for a in ("commit", "deltacommit")
        }
        assert latest["commit"] > latest["deltacommit"], f"nothing compacted: {done}"
        self.wl.follow_compactions()
        clean_options = ",".join(f"{k}={v}" for k, v in self.version_options.items())
        extra = f", options => '{clean_options}'" if clean_options else ""
        self.spark.sql(f"call run_clean(table => '{self.table_name}', retain_commits => 2{extra})")
        self.relearn_base_files()

    def hudiwrite_services(self) -> None:
        self.wl.upsert(self.updates(2) + self.new_rows(2))
        result = self.wl.compact()
        assert result.executed, "hudiwrite compacted the logs Spark and it wrote"
        self.wl.table.clean()
        self.wl.table.archive()

    def relearn_base_files(self) -> None:
        """Spark lays out files its own way (small-file merges, compaction): which keys the
        base files hold now, from Spark's read-optimized query."""
        got = self.spark.read_optimized(self.path).select(
            ["_hoodie_partition_path", "_hoodie_record_key"]
        )
        self.wl.model.rebase_from(zip(*(c.to_pylist() for c in got.columns), strict=True))

    # -- checks ---------------------------------------------------------------------------

    def check_snapshots(self, step: str) -> None:
        self.note_commits()
        for judge in (SparkJudge(self.spark), HudiwriteJudge(), HudiRsJudge()):
            try:
                check_snapshot(judge, self.wl)
            except AssertionError as exc:
                raise AssertionError(f"after {step}: {exc}") from None

    def check_procedures(self, step: str) -> None:
        """Spark's timeline and file-system view procedures agree with hudiwrite's."""
        self.note_commits()
        active = {
            i.time
            for i in self.wl.table.timeline()
            if i.action in ("commit", "deltacommit") and i.is_completed
        }
        shown = self.spark.sql(f"call show_commits(table => '{self.table_name}', limit => 1000)")
        assert set(shown.column("commit_time").to_pylist()) == active, step
        archived = self.spark.sql(
            f"call show_archived_commits(table => '{self.table_name}', limit => 1000, "
            "start_ts => '0', end_ts => '99999999999999999')"
        )
        assert set(archived.column("commit_time").to_pylist()) == self.commits_seen - active, (
            f"after {step}: Spark's archived commits are not the ones hudiwrite archived"
        )
        depth = len(self.shape.layout.partition_by)
        regex = "/".join(["*"] * depth)
        spark_slices = {
            _spark_slice(row)
            for row in self.spark.sql(
                f"call show_fsview_all(table => '{self.table_name}', path_regex => '{regex}', "
                "limit => 10000)"
            ).to_pylist()
        }
        assert spark_slices == hudiwrite_slices(self.wl.table), (
            f"after {step}: Spark's file-system view differs from hudiwrite's:\n"
            f"  Spark only: {sorted(spark_slices - hudiwrite_slices(self.wl.table))}\n"
            f"  hudiwrite only: {sorted(hudiwrite_slices(self.wl.table) - spark_slices)}"
        )


Slice = tuple[str, str, str, str, tuple[str, ...]]

_LOG_PATH = re.compile(r"pathStr='?([^,')]+)")


def _spark_slice(row: dict[str, Any]) -> Slice:
    logs = tuple(sorted(Path(p).name for p in _LOG_PATH.findall(row["delta_files"] or "")))
    data = Path(row["data_file"]).name if row["data_file"] else ""
    return (row["partition"], row["file_id"], row["base_instant"], data, logs)


def hudiwrite_slices(table: hw.HudiTable) -> set[Slice]:
    """Every file slice of hudiwrite's file-system view (all versions the cleaner kept)."""
    meta = table._meta  # internal: file_slices() lists the latest slices, this needs all kept
    view = FileSystemView.load(meta.storage, meta.timeline())
    out = set()
    for partition in view.partitions:
        for group in view.file_groups(partition):
            for s in group.slices:
                base = s.base_file.name if s.base_file is not None else ""
                logs = tuple(sorted(f.name for f in s.log_files))
                out.add((partition, s.file_id, s.base_instant, base, logs))
    return out


ROUNDS = 3


def play_rounds(turns: Turns) -> None:
    """The first write's check, then :data:`ROUNDS` rounds of the four steps, every reader
    checked after each step and Spark's procedures after each pair of services."""
    turns.check_snapshots("the first write")
    for round_ in range(1, ROUNDS + 1):
        turns.hudiwrite_writes()
        turns.check_snapshots(f"round {round_}: hudiwrite's writes")
        turns.spark_writes()
        turns.check_snapshots(f"round {round_}: Spark's writes")
        turns.spark_services()
        turns.check_snapshots(f"round {round_}: Spark's compaction and clean")
        turns.check_procedures(f"round {round_}: Spark's compaction and clean")
        turns.hudiwrite_services()
        turns.check_snapshots(f"round {round_}: hudiwrite's services")
        turns.check_procedures(f"round {round_}: hudiwrite's services")


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Turns]:
    def make(spark: SparkHudi, shape: Shape) -> Turns:
        slug = re.sub(r"\W", "_", f"turns_{spark.label}_{shape.name}")
        # the folder names the table (hudiwrite's default), and so does Spark's catalog
        turns = Turns(spark, shape, tmp_path_factory.mktemp("turns") / slug, slug)
        return turns

    return make


@pytest.mark.parametrize("name", list(BY_NAME))
def test_spark_and_hudiwrite_take_turns(
    name: str, spark: SparkHudi, tables: Callable[..., Turns]
) -> None:
    with cell(TURNS, name, f"Spark-Hudi {spark.release.version}"):
        turns = tables(spark, BY_NAME[name])
        play_rounds(turns)
        archived = turns.commits_seen - {i.time for i in turns.wl.table.timeline()}
        assert archived, "hudiwrite archived commits during the rounds"
