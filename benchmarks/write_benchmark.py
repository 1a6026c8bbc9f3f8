"""Write benchmark: hudiwrite next to a raw ``pyarrow.parquet.write_table`` of the same rows.

Scenarios (each in a fresh subprocess, so peak memory belongs to that scenario alone):

* A  load: ``HudiTable.create`` + one ``upsert`` of N rows (also ``insert``, and an upsert
     with snappy) vs pyarrow writing the same rows, one file per date partition.
* B  upsert N/10 rows of which half exist, on the table A built, vs pyarrow writing them.
* C  20 upserts of 1k rows (half new, half existing) on the table B left, latency per
     commit, vs pyarrow writing each 1k rows.

Inside a scenario the pyarrow baseline and hudiwrite run in the same process, one after the
other and ``--repeat`` times interleaved, so every ratio compares runs of one process. The
peak RSS of each writer is read from ``getrusage(RUSAGE_SELF).ru_maxrss`` after resetting the
process's high-water mark (``/proc/self/clear_refs``) just before the writer starts; the input
data stays in memory throughout, and its RSS is reported, so "over input" is the writer's own
overhead.

Usage::

    python benchmarks/write_benchmark.py            # 1M rows, 3 repetitions, ~5 minutes
    python benchmarks/write_benchmark.py --quick    # tiny smoke run

After B and C the table is read back with hudi-rs (in a child process) and its row count
checked. ``profile_write.py`` next to this file profiles one scenario. Results and their
reading: docs/performance.md.

Performance is read as ratios against the baseline measured in the same run, never as an
absolute time asserted by a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import hudiwrite as hw

# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

DATES = [f"2024-03-{d:02d}" for d in range(1, 9)]
BASE_TS_MS = 1_709_251_200_000  # 2024-03-01T00:00:00Z
DAY_MS = 86_400_000
STATUSES = ["ok", "ok", "ok", "ok", "warn", "error", "maintenance"]
N_DEVICES = 5_000
#: Large primes used to spread "existing" ids over the whole table (every partition and file).
SPREAD_B = 7_919
SPREAD_C = 104_729

SCHEMA = pa.schema(
    [
        pa.field("reading_id", pa.string(), nullable=False),
        pa.field("device", pa.string()),
        pa.field("date", pa.string()),
        pa.field("ts", pa.int64()),
        pa.field("temperature", pa.float64()),
        pa.field("humidity", pa.float64()),
        pa.field("pressure", pa.float64()),
        pa.field("battery", pa.int32()),
        pa.field("rssi", pa.int32()),
        pa.field("status", pa.string()),
        pa.field("firmware", pa.string()),
    ]
)
RECORD_KEY = "reading_id"
PARTITION_BY = "date"
ORDERING = "ts"


def arange(start: int, stop: int) -> pa.Array:
    """int64 ``start .. stop-1`` without a Python loop."""
    n = stop - start
    if n <= 0:
        return pa.array([], pa.int64())
    return pc.add(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), n)), start - 1)


def _mod(values: pa.Array, m: int) -> pa.Array:
    """``values % m`` for non-negative int64 values (pyarrow has no modulo kernel)."""
    return pc.subtract(values, pc.multiply(pc.divide(values, m), m))


def _f64(values: pa.Array) -> pa.Array:
    return pc.cast(values, pa.float64())


def iot_rows(ids: pa.Array, version: int = 0) -> pa.Table:
    """Deterministic IoT-like readings for reading ids ``ids`` (int64).

    The record key, partition (date) and device depend on the id only, so the same id written
    again is an update of the same record; ``version`` changes the values and raises ``ts`` by
    ``version`` milliseconds, so a later version wins the merge.
    """
    ids = pc.cast(ids, pa.int64())
    device = _mod(ids, N_DEVICES)
    device_str = pc.binary_join_element_wise(
        "device", pc.utf8_lpad(pc.cast(device, pa.string()), 6, "0"), "-"
    )
    key = pc.binary_join_element_wise(device_str, pc.cast(ids, pa.string()), "-")
    day = _mod(ids, len(DATES))
    date = pc.take(pa.array(DATES), day)
    ts = pc.add(
        pc.add(pc.multiply(day, DAY_MS), pc.multiply(_mod(pc.divide(ids, 8), 86_399), 1_000)),
        BASE_TS_MS + version,
    )
    temperature = pc.add(
        pc.divide(_f64(_mod(pc.multiply(ids, 7), 2_000)), 100.0), 15.0 + 0.5 * version
    )
    humidity = pc.divide(_f64(_mod(pc.add(pc.multiply(ids, 13), version), 1_000)), 10.0)
    pressure = pc.add(pc.divide(_f64(_mod(pc.multiply(ids, 31), 1_000)), 10.0), 950.0)
    battery = pc.cast(pc.subtract(100 - version, _mod(ids, 100)), pa.int32())
    rssi = pc.cast(pc.negate(pc.add(_mod(pc.multiply(ids, 17), 70), 30)), pa.int32())
    status = pc.take(pa.array(STATUSES), _mod(pc.add(pc.multiply(ids, 3), version), len(STATUSES)))
    firmware = pc.binary_join_element_wise(
        f"fw-{2 + version}", pc.cast(_mod(ids, 40), pa.string()), "."
    )
    return pa.Table.from_arrays(
        [
            key,
            device_str,
            date,
            ts,
            temperature,
            humidity,
            pressure,
            battery,
            rssi,
            status,
            firmware,
        ],
        schema=SCHEMA,
    )


def mixed_ids(
    half_existing: int, n_new: int, table_rows: int, spread: int, offset: int, new_base: int
) -> pa.Array:
    """``half_existing`` distinct ids already in a table of ids ``0..table_rows-1`` (spread over
    it by multiplying with a prime), then ``n_new`` ids from ``new_base`` on."""
    existing = _mod(pc.multiply(arange(offset, offset + half_existing), spread), table_rows)
    new = arange(new_base, new_base + n_new)
    return pa.concat_arrays([existing, new])


class Sizes:
    """Row counts of one benchmark run."""

    def __init__(self, rows: int, quick: bool) -> None:
        self.rows = rows
        self.upsert_rows = max(2, rows // 10)  # 100k for 1M
        self.small_rows = 100 if quick else 1_000
        self.small_commits = 3 if quick else 20
        if (self.rows % SPREAD_B == 0) or (self.rows % SPREAD_C == 0):
            raise SystemExit("--rows must not be a multiple of 7919 or 104729")
        self.b_existing = self.upsert_rows // 2
        self.b_new = self.upsert_rows - self.b_existing
        self.c_existing = self.small_rows // 2
        self.c_new = self.small_rows - self.c_existing

    def load_ids(self) -> pa.Array:
        return arange(0, self.rows)

    def upsert_ids(self) -> pa.Array:
        return mixed_ids(self.b_existing, self.b_new, self.rows, SPREAD_B, 0, self.rows)

    def small_ids(self, commit: int) -> pa.Array:
        return mixed_ids(
            self.c_existing,
            self.c_new,
            self.rows,
            SPREAD_C,
            commit * self.c_existing,
            2 * self.rows + commit * self.c_new,
        )


# ---------------------------------------------------------------------------------------------
# Measurement helpers
# ---------------------------------------------------------------------------------------------

MiB = 1024 * 1024


def _status(field: str) -> int | None:
    """A ``/proc/self/status`` memory field in bytes (Linux only)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def rss_now() -> int:
    """Current resident set size in bytes (Linux), else the peak so far."""
    rss = _status("VmRSS")
    return peak_rss() if rss is None else rss


