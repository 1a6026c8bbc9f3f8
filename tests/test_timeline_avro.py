"""Timeline Avro files: the single-record OCF codec, Hudi's Avro schemas as Java embeds them, and
the v8/v9 commit-metadata codec, checked byte for byte against every Spark-written fixture."""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import fastavro
import orjson
import pytest

from hudiwrite.exceptions import CorruptTableError, InvalidOptionError, InvalidRecordError
from hudiwrite.formats import hudi_avro_schemas as has
from hudiwrite.formats.avro_ocf import (
    MAGIC,
    SYNC_SIZE,
    OcfRecord,
    read_single_record,
    write_single_record,
)
from hudiwrite.timeline.metadata import CommitMetadata, WriteStat
from tests.fixtures import fixture_zips, unpack

# ---------------------------------------------------------------------------------------------
# fixture scan


@attrs.frozen
class TimelineFile:
    zip_name: str
    table: Path  # base path of the table (or of the metadata table) the file belongs to
    path: Path
    area: str  # "data" or "mdt"
    kind: str  # file name without the instant part, e.g. "deltacommit.inflight"
    data: bytes


_INSTANT_PREFIX = re.compile(r"^\d+(?:_\d+)?\.")


def _scan(root: Path, zip_name: str) -> Iterator[TimelineFile]:
    """Every file of every timeline folder (``.hoodie/``, ``.hoodie/timeline/``, ``.aux/``)."""
    for hoodie in sorted(root.rglob(".hoodie")):
        if not hoodie.is_dir():
            continue
        table = hoodie.parent
        area = "mdt" if ".hoodie/metadata" in table.as_posix() else "data"
        for folder in (hoodie, hoodie / "timeline", hoodie / ".aux"):
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if not path.is_file() or path.name.endswith(".crc"):
                    continue
                kind = _INSTANT_PREFIX.sub("", path.name)
                yield TimelineFile(zip_name, table, path, area, kind, path.read_bytes())


@pytest.fixture(scope="module")
def timeline_files(tmp_path_factory: pytest.TempPathFactory) -> list[TimelineFile]:
    base = tmp_path_factory.mktemp("timeline_avro")
    out: list[TimelineFile] = []
    for zip_path in fixture_zips():
        root = unpack(zip_path, base / zip_path.stem)
        out.extend(_scan(root, zip_path.name))
    return out


@pytest.fixture(scope="module")
def avro_files(timeline_files: list[TimelineFile]) -> list[TimelineFile]:
    return [f for f in timeline_files if f.data.startswith(MAGIC)]


def _short(ocf: OcfRecord) -> str:
    return ocf.name.rsplit(".", 1)[-1]


def _read(data: bytes, **kwargs: Any) -> OcfRecord:
    ocf = read_single_record(data, **kwargs)
    assert ocf is not None
    return ocf


# How many Avro timeline files of each kind the fixtures hold: a file that silently stops being
# found (or decoded as another type) changes these numbers.
EXPECTED_AVRO_FILES = {
    ("data", "clustering.requested", "HoodieRequestedReplaceMetadata"): 1,
    ("data", "commit", "HoodieCommitMetadata"): 3,
    ("data", "compaction.requested", "HoodieCompactionPlan"): 3,
    ("data", "deltacommit", "HoodieCommitMetadata"): 43,
    ("data", "deltacommit.inflight", "HoodieCommitMetadata"): 43,
    ("data", "indexing", "HoodieIndexCommitMetadata"): 3,
    ("data", "indexing.requested", "HoodieIndexPlan"): 3,
    ("data", "replacecommit", "HoodieReplaceCommitMetadata"): 2,
    ("data", "replacecommit.inflight", "HoodieCommitMetadata"): 1,
    ("data", "replacecommit.requested", "HoodieRequestedReplaceMetadata"): 1,
    ("data", "rollback", "HoodieRollbackMetadata"): 1,
    ("data", "rollback.requested", "HoodieRollbackPlan"): 1,
    ("mdt", "commit", "HoodieCommitMetadata"): 2,
    ("mdt", "compaction.requested", "HoodieCompactionPlan"): 2,
    ("mdt", "deltacommit", "HoodieCommitMetadata"): 37,
    ("mdt", "deltacommit.inflight", "HoodieCommitMetadata"): 24,
}

