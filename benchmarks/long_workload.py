"""Long-workload benchmark: commit latency over hundreds of commits with all table services.

    python benchmarks/long_workload.py [--commits 300] [--rows 2000] [--keys 20000]

Writes a table with every service inline (compaction every 5 delta commits, cleaning with
keep-latest-10-commits, archival between 20 and 30 instants: Hudi's defaults), each commit an
upsert of ``--rows`` rows of which about half update existing keys, every fifth commit a
delete of a few keys. Prints the latency of the first and last 10 commits and their ratio
(a table that can be written forever keeps this near 1), the same rows written with plain
``pyarrow.parquet.write_table`` in the same process as a baseline, and the final size of the
active timeline and the table.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import hudiwrite as hw

SCHEMA = pa.schema(
    [
        ("device", pa.string()),
        ("ts", pa.int64()),
        ("day", pa.string()),
        ("temperature", pa.float64()),
        ("status", pa.string()),
    ]
)
DAYS = [f"2026-11-{d:02d}" for d in range(14, 22)]


def batch(rng: random.Random, commit: int, rows: int, known: list[str], keys: int) -> pa.Table:
    ids = []
    for _ in range(rows):
        if known and rng.random() < 0.5:
            ids.append(rng.choice(known))
        else:
            ids.append(f"device-{rng.randrange(keys):07d}")
    return pa.table(
        {
            "device": ids,
            "ts": [commit] * rows,
            "day": [DAYS[int(i[-7:]) % len(DAYS)] for i in ids],
            "temperature": [rng.uniform(-10, 40) for _ in ids],
            "status": [rng.choice(["ok", "warn", "fail"]) for _ in ids],
        },
        schema=SCHEMA,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--keys", type=int, default=20_000)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="hudiwrite-long-", dir=args.dir))
    try:
        run(root, args.commits, args.rows, args.keys)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(root: Path, commits: int, rows: int, keys: int) -> None:
    rng = random.Random(7)
    table = hw.HudiTable.create(
        str(root / "t"), SCHEMA, record_key="device", partition_by="day", ordering_field="ts"
    )
    known: list[str] = []
    hudi_ms: list[float] = []
    base_ms: list[float] = []
    for n in range(1, commits + 1):
        data = batch(rng, n, rows, known, keys)
        start = time.perf_counter()
        if n % 5 == 0 and known:
            victims = rng.sample(known, min(20, len(known)))
            table.delete(
                pa.table({"device": victims, "day": [DAYS[int(v[-7:]) % 8] for v in victims]})
            )
        else:
            table.upsert(data)
        hudi_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        pq.write_table(
            data, root / f"baseline-{n}.parquet", compression="gzip", compression_level=6
        )
        base_ms.append((time.perf_counter() - start) * 1000)
        known.extend(data.column("device").to_pylist()[:50])
        if len(known) > 5000:
            known = known[-5000:]

    first, last = hudi_ms[:10], hudi_ms[-10:]
    rows_read = table.to_arrow(columns=["device"]).num_rows
    timeline = table.timeline()
    data_files = [p for p in (root / "t").rglob("*") if p.is_file() and ".hoodie" not in p.parts]
    print(f"{commits} commits of {rows} rows (every 5th a delete), all services inline")
    print()
    print(f"{'':22}{'mean ms':>10}{'p50 ms':>10}{'max ms':>10}")
    for name, values in (
        ("first 10 commits", first),
        ("last 10 commits", last),
        ("all commits", hudi_ms),
        ("pyarrow, all", base_ms),
    ):
        print(
            f"{name:22}{statistics.mean(values):10.1f}{statistics.median(values):10.1f}"
            f"{max(values):10.1f}"
        )
    print()
    print(
        f"latency ratio last 10 / first 10 (median): "
        f"{statistics.median(last) / statistics.median(first):.2f}"
    )
    print(
        f"hudiwrite / pyarrow (median over all commits): "
        f"{statistics.median(hudi_ms) / statistics.median(base_ms):.1f}"
    )
    print(
        f"active timeline: {len(timeline)} instants "
        f"({sum(1 for i in timeline if i.action == 'commit')} compactions kept)"
    )
    print(f"table: {rows_read} rows, {len(data_files)} data files")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
