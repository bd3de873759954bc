"""AQ6370 driver: login handshake and sweep dialogue (byte level), and against the simulator."""

import numpy as np
import pytest

from instruments.errors import InstrumentError
from instruments.ieee488 import encode_block
from instruments.osa.yokogawa_aq6370 import YokogawaAq6370
from instruments.protocols import OsaSettings
from instruments.registry import MODELS
from instruments.visa_session import ScpiSession
from protocol_double import ExpectedProtocol

OK = (b":SYST:ERR?\n", b'0,"No error"\n')
LOGIN = [(b'open "anonymous"\n', b"AUTHENTICATE CRAM-MD5.\n"), (b"anonymous\n", b"ready\n"),
         (b":FORM:DATA REAL,64\n", None), OK]


def test_login_and_sweep_dialogue_byte_for_byte():
    x = np.array([1550e-9, 1550.1e-9])
    y = np.array([-40.0, -12.5])
    proto = ExpectedProtocol(LOGIN + [
        (b":INIT:SMOD SINGle\n", None), (b":SENS:WAV:STAR 1528.0000NM\n", None),
        (b":SENS:WAV:STOP 1568.0000NM\n", None), (b":SENS:BAND:RES 0.1000NM\n", None),
        (b":SENS:SWE:POIN 20001\n", None), OK, (b":STAT:OPER:EVEN?\n", b"0\n"), (b":INIT\n", None),
        (b":STAT:OPER:EVEN?\n", b"1\n"),
        (b":TRAC:X? TRA\n", encode_block(x.astype("<f8").tobytes()) + b"\n"),
        (b":TRAC:Y? TRA\n", encode_block(y.astype("<f8").tobytes()) + b"\n"), OK,
        (b"*IDN?\n", b"YOKOGAWA,AQ6370D,1,1\n"),
    ])
    osa = YokogawaAq6370(ScpiSession("TEST", opened=proto))
    spectrum = osa.sweep(OsaSettings())
    proto.assert_done()
    np.testing.assert_allclose(spectrum.wavelength_nm, [1550.0, 1550.1])
    np.testing.assert_allclose(spectrum.power_dbm, y)


def test_refused_login_is_a_clear_error():
    proto = ExpectedProtocol([(b'open "anonymous"\n', b"ERROR: busy\n")])
    with pytest.raises(InstrumentError, match="unexpected login prompt 'ERROR: busy'"):
        YokogawaAq6370(ScpiSession("TEST", opened=proto))


def test_sweep_against_the_simulator(stations):
    osa = MODELS["yokogawa-aq6370"].open(stations.resources["SUMGAIT/osa"])
    try:
        osa.select_port(2)
        spectrum = osa.sweep(OsaSettings(points=4001))
    finally:
        osa.close()
    assert len(spectrum.wavelength_nm) == 4001
    assert spectrum.wavelength_nm[0] == pytest.approx(1528.0)
    assert -20 < spectrum.power_dbm.max() < -10
