"""Tests of the bloom filter codec: Spark fixtures byte for byte, and a scalar reference model.

The reference below is a deliberately plain, per-key Python transcription of the Java classes
(Hadoop MurmurHash, Hudi HashFunction, InternalDynamicBloomFilter.add with its explicit state),
so the vectorised codec is compared against an independent derivation rather than itself.
"""

from __future__ import annotations

import base64
import math
import random
import struct
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hudiwrite.exceptions import CorruptTableError, InvalidRecordError, UnsupportedTableError
from hudiwrite.formats import bloomfilter as bloomfilter_module
from hudiwrite.formats.bloomfilter import (
    BLOOM_FILTER_FOOTER_KEY,
    BLOOM_TYPE_CODE_FOOTER_KEY,
    BloomFilter,
    BloomFilterConfig,
    _BitSetter,
    bloom_footer,
    hash_positions,
    murmur_hash,
    serialize_bloom_filter,
)
from tests.fixtures import fixture_zips, unpack

# --- scalar reference model ---------------------------------------------------------------------

M = 0x5BD1E995
MASK = 0xFFFFFFFF


def _signed_byte(b: int) -> int:
    return b - 256 if b > 127 else b


def _to_int(h: int) -> int:
    return h - (1 << 32) if h & 0x80000000 else h


def ref_murmur(data: bytes, seed: int, hadoop_tail: bool = True) -> int:
    """MurmurHash2 with Java int semantics, one key at a time.

    ``hadoop_tail`` selects Hadoop's tail order (last byte unshifted); False gives the reference
    C MurmurHash2 order (first tail byte unshifted), as protocol-v6 §7.4 describes it.
    """
    n = len(data)
    h = (seed ^ n) & MASK
    whole = n // 4
    for i in range(whole):
        k = int.from_bytes(data[4 * i : 4 * i + 4], "little")
        k = (k * M) & MASK
        k ^= k >> 24
        k = (k * M) & MASK
        h = (h * M) & MASK
        h ^= k
    tail = data[4 * whole :]
    if tail:
        # shift of each tail byte: Hadoop xors data[len-3] << 16, data[len-2] << 8, data[len-1]
        if hadoop_tail:
            shifts = [8 * (len(tail) - 1 - i) for i in range(len(tail))]
        else:
            shifts = [8 * i for i in range(len(tail))]
        for b, shift in zip(tail, shifts, strict=True):
            h ^= (_signed_byte(b) << shift) & MASK
        h = (h * M) & MASK
    h ^= h >> 13
    h = (h * M) & MASK
    h ^= h >> 15
    return _to_int(h)


def ref_positions(
    key: bytes, nb_hash: int, vector_size: int, hadoop_tail: bool = True
) -> list[int]:
    out, h = [], 0
    for _ in range(nb_hash):
        h = ref_murmur(key, h, hadoop_tail)
        out.append(abs(int(math.fmod(h, vector_size))))  # Java % truncates toward zero
    return out