EXPECTED_EMPTY_FILES = {
    ("data", "clustering.inflight"): 1,
    ("data", "commit.requested"): 2,
    ("data", "compaction.inflight"): 3,
    ("data", "deltacommit.requested"): 54,
    ("data", "indexing.inflight"): 3,
    ("data", "rollback.inflight"): 1,
    ("mdt", "compaction.inflight"): 2,
    ("mdt", "deltacommit.inflight"): 13,
    ("mdt", "deltacommit.requested"): 37,
}


def test_fixture_avro_files_of_each_kind(avro_files: list[TimelineFile]) -> None:
    found = Counter((f.area, f.kind, _short(_read(f.data))) for f in avro_files)
    assert dict(found) == EXPECTED_AVRO_FILES
    per_zip = Counter(f.zip_name for f in avro_files)
    assert per_zip["mor_v9_txns_simple_meta.zip"] == 65
    assert per_zip["mor_v6_nonpartitioned_rollback.zip"] == 2


def test_empty_timeline_files_read_as_no_content(timeline_files: list[TimelineFile]) -> None:
    empties = [f for f in timeline_files if not f.data]
    assert dict(Counter((f.area, f.kind) for f in empties)) == EXPECTED_EMPTY_FILES
    assert all(read_single_record(f.data) is None for f in empties)


def test_layout2_timeline_holds_only_avro_or_empty_files(
    timeline_files: list[TimelineFile],
) -> None:
    layout2 = [f for f in timeline_files if f.path.parent.name == "timeline"]
    assert len(layout2) == 168 + 102  # Avro (all but the v6 rollback pair) + empty files
    assert all(not f.data or f.data.startswith(MAGIC) for f in layout2)


def test_fixture_files_reencode_byte_for_byte(avro_files: list[TimelineFile]) -> None:
    for f in avro_files:
        ocf = _read(f.data)
        assert ocf.sync_marker == f.data[-SYNC_SIZE:]
        assert ocf.schema == orjson.loads(ocf.schema_json)
        again = write_single_record(ocf.schema_json, ocf.record, sync_marker=ocf.sync_marker)
        assert again == f.data, f.path


def test_embedded_schemas_are_ours_byte_for_byte(avro_files: list[TimelineFile]) -> None:
    covered = set()
    for f in avro_files:
        ocf = _read(f.data)
        assert has.schema_json(_short(ocf)) == ocf.schema_json, f.path
        # printing Java's own text again changes nothing
        assert has.java_schema_json(ocf.schema) == ocf.schema_json
        covered.add(_short(ocf))
    assert covered == {name for _, _, name in EXPECTED_AVRO_FILES}


def test_fixture_records_resolve_to_our_schemas_without_loss(
    avro_files: list[TimelineFile],
) -> None:
    for f in avro_files:
        ocf = _read(f.data)
        ours = has.parsed(_short(ocf))
        resolved = _read(f.data, reader_schema=ours)
        assert resolved.record == ocf.record, f.path
        assert fastavro.validate(resolved.record, ours, raise_errors=True)
        declared = {fld["name"] for fld in has.schema_dict(_short(ocf))["fields"]}
        assert set(resolved.record) == declared


# ---------------------------------------------------------------------------------------------
# schemas: Java's text


