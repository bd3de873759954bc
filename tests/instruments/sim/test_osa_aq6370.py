"""Conformance of the simulated AQ6370 to its command tree, one test per command, and a user's
script written from the manual and the public clients, all through raw pyvisa-py."""

from __future__ import annotations

import numpy as np
import pytest

from instruments.osa.aq6370_commands import COMMANDS, TRACES
from raw_client import RawScpi

SETTINGS = {
    # name: (program data sent, reply expected from the query form)
    "sweep_mode": ("REPeat", "2"),
    "center": ("1552.5NM", "+1.55250000E-06"),
    "span": ("20NM", "+2.00000000E-08"),
    "start_wl": ("1530.000NM", "+1.53000000E-06"),
    "stop_wl": ("1.565UM", "+1.56500000E-06"),
    "rbw": ("0.02NM", "+2.00000000E-11"),
    "sensitivity": ("HIGH2", "4"),
    "points": ("5001", "5001"),
    "points_auto": ("ON", "1"),
    "speed": ("1", "1"),
    "interval": ("30", "30"),
    "average": ("10", "10"),
    "active_trace": ("TRC", "TRC"),
    "format": ("REAL,32", "REAL,32"),
    "category": ("DFBLD", "5"),
    "auto_analysis": ("ON", "1"),
    "wdm_display": ("REL", "1"),
    "wdm_relation": ("SPACING", "1"),
    "wdm_nbw": ("0.2NM", "+2.00000000E-10"),
    "wdm_mdiff": ("3DB", "3.00"),
    "wdm_threshold": ("15", "15.00"),
    "wdm_mask": ("-60DB", "-60.00"),
    "ref_level": ("-20DBM", "-2.00000000E+01"),
    "ref_position": ("5", "5"),
    "auto_center": ("ON", "1"),
    "auto_ref": ("1", "1"),
    **{f"attribute_{t.lower()}": ("MAX", "2") for t in TRACES},
    **{f"display_{t.lower()}": ("OFF" if t == "TRA" else "ON", "0" if t == "TRA" else "1")
       for t in TRACES},
}
COMMON_SETTINGS = {"event_enable", "service_enable", "operation_enable", "operation_ptransition",
                   "operation_ntransition", "questionable_enable"}
"""Readable common settings, tested in test_scpi_engine.py."""
BEHAVIOUR = {"trigger", "start", "abort", "trace_x", "trace_y", "trace_points", "trace_copy",
             "trace_delete", "trace_delete_all", "calculate", "calc_data", "route", "peak_to_ref",
             "peak_to_center"}
"""Model commands with a behaviour test below."""


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_every_setting_reads_back(osa, name):
    value, reply = SETTINGS[name]
    head = COMMANDS[name].short_header
    osa.w(f"{head} {value}")
    assert osa.q(f"{head}?") == reply
    assert osa.errors() == []


def test_every_model_command_has_a_conformance_test():
    own = {c.name for c in COMMANDS.declared()} - {c.name for c in COMMANDS.declared()
                                                   if c.manual.startswith(("IEEE", "SCPI"))}
    assert own - COMMON_SETTINGS - set(SETTINGS) - BEHAVIOUR == set()


def test_centre_span_and_start_stop_are_one_setting(osa):
    osa.w(":SENS:WAV:STAR 1528NM;STOP 1568NM")
    assert osa.q(":SENS:WAV:CENT?;SPAN?") == "+1.54800000E-06;+4.00000000E-08"
    osa.w(":SENS:WAV:SPAN 10NM")
    assert osa.q(":SENS:WAV:STAR?;STOP?") == "+1.54300000E-06;+1.55300000E-06"
    osa.w(":SENS:WAV:CENT 1550NM")
    assert osa.q(":SENS:WAV:STAR?;STOP?") == "+1.54500000E-06;+1.55500000E-06"
    osa.w(":SENS:WAV:CENT 1800NM")  # outside the centre range: refused, nothing moves
    assert osa.errors() == [-222]
    assert osa.q(":SENS:WAV:CENT?") == "+1.55000000E-06"


def _sweep(osa: RawScpi, points: int = 1001) -> None:
    osa.w(f":SENS:WAV:STAR 1528NM;STOP 1568NM;:SENS:SWE:POIN {points};:INIT:SMOD SING")
    assert osa.q(":INIT;*OPC?") == "1"


