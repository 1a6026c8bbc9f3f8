"""The LSM (archived) timeline of table versions 8/9: the parquet files and manifests as Java
writes them, the writer's steps and compaction as LSMTimelineWriter takes them, crashes at each
step, and Spark-Hudi 1.2 reading (and continuing) a history hudiwrite wrote."""

from __future__ import annotations

import io
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hudiwrite.exceptions import CorruptTableError
from hudiwrite.formats.hudi_avro_schemas import decode_commit_metadata
from hudiwrite.model.tableconfig import Keys
from hudiwrite.storage import Storage
from hudiwrite.timeline.layout import LAYOUT_V6, layout_for_config
from hudiwrite.timeline.lsm import (
    LSM_INSTANT_SCHEMA,
    CompletionLookup,
    LsmFileEntry,
    LsmFileName,
    LsmInstant,
    LsmManifest,
    LsmSettings,
    LsmTimeline,
    TimeRange,
    compacted_file_name,
    decode_lsm_file,
    decode_lsm_table,
    encode_lsm_file,
    lsm_instant,
)
from hudiwrite.timeline.metaclient import MetaClient
from hudiwrite.timeline.service_metadata import CleanerPlan, CleanMetadata
from tests.crash import Crash

#: Files Spark-Hudi 1.2.0 wrote (tests/data/lsm_java): an L0 file of two cleans and two delta
#: commits, the manifest of six L0 files and the manifest of an L2 and an L1 file.
JAVA = Path(__file__).parent / "data" / "lsm_java"
JAVA_FILE = JAVA / "20261204184506210_20261204184508675_0.parquet"
HISTORY = ".hoodie/timeline/history"


# ---------------------------------------------------------------------------------------------
# helpers


def _instant(n: int, action: str = "deltacommit", **extra: Any) -> LsmInstant:
    """Instant number ``n``: requested at 2026-01-01 00:00:<n> ms, completed 5 ms later."""
    time = f"20260101000000{n:03d}"
    done = f"20260101000000{n + 5:03d}"
    metadata = extra.pop("metadata", f"metadata of {n}".encode())
    return LsmInstant(time, done, action, metadata, **extra)


def _batch(*numbers: int) -> list[LsmInstant]:
    return [_instant(n) for n in numbers]


def _history(tmp_path: Path, settings: LsmSettings | None = None) -> LsmTimeline:
    return LsmTimeline(Storage(str(tmp_path)), HISTORY, settings)


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def _columns(pf: pq.ParquetFile) -> list[tuple[Any, ...]]:
    """What a reader resolves columns by: name, levels, physical and logical types."""
    schema = pf.schema
    out = []
    for n in range(len(schema)):
        c = schema.column(n)
        out.append(
            (
                c.path,
                c.max_definition_level,
                c.max_repetition_level,
                c.physical_type,
                str(c.logical_type),
                c.converted_type,
            )
        )
    return out


def _java_rows() -> list[LsmInstant]:
    return decode_lsm_file(JAVA_FILE.read_bytes(), JAVA_FILE.name)


# ---------------------------------------------------------------------------------------------
# the data file


def test_java_file_decodes() -> None:
    rows = _java_rows()
    assert [(r.instant_time, r.completion_time, r.action) for r in rows] == [
        ("20261204184506210", "20261204184506312", "clean"),
        ("20261204184506977", "20261204184507952", "deltacommit"),
        ("20261204184508112", "20261204184508249", "clean"),
        ("20261204184508675", "20261204184509422", "deltacommit"),
    ]
    assert {r.version for r in rows} == {1}
    for r in rows:
        assert r.metadata is not None and r.metadata.startswith(b"Obj\x01")  # the Avro file
        if r.action == "clean":
            assert CleanMetadata.from_bytes(r.metadata, "metadata").earliest_retained
            assert r.plan is not None
            CleanerPlan.from_bytes(r.plan, "plan")  # the requested file: the cleaner plan
        else:
            assert r.plan is None  # a delta commit has no plan
            assert decode_commit_metadata(r.metadata)["operationType"] == "UPSERT"


