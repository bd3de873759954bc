"""The retry policy at byte level: exactly which lines are repeated, and which never are."""

from __future__ import annotations

import numpy as np
import pytest
from pyvisa import constants
from pyvisa.errors import VisaIOError

from instruments.errors import InstrumentError, InstrumentTimeout
from instruments.ieee488 import encode_block
from instruments.otdr.anritsu_mt9083 import AnritsuMt9083, decode_trace_block, encode_trace_block
from instruments.protocols import OtdrSettings
from instruments.visa_session import ScpiSession
from protocol_double import ExpectedProtocol

OK = (b":SYST:ERR?\n", b'0,"No error"\n')
LEVELS = np.array([-3.0, -3.5, -10.0, -60.0])
BLOCK = encode_block(encode_trace_block(LEVELS))
SETTINGS = [(b":SOUR:WAV 1550\n", None), (b":SOUR:RAN 400\n", None), (b":SOUR:RES 2\n", None),
            (b":SOUR:PULS 20000\n", None), (b":SOUR:AVER:TIM 180\n", None),
            (b":SENS:FIB:IOR 1.4677\n", None), OK]


def driver(pairs):
    proto = ExpectedProtocol(pairs)
    return AnritsuMt9083(ScpiSession("TEST", opened=proto)), proto


def test_truncated_block_is_fetched_again_on_a_fresh_stream():
    truncated = BLOCK[:-3]  # header announces 4 + 8 bytes; 3 never arrive
    otdr, proto = driver([(b":TRAC:LOAD:DATA?\n", truncated),
                          (b":TRAC:LOAD:DATA?\n", BLOCK + b"\n")])
    level = otdr.ask_block("data", decode=decode_trace_block)
    proto.assert_done()
    assert proto.reopened == 1
    np.testing.assert_allclose(level, LEVELS)


def test_block_with_a_wrong_count_is_decoded_again_then_given_up():
    wrong = encode_block((9).to_bytes(4, "big") + b"\x00\x01" * 4) + b"\n"
    otdr, proto = driver([(b":TRAC:LOAD:DATA?\n", wrong)] * 3)
    with pytest.raises(InstrumentError, match="gave up after 3 attempts.*says 9 points but holds 4"):
        otdr.ask_block("data", decode=decode_trace_block)
    proto.assert_done()


def test_init_whose_write_fails_is_not_sent_again_and_abort_follows():
    otdr, proto = driver(SETTINGS + [(b":INIT\n", OSError(32, "Broken pipe")), (b":ABOR\n", None)])
    with pytest.raises(InstrumentError, match=r"':INIT' not retried \(a command with side "
                                              r"effects\): ':INIT' failed: Broken pipe") as info:
        otdr.measure(OtdrSettings())
    proto.assert_done()
    assert any("sent :ABOR" in note for note in info.value.__notes__)


def test_error_queue_read_is_never_repeated():
    """A lost reply to :SYST:ERR? may have carried an error: asking again would hide it."""
    timeout = VisaIOError(constants.StatusCode.error_timeout)
    otdr, proto = driver([(b":ROUT:CLOS 2\n", None), (b":SYST:ERR?\n", timeout)])
    with pytest.raises(InstrumentTimeout, match=r"':SYST:ERR\?' not retried \(reading it "
                                                r"changes the instrument's state\)"):
        otdr.select_port(2)
    proto.assert_done()


def test_timeout_then_answer_repeats_the_same_bytes():
    timeout = VisaIOError(constants.StatusCode.error_timeout)
    otdr, proto = driver([(b":SENS:TRAC:READ?\n", timeout), (b":SENS:TRAC:READ?\n", b"0\n")])
    assert otdr.ask("ready") == "0"
    proto.assert_done()
    assert proto.reopened == 1
