"""Log block and log file codecs against the Spark-written fixtures and synthetic edge cases."""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastavro
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hudiwrite.exceptions import CorruptTableError, UnsupportedTableError
from hudiwrite.formats.logblock.avro_data import (
    avro_block_content,
    avro_data_block,
    avro_records_content,
    decode_avro_records,
    read_avro_block_content,
)
from hudiwrite.formats.logblock.command import rollback_command_block
from hudiwrite.formats.logblock.delete import (
    DELETE_RECORD_LIST_SCHEMA,
    DELETE_RECORD_LIST_SCHEMA_V9,
    DeleteRecords,
    OrderingKind,
    delete_block,
    delete_block_content,
    read_delete_block_content,
)
from hudiwrite.formats.logblock.frame import (
    MAGIC,
    BlockType,
    HeaderKey,
    LogBlock,
    data_block_header,
    decode_block,
    encode_block,
)
from hudiwrite.formats.logblock.parquet_data import (
    parquet_block_content,
    parquet_data_block,
    read_parquet_block_content,
)
from hudiwrite.formats.logfile import CorruptBlock, LogFileBlock, LogFileEntry, read_blocks
from tests.fixtures import fixture_zips, unpack

# FSUtils' log-name pattern, anchored so that Hadoop's ``..<name>.crc`` side files drop out.
LOG_NAME = re.compile(r"^\.(.+)_(.*)\.log\.(\d+)(_(\d+)-(\d+)-(\d+))?(\.cdc)?$")
UTC = dt.timezone.utc


# ----------------------------------------------------------------------------------------------
# Fixtures: every log file of every Spark-written zip
# ----------------------------------------------------------------------------------------------


class LogFile:
    def __init__(self, zip_name: str, path: Path, root: Path) -> None:
        self.zip_name = zip_name
        self.rel = str(path.relative_to(root))
        self.data = path.read_bytes()
        self.metadata_table = "/.hoodie/metadata/" in f"/{self.rel}"

    def __repr__(self) -> str:
        return f"{self.zip_name}:{self.rel}"


@pytest.fixture(scope="module")
def log_files(tmp_path_factory: pytest.TempPathFactory) -> list[LogFile]:
    found: list[LogFile] = []
    for zip_path in fixture_zips():
        dest = tmp_path_factory.mktemp(zip_path.stem)  # two zips share a top folder name
        top = unpack(zip_path, dest)
        for path in sorted(top.rglob(".*")):
            rel = path.relative_to(top)
            if rel.parts[0].startswith("gold_") or not path.is_file():
                continue
            if LOG_NAME.match(path.name):
                found.append(LogFile(zip_path.stem, path, top))
    return found


def blocks_of(log: LogFile) -> list[LogFileBlock]:
    return [e for e in read_blocks(log.data) if isinstance(e, LogFileBlock)]


def test_fixtures_hold_every_block_kind(log_files: list[LogFile]) -> None:
    kinds = Counter(
        (log.metadata_table, b.block.block_type) for log in log_files for b in blocks_of(log)
    )
    for block_type in (BlockType.COMMAND_BLOCK, BlockType.DELETE_BLOCK):
        assert kinds[(False, block_type)] > 0
    assert kinds[(False, BlockType.AVRO_DATA_BLOCK)] >= 10
    assert kinds[(False, BlockType.PARQUET_DATA_BLOCK)] >= 3
    assert kinds[(True, BlockType.HFILE_DATA_BLOCK)] > 0
    assert kinds[(True, BlockType.DELETE_BLOCK)] > 0


def test_every_fixture_block_reencodes_byte_for_byte(log_files: list[LogFile]) -> None:
    checked = 0
    for log in log_files:
        entries = read_blocks(log.data)
        # entries tile the file: every byte belongs to exactly one entry, in order
        assert [e.offset for e in entries] == [
            sum(e.size for e in entries[:i]) for i in range(len(entries))
        ], log
        assert sum(e.size for e in entries) == len(log.data), log
        for entry in entries:
            if isinstance(entry, CorruptBlock):
                assert log.zip_name == "mor_table_corrupt_tail_block", log
                continue
            raw = log.data[entry.offset : entry.offset + entry.size]
            assert encode_block(entry.block) == raw, log
            assert decode_block(raw) == entry.block
            assert entry.block.footer == ()
            assert entry.block.instant_time is not None
            checked += 1
    assert checked > 200


def test_fixture_avro_blocks_decode_and_reencode(log_files: list[LogFile]) -> None:
    seen = 0
    for log in log_files:
        for entry in blocks_of(log):
            block = entry.block
            if block.block_type != BlockType.AVRO_DATA_BLOCK:
                continue
            schema = block.schema
            assert schema is not None
            assert block.content[:4] == b"\x00\x00\x00\x03", log  # content version 3 everywhere
            # record level (fastavro dicts) ...
            records = decode_avro_records(block.content, schema)
            assert records, log
            assert avro_records_content(records, schema) == block.content, log
            # ... and Arrow level
            table = read_avro_block_content(block.content, schema)
            assert table.num_rows == len(records)
            assert table.column("_hoodie_commit_time").to_pylist() == [
                r["_hoodie_commit_time"] for r in records
            ]
            assert avro_block_content(table, schema) == block.content, log
            seen += 1
    assert seen >= 10