def test_schema_and_footer_are_javas() -> None:
    """Our file resolves as Java's does: same columns, levels and types, the same footer keys
    (parquet.avro.schema is what Java's AvroReadSupport reads), gzip pages."""
    data = encode_lsm_file(_java_rows())
    ours, java = pq.ParquetFile(io.BytesIO(data)), pq.ParquetFile(str(JAVA_FILE))
    assert _columns(ours) == _columns(java)
    assert ours.metadata.metadata == java.metadata.metadata
    assert ours.metadata.metadata[b"parquet.avro.schema"].decode() == LSM_INSTANT_SCHEMA
    assert ours.metadata.format_version == java.metadata.format_version == "1.0"
    assert ours.metadata.num_row_groups == 1
    columns = ours.metadata.row_group(0)
    assert {columns.column(n).compression for n in range(columns.num_columns)} == {"GZIP"}
    assert b"ARROW:schema" not in ours.metadata.metadata
    # pyarrow reads it as plain columns
    table = pq.read_table(io.BytesIO(data))
    assert table.column("instantTime").to_pylist() == [r.instant_time for r in _java_rows()]
    assert table.schema.field("version").nullable is False


def test_round_trips() -> None:
    java = _java_rows()
    assert decode_lsm_file(encode_lsm_file(java)) == java
    odd = [
        LsmInstant("20260101000000001", "20260101000000002", "commit", None, b""),
        LsmInstant("20260101000000003", None, None, b"x", None, version=7),
    ]
    assert decode_lsm_file(encode_lsm_file(odd)) == odd
    assert decode_lsm_file(encode_lsm_file([])) == []


def test_missing_optional_columns_read_as_null() -> None:
    table = pa.table({"instantTime": ["1"], "completionTime": ["2"]})
    assert decode_lsm_table(table) == [LsmInstant("1", "2", None)]


@pytest.mark.parametrize(
    "table",
    [
        pa.table({"completionTime": ["2"]}),
        pa.table({"instantTime": pa.array([None], pa.string())}),
        pa.table({"instantTime": ["1"], "metadata": ["not bytes"]}),
        pa.table({"instantTime": [1]}),
    ],
    ids=["no instantTime", "null instantTime", "string metadata", "int instantTime"],
)
def test_undecodable_tables(table: pa.Table) -> None:
    with pytest.raises(CorruptTableError):
        decode_lsm_table(table)


def test_not_parquet_is_corrupt() -> None:
    with pytest.raises(CorruptTableError, match=r"x\.parquet"):
        decode_lsm_file(b"PAR1 garbage", "x.parquet")
    with pytest.raises(CorruptTableError):
        decode_lsm_file(JAVA_FILE.read_bytes()[:-100])


# ---------------------------------------------------------------------------------------------
# manifests and names


@pytest.mark.parametrize("name", ["manifest_6", "manifest_10"])
def test_manifest_text_is_jacksons(name: str) -> None:
    raw = (JAVA / name).read_bytes()
    manifest = LsmManifest.from_json(raw, name)
    assert manifest.to_json() == raw


def test_manifest_text() -> None:
    manifest = LsmManifest((LsmFileEntry("1_2_0.parquet", 10), LsmFileEntry("3_4_1.parquet", 7)))
    assert manifest.to_json() == (
        b'{\n  "files" : [ {\n    "fileName" : "1_2_0.parquet",\n    "fileLen" : 10\n'
        b'  }, {\n    "fileName" : "3_4_1.parquet",\n    "fileLen" : 7\n  } ]\n}'
    )
    assert LsmManifest().to_json() == b'{\n  "files" : [ ]\n}'
    assert LsmManifest.from_json(manifest.to_json()) == manifest
    assert manifest.replace(["1_2_0.parquet"], LsmFileEntry("5_6_0.parquet", 1)).file_names == (
        "3_4_1.parquet",
        "5_6_0.parquet",
    )


