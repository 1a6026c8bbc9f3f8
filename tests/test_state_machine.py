"""A hypothesis state machine over what a table lives through, checked against the model
(``tests/model.py``) after every step by hudiwrite and hudi-rs.

Rules: ``upsert``, ``insert``, ``delete`` of random rows (duplicate keys within a batch,
nulls in the non-key columns, null and empty partition values), ``update_existing``,
``delete_existing`` and ``revive`` (keys the table holds, or deleted ones its base files
still hold), ``bad_write`` (null or empty keys, null ordering values, a missing column:
refused, not one file changed), ``crashed_write`` (a process death at each step of the
commit protocol, ``tests/crash.py``; the next operation that rolls back must undo it),
``crashed_service`` (a death before the n-th change compaction, cleaning, archival or a
rollback makes to the store), ``compact`` (or plan only), ``clean``, ``archive``,
``rollback_failed``, ``reopen`` (``HudiTable.open`` of the path with other write options),
``time_travel``, ``incremental`` and ``other_reads`` (streamed scan, filters, hudi-rs's
read-optimized query). Tables are small (12 keys, three partition paths) with small
service settings, so updates, merges, compaction, cleaning and archival happen within a
sequence.

After every step: the snapshot (hudiwrite and, unless a compaction is pending, which hudi-rs
0.5.0 misreads, hudi-rs) and the read-optimized view (hudiwrite) equal the model; write
results count what the model counts; a successful operation leaves nothing pending it
should have finished (failed writes after one that rolls back, plans after one that
compacts); instant times are unique and ordered; no inline service failed; no heartbeat or
lock is left behind.

The model's read-optimized side (which records base files hold) follows the file layout the
writes and compactions produce: which keys each new base file holds is read from the file
(the machine watches each write's base files before its inline services run, and each
compaction's output as it completes); which version of each record a base file holds comes
from the model alone, and the layout itself is checked: a small-file merge keeps exactly the
group's live records (revived ones too) plus the write's inserts, a compaction exactly the
live records of its file groups at its plan time.

CI runs 100 sequences of up to 20 steps (profile ``stateful-ci``); set
``HUDIWRITE_STATEFUL_EXAMPLES=1000`` (and optionally ``HUDIWRITE_STATEFUL_STEPS``) for the
long run (profile ``stateful-slow``).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence, Set
from pathlib import Path
from typing import Any, Literal

import attrs
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import hudiwrite as hw
from hudiwrite.services import compaction as compaction_module
from hudiwrite.services.inline import run_inline_services as real_inline
from hudiwrite.storage import Storage
from hudiwrite.timeline.archived import read_archived
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.metadata import CommitMetadata
from hudiwrite.write import transaction
from tests.crash import CRASH_POINTS, Crash, crash_at
from tests.helpers import hudi_rs
from tests.model import Key, Row, diff
from tests.workload import Layout, Workload, conform

# -- settings profiles ------------------------------------------------------------------------

_HEALTH = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.function_scoped_fixture,
]
settings.register_profile(
    "stateful-ci",
    max_examples=100,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=_HEALTH,
    print_blob=True,
)
settings.register_profile(
    "stateful-slow",
    max_examples=int(os.environ.get("HUDIWRITE_STATEFUL_EXAMPLES", "1000")),
    stateful_step_count=int(os.environ.get("HUDIWRITE_STATEFUL_STEPS", "20")),
    deadline=None,
    suppress_health_check=_HEALTH,
    print_blob=True,
)
PROFILE = "stateful-slow" if os.environ.get("HUDIWRITE_STATEFUL_EXAMPLES") else "stateful-ci"

# -- the table --------------------------------------------------------------------------------

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("ts", pa.int64()),
        ("part", pa.string()),
        ("v", pa.string()),
        ("n", pa.int32()),
        ("f", pa.float64()),
    ]
)
LAYOUT_COLUMNS = ("id", "part")
IDS = [f"k{i:02d}" for i in range(12)]
#: None and "" both go to the default partition (Hudi's __HIVE_DEFAULT_PARTITION__), as
#: two different stored values of one partition path.
PARTS: list[str | None] = ["a", "b", None, ""]

#: What the sequences went through (the test checks the services were reached at all).
REACHED: Counter[str] = Counter()

#: The actions of the instants an operation that rolls back failed writes finishes.
ROLLS_BACK = frozenset({"deltacommit", "rollback"})
#: Storage calls that change the store (a simulated death strikes before one of them).
MUTATING = (
    "write_bytes",
    "replace_file",
    "create_exclusive",
    "open_output",
    "delete",
    "delete_if_present",
    "delete_tree",
    "remove_empty_dir",
)

GroupId = tuple[str, str]  # (partition path, file id)
Fact = tuple[str, str, list[tuple[GroupId, list[str]]]]  # kind, instant, base files' keys

row_fields = st.fixed_dictionaries(
    {
        "id": st.sampled_from(IDS),
        "part": st.sampled_from(PARTS),
        "dts": st.integers(0, 3),  # added to the write's base ordering value
        "v": st.none() | st.text(alphabet="xyé ", max_size=3),
        "n": st.none() | st.integers(-3, 3),
        "f": st.none() | st.floats(allow_nan=False, width=64),
    }
)
batches = st.lists(row_fields, min_size=1, max_size=6)
key_batches = st.lists(
    st.fixed_dictionaries({"id": st.sampled_from(IDS), "part": st.sampled_from(PARTS)}),
    min_size=1,
    max_size=5,
)


@st.composite
def table_options(draw: st.DrawFn) -> hw.TableOptions:
    """Small services settings, so compaction, cleaning and archival run within a sequence."""
    policy: Literal["keep_latest_commits", "keep_latest_file_versions"] = draw(
        st.sampled_from(["keep_latest_commits", "keep_latest_file_versions"])
    )
    retained = draw(st.integers(1, 2))
    archive_min = draw(st.integers(retained + 1, retained + 2))
    archive_max = draw(st.integers(archive_min + 1, archive_min + 2))
    return hw.TableOptions(
        # version 9 (timeline layout 2, LSM archival) in a third of the sequences
        table_version=draw(st.sampled_from([6, 6, 9])),
        log_block_format=draw(st.sampled_from(["parquet", "avro"])),
        parquet_compression=draw(st.sampled_from(["gzip", "snappy", "zstd", "uncompressed"])),
        # mostly large enough for small-file merges (base files are a few KB)
        target_file_size=draw(st.sampled_from([120 * 1024 * 1024] * 3 + [1, 3000])),
        small_file_limit=draw(st.sampled_from([100 * 1024 * 1024] * 3 + [0])),
        small_file_floor=draw(st.sampled_from([1024 * 1024, 0])),
        small_file_rewrite=draw(st.sampled_from([10.0, 1.0])),
        row_group_rows=draw(st.sampled_from([1_048_576, 2])),
        insert_duplicates=draw(st.sampled_from(["fail", "drop"])),
        max_workers=draw(st.integers(1, 2)),
        compaction_delta_commits=draw(st.sampled_from([None, None, 1, 2, 3])),
        compaction_log_bytes=draw(st.sampled_from([None, None, 1, 4000])),
        clean_policy=policy,
        clean_retained=retained,
        auto_clean=draw(st.booleans()),
        archive_min_instants=archive_min,
        archive_max_instants=archive_max,
        auto_archive=draw(st.booleans()),
        rollback_failed_writes=draw(st.sampled_from(["eager", "eager", "eager", "never"])),
    )


class _Workload(Workload):
    """Workload's count checks and history; the file layout is followed by the machine."""

    def follow_small_file_merges(self, result: hw.WriteResult) -> None:
        pass

    def _follow_compactions(self, before: str | None = None) -> None:
        pass