def test_fixture_avro_block_logical_types(log_files: list[LogFile]) -> None:
    # v9_txns_simple_meta carries timestamp-micros, date and fixed decimals.
    (log,) = [
        f
        for f in log_files
        if f.zip_name == "mor_v9_txns_simple_meta"
        and not f.metadata_table
        and "region=apac" in f.rel
    ]
    (entry,) = blocks_of(log)
    schema = entry.block.schema
    assert schema is not None
    table = read_avro_block_content(entry.block.content, schema)
    assert table.schema.field("txn_datetime").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("txn_date").type == pa.date32()
    assert table.schema.field("amount").type == pa.decimal128(15, 2)
    (record,) = decode_avro_records(entry.block.content, schema)
    (row,) = table.to_pylist()
    for name in ("txn_datetime", "txn_date", "amount", "txn_id"):
        assert row[name] == record[name]


def test_fixture_delete_blocks_decode_and_reencode(log_files: list[LogFile]) -> None:
    ordering: dict[str, list[Any]] = {}
    seen = 0
    for log in log_files:
        for entry in blocks_of(log):
            block = entry.block
            if block.block_type != BlockType.DELETE_BLOCK:
                continue
            assert block.content[:4] == b"\x00\x00\x00\x03", log
            table = read_delete_block_content(block.content)
            assert table.column_names == [
                "record_key",
                "partition_path",
                "ordering_kind",
                "ordering_value",
            ]
            assert delete_block_content(table) == block.content, log
            if not log.metadata_table:
                assert table.num_rows > 0
                assert block.get(HeaderKey.SCHEMA) is not None
                ordering[log.zip_name] = list(
                    zip(
                        table.column("ordering_kind").to_pylist(),
                        table.column("ordering_value").to_pylist(),
                        strict=True,
                    )
                )
            seen += 1
    assert seen > 50
    # Spark SQL DELETE writes IntWrapper(0); these two tables delete with real ordering values.
    assert set(ordering["mor_v6_trips_8i3d"]) == {(OrderingKind.INT, 0)}
    assert sorted(ordering["mor_table_delete_ord_int"]) == [(2, 3), (2, 4)]
    assert sorted(ordering["mor_table_delete_ord_string"]) == [(7, "ord_3"), (7, "ord_4")]


def test_fixture_parquet_blocks_are_whole_parquet_files(log_files: list[LogFile]) -> None:
    seen = 0
    for log in log_files:
        for entry in blocks_of(log):
            block = entry.block
            if block.block_type != BlockType.PARQUET_DATA_BLOCK:
                continue
            content = block.content
            assert content[:4] == b"PAR1"
            assert content[-4:] == b"PAR1"
            table = read_parquet_block_content(content)
            meta = pq.ParquetFile(pa.BufferReader(content)).metadata
            assert table.num_rows == meta.num_rows > 0
            schema = block.schema
            assert schema is not None
            names = [f["name"] for f in orjson.loads(schema)["fields"]]
            assert table.column_names == names
            seen += 1
    assert seen >= 5


def test_corrupt_tail_fixture_yields_corrupt_block(log_files: list[LogFile]) -> None:
    logs = [f for f in log_files if f.zip_name == "mor_table_corrupt_tail_block"]
    torn = [f for f in logs if any(isinstance(e, CorruptBlock) for e in read_blocks(f.data))]
    assert len(torn) == 1
    entries = read_blocks(torn[0].data)
    assert [type(e) for e in entries] == [LogFileBlock, CorruptBlock]
    tail = entries[-1]
    assert isinstance(tail, CorruptBlock)
    assert tail.offset + tail.size == len(torn[0].data)
    assert tail.data.startswith(MAGIC)
    assert "past the end" in tail.reason


def test_fixture_header_orders_vary(log_files: list[LogFile]) -> None:
    # Java's HashMap order: both orders occur, so LogBlock keeps the order it read.
    orders = {
        tuple(k for k, _ in b.block.header)
        for log in log_files
        if not log.metadata_table
        for b in blocks_of(log)
        if b.block.block_type == BlockType.AVRO_DATA_BLOCK
    }
    assert orders == {
        (HeaderKey.INSTANT_TIME, HeaderKey.SCHEMA),
        (HeaderKey.SCHEMA, HeaderKey.INSTANT_TIME),
    }


# ----------------------------------------------------------------------------------------------
# Framing and command blocks
# ----------------------------------------------------------------------------------------------