def peak_rss() -> int:
    """``ru_maxrss`` in bytes (kilobytes on Linux, bytes on macOS)."""
    raw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return raw if sys.platform == "darwin" else raw * 1024


def reset_peak() -> bool:
    """Reset the high-water mark behind ``ru_maxrss`` to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def settle() -> int:
    """Collect garbage, give Arrow's free pages back, return the RSS we start from."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    return rss_now()


def measure(fn: Callable[[], Any], baseline_rss: int) -> dict[str, Any]:
    """Run ``fn`` once: wall and CPU seconds, and peak RSS since the reset just before it."""
    start_rss = settle()
    reset_ok = reset_peak()
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    cpu = cpu_seconds() - cpu0
    peak = peak_rss()
    # Cross-check: ru_maxrss also keeps the RSS a process had when it exec'd (the parent's
    # size at fork), which clear_refs cannot reset; VmHWM is the same counter without that.
    hwm = _status("VmHWM")
    return {
        "wall": wall,
        "cpu": cpu,
        "peak": peak,
        "vm_hwm": hwm,
        "start_rss": start_rss,
        "over_input": peak - baseline_rss,
        "peak_reset": reset_ok,
        "out": out,
    }


# ---------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------


def pyarrow_partitioned(table: pa.Table, root: Path, compression: str) -> int:
    """The baseline: the same rows as one parquet file per date partition
    (``date=YYYY-MM-DD/part-0.parquet``) with plain ``pq.write_table``. Returns bytes written."""
    dates = pc.unique(table.column(PARTITION_BY)).to_pylist()
    written = 0
    for d in sorted(dates):
        part = table.filter(pc.equal(table.column(PARTITION_BY), d))
        folder = root / f"{PARTITION_BY}={d}"
        folder.mkdir(parents=True, exist_ok=True)
        # Same codec and level as hudiwrite (gzip at zlib's default 6, as parquet-mr uses), so
        # the ratio prices Hudi's work, not a compression-level difference.
        level = 6 if compression == "gzip" else None
        pq.write_table(
            part, folder / "part-0.parquet", compression=compression, compression_level=level
        )
        written += (folder / "part-0.parquet").stat().st_size
    return written


