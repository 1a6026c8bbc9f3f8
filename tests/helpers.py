"""What several test files share: the small four-column table most of them write
(``SCHEMA``, ``batch``, ``create``, and two views of its rows) and hudi-rs's read of a table
(``hudi_rs``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import hudi
import pyarrow as pa

import hudiwrite as hw

#: The table of the unit-style tests: keyed by ``id``, partitioned by ``city``, ordered by ``ts``.
SCHEMA = pa.schema(
    [("id", pa.string()), ("ts", pa.int64()), ("city", pa.string()), ("v", pa.int64())]
)
#: Every inline service off: a test runs the services it means to.
NO_SERVICES = hw.TableOptions(compaction_delta_commits=None, auto_clean=False, auto_archive=False)

_READ_OPTIMIZED = "hoodie.read.use.read_optimized.mode"


def batch(
    ids: Sequence[str], ts: int, city: str | Sequence[str] = "sf", *, v: int | None = None
) -> pa.Table:
    """Rows of ``SCHEMA``: the keys ``ids`` with ordering value ``ts``, in ``city`` (one for
    every row, or one per row), each with ``v`` (``ts`` unless given)."""
    n = len(ids)
    cities = [city] * n if isinstance(city, str) else list(city)
    value = ts if v is None else v
    return pa.table(
        {"id": list(ids), "ts": [ts] * n, "city": cities, "v": [value] * n}, schema=SCHEMA
    )


def create(
    path: Path | str, options: hw.TableOptions = NO_SERVICES, **changes: Any
) -> hw.HudiTable:
    """A new table of ``SCHEMA`` at ``path`` with ``options`` (by default every inline
    service off), ``changes`` applied to them."""
    return hw.HudiTable.create(
        str(path),
        SCHEMA,
        record_key="id",
        partition_by="city",
        ordering_field="ts",
        options=attrs.evolve(options, **changes),
    )


def versions_by_id(table: pa.Table) -> dict[str, tuple[int, str]]:
    """Each record's version, ``v`` and commit time, by ``id``: what a compaction leaves
    unchanged."""
    return {r["id"]: (r["v"], r["_hoodie_commit_time"]) for r in table.to_pylist()}


def values_by_city_id(table: pa.Table) -> dict[tuple[str, str], int]:
    """Each record's ``v`` by ``(city, id)``."""
    return {(r["city"], r["id"]): r["v"] for r in table.to_pylist()}


def hudi_rs(
    path: Path | str,
    *,
    read_optimized: bool = False,
    as_of: str | None = None,
    incremental: tuple[str, str] | None = None,
    storage_options: Mapping[str, str] | None = None,
) -> pa.Table:
    """hudi-rs's read of the table at ``path``, meta columns included: the snapshot, or the
    read-optimized view, the table as of an instant, or the records changed in the
    ``incremental`` window ``(begin, end]``. No rows: an empty table of hudi-rs's schema."""
    options = hudi.HudiReadOptions()
    if incremental is not None:
        options = (
            options.with_query_type(hudi.HudiQueryType.Incremental)
            .with_start_timestamp(incremental[0])
            .with_end_timestamp(incremental[1])
        )
    if read_optimized:
        options = options.with_hudi_option(_READ_OPTIMIZED, "true")
    if as_of is not None:
        options = options.with_as_of_timestamp(as_of)
    table = hudi.HudiTable(
        str(path), options=dict(storage_options) if storage_options is not None else None
    )
    batches = table.read(options)
    if not batches:
        return pa.schema(table.get_schema_with_meta_fields()).empty_table()
    return pa.Table.from_batches(batches)