# The SCHEMA$ string of Hudi's generated HoodieSavepointMetadata class (savepoint schema is
# unchanged since 0.x), and of HoodieCleanMetadata as 0.14 compiles it (1.x appends
# extraMetadata). Both are Java's Schema.toString() output, independent of our printer.
JAVA_SAVEPOINT = (
    '{"type":"record","name":"HoodieSavepointMetadata","namespace":"org.apache.hudi.avro.model",'
    '"fields":[{"name":"savepointedBy","type":{"type":"string","avro.java.string":"String"}},'
    '{"name":"savepointedAt","type":"long"},{"name":"comments","type":{"type":"string",'
    '"avro.java.string":"String"}},{"name":"partitionMetadata","type":{"type":"map","values":'
    '{"type":"record","name":"HoodieSavepointPartitionMetadata","fields":[{"name":"partitionPath",'
    '"type":{"type":"string","avro.java.string":"String"}},{"name":"savepointDataFile","type":'
    '{"type":"array","items":{"type":"string","avro.java.string":"String"}}}]},'
    '"avro.java.string":"String"}},{"name":"version","type":["int","null"],"default":1}]}'
)
JAVA_CLEAN_METADATA_014 = (
    '{"type":"record","name":"HoodieCleanMetadata","namespace":"org.apache.hudi.avro.model",'
    '"fields":[{"name":"startCleanTime","type":{"type":"string","avro.java.string":"String"}},'
    '{"name":"timeTakenInMillis","type":"long"},{"name":"totalFilesDeleted","type":"int"},'
    '{"name":"earliestCommitToRetain","type":{"type":"string","avro.java.string":"String"}},'
    '{"name":"lastCompletedCommitTimestamp","type":{"type":"string","avro.java.string":"String"},'
    '"default":""},{"name":"partitionMetadata","type":{"type":"map","values":{"type":"record",'
    '"name":"HoodieCleanPartitionMetadata","fields":[{"name":"partitionPath","type":{"type":'
    '"string","avro.java.string":"String"}},{"name":"policy","type":{"type":"string",'
    '"avro.java.string":"String"}},{"name":"deletePathPatterns","type":{"type":"array","items":'
    '{"type":"string","avro.java.string":"String"}}},{"name":"successDeleteFiles","type":{"type":'
    '"array","items":{"type":"string","avro.java.string":"String"}}},{"name":"failedDeleteFiles",'
    '"type":{"type":"array","items":{"type":"string","avro.java.string":"String"}}},{"name":'
    '"isPartitionDeleted","type":["null","boolean"],"default":null}]},"avro.java.string":'
    '"String"}},{"name":"version","type":["int","null"],"default":1},{"name":'
    '"bootstrapPartitionMetadata","type":["null",{"type":"map","values":'
    '"HoodieCleanPartitionMetadata","avro.java.string":"String","default":null}],"default":null}]}'
)


def test_savepoint_schema_is_javas_generated_text() -> None:
    assert has.schema_json("HoodieSavepointMetadata") == JAVA_SAVEPOINT


def test_clean_metadata_is_the_014_schema_plus_extra_metadata() -> None:
    ours = has.schema_dict("HoodieCleanMetadata")
    assert ours["fields"][-1]["name"] == "extraMetadata"
    assert ours["fields"][-1]["default"] is None
    ours["fields"].pop()
    assert orjson.dumps(ours).decode() == JAVA_CLEAN_METADATA_014


_JS = {"avro.java.string": "String"}


def test_java_printer_rules() -> None:
    avsc = {
        "namespace": "x.y",
        "name": "Outer",
        "type": "record",
        "doc": "outer doc",
        "fields": [
            {
                "name": "m",
                "type": {"type": "map", "doc": "dropped", "values": {"type": "long", "doc": "no"}},
                "default": {},
                "doc": "field doc",
            },
            {"name": "a", "type": {"type": "array", "default": [], "items": "string"}},
            {"name": "r", "type": {"type": "record", "name": "Inner", "fields": []}},
            {"name": "r2", "type": ["null", "Inner"], "default": None},
            {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}},
            {"name": "i", "type": "org.apache.hudi.avro.model.HoodieInstantInfo"},
        ],
    }
    expected = {
        "type": "record",
        "name": "Outer",
        "namespace": "x.y",
        "doc": "outer doc",
        "fields": [
            {
                "name": "m",
                "type": {"type": "map", "values": "long", "avro.java.string": "String"},
                "doc": "field doc",
                "default": {},
            },
            {
                "name": "a",
                "type": {
                    "type": "array",
                    "items": {"type": "string", "avro.java.string": "String"},
                    "default": [],
                },
            },
            {"name": "r", "type": {"type": "record", "name": "Inner", "fields": []}},
            {"name": "r2", "type": ["null", "Inner"], "default": None},
            {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}},
            {
                "name": "i",
                "type": {
                    "type": "record",
                    "name": "HoodieInstantInfo",
                    "namespace": "org.apache.hudi.avro.model",
                    "fields": [
                        {"name": "commitTime", "type": {"type": "string", **_JS}},
                        {"name": "action", "type": {"type": "string", **_JS}},
                    ],
                },
            },
        ],
    }
    assert has.java_schema_json(avsc) == orjson.dumps(expected).decode()


