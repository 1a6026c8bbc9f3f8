"""Read benchmark: hudiwrite's reader next to hudi-rs and a plain ``pyarrow.parquet`` read.

The table is the one ``write_benchmark.py`` leaves after its scenarios A and B: ``create`` +
``upsert`` of N rows (default 1M, 8 date partitions), then an upsert of N/10 rows of which
half exist, so its snapshot holds N + N/20 rows and the file groups hit by the updates carry a
log file each. The same final rows (the expected snapshot, user columns only) are also written
with ``pq.write_table`` (gzip level 6, one file per ``date=...`` folder): the baseline.

Queries (readers of the same query in the same child process, ``--repeat`` times, interleaved):

* full  the whole table: pyarrow ``pq.read_table`` of the plain copy (baseline) and
        ``pyarrow.dataset``; hudi-rs ``read`` (snapshot, snapshot of the user columns only,
        read-optimized) and ``read_stream``; hudiwrite ``to_arrow()`` (snapshot: merges the
        log blocks), ``to_arrow(columns=<user columns>)`` (the same columns as the baseline),
        ``to_arrow(read_optimized=True)`` and ``scan()`` consumed batch by batch.
* one   one partition (``date = 2024-03-01``): pyarrow reading that partition's file
        (baseline) and ``pyarrow.dataset`` with the filter; hudi-rs and hudiwrite with the
        filter ``("date", "=", "2024-03-01")``.

As in the write benchmark, every ratio compares runs of one process and one repetition (the
median over repetitions is shown), and peak RSS is ``ru_maxrss`` after resetting the
high-water mark (``/proc/self/clear_refs``) just before the read. Because readers of one
process leave memory in their allocators, each reader also runs once more alone in a fresh
process: that first read's time and peak are the "fresh" columns. Every read is from the page
cache (the files were just written): this measures CPU, not the disk.

A check child compares the readers' answers: row counts (N + N/20), hudiwrite's snapshot and
read-optimized rows against hudi-rs's as multisets of (record key, ts, temperature), and the
snapshots' user columns against the plain copy. It prints OK/FAIL; the script exits 1 on FAIL.

Usage::

    python benchmarks/read_benchmark.py             # 1M rows, 3 repetitions
    python benchmarks/read_benchmark.py --quick     # 20k rows, 1 repetition (smoke run)
    python benchmarks/read_benchmark.py --profile   # cProfile of one hudiwrite snapshot read

Results and their reading: docs/performance.md ("Read performance"). Performance is read as
ratios against the baseline measured in the same run, never as a time asserted by a test.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import write_benchmark as wb
from write_benchmark import MiB, Sizes

import hudiwrite as hw

FILTER_DATE = wb.DATES[0]
FILTER = [(wb.PARTITION_BY, "=", FILTER_DATE)]
RO_OPTION = {"hoodie.read.use.read_optimized.mode": "true"}
USER_COLUMNS = wb.SCHEMA.names


def table_dir(work: Path) -> Path:
    return work / "hudi"


def plain_dir(work: Path) -> Path:
    return work / "plain"


def plain_partition_file(work: Path) -> Path:
    return plain_dir(work) / f"{wb.PARTITION_BY}={FILTER_DATE}" / "part-0.parquet"


# ---------------------------------------------------------------------------------------------
# The table (built once, in a child)
# ---------------------------------------------------------------------------------------------


def expected_snapshot(sizes: Sizes) -> pa.Table:
    """The rows the table holds after A + B: the load's rows, except the updated ids, which
    carry version 1, plus the new ids of B (version 1)."""
    upsert_ids = sizes.upsert_ids()
    updated = upsert_ids.slice(0, sizes.b_existing)
    load_ids = sizes.load_ids()
    untouched = pc.filter(load_ids, pc.invert(pc.is_in(load_ids, value_set=updated)))
    return pa.concat_tables([wb.iot_rows(untouched), wb.iot_rows(upsert_ids, version=1)])


def _tree_bytes(root: Path, suffix: str | None = None) -> tuple[int, int]:
    files = [
        p
        for p in root.rglob("*")
        if p.is_file() and ".hoodie" not in p.parts and (suffix is None or suffix in p.name)
    ]
    return len(files), sum(p.stat().st_size for p in files)


def build(work: Path, sizes: Sizes) -> dict[str, Any]:
    path = table_dir(work)
    t0 = time.perf_counter()
    wb.hudi_create(path).upsert(wb.iot_rows(sizes.load_ids()))
    hw.HudiTable.open(str(path)).upsert(wb.iot_rows(sizes.upsert_ids(), version=1))
    hudi_s = time.perf_counter() - t0
    expected = expected_snapshot(sizes)
    plain_bytes = wb.pyarrow_partitioned(expected, plain_dir(work), "gzip")
    base_files, base_bytes = _tree_bytes(path, ".parquet")
    log_files, log_bytes = _tree_bytes(path, ".log.")
    return {
        "build_s": hudi_s,
        "expected_rows": expected.num_rows,
        "filter_rows": pq.ParquetFile(plain_partition_file(work)).metadata.num_rows,
        "base_files": base_files,
        "base_bytes": base_bytes,
        "log_files": log_files,
        "log_bytes": log_bytes,
        "plain_bytes": plain_bytes,
        "arrow_bytes": expected.nbytes,
    }


# ---------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ReadCase:
    """One reader of a query. ``run`` reads and returns (rows, Arrow bytes of the result) and
    drops the result, so nothing of it stays alive into the next measurement."""

    name: str
    run: Callable[[], tuple[int, int]]
    baseline: bool = False
    hudi_rs: str | None = None  # the hudi-rs reader of the same query, for the second ratio


def _table_out(table: pa.Table) -> tuple[int, int]:
    return table.num_rows, table.nbytes


def _batches_out(batches: Any) -> tuple[int, int]:
    """Consume a stream of record batches one by one, keeping none."""
    rows = nbytes = 0
    for batch in batches:
        rows += batch.num_rows
        nbytes += batch.nbytes
    return rows, nbytes


def _hudi_rs_read(path: Path, **options: Any) -> pa.Table:
    import hudi

    table = hudi.HudiTable(str(path))
    batches = table.read(hudi.HudiReadOptions(**options))
    if not batches:
        return table.get_schema_with_meta_fields().empty_table()
    return pa.Table.from_batches(batches)


def _hudi_rs_stream(path: Path) -> Any:
    import hudi

    return hudi.HudiTable(str(path)).read_stream(hudi.HudiReadOptions())


def _hudi_rs_available() -> bool:
    try:
        import hudi  # noqa: F401
    except ImportError:
        return False
    return True


HUDI_RS_SNAPSHOT = "hudi-rs read (snapshot)"
HUDI_RS_COLUMNS = "hudi-rs read (user columns)"
HUDI_RS_RO = "hudi-rs read (read-optimized)"
HUDI_RS_STREAM = "hudi-rs read_stream (snapshot)"
HUDI_RS_FILTER = "hudi-rs read (date filter)"


def query_cases(work: Path) -> dict[str, list[ReadCase]]:
    """The readers of each query, baseline first, in the order they run."""
    path, plain = table_dir(work), plain_dir(work)
    has_rs = _hudi_rs_available()
    date_expr = pc.field(wb.PARTITION_BY) == FILTER_DATE

    def hw_table() -> hw.HudiTable:
        return hw.HudiTable.open(str(path))

    full = [
        ReadCase(
            "pyarrow pq.read_table",
            lambda: _table_out(pq.read_table(plain, partitioning=None)),
            baseline=True,
        ),
        ReadCase(
            "pyarrow dataset to_table",
            lambda: _table_out(ds.dataset(plain, format="parquet", partitioning="hive").to_table()),
        ),
    ]
    if has_rs:
        full += [
            ReadCase(HUDI_RS_SNAPSHOT, lambda: _table_out(_hudi_rs_read(path))),
            ReadCase(
                HUDI_RS_COLUMNS,
                lambda: _table_out(_hudi_rs_read(path, projection=USER_COLUMNS)),
            ),
            ReadCase(HUDI_RS_RO, lambda: _table_out(_hudi_rs_read(path, hudi_options=RO_OPTION))),
            ReadCase(HUDI_RS_STREAM, lambda: _batches_out(_hudi_rs_stream(path))),
        ]
    full += [
        ReadCase(
            "hudiwrite to_arrow (snapshot)",
            lambda: _table_out(hw_table().to_arrow()),
            hudi_rs=HUDI_RS_SNAPSHOT,
        ),
        ReadCase(
            "hudiwrite to_arrow (user columns)",
            lambda: _table_out(hw_table().to_arrow(columns=USER_COLUMNS)),
            hudi_rs=HUDI_RS_COLUMNS,
        ),
        ReadCase(
            "hudiwrite to_arrow (read_optimized)",
            lambda: _table_out(hw_table().to_arrow(read_optimized=True)),
            hudi_rs=HUDI_RS_RO,
        ),
        ReadCase(
            "hudiwrite scan (snapshot, batches)",
            lambda: _batches_out(hw_table().scan()),
            hudi_rs=HUDI_RS_STREAM,
        ),
    ]
    one = [
        ReadCase(
            "pyarrow pq.read_table (1 file)",
            lambda: _table_out(pq.read_table(plain_partition_file(work))),
            baseline=True,
        ),
        ReadCase(
            "pyarrow dataset (date filter)",
            lambda: _table_out(
                ds.dataset(plain, format="parquet", partitioning="hive").to_table(filter=date_expr)
            ),
        ),
    ]
    if has_rs:
        one.append(
            ReadCase(HUDI_RS_FILTER, lambda: _table_out(_hudi_rs_read(path, filters=FILTER)))
        )
    one.append(
        ReadCase(
            "hudiwrite to_arrow (date filter)",
            lambda: _table_out(hw_table().to_arrow(filters=FILTER)),
            hudi_rs=HUDI_RS_FILTER,
        )
    )
    return {"full": full, "one": one}


QUERIES = {
    "full": "whole table",
    "one": f"{wb.PARTITION_BY} = {FILTER_DATE}",
}


# ---------------------------------------------------------------------------------------------
# Measurement (in children)
# ---------------------------------------------------------------------------------------------


def _median_ratio(ms: list[dict[str, Any]], ref: list[dict[str, Any]] | None) -> float | None:
    if not ref:
        return None
    return float(statistics.median(m["wall"] / r["wall"] for m, r in zip(ms, ref, strict=True)))


def run_query(work: Path, query: str, repeat: int) -> dict[str, Any]:
    """All readers of one query ``repeat`` times, interleaved, in this process."""
    cases = query_cases(work)[query]
    start = wb.settle()
    load_before = os.getloadavg()[0]
    runs: dict[str, list[dict[str, Any]]] = {c.name: [] for c in cases}
    for _ in range(repeat):
        for case in cases:
            runs[case.name].append(wb.measure(case.run, start))
    base = next(runs[c.name] for c in cases if c.baseline)
    rows = []
    for case in cases:
        ms = runs[case.name]
        walls = [m["wall"] for m in ms]
        rows.append(
            {
                "reader": case.name,
                "baseline": case.baseline,
                "rows": [m["out"][0] for m in ms],
                "out_bytes": ms[-1]["out"][1],
                "wall": statistics.median(walls),
                "wall_min": min(walls),
                "wall_max": max(walls),
                "ratio_pa": _median_ratio(ms, base),
                "ratio_rs": _median_ratio(ms, runs.get(case.hudi_rs or "")),
                "cpu": statistics.median(m["cpu"] for m in ms),
                "peak": min(m["peak"] for m in ms),
                "vm_hwm": min((m["vm_hwm"] or 0) for m in ms) or None,
                "over_start": min(m["peak"] - m["start_rss"] for m in ms),
                "peak_reset": all(m["peak_reset"] for m in ms),
            }
        )
    return {"rss_start": start, "load": [load_before, os.getloadavg()[0]], "rows": rows}


def run_once(work: Path, name: str) -> dict[str, Any]:
    """One reader, once, in this (fresh) process."""
    case = next(c for cases in query_cases(work).values() for c in cases if c.name == name)
    start = wb.settle()
    m = wb.measure(case.run, start)
    return {
        "wall": m["wall"],
        "peak": m["peak"],
        "vm_hwm": m["vm_hwm"],
        "rss_start": m["start_rss"],
        "rows": m["out"][0],
    }


# ---------------------------------------------------------------------------------------------
# Correctness (in a child)
# ---------------------------------------------------------------------------------------------


def _sorted_pairs(table: pa.Table, key: str, values: list[str]) -> pa.Table:
    """(key, values...) as a sorted table of plain types: a multiset in canonical order."""
    cols = [table.column(key).cast(pa.string()), *(table.column(v) for v in values)]
    out = pa.Table.from_arrays(cols, names=["key", *values])
    return out.sort_by([("key", "ascending"), *((v, "ascending") for v in values)])


def _same_multiset(a: pa.Table, a_key: str, b: pa.Table, b_key: str, values: list[str]) -> bool:
    if a.num_rows != b.num_rows:
        return False
    x, y = _sorted_pairs(a, a_key, values), _sorted_pairs(b, b_key, values)
    return all(x.column(c).equals(y.column(c)) for c in x.column_names)


def _user_columns(table: pa.Table) -> pa.Table:
    return table.select(USER_COLUMNS).cast(wb.SCHEMA)


def _check(ok: bool, message: str) -> str:
    return ("OK    " if ok else "FAIL  ") + message


def run_check(work: Path, sizes: Sizes, info: dict[str, Any]) -> list[str]:
    path = table_dir(work)
    expected_rows, filter_rows = info["expected_rows"], info["filter_rows"]
    key, values = "_hoodie_record_key", ["ts", "temperature"]
    plain = pq.read_table(plain_dir(work), partitioning=None)
    out = []

    snap = hw.HudiTable.open(str(path)).to_arrow()
    distinct = pc.count_distinct(snap.column(key)).as_py()
    out.append(
        _check(
            snap.num_rows == expected_rows and distinct == expected_rows,
            f"hudiwrite snapshot: {snap.num_rows:,} rows, {distinct:,} distinct keys, "
            f"expected {expected_rows:,}",
        )
    )
    versioned = pc.sum(pc.equal(wb._mod(snap.column("ts"), 1_000), 1)).as_py() or 0
    out.append(
        _check(
            versioned == sizes.upsert_rows,
            f"hudiwrite snapshot: {versioned:,} rows carry the upserted version, expected "
            f"{sizes.upsert_rows:,}",
        )
    )
    out.append(
        _check(
            _same_multiset(_user_columns(snap), wb.RECORD_KEY, plain, wb.RECORD_KEY, USER_COLUMNS),
            "hudiwrite snapshot equals the expected rows (all user columns, as a multiset)",
        )
    )
    ro = hw.HudiTable.open(str(path)).to_arrow(read_optimized=True)
    versioned = pc.sum(pc.equal(wb._mod(ro.column("ts"), 1_000), 1)).as_py() or 0
    out.append(
        _check(
            ro.num_rows == expected_rows and versioned == sizes.b_new,
            f"hudiwrite read-optimized: {ro.num_rows:,} rows, expected {expected_rows:,}; "
            f"{versioned:,} carry the upserted version (the new keys' base files), expected "
            f"{sizes.b_new:,}",
        )
    )
    filtered = hw.HudiTable.open(str(path)).to_arrow(filters=FILTER)
    part = pq.read_table(plain_partition_file(work))
    out.append(
        _check(
            _same_multiset(_user_columns(filtered), wb.RECORD_KEY, part, wb.RECORD_KEY, values),
            f"hudiwrite date filter: {filtered.num_rows:,} rows, expected {filter_rows:,}; "
            "equal to the plain partition file as a multiset of (key, ts, temperature)",
        )
    )
    if not _hudi_rs_available():
        out.append("SKIP  hudi-rs not installed: the comparisons with it are skipped")
        return out
    rs = _hudi_rs_read(path)
    out.append(
        _check(
            rs.num_rows == expected_rows,
            f"hudi-rs snapshot: {rs.num_rows:,} rows, expected {expected_rows:,}",
        )
    )
    out.append(
        _check(
            _same_multiset(snap, key, rs, key, values),
            "hudiwrite snapshot equals hudi-rs's as a multiset of (record key, ts, temperature)",
        )
    )
    rs_ro = _hudi_rs_read(path, hudi_options=RO_OPTION)
    out.append(
        _check(
            _same_multiset(ro, key, rs_ro, key, values),
            f"hudiwrite read-optimized equals hudi-rs's ({rs_ro.num_rows:,} rows) as a multiset "
            "of (record key, ts, temperature)",
        )
    )
    rs_f = _hudi_rs_read(path, filters=FILTER)
    out.append(
        _check(
            _same_multiset(filtered, key, rs_f, key, values),
            f"hudiwrite date filter equals hudi-rs's ({rs_f.num_rows:,} rows) as a multiset of "
            "(record key, ts, temperature)",
        )
    )
    return out


def count_checks(results: dict[str, Any], fresh: dict[str, Any], info: dict[str, Any]) -> list[str]:
    """Every measured read returned the expected number of rows."""
    expected = {"full": info["expected_rows"], "one": info["filter_rows"]}
    bad = []
    n = 0
    for query, res in results.items():
        for r in res["rows"]:
            counts = [*r["rows"], fresh[r["reader"]]["rows"]]
            n += len(counts)
            if any(c != expected[query] for c in counts):
                bad.append(f"{r['reader']} read {counts}, expected {expected[query]:,}")
    if bad:
        return [_check(False, "row counts of the measured reads: " + "; ".join(bad))]
    return [
        _check(
            True,
            f"row counts of all {n} measured reads: {info['expected_rows']:,} (whole table), "
            f"{info['filter_rows']:,} ({QUERIES['one']})",
        )
    ]


# ---------------------------------------------------------------------------------------------
# Profile (in a child)
# ---------------------------------------------------------------------------------------------


def run_profile(work: Path, top: int, threads: bool) -> str:
    import profile_write

    if not threads:
        profile_write.serialise_pools()
    path = str(table_dir(work))
    hw.HudiTable.open(path).to_arrow()  # warm the page cache and lazy imports
    wb.settle()
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    table = hw.HudiTable.open(path).to_arrow()
    profiler.disable()
    total = time.perf_counter() - t0
    head = f"hudiwrite to_arrow() snapshot of {table.num_rows:,} rows"
    return head + "\n" + profile_write.summary(pstats.Stats(profiler), total, top)


# ---------------------------------------------------------------------------------------------
# Children
# ---------------------------------------------------------------------------------------------


def spawn(role: str, work: Path, args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--role",
        role,
        "--work",
        str(work),
        "--rows",
        str(args.rows),
        "--repeat",
        str(args.repeat),
        *extra,
    ]
    if args.quick:
        cmd.append("--quick")
    label = f"{role} {' '.join(extra)}".strip()
    print(f"  running {label} in a fresh process ...", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout)
        raise SystemExit(f"{label} failed (exit code {proc.returncode})")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    return result


def run_child(args: argparse.Namespace, sizes: Sizes) -> None:
    work = Path(args.work)
    result: dict[str, Any]
    if args.role == "build":
        result = build(work, sizes)
        (work / "build.json").write_text(json.dumps(result))
    elif args.role == "query":
        result = run_query(work, args.case, args.repeat)
    elif args.role == "once":
        result = run_once(work, args.case)
    elif args.role == "check":
        info = json.loads((work / "build.json").read_text())
        result = {"checks": run_check(work, sizes, info)}
    elif args.role == "profile":
        result = {"profile": run_profile(work, args.top, args.threads)}
    else:
        raise SystemExit(f"unknown role {args.role}")
    print("RESULT " + json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def report(
    results: dict[str, Any], fresh: dict[str, Any], info: dict[str, Any], repeat: int
) -> str:
    header = [
        "query",
        "reader",
        "rows",
        "wall s",
        "(min-max)",
        "rows/s",
        "x pyarrow",
        "x hudi-rs",
        "cpu s",
        "peak MiB",
        "over start",
        "MiB out",
        "fresh s",
        "fresh peak",
    ]
    table: list[list[str]] = []
    notes: list[str] = []
    for query, res in results.items():
        title = QUERIES[query]
        notes.append(
            f"{title}: RSS {res['rss_start'] / MiB:.0f} MiB in its process before the first read; "
            f"load average (1 min) {res['load'][0]:.2f} before its reads, {res['load'][1]:.2f} "
            "after"
        )
        for r in res["rows"]:
            f = fresh[r["reader"]]
            rows = r["rows"][-1]
            table.append(
                [
                    title,
                    r["reader"],
                    f"{rows:,}",
                    f"{r['wall']:.3f}",
                    f"({r['wall_min']:.3f}-{r['wall_max']:.3f})",
                    f"{rows / r['wall']:,.0f}",
                    _ratio(r["ratio_pa"]),
                    _ratio(r["ratio_rs"]),
                    f"{r['cpu']:.2f}",
                    f"{r['peak'] / MiB:.0f}",
                    f"{max(r['over_start'], 0) / MiB:.0f}",
                    f"{r['out_bytes'] / MiB:.0f}",
                    f"{f['wall']:.3f}",
                    f"{f['peak'] / MiB:.0f}",
                ]
            )
            title = ""
            if not r["peak_reset"]:
                notes.append(f"{r['reader']}: peak could not be reset; it is the process peak")
            for where, peak, hwm in (
                ("", r["peak"], r["vm_hwm"]),
                (" (fresh)", f["peak"], f["vm_hwm"]),
            ):
                if hwm is not None and peak > hwm + MiB:
                    notes.append(
                        f"{r['reader']}{where}: ru_maxrss {peak / MiB:.0f} MiB exceeds VmHWM "
                        f"{hwm / MiB:.0f} MiB (inherited at exec?)"
                    )
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]

    def fmt(row: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    fresh_rss = statistics.median(f["rss_start"] for f in fresh.values())
    lines = [fmt(header), fmt(["-" * w for w in widths]), *(fmt(row) for row in table)]
    lines += [
        "",
        f"table: {info['base_files']} base files ({info['base_bytes'] / MiB:.1f} MiB) and "
        f"{info['log_files']} log files ({info['log_bytes'] / MiB:.1f} MiB); plain copy: "
        f"{info['plain_bytes'] / MiB:.1f} MiB, {info['arrow_bytes'] / MiB:.0f} MiB of Arrow "
        f"(user columns); built in {info['build_s']:.1f} s",
        f"{repeat} repetition(s) of every reader, interleaved, in one process per query; wall s "
        "and cpu s are medians.",
        "x pyarrow / x hudi-rs = median over repetitions of wall / wall of the query's pyarrow "
        "baseline (first line) / of hudi-rs's reader of the same query, same process and "
        "repetition.",
        "peak MiB = ru_maxrss, reset just before the read (smallest of the repetitions); over "
        "start = peak minus the RSS the read started from (0 if the RSS only fell).",
        "MiB out = Arrow bytes of the result (hudi-rs and hudiwrite: with the 5 meta columns); "
        "for the streams, the sum over batches.",
        f"fresh s / fresh peak = the reader alone, once, in a new process (first read of the "
        f"process; RSS before it about {fresh_rss / MiB:.0f} MiB).",
        *notes,
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the load")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20k rows, 1 repetition")
    parser.add_argument(
        "--dir", default=None, help="parent of the scratch directory (default: system temp)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the tables written")
    parser.add_argument(
        "--repeat", type=int, default=None, help="repetitions, interleaved (default 3; 1 --quick)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile one hudiwrite snapshot read instead"
    )
    parser.add_argument("--top", type=int, default=30, help="--profile: lines per list")
    parser.add_argument(
        "--threads", action="store_true", help="--profile: keep the reader's thread pool"
    )
    parser.add_argument("--role", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args, sizes = wb.parse_sizes(parser, argv)

    if args.role:  # child process
        run_child(args, sizes)
        return 0

    work = Path(tempfile.mkdtemp(prefix="hudiwrite-readbench-", dir=args.dir))
    print(f"hudiwrite read benchmark: {wb.environment()}", file=sys.stderr)
    print(f"scratch directory {work}", file=sys.stderr)
    try:
        info = spawn("build", work, args)
        if args.profile:
            extra = ["--top", str(args.top), *(["--threads"] if args.threads else [])]
            print(spawn("profile", work, args, *extra)["profile"])
            return 0
        results = {q: spawn("query", work, args, "--case", q) for q in QUERIES}
        # Every reader alone in a fresh process. The parent stays small (no table in it): a
        # child's ru_maxrss starts at the parent's RSS at the time it was spawned.
        fresh = {
            r["reader"]: spawn("once", work, args, "--case", r["reader"])
            for res in results.values()
            for r in res["rows"]
        }
        checks = spawn("check", work, args)["checks"]
        checks += count_checks(results, fresh, info)
    finally:
        if args.keep:
            print(f"tables kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(wb.environment())
    print(f"{args.rows:,} rows loaded, then {sizes.upsert_rows:,} upserted (half exist)")
    print()
    print(report(results, fresh, info, args.repeat))
    print()
    print("\n".join(checks))
    return 1 if any(c.startswith("FAIL") for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