# protocol-v6.md §5.1: the annotated 105-byte rollback command block.
ANNOTATED_COMMAND_BLOCK = bytes.fromhex(
    "234855444923"
    "000000000000005b"
    "00000001"
    "00000000"
    "00000003"
    "00000000"
    "00000011" + b"20250126040936578".hex() + "00000003"
    "00000001" + b"0".hex() + "00000001"
    "00000011" + b"20250126040826878".hex() + "0000000000000000"
    "00000000"
    "0000000000000061"
)


def test_hand_built_command_block_matches_annotated_example() -> None:
    block = LogBlock(
        BlockType.COMMAND_BLOCK,
        [
            (HeaderKey.INSTANT_TIME, "20250126040936578"),
            (HeaderKey.COMMAND_BLOCK_TYPE, "0"),
            (HeaderKey.TARGET_INSTANT_TIME, "20250126040826878"),
        ],
    )
    encoded = encode_block(block)
    assert len(encoded) == 105
    assert encoded == ANNOTATED_COMMAND_BLOCK
    assert decode_block(encoded) == block


def test_rollback_command_block_helper() -> None:
    block = rollback_command_block("20250126040936578", "20250126040826878")
    assert block.header == (
        (HeaderKey.INSTANT_TIME, "20250126040936578"),
        (HeaderKey.TARGET_INSTANT_TIME, "20250126040826878"),
        (HeaderKey.COMMAND_BLOCK_TYPE, "0"),
    )
    encoded = encode_block(block)
    assert len(encoded) == 105
    assert dict(decode_block(ANNOTATED_COMMAND_BLOCK).header) == dict(block.header)
    assert block.content == b""


def test_header_order_and_non_ascii_values_survive() -> None:
    header = [(HeaderKey.SCHEMA, '{"doc":"naïve ✓"}'), (HeaderKey.INSTANT_TIME, "1")]
    block = LogBlock(BlockType.AVRO_DATA_BLOCK, header, b"\x00\x00\x00\x03\x00\x00\x00\x00")
    decoded = decode_block(encode_block(block))
    assert decoded.header == tuple(header)
    assert decoded == block
    assert data_block_header("1", "{}") == (
        (HeaderKey.INSTANT_TIME, "1"),
        (HeaderKey.SCHEMA, "{}"),
    )


def test_decode_block_refuses_what_java_refuses() -> None:
    good = encode_block(rollback_command_block("1", "0"))
    with pytest.raises(CorruptTableError):
        decode_block(good[:-1])
    unknown_key = bytearray(good)
    unknown_key[26:30] = (42).to_bytes(4, "big")  # first header key ordinal
    with pytest.raises(UnsupportedTableError):
        decode_block(bytes(unknown_key))
    unknown_type = bytearray(good)
    unknown_type[18:22] = (99).to_bytes(4, "big")
    with pytest.raises(UnsupportedTableError):
        decode_block(bytes(unknown_type))
    with pytest.raises(UnsupportedTableError):
        encode_block(LogBlock(BlockType.COMMAND_BLOCK, format_version=0))


# ----------------------------------------------------------------------------------------------
# Avro and Parquet data blocks: Arrow round trips with nested types
# ----------------------------------------------------------------------------------------------


def _opt(avro_type: Any) -> list[Any]:
    return ["null", avro_type]


NS = "hoodie.nested.nested_record"
NESTED_AVRO: dict[str, Any] = {
    "type": "record",
    "name": "nested_record",
    "namespace": "hoodie.nested",
    "fields": [
        {"name": "_hoodie_commit_time", "type": _opt("string"), "doc": "", "default": None},
        {"name": "id", "type": "long"},
        {"name": "name", "type": _opt("string"), "default": None},
        {
            "name": "price",
            "type": _opt(
                {
                    "type": "fixed",
                    "name": "fixed",
                    "namespace": f"{NS}.price",
                    "size": 8,
                    "logicalType": "decimal",
                    "precision": 18,
                    "scale": 4,
                }
            ),
            "default": None,
        },
        {
            "name": "big",
            "type": _opt({"type": "bytes", "logicalType": "decimal", "precision": 40, "scale": 6}),
            "default": None,
        },
        {"name": "day", "type": _opt({"type": "int", "logicalType": "date"}), "default": None},
        {
            "name": "ts",
            "type": _opt({"type": "long", "logicalType": "timestamp-micros"}),
            "default": None,
        },
        {
            "name": "local_ts",
            "type": _opt({"type": "long", "logicalType": "local-timestamp-micros"}),
            "default": None,
        },
        {"name": "tod", "type": _opt({"type": "long", "logicalType": "time-micros"})},
        {"name": "blob", "type": _opt("bytes"), "default": None},
        {"name": "flag", "type": _opt("boolean"), "default": None},
        {"name": "ratio", "type": _opt("float"), "default": None},
        {
            "name": "addr",
            "type": _opt(
                {
                    "type": "record",
                    "name": "addr",
                    "namespace": NS,
                    "fields": [
                        {"name": "street", "type": _opt("string"), "default": None},
                        {"name": "zip", "type": _opt("int"), "default": None},
                        {
                            "name": "geo",
                            "type": _opt(
                                {
                                    "type": "record",
                                    "name": "geo",
                                    "namespace": f"{NS}.addr",
                                    "fields": [
                                        {"name": "lat", "type": "double"},
                                        {"name": "lon", "type": "double"},
                                    ],
                                }
                            ),
                            "default": None,
                        },
                    ],
                }
            ),
            "default": None,
        },
        {
            "name": "items",
            "type": _opt(
                {
                    "type": "array",
                    "items": _opt(
                        {
                            "type": "record",
                            "name": "items",
                            "namespace": NS,
                            "fields": [
                                {"name": "sku", "type": _opt("string"), "default": None},
                                {"name": "qty", "type": _opt("int"), "default": None},
                                {
                                    "name": "tags",
                                    "type": _opt({"type": "map", "values": _opt("long")}),
                                    "default": None,
                                },
                            ],
                        }
                    ),
                }
            ),
            "default": None,
        },
        {
            "name": "attrs",
            "type": _opt(
                {
                    "type": "map",
                    "values": _opt(
                        {
                            "type": "record",
                            "name": "attrs",
                            "namespace": NS,
                            "fields": [
                                {"name": "a", "type": _opt("string"), "default": None},
                                {
                                    "name": "when",
                                    "type": _opt(
                                        {"type": "long", "logicalType": "timestamp-micros"}
                                    ),
                                    "default": None,
                                },
                            ],
                        }
                    ),
                }
            ),
            "default": None,
        },
        {"name": "nums", "type": _opt({"type": "array", "items": "int"}), "default": None},
    ],
}

