"""AQ6370 driver: login handshake, sweep and WDM analysis dialogues (byte level), and against
the simulator."""

import numpy as np
import pytest

from instruments.errors import InstrumentError, ProtocolError
from instruments.ieee488 import encode_block
from instruments.osa.yokogawa_aq6370 import YokogawaAq6370, format_wdm_table, parse_wdm_table
from instruments.protocols import OsaSettings
from instruments.registry import MODELS
from instruments.sim.osa_aq6370 import wdm_analysis
from instruments.sim.osa_physics import (C_M_PER_S, channel_frequencies_thz, channel_osnr_db,
                                         osa_spectrum)
from instruments.sim.span import load_span
from instruments.visa_session import ScpiSession
from protocol_double import ExpectedProtocol

OK = (b":SYST:ERR?\n", b'0,"No error"\n')
LOGIN = [(b'open "anonymous"\n', b"AUTHENTICATE CRAM-MD5.\n"), (b"anonymous\n", b"ready\n"),
         (b":FORM:DATA REAL,64\n", None), OK]
# what a real instrument may send instead: CR LF, the login replies in another case, signed
# and exponent forms of numbers (and the error reply's code with a + sign)
OK_CRLF = (b":SYST:ERR?\n", b'+0,"No error"\r\n')
LOGIN_CRLF = [(b'open "anonymous"\n', b"authenticate cram-md5.\r\n"), (b"anonymous\n", b"READY\r\n"),
              (b":FORM:DATA REAL,64\n", None), OK_CRLF]


def sweep_dialogue(login: list, ok: tuple, end: bytes, idle: bytes, done: bytes,
                   x: np.ndarray, y: np.ndarray) -> list:
    """The byte exchange of one sweep, the instrument's replies ending in ``end``."""
    return login + [
        (b":INIT:SMOD SINGle\n", None), (b":SENS:WAV:STAR 1528.0000NM\n", None),
        (b":SENS:WAV:STOP 1568.0000NM\n", None), (b":SENS:BAND:RES 0.1000NM\n", None),
        (b":SENS:SWE:POIN 20001\n", None), ok, (b":STAT:OPER:EVEN?\n", idle + end), (b":INIT\n", None),
        (b":STAT:OPER:EVEN?\n", done + end),
        (b":TRAC:X? TRA\n", encode_block(x.astype("<f8").tobytes()) + end),
        (b":TRAC:Y? TRA\n", encode_block(y.astype("<f8").tobytes()) + end), ok,
        (b"*IDN?\n", b"YOKOGAWA,AQ6370D,1,1" + end),
    ]


@pytest.mark.parametrize("login,ok,end,idle,done", [
    (LOGIN, OK, b"\n", b"0", b"1"),
    (LOGIN_CRLF, OK_CRLF, b"\r\n", b"+0", b"+1.00000000E+000"),
], ids=["lf", "crlf-upper-case-signed-exponent"])
def test_login_and_sweep_dialogue_byte_for_byte(login, ok, end, idle, done):
    x = np.array([1550e-9, 1550.1e-9])
    y = np.array([-40.0, -12.5])
    proto = ExpectedProtocol(sweep_dialogue(login, ok, end, idle, done, x, y))
    osa = YokogawaAq6370(ScpiSession("TEST", opened=proto))
    spectrum = osa.sweep(OsaSettings())
    proto.assert_done()
    np.testing.assert_allclose(spectrum.wavelength_nm, [1550.0, 1550.1])
    np.testing.assert_allclose(spectrum.power_dbm, y)
    assert spectrum.idn == "YOKOGAWA,AQ6370D,1,1"


def test_refused_login_is_a_clear_error():
    proto = ExpectedProtocol([(b'open "anonymous"\n', b"ERROR: busy\n")])
    with pytest.raises(InstrumentError, match="unexpected login prompt 'ERROR: busy'"):
        YokogawaAq6370(ScpiSession("TEST", opened=proto))


def test_sweep_against_the_simulator(stations, lit):
    lit(stations.instruments["SUMGAIT/osa"].ports[2])
    osa = MODELS["yokogawa-aq6370"].open(stations.resources["SUMGAIT/osa"])
    try:
        osa.select_port(2)
        spectrum = osa.sweep(OsaSettings(points=4001))
    finally:
        osa.close()
    assert len(spectrum.wavelength_nm) == 4001
    assert spectrum.wavelength_nm[0] == pytest.approx(1528.0)
    assert -20 < spectrum.power_dbm.max() < -10


WDM_REPLY = (b"2,+1.55012000E-06,-13.900,+0.00000000E+00,+0.000,-27.500,+13.600,"
             b"+1.55091800E-06,-14.100,+7.98000000E-10,-0.200,-25.100,+11.000\r\n")
"""Display type ABSolute, relation OFFSet: n, then wavelength (m), level, offset wavelength
(m), offset level, noise, SNR per channel; CR LF as the LAN socket ends replies."""