#: The table version the scenarios create (``--table-version``; set in each child).
TABLE_VERSION = 6


def hudi_create(path: Path, compression: str = "gzip") -> hw.HudiTable:
    return hw.HudiTable.create(
        str(path),
        SCHEMA,
        record_key=RECORD_KEY,
        partition_by=PARTITION_BY,
        ordering_field=ORDERING,
        options=hw.TableOptions(parquet_compression=compression, table_version=TABLE_VERSION),
    )


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    return path


# ---------------------------------------------------------------------------------------------
# Scenarios (each runs in its own child process)
# ---------------------------------------------------------------------------------------------


def _input_info(table: pa.Table, rss_before: int) -> tuple[dict[str, Any], int]:
    rss_data = settle()
    return {
        "rows": table.num_rows,
        "arrow_bytes": table.nbytes,
        "rss_before": rss_before,
        "rss_data": rss_data,
    }, rss_data


@dataclasses.dataclass
class Case:
    """One writer of a scenario. ``setup`` and ``teardown`` run untimed around ``run``."""

    writer: str
    codec: str
    baseline: bool
    run: Callable[[], Any]
    setup: Callable[[], Any] = lambda: None
    teardown: Callable[[], Any] = lambda: None


def run_cases(cases: list[Case], repeat: int, base_rss: int) -> list[dict[str, Any]]:
    """Every case ``repeat`` times, interleaved (all cases, then all again), so slow drift of
    the machine hits baseline and hudiwrite alike. Per case: median wall time, its range, the
    ratio to the same-codec baseline as the median of per-repetition ratios, and the smallest
    peak RSS of the repetitions (memory an earlier writer left resident in the process, e.g.
    in the allocator's caches, can only inflate a repetition's peak, never hide its own)."""
    runs: dict[str, list[dict[str, Any]]] = {c.writer: [] for c in cases}
    for _ in range(repeat):
        for case in cases:
            case.setup()
            runs[case.writer].append(measure(case.run, base_rss))
            case.teardown()
    baselines = {c.codec: runs[c.writer] for c in cases if c.baseline}
    rows = []
    for case in cases:
        ms = runs[case.writer]
        walls = [m["wall"] for m in ms]
        base = baselines.get(case.codec)
        ratios = [m["wall"] / b["wall"] for m, b in zip(ms, base, strict=True)] if base else []
        row: dict[str, Any] = {
            "writer": case.writer,
            "codec": case.codec,
            "baseline": case.baseline,
            "wall": statistics.median(walls),
            "wall_min": min(walls),
            "wall_max": max(walls),
            "ratio": statistics.median(ratios) if ratios else None,
            "cpu": statistics.median(m["cpu"] for m in ms),
            "peak": min(m["peak"] for m in ms),
            "peak_max": max(m["peak"] for m in ms),
            "vm_hwm": min((m["vm_hwm"] or 0) for m in ms) or None,
            "over_input": min(m["over_input"] for m in ms),
            "peak_reset": all(m["peak_reset"] for m in ms),
            "repeat": len(ms),
        }
        out = ms[-1]["out"]
        if isinstance(out, hw.WriteResult):
            row.update(
                files=len(out.files_written),
                inserted=out.num_inserted,
                updated=out.num_updated,
                bytes=out.bytes_written,
            )
        elif isinstance(out, int):
            row["bytes"] = out
        elif isinstance(out, list):  # per-commit latencies, repetition after repetition
            row["latencies"] = [t for m in ms for t in m["out"]]
            row["commits"] = len(out)
        rows.append(row)
    return rows