def test_manifest_parsing() -> None:
    assert LsmManifest.from_json(b"") == LsmManifest()  # fromJsonString: empty text
    lenient = b'{"files":[{"fileName":"1_2_0.parquet","fileLen":3,"x":1}],"extra":true}'
    assert LsmManifest.from_json(lenient).files == (LsmFileEntry("1_2_0.parquet", 3),)
    for bad in (b"{", b"[]", b'{"files":3}', b'{"files":[{"fileLen":3}]}'):
        with pytest.raises(CorruptTableError):
            LsmManifest.from_json(bad)


def test_file_names() -> None:
    parsed = LsmFileName.parse("20260101000000001_20260101000000009_0.parquet")
    assert parsed == LsmFileName("20260101000000001", "20260101000000009", 0)
    assert parsed.name == "20260101000000001_20260101000000009_0.parquet"
    for other in ("1_2_10.parquet", ".1_2_0.parquet.crc", "1_2_0.parquet.tmp", "manifest_1"):
        assert LsmFileName.parse(other) is None
    # LSMTimelineWriter.compactedFileName: min of the mins, max of the maxes, level + 1
    assert compacted_file_name(["3_9_1.parquet", "1_4_1.parquet"]) == "1_9_2.parquet"
    with pytest.raises(ValueError, match="no files"):
        compacted_file_name([])


def test_history_dir(tmp_path: Path) -> None:
    """The layout owns the folder (hoodie.timeline.path, Keys.HISTORY_PATH)."""
    storage = Storage(str(tmp_path))
    default = layout_for_config({}, 9, 2)
    assert LsmTimeline.for_layout(storage, default).directory == ".hoodie/timeline/history"
    props = {"hoodie.timeline.path": "tl", Keys.HISTORY_PATH: "old"}
    assert LsmTimeline.for_layout(storage, layout_for_config(props, 8, 2)).directory == (
        ".hoodie/tl/old"
    )
    with pytest.raises(ValueError, match="no LSM timeline"):
        LsmTimeline.for_layout(storage, LAYOUT_V6)


# ---------------------------------------------------------------------------------------------
# what goes into a row


@pytest.mark.parametrize(
    ("action", "pending", "requested", "inflight", "plan"),
    [
        ("deltacommit", None, b"", b"profile", None),
        ("commit", None, b"", b"profile", None),
        ("rollback", None, b"rollback plan", b"", None),
        ("savepoint", None, None, b"", None),
        ("clean", None, b"cleaner plan", b"", b"cleaner plan"),
        ("clean", None, None, b"", b""),  # the inflight file, even empty
        ("commit", "compaction", b"compaction plan", b"", b"compaction plan"),
        ("deltacommit", "logcompaction", b"log plan", b"", b"log plan"),
        ("replacecommit", None, b"requested", b"", b"requested"),
        ("replacecommit", None, b"requested", b"inflight", b"inflight"),
        ("replacecommit", "clustering", b"", b"", None),
    ],
)
def test_row_per_action(
    action: str, pending: str | None, requested: bytes | None, inflight: bytes, plan: bytes | None
) -> None:
    row = lsm_instant(
        "1", "2", action, b"done", pending_action=pending, requested=requested, inflight=inflight
    )
    assert row == LsmInstant("1", "2", action, b"done", plan, 1)
    empty = lsm_instant("1", "2", action, b"", pending_action=pending, requested=requested)
    assert empty.metadata is None  # an empty completed file: no metadata


# ---------------------------------------------------------------------------------------------
# writing and reading a history folder


