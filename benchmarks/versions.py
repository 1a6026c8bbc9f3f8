"""Table version 9 next to version 6: the write benchmark's workloads on both, in one run.

Runs ``write_benchmark.py`` (load, upsert into the loaded table, 20 small upserts) once with
``--table-version 6`` and once with ``--table-version 9``, in alternation when ``--rounds``
is above 1, and prints every hudiwrite row of both with the ratio of version 9's time to
version 6's (each run's pyarrow baseline is printed too, so that a slower machine moment is
visible as such). The target: version 9 costs no more than 10 % over version 6.

Usage::

    python benchmarks/versions.py             # 1M rows, 3 repetitions per run
    python benchmarks/versions.py --quick     # tiny smoke run

Where the difference comes from: docs/performance.md ("Table versions").
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def run(version: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(HERE / "write_benchmark.py"),
        "--table-version",
        str(version),
        "--json",
        str(out),
        "--rows",
        str(args.rows),
    ]
    if args.quick:
        cmd.append("--quick")
    if args.repeat is not None:
        cmd += ["--repeat", str(args.repeat)]
    print(f"version {version}: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout)
        raise SystemExit(f"the version-{version} run failed (exit code {proc.returncode})")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _rows(results: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(scenario, r["writer"]): r for scenario, res in results.items() for r in res["rows"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions inside each run")
    parser.add_argument("--rounds", type=int, default=1, help="v6/v9 runs, alternated")
    args = parser.parse_args(argv)
    if args.quick and args.rows == 1_000_000:
        args.rows = 20_000
    runs: dict[int, list[dict[tuple[str, str], dict[str, Any]]]] = {6: [], 9: []}
    with tempfile.TemporaryDirectory(prefix="hudiwrite-versions-") as tmp:
        for n in range(args.rounds):
            for version in (6, 9):
                out = Path(tmp) / f"v{version}-{n}.json"
                runs[version].append(_rows(run(version, args, out)))
    keys = list(runs[6][0])
    header = [
        "scenario",
        "writer",
        "v6 wall s",
        "v9 wall s",
        "v9/v6",
        "v9/v6 per baseline",
        "v6 MiB out",
        "v9 MiB out",
    ]
    table = [header]
    worst = 0.0
    # Each run's first baseline of a scenario (pyarrow with gzip) prices that run's machine
    # moment: "per baseline" divides each writer's time by it before comparing versions.
    base_of = {
        (v, scenario): statistics.median(
            r[next(k for k in keys if k[0] == scenario and r[k]["baseline"])]["wall"]
            for r in runs[v]
        )
        for v in (6, 9)
        for scenario in {k[0] for k in keys}
    }
    for key in keys:
        v6 = statistics.median(r[key]["wall"] for r in runs[6])
        v9 = statistics.median(r[key]["wall"] for r in runs[9])
        ratio = v9 / v6 if v6 else float("nan")
        normalised = (v9 / base_of[(9, key[0])]) / (v6 / base_of[(6, key[0])])
        baseline = runs[6][0][key]["baseline"]
        if not baseline:
            worst = max(worst, normalised)
        size = [runs[v][0][key].get("bytes") for v in (6, 9)]
        table.append(
            [
                key[0],
                key[1] + (" (baseline)" if baseline else ""),
                f"{v6:.3f}",
                f"{v9:.3f}",
                f"{ratio:.2f}",
                "-" if baseline else f"{normalised:.2f}",
                *("-" if b is None else f"{b / 2**20:.1f}" for b in size),
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for n, row in enumerate(table):
        print(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print()
    print(f"largest hudiwrite v9/v6 ratio, per baseline: {worst:.2f} (target <= 1.10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