def _pyarrow_cases(data: pa.Table, work: Path, prefix: str) -> list[Case]:
    cases = []
    for codec in ("gzip", "snappy"):
        out = work / f"{prefix}_{codec}"
        cases.append(
            Case(
                f"pyarrow write_table ({codec})",
                codec,
                True,
                run=functools.partial(pyarrow_partitioned, data, out, codec),
                setup=functools.partial(fresh_dir, out),
                teardown=functools.partial(shutil.rmtree, out),
            )
        )
    return cases


def scenario_a(work: Path, sizes: Sizes, repeat: int) -> dict[str, Any]:
    rss_before = settle()
    data = iot_rows(sizes.load_ids())
    info, base = _input_info(data, rss_before)

    def load(path: Path, op: str, codec: str) -> hw.WriteResult:
        table = hudi_create(path, codec)
        return table.upsert(data) if op == "upsert" else table.insert(data)

    cases = _pyarrow_cases(data, work, "pa_load")
    # The last upsert (gzip) stays in hudi_load: scenario B writes on it.
    for name, op, codec in [
        ("hudi_load", "upsert", "gzip"),
        ("hudi_insert", "insert", "gzip"),
        ("hudi_load_snappy", "upsert", "snappy"),
    ]:
        path = work / name
        cases.append(
            Case(
                f"hudiwrite create+{op} ({codec})",
                codec,
                False,
                run=functools.partial(load, path, op, codec),
                setup=functools.partial(fresh_dir, path),
                teardown=(lambda: None)
                if name == "hudi_load"
                else functools.partial(shutil.rmtree, path),
            )
        )
    return {"input": info, "rows": run_cases(cases, repeat, base)}


def _copy_table(src: Path, dst: Path) -> None:
    shutil.copytree(src, fresh_dir(dst))


def scenario_b(work: Path, sizes: Sizes, repeat: int) -> dict[str, Any]:
    path = work / "hudi_upsert"
    rss_before = settle()
    data = iot_rows(sizes.upsert_ids(), version=1)
    info, base = _input_info(data, rss_before)
    cases = _pyarrow_cases(data, work, "pa_upsert")
    # Each repetition upserts into a fresh copy of the 1M table; the last one stays for C.
    cases.append(
        Case(
            "hudiwrite upsert (gzip)",
            "gzip",
            False,
            run=lambda: hw.HudiTable.open(str(path)).upsert(data),
            setup=lambda: _copy_table(work / "hudi_load", path),
        )
    )
    return {"input": info, "rows": run_cases(cases, repeat, base)}


def scenario_c(work: Path, sizes: Sizes, repeat: int) -> dict[str, Any]:
    path = work / "hudi_small"
    rss_before = settle()
    batches = [iot_rows(sizes.small_ids(i), version=2 + i) for i in range(sizes.small_commits)]
    info, base = _input_info(batches[0], rss_before)
    info["rows"] = sum(b.num_rows for b in batches)
    info["arrow_bytes"] = sum(b.nbytes for b in batches)

    def pyarrow_loop() -> list[float]:
        times = []
        for i, batch in enumerate(batches):
            t0 = time.perf_counter()
            pyarrow_partitioned(batch, work / "pa_small" / f"commit={i}", "gzip")
            times.append(time.perf_counter() - t0)
        return times

    def hudi_loop() -> list[float]:
        table = hw.HudiTable.open(str(path))
        times = []
        for batch in batches:
            t0 = time.perf_counter()
            table.upsert(batch)
            times.append(time.perf_counter() - t0)
        return times

    cases = [
        Case(
            "pyarrow write_table (gzip)",
            "gzip",
            True,
            run=pyarrow_loop,
            setup=lambda: fresh_dir(work / "pa_small"),
            teardown=lambda: shutil.rmtree(work / "pa_small"),
        ),
        # Each repetition starts again from the table B left; the last one stays for checkC.
        Case(
            "hudiwrite upsert (gzip)",
            "gzip",
            False,
            run=hudi_loop,
            setup=lambda: _copy_table(work / "hudi_upsert", path),
        ),
    ]
    return {"input": info, "rows": run_cases(cases, repeat, base)}


SCENARIOS: dict[str, tuple[str, Callable[[Path, Sizes, int], dict[str, Any]]]] = {
    "A": ("load", scenario_a),
    "B": ("upsert, half exist", scenario_b),
    "C": ("small upserts", scenario_c),
}


