"""Parquet data blocks (type 5; protocol-v6.md §5.5): a whole Parquet file as the content.

The content is what parquet-avro writes for Java's HoodieParquetDataBlock: one complete
in-memory Parquet file whose footer names the Avro schema. Codecs never do I/O: everything
here takes and returns bytes or Arrow tables.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from hudiwrite.exceptions import CorruptTableError
from hudiwrite.formats.logblock.frame import BlockType, LogBlock, data_block_header
from hudiwrite.formats.parquet import writer_properties

__all__ = ["parquet_block_content", "parquet_data_block", "read_parquet_block_content"]


def parquet_block_content(
    table: pa.Table, avro_schema_json: str, compression: str = "gzip"
) -> bytes:
    """A complete Parquet file in memory, footer tagged the way parquet-avro tags its files.

    The footer carries ``parquet.avro.schema`` and ``writer.model.name=avro`` and, like Java,
    no Arrow schema, bloom filter or record-key footer.
    """
    sink = pa.BufferOutputStream()
    schema = table.schema.remove_metadata()
    with pq.ParquetWriter(sink, schema, **writer_properties(compression)) as writer:
        writer.write_table(table.replace_schema_metadata(None))
        writer.add_key_value_metadata(
            {"parquet.avro.schema": avro_schema_json, "writer.model.name": "avro"}
        )
    return bytes(sink.getvalue().to_pybytes())


def read_parquet_block_content(content: bytes, arrow_schema: pa.Schema | None = None) -> pa.Table:
    """The rows of a Parquet data block; optionally selected and cast to ``arrow_schema``."""
    try:
        table = pq.read_table(pa.BufferReader(content))
    except pa.ArrowInvalid as exc:
        raise CorruptTableError(f"parquet data block is damaged: {exc}") from exc
    if arrow_schema is None:
        return table
    columns = []
    for f in arrow_schema:
        if f.name in table.column_names:
            columns.append(table.column(f.name).cast(f.type))
        else:
            columns.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(columns, schema=arrow_schema)


def parquet_data_block(
    table: pa.Table, schema_json: str, instant_time: str, compression: str = "gzip"
) -> LogBlock:
    """A Parquet data block holding ``table`` as a whole in-memory Parquet file."""
    return LogBlock(
        BlockType.PARQUET_DATA_BLOCK,
        data_block_header(instant_time, schema_json),
        parquet_block_content(table, schema_json, compression),
    )