NESTED_ARROW = pa.schema(
    [
        pa.field("_hoodie_commit_time", pa.string()),
        pa.field("id", pa.int64(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("price", pa.decimal128(18, 4)),
        pa.field("big", pa.decimal256(40, 6)),
        pa.field("day", pa.date32()),
        pa.field("ts", pa.timestamp("us", tz="UTC")),
        pa.field("local_ts", pa.timestamp("us")),
        pa.field("tod", pa.time64("us")),
        pa.field("blob", pa.binary()),
        pa.field("flag", pa.bool_()),
        pa.field("ratio", pa.float32()),
        pa.field(
            "addr",
            pa.struct(
                [
                    ("street", pa.string()),
                    ("zip", pa.int32()),
                    (
                        "geo",
                        pa.struct(
                            [
                                pa.field("lat", pa.float64(), nullable=False),
                                pa.field("lon", pa.float64(), nullable=False),
                            ]
                        ),
                    ),
                ]
            ),
        ),
        pa.field(
            "items",
            pa.list_(
                pa.struct(
                    [
                        ("sku", pa.string()),
                        ("qty", pa.int32()),
                        ("tags", pa.map_(pa.string(), pa.int64())),
                    ]
                )
            ),
        ),
        pa.field(
            "attrs",
            pa.map_(
                pa.string(),
                pa.struct([("a", pa.string()), ("when", pa.timestamp("us", tz="UTC"))]),
            ),
        ),
        pa.field("nums", pa.list_(pa.field("item", pa.int32(), nullable=False))),
    ]
)

NESTED_ROWS: list[dict[str, Any]] = [
    {
        "_hoodie_commit_time": "20250101000000000",
        "id": 1,
        "name": "first",
        "price": Decimal("-1234.5678"),
        "big": Decimal("123456789012345678901234567890.123456"),
        "day": dt.date(2024, 2, 29),
        "ts": dt.datetime(2024, 2, 29, 12, 30, 1, 123456, tzinfo=UTC),
        "local_ts": dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
        "tod": dt.time(23, 59, 59, 999999),
        "blob": b"\x00\x01\xff",
        "flag": True,
        "ratio": 0.5,
        "addr": {"street": "Main", "zip": 12345, "geo": {"lat": 1.5, "lon": -2.25}},
        "items": [
            {"sku": "a", "qty": 1, "tags": [("x", 1), ("y", -2)]},
            None,
            {"sku": None, "qty": None, "tags": None},
            {"sku": "b", "qty": 0, "tags": []},
        ],
        "attrs": [
            ("k1", {"a": "v", "when": dt.datetime(2000, 1, 1, tzinfo=UTC)}),
            ("k2", None),
        ],
        "nums": [1, 2, 3],
    },
    {
        "_hoodie_commit_time": None,
        "id": -2,
        "name": None,
        "price": None,
        "big": Decimal("-0.000001"),
        "day": None,
        "ts": None,
        "local_ts": None,
        "tod": None,
        "blob": None,
        "flag": None,
        "ratio": None,
        "addr": None,
        "items": None,
        "attrs": None,
        "nums": None,
    },
    {
        "_hoodie_commit_time": "x",
        "id": 2**40,
        "name": "ünïcode ✓",
        "price": Decimal("0.0001"),
        "big": None,
        "day": dt.date(1900, 1, 1),
        "ts": dt.datetime(1970, 1, 1, tzinfo=UTC),
        "local_ts": dt.datetime(2262, 1, 1),
        "tod": dt.time(0),
        "blob": b"",
        "flag": False,
        "ratio": -0.0,
        "addr": {"street": None, "zip": None, "geo": None},
        "items": [],
        "attrs": [],
        "nums": [],
    },
]


@pytest.fixture
def nested_table() -> pa.Table:
    return pa.Table.from_pylist(NESTED_ROWS, schema=NESTED_ARROW)


def test_avro_block_round_trips_nested_arrow_table(nested_table: pa.Table) -> None:
    content = avro_block_content(nested_table, NESTED_AVRO)
    assert content[:8] == b"\x00\x00\x00\x03\x00\x00\x00\x03"
    back = read_avro_block_content(content, NESTED_AVRO, NESTED_ARROW)
    assert back.equals(nested_table)
    # the schema given as JSON text (as a header holds it) encodes identically
    assert avro_block_content(nested_table, orjson.dumps(NESTED_AVRO).decode()) == content


def test_avro_block_values_match_fastavro_logical_decoding(nested_table: pa.Table) -> None:
    # The encoder feeds fastavro raw ints for temporal types; decoding with the logical
    # types on must give back the same instants, dates and times.
    content = avro_block_content(nested_table, NESTED_AVRO)
    records = decode_avro_records(content, NESTED_AVRO)
    first = records[0]
    assert first["ts"] == NESTED_ROWS[0]["ts"]
    assert first["day"] == NESTED_ROWS[0]["day"]
    assert first["tod"] == NESTED_ROWS[0]["tod"]
    assert first["price"] == NESTED_ROWS[0]["price"]
    assert first["big"] == NESTED_ROWS[0]["big"]
    assert first["items"][0]["tags"] == {"x": 1, "y": -2}
    assert first["attrs"]["k1"]["when"] == dt.datetime(2000, 1, 1, tzinfo=UTC)
    assert avro_records_content(records, NESTED_AVRO) == content


def test_avro_block_derives_arrow_schema_from_avro(nested_table: pa.Table) -> None:
    content = avro_block_content(nested_table, NESTED_AVRO)
    back = read_avro_block_content(content, NESTED_AVRO)
    assert back.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert back.schema.field("local_ts").type == pa.timestamp("us")
    assert back.schema.field("big").type == pa.decimal256(40, 6)
    assert back.schema.field("id").nullable is False
    assert pa.types.is_map(back.schema.field("attrs").type)
    assert back.to_pylist() == nested_table.to_pylist()


def test_avro_block_converts_units_and_selects_columns(nested_table: pa.Table) -> None:
    millis = nested_table.select(["_hoodie_commit_time", "id", "ts"]).cast(
        pa.schema(
            [
                pa.field("_hoodie_commit_time", pa.string()),
                pa.field("id", pa.int64(), nullable=False),
                pa.field("ts", pa.timestamp("ms", tz="UTC")),
            ]
        ),
        safe=False,
    )
    schema = copy.deepcopy(NESTED_AVRO)
    schema["fields"] = [f for f in schema["fields"] if f["name"] in millis.column_names]
    content = avro_block_content(millis, schema)
    micros = read_avro_block_content(content, schema)
    # 12:30:01.123456 was truncated to millis by the cast above, then written as micros
    assert micros.column("ts").to_pylist()[0] == dt.datetime(
        2024, 2, 29, 12, 30, 1, 123000, tzinfo=UTC
    )
    # evolved reader schema: a column the block lacks comes out null
    evolved = millis.schema.append(pa.field("extra", pa.string()))
    back = read_avro_block_content(content, schema, evolved)
    assert back.column("extra").null_count == 3
    assert back.select(millis.column_names).equals(millis)


def test_avro_content_versions() -> None:
    schema = {"type": "record", "name": "r", "fields": [{"name": "a", "type": "int"}]}
    content = avro_records_content([{"a": 1}, {"a": -1}], schema)
    for version in (1, 2):
        old = version.to_bytes(4, "big") + content[4:]
        assert decode_avro_records(old, schema) == [{"a": 1}, {"a": -1}]
    with pytest.raises(UnsupportedTableError):
        decode_avro_records((4).to_bytes(4, "big") + content[4:], schema)
    with pytest.raises(CorruptTableError):
        decode_avro_records(content[:-1], schema)
    assert avro_records_content([], schema) == b"\x00\x00\x00\x03\x00\x00\x00\x00"


def test_avro_data_block_builder(nested_table: pa.Table) -> None:
    text = orjson.dumps(NESTED_AVRO).decode()
    block = avro_data_block(nested_table, text, "20250101000000000")
    assert block.header == ((HeaderKey.INSTANT_TIME, "20250101000000000"), (HeaderKey.SCHEMA, text))
    (entry,) = read_blocks(encode_block(block))
    assert isinstance(entry, LogFileBlock)
    assert read_avro_block_content(entry.block.content, text, NESTED_ARROW).equals(nested_table)


def test_parquet_block_round_trips_nested_arrow_table(nested_table: pa.Table) -> None:
    text = orjson.dumps(NESTED_AVRO).decode()
    content = parquet_block_content(nested_table, text)
    assert content[:4] == b"PAR1"
    assert content[-4:] == b"PAR1"
    parquet = pq.ParquetFile(pa.BufferReader(content))
    assert parquet.metadata.metadata == {
        b"parquet.avro.schema": text.encode(),
        b"writer.model.name": b"avro",
    }
    assert parquet.metadata.row_group(0).column(0).compression == "GZIP"
    back = read_parquet_block_content(content, NESTED_ARROW)
    assert back.equals(nested_table)
    block = parquet_data_block(nested_table, text, "1", compression="snappy")
    assert block.block_type == BlockType.PARQUET_DATA_BLOCK
    assert read_parquet_block_content(block.content).num_rows == 3


# ----------------------------------------------------------------------------------------------
# Delete blocks
# ----------------------------------------------------------------------------------------------

WRAPPER_CASES: list[tuple[OrderingKind, list[Any], list[Any]]] = [
    # kind, Arrow-side values, what the wrapper's ``value`` holds on the wire
    (OrderingKind.BOOLEAN, [True, False], [True, False]),
    (OrderingKind.INT, [7, -(2**31)], [7, -(2**31)]),
    (OrderingKind.LONG, [2**40, -1], [2**40, -1]),
    (OrderingKind.FLOAT, [1.5, -2.25], [1.5, -2.25]),
    (OrderingKind.DOUBLE, [3.141592653589793, -0.0], [3.141592653589793, -0.0]),
    (OrderingKind.BYTES, [b"\x00\xff", b""], [b"\x00\xff", b""]),
    (OrderingKind.STRING, ["ord_3", "ünï"], ["ord_3", "ünï"]),
    (OrderingKind.DATE, [dt.date(2024, 1, 31), dt.date(1969, 12, 31)], [19753, -1]),
    (
        OrderingKind.DECIMAL,
        [Decimal("12.5"), Decimal("-0.000000000000128")],
        # BigInteger.toByteArray of the unscaled value at scale 15 (minimal two's complement)
        [(12_500_000_000_000_000).to_bytes(7, "big", signed=True), b"\x80"],
    ),
    (OrderingKind.TIME_MICROS, [dt.time(1, 2, 3, 4), dt.time(0)], [3_723_000_004, 0]),
    (
        OrderingKind.TIMESTAMP_MICROS,
        [dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)],
        [1_704_067_200_000_000, -1_000_000],
    ),
]


def _raw_wire_schema() -> dict[str, Any]:
    """The 11-wrapper schema without logical types, to see the values as stored."""
    schema = copy.deepcopy(DELETE_RECORD_LIST_SCHEMA)
    item = schema["fields"][0]["type"]["items"]
    for branch in item["fields"][2]["type"]:
        if isinstance(branch, dict) and isinstance(branch["fields"][0]["type"], dict):
            branch["fields"][0]["type"] = branch["fields"][0]["type"]["type"]
    return schema


@pytest.mark.parametrize(("kind", "values", "wire"), WRAPPER_CASES, ids=lambda c: str(c))
def test_delete_block_each_wrapper_kind(
    kind: OrderingKind, values: list[Any], wire: list[Any]
) -> None:
    records = DeleteRecords.create(["k1", "k2", "k3"], ["p=1", "p=2", ""], [*values, None], kind)
    content = delete_block_content(records)
    assert content[:4] == b"\x00\x00\x00\x03"
    assert int.from_bytes(content[4:8], "big") == len(content) - 8

    table = read_delete_block_content(content)
    assert table.column("record_key").to_pylist() == ["k1", "k2", "k3"]
    assert table.column("partition_path").to_pylist() == ["p=1", "p=2", ""]
    assert table.column("ordering_kind").to_pylist() == [kind, kind, OrderingKind.NULL]
    assert table.column("ordering_value").to_pylist() == [*values, None]
    assert delete_block_content(table) == content

    # the wire, read with the plain 11-wrapper schema as Java 0.14/0.15/1.0 would
    payload: Any = fastavro.schemaless_reader(
        io.BytesIO(content[8:]),
        fastavro.parse_schema(_raw_wire_schema()),
        None,
        return_record_name=True,
    )
    items = payload["deleteRecordList"]
    assert [i["orderingVal"][0].rsplit(".", 1)[1] for i in items[:2]] == [
        DELETE_RECORD_LIST_SCHEMA["fields"][0]["type"]["items"]["fields"][2]["type"][kind]["name"]
    ] * 2
    assert [i["orderingVal"][1]["value"] for i in items[:2]] == wire
    assert items[2]["orderingVal"] is None


def test_delete_block_default_is_natural_order_int_zero() -> None:
    content = delete_block_content(DeleteRecords.create(["a", "b"], ["p", "p"]))
    # per record: 02 <len> key, 02 <len> path, 04 00 (branch 2 = IntWrapper, value 0)
    assert content == bytes.fromhex(
        "00000003000000120402 02 61 02 02 70 04 0002 02 62 02 02 70 04 0000"
    )
    table = read_delete_block_content(content)
    assert table.column("ordering_kind").to_pylist() == [OrderingKind.INT] * 2
    assert table.column("ordering_value").to_pylist() == [0, 0]
    assert table.column("ordering_value").type == pa.int32()


def test_delete_block_mixed_kinds_use_a_dense_union() -> None:
    items = [
        {
            "recordKey": "a",
            "partitionPath": "p",
            "orderingVal": ("org.apache.hudi.avro.model.IntWrapper", {"value": 0}),
        },
        {
            "recordKey": "b",
            "partitionPath": None,
            "orderingVal": ("org.apache.hudi.avro.model.LongWrapper", {"value": 9}),
        },
        {"recordKey": None, "partitionPath": "p", "orderingVal": None},
        {
            "recordKey": "d",
            "partitionPath": "p",
            "orderingVal": ("org.apache.hudi.avro.model.IntWrapper", {"value": 5}),
        },
    ]
    buf = io.BytesIO()
    fastavro.schemaless_writer(
        buf, fastavro.parse_schema(DELETE_RECORD_LIST_SCHEMA), {"deleteRecordList": items}
    )
    content = b"\x00\x00\x00\x03" + len(buf.getvalue()).to_bytes(4, "big") + buf.getvalue()
    table = read_delete_block_content(content)
    values = table.column("ordering_value")
    assert pa.types.is_union(values.type)
    assert table.column("ordering_kind").to_pylist() == [2, 3, 0, 2]
    assert values.to_pylist() == [0, 9, None, 5]
    assert table.column("record_key").to_pylist() == ["a", "b", None, "d"]
    assert delete_block_content(table) == content


def test_delete_block_array_wrapper_from_hudi_1_1() -> None:
    ns = "org.apache.hudi.avro.model."
    items = [
        {
            "recordKey": "a",
            "partitionPath": "p",
            "orderingVal": (
                ns + "ArrayWrapper",
                {
                    "wrappedValues": [
                        (ns + "LongWrapper", {"value": 5}),
                        (ns + "StringWrapper", {"value": "x"}),
                        None,
                        (ns + "LocalDateWrapper", {"value": 3}),
                    ]
                },
            ),
        },
        {
            "recordKey": "b",
            "partitionPath": "p",
            "orderingVal": (ns + "ArrayWrapper", {"wrappedValues": None}),
        },
        {"recordKey": "c", "partitionPath": "p", "orderingVal": None},
    ]
    buf = io.BytesIO()
    fastavro.schemaless_writer(
        buf, fastavro.parse_schema(DELETE_RECORD_LIST_SCHEMA_V9), {"deleteRecordList": items}
    )
    content = b"\x00\x00\x00\x03" + len(buf.getvalue()).to_bytes(4, "big") + buf.getvalue()
    table = read_delete_block_content(content)
    assert table.column("ordering_kind").to_pylist() == [OrderingKind.ARRAY, OrderingKind.ARRAY, 0]
    assert table.column("ordering_value").to_pylist() == [
        [5, "x", None, dt.date(1970, 1, 4)],
        None,
        None,
    ]
    assert delete_block_content(table) == content


def test_delete_block_schema_is_faithful() -> None:
    item = DELETE_RECORD_LIST_SCHEMA["fields"][0]["type"]["items"]
    assert DELETE_RECORD_LIST_SCHEMA["namespace"] == "org.apache.hudi.avro.model"
    assert item["fields"][0]["type"] == ["null", {"type": "string", "avro.java.string": "String"}]
    branches = item["fields"][2]["type"]
    assert [b if b == "null" else b["name"] for b in branches] == [
        "null",
        "BooleanWrapper",
        "IntWrapper",
        "LongWrapper",
        "FloatWrapper",
        "DoubleWrapper",
        "BytesWrapper",
        "StringWrapper",
        "DateWrapper",
        "DecimalWrapper",
        "TimeMicrosWrapper",
        "TimestampMicrosWrapper",
    ]
    v9 = DELETE_RECORD_LIST_SCHEMA_V9["fields"][0]["type"]["items"]["fields"][2]["type"]
    assert v9[-1]["name"] == "ArrayWrapper"
    assert len(v9) == 13
    assert branches[9]["fields"][0]["type"] == {
        "type": "bytes",
        "logicalType": "decimal",
        "precision": 30,
        "scale": 15,
    }


def test_delete_block_encodes_with_one_fastavro_call(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    original = fastavro.schemaless_writer

    def counting(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        original(*args, **kwargs)

    monkeypatch.setattr(fastavro, "schemaless_writer", counting)
    keys = [f"key{i}" for i in range(1000)]
    content = delete_block_content(
        DeleteRecords.create(keys, ["p"] * 1000, range(1000), OrderingKind.LONG)
    )
    assert calls == 1
    assert read_delete_block_content(content).column("ordering_value").to_pylist() == list(
        range(1000)
    )


def test_delete_block_kryo_versions_are_refused() -> None:
    for version in (1, 2):
        with pytest.raises(UnsupportedTableError, match="Kryo"):
            read_delete_block_content(version.to_bytes(4, "big") + b"\x00\x00\x00\x01\x01")
    with pytest.raises(CorruptTableError):
        read_delete_block_content(b"\x00\x00\x00\x03\x00\x00\x00\x09\x00")


def test_delete_block_builder() -> None:
    block = delete_block(DeleteRecords.create(["k"], ["p"]), "5", None)
    assert block.header == ((HeaderKey.INSTANT_TIME, "5"),)
    assert read_delete_block_content(block.content).num_rows == 1


# ----------------------------------------------------------------------------------------------
# Log files: corruption
# ----------------------------------------------------------------------------------------------


def _two_block_file() -> tuple[bytes, bytes, bytes]:
    first = encode_block(rollback_command_block("20250101000000001", "20250101000000000"))
    second = encode_block(
        delete_block(DeleteRecords.create(["k1", "k2"], ["p", "p"]), "20250101000000002", "{}")
    )
    return first + second, first, second


def _ok(entry: LogFileEntry) -> LogFileBlock:
    assert isinstance(entry, LogFileBlock)
    return entry


def _bad(entry: LogFileEntry) -> CorruptBlock:
    assert isinstance(entry, CorruptBlock)
    return entry


def _kinds(entries: list[LogFileEntry]) -> list[str]:
    return ["ok" if isinstance(e, LogFileBlock) else "corrupt" for e in entries]


def test_intact_file_splits_into_blocks() -> None:
    data, first, second = _two_block_file()
    entries = read_blocks(data)
    assert _kinds(entries) == ["ok", "ok"]
    assert [(e.offset, e.size) for e in entries] == [(0, len(first)), (len(first), len(second))]
    assert read_blocks(b"") == []


def test_truncated_file_never_raises() -> None:
    data, first, _ = _two_block_file()
    for cut in range(1, len(data)):
        entries = read_blocks(data[:cut])
        assert sum(e.size for e in entries) == cut
        if cut < len(first):
            assert _kinds(entries) == ["corrupt"]
        elif cut == len(first):
            assert _kinds(entries) == ["ok"]
        else:
            # Java tolerates a tail shorter than the magic after an intact block
            assert _kinds(entries) == ["ok", "corrupt"]
            assert entries[1].offset == len(first)


def test_garbage_between_blocks_corrupts_the_block_before_it() -> None:
    # Java checks that a magic (or EOF) follows each block; garbage makes the preceding block
    # corrupt up to the next magic, and the block after it is read normally.
    data, first, second = _two_block_file()
    garbage = b"GARBAGE!"
    entries = read_blocks(first + garbage + second)
    assert _kinds(entries) == ["corrupt", "ok"]
    assert entries[0].size == len(first) + len(garbage)
    assert _ok(entries[1]).block == decode_block(second)
    # garbage before the first block: a corrupt range up to the first magic
    entries = read_blocks(garbage + data)
    assert _kinds(entries) == ["corrupt", "ok", "ok"]
    assert _bad(entries[0]).data == garbage


def test_wrong_reverse_pointer_is_corrupt() -> None:
    _, first, second = _two_block_file()
    bad = bytearray(first)
    bad[-1] ^= 0x01
    entries = read_blocks(bytes(bad) + second)
    assert _kinds(entries) == ["corrupt", "ok"]
    assert "reverse pointer" in _bad(entries[0]).reason
    assert entries[1].offset == len(first)


def test_length_past_eof_and_torn_length_are_corrupt() -> None:
    _, first, second = _two_block_file()
    bad = bytearray(second)
    bad[6:14] = (10**9).to_bytes(8, "big")
    entries = read_blocks(first + bytes(bad))
    assert _kinds(entries) == ["ok", "corrupt"]
    assert "past the end" in _bad(entries[1]).reason
    entries = read_blocks(first + MAGIC + b"\x00\x00")
    assert _kinds(entries) == ["ok", "corrupt"]
    assert entries[1].size == 8


def test_framed_but_malformed_block_raises_like_java() -> None:
    _, first, _ = _two_block_file()
    bad = bytearray(first)
    bad[22:26] = (1000).to_bytes(4, "big")  # header entry count
    with pytest.raises(CorruptTableError, match="offset 0"):
        read_blocks(bytes(bad))