def test_append_and_load(tmp_path: Path) -> None:
    history = _history(tmp_path)
    folder = tmp_path / HISTORY
    assert history.latest_version() == -1 and history.load() == []

    first = _batch(3, 1, 2)
    name = history.append(first)
    assert name == "20260101000000001_20260101000000003_0.parquet"
    assert _names(folder) == {name, "manifest_1", "_version_"}
    assert (folder / "_version_").read_bytes() == b"1"
    size = (folder / name).stat().st_size
    assert (folder / "manifest_1").read_bytes() == LsmManifest(
        (LsmFileEntry(name, size),)
    ).to_json()
    assert history.load() == sorted(first, key=lambda i: i.instant_time)
    # pyarrow reads the file as written
    assert pq.read_table(folder / name).column("action").to_pylist() == ["deltacommit"] * 3

    second = history.append(_batch(4, 5))
    assert second == "20260101000000004_20260101000000005_0.parquet"
    assert (folder / "_version_").read_bytes() == b"2"
    assert history.read_manifest(2).file_names == (name, second)
    assert [i.instant_time for i in history.load()] == [
        _instant(n).instant_time for n in range(1, 6)
    ]

    # ranges: closed, open-ended, closed-open
    t = [_instant(n).instant_time for n in range(1, 6)]
    assert [i.instant_time for i in history.load(TimeRange(t[1], t[3]))] == t[1:4]
    assert [i.instant_time for i in history.load(TimeRange(t[3]))] == t[3:]
    closed_open = TimeRange(t[0], t[3], end_inclusive=False)
    assert [i.instant_time for i in history.load(closed_open)] == t[:3]
    assert history.completion_times(TimeRange(t[4])) == {t[4]: _instant(5).completion_time}
    assert all(i.metadata is None for i in history.load(payloads=False))


def test_append_refuses_bad_batches(tmp_path: Path) -> None:
    history = _history(tmp_path)
    with pytest.raises(ValueError, match="empty"):
        history.append([])
    with pytest.raises(ValueError, match="one row per instant time"):
        history.append([_instant(1), _instant(1)])


def test_committed_batch_is_not_written_twice(tmp_path: Path) -> None:
    """A run that died after its manifest (while deleting active files) is rerun with the same
    batch: Java skips the write (LSMTimelineWriter.write, case 2)."""
    history = _history(tmp_path)
    history.append(_batch(1, 2))
    assert history.append(_batch(1, 2)) is None
    assert history.manifest_versions() == [1]


def test_uncommitted_leftover_is_replaced(tmp_path: Path) -> None:
    """A torn file of the batch's name that no manifest lists is deleted and written anew."""
    folder = tmp_path / HISTORY
    folder.mkdir(parents=True)
    name = "20260101000000001_20260101000000002_0.parquet"
    (folder / name).write_bytes(b"PAR1 torn")
    history = _history(tmp_path)
    assert history.append(_batch(1, 2)) == name
    assert history.load() == _batch(1, 2)


@pytest.mark.parametrize("content", [None, b"", b" 2\n", b"two", b"\xff"])
def test_version_file_falls_back_to_the_highest_manifest(
    tmp_path: Path, content: bytes | None
) -> None:
    history = _history(tmp_path)
    history.append(_batch(1))
    history.append(_batch(2))
    version = tmp_path / HISTORY / "_version_"
    if content is None:
        version.unlink()
    else:
        version.write_bytes(content)
    (tmp_path / HISTORY / "manifest_3.tmp").write_bytes(b"not a manifest")
    assert history.latest_version() == 2
    assert history.load() == _batch(1, 2)


def test_version_file_wins_over_the_listing(tmp_path: Path) -> None:
    """A manifest written by a run that died before ``_version_`` moved is not read."""
    history = _history(tmp_path)
    history.append(_batch(1))
    (tmp_path / HISTORY / "manifest_2").write_bytes(b"{ torn")
    assert history.latest_version() == 1
    assert history.load() == _batch(1)
    history.append(_batch(2))  # the torn manifest_2 is replaced
    assert history.read_manifest(2).file_names[-1].startswith(_instant(2).instant_time)


def test_unreadable_snapshot_is_corrupt(tmp_path: Path) -> None:
    history = _history(tmp_path)
    name = history.append(_batch(1))
    assert name is not None
    (tmp_path / HISTORY / "_version_").write_bytes(b"9")
    with pytest.raises(CorruptTableError, match="manifest_9"):
        history.load()
    (tmp_path / HISTORY / "_version_").write_bytes(b"1")
    (tmp_path / HISTORY / name).write_bytes(b"PAR1 damaged PAR1")
    with pytest.raises(CorruptTableError):
        history.load()
    (tmp_path / HISTORY / name).unlink()
    with pytest.raises(CorruptTableError, match="missing"):
        history.load()


