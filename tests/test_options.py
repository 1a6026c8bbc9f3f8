"""``TableOptions`` is the one source of every default: the settings each layer takes are
built from it and have no defaults that could drift from it."""

from __future__ import annotations

from pathlib import Path

import attrs
import pyarrow as pa
import pytest

import hudiwrite as hw
from hudiwrite.services.settings import ArchiveSettings, CleanSettings, CompactionSettings
from hudiwrite.write.context import WriteSettings
from tests.fixtures import fixture_zips, unpack


@pytest.mark.parametrize("cls", [WriteSettings, CompactionSettings, CleanSettings, ArchiveSettings])
def test_layer_settings_have_no_defaults_of_their_own(cls: type) -> None:
    with_default = [f.name for f in attrs.fields(cls) if f.default is not attrs.NOTHING]
    assert with_default == []


def test_settings_carry_the_options() -> None:
    opts = hw.TableOptions(
        max_workers=3, parquet_compression="zstd", heartbeat_interval=7.5,
        compaction_delta_commits=9, compaction_log_bytes=1234, clean_retained=4,
        clean_policy="keep_latest_file_versions", archive_min_instants=5,
        archive_max_instants=6, allow_ambiguous_keys=True, small_file_limit=0,
    )  # fmt: skip
    write = opts.write_settings()
    assert (write.max_workers, write.compression, write.heartbeat_interval) == (3, "zstd", 7.5)
    assert write.allow_ambiguous_keys and write.small_file_limit == 0
    compaction = opts.compaction_settings()
    assert (compaction.delta_commits, compaction.log_bytes) == (9, 1234)
    assert (compaction.max_workers, compaction.compression) == (3, "zstd")
    assert opts.clean_settings() == CleanSettings("keep_latest_file_versions", 4)
    assert opts.archive_settings() == ArchiveSettings(5, 6)
    # The defaults reach every layer unchanged.
    default = hw.TableOptions()
    assert default.compaction_settings().max_workers == default.write_settings().max_workers
    assert default.max_workers == default.write_settings().max_workers


@pytest.mark.parametrize(
    ("zip_stem", "version"),
    [("mor_v6_trips_8i1u", 6), ("mor_v8_trips_8i3u1d", 8), ("mor_v9_txns_simple_meta", 9)],
)
def test_an_opened_table_reports_its_own_table_settings(
    zip_stem: str, version: int, tmp_path: Path
) -> None:
    """Table-level options of an opened handle are the table's, not the defaults: a
    version-8 table says 8 (it used to say 6)."""
    (zip_path,) = [z for z in fixture_zips() if z.stem == zip_stem]
    folder = unpack(zip_path, tmp_path)
    (location,) = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("gold")]
    table = hw.HudiTable(str(location))
    assert table.options.table_version == table.table_version == version
    assert table.options.url_encode_partitions == (
        table.properties.get("hoodie.datasource.write.partitionpath.urlencode") == "true"
    )


@pytest.mark.parametrize("version", [8, 9])
def test_creating_a_version_not_written_yet_is_refused(version: int, tmp_path: Path) -> None:
    schema = pa.schema([("id", pa.string()), ("ts", pa.int64())])
    with pytest.raises(hw.UnsupportedTableError, match=f"version {version}"):
        hw.HudiTable.create(
            str(tmp_path / "t"), schema, record_key="id",
            options=hw.TableOptions(table_version=version),
        )  # fmt: skip
    assert not (tmp_path / "t").exists()
