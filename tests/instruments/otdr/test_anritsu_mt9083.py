"""MT9083 driver: the exact dialogue (byte level, the commands of the manual's chapter 4 and of
the FOMS Submarine client), replies written the ways real instruments write them, and the same
driver against the simulator through pyvisa-py over a real TCP socket."""

import numpy as np
import pytest

from instruments.errors import InstrumentError, ProtocolError
from instruments.ieee488 import encode_block
from instruments.otdr.anritsu_mt9083 import (AnritsuMt9083, decode_event, decode_trace_block,
                                             encode_trace_block, parse_parameters,
                                             resolution_level, sample_spacing_m)
from instruments.protocols import OtdrSettings
from instruments.registry import MODELS
from instruments.visa_session import ScpiSession
from protocol_double import ExpectedProtocol

OK = (b":SYST:ERR?\n", b'0,"No error"\n')
CONFIGURE = [(b":SOUR:WAV 1550\n", None), (b":SOUR:RAN 400\n", None), (b":SOUR:RES 2\n", None),
             (b":SOUR:PULS 20000\n", None), (b":SOUR:AVER:TIM 180\n", None),
             (b":SENS:FIB:IOR 1.4677\n", None), OK]
PARAMETERS = b"1550, 400.000000, 20000, 18388, 8.000000, 1.467700, -81.500000, 1\n"


def driver(pairs):
    proto = ExpectedProtocol(pairs)
    return AnritsuMt9083(ScpiSession("TEST", opened=proto)), proto


def test_measure_dialogue_byte_for_byte():
    levels = np.array([-3.0, -3.001, -3.5, -60.0])
    block = encode_block(encode_trace_block(levels)) + b"\n"
    otdr, proto = driver(CONFIGURE + [
        (b":INIT\n", None), OK, (b":SENS:TRAC:READ?\n", b"0\n"), (b":SENS:TRAC:READ?\n", b"1\n"),
        OK, (b":TRAC:LOAD:DATA?\n", block), OK, (b":TRAC:PAR?\n", PARAMETERS),
        (b"*IDN?\n", b"ANRITSU,MT9083C2,1,1\n"),
    ])
    trace = otdr.measure(OtdrSettings())
    proto.assert_done()
    np.testing.assert_allclose(trace.level_db, levels)
    np.testing.assert_allclose(trace.distance_m, [0.0, 8.0, 16.0, 24.0])


@pytest.mark.parametrize("ready,parameters", [
    (b"+1\r\n", b"1550,400,20000,18388,8,1.4677,-81.5,1\r\n"),
    (b"1.0\n", b"+1550, +4.000000E+002, +2.0E+04, 18388, +8.000000E+000, 1.4677E0, -8.15e1, 1\n"),
])
def test_replies_in_other_number_forms_and_crlf_are_read_alike(ready, parameters):
    block = encode_block(encode_trace_block(np.array([-3.0, -3.5]))) + b"\n"
    otdr, proto = driver(CONFIGURE + [
        (b":INIT\n", None), OK, (b":SENS:TRAC:READ?\n", ready), OK,
        (b":TRAC:LOAD:DATA?\n", block), OK, (b":TRAC:PAR?\n", parameters),
        (b"*IDN?\n", b"ANRITSU, MT9083C2, 1, 1\r\n"),
    ])
    trace = otdr.measure(OtdrSettings())
    proto.assert_done()
    np.testing.assert_allclose(trace.distance_m, [0.0, 8.0])
    assert trace.idn == "ANRITSU, MT9083C2, 1, 1"


def test_the_sample_spacing_comes_from_the_instrument_not_the_request():
    block = encode_block(encode_trace_block(np.array([-3.0, -3.5, -4.0]))) + b"\n"
    otdr, proto = driver(CONFIGURE + [
        (b":INIT\n", None), OK, (b":SENS:TRAC:READ?\n", b"1\n"), OK,
        (b":TRAC:LOAD:DATA?\n", block), OK,
        (b":TRAC:PAR?\n", b"1550, 400.000000, 20000, 1, 7.999100, 1.467700, -81.5, 1\n"),
        (b"*IDN?\n", b"ANRITSU,MT9083C2,1,1\n"),
    ])
    trace = otdr.measure(OtdrSettings())
    np.testing.assert_allclose(trace.distance_m, [0.0, 7.9991, 15.9982])
    assert trace.settings.resolution_m == 7.9991


@pytest.mark.parametrize("range_km,resolution_m,level,spacing", [
    (400, 8, 2, 8.0), (10, 1, 1, 1.0), (100, 4, 2, 2.0), (100, 0.5, 2, 2.0), (20, 20, 0, 8.0),
    (20, 8, 0, 8.0)])
