"""hudiwrite on S3 through s3fs, against a real S3-compatible HTTP server on 127.0.0.1.

The server is moto's S3 backend (``tests/s3server.py``), started once per session on a free
port. Every AWS credential, region and config-file variable is replaced by a dummy for the
session, so neither the tests nor hudi-rs can reach real AWS: all traffic goes to the local
endpoint, which honours conditional writes (``If-None-Match: *``) as S3 does.
"""

from __future__ import annotations

import logging
import os
import posixpath
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto.moto_server.werkzeug_app")

import s3fs

import hudiwrite as hw
from hudiwrite.concurrency.heartbeat import Heartbeat, is_alive
from hudiwrite.model.paths import heartbeat_path
from hudiwrite.storage import Storage
from tests.helpers import hudi_rs
from tests.s3server import KEY, REGION, SECRET, LocalS3, storage_options

BUCKET = "hudi-test"
BARE_412_BUCKET = "bare-412"  # the server omits <Condition> from this bucket's 412 errors

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("city", pa.string()),
        ("ts", pa.int64()),
        ("name", pa.string()),
        ("score", pa.float64()),
    ]
)
USER_COLUMNS = SCHEMA.names


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Start the local S3 server, create the buckets, yield s3fs ``storage_options``."""
    no_config = tmp_path_factory.mktemp("aws") / "absent"
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                mp.delenv(name)
        mp.setenv("AWS_ACCESS_KEY_ID", KEY)
        mp.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        mp.setenv("AWS_REGION", REGION)
        mp.setenv("AWS_CONFIG_FILE", str(no_config))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(no_config))
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            mp.delenv(proxy, raising=False)
            mp.delenv(proxy.lower(), raising=False)
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        mp.setenv("no_proxy", "127.0.0.1,localhost")
        werkzeug_log = logging.getLogger("werkzeug")  # one line per request otherwise
        werkzeug_level = werkzeug_log.level
        werkzeug_log.setLevel(logging.ERROR)

        server = LocalS3(bare_412_buckets=[BARE_412_BUCKET])
        endpoint = server.start()
        try:
            opts = storage_options(endpoint)
            fs = s3fs.S3FileSystem(skip_instance_cache=True, **opts)
            for bucket in (BUCKET, BARE_412_BUCKET):
                # Not fs.mkdir: s3fs would send LocationConstraint=us-east-1, which S3 rejects.
                fs.call_s3("create_bucket", Bucket=bucket)
            yield opts
        finally:
            server.stop()
            werkzeug_log.setLevel(werkzeug_level)


def _fs(s3: dict[str, Any]) -> s3fs.S3FileSystem:
    """A fresh s3fs client (no shared instance, no cached listings)."""
    return s3fs.S3FileSystem(skip_instance_cache=True, **s3)


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return sorted(table.select(USER_COLUMNS).to_pylist(), key=lambda r: r["id"])


def _row(i: int, city: str, ts: int, name: str, score: float) -> dict[str, Any]:
    return {"id": i, "city": city, "ts": ts, "name": name, "score": score}


def _scored_batch(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def _hudi_rs_options(s3: dict[str, Any]) -> dict[str, str]:
    """object_store's S3 options pointing hudi-rs at the local server."""
    return {
        "aws_endpoint_url": s3["endpoint_url"],
        "aws_access_key_id": KEY,
        "aws_secret_access_key": SECRET,
        "aws_region": REGION,
        "aws_allow_http": "true",
    }


FIRST = [
    _row(1, "sf", 10, "ann", 1.5),
    _row(2, "nyc", 10, "bob", 2.5),
    _row(3, "sf", 10, "cid", 3.5),
    _row(4, "la", 10, "dee", 4.5),
    _row(5, "nyc", 10, "eve", 5.5),
]
SECOND = [
    _row(1, "sf", 20, "ann-2", 10.0),  # update, in a log file of sf's file group
    _row(4, "la", 20, "dee-2", 40.0),  # update
    _row(6, "sea", 20, "fay", 6.5),  # insert into a new partition
    _row(7, "sea", 25, "gus-new", 7.0),  # two records with one key in one batch:
    _row(7, "sea", 21, "gus-old", 7.5),  # the higher ordering value wins
]
DELETED = {"id": [2, 4, 99], "city": ["nyc", "la", "nyc"]}  # 99 is not in the table
EXPECTED = sorted(
    [
        _row(1, "sf", 20, "ann-2", 10.0),
        _row(3, "sf", 10, "cid", 3.5),
        _row(5, "nyc", 10, "eve", 5.5),
        _row(6, "sea", 20, "fay", 6.5),
        _row(7, "sea", 25, "gus-new", 7.0),
    ],
    key=lambda r: r["id"],
)
PARTITIONS = {"city=sf", "city=nyc", "city=la", "city=sea"}


