"""Fuzzing the .sor reader with mutated real files, mutated files the writer made, revision-1
files and forged headers: every input gives a record (which ``sor dump`` summarises as JSON and
the writer writes back readably) or a one-line SorError; never another exception, a hang
(:func:`fuzz_helpers.no_hang`) or an allocation sized by a forged count. The default suite runs
:data:`DEFAULT_CASES` cases; ``pytest -m fuzz`` runs :data:`FUZZ_CASES`.
"""

from __future__ import annotations

import json
import struct
import warnings

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from fuzz_helpers import (DEFAULT_CASES, FUZZ_CASES, expect_only, fuzz_settings, max_rss_mib,
                          mutated_bytes)
from harness.sor import SorError, SorWarning, read_sor, record_from_trace, sor_summary, write_sor

RSS_LIMIT_MIB = 1500.0
"""The process must never grow near this: the largest legitimate allocation is a few MiB."""


def _generated() -> bytes:
    d = np.arange(2000) * 2.0
    level = -0.2 * d / 1000 - np.where(d > 1500, 0.3, 0.0)
    return write_sor(record_from_trace(
        d, level, wavelength_nm=1550, pulse_width_ns=100, group_index=1.4677, averaging_s=30,
        events=[{"distance_m": 1500.0, "loss_db": 0.3}], date_time=1_700_000_000))


_SEEDS: list[bytes] = []


@pytest.fixture
def seeds(vectors, to_revision1) -> list[bytes]:
    """A generated file, both real vectors and their revision-1 forms (built once)."""
    if not _SEEDS:
        _SEEDS.append(_generated())
        for data in vectors.values():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SorWarning)
                _SEEDS.extend([data, to_revision1(read_sor(data))])
    return _SEEDS


@st.composite
def forged(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed with one 16- or 32-bit field overwritten by an edge value (sizes, counts)."""
    data = bytearray(draw(st.sampled_from(seeds)))
    fmt = draw(st.sampled_from(["<H", "<I", "<i"]))
    pos = draw(st.integers(0, len(data) - struct.calcsize(fmt)))
    value = draw(st.sampled_from([0, 1, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, -1, 40_000_000]))
    if fmt == "<H":
        value &= 0xFFFF
    elif fmt == "<I":
        value &= 0xFFFFFFFF
    else:
        value = (value + 2**31) % 2**32 - 2**31
    struct.pack_into(fmt, data, pos, value)
    return bytes(data)


def inputs(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """Mutated seeds, forged headers, truncations, junk after a Map name, random bytes."""
    return st.one_of(
        st.sampled_from(seeds).flatmap(lambda s: mutated_bytes(s, max_mutations=6)),
        forged(seeds),
        st.sampled_from(seeds).flatmap(lambda s: st.integers(0, len(s)).map(lambda n: s[:n])),
        st.binary(max_size=400).map(lambda b: b"Map\0" + b),
        st.binary(max_size=200),
    )


def _check(data: bytes, in_hypothesis: bool = True) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SorWarning)
        record = expect_only((SorError,), lambda: read_sor(data))
        if in_hypothesis:  # the split is printed by --hypothesis-show-statistics
            event("read" if record is not None else "SorError")
        if record is not None:
            json.dumps(sor_summary(record))  # what `harness sor dump` prints
            written = expect_only((SorError,), lambda: write_sor(record))
            if written is not None:
                again = read_sor(written)  # what the writer writes, the reader reads
                assert again.fixed == record.fixed and again.events == record.events
    assert max_rss_mib() < RSS_LIMIT_MIB


@pytest.mark.parametrize("data", [b"", b"Map\0" + struct.pack("<HIH", 200, 0xFFFFFFFF, 0xFFFF)])
def test_fuzz_examples(data):
    _check(data, in_hypothesis=False)


def test_fuzz_found_a_newline_in_a_block_name(vectors):
    """Once a two-line SorError: a Map entry's name holding a newline, echoed in the message."""
    data = vectors["noyes"]
    at = data.index(b"FodParams\0")
    _check(data[:at + 8] + b"\n" + data[at + 9:], in_hypothesis=False)


@fuzz_settings(DEFAULT_CASES)
@given(data=st.data())
def test_fuzz_reader_default(seeds, data):
    _check(data.draw(inputs(seeds)))


@pytest.mark.fuzz
@fuzz_settings(FUZZ_CASES)
@given(data=st.data())
def test_fuzz_reader(seeds, data):
    _check(data.draw(inputs(seeds)))
