"""Hudi's record-key bloom filter, as stored in base-file parquet footers (protocol §7.3, §7.4).

HoodieBloomIndex reads this filter to decide which file groups may hold an incoming key, so a
filter that does not match Java's bit for bit makes Java writers miss existing records and
create duplicates. Everything is vectorised over Arrow arrays with ``pyarrow.compute``: the
MurmurHash of every key is computed column-wise, and bits are set by scattering positions.

Facts reproduced here (checked byte for byte against Spark-written fixtures):

* hash: Hadoop's ``org.apache.hadoop.util.hash.MurmurHash`` (MurmurHash2, Java int
  arithmetic). Its 1-3 byte tail differs from the reference C MurmurHash2: the *last* byte is
  XORed unshifted, the one before it ``<< 8``, the one before that ``<< 16``, each sign-extended;
* positions: ``h = murmur(key, seed=h)`` chained ``nbHash`` times from ``h = 0``, each giving
  ``abs(h % vectorSize)`` with Java's truncating ``%``;
* layouts: Hadoop ``Filter``/``BloomFilter`` ``write`` (SIMPLE) and Hudi's
  ``InternalDynamicBloomFilter`` ``write`` (DYNAMIC_V0), big-endian ``DataOutput``.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
import sys
from collections.abc import Iterable, Sequence
from typing import TypeAlias

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from hudiwrite.exceptions import CorruptTableError, InvalidRecordError, UnsupportedTableError

__all__ = [
    "BLOOM_FILTER_FOOTER_KEY",
    "BLOOM_TYPE_CODE_FOOTER_KEY",
    "DYNAMIC_V0",
    "SIMPLE",
    "BloomFilter",
    "BloomFilterConfig",
    "bloom_footer",
    "hash_positions",
    "murmur_hash",
    "serialize_bloom_filter",
]

BLOOM_FILTER_FOOTER_KEY = "org.apache.hudi.bloomfilter"
BLOOM_TYPE_CODE_FOOTER_KEY = "hoodie_bloom_filter_type_code"
SIMPLE = "SIMPLE"
DYNAMIC_V0 = "DYNAMIC_V0"

# Hadoop Hash.MURMUR_HASH; the only hash type Hudi writes (BloomFilterFactory).
MURMUR_HASH = 1
# Filter.VERSION: negative to tell it from the old, unversioned (Jenkins hash) layout.
_FILTER_VERSION = -1
_MURMUR_M = 0x5BD1E995
_INT32_MAX = 2**31 - 1

# Filter.write: int version, int nbHash, byte hashType, int vectorSize.
_HEADER = struct.Struct(">iibi")
# InternalDynamicBloomFilter.write after its own header: int nr, int currentNbRecord, int rows.
_DYNAMIC = struct.Struct(">iii")

# Typed scalars keep the uint32 arithmetic in uint32 (a bare int would promote to int64).
_U32_M = pa.scalar(_MURMUR_M, pa.uint32())
_U32_24 = pa.scalar(24, pa.uint32())
_U32_13 = pa.scalar(13, pa.uint32())
_U32_15 = pa.scalar(15, pa.uint32())

# Record keys: a string Arrow array (or chunked array), or plain Python strings.
KeysLike: TypeAlias = "pa.Array | pa.ChunkedArray | Sequence[str]"


@attrs.frozen
class BloomFilterConfig:
    """The write-config knobs that shape the filter; defaults are Hudi's."""

    num_entries: int = attrs.field(default=60000)  # hoodie.index.bloom.num_entries
    fpp: float = attrs.field(default=1e-9)  # hoodie.index.bloom.fpp
    dynamic: bool = True  # hoodie.bloom.index.filter.type: DYNAMIC_V0 (False = SIMPLE)
    max_entries: int = 100000  # hoodie.bloom.index.filter.dynamic.max.entries

    @num_entries.validator
    def _check_entries(self, _: attrs.Attribute[int], value: int) -> None:
        if value <= 0:
            raise ValueError(f"num_entries must be positive, got {value}")

    @fpp.validator
    def _check_fpp(self, _: attrs.Attribute[float], value: float) -> None:
        if not 0.0 < value < 1.0:
            raise ValueError(f"fpp must be in (0, 1), got {value}")

    @property
    def vector_size(self) -> int:
        """Bits per filter row (BloomFilterUtils.getBitSize, same double arithmetic as Java)."""
        bits = math.ceil(self.num_entries * (-math.log(self.fpp) / (math.log(2) * math.log(2))))
        if bits > _INT32_MAX:
            raise ValueError(f"bloom filter of {bits} bits does not fit a Java int")
        return bits

    @property
    def nb_hash(self) -> int:
        """Hash functions per key (BloomFilterUtils.getNumHashes)."""
        return math.ceil(math.log(2) * self.vector_size / self.num_entries)

    @property
    def max_rows(self) -> int:
        """Rows a dynamic filter grows to: it adds rows while ``rows * nr < maxN``."""
        return max(1, -(-self.max_entries // self.num_entries))


_DEFAULT_CONFIG = BloomFilterConfig()


# --- key preparation ----------------------------------------------------------------------------


def _key_bytes(keys: KeysLike) -> pa.Array:
    """Keys as one binary array of their UTF-8 bytes; null and empty keys are refused like Java."""
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    elif not isinstance(keys, pa.Array):
        keys = pa.array(keys, pa.string())
    if pa.types.is_large_string(keys.type) or pa.types.is_large_binary(keys.type):
        keys = keys.cast(pa.large_binary())
    elif pa.types.is_string(keys.type) or pa.types.is_binary(keys.type):
        keys = keys.cast(pa.binary())
    else:
        raise TypeError(f"record keys must be strings, got {keys.type}")
    if keys.null_count:
        raise InvalidRecordError("a record key is null; it cannot be added to a bloom filter")
    if len(keys) and pc.min(pc.binary_length(keys)).as_py() == 0:
        # HashFunction.hash rejects zero-length keys ("key length must be > 0").
        raise InvalidRecordError("a record key is empty; it cannot be added to a bloom filter")
    return keys


def _reinterpret(fixed: pa.Array, type_: pa.DataType) -> pa.Array:
    """View a null-free fixed_size_binary array's bytes as a same-width primitive array."""
    return pa.Array.from_buffers(type_, len(fixed), [None, fixed.buffers()[1]], offset=fixed.offset)


def _zeros_u32(n: int) -> pa.Array:
    return pa.repeat(pa.scalar(0, pa.uint32()), n)


@attrs.frozen
class _MurmurPlan:
    """The seed-independent part of MurmurHash2 for a set of keys, computed once per key set.

    Each 4-byte block's mixed value and the tail's XOR term do not depend on the seed, so the
    ``nbHash`` chained hashes only redo the cheap multiply/xor chain.
    """

    lengths: pa.Array  # uint32
    # (which keys have this block (None: all), mixed block value, 0 where absent)
    blocks: tuple[tuple[pa.Array | None, pa.Array], ...]
    tail: pa.Array | None  # uint32 XOR term of the 1-3 trailing bytes; None: no key has a tail
    tail_mask: pa.Array | None  # keys with a tail; None: all of them

    @classmethod
    def of(cls, data: pa.Array) -> _MurmurPlan:
        if sys.byteorder != "little":  # the block words are read by reinterpreting buffers
            raise NotImplementedError("the vectorised MurmurHash needs a little-endian host")
        n = len(data)
        lengths = pc.binary_length(data)
        lengths_u32 = pc.cast(lengths, pa.uint32())
        n_blocks = pc.shift_right(lengths, 2)
        min_blocks = pc.min(n_blocks).as_py() if n else 0
        max_blocks = pc.max(n_blocks).as_py() if n else 0

        blocks: list[tuple[pa.Array | None, pa.Array]] = []
        for j in range(max_blocks):
            mask = None if j < min_blocks else pc.greater(n_blocks, j)
            subset = data if mask is None else pc.filter(data, mask)
            words = _reinterpret(
                pc.binary_slice(subset, 4 * j, 4 * j + 4).cast(pa.binary(4)), pa.uint32()
            )
            k = pc.multiply(words, _U32_M)
            k = pc.bit_wise_xor(k, pc.shift_right(k, _U32_24))
            k = pc.multiply(k, _U32_M)
            if mask is not None:
                k = pc.replace_with_mask(_zeros_u32(n), mask, k)
            blocks.append((mask, k))

        # Hadoop's tail: byte[len-1] ^ byte[len-2] << 8 ^ byte[len-3] << 16, sign-extended.
        left = pc.bit_wise_and(lengths, 3)
        tail: pa.Array | None = None
        tail_mask: pa.Array | None = None
        for back in (1, 2, 3):
            mask = pc.greater_equal(left, back)
            count = pc.sum(pc.cast(mask, pa.int64())).as_py() or 0
            if count == 0:
                break
            subset = data if count == n else pc.filter(data, mask)
            stop = None if back == 1 else 1 - back
            byte = _reinterpret(pc.binary_slice(subset, -back, stop).cast(pa.binary(1)), pa.int8())
            term = pc.multiply(
                pc.cast(byte, pa.int32()), pa.scalar(1 << (8 * (back - 1)), pa.int32())
            )
            term = pc.cast(term, pa.uint32(), safe=False)
            if count < n:
                term = pc.replace_with_mask(_zeros_u32(n), mask, term)
            tail = term if tail is None else pc.bit_wise_xor(tail, term)
            if back == 1 and count < n:
                tail_mask = mask
        return cls(lengths_u32, tuple(blocks), tail, tail_mask)

    def hash(self, seed: pa.Array) -> pa.Array:
        """MurmurHash2 of every key with a per-key uint32 seed; uint32 result."""
        h = pc.bit_wise_xor(seed, self.lengths)
        for mask, k in self.blocks:
            step = pc.bit_wise_xor(pc.multiply(h, _U32_M), k)
            h = step if mask is None else pc.if_else(mask, step, h)
        if self.tail is not None:
            step = pc.multiply(pc.bit_wise_xor(h, self.tail), _U32_M)
            h = step if self.tail_mask is None else pc.if_else(self.tail_mask, step, h)
        h = pc.bit_wise_xor(h, pc.shift_right(h, _U32_13))
        h = pc.multiply(h, _U32_M)
        return pc.bit_wise_xor(h, pc.shift_right(h, _U32_15))


def murmur_hash(keys: KeysLike, seed: int | pa.Array = 0) -> pa.Array:
    """Hadoop MurmurHash of each key's UTF-8 bytes (zero-length allowed here) as Java ints.

    ``seed`` is one int for all keys or an int32 array with one seed per key.
    """
    data = keys
    if isinstance(data, pa.ChunkedArray):
        data = data.combine_chunks()
    elif not isinstance(data, pa.Array):
        data = pa.array(data, pa.string())
    data = data.cast(pa.large_binary() if pa.types.is_large_string(data.type) else pa.binary())
    if data.null_count:
        raise InvalidRecordError("cannot hash a null key")
    if isinstance(seed, int):
        seed_u32 = pa.repeat(pa.scalar(seed & 0xFFFFFFFF, pa.uint32()), len(data))
    else:
        seed_u32 = pc.cast(seed, pa.int32()).cast(pa.uint32(), safe=False)
    return pc.cast(_MurmurPlan.of(data).hash(seed_u32), pa.int32(), safe=False)


def _positions(plan: _MurmurPlan, n: int, nb_hash: int, vector_size: int) -> Iterable[pa.Array]:
    """The ``nbHash`` bit positions of every key, one int32 array per hash round."""
    h = _zeros_u32(n)
    modulus = pa.scalar(vector_size, pa.int32())
    for _ in range(nb_hash):
        h = plan.hash(h)
        # HashFunction.hash: Math.abs(h % maxValue), Java's % truncating toward zero.
        yield pc.abs(pc.remainder(pc.cast(h, pa.int32(), safe=False), modulus))


def hash_positions(keys: KeysLike, nb_hash: int, vector_size: int) -> list[pa.Array]:
    """Bit positions per hash round for each key, as Hudi's HashFunction computes them."""
    data = _key_bytes(keys)
    return list(_positions(_MurmurPlan.of(data), len(data), nb_hash, vector_size))


# --- bit vectors --------------------------------------------------------------------------------


def _bits_bytes(bits: pa.Array, vector_size: int) -> bytes:
    """A null-free boolean array's bitmap as Hudi stores it (bit i in byte i/8, LSB first)."""
    if bits.offset:
        bits = pc.if_else(bits, True, False)  # materialise at offset 0
    out = bytearray(bits.buffers()[1].to_pybytes()[: (vector_size + 7) // 8])
    if vector_size % 8:
        out[-1] &= (1 << (vector_size % 8)) - 1  # Arrow leaves padding bits unspecified
    return bytes(out)


class _BitSetter:
    """Sets bits at batches of positions in a vector of ``vector_size`` bits.

    Uses the ``scatter`` kernel (pyarrow >= 20) when present; otherwise a hash-set lookup of
    the distinct positions against the index range. Positions are pooled into large batches
    because each kernel call costs a pass over the whole vector.
    """

    _BATCH = 1 << 23

    def __init__(self, vector_size: int, use_scatter: bool | None = None) -> None:
        self.vector_size = vector_size
        self.use_scatter = hasattr(pc, "scatter") if use_scatter is None else use_scatter
        self._bits: pa.Array | None = None
        self._pending: list[pa.Array] = []
        self._pending_len = 0
        self._distinct: list[pa.Array] = []

    def add(self, positions: pa.Array) -> None:
        if not len(positions):
            return
        self._pending.append(positions)
        self._pending_len += len(positions)
        if self._pending_len >= self._BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        batch = pa.concat_arrays(self._pending)
        self._pending, self._pending_len = [], 0
        if self.use_scatter:
            ones = pa.repeat(pa.scalar(True), len(batch))
            placed = pc.is_valid(pc.scatter(ones, batch, max_index=self.vector_size - 1))
            self._bits = placed if self._bits is None else pc.or_(self._bits, placed)
        else:
            self._distinct.append(pc.unique(batch))

    def to_bytes(self) -> bytes:
        if self._bits is None and 0 < self._pending_len <= _FEW_POSITIONS:
            return self._few_to_bytes()
        self._flush()
        if self._distinct:
            index = _index_range(self.vector_size)
            self._bits = pc.is_in(index, value_set=pa.concat_arrays(self._distinct))
            self._distinct = []
        if self._bits is None:
            return bytes((self.vector_size + 7) // 8)
        return _bits_bytes(self._bits, self.vector_size)

    def _few_to_bytes(self) -> bytes:
        """Few positions (a small commit's file): set them one by one. The Arrow kernels
        above pass over the whole vector (2.6M bits at Hudi's defaults, ~5 ms) whatever the
        number of keys; this loop is bounded by ``_FEW_POSITIONS``."""
        out = bytearray((self.vector_size + 7) // 8)
        for chunk in self._pending:
            for position in chunk.to_pylist():
                out[position >> 3] |= 1 << (position & 7)
        self._pending, self._pending_len = [], 0
        return bytes(out)


#: Up to this many bit positions (keys x hash rounds) a filter is built by a Python loop.
_FEW_POSITIONS = 16_384


def _index_range(n: int, wide: bool = False) -> pa.Array:
    """Integer array 0..n-1 (int32, or int64 when ``wide``), built without a Python loop."""
    type_ = pa.int64() if wide else pa.int32()
    return pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, type_), n)), pa.scalar(1, type_))


# --- dynamic-filter row assignment --------------------------------------------------------------


@attrs.frozen
class _RowLayout:
    """Which keys each row of the filter receives (InternalDynamicBloomFilter.add semantics).

    Rows fill ``nr`` keys each, in order, while ``rows * nr < maxN``; after that the filter is
    saturated: the next key (index ``S``) goes to row 0 and key ``S + 1 + t`` to row
    ``t % rows`` (so row 0 gets two keys in a row at the switch).
    """

    n: int
    nr: int
    max_rows: int

    @property
    def saturation(self) -> int:
        """Index of the first key added after the filter saturated."""
        return self.max_rows * self.nr

    @property
    def rows(self) -> int:
        return min(self.max_rows, max(1, -(-self.n // self.nr)))

    @property
    def current_count(self) -> int:
        """``currentNbRecord``: keys added since the last row was opened (saturated ones too)."""
        return self.n - (self.rows - 1) * self.nr

    def _filled(self, r: int) -> tuple[int, int]:
        """The contiguous key range row ``r`` got before saturation."""
        start = r * self.nr
        return start, max(start, min(start + self.nr, self.saturation, self.n))

    def _cycled(self, r: int) -> int:
        """How many keys after index ``S`` row ``r`` receives."""
        after = self.n - self.saturation - 1
        return max(0, -(-(after - r) // self.rows))

    def sizes(self) -> list[int]:
        """Number of keys per row."""
        sizes = [stop - start + self._cycled(r) for r, (start, stop) in self._ranges()]
        if self.n > self.saturation:
            sizes[0] += 1
        return sizes

    def _ranges(self) -> list[tuple[int, tuple[int, int]]]:
        return [(r, self._filled(r)) for r in range(self.rows)]

    def order(self) -> pa.Array | None:
        """Key indices grouped row by row, or None when rows already are contiguous key ranges.

        Grouping the keys once lets every hash round's positions be split by zero-copy slices.
        """
        if self.n <= self.saturation or self.rows == 1:
            return None
        parts = []
        for r, (start, stop) in self._ranges():
            parts.append(pc.add(_index_range(stop - start, wide=True), pa.scalar(start)))
            if r == 0:
                parts.append(pa.array([self.saturation], pa.int64()))
            cycled = pc.multiply(_index_range(self._cycled(r), wide=True), self.rows)
            parts.append(pc.add(cycled, pa.scalar(self.saturation + 1 + r)))
        return pa.concat_arrays(parts)

    def split(self, values: pa.Array) -> list[pa.Array]:
        """Per row, its slice of a per-key array arranged in ``order()``."""
        out, offset = [], 0
        for size in self.sizes():
            out.append(values.slice(offset, size))
            offset += size
        return out


# --- the filter ---------------------------------------------------------------------------------


@attrs.frozen
class BloomFilter:
    """A decoded (or freshly built) Hudi bloom filter; ``rows`` hold the serialized bit arrays.

    A SIMPLE filter has exactly one row. For DYNAMIC_V0, ``row_capacity`` is ``nr`` and
    ``current_count`` is ``currentNbRecord``, both kept so re-serialising is byte-identical.
    """

    vector_size: int
    nb_hash: int
    rows: tuple[bytes, ...]
    dynamic: bool
    row_capacity: int = 0
    current_count: int = 0
    hash_type: int = MURMUR_HASH

    def __attrs_post_init__(self) -> None:
        nbytes = (self.vector_size + 7) // 8
        if not self.rows or any(len(row) != nbytes for row in self.rows):
            raise ValueError(f"bloom filter rows must be {nbytes} bytes each, at least one row")
        if not self.dynamic and len(self.rows) != 1:
            raise ValueError("a SIMPLE bloom filter has exactly one row")

    @property
    def type_code(self) -> str:
        return DYNAMIC_V0 if self.dynamic else SIMPLE

    @classmethod
    def build(cls, keys: KeysLike, config: BloomFilterConfig = _DEFAULT_CONFIG) -> BloomFilter:
        """Add ``keys`` in order to an empty filter configured like a Hudi writer would."""
        data = _key_bytes(keys)
        n = len(data)
        vector_size, nb_hash = config.vector_size, config.nb_hash
        if config.dynamic:
            layout = _RowLayout(n, config.num_entries, config.max_rows)
        else:
            layout = _RowLayout(n, max(n, 1), 1)  # one row that never fills
        setters = [_BitSetter(vector_size) for _ in range(layout.rows)]
        if n:
            order = layout.order()
            plan = _MurmurPlan.of(data if order is None else data.take(order))
            for positions in _positions(plan, n, nb_hash, vector_size):
                for setter, piece in zip(setters, layout.split(positions), strict=True):
                    setter.add(piece)
        return cls(
            vector_size=vector_size,
            nb_hash=nb_hash,
            rows=tuple(s.to_bytes() for s in setters),
            dynamic=config.dynamic,
            row_capacity=config.num_entries if config.dynamic else 0,
            current_count=layout.current_count if config.dynamic else 0,
        )

    def _header(self) -> bytes:
        return _HEADER.pack(_FILTER_VERSION, self.nb_hash, self.hash_type, self.vector_size)

    def to_bytes(self) -> bytes:
        """The serialized filter (what the footer holds, before base64)."""
        header = self._header()
        if not self.dynamic:
            return header + self.rows[0]
        counts = _DYNAMIC.pack(self.row_capacity, self.current_count, len(self.rows))
        return b"".join([header, counts, *(header + row for row in self.rows)])

    def footer(self) -> dict[str, str]:
        """Parquet footer entries; the type code is written only for dynamic filters."""
        entries = {BLOOM_FILTER_FOOTER_KEY: base64.b64encode(self.to_bytes()).decode("ascii")}
        if self.dynamic:
            entries[BLOOM_TYPE_CODE_FOOTER_KEY] = DYNAMIC_V0
        return entries

    @classmethod
    def from_footer(cls, value: str | bytes, type_code: str | bytes | None) -> BloomFilter:
        """Decode a footer's base64 filter; ``type_code`` absent means SIMPLE (as in Hudi)."""
        if isinstance(type_code, bytes):
            type_code = type_code.decode("utf-8", "replace")
        code = SIMPLE if type_code is None else type_code.upper()
        if code not in (SIMPLE, DYNAMIC_V0):
            raise UnsupportedTableError(f"unknown bloom filter type code {type_code!r}")
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CorruptTableError(f"bloom filter footer is not valid base64: {exc}") from exc
        return cls.from_bytes(raw, dynamic=code == DYNAMIC_V0)

    @classmethod
    def from_bytes(cls, raw: bytes, dynamic: bool) -> BloomFilter:
        """Decode a serialized filter; anything but an exact, consistent layout is corrupt."""
        version, nb_hash, hash_type, vector_size, pos = _read_header(raw, 0)
        nbytes = (vector_size + 7) // 8
        if not dynamic:
            row, pos = _read_bits(raw, pos, nbytes)
            _expect_end(raw, pos)
            return cls(vector_size, nb_hash, (row,), dynamic=False, hash_type=hash_type)
        if len(raw) < pos + _DYNAMIC.size:
            raise CorruptTableError("dynamic bloom filter is truncated")
        nr, current, n_rows = _DYNAMIC.unpack_from(raw, pos)
        pos += _DYNAMIC.size
        if n_rows < 1 or nr < 1 or current < 0:
            raise CorruptTableError(f"dynamic bloom filter has nr={nr}, rows={n_rows}")
        rows = []
        for _ in range(n_rows):
            *row_header, pos = _read_header(raw, pos)
            if tuple(row_header) != (version, nb_hash, hash_type, vector_size):
                raise CorruptTableError("dynamic bloom filter rows disagree on their parameters")
            row, pos = _read_bits(raw, pos, nbytes)
            rows.append(row)
        _expect_end(raw, pos)
        return cls(vector_size, nb_hash, tuple(rows), True, nr, current, hash_type)

    def might_contain(self, keys: KeysLike) -> pa.BooleanArray:
        """Vectorised membership test: true when some row has all of a key's bits set."""
        data = _key_bytes(keys)
        n = len(data)
        if not n:
            return pa.array([], pa.bool_())
        vectors = [
            pa.Array.from_buffers(pa.bool_(), self.vector_size, [None, pa.py_buffer(row)])
            for row in self.rows
        ]
        hits: list[pa.Array | None] = [None] * len(vectors)
        for positions in _positions(_MurmurPlan.of(data), n, self.nb_hash, self.vector_size):
            for r, vector in enumerate(vectors):
                found = pc.take(vector, positions)
                prev = hits[r]
                hits[r] = found if prev is None else pc.and_(prev, found)
        result = hits[0]
        for other in hits[1:]:
            result = pc.or_(result, other)
        return result


def _read_header(raw: bytes, pos: int) -> tuple[int, int, int, int, int]:
    if len(raw) < pos + _HEADER.size:
        raise CorruptTableError("bloom filter is truncated")
    version, nb_hash, hash_type, vector_size = _HEADER.unpack_from(raw, pos)
    if version > 0:
        # Filter.readFields treats a positive first int as the old Jenkins-hash layout.
        raise UnsupportedTableError("bloom filter uses the unversioned (Jenkins hash) layout")
    if version != _FILTER_VERSION:
        raise CorruptTableError(f"unknown bloom filter version {version}")
    if hash_type != MURMUR_HASH:
        raise UnsupportedTableError(f"bloom filter hash type {hash_type} is not MurmurHash")
    if nb_hash <= 0 or vector_size <= 0:
        raise CorruptTableError(f"bloom filter has nbHash={nb_hash}, vectorSize={vector_size}")
    return version, nb_hash, hash_type, vector_size, pos + _HEADER.size


def _read_bits(raw: bytes, pos: int, nbytes: int) -> tuple[bytes, int]:
    if len(raw) < pos + nbytes:
        raise CorruptTableError("bloom filter bit array is truncated")
    return raw[pos : pos + nbytes], pos + nbytes


def _expect_end(raw: bytes, pos: int) -> None:
    if pos != len(raw):
        raise CorruptTableError(f"{len(raw) - pos} unexpected bytes after the bloom filter")


def serialize_bloom_filter(keys: KeysLike, config: BloomFilterConfig = _DEFAULT_CONFIG) -> bytes:
    """The serialized filter Hudi would write for ``keys`` (UTF-8 strings, insertion order)."""
    return BloomFilter.build(keys, config).to_bytes()


def bloom_footer(keys: KeysLike, config: BloomFilterConfig = _DEFAULT_CONFIG) -> dict[str, str]:
    """The bloom footer entries of a base file holding ``keys`` in file order."""
    return BloomFilter.build(keys, config).footer()