def test_named_types_are_spelled_out_once() -> None:
    text = has.schema_json("HoodieArchivedMetaEntry")
    for name in ("HoodieWriteStat", "HoodieInstantInfo", "HoodieCleanPartitionMetadata"):
        assert text.count(f'"name":"{name}"') == 1
    # later uses are references by short name, e.g. in the replace-commit metadata
    assert '"items":"HoodieWriteStat"' in text
    assert '"values":"HoodieCleanPartitionMetadata"' in text


def test_schema_lookup() -> None:
    assert has.schema_json("org.apache.hudi.avro.model.HoodieCleanerPlan") == has.schema_json(
        "HoodieCleanerPlan"
    )
    assert has.full_name("HoodieCleanerPlan") == "org.apache.hudi.avro.model.HoodieCleanerPlan"
    with pytest.raises(InvalidOptionError):
        has.schema_json("HoodieNoSuchThing")
    with pytest.raises(InvalidOptionError):
        has.schema_json("other.namespace.HoodieCleanerPlan")
    required = {
        "HoodieCommitMetadata",
        "HoodieReplaceCommitMetadata",
        "HoodieWriteStat",
        "HoodieCompactionPlan",
        "HoodieCompactionOperation",
        "HoodieCompactionStrategy",
        "HoodieCleanerPlan",
        "HoodieActionInstant",
        "HoodieCleanFileInfo",
        "HoodieCleanMetadata",
        "HoodieCleanPartitionMetadata",
        "HoodieRollbackPlan",
        "HoodieInstantInfo",
        "HoodieRollbackRequest",
        "HoodieRollbackMetadata",
        "HoodieRollbackPartitionMetadata",
        "HoodieRequestedReplaceMetadata",
        "HoodieClusteringPlan",
        "HoodieArchivedMetaEntry",
        "HoodieSavepointMetadata",
    }
    assert required <= set(has.SCHEMA_NAMES)


def test_older_and_newer_readers_resolve_each_other() -> None:
    # 1.x writer (ours), 0.14 reader: the extra field is skipped.
    record = _sample(has.schema_dict("HoodieCleanMetadata"))
    data = write_single_record(has.schema_json("HoodieCleanMetadata"), record)
    old_reader = fastavro.parse_schema(orjson.loads(JAVA_CLEAN_METADATA_014))
    old = _read(data, reader_schema=old_reader).record
    assert "extraMetadata" not in old
    assert old["partitionMetadata"] == record["partitionMetadata"]
    # 0.14 writer, our reader: the missing field takes its default.
    old_record = {k: v for k, v in record.items() if k != "extraMetadata"}
    old_data = write_single_record(JAVA_CLEAN_METADATA_014, old_record)
    new = _read(old_data, reader_schema=has.parsed("HoodieCleanMetadata")).record
    assert new == {**old_record, "extraMetadata": None}


# ---------------------------------------------------------------------------------------------
# records built here, through every schema


def _varint(n: int) -> bytes:
    """Avro's zig-zag base-128 long."""
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_PRIMITIVE_SAMPLES: dict[str, Any] = {
    "boolean": True,
    "int": 7,
    "long": 2**40 + 3,
    "float": 0.5,
    "double": 1.25,
    "bytes": b"\x00\xff",
    "string": "s\u00e9/x",
}


def _sample(node: Any, named: dict[str, Any] | None = None, tag: str = "") -> Any:
    """A value for every field of ``node``: unions take their non-null branch, so every nested
    type is exercised; maps include the empty key (non-partitioned tables use it)."""
    named = {} if named is None else named
    if isinstance(node, list):
        branch = next(b for b in node if b != "null")
        return _sample(branch, named, tag)
    if isinstance(node, str):
        if node in _PRIMITIVE_SAMPLES:
            value = _PRIMITIVE_SAMPLES[node]
            return f"{value}{tag}" if node == "string" else value
        return _sample(named[node.rsplit(".", 1)[-1]], named, tag)
    kind = node["type"]
    if kind == "record":
        named[node["name"]] = node
        return {f["name"]: _sample(f["type"], named, f["name"]) for f in node["fields"]}
    if kind == "array":
        return [_sample(node["items"], named, f"{tag}0"), _sample(node["items"], named, f"{tag}1")]
    if kind == "map":
        return {"": _sample(node["values"], named, tag), "p=1": _sample(node["values"], named)}
    return _sample(kind, named, tag)


