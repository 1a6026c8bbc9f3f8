"""A pure-Python model of what a Hudi MOR table holds after a sequence of writes.

It knows nothing of files: records live in ``snapshot`` (what a snapshot query returns) and
``base`` (what a read-optimized query returns: every record as first written to a base file,
since updates and deletes only reach log files until a compaction). Semantics follow Hudi
0.14/0.15 with OverwriteWithLatestAvroPayload and ordering values that grow from commit to
commit: within one batch the greatest ordering value wins (ties: the later row), across
commits the newer commit wins.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pyarrow as pa

DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"

Row = dict[str, Any]
Key = tuple[str, str]  # (partition path, record key)


def freeze(value: Any) -> Any:
    """A hashable, order-stable form of an Arrow ``to_pylist`` value."""
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
        # a map (Arrow gives its entries as (key, value) tuples): entries have no order,
        # and Java's readers hand them out in hash order
        return ("map", tuple(sorted(((freeze(k), freeze(v)) for k, v in value), key=repr)))
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return ("ts", value.astimezone(dt.timezone.utc).replace(tzinfo=None))
    if isinstance(value, decimal.Decimal):
        return ("dec", value.normalize())
    return value


class TableModel:
    def __init__(
        self,
        columns: Sequence[str],
        key_of: Callable[[Row], str],
        partition_of: Callable[[Row], str],
        ordering: str | None,
        merge: str = "latest",
    ) -> None:
        """``merge``: ``"latest"`` (OverwriteWithLatestAvroPayload: a newer commit wins) or
        ``"ordering"`` (DefaultHoodieRecordPayload: a record already in the table is kept
        against a newer commit's record with a smaller ordering value)."""
        assert merge in ("latest", "ordering")
        self.merge = merge
        self.columns = list(columns)
        self.key_of = key_of
        self.partition_of = partition_of
        self.ordering = ordering
        self.snapshot: dict[Key, tuple[Row, str]] = {}
        self.base: dict[Key, tuple[Row, str]] = {}
        self.history: list[tuple[str, dict[Key, tuple[Row, str]]]] = []
        #: What each commit wrote: key -> its winning row, or None for a delete.
        self.writes: dict[str, dict[Key, Row | None]] = {}
        self.compactions = 0

    def _winners(self, rows: Sequence[Row]) -> dict[Key, Row]:
        best: dict[Key, Row] = {}
        for row in rows:  # later rows win ties
            k = (self.partition_of(row), self.key_of(row))
            cur = best.get(k)
            if (
                cur is None
                or self.ordering is None
                or not (cur[self.ordering] > row[self.ordering])
            ):
                best[k] = row
        return best

    def upsert(self, rows: Sequence[Row], instant: str) -> tuple[int, int, int]:
        inserted = updated = 0
        winners = self._winners(rows)
        self.writes[instant] = dict(winners)
        for k, row in winners.items():
            if k in self.base:
                updated += 1
            else:
                self.base[k] = (row, instant)
                inserted += 1
            current = self.snapshot.get(k)
            if (
                self.merge == "ordering"
                and current is not None
                and self.ordering is not None
                and current[0][self.ordering] > row[self.ordering]
            ):
                continue  # the stored record's greater ordering value wins
            self.snapshot[k] = (row, instant)
        return inserted, updated, 0

    def would_insert_duplicate(self, rows: Sequence[Row]) -> bool:
        return any(k in self.snapshot for k in self._winners(rows))

    def insert(self, rows: Sequence[Row], instant: str, policy: str) -> tuple[int, int, int]:
        inserted = updated = 0
        written = self.writes.setdefault(instant, {})
        for k, row in self._winners(rows).items():
            if k in self.snapshot:
                assert policy == "drop"
                continue
            written[k] = row
            if k in self.base:  # deleted earlier: revived through the log
                updated += 1
            else:
                self.base[k] = (row, instant)
                inserted += 1
            self.snapshot[k] = (row, instant)
        return inserted, updated, 0

    def delete(self, keys: Iterable[Row], instant: str) -> tuple[int, int, int]:
        deleted = 0
        seen = set()
        for row in keys:
            k = (self.partition_of(row), self.key_of(row))
            if k in seen:
                continue
            seen.add(k)
            self.writes.setdefault(instant, {})[k] = None
            if k in self.base:
                deleted += 1
            self.snapshot.pop(k, None)
        return 0, 0, deleted

    @staticmethod
    def _expected(records: dict[Key, tuple[Row, str]], columns: list[str]) -> Counter[Any]:
        out: Counter[Any] = Counter()
        for (partition, key), (row, instant) in records.items():
            out[(key, partition, instant, *(freeze(row[c]) for c in columns))] += 1
        return out

    def expected_snapshot(self) -> Counter[Any]:
        return self._expected(self.snapshot, self.columns)

    def rebased(self, partition: str, keys: list[str], old_keys: list[str]) -> None:
        """A file group's base file (holding ``old_keys``) was rewritten with its current
        records (``keys``): deleted records are gone from it, the others are current."""
        before = self.history[-2][1] if len(self.history) > 1 else {}
        for key in old_keys:
            self.base.pop((partition, key), None)
        for key in keys:
            k = (partition, key)
            # the file holds each record as it was before this commit (this commit's updates
            # of the group went to a log), and this commit's inserts
            version = before.get(k) or self.snapshot.get(k)
            if version is not None:
                self.base[k] = version

    def rebase_from(self, keys: Iterable[Key]) -> None:
        """The records base files hold now (another writer laid the files out): the keys a
        read-optimized query returns. Only which keys are there matters to the counts a
        write reports; their versions are taken from the snapshot where known."""
        base = {}
        for k in keys:
            version = self.snapshot.get(k) or self.base.get(k)
            if version is not None:
                base[k] = version
        self.base = base

    def compacted(self, count: int, as_of: str | None = None) -> None:
        """A compaction of every file group with logs ran: base files now hold the snapshot
        (records keep their commit times; deleted keys are gone from base files). With
        ``as_of``, the compaction's instant: a plan scheduled earlier and executed now holds
        the state of the commits before it, not the writes that came after the plan (their
        logs belong to the slice the compaction starts)."""
        if as_of is None:
            self.base = dict(self.snapshot)
        else:
            before = [state for instant, state in self.history if instant < as_of]
            self.base = dict(before[-1]) if before else {}
        self.compactions = count

    def remember(self, instant: str) -> None:
        """Record the state after the commit at ``instant`` (for time travel checks)."""
        self.history.append((instant, dict(self.snapshot)))

    def expected_as_of(self, index: int) -> Counter[Any]:
        return self._expected(self.history[index][1], self.columns)

    def expected_incremental(self, start: int, end: int) -> Counter[Any]:
        """Records written by commits ``start+1 .. end`` (history indices; ``start`` -1 means
        from the first commit), as Java's incremental query returns them: each key's writes
        in the window merged with one another only (the query reads just the files those
        commits wrote), so under ``"ordering"`` a write that lost to an older record outside
        the window still shows. That holds while no base file was rewritten (compaction,
        small-file merge) inside the window; for ``"latest"`` it is always the state as of
        ``end`` restricted to the window's commits."""
        folded: dict[Key, tuple[Row, str] | None] = {}
        for instant, _ in self.history[start + 1 : end + 1]:
            for k, row in self.writes.get(instant, {}).items():
                current = folded.get(k)
                if row is None:
                    folded[k] = None
                elif (
                    current is None
                    or self.merge == "latest"
                    or self.ordering is None
                    or not current[0][self.ordering] > row[self.ordering]
                ):
                    folded[k] = (row, instant)
        return self._expected({k: v for k, v in folded.items() if v is not None}, self.columns)

    def expected_read_optimized(self) -> Counter[Any]:
        return self._expected(self.base, self.columns)

    def actual(self, table: pa.Table) -> Counter[Any]:
        """The same multiset form for rows read from a table (meta columns included)."""
        cols = ["_hoodie_record_key", "_hoodie_partition_path", "_hoodie_commit_time"]
        cols += self.columns
        out: Counter[Any] = Counter()
        for row in table.select(cols).to_pylist():
            out[
                (
                    row["_hoodie_record_key"],
                    row["_hoodie_partition_path"],
                    row["_hoodie_commit_time"],
                    *(freeze(row[c]) for c in self.columns),
                )
            ] += 1
        return out


def diff(expected: Counter[Any], actual: Counter[Any], columns: Sequence[str] = ()) -> str:
    """What differs between two multisets of model rows. With ``columns`` (the model's data
    columns), a missing and an unexpected row of the same record key are shown as the
    columns whose values differ."""
    missing = expected - actual
    extra = actual - expected
    lines = [f"missing {len(missing)}, unexpected {len(extra)}"]
    names = ["_hoodie_record_key", "_hoodie_partition_path", "_hoodie_commit_time", *columns]
    if columns:
        by_key = {row[0]: row for row in extra}
        for row in list(missing)[:8]:
            other = by_key.pop(row[0], None)
            if other is None:
                lines.append(f"  - {row}")
                continue
            changed = [
                f"{names[i]}: model {a!r}, read {b!r}"
                for i, (a, b) in enumerate(zip(row, other, strict=True))
                if a != b
            ]
            lines.append(f"  ~ key {row[0]!r}: " + "; ".join(changed))
        lines += [f"  + {r}" for r in list(by_key.values())[:5]]
        return "\n".join(lines)
    lines += [f"  - {r}" for r in list(missing)[:5]]
    lines += [f"  + {r}" for r in list(extra)[:5]]
    return "\n".join(lines)
