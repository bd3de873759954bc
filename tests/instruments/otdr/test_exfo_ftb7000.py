"""FTB-7000 driver: the exact dialogue (byte level), replies written the ways real instruments
write them (EXFO's three-digit exponents, + signs, CRLF, either case), and the same driver
against the simulator through pyvisa-py over a real TCP socket."""

import numpy as np
import pytest

from harness.sor import record_from_trace, write_sor
from instruments.errors import InstrumentError, ProtocolError
from instruments.scpi_driver import Activity
from instruments.ieee488 import encode_block
from instruments.otdr.exfo_ftb7000 import (ExfoFtb7000, decode_event, decode_trace_block,
                                           encode_event, encode_trace_block)
from instruments.otdr.sor_handover import check_sor
from instruments.protocols import OtdrSettings
from instruments.registry import MODELS
from instruments.visa_session import ScpiSession
from protocol_double import ExpectedProtocol

OK = (b":SYST:ERR?\n", b'0,"No error"\n')
CONNECT = [(b":FORM:DATA PACKed\n", None), OK]
CONFIGURE = [
    (b":SENS1:WAV 1550.0000NM\n", None), (b":SENS1:PULS:WIDT 2e-05\n", None),
    (b":SENS1:RANG 400000\n", None), (b":SENS1:AVER:TIME 180\n", None),
    (b":SENS1:RES 8\n", None), (b":SENS1:FIB:IOR 1.4677\n", None), OK,
]


def driver(pairs):
    proto = ExpectedProtocol(CONNECT + pairs)
    return ExfoFtb7000(ScpiSession("TEST", opened=proto)), proto


def test_measure_dialogue_byte_for_byte():
    levels = np.array([-3.0, -3.001, -3.5, -60.0])
    block = encode_block(encode_trace_block(levels)) + b"\n"
    otdr, proto = driver(CONFIGURE + [
        (b":INIT:IMM\n", None), (b":STAT:OPER:COND?\n", b"16\n"),
        (b":STAT:OPER:COND?\n", b"0\n"), OK,
        (b":TRAC1:POIN? TRC1\n", b"4\n"), (b":TRAC1:DATA? TRC1\n", block), OK,
        (b"*IDN?\n", b"EXFO,FTB-7600E,1,1\n"),
    ])
    trace = otdr.measure(OtdrSettings())
    proto.assert_done()
    np.testing.assert_allclose(trace.level_db, levels, atol=1e-6)  # float32 on the wire
    np.testing.assert_allclose(trace.distance_m, [0.0, 8.0, 16.0, 24.0])


def test_point_count_that_disagrees_with_the_block_is_a_protocol_error():
    block = encode_block(encode_trace_block(np.array([-3.0, -3.1]))) + b"\n"
    otdr, _ = driver(CONFIGURE + [
        (b":INIT:IMM\n", None), (b":STAT:OPER:COND?\n", b"+0\r\n"), OK,
        (b":TRAC1:POIN? TRC1\n", b"+3.000000E+000\n"), (b":TRAC1:DATA? TRC1\n", block), OK,
    ])
    with pytest.raises(ProtocolError, match="holds 2 points, :TRAC:POIN\\? says 3"):
        otdr.measure(OtdrSettings())


def test_trace_block_that_is_not_whole_float32s_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="7 bytes is not whole float32s"):
        decode_trace_block(b"\x00" * 7)


def test_instrument_error_after_the_settings_names_the_group_and_message():
    otdr, _ = driver(CONFIGURE[:-1] + [
        (b":SYST:ERR?\n", b'-222,"Data out of range;pulse 7 ns"\n'), OK])
    with pytest.raises(InstrumentError, match="configuring the acquisition: -222 Data out of range"):
        otdr.configure(OtdrSettings())


def test_settings_are_read_back_in_si_units():
    otdr, proto = driver([
        (b":SENS1:WAV?\n", b"1.625000E-006\n"), (b":SENS1:PULS:WIDT?\n", b"1.000000e-05 s\n"),
        (b":SENS1:RANG?\n", b"+2.000000E+005\r\n"), (b":SENS1:AVER:TIME?\n", b"60\n"),
        (b":SENS1:RES?\n", b"4.000000E+000\n"), (b":SENS1:FIB:IOR?\n", b"1.468100E+000\n"),
    ])
    assert otdr.settings() == OtdrSettings(1625.0, 10000.0, 200.0, 60.0, 4.0, 1.4681)
    proto.assert_done()