@pytest.mark.parametrize("name", has.SCHEMA_NAMES)
def test_built_records_round_trip(name: str) -> None:
    record = _sample(has.schema_dict(name))
    sync = bytes(range(16))
    data = write_single_record(has.schema_json(name), record, sync_marker=sync)
    ocf = _read(data)
    assert ocf.record == record
    assert ocf.schema_json == has.schema_json(name)
    assert ocf.sync_marker == sync
    assert ocf.name == f"org.apache.hudi.avro.model.{name}"
    # an independent reader agrees, and sees no metadata but the schema
    reader = fastavro.reader(io.BytesIO(data))
    assert list(reader) == [record]
    assert set(reader.metadata) == {"avro.schema"}
    # re-encoding is stable, and a fresh sync marker is random
    assert write_single_record(ocf.schema_json, ocf.record, sync_marker=sync) == data
    other = write_single_record(has.schema_json(name), record)
    assert other[-SYNC_SIZE:] != sync
    assert other[:-SYNC_SIZE].replace(other[-SYNC_SIZE:], sync) == data[:-SYNC_SIZE]


def test_dict_schema_is_embedded_as_compact_json_in_its_order() -> None:
    schema = has.schema_dict("HoodieRollbackPlan")
    record: dict[str, Any] = {"instantToRollback": None, "RollbackRequests": [], "version": 1}
    data = write_single_record(schema, record)
    assert _read(data).schema_json == has.schema_json("HoodieRollbackPlan")


def test_header_layout_is_javas() -> None:
    text = has.schema_json("HoodieInstantInfo").encode()
    data = write_single_record(
        text.decode(), {"commitTime": "1", "action": "deltacommit"}, sync_marker=b"S" * 16
    )
    datum = b"\x021" + b"\x16deltacommit"  # two strings: zig-zag length, UTF-8 bytes
    expected = b"".join(
        [
            MAGIC,
            b"\x02",  # metadata map: one entry
            b"\x16avro.schema",
            _varint(len(text)),
            text,
            b"\x00",  # end of map: no avro.codec
            b"S" * 16,
            b"\x02",  # one record
            bytes([2 * len(datum)]),
            datum,
            b"S" * 16,
        ]
    )
    assert data == expected


# ---------------------------------------------------------------------------------------------
# malformed input


def _ocf(meta: dict[str, bytes], blocks: list[tuple[int, bytes]], sync: bytes = b"Z" * 16) -> bytes:
    """An OCF built by hand from the Avro spec, to feed the reader what fastavro would not."""
    varint = _varint
    parts = [MAGIC, varint(len(meta))]
    for key, value in meta.items():
        parts += [varint(len(key)), key.encode(), varint(len(value)), value]
    parts += [varint(0), sync]
    for count, body in blocks:
        parts += [varint(count), varint(len(body)), body, sync]
    return b"".join(parts)


_INFO_SCHEMA = has.schema_json("HoodieInstantInfo").encode()
_INFO_DATUM = b"\x021" + b"\x16deltacommit"