def test_initiate_in_both_forms_runs_a_sweep(osa):
    for form in (":INIT", ":INITIATE:IMMEDIATE"):
        osa.w(":TRAC:DEL:ALL")
        assert osa.q(f"{form};*OPC?") == "1"
        assert osa.q(":TRAC:SNUM? TRA") == "1001"


def test_trg_runs_one_sweep(osa):
    assert osa.q("*TRG;*OPC?") == "1"
    assert osa.q(":TRAC:DATA:SNUM? TRA") == "1001"


def test_repeat_sweeps_until_abort(osa):
    osa.w(":INIT:SMOD REP;:INIT")
    assert osa.wait_sweep() >= 1
    assert osa.wait_sweep() >= 1  # a second sweep followed by itself
    osa.w(":ABOR")
    assert osa.q("*OPC?") == "1"
    assert osa.q(":STAT:OPER:COND?") == "1"


def test_abort_stops_a_single_sweep_before_it_writes(slow_osa):
    slow_osa.w(":INIT;:ABOR")
    assert slow_osa.q("*OPC?") == "1"
    assert slow_osa.q(":TRAC:SNUM? TRA") == "0"


def test_traces_in_ascii_after_reset_and_in_binary(osa):
    _sweep(osa, 1001)
    x = osa.floats(":TRAC:X? TRA")
    y = osa.floats(":TRAC:DATA:Y? TRA")
    assert len(x) == len(y) == 1001
    assert x[0] == pytest.approx(1528e-9) and x[-1] == pytest.approx(1568e-9)
    assert -20 < y.max() < -10
    osa.w(":FORM:DATA REAL")  # REAL alone is REAL,64
    assert osa.q(":FORM?") == "REAL,64"
    np.testing.assert_allclose(osa.block(":TRAC:X? TRA", "<f8"), x, rtol=1e-8)
    osa.w(":FORM:DATA REAL,32")
    np.testing.assert_allclose(osa.block(":TRAC:Y? TRA", "<f4"), y, atol=1e-5)


def test_a_slice_of_samples(osa):
    _sweep(osa, 1001)
    full = osa.floats(":TRAC:Y? TRA")
    np.testing.assert_allclose(osa.floats(":TRAC:Y? TRA,11,20"), full[10:20])
    assert osa.silent(":TRAC:Y? TRA,20,2000")
    assert osa.errors() == [-222]


def test_trace_write_modes_copy_and_delete(osa):
    _sweep(osa)
    osa.w(":TRAC:ATTR:TRA FIX;:TRAC:ATTR:TRB WRIT")
    assert osa.q(":TRAC:SNUM? TRB") == "0"
    _sweep(osa, 2001)
    assert osa.q(":TRAC:SNUM? TRA;:TRAC:SNUM? TRB") == "1001;2001"  # A kept, B written
    osa.w(":TRAC:COPY TRB,TRD")
    assert osa.q(":TRAC:SNUM? TRD") == "2001"
    osa.w(":TRAC:DEL TRD")
    assert osa.q(":TRAC:SNUM? TRD") == "0"
    osa.w(":TRAC:DEL:ALL")
    assert osa.q(":TRAC:SNUM? TRA;:TRAC:SNUM? TRB") == "0;0"


def test_a_trace_with_no_sweep_answers_nothing(osa):
    assert osa.silent(":TRAC:X? TRE")
    assert osa.errors() == [-230]


def test_wdm_analysis_layout(osa):
    _sweep(osa, 20001)
    osa.w(":CALC:CAT WDM;:CALC")
    assert osa.q("*OPC?") == "1"
    values = [float(v) for v in osa.q(":CALC:DATA?").split(",")]
    n = int(values[0])
    assert n == 40 and len(values) == 1 + 6 * n
    rows = np.array(values[1:]).reshape(n, 6)
    assert np.all(np.diff(rows[:, 0]) > 0) and 1528e-9 < rows[0, 0] < rows[-1, 0] < 1568e-9
    np.testing.assert_allclose(rows[:, 2], rows[:, 0] - rows[0, 0], atol=1e-13)  # offsets
    np.testing.assert_allclose(rows[:, 5], rows[:, 1] - rows[:, 4], atol=2e-3)  # SNR = level - noise
    osa.w(":CALC:PAR:WDM:REL SPAC;:CALC")
    spaced = np.array([float(v) for v in osa.q(":CALC:DATA?").split(",")[1:]]).reshape(n, 6)
    np.testing.assert_allclose(spaced[1:, 2], np.diff(rows[:, 0]), atol=1e-13)