# ---------------------------------------------------------------------------------------------
# compaction of levels


def test_compaction_and_clean_follow_java(tmp_path: Path) -> None:
    """Batch size 2, as Spark-Hudi 1.2 ran it for tests/data/lsm_java/manifest_10: two L0
    files become an L1 file, two L1 files an L2 file; the clean keeps 3 snapshots plus one per
    compaction of the run, then the data files only the dropped snapshots listed."""
    history = _history(tmp_path, LsmSettings(compaction_batch_size=2))
    folder = tmp_path / HISTORY
    a = history.append(_batch(1, 2))
    assert history.compact_and_clean().compacted == ()
    b = history.append(_batch(3, 4))
    done = history.compact_and_clean()
    ab = "20260101000000001_20260101000000004_1.parquet"
    assert done.compacted == (ab,) and done.deleted == ()
    assert history.latest_version() == 3
    assert history.latest_manifest().file_names == (ab,)
    c = history.append(_batch(5, 6))
    done = history.compact_and_clean()
    assert done.compacted == () and done.deleted == ("manifest_1",)  # 4 versions, 3 kept
    d = history.append(_batch(7, 8))
    done = history.compact_and_clean()
    cd = "20260101000000005_20260101000000008_1.parquet"
    abcd = "20260101000000001_20260101000000008_2.parquet"
    assert done.compacted == (cd, abcd)
    assert history.read_manifest(6).file_names == (ab, cd)
    assert history.latest_manifest().file_names == (abcd,)
    # versions 2..7, 3 + 2 kept: manifest_2 goes, and with it a and b (only 1 and 2 list them)
    assert set(done.deleted) == {"manifest_2", a, b}
    assert _names(folder) == {
        "_version_",
        *(f"manifest_{n}" for n in range(3, 8)),
        ab,
        c,
        d,
        cd,
        abcd,
    }
    assert history.load() == _batch(*range(1, 9))
    # the compacted file holds its inputs' rows in order
    assert decode_lsm_file((folder / abcd).read_bytes()) == _batch(*range(1, 9))


def test_compaction_at_the_default_batch_size(tmp_path: Path) -> None:
    history = _history(tmp_path)
    for n in range(1, 11):
        history.append(_batch(2 * n, 2 * n + 1))
        done = history.compact_and_clean()
        assert bool(done.compacted) == (n == 10)
    assert history.latest_manifest().file_names == (
        "20260101000000002_20260101000000021_1.parquet",
    )
    assert history.manifest_versions() == [8, 9, 10, 11]  # 3 + 1 for the compaction
    assert history.load() == _batch(*range(2, 22))


def test_compaction_size_limit(tmp_path: Path) -> None:
    """getCandidateFiles: a first file alone over the limit is skipped; the group then takes
    consecutive files until it passes the limit."""
    big = random.Random(0).randbytes(20000)  # gzip leaves it as large
    history = _history(tmp_path, LsmSettings(compaction_batch_size=3, compaction_max_bytes=15000))
    history.append([_instant(1, metadata=big)])
    history.append(_batch(2))
    history.append(_batch(3))
    done = history.compact_and_clean()
    assert done.compacted == ("20260101000000002_20260101000000003_1.parquet",)
    names = history.latest_manifest().file_names
    assert names[0].startswith("20260101000000001_") and names[0].endswith("_0.parquet")


# ---------------------------------------------------------------------------------------------
# crashes at every step


_WRITES = ("write_bytes", "replace_file", "create_exclusive")
_MUTATIONS = ("delete", "delete_if_present")


