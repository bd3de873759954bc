"""Fuzzing the SCPI reply decoders: IEEE 488.2 definite-length blocks, the MT9083 trace block,
the AQ6370 REAL,64 block and the ``:SYST:ERR?`` reply. Every input decodes or ends in
ProtocolError, and no header-declared size is allocated before it is checked.

Seeds are replies recorded from the simulated OTDR and OSA (their own command handling, the
bytes they put on the wire) and blocks generated with the encoders; both are mutated byte by byte.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz_helpers import (DEFAULT_CASES, FUZZ_CASES, expect_only, fuzz_settings, max_rss_mib,
                          mutated_bytes, mutated_text)
from instruments.errors import ProtocolError
from instruments.ieee488 import MAX_BLOCK_BYTES, decode_block, encode_block, parse_block_header
from instruments.osa.yokogawa_aq6370 import _float64
from instruments.otdr.anritsu_mt9083 import decode_trace_block, encode_trace_block
from instruments.scpi_driver import parse_error_reply
from instruments.sim.osa_aq6370 import SimAq6370
from instruments.sim.otdr_mt9083 import SimMt9083
from instruments.sim.span import load_span
from instruments.sim.stations import otdr_ports


def _ask(sim, session: dict, *lines: str) -> bytes:
    reply = b""
    for line in lines:
        reply = sim.handle(line, session) or b""
    return bytes(reply)


def _recorded() -> dict[str, bytes]:
    """Replies of the simulated instruments, as they go on the wire (terminator included)."""
    span = load_span()
    otdr = SimMt9083(span, "AKTAU", otdr_ports(span))
    session: dict = {}
    _ask(otdr, session, ":ROUT:CLOS 1", ":SOUR:WAV 1550", ":SOUR:PULS 1000",
                 ":SOUR:RAN 20", ":SOUR:AVER:TIM 1", ":SOUR:RES 0", ":INIT")
    for _ in range(500):  # the simulator averages in compressed time
        if _ask(otdr, session, ":SENS:TRAC:READ?").strip() == b"1":
            break
        time.sleep(0.01)
    trace = _ask(otdr, session, ":TRAC:LOAD:DATA? 0,7.992,1")  # §4.5.9: the first 8 km
    errors = [_ask(otdr, session, ":SYST:ERR?"), _ask(otdr, session, ":BOGUS"),
              _ask(otdr, session, ":SYST:ERR?")]
    osa = SimAq6370(span, "AKTAU", {1: "FP1-F2"})
    osession: dict = {}
    _ask(osa, osession, 'open "anonymous"', "x", ":FORM:DATA REAL,64", ":SENS:SWE:POIN 101",
         ":INIT")
    for _ in range(500):
        if int(_ask(osa, osession, ":STAT:OPER:EVEN?")) & 1:
            break
        time.sleep(0.01)
    x = _ask(osa, osession, ":TRAC:X? TRA")
    return {"trace": trace, "osa_x": x, "error_none": errors[0], "error_some": errors[2]}


RECORDED = _recorded()
BLOCKS = st.one_of(
    st.sampled_from([RECORDED["trace"], RECORDED["osa_x"]]).flatmap(mutated_bytes),
    st.binary(max_size=64).map(encode_block).flatmap(mutated_bytes),
    st.binary(max_size=40),
    st.tuples(st.integers(0, 9), st.integers(0, 10**12), st.binary(max_size=16))
    .map(lambda t: b"#" + str(t[0]).encode() + str(t[1]).encode() + t[2]),
)
"""Whole replies to a block query: recorded, generated and forged headers, mostly mutated."""
TRACE_PAYLOADS = st.one_of(
    st.sampled_from([RECORDED["trace"]]).map(decode_block).flatmap(mutated_bytes),
    st.lists(st.floats(-65.0, 0.0), max_size=20).map(np.array).map(encode_trace_block)
    .flatmap(mutated_bytes),
    st.binary(max_size=24),
)
REAL64_PAYLOADS = st.one_of(
    st.sampled_from([RECORDED["osa_x"]]).map(decode_block).flatmap(mutated_bytes),
    st.binary(max_size=40),
)
ERROR_REPLIES = st.one_of(
    st.sampled_from([RECORDED["error_none"].decode(), RECORDED["error_some"].decode()])
    .flatmap(mutated_text),
    st.text(max_size=40),
    st.builds(lambda c, m: f"{c},{m}", st.integers(), st.text(max_size=20)),
)


def decode_reply(data: bytes) -> None:
    payload = expect_only((ProtocolError,), lambda: decode_block(data))
    if payload is not None:
        head, length = parse_block_header(data[:11])
        assert len(payload) == length <= MAX_BLOCK_BYTES and payload == data[head:head + length]


def decode_trace(payload: bytes) -> None:
    level = expect_only((ProtocolError,), lambda: decode_trace_block(payload))
    if level is not None:
        assert len(level) == (len(payload) - 4) // 2 and np.all(level <= 0)


def decode_real64(payload: bytes) -> None:
    values = expect_only((ProtocolError,), lambda: _float64(payload))
    if values is not None:
        assert len(values) * 8 == len(payload)


def parse_error(reply: str) -> None:
    parsed = expect_only((ProtocolError,), lambda: parse_error_reply(reply))
    if parsed is not None:
        assert isinstance(parsed[0], int) and -10**6 < parsed[0] < 10**6


def test_recorded_seeds_decode():
    level = decode_trace_block(decode_block(RECORDED["trace"]))
    assert len(level) == 1000 and level.min() < -1.0  # 8 km at 8 m, fibre loss visible
    assert len(_float64(decode_block(RECORDED["osa_x"]))) == 101
    assert parse_error_reply(RECORDED["error_none"].decode().strip())[0] == 0
    code, message = parse_error_reply(RECORDED["error_some"].decode().strip())
    assert code == -113 and "Undefined header" in message


@pytest.mark.parametrize("reply,expected", [
    ('0,"No error"', (0, "No error")), ("-113,\"Undefined header;:BOGUS\"", (-113, "Undefined header;:BOGUS")),
    ("+5, text", (5, "text")), ("  -222 ,\"x\"", (-222, "x"))])
def test_error_reply_parses(reply, expected):
    assert parse_error_reply(reply) == expected


@pytest.mark.parametrize("reply", ["", "x,1", "1_0,\"underscore\"", "9" * 5000 + ",big",
                                   "\u0661,\"arabic digit\"", "0x10,hex"])
def test_error_reply_regressions(reply):
    """Before parse_error_reply, ``int()`` took ``1_0``, Unicode digits, and raised a bare
    ValueError past 4300 digits; each is now a ProtocolError."""
    with pytest.raises(ProtocolError):
        parse_error_reply(reply)


def test_forged_header_sizes_are_refused_before_allocating():
    before = max_rss_mib()
    for data in (b"#9999999999", b"#9" + str(MAX_BLOCK_BYTES + 1).encode(), b"#8" + b"9" * 8):
        with pytest.raises(ProtocolError):
            decode_block(data)
    with pytest.raises(ProtocolError):  # claims 4 G points, holds none
        decode_trace_block(b"\xff\xff\xff\xff")
    assert max_rss_mib() - before < 50


@given(BLOCKS)
@example(b"#9999999999")
@example(b"#\xd9\x35abc")
@fuzz_settings(DEFAULT_CASES)
def test_block_fuzz(data):
    decode_reply(data)


@given(TRACE_PAYLOADS)
@fuzz_settings(DEFAULT_CASES)
def test_trace_block_fuzz(payload):
    decode_trace(payload)


@given(REAL64_PAYLOADS)
@fuzz_settings(DEFAULT_CASES)
def test_real64_fuzz(payload):
    decode_real64(payload)


@given(ERROR_REPLIES)
@fuzz_settings(DEFAULT_CASES)
def test_error_reply_fuzz(reply):
    parse_error(reply)


@pytest.mark.fuzz
@given(BLOCKS)
@fuzz_settings(FUZZ_CASES)
def test_block_fuzz_long(data):
    decode_reply(data)


@pytest.mark.fuzz
@given(TRACE_PAYLOADS)
@fuzz_settings(FUZZ_CASES)
def test_trace_block_fuzz_long(payload):
    decode_trace(payload)


@pytest.mark.fuzz
@given(REAL64_PAYLOADS)
@fuzz_settings(FUZZ_CASES)
def test_real64_fuzz_long(payload):
    decode_real64(payload)


@pytest.mark.fuzz
@given(ERROR_REPLIES)
@fuzz_settings(FUZZ_CASES)
def test_error_reply_fuzz_long(reply):
    parse_error(reply)