@pytest.fixture(scope="module")
def written_table(s3: dict[str, Any]) -> tuple[str, list[hw.WriteResult]]:
    """A partitioned MOR table on S3 after insert, update and delete commits."""
    uri = f"s3://{BUCKET}/t"
    table = hw.HudiTable.create(
        uri,
        SCHEMA,
        record_key="id",
        partition_by="city",
        ordering_field="ts",
        storage_options=s3,
    )
    results = [
        table.upsert(_scored_batch(FIRST)),
        table.upsert(_scored_batch(SECOND)),
        table.delete(
            pa.table(DELETED, schema=pa.schema([("id", pa.int64()), ("city", pa.string())]))
        ),
    ]
    return uri, results


def test_round_trip_on_s3(
    s3: dict[str, Any], written_table: tuple[str, list[hw.WriteResult]]
) -> None:
    uri, results = written_table
    first, second, delete = results
    assert (first.num_inserted, first.num_updated, first.num_deleted) == (5, 0, 0)
    assert (second.num_inserted, second.num_updated, second.num_deleted) == (2, 2, 0)
    assert (delete.num_inserted, delete.num_updated, delete.num_deleted) == (0, 0, 2)
    instants = [r.instant_time for r in results]
    assert instants == sorted(set(instants))

    reopened = hw.HudiTable.open(uri, storage_options=s3)
    got = reopened.to_arrow()
    assert _rows(got) == EXPECTED
    meta = got.select(["_hoodie_record_key", "_hoodie_partition_path", "id", "city"]).to_pylist()
    for r in meta:
        assert r["_hoodie_record_key"] == str(r["id"])
        assert r["_hoodie_partition_path"] == f"city={r['city']}"

    fs = _fs(s3)
    root = f"{BUCKET}/t"
    everything = [posixpath.relpath(p, root) for p in fs.find(root)]
    timeline = {posixpath.basename(p) for p in fs.ls(f"{root}/.hoodie", detail=False)}
    completed = sorted(n for n in timeline if n.endswith(".deltacommit"))
    assert completed == [f"{t}.deltacommit" for t in instants]
    for t in instants:  # the whole life of each instant is on the timeline
        assert {f"{t}.deltacommit.requested", f"{t}.deltacommit.inflight"} <= timeline
    assert "hoodie.properties" in timeline
    leftovers = [p for p in everything if p.startswith(".hoodie/.temp/")]
    assert leftovers == [], f"marker files left behind: {leftovers}"

    data_dirs = {p.split("/", 1)[0] for p in everything if not p.startswith(".hoodie")}
    assert data_dirs == PARTITIONS
    for partition in sorted(PARTITIONS):
        text = fs.cat_file(f"{root}/{partition}/.hoodie_partition_metadata").decode("latin-1")
        assert "partitionDepth=1" in text, text
        assert "commitTime=" in text, text
    # Updates went to log files (MOR), not to rewritten base files.
    assert any(".log." in posixpath.basename(p) for p in everything)
    assert all(f.count("/") == 1 for f in second.files_written)


def test_hudi_rs_reads_table_on_s3(
    s3: dict[str, Any], written_table: tuple[str, list[hw.WriteResult]]
) -> None:
    uri, _ = written_table
    table = hudi_rs(uri, storage_options=_hudi_rs_options(s3))
    assert _rows(table) == EXPECTED


def test_hudi_rs_reads_downloaded_copy(
    s3: dict[str, Any], written_table: tuple[str, list[hw.WriteResult]], tmp_path: Path
) -> None:
    """The objects on S3 are a complete table by themselves: a plain copy of them reads the
    same through hudi-rs's local-filesystem path."""
    uri, _ = written_table
    local = tmp_path / "t"
    _fs(s3).get(uri.removeprefix("s3://") + "/", str(local), recursive=True)
    assert (local / ".hoodie" / "hoodie.properties").is_file()
    assert _rows(hudi_rs(local)) == EXPECTED


def test_create_exclusive_is_a_conditional_put(s3: dict[str, Any]) -> None:
    storage = Storage(f"s3://{BUCKET}/exclusive", s3)
    storage.create_exclusive(".hoodie/001.deltacommit", b"first")
    with pytest.raises(FileExistsError):
        storage.create_exclusive(".hoodie/001.deltacommit", b"second")
    fs = _fs(s3)
    assert fs.cat_file(f"{BUCKET}/exclusive/.hoodie/001.deltacommit") == b"first"
    # The control: a plain write to the same key does overwrite, so the refusal above came
    # from the If-None-Match condition, not from the server refusing overwrites in general.
    storage.write_bytes(".hoodie/001.deltacommit", b"third")
    assert fs.cat_file(f"{BUCKET}/exclusive/.hoodie/001.deltacommit") == b"third"