def test_hand_built_container_reads() -> None:
    data = _ocf({"avro.schema": _INFO_SCHEMA}, [(1, _INFO_DATUM)])
    assert _read(data).record == {"commitTime": "1", "action": "deltacommit"}
    with_codec = _ocf({"avro.schema": _INFO_SCHEMA, "avro.codec": b"null"}, [(1, _INFO_DATUM)])
    assert _read(with_codec).record == {"commitTime": "1", "action": "deltacommit"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PAR1" + b"\x00" * 40, "magic"),
        (b'{"partitionToWriteStats": {}}', "magic"),
        (_ocf({"avro.schema": _INFO_SCHEMA}, [(1, _INFO_DATUM)] * 2), "more than one"),
        (_ocf({"avro.schema": _INFO_SCHEMA}, [(2, _INFO_DATUM * 2)]), "more than one"),
        (_ocf({"avro.schema": _INFO_SCHEMA}, []), "no record"),
        (_ocf({"avro.schema": _INFO_SCHEMA}, [(0, b"")]), "no record"),
        (
            _ocf({"avro.schema": _INFO_SCHEMA, "avro.codec": b"zstandard"}, [(1, _INFO_DATUM)]),
            "codec",
        ),
        (_ocf({}, [(1, _INFO_DATUM)]), "no avro.schema"),
        (_ocf({"avro.schema": b"{not json"}, [(1, _INFO_DATUM)]), "not valid JSON"),
        (_ocf({"avro.schema": b'"string"'}, [(1, b"\x02a")]), "not a record schema"),
        (
            _ocf({"avro.schema": b'{"type":"record","name":"X","fields":[{"name":"a"}]}'}, []),
            "does not parse",
        ),
        (_ocf({"avro.schema": _INFO_SCHEMA}, [(1, _INFO_DATUM + b"\x00")]), "bytes after"),
        (_ocf({"avro.schema": _INFO_SCHEMA}, [(1, _INFO_DATUM[:-3])]), "does not decode"),
        (_ocf({"avro.schema": _INFO_SCHEMA}, [(-1, _INFO_DATUM)]), "negative"),
        (_ocf({"avro.schema": _INFO_SCHEMA}, [(1, _INFO_DATUM)]) + b"\x02", "truncated"),
        (_ocf({"avro.schema": _INFO_SCHEMA}, [(1, _INFO_DATUM)])[:-1], "truncated"),
        (_ocf({"avro.schema": _INFO_SCHEMA}, [(1, _INFO_DATUM)])[:20], "truncated"),
        (MAGIC + b"\xff" * 12, "varint"),
    ],
)
def test_malformed_containers_are_corrupt(data: bytes, message: str) -> None:
    with pytest.raises(CorruptTableError, match=message):
        read_single_record(data)


def test_sync_marker_mismatch_is_corrupt() -> None:
    good = _ocf({"avro.schema": _INFO_SCHEMA}, [(1, _INFO_DATUM)])
    bad = good[:-1] + bytes([good[-1] ^ 1])
    with pytest.raises(CorruptTableError, match="sync marker"):
        read_single_record(bad)


def test_every_truncation_of_a_real_file_is_corrupt(avro_files: list[TimelineFile]) -> None:
    data = next(f.data for f in avro_files if f.kind == "rollback.requested")
    for cut in range(1, len(data)):
        with pytest.raises(CorruptTableError):
            read_single_record(data[:cut])


def test_deflate_containers_read() -> None:
    schema = orjson.loads(has.schema_json("HoodieInstantInfo"))
    buf = io.BytesIO()
    record = {"commitTime": "20240101000000000", "action": "clean"}
    fastavro.writer(buf, schema, [record], codec="deflate")
    assert _read(buf.getvalue()).record == record


def test_writer_rejects_bad_input() -> None:
    schema = has.schema_json("HoodieInstantInfo")
    with pytest.raises(InvalidOptionError):
        write_single_record(schema, {"commitTime": "1", "action": "x"}, sync_marker=b"short")
    with pytest.raises(InvalidRecordError):
        write_single_record(schema, {"commitTime": None, "action": "x"})
    with pytest.raises(InvalidRecordError):
        write_single_record(has.schema_json("HoodieCleanerPlan"), {"policy": 3})
    with pytest.raises(InvalidOptionError):
        write_single_record('{"type":"nonsense"}', {})


# ---------------------------------------------------------------------------------------------
# commit metadata (v8/v9)


_COMPLETED = re.compile(r"^\d+_\d+\.(deltacommit|commit|replacecommit)$")


def _data_files(partition_dir: Path) -> list[str]:
    return (
        [p.name for p in partition_dir.iterdir() if p.is_file()] if partition_dir.is_dir() else []
    )