def test_event_table_dialogue_byte_for_byte():
    rows = [(0.0, 3, 0.25, -55.0, 0.25), (1900.0, 1, 0.0977, 0.0, 0.6499),
            (2500.0, 2, -0.02, 0.0, 0.63), (267100.0, 4, 0.0, 0.0, 43.055)]
    otdr, proto = driver([(b":CALC1:EVEN:COUN? TRC1\n", b"+4\n")] + [
        (f":CALC1:EVEN? TRC1,{n}\n".encode(), encode_block(encode_event(*row)) + b"\n")
        for n, row in enumerate(rows, start=1)] + [OK])
    events = otdr.events()
    proto.assert_done()
    assert [e["type"] for e in events] == ["reflection", "positive splice", "negative splice",
                                           "end"]
    assert [e["distance_m"] for e in events] == [0.0, 1900.0, 2500.0, 267100.0]
    assert events[0]["reflectance_db"] == -55.0 and events[1]["reflectance_db"] is None
    assert events[2]["loss_db"] == pytest.approx(-0.02)


def test_event_payload_in_exfos_nr3_and_with_spaces_is_read():
    event = decode_event(b"+2.671000E+005, 4, 0.000000E+000, -4.500000E+001, 4.305500E+001")
    assert event["distance_m"] == 267100.0 and event["type"] == "end"
    assert event["reflectance_db"] == -45.0 and event["cumulative_loss_db"] == 43.055


@pytest.mark.parametrize("payload,message", [
    (b"1.0,7,0.1,0,0.1", "type 7 is not one of 1-4"),
    (b"1.0,1,0.1", "is not 5 numbers"),
    (b"1.0,1,x,0,0.1", "is not 5 numbers"),
])
def test_malformed_event_is_a_protocol_error(payload, message):
    with pytest.raises(ProtocolError, match=message):
        decode_event(payload)


def test_sor_hand_over_returns_the_file_bytes_and_refuses_garbage():
    record = record_from_trace(np.arange(100) * 8.0, -0.16e-3 * np.arange(100) * 8.0,
                               wavelength_nm=1550, pulse_width_ns=1000, group_index=1.4677,
                               averaging_s=30)
    sor = write_sor(record)
    otdr, proto = driver([(b":TRAC1:SOR? TRC1\n", encode_block(sor) + b"\n"), OK])
    assert otdr.fetch_sor() == sor
    proto.assert_done()
    with pytest.raises(ProtocolError, match="the .sor file handed over is malformed"):
        check_sor(b"Map\0" + b"\x00" * 20)


def test_measure_through_pyvisa_py_against_the_simulator(stations, span):
    otdr = MODELS["exfo-ftb7000"].open(stations.resources["SUMGAIT/otdr@exfo-ftb7000"])
    try:
        assert otdr.identify().startswith("EXFO,FTB-7")
        otdr.select_port(2)
        wanted = OtdrSettings(wavelength_nm=1625.0, averaging_s=30)
        trace = otdr.measure(wanted)
        assert otdr.settings() == wanted
    finally:
        otdr.close()
    assert len(trace.level_db) == 50_000
    # backscatter slope over a clean stretch (no event between 50 and 70 km from SUMGAIT)
    assert not any(50 < span.length_km - e.position_km < 70 for e in span.fibre("FP1-F2").events)
    z, y = trace.distance_m, trace.level_db
    sel = (z > 55e3) & (z < 65e3)
    slope = -np.polyfit(z[sel], y[sel], 1)[0] * 1000
    assert slope == pytest.approx(span.fibre("FP1-F2").attenuation_db_per_km[1625.0], abs=0.005)


def test_out_of_range_setting_raises_with_the_instruments_message(stations):
    otdr = MODELS["exfo-ftb7000"].open(stations.resources["AKTAU/otdr@exfo-ftb7000"])
    try:
        with pytest.raises(InstrumentError,
                           match="configuring the acquisition: -222 Data out of range;7e-09$"):
            otdr.measure(OtdrSettings(pulse_width_ns=7))
    finally:
        otdr.close()


def test_progress_starts_from_the_averaging_time_sent_then_follows_the_instrument(stations):
    """The averaging time is the argument after the [1..n] suffix; the instrument's own count
    (AVERage:ELAPsed?, asked without a suffix) then gives the simulator's pace."""
    events: list[Activity] = []
    with MODELS["exfo-ftb7000"].open(stations.resources["SUMGAIT/otdr@exfo-ftb7000"]) as otdr:
        otdr.activity = events.append
        otdr.select_port(2)
        otdr.measure(OtdrSettings(averaging_s=1000))
    running = [e for e in events if e.state == "running"]
    assert running[0].left_s == 1000
    assert len(running) > 2 and running[-1].left_s < 100