def test_heartbeat_liveness_on_s3(s3: dict[str, Any]) -> None:
    """Heartbeats are judged by the object's LastModified on S3 (no clock of ours in it)."""
    storage = Storage(f"s3://{BUCKET}/heartbeats", s3)
    assert storage.modified(heartbeat_path("001")) is None
    assert not is_alive(storage, "001", 60.0)
    with Heartbeat(storage, "001", 60.0):
        modified = storage.modified(heartbeat_path("001"))
        assert modified is not None and abs(modified - time.time()) < 60
        assert is_alive(storage, "001", 60.0)
        assert not is_alive(storage, "001", 60.0, now=modified + 121)
    assert storage.modified(heartbeat_path("001")) is None
    assert not is_alive(storage, "001", 60.0)


def test_create_exclusive_when_412_names_no_condition(s3: dict[str, Any]) -> None:
    storage = Storage(f"s3://{BARE_412_BUCKET}/exclusive", s3)
    storage.create_exclusive(".hoodie/001.deltacommit", b"first")
    with pytest.raises(FileExistsError):
        storage.create_exclusive(".hoodie/001.deltacommit", b"second")


def test_write_hudi_creates_then_upserts_on_s3(s3: dict[str, Any]) -> None:
    uri = f"s3://{BUCKET}/t2"
    created = hw.write_hudi(
        uri,
        _scored_batch(FIRST),
        record_key="id",
        partition_by="city",
        ordering_field="ts",
        storage_options=s3,
    )
    assert (created.num_inserted, created.num_updated) == (5, 0)
    updated = hw.write_hudi(
        uri,
        _scored_batch([_row(2, "nyc", 30, "bob-3", 0.0), _row(8, "la", 30, "hal", 8.0)]),
        record_key="id",
        partition_by="city",
        ordering_field="ts",
        storage_options=s3,
    )
    assert (updated.num_inserted, updated.num_updated) == (1, 1)

    expected = {r["id"]: r for r in FIRST}
    expected[2] = _row(2, "nyc", 30, "bob-3", 0.0)
    expected[8] = _row(8, "la", 30, "hal", 8.0)
    table = hw.HudiTable.open(uri, storage_options=s3)
    assert table.properties["hoodie.table.recordkey.fields"] == "id"
    assert _rows(table.to_arrow()) == sorted(expected.values(), key=lambda r: r["id"])
    timeline = _fs(s3).ls(f"{BUCKET}/t2/.hoodie", detail=False)
    completed = sorted(posixpath.basename(p) for p in timeline if p.endswith(".deltacommit"))
    assert completed == [
        f"{created.instant_time}.deltacommit",
        f"{updated.instant_time}.deltacommit",
    ]


#: A writer process on S3: upserts into its own partition with the inline services on.
S3_WRITER = """
import json, random, sys
import pyarrow as pa
import hudiwrite as hw

path, wid, n, storage_options = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
schema = pa.schema([("id", pa.string()), ("ts", pa.int64()), ("city", pa.string())])
options = hw.TableOptions(
    compaction_delta_commits=3, clean_retained=2, archive_min_instants=4, archive_max_instants=6
)
t = hw.HudiTable.open(path, options=options, storage_options=json.loads(storage_options))
rng = random.Random(wid)
for i in range(n):
    ids = [f"w{wid}-k{rng.randrange(20)}" for _ in range(4)]
    batch = pa.table({"id": ids, "ts": [i + 1] * 4, "city": [f"c{wid}"] * 4}, schema)
    try:
        t.upsert(batch)
    except hw.CommitConflictError:
        continue
    print(json.dumps([ids, i + 1]), flush=True)
"""


def test_several_writer_processes_on_s3(s3: dict[str, Any]) -> None:
    """Three processes write one table on S3 at once with inline services: the heartbeats,
    instant reservations and locks work through conditional PUTs, and every write that
    returned is in the final table, exactly."""
    import json
    import subprocess
    import sys

    uri = f"s3://{BUCKET}/several-writers"
    schema = pa.schema([("id", pa.string()), ("ts", pa.int64()), ("city", pa.string())])
    hw.HudiTable.create(
        uri, schema, record_key="id", partition_by="city", ordering_field="ts",
        storage_options=s3,
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=KEY,
        AWS_SECRET_ACCESS_KEY=SECRET,
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1,localhost",
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", S3_WRITER, uri, str(w), "8", json.dumps(s3)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(3)
    ]
    model: dict[tuple[str, str], int] = {}
    for w, proc in enumerate(procs):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        for line in out.splitlines():
            ids, ts = json.loads(line)
            for key in ids:
                model[(f"c{w}", key)] = ts
    assert len(model) > 10
    table = hw.HudiTable.open(uri, storage_options=s3)
    got = {(r["city"], r["id"]): r["ts"] for r in table.to_arrow().to_pylist()}
    assert got == model
    assert all(i.state is hw.State.COMPLETED for i in table.timeline())