def run_child(scenario: str, work: Path, sizes: Sizes, repeat: int) -> None:
    if scenario == "checkB":
        result: dict[str, Any] = {
            "check": hudi_rs_check(
                work / "hudi_upsert", sizes.rows + sizes.b_new, sizes.upsert_rows
            )
        }
    elif scenario == "checkC":
        result = {
            "check": hudi_rs_check(
                work / "hudi_small",
                sizes.rows + sizes.b_new + sizes.small_commits * sizes.c_new,
                None,
            )
        }
    else:
        result = SCENARIOS[scenario][1](work, sizes, repeat)
    print("RESULT " + json.dumps(result), flush=True)


def spawn(scenario: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--scenario",
        scenario,
        "--work",
        str(work),
        "--rows",
        str(args.rows),
        "--repeat",
        str(args.repeat),
        "--table-version",
        str(args.table_version),
    ]
    if args.quick:
        cmd.append("--quick")
    print(f"  running {scenario} in a fresh process ...", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout)
        raise SystemExit(f"scenario {scenario} failed (exit code {proc.returncode})")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    return result


# ---------------------------------------------------------------------------------------------
# Correctness check (hudi-rs)
# ---------------------------------------------------------------------------------------------


def hudi_rs_check(path: Path, expected_rows: int, expected_version_rows: int | None) -> str:
    """Read the table with hudi-rs and compare its row count (and, after B, how many rows
    carry the upserted version) with what the writes should have left."""
    try:
        import hudi
    except ImportError:
        return "hudi-rs not installed: check skipped"
    batches = hudi.HudiTable(str(path)).read(hudi.HudiReadOptions())
    table = pa.Table.from_batches(batches) if batches else SCHEMA.empty_table()
    n = table.num_rows
    keys = pc.count_distinct(table.column("_hoodie_record_key")).as_py() if n else 0
    ok = n == expected_rows and keys == n
    msg = f"hudi-rs reads {n:,} rows ({keys:,} distinct keys), expected {expected_rows:,}"
    if expected_version_rows is not None:
        versioned = pc.sum(pc.equal(_mod(table.column("ts"), 1_000), 1)).as_py() or 0
        ok = ok and versioned == expected_version_rows
        msg += (
            f"; rows carrying the upserted version {versioned:,}, expected "
            f"{expected_version_rows:,}"
        )
    return ("OK    " if ok else "WRONG ") + msg


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def report(results: dict[str, dict[str, Any]], repeat: int) -> str:
    header = [
        "scenario",
        "writer",
        "rows",
        "wall s",
        "(min-max)",
        "rows/s",
        "ratio",
        "cpu s",
        "peak MiB",
        "over input MiB",
        "MiB out",
        "commit ms mean/p50/max",
    ]
    right = {2, 3, 4, 5, 6, 7, 8, 9, 10}
    table: list[list[str]] = []
    notes: list[str] = []
    for key, res in results.items():
        title = f"{key} {SCENARIOS[key][0]}"
        inp = res["input"]
        notes.append(
            f"{key}: input {inp['rows']:,} rows, {inp['arrow_bytes'] / MiB:.0f} MiB of Arrow "
            f"buffers; process RSS {inp['rss_before'] / MiB:.0f} MiB before generating it, "
            f"{inp['rss_data'] / MiB:.0f} MiB with it"
        )
        for r in res["rows"]:
            ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
            lat = ""
            if "latencies" in r:
                ls = r["latencies"]
                lat = f"{_ms(statistics.mean(ls))}/{_ms(statistics.median(ls))}/{_ms(max(ls))}"
            if "commits" in r and not r["baseline"]:
                n = r["commits"]
                by_commit = [statistics.median(r["latencies"][i::n]) for i in range(n)]
                notes.append(
                    f"{key} {r['writer']}: latency by commit: "
                    f"commit 1 {_ms(by_commit[0])} ms, commit {n} {_ms(by_commit[-1])} ms "
                    "(medians over repetitions)"
                )
            table.append(
                [
                    title,
                    r["writer"],
                    f"{inp['rows']:,}",
                    f"{r['wall']:.2f}",
                    f"({r['wall_min']:.2f}-{r['wall_max']:.2f})",
                    f"{inp['rows'] / r['wall']:,.0f}",
                    ratio,
                    f"{r['cpu']:.2f}",
                    f"{r['peak'] / MiB:.0f}",
                    f"{r['over_input'] / MiB:.0f}",
                    f"{r['bytes'] / MiB:.1f}" if "bytes" in r else "-",
                    lat,
                ]
            )
            title = ""
            if not r["peak_reset"]:
                notes.append(
                    f"{key} {r['writer']}: peak could not be reset; it is the process peak so far"
                )
            elif r.get("vm_hwm") is not None and r["peak"] > r["vm_hwm"] + MiB:
                notes.append(
                    f"{key} {r['writer']}: ru_maxrss {r['peak'] / MiB:.0f} MiB exceeds "
                    f"VmHWM {r['vm_hwm'] / MiB:.0f} MiB (inherited at exec?)"
                )
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]

    def fmt(row: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    lines = [fmt(header), fmt(["-" * w for w in widths])]
    lines += [fmt(row) for row in table]
    lines += [
        "",
        f"{repeat} repetition(s) of every writer, interleaved; wall s and cpu s are medians. "
        "C: rows and wall are all its commits together.",
        "ratio = median over repetitions of hudiwrite wall / pyarrow wall (same codec, same "
        "process, same repetition).",
        "peak MiB = ru_maxrss of the scenario's process, reset just before each writer (smallest "
        "of the repetitions);",
        "over input = peak minus the process RSS with the input data loaded.",
        "MiB out = size of the data files written (hudiwrite: WriteResult.bytes_written, "
        "without .hoodie/ metadata).",
        *notes,
    ]
    return "\n".join(lines)


def environment() -> str:
    return (
        f"python {platform.python_version()}, pyarrow {pa.__version__}, hudiwrite "
        f"{hw.__version__}, {os.cpu_count()} CPUs, {platform.platform()}"
    )


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def parse_sizes(
    parser: argparse.ArgumentParser, argv: list[str] | None
) -> tuple[argparse.Namespace, Sizes]:
    """Parse the arguments both benchmarks share (--rows, --quick, --repeat) into sizes."""
    args = parser.parse_args(argv)
    if args.quick and args.rows == 1_000_000:
        args.rows = 20_000
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args, Sizes(args.rows, args.quick)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the load (A)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny smoke run (20k rows, 3 small upserts of 100 rows)",
    )
    parser.add_argument(
        "--dir", default=None, help="parent of the scratch directory (default: system temp)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the tables written")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="repetitions of every writer, interleaved (default 3; 1 with "
        "--quick); times are medians, peaks the largest",
    )
    parser.add_argument("--scenarios", default="ABC", help="A, AB or ABC (default)")
    parser.add_argument(
        "--table-version",
        type=int,
        choices=(6, 8, 9),
        default=6,
        help="table version of the tables written (default 6)",
    )
    parser.add_argument(
        "--scenario", choices=[*sorted(SCENARIOS), "checkB", "checkC"], help=argparse.SUPPRESS
    )
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args, sizes = parse_sizes(parser, argv)

    global TABLE_VERSION
    TABLE_VERSION = args.table_version
    if args.scenario:  # child process
        run_child(args.scenario, Path(args.work), sizes, args.repeat)
        return 0

    wanted = [s for s in "ABC" if s in args.scenarios.upper()]
    if "".join(wanted) not in ("A", "AB", "ABC"):  # each needs the table the previous left
        parser.error("B needs A and C needs B: use --scenarios A, AB or ABC")
    work = Path(tempfile.mkdtemp(prefix="hudiwrite-bench-", dir=args.dir))
    print(
        f"hudiwrite write benchmark (table version {args.table_version}): {environment()}",
        file=sys.stderr,
    )
    print(f"scratch directory {work}", file=sys.stderr)
    results: dict[str, dict[str, Any]] = {}
    checks: list[str] = []
    try:
        for s in wanted:
            results[s] = spawn(s, work, args)
            if s in "BC":
                # Read back in a child too: the parent must stay small, because a child's
                # ru_maxrss starts at the parent's RSS at the time it was spawned.
                checks.append(f"after {s}: " + spawn(f"check{s}", work, args)["check"])
    finally:
        if args.keep:
            print(f"tables kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{environment()}; table version {args.table_version}")
    print()
    print(report(results, args.repeat))
    if args.json:
        Path(args.json).write_text(json.dumps(results))
    if checks:
        print()
        print("\n".join(checks))
    return 0 if all(c.split(": ", 1)[1].startswith(("OK", "hudi-rs not")) for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
