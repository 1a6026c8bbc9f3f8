"""``hoodie.properties`` survives crashes: updates are backup, replace whole, drop backup, and
a reader never uses a config that is empty, cut short or without its checksum."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

import hudiwrite as hw
from hudiwrite.exceptions import CorruptTableError
from hudiwrite.model.tableconfig import Keys, TableConfig, parse_properties
from hudiwrite.storage import Storage
from hudiwrite.timeline.metaclient import MetaClient, read_table_config

SCHEMA = pa.schema([("id", pa.string()), ("ts", pa.int64()), ("part", pa.string())])


def _rows(keys: list[str], ts: int) -> pa.Table:
    return pa.Table.from_pylist(
        [{"id": k, "ts": ts, "part": f"p{int(k[1:]) % 2}"} for k in keys], schema=SCHEMA
    )


def _table(path: Path) -> hw.HudiTable:
    table = hw.HudiTable.create(
        str(path),
        SCHEMA,
        record_key=["id"],
        partition_by=["part"],
        ordering_field="ts",
        options=hw.TableOptions(compaction_delta_commits=None),
    )
    table.upsert(_rows([f"k{i}" for i in range(6)], 1))
    return table


PROPS = Path(".hoodie") / "hoodie.properties"
BACKUP = Path(".hoodie") / "hoodie.properties.backup"


def _flag_metadata_table(path: Path) -> None:
    """Make the table look as if Spark had given it a metadata table: the next write
    rewrites ``hoodie.properties`` to remove it."""
    meta = MetaClient.load(Storage(str(path)))
    meta.update_config({Keys.METADATA_PARTITIONS: "files"})
    (path / ".hoodie" / "metadata" / ".hoodie").mkdir(parents=True)


def _partitioned_only(path: Path) -> None:
    """No data file was ever written at the table root (the symptom of a config that lost
    its partition fields)."""
    stray = [p.name for p in path.iterdir() if p.is_file()]
    assert stray == [], stray


def _prefixes(text: str) -> list[str]:
    """Every cut on a line boundary, and cuts inside each line (short of the last line's
    end: without only its newline the file is whole)."""
    cuts = {0, len(text) // 3}
    pos = 0
    for line in text.splitlines(keepends=True):
        cuts |= {pos + 1, pos + len(line) // 2, pos + len(line) - 1, pos + len(line)}
        pos += len(line)
    return [text[:c] for c in sorted(cuts) if c < len(text.rstrip("\n"))]


def test_the_checksum_is_written_last(tmp_path: Path) -> None:
    _table(tmp_path / "t")
    lines = (tmp_path / "t" / PROPS).read_text("latin-1").splitlines()
    assert lines[-1].startswith(Keys.CHECKSUM + "=")
    config = TableConfig(parse_properties("\n".join(lines)))
    text = config.with_updates({Keys.METADATA_PARTITIONS: "files"}).to_text()
    assert text.splitlines()[-1].startswith(Keys.CHECKSUM + "=")


def test_a_torn_config_reads_from_the_backup(tmp_path: Path) -> None:
    path = tmp_path / "t"
    _table(path)
    old = (path / PROPS).read_text("latin-1")
    new = (
        TableConfig.from_text(old)
        .with_updates({Keys.METADATA_PARTITIONS: "files", Keys.DATABASE: None})
        .to_text()
    )
    (path / BACKUP).write_text(old, "latin-1")
    storage = Storage(str(path))
    want = TableConfig.from_text(old).props
    prefixes = _prefixes(new)
    assert len(prefixes) > 40
    for torn in prefixes:
        (path / PROPS).write_text(torn, "latin-1")
        got = read_table_config(storage).props
        assert got == want, f"a config cut after {len(torn)} characters was used"


@pytest.mark.parametrize("cut", ["empty", "before the checksum", "mid-line"])
def test_a_torn_config_without_backup_is_refused(tmp_path: Path, cut: str) -> None:
    path = tmp_path / "t"
    _table(path)
    text = (path / PROPS).read_text("latin-1")
    lines = text.splitlines(keepends=True)
    torn = {
        "empty": "",
        # the case: partition and ordering lines there, the checksum line not
        "before the checksum": "".join(lines[:-1]),
        "mid-line": text[: len(text) // 2],
    }[cut]
    (path / PROPS).write_text(torn, "latin-1")
    before = {p: p.read_bytes() for p in path.rglob("*") if p.is_file()}
    with pytest.raises(CorruptTableError, match=r"hoodie\.properties"):
        hw.HudiTable.open(str(path)).upsert(_rows(["k1", "k9"], 2))
    after = {p: p.read_bytes() for p in path.rglob("*") if p.is_file()}
    assert after == before, "a refused table is left as it was"


class _Killed(BaseException):
    """The process dies (not an exception the library could handle)."""


@pytest.mark.parametrize("fatal_call", range(4))
def test_a_crash_while_the_config_is_rewritten_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fatal_call: int
) -> None:
    """The first write to a table with a metadata table rewrites ``hoodie.properties``. Die
    at each storage call of that rewrite (backup, replace, drop backup) and after the last:
    the table opens, its config is whole, and the next write lands partitioned."""
    path = tmp_path / "t"
    _table(path)
    _flag_metadata_table(path)
    calls = {"n": 0}
    real_replace, real_delete = Storage.replace_file, Storage.delete

    def counted(real: Callable[..., None]) -> Callable[..., None]:
        def call(self: Storage, rel: str, *args: object) -> None:
            if "hoodie.properties" in rel:
                if calls["n"] == fatal_call:
                    raise _Killed(rel)
                calls["n"] += 1
            real(self, rel, *args)

        return call

    with monkeypatch.context() as m:
        m.setattr(Storage, "replace_file", counted(real_replace))
        m.setattr(Storage, "delete", counted(real_delete))
        table = hw.HudiTable.open(str(path))
        if fatal_call < 3:
            with pytest.raises(_Killed):
                table.upsert(_rows(["k1", "k7"], 2))
        else:  # three calls: the rewrite ran through
            table.upsert(_rows(["k1", "k7"], 2))
    config = read_table_config(Storage(str(path)))
    assert config.partition_fields == ("part",)
    assert config.precombine_field == "ts"
    reopened = hw.HudiTable.open(str(path))
    reopened.upsert(_rows(["k2", "k8"], 3))
    rows = {r["id"]: r["ts"] for r in reopened.to_arrow(columns=["id", "ts"]).to_pylist()}
    expected = {f"k{i}": 1 for i in range(6)} | {"k2": 3, "k8": 3}
    if fatal_call == 3:
        expected |= {"k1": 2, "k7": 2}
    assert rows == expected
    # emptied as Java's clearMetadataPartitions leaves it
    assert read_table_config(Storage(str(path))).props.get(Keys.METADATA_PARTITIONS) == ""
    if fatal_call == 2:
        # died before dropping the backup: it stays (another process could be mid-update,
        # so no reader removes it, as in Java) and is the config from before, unused while
        # hoodie.properties is whole
        assert TableConfig.from_text((path / BACKUP).read_text("latin-1")).metadata_partitions
    else:
        assert not (path / BACKUP).exists(), "the last update dropped its backup"
    assert not (path / ".hoodie" / "metadata").exists()
    _partitioned_only(path)


def test_update_applies_to_the_stored_config(tmp_path: Path) -> None:
    """Another writer's property change since this handle loaded is kept."""
    path = tmp_path / "t"
    _table(path)
    mine = MetaClient.load(Storage(str(path)))
    theirs = MetaClient.load(Storage(str(path)))
    theirs.update_config({"hoodie.table.cdc.enabled": "false"})
    updated = mine.update_config({Keys.METADATA_PARTITIONS: "files"})
    assert updated.props["hoodie.table.cdc.enabled"] == "false"
    assert read_table_config(Storage(str(path))).props == updated.props
