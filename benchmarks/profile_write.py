"""Where a hudiwrite write spends its time: cProfile of one scenario of write_benchmark.py.

    python benchmarks/profile_write.py --scenario A          # create + upsert of 1M rows
    python benchmarks/profile_write.py --scenario B          # upsert 100k (half exist) on 1M
    python benchmarks/profile_write.py --scenario C          # 20 upserts of 1k rows on 1.05M

cProfile sees only the thread it runs in, so by default the package's thread pools are
replaced (in this process only, by patching the module attribute) with an executor that runs
tasks inline: the profile then covers all the work, serialised. Times are therefore CPU-bound
single-thread times, with cProfile's overhead on Python-level calls; read them as shares.
``--threads`` keeps the real pools (then work in pool threads is invisible to the profile).

``--memory`` runs the write without cProfile and instead samples, every few milliseconds,
Arrow's allocated bytes and the process RSS; it prints the call stack (hudiwrite frames) at
the moments Arrow's allocation and the RSS peaked, and the peaks of each function seen on
the stack.

The setup of B and C (building the table they write to) is not profiled.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import write_benchmark as wb

import hudiwrite as hw

PACKAGE_DIR = os.path.dirname(os.path.abspath(hw.__file__))


class InlineExecutor:
    """Drop-in for ThreadPoolExecutor that runs every task in the calling thread."""

    def __init__(self, max_workers: int | None = None, **_: Any) -> None:
        self.max_workers = max_workers

    def __enter__(self) -> InlineExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            fut.set_exception(exc)
        return fut

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
        return iter([fn(*args) for args in zip(*iterables, strict=False)])

    def shutdown(self, wait: bool = True) -> None:
        return None


def serialise_pools() -> None:
    import hudiwrite.index.simple
    import hudiwrite.read.snapshot
    import hudiwrite.write.executor

    for module in (hudiwrite.index.simple, hudiwrite.read.snapshot, hudiwrite.write.executor):
        module.ThreadPoolExecutor = InlineExecutor  # type: ignore[attr-defined]


def where(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    if filename.startswith(PACKAGE_DIR):
        rel = "hudiwrite/" + os.path.relpath(filename, PACKAGE_DIR)
        return f"{rel}:{line} {name}"
    return f"{os.path.basename(filename)}:{line} {name}"


def summary(stats: pstats.Stats, total: float, top: int) -> str:
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    lines = [f"profiled wall time {total:.2f} s (cProfile on, pools serialised)", ""]
    ours = [(k, v) for k, v in raw.items() if k[0].startswith(PACKAGE_DIR)]
    ours.sort(key=lambda kv: kv[1][3], reverse=True)
    lines.append("hudiwrite functions by cumulative time (incl. callees):")
    lines.append(f"  {'cum s':>7}  {'share':>6}  {'own s':>7}  {'calls':>7}  function")
    for key, (_, nc, tt, ct, _) in ours[:top]:
        lines.append(f"  {ct:7.2f}  {ct / total:6.1%}  {tt:7.2f}  {nc:7d}  {where(key)}")
    lines.append("")
    lines.append("all functions by own time (C calls of pyarrow included):")
    lines.append(f"  {'own s':>7}  {'share':>6}  {'calls':>7}  function")
    own = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)
    for key, (_, nc, tt, _, _) in own[:top]:
        lines.append(f"  {tt:7.2f}  {tt / total:6.1%}  {nc:7d}  {where(key)}")
    return "\n".join(lines)


class MemorySampler:
    """Polls Arrow's allocated bytes and the RSS from a side thread; remembers the main
    thread's stack at the largest Arrow allocation and at the largest RSS, and per function
    the largest allocation seen while it was on the stack."""

    def __init__(self, interval: float = 0.002) -> None:
        import pyarrow as pa

        self._pa = pa
        self.interval = interval
        self.target = threading.main_thread().ident
        self.peak_arrow = 0
        self.peak_rss = 0
        self.peak_stack: list[str] = []
        self.rss_stack: list[str] = []
        self.by_function: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _stack(self) -> list[str]:
        if self.target is None:
            return []
        frame = sys._current_frames().get(self.target)
        if frame is None:
            return []
        out = []
        for fs in traceback.extract_stack(frame):
            if fs.filename.startswith(PACKAGE_DIR):
                rel = "hudiwrite/" + os.path.relpath(fs.filename, PACKAGE_DIR)
                out.append(f"{rel}:{fs.lineno} {fs.name}")
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            allocated = self._pa.total_allocated_bytes()
            rss = wb.rss_now()
            stack = self._stack()
            if rss > self.peak_rss:
                self.peak_rss = rss
                self.rss_stack = stack
            for entry in {e.rsplit(":", 1)[0] + " " + e.rsplit(" ", 1)[1] for e in stack}:
                self.by_function[entry] = max(self.by_function.get(entry, 0), allocated)
            if allocated > self.peak_arrow:
                self.peak_arrow = allocated
                self.peak_stack = stack
            time.sleep(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def report(self, arrow_before: int, rss_before: int) -> str:
        mib = wb.MiB
        lines = [
            f"Arrow allocated: {arrow_before / mib:.0f} MiB before the write (input), peak "
            f"{self.peak_arrow / mib:.0f} MiB; RSS {rss_before / mib:.0f} MiB before, peak "
            f"{self.peak_rss / mib:.0f} MiB",
            "",
            "stack at the Arrow allocation peak (outermost first):",
            *(f"  {e}" for e in self.peak_stack),
            "",
            "stack at the RSS peak (outermost first):",
            *(f"  {e}" for e in self.rss_stack),
            "",
            "largest Arrow allocation seen while each function was running (top 25):",
        ]
        top = sorted(self.by_function.items(), key=lambda kv: kv[1], reverse=True)[:25]
        lines += [f"  {v / mib:7.0f} MiB  {k}" for k, v in top]
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=["A", "B", "C"], default="A")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--threads", action="store_true", help="keep the real thread pools")
    parser.add_argument("--dir", default=None)
    parser.add_argument("--out", default=None, help="also save the raw profile (pstats file)")
    parser.add_argument(
        "--memory", action="store_true", help="sample memory instead of profiling time"
    )
    args = parser.parse_args(argv)
    if args.quick and args.rows == 1_000_000:
        args.rows = 20_000
    sizes = wb.Sizes(args.rows, args.quick)
    if not args.threads:
        serialise_pools()
    work = Path(tempfile.mkdtemp(prefix="hudiwrite-profile-", dir=args.dir))
    try:
        path = work / "table"
        load = wb.iot_rows(sizes.load_ids())
        if args.scenario == "A":

            def run() -> None:
                wb.hudi_create(path).upsert(load)
        else:
            wb.hudi_create(path).upsert(load)
            del load
            upsert = wb.iot_rows(sizes.upsert_ids(), version=1)
            if args.scenario == "B":

                def run() -> None:
                    hw.HudiTable.open(str(path)).upsert(upsert)
            else:
                hw.HudiTable.open(str(path)).upsert(upsert)
                batches = [
                    wb.iot_rows(sizes.small_ids(i), version=2 + i)
                    for i in range(sizes.small_commits)
                ]

                def run() -> None:
                    table = hw.HudiTable.open(str(path))
                    for batch in batches:
                        table.upsert(batch)

        if args.memory:
            import pyarrow as pa

            wb.settle()
            arrow_before, rss_before = pa.total_allocated_bytes(), wb.rss_now()
            with MemorySampler() as sampler:
                t0 = time.perf_counter()
                run()
                total = time.perf_counter() - t0
            print(
                f"scenario {args.scenario}, {args.rows:,} rows loaded; write took "
                f"{total:.2f} s (pools {'threaded' if args.threads else 'serialised'})"
            )
            print(sampler.report(arrow_before, rss_before))
            return 0
        profiler = cProfile.Profile()
        t0 = time.perf_counter()
        profiler.enable()
        run()
        profiler.disable()
        total = time.perf_counter() - t0
        stats = pstats.Stats(profiler)
        if args.out:
            stats.dump_stats(args.out)
        print(f"scenario {args.scenario}, {args.rows:,} rows loaded")
        print(summary(stats, total, args.top))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
