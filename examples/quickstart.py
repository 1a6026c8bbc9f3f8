"""The main job: write a partitioned Hudi MOR table to a local folder, upsert, delete, read back.

    python examples/quickstart.py [folder]

The folder (default ``./quickstart_table``) is replaced on every run.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pyarrow as pa

import hudiwrite as hw


def main(folder: str) -> None:
    path = Path(folder).resolve()
    shutil.rmtree(path, ignore_errors=True)

    schema = pa.schema(
        [
            ("device", pa.string()),
            ("ts", pa.int64()),
            ("day", pa.string()),
            ("temperature", pa.float64()),
            ("status", pa.string()),
        ]
    )
    table = hw.HudiTable.create(
        str(path), schema, record_key="device", partition_by="day", ordering_field="ts"
    )
    print(f"created {table}")

    first = pa.table(
        {
            "device": ["d-001", "d-002", "d-003", "d-004"],
            "ts": [100, 100, 100, 100],
            "day": ["2026-11-20", "2026-11-20", "2026-11-21", "2026-11-21"],
            "temperature": [20.5, 21.0, 19.8, 22.4],
            "status": ["ok", "ok", "ok", "ok"],
        },
        schema=schema,
    )
    show("insert 4 readings", table.upsert(first))

    second = pa.table(
        {
            "device": ["d-002", "d-005", "d-005"],
            "ts": [200, 150, 160],  # d-005 twice: the greater ts wins
            "day": ["2026-11-20", "2026-11-21", "2026-11-21"],
            "temperature": [23.9, 18.1, 18.3],
            "status": ["hot", "ok", "ok"],
        },
        schema=schema,
    )
    show("upsert: update d-002, add d-005", table.upsert(second))

    gone = pa.table({"device": ["d-003"], "day": ["2026-11-21"]})
    show("delete d-003", table.delete(gone))

    rows = hw.HudiTable.open(str(path)).to_arrow()
    print(f"\nsnapshot of {path} ({rows.num_rows} rows):")
    cols = ["device", "day", "ts", "temperature", "status", "_hoodie_commit_time"]
    for row in rows.select(cols).sort_by("device").to_pylist():
        print("  " + "  ".join(f"{c}={row[c]}" for c in cols))


def show(what: str, result: hw.WriteResult) -> None:
    print(
        f"{what}: instant {result.instant_time}, inserted {result.num_inserted}, "
        f"updated {result.num_updated}, deleted {result.num_deleted}, "
        f"{len(result.files_written)} file(s), {result.bytes_written} bytes"
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "quickstart_table")
