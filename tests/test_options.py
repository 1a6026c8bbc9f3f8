"""``TableOptions`` is the one source of every default: the settings each layer takes are
built from it and have no defaults that could drift from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    assert opts.archive_settings() == ArchiveSettings(5, 6, opts.clean_settings(), 9)
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


#: The keys Spark-Hudi writes for a new MOR table of each 1.x version (the fixtures'
#: hoodie.properties, protocol-v8 §2.1), beyond the ones every version has, with event-time
#: ordering on ``ts``; and the keys that version must not have.
_SPARK_1X_KEYS = {
    8: (
        {
            "hoodie.table.initial.version": "8",
            "hoodie.archivelog.folder": "history",
            "hoodie.timeline.layout.version": "2",
            "hoodie.timeline.path": "timeline",
            "hoodie.timeline.history.path": "history",
            "hoodie.table.keygenerator.type": "SIMPLE",
            "hoodie.record.merge.mode": "EVENT_TIME_ORDERING",
            "hoodie.record.merge.strategy.id": "eeb8d96f-b1e4-49fd-bbf8-28ac514178e5",
            "hoodie.compaction.payload.class": hw.PayloadClass.DEFAULT,
            "hoodie.table.precombine.field": "ts",
        },
        ("hoodie.table.ordering.fields", "hoodie.table.format", "hoodie.table.keygenerator.class"),
    ),
    9: (
        {
            "hoodie.table.initial.version": "9",
            "hoodie.archivelog.folder": "history",
            "hoodie.timeline.layout.version": "2",
            "hoodie.timeline.path": "timeline",
            "hoodie.timeline.history.path": "history",
            "hoodie.table.keygenerator.type": "SIMPLE",
            "hoodie.record.merge.mode": "EVENT_TIME_ORDERING",
            "hoodie.table.ordering.fields": "ts",
            "hoodie.table.format": "native",
        },
        (
            "hoodie.table.precombine.field",
            "hoodie.record.merge.strategy.id",
            "hoodie.compaction.payload.class",
            "hoodie.table.keygenerator.class",
        ),
    ),
}


@pytest.mark.parametrize("version", [8, 9])
def test_creating_a_1x_table_writes_what_spark_writes(version: int, tmp_path: Path) -> None:
    schema = pa.schema([("id", pa.string()), ("ts", pa.int64()), ("p", pa.string())])
    table = hw.HudiTable.create(
        str(tmp_path / "t"), schema, record_key="id", partition_by="p", ordering_field="ts",
        options=hw.TableOptions(table_version=version),
    )  # fmt: skip
    expected, absent = _SPARK_1X_KEYS[version]
    props = table.properties
    assert {k: props.get(k) for k in expected} == expected
    assert [k for k in absent if k in props] == []
    assert props["hoodie.table.version"] == str(version)
    assert (tmp_path / "t/.hoodie/timeline/history").is_dir()
    assert not (tmp_path / "t/.hoodie/archived").exists()  # Spark 1.x creates none
    assert table.options.table_version == version
    assert table.options.merge_mode == "event_time_ordering"
    reopened = hw.HudiTable.open(str(tmp_path / "t"))
    assert reopened.options.merge_mode == "event_time_ordering"
    assert reopened.table_version == version


@pytest.mark.parametrize("version", [8, 9])
def test_1x_merge_mode_options(version: int, tmp_path: Path) -> None:
    """Without an ordering field a 1.x table is commit-time ordered (Spark's default); a
    payload class is translated; contradictions are refused before anything is written."""
    schema = pa.schema([("id", pa.string()), ("ts", pa.int64())])
    plain = hw.HudiTable.create(
        str(tmp_path / "plain"), schema, record_key="id",
        options=hw.TableOptions(table_version=version),
    )  # fmt: skip
    assert plain.properties["hoodie.record.merge.mode"] == "COMMIT_TIME_ORDERING"
    translated = hw.HudiTable.create(
        str(tmp_path / "translated"), schema, record_key="id", ordering_field="ts",
        options=hw.TableOptions(table_version=version, payload_class="DefaultHoodieRecordPayload"),
    )  # fmt: skip
    assert translated.properties["hoodie.record.merge.mode"] == "EVENT_TIME_ORDERING"
    bad: list[tuple[dict[str, Any], str | None, str]] = [
        ({"merge_mode": "event_time_ordering"}, None, "needs an ordering_field"),
        ({"merge_mode": "commit_time_ordering"}, "ts", "ignores ordering fields"),
        (
            {"merge_mode": "commit_time_ordering", "payload_class": "DefaultHoodieRecordPayload"},
            "ts",
            "means merge mode event_time_ordering",
        ),
    ]
    for n, (kwargs, ordering, message) in enumerate(bad):
        with pytest.raises(hw.InvalidOptionError, match=message):
            hw.HudiTable.create(
                str(tmp_path / f"bad{n}"), schema, record_key="id", ordering_field=ordering,
                options=hw.TableOptions(table_version=version, **kwargs),
            )  # fmt: skip
        assert not (tmp_path / f"bad{n}").exists()


def test_merge_mode_is_refused_on_version_6() -> None:
    with pytest.raises(hw.InvalidOptionError, match="payload_class"):
        hw.TableOptions(merge_mode="event_time_ordering")