def test_analysis_without_a_sweep_or_of_another_kind_is_an_error(osa):
    osa.w(":CALC")
    osa.w(":CALC:CAT DFBLD;:CALC")
    assert osa.errors() == [-230, -200]
    assert osa.silent(":CALC:DATA?")


def test_peak_search_moves_the_centre_and_the_reference_level(osa):
    _sweep(osa, 2001)
    peak_wl = osa.floats(":TRAC:X? TRA")[np.argmax(osa.floats(":TRAC:Y? TRA"))]
    peak_level = osa.floats(":TRAC:Y? TRA").max()
    osa.w(":CALC:MARK:MAX:SCEN;:CALC:MARK:MAX:SRL")
    assert float(osa.q(":SENS:WAV:CENT?")) == pytest.approx(peak_wl)
    assert float(osa.q(":SENS:WAV:SPAN?")) == pytest.approx(40e-9)
    assert float(osa.q(":DISP:TRAC:Y1:RLEV?")) == pytest.approx(peak_level, abs=0.05)
    osa.w(":TRAC:DEL:ALL;:CALC:MARK:MAX:SCEN")
    assert osa.errors() == [-230]


def test_route_closes_the_switch_port(osa):
    osa.w(":ROUT:CLOS 2")
    osa.w(":ROUT:CLOS 7")
    assert osa.errors() == [-222]


def test_login_is_needed_and_close_ends_it(serve_osa):
    _, port = serve_osa()
    client = RawScpi(port)
    try:
        assert client.q("*IDN?") == "ERROR: login required"
        assert client.login() == ("AUTHENTICATE CRAM-MD5.", "ready")
        client.w("CLOSE")
        assert client.q("*IDN?") == "ERROR: login required"
    finally:
        client.close()


def test_a_users_script_from_the_manual(serve_osa):
    """Login, set-up with every setting read back, single sweep waited for by *OPC? and by the
    status register, traces A (ASCII) and B (REAL,64), WDM analysis."""
    _, port = serve_osa()
    osa = RawScpi(port)
    try:
        assert osa.login("anonymous", "") == ("AUTHENTICATE CRAM-MD5.", "ready")
        osa.w("*RST;*CLS")
        osa.w(":SENS:WAV:CENT 1548.000NM")
        osa.w(":SENS:WAV:SPAN 40.0NM")
        osa.w(":SENS:BWID:RES 0.1NM")
        osa.w(":SENS:SENS MID")
        osa.w(":SENS:SWE:POIN 20001")
        osa.w(":SENS:AVER:COUN 1")
        osa.w(":TRAC:ACT TRA;:TRAC:ATTR:TRA WRIT;:TRAC:ATTR:TRB WRIT")
        assert [float(v) for v in osa.q(":SENS:WAV:CENT?;SPAN?;STAR?;STOP?").split(";")] == \
            pytest.approx([1548e-9, 40e-9, 1528e-9, 1568e-9])
        assert float(osa.q(":SENS:BAND:RES?")) == pytest.approx(0.1e-9)
        assert osa.q(":SENS:SENS?;:SENS:SWE:POIN?;:SENS:AVER:COUN?") == "2;20001;1"
        osa.w(":INIT:SMOD SING")
        assert osa.q(":INIT:SMOD?") == "1"
        osa.w(":INIT")
        assert osa.q("*OPC?") == "1"
        osa.q(":STAT:OPER:EVEN?")
        osa.w(":INIT:IMM")
        osa.wait_sweep()
        assert osa.errors() == []
        wavelength = osa.floats(":TRAC:X? TRA")
        level = osa.floats(":TRAC:Y? TRA")
        osa.w(":FORM:DATA REAL,64")
        level_b = osa.block(":TRAC:Y? TRB", "<f8")
        assert len(wavelength) == len(level) == len(level_b) == 20001
        np.testing.assert_allclose(level_b, level, atol=1e-7)
        osa.w(":CALC:CAT WDM")
        osa.w(":CALC")
        osa.q("*OPC?")
        reply = osa.q(":CALC:DATA?").split(",")
        assert int(reply[0]) == 40 and len(reply) == 1 + 6 * 40
        assert osa.errors() == []
    finally:
        osa.close()