class _ServiceFailures(logging.Handler):
    """Inline services swallow their errors (the write has landed): collect them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # (one process: no service can find its lock taken by "another process")
        if record.exc_info is not None or "another process" in record.getMessage():
            self.messages.append(record.getMessage() + "\n" + self.format(record))


class HudiMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="hudiwrite-sm-"))
        self.path = self.root / "t"
        self.tick = 0
        self.facts: list[Fact] = []
        #: (partition path, record key) -> the file group holding the key (in its base file,
        #: or, for a key written again while a compaction deleting it was pending, in a log)
        self.group_of: dict[Key, GroupId] = {}
        #: history index of the oldest commit time travel and incremental reads may reach
        self.floor = 0
        self.cleans_seen: set[str] = set()
        self.rollbacks_seen: set[str] = set()
        self.mp = pytest.MonkeyPatch()
        real_execute = compaction_module.execute

        def execute(meta: Any, instant_time: str, cs: Any) -> Any:
            try:
                out = real_execute(meta, instant_time, cs)
            except BaseException:
                # died after its commit file (cleaning up markers): it completed all the same
                fresh = MetaClient.load(Storage(str(self.path)))
                done = fresh.completed_instant(instant_time, "compaction")
                if done is not None:
                    self._observe_commit(fresh.commit_metadata(done), "compaction", instant_time)
                raise
            groups = [
                ((s.partition_path or "", s.file_id), self._base_keys(s.path or ""))
                for s in out[0].stats
            ]
            self.facts.append(("compaction", instant_time, groups))
            return out

        self.mp.setattr(compaction_module, "execute", execute)

        def run_inline_services(meta: Any, inline: Any) -> None:
            # the base files of a commit are noted before its inline services run (cleaning
            # may remove a merged group's old slice, a compaction rewrite the new one)
            self._observe_write(meta)
            real_inline(meta, inline)

        # (the name hudiwrite.table calls after each commit)
        self.mp.setattr("hudiwrite.table.run_inline_services", run_inline_services)
        self.failures = _ServiceFailures()
        logger = logging.getLogger("hudiwrite")
        self.log_level = logger.level
        logger.setLevel(logging.INFO)
        logger.addHandler(self.failures)

    def teardown(self) -> None:
        try:
            if hasattr(self, "wl"):  # what the sequence went through
                REACHED.update(f"{i.action} on the timeline" for i in self._timeline())
                if self._archived():
                    REACHED["archived sequences"] += 1
                REACHED["sequences"] += 1
                REACHED["commits"] += len(self.wl.instants)
        finally:
            logger = logging.getLogger("hudiwrite")
            logger.removeHandler(self.failures)
            logger.setLevel(self.log_level)
            self.mp.undo()
            shutil.rmtree(self.root, ignore_errors=True)

    # -- set-up ------------------------------------------------------------------------------

    @initialize(
        options=table_options(),
        merge=st.sampled_from(["latest", "ordering"]),
        hive_style=st.booleans(),
    )
    def create(self, options: hw.TableOptions, merge: str, hive_style: bool) -> None:
        payload = hw.PayloadClass.OVERWRITE_WITH_LATEST
        if options.table_version >= 8:
            merge = "ordering"  # an ordering field makes a 1.x table event-time ordered
        if merge == "ordering":
            payload = hw.PayloadClass.DEFAULT
        options = _evolve(options, payload_class=payload)
        layout = Layout(("id",), ("part",), hive_style=hive_style)
        self.wl = _Workload(self.path, SCHEMA, layout, options=options, merge=merge)

    def _base_keys(self, rel: str) -> list[str]:
        keys = pq.read_table(self.path / rel, columns=["_hoodie_record_key"]).column(0)
        return [str(k) for k in keys.to_pylist()]

    def _observe_write(self, meta: MetaClient) -> None:
        timeline = meta.timeline()
        done = [i for i in timeline.instants if i.action == "deltacommit" and i.is_completed]
        self._observe_commit(meta.commit_metadata(done[-1]), "write", done[-1].time)

    def _observe_commit(self, commit: CommitMetadata, kind: str, instant: str) -> None:
        groups = []
        for partition, stats in commit.partition_to_write_stats.items():
            for stat in stats:
                if (stat.path or "").endswith(".parquet"):
                    assert stat.path is not None
                    groups.append(((partition, stat.file_id), self._base_keys(stat.path)))
        self.facts.append((kind, instant, groups))

    # -- following the file layout -----------------------------------------------------------

    def _members(self, group: GroupId) -> set[Key]:
        return {k for k, g in self.group_of.items() if g == group}

    def _apply_facts(self, base_before: set[Key]) -> None:
        facts, self.facts = self.facts, []
        for kind, instant, groups in facts:
            if kind == "write":
                self._follow_write(instant, groups, base_before)
            else:
                self._follow_compaction(instant, groups)

    def _follow_write(
        self, instant: str, groups: list[tuple[GroupId, list[str]]], base_before: set[Key]
    ) -> None:
        model = self.wl.model
        times = self.wl.instants
        index = times.index(instant)
        before = model.history[index - 1][1] if index else {}
        inserted = set(model.base) - base_before
        placed: list[Key] = []
        for group, names in groups:
            keys = {(group[0], k) for k in names}
            assert len(keys) == len(names), f"{instant}: {group} holds a key twice: {names}"
            old = self._members(group)
            live = {k for k in old if k in before}
            assert live <= keys, f"{instant} rewrote {group} without live records {live - keys}"
            # a key of the group this write revived (deleted, still in the old base file)
            # must stay in a base file too: the index looks for keys in base files only, and
            # the key's next delete would be lost, its next upsert insert it a second time
            revived = {k for k in old - live if k in model.snapshot}
            assert revived <= keys, (
                f"{instant} merged inserts into {group}: the records it revived there, "
                f"{sorted(revived - keys)}, are in no base file"
            )
            placed += keys - live
            if old:
                REACHED["small-file merges"] += 1
            for k in old - keys:  # deleted records a small-file merge dropped
                model.base.pop(k, None)
                del self.group_of[k]
            for k in live:
                model.base[k] = before[k]
            for k in keys:
                self.group_of[k] = group
        assert sorted(placed) == sorted(inserted), (
            f"{instant}: base files took the inserts {sorted(placed)}, model {sorted(inserted)}"
        )

    def _follow_compaction(self, instant: str, groups: list[tuple[GroupId, list[str]]]) -> None:
        REACHED["compactions"] += 1
        model = self.wl.model
        at_plan = {}
        for time, state in model.history:
            if time < instant:
                at_plan = state
        for group, names in groups:
            keys = {(group[0], k) for k in names}
            old = self._members(group)
            live = {k for k in old if k in at_plan}
            assert keys == live and len(names) == len(keys), (
                f"compaction {instant} of {group} wrote {sorted(names)}, the group held "
                f"{sorted(k for _, k in live)} at its plan time"
            )
            for k in old - keys:
                model.base.pop(k, None)
                if k not in model.snapshot:
                    del self.group_of[k]
                # else: deleted before the plan and written again while it was pending (an
                # update of the group, to a log of the plan's new slice): the group's record
                # of the key is in that log only, until the group is compacted again
            for k in keys:
                model.base[k] = at_plan[k]

    # -- writes ------------------------------------------------------------------------------

    def _rows(self, drawn: Sequence[dict[str, Any]]) -> list[Row]:
        self.tick += 1
        rows = []
        for d in drawn:
            row = {k: v for k, v in d.items() if k != "dts"}
            row["ts"] = self.tick * 10 + d["dts"]  # ordering values grow commit to commit
            rows.append(row)
        return rows

    def _insert_fails(self, model_rows: list[Row]) -> bool:
        return (
            self.wl.table.options.insert_duplicates == "fail"
            and self.wl.model.would_insert_duplicate(model_rows)
        )

    def _call(self, op: str, rows: list[Row]) -> hw.WriteResult:
        wl = self.wl
        batch, _ = wl.batch(rows)
        if op == "upsert":
            return wl.table.upsert(batch)
        if op == "insert":
            return wl.table.insert(batch)
        return wl.table.delete(batch.select(list(LAYOUT_COLUMNS)))

    def _model_write(self, op: str, rows: list[Row], instant: str) -> tuple[int, int, int]:
        model = self.wl.model
        _, model_rows = self.wl.batch(rows)
        if op == "upsert":
            return model.upsert(model_rows, instant)
        if op == "insert":
            return model.insert(model_rows, instant, self.wl.table.options.insert_duplicates)
        return model.delete(model_rows, instant)

    def _write(self, op: str, rows: list[Row]) -> None:
        wl = self.wl
        before = self._timeline()
        _, model_rows = wl.batch(rows)
        if op == "insert" and self._insert_fails(model_rows):
            with pytest.raises(hw.InvalidRecordError, match="exist"):
                self._call(op, rows)
            assert self._timeline() == before, "a refused insert changed the timeline"
            REACHED["refused inserts"] += 1
            assert not self.facts
            return
        pending_before = {i for i in before if not i.is_completed}
        base_before = set(wl.model.base)
        result = self._call(op, rows)
        assert result.operation.lower() == op
        # Pending compactions the write ran before it planned (it revived deleted keys of
        # their file groups): noted before the write's own commit, and they decide how the
        # write counts its rows.
        mine = [i for i, f in enumerate(self.facts) if f[:2] == ("write", result.instant_time)]
        early, self.facts = self.facts[: mine[0]], self.facts[mine[0] :]
        for kind, instant, groups in early:
            assert kind == "compaction", (kind, instant)
            self._follow_compaction(instant, groups)
            REACHED["compactions run first by a reviving write"] += 1
        if early:
            base_before = set(wl.model.base)
        wl._after(result, self._model_write(op, rows, result.instant_time))
        self._apply_facts(base_before)
        opts = wl.table.options
        finishes: set[str] = set()
        if opts.rollback_failed_writes == "eager":
            finishes |= ROLLS_BACK
        if opts.compaction_delta_commits is not None or opts.compaction_log_bytes is not None:
            finishes.add("compaction")  # inline compaction runs every pending plan
        self._check_pending(finishes, pending_before)

    @rule(rows=batches)
    def upsert(self, rows: list[dict[str, Any]]) -> None:
        self._write("upsert", self._rows(rows))

    @rule(rows=batches)
    def insert(self, rows: list[dict[str, Any]]) -> None:
        self._write("insert", self._rows(rows))

    def _has_records(self) -> bool:
        return bool(self.wl.model.snapshot)

    @precondition(_has_records)
    @rule(data=st.data(), rows=batches)
    def update_existing(self, data: st.DataObject, rows: list[dict[str, Any]]) -> None:
        """Upsert rows of keys the table holds (collisions are otherwise rare)."""
        snapshot = self.wl.model.snapshot
        picked = [data.draw(st.sampled_from(sorted(snapshot)), label="key") for _ in rows]
        rows = [
            {**row, "id": k[1], "part": snapshot[k][0]["part"]}
            for row, k in zip(rows, picked, strict=True)
        ]
        self._write("upsert", self._rows(rows))

    def _has_deleted(self) -> bool:
        return bool(set(self.wl.model.base) - set(self.wl.model.snapshot))

    @precondition(_has_deleted)
    @rule(data=st.data(), rows=batches, op=st.sampled_from(["upsert", "insert"]))
    def revive(self, data: st.DataObject, rows: list[dict[str, Any]], op: str) -> None:
        """Write keys again that were deleted while base files still hold them, with other
        rows (inserts of new keys may merge into the deleted keys' file groups)."""
        model = self.wl.model
        deleted = sorted(set(model.base) - set(model.snapshot))
        picked = data.draw(st.lists(st.sampled_from(deleted), min_size=1, max_size=3))
        for n, k in enumerate(picked):
            rows[n % len(rows)] = {
                **rows[n % len(rows)],
                "id": k[1],
                "part": model.base[k][0]["part"],
            }
        self._write(op, self._rows(rows))

    @precondition(_has_records)
    @rule(data=st.data())
    def delete_existing(self, data: st.DataObject) -> None:
        existing = sorted(self.wl.model.snapshot)
        picked = data.draw(st.lists(st.sampled_from(existing), min_size=1, max_size=4))
        self.tick += 1
        rows = [self.wl.model.snapshot[k][0] for k in picked]
        self._write("delete", [{c: r[c] for c in LAYOUT_COLUMNS} for r in rows])

    @rule(keys=key_batches)
    def delete(self, keys: list[dict[str, Any]]) -> None:
        self.tick += 1
        self._write("delete", [dict(k) for k in keys])

    @rule(
        op=st.sampled_from(["upsert", "insert", "delete"]),
        rows=batches,
        point=st.sampled_from(CRASH_POINTS),
    )
    def crashed_write(self, op: str, rows: list[dict[str, Any]], point: tuple[str, int]) -> None:
        """The process dies inside the write (or, once the write has committed, inside its
        inline services): what was committed stays, the rest is rolled back later."""
        model_rows = self._rows(rows)
        if op == "delete":
            model_rows = [{k: r[k] for k in LAYOUT_COLUMNS} for r in model_rows]
        base_before = set(self.wl.model.base)
        step, nth = point
        result: hw.WriteResult | None = None
        with pytest.MonkeyPatch.context() as m:
            crash_at(m, step, nth)
            try:
                result = self._call(op, model_rows)
            except Crash:
                pass
            except hw.InvalidRecordError:
                # inserting an existing key, found before the crash point (the write's own
                # clean-up is disabled: its requested instant stays, as after a crash)
                assert op == "insert" and self._insert_fails(self.wl.batch(model_rows)[1])
        written = [f for f in self.facts if f[0] == "write"]
        assert len(written) <= 1
        if result is not None:
            counts = self._model_write(op, model_rows, result.instant_time)
            self.wl._after(result, counts)
        elif written:  # committed, then died in its inline services
            REACHED["writes killed after their commit"] += 1
            self._model_write(op, model_rows, written[0][1])
            self.wl.model.remember(written[0][1])
        self._apply_facts(base_before)

    @rule(
        kind=st.sampled_from(["null key", "empty key", "null ordering", "missing column"]),
        rows=batches,
    )
    def bad_write(self, kind: str, rows: list[dict[str, Any]]) -> None:
        """Bad input is refused before the table is touched: not one file changes."""
        model_rows = self._rows(rows)
        if kind == "null key":
            model_rows[-1]["id"] = None
        elif kind == "empty key":
            model_rows[0]["id"] = ""
        elif kind == "null ordering":
            model_rows[0]["ts"] = None
        files = self._all_files()
        batch = pa.Table.from_pylist(model_rows, schema=SCHEMA)
        if kind == "missing column":
            batch = batch.drop_columns(["v"])
        error = hw.SchemaMismatchError if kind == "missing column" else hw.InvalidRecordError
        with pytest.raises(error):
            self.wl.table.upsert(batch)
        assert self._all_files() == files
        assert not self.facts

    # -- services ----------------------------------------------------------------------------

    @rule(plan_only=st.booleans())
    def compact(self, plan_only: bool) -> None:
        pending_before = {i for i in self._timeline() if not i.is_completed}
        before = {i.time for i in self._timeline() if i.action == "compaction"}
        eager = self.wl.table.options.rollback_failed_writes == "eager"
        result = self.wl.table.compact(plan_only=plan_only)
        self._apply_facts(set(self.wl.model.base))
        assert not set(result.scheduled) & before
        REACHED[f"compact(plan_only={plan_only}) calls"] += 1
        REACHED[f"compact(plan_only={plan_only}) plans"] += bool(result.scheduled)
        if plan_only:
            assert result.executed == ()
        else:
            assert set(result.scheduled) <= set(result.executed)
            assert result.file_groups == len(result.files_written)
        finishes = (ROLLS_BACK if eager else set()) | (set() if plan_only else {"compaction"})
        self._check_pending(finishes, pending_before, may_plan=plan_only)

    @rule()
    def clean(self) -> None:
        pending_before = {i for i in self._timeline() if not i.is_completed}
        result = self.wl.table.clean()
        assert result.policy == self.wl.table.options.clean_policy
        for rel in result.files_deleted:
            assert not (self.path / rel).exists(), rel
        self._check_pending({"clean"}, pending_before)

    @rule()
    def archive(self) -> None:
        pending_before = {i for i in self._timeline() if not i.is_completed}
        result = self.wl.table.archive()
        active = {(i.time, i.action) for i in self._timeline()}
        for instant in result.archived:
            assert (instant.time, instant.action) not in active, instant
        if result.archive_file is not None:
            assert (self.path / result.archive_file).is_file(), result.archive_file
        # (a run that finishes an interrupted one may find every entry written already)
        entries = self._archived()
        layout = self.wl.table._meta.layout  # internal: how actions complete
        for instant in result.archived:
            key = (instant.time, layout.comparable_action(instant.action))
            assert key in entries, f"{instant} not in the archive"
        self._check_pending(set(), pending_before)

    @rule()
    def rollback_failed(self) -> None:
        pending_before = {i for i in self._timeline() if not i.is_completed}
        failed = {i.time for i in pending_before if i.action in ("deltacommit", "rollback")}
        done = self.wl.table.rollback_failed()
        assert {i.time for i in done} <= failed
        self._check_pending(ROLLS_BACK, pending_before)

    @rule(
        service=st.sampled_from(["compact", "plan", "clean", "archive", "rollback_failed"]),
        nth=st.integers(0, 12),
    )
    def crashed_service(self, service: str, nth: int) -> None:
        """The process dies before the ``nth`` change a service makes to the store (if it
        makes that many): whatever it leaves, the table reads the same, and the next run of
        the service (or of a write) finishes or undoes it."""
        table = self.wl.table
        calls = {"n": 0}

        def dying(real: Any) -> Any:
            def call(storage: Any, rel: str, *args: Any) -> Any:
                if "/.heartbeat/" not in f"/{rel}" and "/.locks/" not in rel:
                    # (a dead process's locks are taken over at once; this process is alive)
                    if calls["n"] == nth:
                        raise Crash(f"{service} killed before {real.__name__}({rel})")
                    calls["n"] += 1
                return real(storage, rel, *args)

            return call

        with pytest.MonkeyPatch.context() as m:
            m.setattr(transaction._Transaction, "abort", lambda self: None)
            for name in MUTATING:
                m.setattr(Storage, name, dying(getattr(Storage, name)))
            try:
                if service in ("compact", "plan"):
                    table.compact(plan_only=service == "plan")
                elif service == "clean":
                    table.clean()
                elif service == "archive":
                    table.archive()
                else:
                    table.rollback_failed()
            except Crash:
                pass
        self._apply_facts(set(self.wl.model.base))

    @rule(options=table_options())
    def reopen(self, options: hw.TableOptions) -> None:
        """A new handle (another process, later) with other write options."""
        self.wl.table = hw.HudiTable.open(str(self.path), options=options)
        if self.wl.table.table_version >= 8:
            assert self.wl.table.options.merge_mode == "event_time_ordering"
        else:
            assert self.wl.table.options.payload_class == self._payload()

    def _payload(self) -> str:
        if self.wl.model.merge == "ordering":
            return hw.PayloadClass.DEFAULT
        return hw.PayloadClass.OVERWRITE_WITH_LATEST

    # -- history -----------------------------------------------------------------------------

    def _readable(self) -> bool:
        return self.floor < len(self.wl.instants)

    @precondition(_readable)
    @rule(data=st.data())
    def time_travel(self, data: st.DataObject) -> None:
        wl = self.wl
        index = data.draw(st.integers(self.floor, len(wl.instants) - 1), label="commit")
        instant = wl.instants[index]
        want = wl.model.expected_as_of(index)
        got = wl.model.actual(conform(self._open().to_arrow(as_of=instant), wl.schema))
        assert got == want, f"hudiwrite as of {instant}:\n" + diff(want, got, wl.model.columns)
        if not self._pending_compaction():
            rs = hudi_rs(self.path, as_of=instant)
            got = wl.model.actual(conform(rs, wl.schema))
            assert got == want, f"hudi-rs as of {instant}:\n" + diff(want, got, wl.model.columns)

    @precondition(_readable)
    @rule(data=st.data())
    def incremental(self, data: st.DataObject) -> None:
        wl = self.wl
        last = len(wl.instants) - 1
        start = data.draw(st.integers(self.floor - 1, last - 1), label="after") if last else -1
        end = data.draw(st.integers(max(start + 1, 0), last), label="until")
        # windows are bounded by completion times (on version 6, the instant times)
        bounds = wl.completion_times()
        begin = bounds[start] if start >= 0 else "000"
        got = wl.model.actual(conform(self._open().read_incremental(begin, bounds[end]), wl.schema))
        want = wl.model.expected_incremental(start, end)
        assert got == want, f"incremental ({begin}, {bounds[end]}]:\n" + diff(
            want, got, wl.model.columns
        )
        if not self._pending_compaction():
            rs = hudi_rs(self.path, incremental=(begin, bounds[end]))
            got = wl.model.actual(conform(rs, wl.schema))
            assert got == want, f"hudi-rs incremental ({begin}, {bounds[end]}]:\n" + diff(
                want, got, wl.model.columns
            )

    @rule(
        batch_size=st.integers(1, 4),
        where=st.sampled_from([("part", "=", "a"), ("n", ">", 0), ("v", "!=", "x")]),
    )
    def other_reads(self, batch_size: int, where: tuple[str, str, Any]) -> None:
        """The streamed scan, a filtered read, and hudi-rs's read-optimized query."""
        wl = self.wl
        want = wl.model.expected_snapshot()
        scanned = self._open().scan(batch_size=batch_size).read_all()
        got = wl.model.actual(conform(scanned, wl.schema))
        assert got == want, "hudiwrite scan:\n" + diff(want, got, wl.model.columns)

        column, op, value = where
        index = 3 + wl.model.columns.index(column)

        def holds(v: Any) -> bool:  # SQL: a null satisfies no comparison
            return v is not None and (v > value if op == ">" else (v == value) == (op == "="))

        want = Counter({r: c for r, c in want.items() if holds(r[index])})
        filtered = self._open().to_arrow(filters=[where])
        got = wl.model.actual(conform(filtered, wl.schema))
        assert got == want, f"hudiwrite {where}:\n" + diff(want, got, wl.model.columns)

        if not self._pending_compaction():
            want = wl.model.expected_read_optimized()
            rs = hudi_rs(self.path, read_optimized=True)
            got = wl.model.actual(conform(rs, wl.schema))
            assert got == want, "hudi-rs read-optimized:\n" + diff(want, got, wl.model.columns)

    # -- checks ------------------------------------------------------------------------------

    def _open(self) -> hw.HudiTable:
        return hw.HudiTable.open(str(self.path))

    def _timeline(self) -> tuple[hw.Instant, ...]:
        return self.wl.table.timeline()

    def _archived(self) -> set[tuple[str, str]]:
        """(time, action as completed) of the archived instants: the v6 archive's entries,
        or the LSM timeline's rows on 8/9."""
        meta = self.wl.table._meta  # internal: no public archived timeline
        if meta.history is not None:
            return {(i.instant_time, i.action or "") for i in meta.history.load(payloads=False)}
        return {(e.time, meta.layout.comparable_action(e.action)) for e in read_archived(meta)}

    def _pending_compaction(self) -> bool:
        return any(i.action == "compaction" and not i.is_completed for i in self._timeline())

    def _all_files(self) -> dict[str, int]:
        return {
            str(p.relative_to(self.path)): p.stat().st_size
            for p in self.path.rglob("*")
            if p.is_file()
        }

    def _check_pending(
        self, finishes: Set[str], pending_before: set[hw.Instant], *, may_plan: bool = False
    ) -> None:
        """After an operation that succeeded: nothing it started is left pending (but the
        compaction plan of ``compact(plan_only=True)``), and no pending instant of the
        ``finishes`` actions is left at all (failed writes and interrupted rollbacks for
        the operations that roll back, compactions for those that compact, ...)."""
        before = {(i.time, i.action) for i in pending_before}
        for i in self._timeline():
            if i.is_completed:
                continue
            assert i.action not in finishes, f"{i} left pending by an operation that ends them"
            if i.action == "compaction" and may_plan:
                continue
            assert (i.time, i.action) in before, f"{i} left pending"

    @invariant()
    def no_inline_service_failed(self) -> None:
        assert not self.failures.messages, "\n".join(self.failures.messages)

    @invariant()
    def nothing_left_beating(self) -> None:
        """Once an operation returned (or raised: a simulated death unwinds this process), no
        heartbeat or lock of it is left: this process lives on, and would keep them live."""
        hoodie = self.path / ".hoodie"
        for folder in (hoodie / ".heartbeat", hoodie / ".aux" / ".locks"):
            left = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
            assert not left, f"left in {folder.relative_to(self.path)}: {left}"

    @invariant()
    def timeline_is_ordered(self) -> None:
        times = [i.time for i in self._timeline()]
        assert times == sorted(set(times)), times
        assert not self.facts, self.facts  # every observed file was followed by the model

    @invariant()
    def reads_match_the_model(self) -> None:
        wl = self.wl
        self._follow_services()
        want = wl.model.expected_snapshot()
        got = wl.model.actual(conform(self._open().to_arrow(), wl.schema))
        assert got == want, "hudiwrite snapshot:\n" + diff(want, got, wl.model.columns)
        ro_want = wl.model.expected_read_optimized()
        ro = wl.model.actual(conform(self._open().to_arrow(read_optimized=True), wl.schema))
        assert ro == ro_want, "hudiwrite read-optimized:\n" + diff(ro_want, ro, wl.model.columns)
        if self._pending_compaction():
            REACHED["reads with a pending compaction"] += 1
            return  # hudi-rs 0.5.0 leaves out logs written while a compaction is pending
        rs = hudi_rs(self.path)
        got = wl.model.actual(conform(rs, wl.schema))
        assert got == want, "hudi-rs snapshot:\n" + diff(want, got, wl.model.columns)

    def _follow_services(self) -> None:
        """Move the time-travel floor past what cleaning removed and archival took off the
        active timeline (readers, Java's too, know nothing of archived commits)."""
        timeline = self._timeline()
        start = min((i.time for i in timeline), default=None)
        if start is not None:
            times = self.wl.instants
            active = next((n for n, t in enumerate(times) if t >= start), len(times))
            self.floor = max(self.floor, active)
        cleans = {i.time for i in timeline if i.action == "clean" and i.is_completed}
        rollbacks = {i.time for i in timeline if i.action == "rollback" and i.is_completed}
        REACHED["rollbacks"] += len(rollbacks - self.rollbacks_seen)
        self.rollbacks_seen |= rollbacks
        if cleans - self.cleans_seen:
            REACHED["cleans"] += len(cleans - self.cleans_seen)
            self.cleans_seen |= cleans
            times = self.wl.instants
            if self.wl.table.options.clean_policy == "keep_latest_file_versions":
                # slices of every commit but the latest may be gone: none is safe to travel to
                self.floor = len(times)
            else:
                meta = self.wl.table._meta  # internal: no public view of the clean's retention
                retained = meta.earliest_clean_retained(meta.timeline())
                if retained is not None:
                    first = next((n for n, t in enumerate(times) if t >= retained), len(times))
                    self.floor = max(self.floor, first)


def _evolve(options: hw.TableOptions, **changes: Any) -> hw.TableOptions:
    return attrs.evolve(options, **changes)


@pytest.mark.slow
def test_state_machine() -> None:
    REACHED.clear()
    run_state_machine_as_test(HudiMachine, settings=settings.get_profile(PROFILE))
    print(dict(REACHED))
    # the sequences reach every service (the settings make them due within a sequence)
    for what in (
        "compactions",
        "cleans",
        "archived sequences",
        "rollbacks",
    ):
        assert REACHED[what], f"no sequence had {what}: {dict(REACHED)}"