def test_completed_commits_match_the_data_files(avro_files: list[TimelineFile]) -> None:
    completed = [f for f in avro_files if f.area == "data" and _COMPLETED.match(f.path.name)]
    assert len(completed) == 48
    ops: Counter[str] = Counter()
    for f in completed:
        replace = f.kind == "replacecommit"
        obj = has.decode_commit_metadata(f.data)
        assert list(obj)[:2] == (
            ["partitionToWriteStats", "partitionToReplaceFileIds"]
            if replace
            else ["partitionToWriteStats", "compacted"]
        )
        ops[obj["operationType"]] += 1
        assert obj["compacted"] == (obj["operationType"] == "COMPACT")
        for partition, stats in obj["partitionToWriteStats"].items():
            for stat in stats:
                assert set(stat) == set(has.WRITE_STAT_FIELDS)
                assert stat["partitionPath"] == partition
                folder, _, name = stat["path"].rpartition("/")
                assert folder == partition
                assert name.lstrip(".").startswith(stat["fileId"] + "_")
                assert (f.table / stat["path"]).is_file(), stat["path"]
                on_disk = (f.table / stat["path"]).stat().st_size
                if stat["logFiles"] is None:
                    assert stat["fileSizeInBytes"] == on_disk
                else:  # later commits may append blocks to the same log file
                    assert 0 < stat["fileSizeInBytes"] <= on_disk
                if stat["logFiles"] is not None:
                    assert stat["logFiles"] == [name]
                    assert stat["baseFile"] == ""
        for partition, ids in (obj.get("partitionToReplaceFileIds") or {}).items():
            names = _data_files(f.table / partition)
            for file_id in ids:
                assert any(n.lstrip(".").startswith(file_id + "_") for n in names)
        # the JSON-side class reads the same dict
        meta = CommitMetadata.from_json_bytes(orjson.dumps(obj))
        assert meta.operation_type == obj["operationType"]
        assert {(s.partition_path, s.file_id, s.path) for s in meta.all_stats()} == {
            (s["partitionPath"], s["fileId"], s["path"])
            for stats in obj["partitionToWriteStats"].values()
            for s in stats
        }
        assert (meta.partition_to_replace_file_ids is not None) == replace
        # and writing the dict back gives Spark's bytes
        again = has.encode_commit_metadata(obj, replace=replace, sync_marker=f.data[-SYNC_SIZE:])
        assert again == f.data, f.path
    assert ops["COMPACT"] == 3
    assert ops["INSERT_OVERWRITE"] == 1
    assert ops["CLUSTER"] == 1


def test_workload_profiles_decode(avro_files: list[TimelineFile]) -> None:
    inflight = [
        f for f in avro_files if f.kind in ("deltacommit.inflight", "replacecommit.inflight")
    ]
    assert len(inflight) == 43 + 1 + 24
    for f in inflight:
        obj = has.decode_commit_metadata(f.data)
        assert obj["extraMetadata"] == {}
        for stat in (s for stats in obj["partitionToWriteStats"].values() for s in stats):
            # a workload profile: counts per (partition, file group), "" for the insert bucket
            assert stat["path"] is None
            assert stat["partitionPath"] is None
            assert isinstance(stat["fileId"], str)
        assert CommitMetadata.from_json_bytes(orjson.dumps(obj)).operation_type != "UNKNOWN"
        assert has.encode_commit_metadata(obj, sync_marker=f.data[-SYNC_SIZE:]) == f.data


def test_decode_commit_metadata_edge_cases(avro_files: list[TimelineFile]) -> None:
    assert has.decode_commit_metadata(b"") == {
        "partitionToWriteStats": {},
        "compacted": False,
        "extraMetadata": {},
        "operationType": "UNKNOWN",
    }
    plan = next(f for f in avro_files if f.kind == "compaction.requested")
    with pytest.raises(CorruptTableError, match="HoodieCompactionPlan"):
        has.decode_commit_metadata(plan.data)
    with pytest.raises(CorruptTableError):
        has.decode_commit_metadata(b'{"partitionToWriteStats": {}}')


