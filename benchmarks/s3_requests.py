"""S3 requests per small commit: what an ingestion service pays per write on object storage.

    python benchmarks/s3_requests.py [--commits 50] [--rows 10] [--partitions 8]

Needs the test extras (moto, s3fs): ``pip install -e ".[test]"``.

On S3 a commit's latency is dominated by request round trips, not CPU, so this benchmark
counts them. It starts the test suite's S3-compatible server (moto, ``tests/s3server.py``) on
127.0.0.1 with a WSGI middleware that counts every request by kind, creates a table there
through s3fs, and makes ``--commits`` upserts of ``--rows`` rows spread over
``--partitions`` date partitions, with the default options (inline compaction, cleaning,
archival, eager rollback). It prints requests per commit (over the second half of the
commits, once the timeline and services are in their steady state), the same rows written
by ``pyarrow.parquet.write_table`` to the same server as a baseline, and a snapshot read.

Wall times are printed but mean little here: the server runs in the same process on the
same two CPUs, with none of S3's network latency. Multiply the request counts by your
store's round trip (tens of milliseconds on S3) for a latency estimate.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import hudiwrite as hw
from tests.s3server import LocalS3

BUCKET = "bench"
SCHEMA = pa.schema(
    [("id", pa.string()), ("ts", pa.int64()), ("day", pa.string()), ("v", pa.float64())]
)
KINDS = ("LIST", "GET", "HEAD", "PUT", "DELETE", "POST")


class Counter:
    """WSGI middleware: counts requests by kind while ``active``."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()

    def kind(self, environ: dict[str, Any]) -> str:
        method = str(environ.get("REQUEST_METHOD", ""))
        query = parse_qs(str(environ.get("QUERY_STRING", "")))
        if method == "GET" and ("list-type" in query or _is_bucket(environ)):
            return "LIST"
        return method

    def wrap(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            self.counts[self.kind(environ)] += 1
            return app(environ, start_response)

        return counted

    def take(self) -> collections.Counter[str]:
        taken, self.counts = self.counts, collections.Counter()
        return taken


def _is_bucket(environ: dict[str, Any]) -> bool:
    return "/" not in str(environ.get("PATH_INFO", "")).strip("/")


def batch(rng: random.Random, commit: int, rows: int, partitions: int) -> pa.Table:
    ids = [f"device-{rng.randrange(100_000):06d}" for _ in range(rows)]
    days = [f"2026-11-{1 + int(i[-6:]) % partitions:02d}" for i in ids]
    values = [rng.uniform(-10, 40) for _ in ids]
    return pa.table({"id": ids, "ts": [commit] * rows, "day": days, "v": values}, SCHEMA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commits", type=int, default=50)
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--partitions", type=int, default=8)
    args = parser.parse_args()

    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1,localhost",
    )
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    counter = Counter()
    server = LocalS3(middleware=counter.wrap)
    endpoint = server.start()
    try:
        run(endpoint, counter, args.commits, args.rows, args.partitions)
    finally:
        server.stop()


def run(endpoint: str, counter: Counter, commits: int, rows: int, partitions: int) -> None:
    import s3fs

    options: dict[str, Any] = {
        "key": "bench",
        "secret": "bench",
        "endpoint_url": endpoint,
        "client_kwargs": {"region_name": "us-east-1"},
    }
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
    fs.call_s3("create_bucket", Bucket=BUCKET)
    uri = f"s3://{BUCKET}/readings"
    table = hw.HudiTable.create(
        uri, SCHEMA, record_key="id", partition_by="day", ordering_field="ts",
        storage_options=options,
    )  # fmt: skip
    rng = random.Random(7)
    counter.take()
    per_commit: list[collections.Counter[str]] = []
    wall: list[float] = []
    base_counts: list[collections.Counter[str]] = []
    base_wall: list[float] = []
    for n in range(1, commits + 1):
        data = batch(rng, n, rows, partitions)
        start = time.perf_counter()
        table.upsert(data)
        wall.append(time.perf_counter() - start)
        per_commit.append(counter.take())
        start = time.perf_counter()
        with fs.open(f"{BUCKET}/plain/part-{n:05d}.parquet", "wb") as f:
            pq.write_table(data, f, compression="gzip")
        base_wall.append(time.perf_counter() - start)
        base_counts.append(counter.take())

    steady = per_commit[commits // 2 :]
    start = time.perf_counter()
    snapshot = hw.HudiTable.open(uri, storage_options=options).to_arrow()
    read_wall = time.perf_counter() - start
    read_counts = counter.take()

    def row(name: str, counts: list[collections.Counter[str]], seconds: list[float]) -> str:
        mean = {k: statistics.mean(c[k] for c in counts) for k in KINDS}
        total = sum(mean.values())
        cells = "".join(f"{mean[k]:8.1f}" for k in KINDS)
        return f"{name:34}{cells}{total:9.1f}{statistics.median(seconds) * 1000:10.0f}"

    print(
        f"{commits} upserts of {rows} rows over {partitions} partitions, default options "
        f"(inline compaction, cleaning, archival); S3 server: moto on 127.0.0.1"
    )
    print()
    print(
        f"{'requests per commit (mean)':34}"
        + "".join(f"{k:>8}" for k in KINDS)
        + "    total  p50 ms"
    )
    half = commits // 2
    print(row(f"hudiwrite upsert, commits {half + 1}-{commits}", steady, wall[half:]))
    print(row("hudiwrite upsert, all commits", per_commit, wall))
    print(row("pyarrow write_table (1 file)", base_counts, base_wall))
    total = sum(read_counts.values())
    cells = "".join(f"{read_counts[k]:8d}" for k in KINDS)
    name = f"hudiwrite to_arrow ({snapshot.num_rows} rows)"
    print(f"{name:34}{cells}{total:9d}{read_wall * 1000:10.0f}")
    print()
    print("LIST = GET on a bucket (ListObjectsV2); POST = multi-object delete.")
    print("Latency on S3 is roughly the request count times the store's round trip.")


if __name__ == "__main__":
    main()