class _Killer:
    """Counts the store-changing calls of ``Storage`` and dies (``Crash``) at one of them:
    before it, after it, or with it half done (a non-atomic write torn in place; an atomic
    one leaves a torn temporary file and the target as it was)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, at: int | None, kind: str) -> None:
        self.calls: list[str] = []
        self.at, self.kind = at, kind
        for method in _WRITES + _MUTATIONS:
            monkeypatch.setattr(Storage, method, self._wrap(method, getattr(Storage, method)))

    def _wrap(self, method: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(storage: Storage, rel: str, *args: Any) -> Any:
            index = len(self.calls)
            self.calls.append(f"{method} {rel.rsplit('/', 1)[-1]}")
            if index == self.at and self.kind == "before":
                raise Crash(self.calls[-1])
            if index == self.at and self.kind == "torn" and method in _WRITES:
                data: bytes = args[0]
                full = Path(storage.full_path(rel))
                target = full if method == "write_bytes" else full.with_name(f".{full.name}.tmp")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data[: len(data) // 2])
                raise Crash(self.calls[-1])
            result = real(storage, rel, *args)
            if index == self.at:
                raise Crash(self.calls[-1])
            return result

        return call


_CRASH_SETTINGS = LsmSettings(compaction_batch_size=2)


def _archive_run(base: Path, *numbers: int, append: bool = True) -> None:
    """One archival's LSM steps: the new batch (unless ``append`` is False: the archiver
    deleted the batch's active files already), then compaction and clean."""
    history = _history(base, _CRASH_SETTINGS)
    if append:
        history.append(_batch(*numbers))
    history.compact_and_clean()


def _prepared(base: Path) -> Path:
    """Versions 2 to 4 of a history archived three times (1-2, 3-4 compacted into an L1 file,
    then 5-6): the next run compacts twice (L0 into L1, L1 into L2) and cleans a manifest
    and two data files."""
    for start in (1, 3, 5):
        _archive_run(base, start, start + 1)
    return base


def test_crash_at_each_step(tmp_path: Path) -> None:
    """After a crash anywhere in an archival's LSM steps (new file, manifest, version file;
    two compactions; the clean) the history reads as before or as after the run (never
    torn, never an instant twice), and running again ends where an uninterrupted run ends."""
    base = _prepared(tmp_path / "base")
    uninterrupted = tmp_path / "uninterrupted"
    shutil.copytree(base, uninterrupted)
    with pytest.MonkeyPatch.context() as m:
        killer = _Killer(m, None, "")
        _history(uninterrupted, _CRASH_SETTINGS).append(_batch(7, 8))
        appending = len(killer.calls)
        _archive_run(uninterrupted, append=False)
    calls = killer.calls
    assert appending == 4, calls  # data file, stale manifest, manifest, version
    assert [c for c in calls if c.startswith("delete ") and c.endswith(".parquet")][-2:] == [
        "delete 20260101000000001_20260101000000002_0.parquet",
        "delete 20260101000000003_20260101000000004_0.parquet",
    ], calls  # the clean ran
    final = _history(uninterrupted, _CRASH_SETTINGS)
    want_files, want = final.latest_manifest().file_names, final.load()
    assert want == _batch(*range(1, 9))
    want_names = _names(uninterrupted / HISTORY)
    before = _batch(*range(1, 7))
    partly_compacted = (
        "20260101000000001_20260101000000004_1.parquet",
        "20260101000000005_20260101000000008_1.parquet",
    )

    steps = [
        (index, kind)
        for index, call in enumerate(calls)
        for kind in ("before", "after", "torn")
        if kind != "torn" or call.split()[0] in _WRITES
    ]
    for index, kind in steps:
        work = tmp_path / f"run{index}-{kind}"
        shutil.copytree(base, work)
        with pytest.MonkeyPatch.context() as m:
            _Killer(m, index, kind)
            with pytest.raises(Crash):
                _archive_run(work, 7, 8)
        seen = _history(work, _CRASH_SETTINGS).load()
        assert seen in (before, want), (calls[index], kind, [i.instant_time for i in seen])
        # The archiver reruns: the same batch while its active files are there (a crash in
        # the append), else only the LSM maintenance (the crash came after the deletions).
        _archive_run(work, 7, 8, append=index < appending)
        again = _history(work, _CRASH_SETTINGS)
        assert again.load() == want, (calls[index], kind)
        # every instant in exactly one file of the snapshot; the same files as without the
        # crash, except after a crash between the two compactions: Java moves on to level
        # L+1 only in a run that compacted level L, so the L1 files wait for the next run
        files = again.latest_manifest().file_names
        rows = [i for name in files for i in again.read_file(name)]
        assert len(rows) == len(want), (calls[index], kind, files)
        assert files in (want_files, partly_compacted), (calls[index], kind, files)
        leftovers = {n for n in _names(work / HISTORY) if not n.startswith(".")} - want_names
        assert not {n for n in leftovers if not n.startswith("manifest_")}, leftovers


