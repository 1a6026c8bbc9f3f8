"""Hudi log blocks: the frame every block shares, and the content of each block type.

* :mod:`.frame`: magic, lengths, format version, block types, header/footer maps;
  :class:`~.frame.LogBlock` to bytes and back;
* :mod:`.avro_data`: Avro data block content (type 3), records <-> Arrow tables;
* :mod:`.parquet_data`: Parquet data block content (type 5);
* :mod:`.delete`: delete block content (type 1), the ``HoodieDeleteRecordList`` encoding;
* :mod:`.command`: command blocks (type 0), i.e. rollback blocks.

HFILE (metadata table) and CDC contents stay opaque bytes. Callers import from the module
that owns what they need; this package re-exports nothing.
"""