def ref_serialize(keys: list[str], cfg: BloomFilterConfig, hadoop_tail: bool = True) -> bytes:
    """InternalDynamicBloomFilter.add / SimpleBloomFilter.add, key by key, then write()."""
    vs = math.ceil(cfg.num_entries * (-math.log(cfg.fpp) / (math.log(2) ** 2)))
    nb = math.ceil(math.log(2) * vs / cfg.num_entries)
    header = struct.pack(">iibi", -1, nb, 1, vs)
    matrix = [bytearray((vs + 7) // 8)]
    current, reached_max, cur_index = 0, False, 0
    for key in keys:
        if not cfg.dynamic:
            row = matrix[0]
        elif reached_max:
            row = matrix[cur_index % len(matrix)]
            cur_index += 1
        elif current >= cfg.num_entries and len(matrix) * cfg.num_entries < cfg.max_entries:
            matrix.append(bytearray((vs + 7) // 8))
            row = matrix[-1]
            current = 0
        elif current >= cfg.num_entries:
            reached_max = True
            row = matrix[0]
        else:
            row = matrix[-1]
        for pos in ref_positions(key.encode("utf-8"), nb, vs, hadoop_tail):
            row[pos // 8] |= 1 << (pos % 8)
        current += 1
    if not cfg.dynamic:
        return header + bytes(matrix[0])
    out = header + struct.pack(">iii", cfg.num_entries, current, len(matrix))
    return out + b"".join(header + bytes(row) for row in matrix)


def _random_key(rng: random.Random, length: int) -> str:
    alphabet = "abcXYZ019:,-_é€\U0001f600\x7f"
    return "".join(rng.choice(alphabet) for _ in range(length))


# --- 1. Spark fixtures, byte for byte -----------------------------------------------------------

# Base files with a bloom footer per fixture zip, so a file that silently stops being checked
# (renamed column, moved folder) fails the count.
EXPECTED_BLOOM_FILES = {
    "cow_v6_nonpartitioned.zip": 2,
    "mor_table_corrupt_tail_block.zip": 1,
    "mor_table_delete_ord_int.zip": 1,
    "mor_table_delete_ord_string.zip": 1,
    "mor_table_evo_add_col.zip": 1,
    "mor_table_log_only.zip": 0,
    "mor_table_parquet_log_block.zip": 1,
    "mor_table_uncommitted_log_v6.zip": 1,
    "mor_v6_empty.zip": 0,
    "mor_v6_nonpartitioned.zip": 2,
    "mor_v6_nonpartitioned_rollback.zip": 1,
    "mor_v6_trips_8i1u.zip": 3,
    "mor_v6_trips_8i3d.zip": 3,
    "mor_v8_mor_boundary_windows.zip": 1,
    "mor_v8_trips_8i3u1d.zip": 6,
    "mor_v9_mor_compacted_incremental.zip": 2,
    "mor_v9_txns_simple_meta.zip": 14,
}


def _bloom_base_files(root: Path) -> list[tuple[Path, dict[str, str], pa.ChunkedArray]]:
    """(file, bloom footer entries, record keys in file order) of each base file with a bloom."""
    found = []
    for path in sorted(root.rglob("*.parquet")):
        rel = path.relative_to(root).parts
        if ".hoodie" in rel or any(part.startswith("gold_") for part in rel):
            continue
        meta = {k.decode(): v.decode() for k, v in (pq.read_metadata(path).metadata or {}).items()}
        if BLOOM_FILTER_FOOTER_KEY not in meta:
            continue
        footer = {
            k: meta[k] for k in (BLOOM_FILTER_FOOTER_KEY, BLOOM_TYPE_CODE_FOOTER_KEY) if k in meta
        }
        keys = pq.read_table(path, columns=["_hoodie_record_key"]).column(0)
        found.append((path, footer, keys))
    return found


@pytest.fixture(scope="module")
def fixture_bloom_files(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, list[tuple[Path, dict[str, str], pa.ChunkedArray]]]:
    out = {}
    for zip_path in fixture_zips():
        root = unpack(zip_path, tmp_path_factory.mktemp(zip_path.stem))
        out[zip_path.name] = _bloom_base_files(root)
    return out


def test_fixtures_present(
    fixture_bloom_files: dict[str, list[tuple[Path, dict[str, str], pa.ChunkedArray]]],
) -> None:
    counts = {name: len(files) for name, files in fixture_bloom_files.items()}
    for name, expected in EXPECTED_BLOOM_FILES.items():
        assert counts.get(name) == expected, name
    assert sum(counts.values()) >= 40


def test_fixture_footers_reproduced_byte_for_byte(
    fixture_bloom_files: dict[str, list[tuple[Path, dict[str, str], pa.ChunkedArray]]],
) -> None:
    """Every bloom footer in the Spark fixtures is rebuilt exactly from the file's keys.

    protocol-v6 §7.4 reports 3 of 39 files (with >= 2 complex keys of 15 bytes) whose bits
    "contain none of their keys". That was the tail byte order of its hash, not Java: Hadoop's
    MurmurHash xors the *last* byte unshifted. With Hadoop's order every file here matches, so
    no exception list is needed; any mismatch fails this test.
    """
    matched: list[str] = []
    mismatched: list[str] = []
    for name, files in fixture_bloom_files.items():
        for path, footer, keys in files:
            label = f"{name}:{path.name}"
            (matched if bloom_footer(keys) == footer else mismatched).append(label)
    print(f"\nbloom footers reproduced byte for byte ({len(matched)}):", *matched, sep="\n  ")
    assert mismatched == []
    assert len(matched) >= 40


def test_fixture_footers_decode(
    fixture_bloom_files: dict[str, list[tuple[Path, dict[str, str], pa.ChunkedArray]]],
) -> None:
    """Decoding a Java footer round-trips and finds every key of its file."""
    for files in fixture_bloom_files.values():
        for path, footer, keys in files:
            value = footer[BLOOM_FILTER_FOOTER_KEY]
            bf = BloomFilter.from_footer(value, footer.get(BLOOM_TYPE_CODE_FOOTER_KEY))
            assert bf.dynamic == (BLOOM_TYPE_CODE_FOOTER_KEY in footer)
            assert bf.to_bytes() == base64.b64decode(value), path
            assert bf.current_count == len(keys), path
            assert bf.might_contain(keys).to_pylist() == [True] * len(keys), path


def test_fixture_keys_with_tails_distinguish_tail_order(
    fixture_bloom_files: dict[str, list[tuple[Path, dict[str, str], pa.ChunkedArray]]],
) -> None:
    """The fixtures themselves prove Hadoop's tail order: C-order MurmurHash2 fails on them."""
    cfg = BloomFilterConfig()
    differing = 0
    for files in fixture_bloom_files.values():
        for _, footer, keys in files:
            key_list = keys.to_pylist()
            if all(len(k.encode()) % 4 < 2 for k in key_list):
                continue  # with 0 or 1 tail bytes both orders agree
            c_order = base64.b64encode(ref_serialize(key_list, cfg, hadoop_tail=False)).decode()
            assert c_order != footer[BLOOM_FILTER_FOOTER_KEY]
            differing += 1
    assert differing >= 10  # the TXN-0xx and k1/k2 tables


# --- 2. unit tests ------------------------------------------------------------------------------


def test_murmur_matches_reference_on_assorted_keys() -> None:
    rng = random.Random(7)
    keys = [_random_key(rng, length) for length in range(10) for _ in range(30)]
    keys += [_random_key(rng, rng.randrange(10, 80)) for _ in range(200)]
    keys += ["", "a", "k1", "TXN-015", "id:1,name:Alice", "\x80", "ÿÿÿ"]
    data = [k.encode() for k in keys]
    seeds = [rng.randrange(-(2**31), 2**31) for _ in keys]

    got = murmur_hash(pa.array(keys, pa.string()), pa.array(seeds, pa.int32())).to_pylist()
    assert got == [ref_murmur(d, s) for d, s in zip(data, seeds, strict=True)]
    assert murmur_hash(keys).to_pylist() == [ref_murmur(d, 0) for d in data]
    assert murmur_hash(keys, -1).to_pylist() == [ref_murmur(d, -1) for d in data]


def test_murmur_sign_extends_tail_bytes() -> None:
    # Bytes >= 0x80 in the tail are sign-extended (Java byte); in the 4-byte blocks they are not.
    for key in ["é", "aé", "€", "abcdé", "\U0001f600é"]:
        data = key.encode()
        assert murmur_hash([key]).to_pylist() == [ref_murmur(data, 0)]
    unsigned = murmur_hash(["é"]).to_pylist()[0]
    h = (0 ^ 2) & MASK
    for b, shift in zip(b"\xc3\xa9", (8, 0), strict=True):
        h ^= b << shift  # zero-extended: must differ
    h = (h * M) & MASK
    h ^= h >> 13
    h = (h * M) & MASK
    h ^= h >> 15
    assert unsigned != _to_int(h)


def test_hadoop_tail_order_differs_from_c_murmur2() -> None:
    """protocol-v6 §7.4 step 3 gives the C order; Java uses Hadoop's (verified on fixtures)."""
    assert murmur_hash(["k1"]).to_pylist() == [ref_murmur(b"k1", 0, hadoop_tail=True)]
    assert ref_murmur(b"k1", 0, hadoop_tail=True) != ref_murmur(b"k1", 0, hadoop_tail=False)
    assert ref_murmur(b"TXN-015", 0, True) != ref_murmur(b"TXN-015", 0, False)
    # one tail byte: both orders agree, which is why e.g. 13-byte complex keys matched anyway
    assert ref_murmur(b"id:2,name:Bob", 0, True) == ref_murmur(b"id:2,name:Bob", 0, False)


def test_positions_match_reference() -> None:
    rng = random.Random(11)
    keys = [_random_key(rng, rng.randrange(1, 40)) for _ in range(300)]
    rounds = hash_positions(keys, 30, 2587966)
    assert len(rounds) == 30
    for i, key in enumerate(keys):
        assert [r[i].as_py() for r in rounds] == ref_positions(key.encode(), 30, 2587966)


def test_default_sizes() -> None:
    cfg = BloomFilterConfig()
    assert (cfg.vector_size, cfg.nb_hash, cfg.max_rows) == (2587966, 30, 2)
    dynamic = serialize_bloom_filter(["a"])
    assert len(dynamic) == 323534  # 13 + 12 + (13 + 323496), protocol §7.4
    footer = bloom_footer(["a"])
    assert footer[BLOOM_TYPE_CODE_FOOTER_KEY] == "DYNAMIC_V0"
    assert len(footer[BLOOM_FILTER_FOOTER_KEY]) == 431380

    simple_cfg = BloomFilterConfig(dynamic=False)
    simple = serialize_bloom_filter(["a"], simple_cfg)
    assert len(simple) == 13 + 323496
    assert simple == ref_serialize(["a"], simple_cfg)
    assert set(bloom_footer(["a"], simple_cfg)) == {BLOOM_FILTER_FOOTER_KEY}
    # the dynamic filter's only row is exactly the simple filter
    assert dynamic[25:] == simple
    assert struct.unpack(">iibiiii", dynamic[:25]) == (-1, 30, 1, 2587966, 60000, 1, 1)


def test_default_second_row_opens_after_60000_keys() -> None:
    keys = [f"key-{i:06d}" for i in range(60001)]
    one_row = serialize_bloom_filter(keys[:60000])
    two_rows = serialize_bloom_filter(keys)
    assert struct.unpack_from(">iii", one_row, 13) == (60000, 60000, 1)
    assert struct.unpack_from(">iii", two_rows, 13) == (60000, 1, 2)
    assert len(two_rows) == 13 + 12 + 2 * (13 + 323496)
    # row 0 is unchanged by the 60001st key, which went to row 1 alone
    assert two_rows[25 : 25 + 323509] == one_row[25:]
    assert two_rows[25 + 323509 :] == serialize_bloom_filter(
        keys[60000:], BloomFilterConfig(dynamic=False)
    )


def test_saturation_row_assignment() -> None:
    """nr=2, maxN=4: rows 0,0 | 1,1 | saturated: 0 (switch), 0, 1, 0, 1 ..."""
    cfg = BloomFilterConfig(num_entries=2, fpp=1e-3, max_entries=4)
    keys = [f"k{i}" for i in range(9)]
    bf = BloomFilter.build(keys, cfg)
    assert len(bf.rows) == 2
    assert bf.current_count == 9 - 2
    simple = BloomFilterConfig(num_entries=2, fpp=1e-3, dynamic=False)
    expected_rows = [
        [keys[i] for i in (0, 1, 4, 5, 7)],
        [keys[i] for i in (2, 3, 6, 8)],
    ]
    for row, members in zip(bf.rows, expected_rows, strict=True):
        assert row == BloomFilter.build(members, simple).rows[0]
    assert bf.to_bytes() == ref_serialize(keys, cfg)


@pytest.mark.parametrize(
    ("num_entries", "max_entries", "n"),
    [
        (1, 1, 5),  # saturated from the second key, one row
        (3, 7, 40),  # three rows, then cycling
        (3, 9, 9),  # exactly full, not yet saturated
        (3, 9, 10),  # the switching key
        (3, 9, 11),  # row 0 twice in a row
        (4, 0, 12),  # maxN below nr: one row
        (5, 100, 23),  # growing, never saturated
        (2, 5, 50),  # maxN not a multiple of nr
    ],
)
def test_multi_row_against_reference(num_entries: int, max_entries: int, n: int) -> None:
    rng = random.Random(num_entries * 1000 + n)
    keys = [_random_key(rng, rng.randrange(1, 12)) for _ in range(n)]
    cfg = BloomFilterConfig(num_entries=num_entries, fpp=0.01, max_entries=max_entries)
    assert serialize_bloom_filter(pa.array(keys), cfg) == ref_serialize(keys, cfg)
    assert BloomFilter.build(keys, cfg).might_contain(keys).to_pylist() == [True] * n


def test_might_contain() -> None:
    rng = random.Random(3)
    keys = [_random_key(rng, rng.randrange(1, 30)) for _ in range(2000)]
    others = [f"absent-{i}" for i in range(2000)]
    for cfg in (
        BloomFilterConfig(),
        BloomFilterConfig(dynamic=False),
        BloomFilterConfig(num_entries=500, max_entries=1200),
    ):
        bf = BloomFilter.from_footer(*_footer_args(bloom_footer(keys, cfg)))
        assert bf.might_contain(pa.chunked_array([keys[:700], keys[700:]])).to_pylist() == [
            True
        ] * len(keys)
        assert bf.might_contain(others).true_count < 20
    assert BloomFilter.build(keys).might_contain(others).true_count == 0  # fpp 1e-9
    assert len(BloomFilter.build(keys).might_contain([])) == 0


def _footer_args(footer: dict[str, str]) -> tuple[str, str | None]:
    return footer[BLOOM_FILTER_FOOTER_KEY], footer.get(BLOOM_TYPE_CODE_FOOTER_KEY)


def test_input_forms_agree() -> None:
    keys = ["b", "aa", "ccc", "dddd", "ééééé"]
    expected = serialize_bloom_filter(keys)
    assert serialize_bloom_filter(pa.array(keys)) == expected
    assert serialize_bloom_filter(pa.array(keys, pa.large_string())) == expected
    assert serialize_bloom_filter(pa.chunked_array([keys[:2], keys[2:]])) == expected
    assert serialize_bloom_filter(pa.array(keys).slice(1)) == serialize_bloom_filter(keys[1:])


def test_scatter_lookup_and_loop_bit_setters_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    for vector_size in (1, 7, 8, 9, 1000, 2587966):
        batches = [
            pa.array([rng.randrange(vector_size) for _ in range(rng.randrange(0, 300))], pa.int32())
            for _ in range(5)
        ]
        expected = bytearray((vector_size + 7) // 8)
        for batch in batches:
            for pos in batch.to_pylist():
                expected[pos // 8] |= 1 << (pos % 8)
        for use_scatter, few in ((True, 0), (False, 0), (True, 10**9)):
            monkeypatch.setattr(bloomfilter_module, "_FEW_POSITIONS", few)
            setter = _BitSetter(vector_size, use_scatter=use_scatter)
            for batch in batches:
                setter.add(batch)
            assert setter.to_bytes() == bytes(expected), (vector_size, use_scatter, few)


def test_empty_key_set() -> None:
    cfg = BloomFilterConfig(num_entries=10, fpp=0.01)
    assert serialize_bloom_filter([], cfg) == ref_serialize([], cfg)


def test_null_and_empty_keys_refused() -> None:
    with pytest.raises(InvalidRecordError):
        serialize_bloom_filter(pa.array(["a", None]))
    with pytest.raises(InvalidRecordError):
        serialize_bloom_filter(["a", ""])
    with pytest.raises(InvalidRecordError):
        BloomFilter.build(["a"]).might_contain(["b", ""])


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="num_entries"):
        BloomFilterConfig(num_entries=0)
    with pytest.raises(ValueError, match="fpp"):
        BloomFilterConfig(fpp=1.0)


def test_malformed_footers() -> None:
    good = BloomFilter.build(["a", "b"], BloomFilterConfig(num_entries=4, fpp=0.1))
    raw = good.to_bytes()

    def enc(b: bytes) -> str:
        return base64.b64encode(b).decode()

    assert BloomFilter.from_footer(enc(raw), "dynamic_v0") == good  # Java compares ignoring case
    assert BloomFilter.from_footer(enc(raw).encode(), b"DYNAMIC_V0") == good
    with pytest.raises(CorruptTableError):
        BloomFilter.from_footer("not base64!", "DYNAMIC_V0")
    with pytest.raises(CorruptTableError):
        BloomFilter.from_footer(enc(raw[:-1]), "DYNAMIC_V0")
    with pytest.raises(CorruptTableError):
        BloomFilter.from_footer(enc(raw + b"\0"), "DYNAMIC_V0")
    with pytest.raises(CorruptTableError):
        BloomFilter.from_footer(enc(raw[:20]), "DYNAMIC_V0")
    with pytest.raises(CorruptTableError):
        BloomFilter.from_footer(enc(struct.pack(">i", -2) + raw[4:]), "DYNAMIC_V0")
    with pytest.raises(CorruptTableError):  # a dynamic filter read as SIMPLE has trailing bytes
        BloomFilter.from_footer(enc(raw), None)
    with pytest.raises(UnsupportedTableError):  # old unversioned layout (Jenkins hash)
        BloomFilter.from_footer(enc(struct.pack(">i", 5) + raw[4:]), None)
    with pytest.raises(UnsupportedTableError):  # hash type 0 = Jenkins
        BloomFilter.from_footer(enc(raw[:8] + b"\0" + raw[9:]), "DYNAMIC_V0")
    with pytest.raises(UnsupportedTableError):
        BloomFilter.from_footer(enc(raw), "DYNAMIC_V1")
    row_at = 25  # a row header disagreeing with the outer one
    bad = raw[: row_at + 4] + struct.pack(">i", 31) + raw[row_at + 8 :]
    with pytest.raises(CorruptTableError):
        BloomFilter.from_footer(enc(bad), "DYNAMIC_V0")


# --- 3. property test ---------------------------------------------------------------------------


@st.composite
def _configs(draw: st.DrawFn) -> BloomFilterConfig:
    return BloomFilterConfig(
        num_entries=draw(st.integers(1, 8)),
        fpp=draw(st.sampled_from([0.5, 0.05, 1e-3])),
        dynamic=draw(st.booleans()),
        max_entries=draw(st.integers(0, 40)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys=st.lists(st.text(min_size=1, max_size=14), max_size=60), cfg=_configs())
def test_vectorised_matches_reference(keys: list[str], cfg: BloomFilterConfig) -> None:
    assert serialize_bloom_filter(pa.array(keys, pa.string()), cfg) == ref_serialize(keys, cfg)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys=st.lists(st.text(min_size=1, max_size=14), max_size=60), cfg=_configs())
def test_arrow_bit_setting_matches_reference(keys: list[str], cfg: BloomFilterConfig) -> None:
    """The same, with the small-set loop off: every filter goes through the Arrow kernels."""
    few = bloomfilter_module._FEW_POSITIONS
    bloomfilter_module._FEW_POSITIONS = 0
    try:
        assert serialize_bloom_filter(pa.array(keys, pa.string()), cfg) == ref_serialize(keys, cfg)
    finally:
        bloomfilter_module._FEW_POSITIONS = few


@settings(max_examples=100, deadline=None)
@given(
    keys=st.lists(st.binary(max_size=21), min_size=1, max_size=40),
    seed=st.integers(-(2**31), 2**31 - 1),
)
def test_murmur_matches_reference_on_bytes(keys: list[bytes], seed: int) -> None:
    assert murmur_hash(pa.array(keys, pa.binary()), seed).to_pylist() == [
        ref_murmur(k, seed) for k in keys
    ]