# ---------------------------------------------------------------------------------------------
# Java in the loop


def _spark_options(name: str, op: str) -> dict[str, str]:
    """A MOR table archived after every commit: 2 to 3 commits kept, cleaning keeps 1, no
    metadata table, the LSM compacted every 2 files."""
    options = {
        "hoodie.table.name": name,
        "hoodie.datasource.write.operation": op,
        "hoodie.datasource.write.table.type": "MERGE_ON_READ",
        "hoodie.datasource.write.recordkey.field": "id",
        "hoodie.datasource.write.precombine.field": "ts",
        "hoodie.datasource.write.partitionpath.field": "part",
        "hoodie.datasource.write.hive_style_partitioning": "true",
        "hoodie.metadata.enable": "false",
        "hoodie.keep.min.commits": "2",
        "hoodie.keep.max.commits": "3",
        "hoodie.clean.commits.retained": "1",
        "hoodie.compact.inline.max.delta.commits": "1",
        "hoodie.timeline.compaction.batch.size": "2",
    }
    for key in ("upsert", "insert"):
        options[f"hoodie.{key}.shuffle.parallelism"] = "2"
    return options


def _spark_rows(keys: list[int], ts: int) -> pa.Table:
    return pa.table(
        {
            "id": [f"k{k}" for k in keys],
            "ts": [ts] * len(keys),
            "part": [f"p{k % 2}" for k in keys],
            "v": [float(k + ts) for k in keys],
        }
    )


