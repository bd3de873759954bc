"""Malformed files: only SorError, naming the block and the byte offset, never another exception
and never an allocation sized by an unchecked header field."""

from __future__ import annotations

import re
import struct
import tracemalloc
import warnings

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from harness.sor import SorError, SorWarning, read_sor, write_sor

BLOCKS = {"Map", "GenParams", "SupParams", "FxdParams", "KeyEvents", "DataPts", "Cksum",
          "FodParams", "Fod02Params", "Fod03Params", "Fod04Params", "ExfoNewProprietaryBlock 01"}
MESSAGE = re.compile(r"^(?P<block>[^:]+): .* at byte \d+")


def _blocks(data: bytes) -> dict[str, tuple[int, int, int]]:
    """name -> (offset of the block, its size, offset of its size field in the Map)."""
    pos = 4
    _, map_size, _ = struct.unpack_from("<HIH", data, pos)
    pos += 8
    offset, out = map_size, {}
    while pos < map_size:
        end = data.index(b"\0", pos)
        name = data[pos:end].decode("latin-1")
        size = struct.unpack_from("<I", data, end + 3)[0]
        out[name] = (offset, size, end + 3)
        offset += size
        pos = end + 7
    return out


def _expect_sor_error(data: bytes, block: str | None = None) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SorWarning)
        with pytest.raises(SorError) as info:
            read_sor(data)
    message = str(info.value)
    assert "\n" not in message
    m = MESSAGE.match(message)
    assert m, message
    if block is not None:
        assert m["block"] == block, message
    return message


def test_truncations_at_many_offsets(vectors):
    for data in vectors.values():
        cuts = {0, 1, 3, 4, 7, 11, len(data) - 1, len(data) - 2, len(data) - 3}
        for offset, size, _ in _blocks(data).values():
            cuts |= {offset + k for k in (-1, 0, 1, 2, 5, 9, 15, 40, size // 2, size - 1)}
        cuts |= set(range(0, len(data), 613))
        for cut in sorted(c for c in cuts if 0 <= c < len(data)):
            _expect_sor_error(data[:cut])


@pytest.mark.parametrize("delta", [-1, +1, -8, "zero", "huge", "file"])
def test_corrupted_map_sizes(vectors, delta):
    for data in vectors.values():
        for name, (_, size, field) in _blocks(data).items():
            new = {"zero": 0, "huge": 0xFFFFFFFF, "file": len(data)}.get(delta)
            new = size + delta if new is None else new
            bad = bytearray(data)
            struct.pack_into("<I", bad, field, max(new, 0))
            _expect_sor_error(bytes(bad))


@pytest.mark.parametrize("value", [0, 5, 0xFFFFFFFF])
def test_corrupted_map_own_size(vectors, value):
    for data in vectors.values():
        bad = bytearray(data)
        struct.pack_into("<I", bad, 6, value)
        _expect_sor_error(bytes(bad))


def _field(data: bytes, block: str, skip: int) -> int:
    """Offset of a field ``skip`` bytes after the block's name header."""
    return _blocks(data)[block][0] + len(block) + 1 + skip


@pytest.mark.parametrize("block,skip,fmt,value", [
    ("DataPts", 0, "<I", 0xFFFFFFFF),       # number of points
    ("DataPts", 0, "<I", 40_000_000),
    ("DataPts", 4, "<H", 0xFFFF),           # number of scale factors
    ("DataPts", 6, "<I", 0xFFFFFFFF),       # points in the first segment
    ("DataPts", 6, "<I", 31344 + 1),
    ("FxdParams", 16, "<H", 0xFFFF),        # number of pulse widths
    ("KeyEvents", 0, "<H", 0xFFFF),         # number of events
])
def test_absurd_counts_fail_without_allocating(vectors, block, skip, fmt, value):
    for data in vectors.values():
        bad = bytearray(data)
        struct.pack_into(fmt, bad, _field(data, block, skip), value)
        tracemalloc.start()
        try:
            message = _expect_sor_error(bytes(bad), block)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 2_000_000, (message, peak)  # no array sized by the bad count


def test_strings_without_terminator(vectors):
    for data in vectors.values():
        offset, size, _ = _blocks(data)["SupParams"]
        bad = bytearray(data)
        body = slice(offset + len("SupParams") + 1, offset + size)
        bad[body] = bytes(bad[body]).replace(b"\0", b"x")
        _expect_sor_error(bytes(bad), "SupParams")


def test_block_name_mismatch_and_not_a_sor_file(vectors):
    data = vectors["noyes"]
    offset = _blocks(data)["KeyEvents"][0]
    bad = bytearray(data)
    bad[offset:offset + 3] = b"XXX"
    assert "does not start with its name" in _expect_sor_error(bytes(bad), "KeyEvents")
    assert "not a .sor file" in _expect_sor_error(b"%PDF-1.7 " + bytes(200), "Map")
    _expect_sor_error(b"", "Map")


def test_missing_file_is_a_sor_error(tmp_path):
    with pytest.raises(SorError, match="cannot read"):
        read_sor(tmp_path / "absent.sor")


def test_path_errors_name_the_file(vectors, tmp_path):
    path = tmp_path / "cut.sor"
    path.write_bytes(vectors["exfo"][:5000])
    with pytest.raises(SorError, match=r"^cut\.sor: DataPts: .* at byte \d+"):
        read_sor(path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(["noyes", "exfo"]),
       edits=st.lists(st.tuples(st.one_of(st.integers(0, 1200), st.integers(0, 110_000)),
                                st.integers(0, 255)), min_size=1, max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 110_000)))
def test_mutated_real_files_give_a_record_or_sor_error(vectors, key, edits, cut):
    data = bytearray(vectors[key])
    for pos, value in edits:
        data[pos % len(data)] = value
    data = bytes(data[:cut] if cut is not None else data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SorWarning)
        try:
            rec = read_sor(data)
        except SorError as exc:
            assert MESSAGE.match(str(exc)), str(exc)
            block = str(exc).split(":")[0]
            event("reader: SorError in " + (block if block in BLOCKS else "a renamed block"))
            return
        try:
            written = write_sor(rec)
        except SorError:
            event("read, writer: SorError")
            return
        event("read, written, read back")
        again = read_sor(written)  # anything the writer writes, the reader reads back
    assert again.checksum_ok is True
    for name in ("general", "supplier", "fixed", "events", "data", "vendor_blocks",
                 "block_extra"):
        assert getattr(again, name) == getattr(rec, name), name