def test_the_resolution_level_nearest_the_spacing_asked(range_km, resolution_m, level, spacing):
    assert resolution_level(range_km, resolution_m) == level
    assert sample_spacing_m(range_km, level) == spacing


def test_instrument_error_names_the_command_group_and_message():
    otdr, _ = driver([(b":ROUT:CLOS 9\n", None),
                      (b":SYST:ERR?\n", b'-222,"Data out of range;switch port 9"\n'),
                      OK])
    with pytest.raises(InstrumentError, match="ROUTe:CLOSe 9.*-222 Data out of range"):
        otdr.select_port(9)


def test_trace_block_with_wrong_count_is_a_protocol_error():
    payload = (5).to_bytes(4, "big") + b"\x00\x01" * 3
    with pytest.raises(ProtocolError, match="says 5 points but holds 3"):
        decode_trace_block(payload)


def test_measure_through_pyvisa_py_against_the_simulator(stations, span):
    otdr = MODELS["anritsu-mt9083"].open(stations.resources["AKTAU/otdr"])
    try:
        assert otdr.identify().startswith("ANRITSU,MT9083")
        otdr.select_port(1)
        trace = otdr.measure(OtdrSettings(averaging_s=30))
    finally:
        otdr.close()
    assert len(trace.level_db) == 50_000
    # backscatter slope over a clean stretch, 50-60 km, equals the fibre's attenuation
    z, y = trace.distance_m, trace.level_db
    sel = (z > 50e3) & (z < 60e3)
    slope = -np.polyfit(z[sel], y[sel], 1)[0] * 1000
    assert slope == pytest.approx(span.fibre("FP1-F1").attenuation_db_per_km[1550.0], abs=0.005)


def test_out_of_range_setting_raises_with_the_instruments_message(stations):
    otdr = MODELS["anritsu-mt9083"].open(stations.resources["SUMGAIT/otdr"])
    try:
        with pytest.raises(InstrumentError,
                           match="configuring the acquisition: -222 Data out of range;7$"):
            otdr.measure(OtdrSettings(pulse_width_ns=7))
    finally:
        otdr.close()


def test_settings_are_read_back_with_each_settings_query():
    otdr, proto = driver([
        (b":SOUR:RAN?\n", b"100.000000\n"), (b":SOUR:RES?\n", b"+1\n"),
        (b":SOUR:WAV?\n", b"1625\n"), (b":SOUR:PULS?\n", b"1.0E+04\n"),
        (b":SOUR:AVER:TIM?\n", b"60\n"), (b":SENS:FIB:IOR?\n", b"1.468100\n")])
    assert otdr.settings() == OtdrSettings(1625.0, 10000.0, 100.0, 60.0, 8.0, 1.4681)
    proto.assert_done()


def test_parameters_reply_of_the_manuals_example_is_parsed():
    values = parse_parameters("1310, 16.415554, 50, 6144, 0.656621, 1.467700, –78.500000, 1"
                              .replace("–", "-"))
    assert values["spacing_m"] == 0.656621 and values["range_km"] == 16.415554
    assert values["backscatter_db"] == -78.5 and values["pulse_ns"] == 50
    with pytest.raises(ProtocolError, match="is not 8 values"):
        parse_parameters("1310, 16.4, 50")


def test_event_table_dialogue_byte_for_byte():
    otdr, proto = driver([
        (b":TRAC:ANAL\n", None), (b"*OPC?\n", b"1\n"), OK, (b":TRAC:EVEN:COUN?\n", b"3\n"),
        (b":TRAC:EVEN? 1\n", b"0.00000,R,0.250,-55.0\n"),
        (b":TRAC:EVEN? 2\n", b"+31.01000,s,-1.2E-2,0.0\r\n"),
        (b":TRAC:EVEN? 3\n", b"266.77989,E,0.000,0.0\n"),
    ])
    events = otdr.events()
    proto.assert_done()
    assert [(e["distance_m"], e["type"]) for e in events] == [
        (0.0, "reflective"), (pytest.approx(31010.0), "non-reflective"),
        (pytest.approx(266779.89), "end")]
    assert events[0]["reflectance_db"] == -55.0 and events[1]["reflectance_db"] is None
    assert events[1]["loss_db"] == -0.012  # a gainer, as one direction can show


@pytest.mark.parametrize("reply", ["1.0,X,0.1,0.0", "1.0,S,0.1", "one,S,0.1,0.0"])
def test_malformed_event_reply_is_a_protocol_error(reply):
    with pytest.raises(ProtocolError, match="MT9083 event reply"):
        decode_event(reply)