def test_spark_reads_and_continues_a_history_hudiwrite_wrote(
    tmp_path: Path, spark_pool: Any
) -> None:
    """Spark-Hudi 1.2 archives a table; hudiwrite reads Java's history (its files' schema and
    footer equal the writer's, its manifest text equals Jackson's), rewrites the history with
    its own writer and compaction, and Spark then lists the same archived commits, answers
    the same incremental query, and archives on top of it (reading hudiwrite's parquet files
    in its own compaction)."""
    spark = spark_pool.get("1.x")
    path = tmp_path / "t"
    name = "hw_lsm"
    spark.write(path, _spark_rows(list(range(6)), 0), _spark_options(name, "upsert"), "overwrite")
    for n in range(1, 12):
        spark.write(path, _spark_rows([n % 6, 6 + n], n), _spark_options(name, "upsert"))

    storage = Storage(str(path))
    meta = MetaClient.load(storage)
    assert meta.config.version == 9
    history = LsmTimeline.for_layout(storage, meta.layout, LsmSettings(compaction_batch_size=2))
    folder = path / history.directory
    archived = history.load()
    assert len(archived) >= 8, archived
    assert {i.action for i in archived} == {"deltacommit", "clean"}
    active = {n.split(".")[0].split("_")[0] for n in _names(path / ".hoodie" / "timeline")}
    assert not {i.instant_time for i in archived} & active
    levels = {LsmFileName.parse(n).level for n in history.latest_manifest().file_names}  # type: ignore[union-attr]
    assert max(levels) >= 1, "Java compacted its L0 files"

    # Java's bytes and ours
    for version in history.manifest_versions():
        raw = (folder / f"manifest_{version}").read_bytes()
        assert LsmManifest.from_json(raw).to_json() == raw
    for java_name in history.latest_manifest().file_names:
        java_file = pq.ParquetFile(str(folder / java_name))
        rows = history.read_file(java_name)
        ours = pq.ParquetFile(io.BytesIO(encode_lsm_file(rows)))
        assert _columns(ours) == _columns(java_file)
        assert ours.metadata.metadata == java_file.metadata.metadata
        assert decode_lsm_file(encode_lsm_file(rows)) == rows

    spark.sql(f"create table {name} using hudi location '{path}'")
    shown_query = (
        f"call show_archived_commits(table => '{name}', limit => 1000, start_ts => '0', "
        "end_ts => '99999999999999999')"
    )

    def shown() -> list[tuple[Any, ...]]:
        table = spark.sql(shown_query)
        keep = ["commit_time", "total_files_added", "total_records_written", "total_bytes_written"]
        return sorted(zip(*(table.column(c).to_pylist() for c in keep), strict=True))

    begin = archived[1].completion_time
    assert begin is not None

    def incremental() -> list[tuple[Any, ...]]:
        table = spark.incremental(path, begin)
        return sorted(zip(*(table.column(c).to_pylist() for c in ("id", "v")), strict=True))

    java_shown, java_incremental = shown(), incremental()
    assert java_incremental, "the incremental query starts inside the archived range"
    assert {row[0] for row in java_shown} >= {
        i.instant_time for i in archived if i.action == "deltacommit"
    }

    # hudiwrite's writer takes over the history: batches of three, compacted every two files
    for f in folder.iterdir():
        f.unlink()
    for start in range(0, len(archived), 3):
        assert history.append(archived[start : start + 3]) is not None
        history.compact_and_clean()
    assert history.load() == archived
    assert max(LsmFileName.parse(n).level for n in history.latest_manifest().file_names) >= 1  # type: ignore[union-attr]
    spark.sql(f"refresh table {name}")
    assert shown() == java_shown
    assert incremental() == java_incremental

    # Java archives on top of hudiwrite's files (and compacts them: it reads them back)
    ours = set(history.latest_manifest().file_names)
    for n in range(12, 16):
        spark.write(path, _spark_rows([n % 6, 6 + n], n), _spark_options(name, "upsert"))
    after = history.load()
    assert {i.instant_time for i in after} > {i.instant_time for i in archived}
    assert [i for i in after if i.instant_time <= archived[-1].instant_time] == archived
    assert not set(history.latest_manifest().file_names) & ours, "Java compacted our files"
    spark.sql(f"refresh table {name}")
    assert set(shown()) >= set(java_shown)


def test_completion_lookup_reads_once_per_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readers' completion-time lookups: nothing is read until one is asked; the times of the
    whole snapshot are kept while its manifest stays the same, read again once an archival
    moved it on."""
    history = _history(tmp_path)
    history.append(_batch(1, 2))
    reads: list[str] = []
    real = history.read_file

    def counting(name: str, **kwargs: Any) -> list[LsmInstant]:
        reads.append(name)
        return real(name, **kwargs)

    monkeypatch.setattr(history, "read_file", counting)
    lookup = CompletionLookup(history)
    assert reads == []
    assert lookup(_instant(1).instant_time) == _instant(1).completion_time
    assert lookup(_instant(3).instant_time) is None
    assert CompletionLookup(history)(_instant(2).instant_time) == _instant(2).completion_time
    assert len(reads) == 1, "one file read, once"
    history.append(_batch(3))
    assert CompletionLookup(history)(_instant(3).instant_time) == _instant(3).completion_time
    assert len(reads) == 3, "a new snapshot: read again"


def test_archived_commit_metadata() -> None:
    """An archived commit's metadata decodes from its row (Avro as layout 2 writes it)."""
    row = _java_rows()[-1]
    assert row.action == "deltacommit"
    metadata = row.commit_metadata()
    assert metadata is not None and metadata.schema
    assert metadata.all_stats()
    assert LsmInstant("1", "2", "deltacommit", None).commit_metadata() is None
