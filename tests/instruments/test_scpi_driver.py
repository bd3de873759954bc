"""Driver robustness to what real instruments send, byte for byte: either reply case, ``+``
signs and exponent forms on numbers, CR LF after lines and after blocks (the AQ6370 sweep
dialogue in that style is in osa/test_yokogawa_aq6370.py)."""

import numpy as np
import pytest

from instruments.errors import InstrumentError, ProtocolError
from instruments.ieee488 import encode_block
from instruments.osa.yokogawa_aq6370 import YokogawaAq6370
from instruments.scpi_driver import parse_float, parse_int
from instruments.visa_session import ScpiSession
from protocol_double import ExpectedProtocol


@pytest.mark.parametrize("reply,value", [("1.55E-6", 1.55e-6), ("+1.55000000E-006", 1.55e-6),
                                         (" 1550\r", 1550.0), ("-0.5", -0.5), ("+.5", 0.5),
                                         ("1e3", 1000.0), ("+0", 0.0)])
def test_numbers_in_any_ieee_488_2_response_form(reply, value):
    assert parse_float(reply) == pytest.approx(value)


@pytest.mark.parametrize("reply", ["", "abc", "1,2", "nan", "inf", "1.5.5", "0x10"])
def test_what_is_not_a_number_is_a_protocol_error(reply):
    with pytest.raises(ProtocolError, match="not a number"):
        parse_float(reply, "the thing")


@pytest.mark.parametrize("reply,value", [("+1", 1), ("1.0E+00", 1), ("0001", 1), ("+1.00000000E+000\r", 1)])
def test_whole_numbers_in_any_form(reply, value):
    assert parse_int(reply) == value


def test_a_fraction_is_not_a_register_value():
    with pytest.raises(ProtocolError, match="not a whole number"):
        parse_int("1.5")


OK = (b":SYST:ERR?\n", b'+0,"No error"\r\n')


def test_a_block_longer_than_its_header_is_still_refused_after_a_cr():
    proto = ExpectedProtocol([(b":TRAC:X? TRA\n", encode_block(b"12345678") + b"\rX")])
    with pytest.raises(ProtocolError, match="longer than its header"):
        ScpiSession("TEST", opened=proto).query_block(":TRAC:X? TRA")


@pytest.mark.parametrize("reply,passed", [(b"+0\r\n", True), (b"0.0E+00\n", True), (b"+4\r\n", False),
                                          (b"PASS\r\n", False)])
def test_self_test_result_in_any_numeric_form(reply, passed):
    proto = ExpectedProtocol([
        (b'open "anonymous"\n', b"AUTHENTICATE CRAM-MD5.\r\n"), (b"anonymous\n", b"ready\r\n"),
        (b":FORM:DATA REAL,64\n", None), OK, (b"*TST?\n", reply)] + ([] if passed else [OK]))
    osa = YokogawaAq6370(ScpiSession("TEST", opened=proto))
    if passed:
        osa.self_test()
    else:
        with pytest.raises(InstrumentError, match="self-test failed"):
            osa.self_test()
    proto.assert_done()