def test_commit_metadata_from_the_json_side_round_trips() -> None:
    insert = WriteStat(
        file_id="f1-0",
        path="p=1/f1-0_0-1-2_20250101000000000.parquet",
        partition_path="p=1",
        num_writes=3,
        num_inserts=3,
        total_write_bytes=4000,
        file_size=4000,
        runtime_stats={"totalScanTime": 0, "totalCreateTime": 5, "totalUpsertTime": 0},
    )
    log = WriteStat(
        file_id="f2-0",
        path="p=1/.f2-0_20250101000000001.log.1_0-1-2",
        partition_path="p=1",
        prev_commit="20250101000000001",
        num_writes=1,
        num_update_writes=1,
        total_write_bytes=900,
        file_size=900,
        log_version=1,
        log_offset=0,
        base_file="",
        log_files=(".f2-0_20250101000000001.log.1_0-1-2",),
    )
    meta = CommitMetadata(
        partition_to_write_stats={"p=1": (insert, log), "": ()},
        operation_type="UPSERT",
        extra_metadata={"schema": '{"type":"record"}'},
    )
    data = has.encode_commit_metadata(meta.to_json_obj())
    obj = has.decode_commit_metadata(data)
    assert obj["operationType"] == "UPSERT"
    assert obj["compacted"] is False
    assert "version" not in obj  # null, as Spark writes it
    assert CommitMetadata.from_json_bytes(orjson.dumps(obj)) == meta

    replaced = attrs.evolve(meta, partition_to_replace_file_ids={"p=1": ("f0-0",)})
    with pytest.raises(InvalidOptionError):
        has.encode_commit_metadata(replaced.to_json_obj())
    data = has.encode_commit_metadata(replaced.to_json_obj(), replace=True)
    assert _read(data).name == "org.apache.hudi.avro.model.HoodieReplaceCommitMetadata"
    obj = has.decode_commit_metadata(data)
    assert obj["partitionToReplaceFileIds"] == {"p=1": ["f0-0"]}
    assert CommitMetadata.from_json_bytes(orjson.dumps(obj)) == replaced


def test_encode_commit_metadata_fills_javas_defaults() -> None:
    obj = has.decode_commit_metadata(has.encode_commit_metadata({}))
    assert obj == {
        "partitionToWriteStats": {},
        "compacted": False,
        "extraMetadata": {},
        "operationType": "UNKNOWN",
    }
    obj = has.decode_commit_metadata(
        has.encode_commit_metadata({"version": 1, "extraMetadata": None, "compacted": None})
    )
    assert obj["version"] == 1
    assert obj["extraMetadata"] is None
    assert obj["compacted"] is None


def test_commit_metadata_from_an_older_writer_gets_defaults() -> None:
    # A writer whose HoodieWriteStat predates numUpdates/tempPath (older Hudi): Java fills the
    # missing fields from its class's defaults, and so do we.
    old = has.schema_dict("HoodieCommitMetadata")
    stat_schema = old["fields"][0]["type"][1]["values"]["items"]
    stat_schema["fields"] = [
        fld for fld in stat_schema["fields"] if fld["name"] not in ("numUpdates", "tempPath")
    ]
    stat: dict[str, Any] = {fld["name"]: None for fld in stat_schema["fields"]}
    stat.update(fileId="f1-0", path="f1-0_0-1-2_1.parquet", partitionPath="", numWrites=2)
    record = {
        "partitionToWriteStats": {"": [stat]},
        "compacted": False,
        "extraMetadata": {},
        "version": None,
        "operationType": "INSERT",
    }
    data = write_single_record(old, record)
    obj = has.decode_commit_metadata(data)
    (decoded,) = obj["partitionToWriteStats"][""]
    assert decoded["numWrites"] == 2
    assert decoded["numUpdates"] is None
    assert decoded["tempPath"] is None
    assert list(decoded) == list(has.WRITE_STAT_FIELDS)


def test_fixture_zips_hold_commit_metadata_as_avro_only_in_layout_2() -> None:
    # v6 tables keep JSON commit metadata: nothing in .hoodie/ of a v6 zip is an Avro commit.
    for zip_path in fixture_zips():
        with zipfile.ZipFile(zip_path) as zf:
            for member in zf.namelist():
                if "/.hoodie/timeline/" in member or not member.endswith(".deltacommit"):
                    continue
                assert not zf.read(member).startswith(MAGIC), member