def test_wdm_table_dialogue_byte_for_byte():
    proto = ExpectedProtocol(LOGIN + [
        (b":CALC:CAT WDM\n", None), (b":CALC:PAR:WDM:DTYP ABSolute\n", None), (b":CALC\n", None),
        (b"*OPC?\n", b"1\r\n"), OK, (b":CALC:DATA?\n", WDM_REPLY)])
    osa = YokogawaAq6370(ScpiSession("TEST", opened=proto))
    rows = osa.wdm_table()
    proto.assert_done()
    assert [r["center_nm"] for r in rows] == pytest.approx([1550.12, 1550.918])
    assert [r["osnr_db"] for r in rows] == [13.6, 11.0]
    assert rows[1]["power_dbm"] == -14.1 and rows[1]["noise_dbm"] == -25.1


def test_wdm_table_round_trips_and_a_short_reply_is_refused():
    rows = parse_wdm_table(WDM_REPLY.decode())
    again = parse_wdm_table(format_wdm_table(rows))
    np.testing.assert_allclose([list(r.values()) for r in again], [list(r.values()) for r in rows])
    assert parse_wdm_table("0") == []
    with pytest.raises(ProtocolError, match="says 2 channels but holds 11 values"):
        parse_wdm_table(WDM_REPLY.decode().rsplit(",", 1)[0])
    with pytest.raises(ProtocolError, match="unreadable WDM analysis reply"):
        parse_wdm_table("NO DATA")


def test_wdm_table_of_the_simulator_matches_the_modelled_osnr(stations, span, lit):
    """Through pyvisa-py: 40 channels on the grid; the instrument's SNR (peak level in the RBW
    over the noise in 0.1 nm) sits a constant step below the modelled OSNR (integrated channel
    power), about 10·log10(12.5 GHz / 32 GBd) = -4.1 dB plus the ASE under the peak."""
    lit(stations.instruments["SUMGAIT/osa"].ports[2])
    osa = MODELS["yokogawa-aq6370"].open(stations.resources["SUMGAIT/osa"])
    try:
        osa.select_port(2)
        osa.sweep(OsaSettings())
        rows = osa.wdm_table()
    finally:
        osa.close()
    fibre = stations.instruments["SUMGAIT/osa"].ports[2]
    model = channel_osnr_db(span, fibre)
    grid_nm = C_M_PER_S / (channel_frequencies_thz(span) * 1e3)
    order = np.argsort(grid_nm)
    centres = np.array([r["center_nm"] for r in rows])
    assert len(rows) == 40
    assert np.abs(centres - grid_nm[order]).max() < 0.005
    step = np.array([r["osnr_db"] for r in rows]) - model[order]
    assert step.mean() == pytest.approx(-3.9, abs=0.3)
    assert step.max() - step.min() < 0.4


def test_wdm_analysis_sees_the_degraded_channel_and_no_channel_on_a_break():
    degraded = load_span(faults=[{"type": "channel", "fibre": "FP4-F2", "osnr_penalty_db": 6.0},
                                 {"type": "break", "fibre": "FP1-F1", "distance_km": 100.0}])
    healthy = load_span()
    settings = OsaSettings()
    snr = {name: np.array([r["osnr_db"] for r in wdm_analysis(*osa_spectrum(s, "FP4-F2", settings),
                                                                 rbw_nm=0.1)])
           for name, s in (("healthy", healthy), ("degraded", degraded))}
    drop = snr["healthy"] - snr["degraded"]
    # the penalised channel is the one nearest mid band (index 20 by frequency, 19 by wavelength);
    # read between channels, its noise shows about half its 6 dB, spilling onto its neighbours
    assert int(np.argmax(drop)) == 19 and drop[19] > 3.0
    assert np.abs(np.delete(drop, [18, 19, 20])).max() < 0.2
    assert wdm_analysis(*osa_spectrum(degraded, "FP1-F1", settings), rbw_nm=0.1) == []


def test_wdm_analysis_before_any_sweep_is_an_instrument_error(faulty):
    resource, _ = faulty("osa")
    osa = MODELS["yokogawa-aq6370"].open(resource)
    try:
        with pytest.raises(InstrumentError, match="no sweep to analyse"):
            osa.wdm_table()
    finally:
        osa.close()


def test_wdm_analysis_misses_the_channel_of_a_failed_transponder_laser():
    span = load_span(faults=[{"type": "laser", "fibre": "FP1-F2"}])
    rows = wdm_analysis(*osa_spectrum(span, "FP1-F2", OsaSettings()), rbw_nm=0.1)
    thz = sorted(round(C_M_PER_S / r["center_nm"] / 1e3, 1) for r in rows)
    assert len(rows) == 39 and 193.1 not in thz and 193.0 in thz and 193.2 in thz
