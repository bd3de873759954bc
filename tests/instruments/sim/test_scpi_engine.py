"""Conformance of the shared SCPI engine, one test per IEEE 488.2 / SCPI-99 rule, through raw
pyvisa-py against the simulated AQ6370 on loopback (never through our drivers)."""

from __future__ import annotations

import socket

import pytest

from instruments.sim.faults import InstrumentFault, InstrumentFaults
from instruments.sim.scpi_engine import split_message, resolve_header
from instruments.sim.scpi_status import ERROR_QUEUE_LENGTH
from raw_client import RawScpi

CENTER_1550 = "+1.55000000E-06"


# --- headers: short/long forms, case, optional nodes, aliases (488.2 §7.6.1, SCPI-99 §6.2) ---
@pytest.mark.parametrize("query", [":SENS:WAV:CENT?", ":SENSE:WAVELENGTH:CENTER?", ":sense:wav:center?",
                                   ":SeNs:WaVeLeNgTh:CeNt?", "SENS:WAV:CENT?", ":WAV:CENT?",
                                   "wavelength:center?"])
def test_short_and_long_forms_in_any_case_and_optional_nodes(osa, query):
    osa.w(":SENS:WAV:CENT 1550NM")
    assert osa.q(query) == CENTER_1550
    assert osa.errors() == []


@pytest.mark.parametrize("query", [":SENSE:WAVEL:CENT?", ":SEN:WAV:CENT?", ":SENS:WAV:CENTR?"])
def test_a_mnemonic_neither_short_nor_long_is_an_undefined_header(osa, query):
    assert osa.silent(query)
    assert osa.errors() == [-113]


@pytest.mark.parametrize("spelling", [":SENS:BAND:RES", ":SENS:BAND", ":SENS:BWID:RES", ":BWID",
                                      ":SENSE:BANDWIDTH:RESOLUTION", ":SENSE:BWIDTH"])
def test_aliases_and_trailing_optional_nodes(osa, spelling):
    osa.w(f"{spelling} 0.5NM")
    assert float(osa.q(f"{spelling}?")) == pytest.approx(0.5e-9)
    assert osa.errors() == []


def test_an_unknown_query_is_queued_and_answers_nothing(osa):
    assert osa.silent(":BOGUS:THING?")
    assert osa.q("*IDN?").startswith("YOKOGAWA,AQ6370D,")  # later answers are not shifted
    assert osa.errors() == [-113]


def test_a_command_form_of_a_query_only_header_is_undefined(osa):
    osa.w("*IDN")
    osa.w(":TRAC:X TRA")
    assert osa.errors() == [-113, -113]


# --- compound messages and the path rule (488.2 §7.6.1.3, SCPI-99 vol 1 §6.2.4) -----------
def test_compound_queries_answer_in_one_message(osa):
    assert osa.q("*CLS;*OPC?") == "1"
    assert osa.q("*IDN?;*OPC?;:SYST:VERS?").split(";")[1:] == ["1", "1999.0"]


def test_a_relative_header_continues_from_the_previous_node(osa):
    osa.w(":SENS:WAV:CENT 1550NM;SPAN 12NM")
    assert float(osa.q(":SENS:WAV:SPAN?")) == pytest.approx(12e-9)
    assert osa.q(":SENS:WAV:STAR?;STOP?") == "+1.54400000E-06;+1.55600000E-06"


def test_a_leading_colon_after_a_semicolon_starts_from_the_root(osa):
    osa.w(":SENS:WAV:SPAN 5NM;:SENS:SWE:POIN 2001")
    assert osa.q(":SENS:SWE:POIN?") == "2001"
    assert osa.errors() == []


def test_a_relative_header_is_not_looked_up_from_the_root(osa):
    osa.w(":SENS:WAV:CENT 1550NM;POIN 2001")  # POIN is not under :SENS:WAV
    assert osa.errors() == [-113]
    assert osa.q(":SENS:SWE:POIN?") != "2001"


def test_a_common_command_leaves_the_path_alone(osa):
    osa.w(":SENS:WAV:CENT 1550NM;*CLS;SPAN 8NM")
    assert float(osa.q(":WAV:SPAN?")) == pytest.approx(8e-9)


def test_a_command_error_skips_the_rest_of_the_message_an_execution_error_does_not(osa):
    assert osa.silent(":BOGUS;*IDN?")
    assert osa.q(":SENS:WAV:CENT 5000NM;*OPC?") == "1"
    assert osa.errors() == [-113, -222]


def test_a_semicolon_inside_a_string_does_not_split_the_message():
    assert split_message(':A "x;y";:B') == [':A "x;y"', ":B"]
    assert resolve_header("SPAN", ":SENS:WAV:") == (":SENS:WAV:SPAN", ":SENS:WAV:")
    assert resolve_header("*CLS", ":SENS:WAV:") == ("*CLS", ":SENS:WAV:")


# --- terminators ---------------------------------------------------------------------------
def test_lf_and_crlf_program_message_terminators(serve_osa):
    _, port = serve_osa()
    crlf = RawScpi(port, write_termination="\r\n")
    try:
        assert crlf.login()[1] == "ready"
        assert crlf.q("*OPC?") == "1"
    finally:
        crlf.close()


def test_the_aq6370_lan_socket_ends_replies_with_cr_lf(serve_osa):
    _, port = serve_osa()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        stream = sock.makefile("rwb")
        for line, reply in ((b'open "anonymous"\n', b"AUTHENTICATE CRAM-MD5.\r\n"),
                            (b"\n", b"ready\r\n"), (b"*OPC?\r\n", b"1\r\n")):
            stream.write(line)
            stream.flush()
            assert stream.readline() == reply


# --- program data: units, ranges, types (488.2 §7.7, SCPI-99 vol 1 §7) ----------------------
@pytest.mark.parametrize("value", ["1550NM", "1550 nm", "1.55UM", "1.55E-6", "1.55e-6M",
                                   "+1550.000NM", "0.00000155", "1550.0nm"])
def test_unit_suffixes_and_number_forms(osa, value):
    osa.w(f":SENS:WAV:CENT {value}")
    assert osa.q(":SENS:WAV:CENT?") == CENTER_1550
    assert osa.errors() == []


@pytest.mark.parametrize("line,code", [
    (":SENS:WAV:CENT 1550XY", -131), (":SENS:WAV:CENT 2500NM", -222), (":SENS:WAV:CENT abc", -104),
    (":SENS:WAV:CENT", -109), (":SENS:WAV:CENT 1550NM,2", -108), (":INIT:SMOD FOO", -224),
    (":INIT:SMOD 9", -224), (":SENS:BAND:RES 0.3NM", -222), (":SENS:SWE:POIN 10", -222),
    (":TRAC:ACT TRZ", -224), (":FORM:DATA REAL,16", -222), ("*ESE 256", -222),
])
def test_bad_program_data_is_queued_with_its_code(osa, line, code):
    before = osa.q(":SENS:WAV:CENT?;:INIT:SMOD?;:SENS:BAND:RES?;:SENS:SWE:POIN?;:TRAC:ACT?")
    osa.w(line)
    assert osa.errors() == [code]
    assert osa.q(":SENS:WAV:CENT?;:INIT:SMOD?;:SENS:BAND:RES?;:SENS:SWE:POIN?;:TRAC:ACT?") == before


@pytest.mark.parametrize("value,reply", [("MIN", "101"), ("maximum", "50001"), ("MAX", "50001")])
def test_min_and_max_stand_for_the_range_ends(osa, value, reply):
    osa.w(f":SENS:SWE:POIN {value}")
    assert osa.q(":SENS:SWE:POIN?") == reply


def test_non_decimal_numbers_for_register_values(osa):
    osa.w("*ESE #H24")
    assert osa.q("*ESE?") == "36"
    osa.w("*SRE #B100000")
    assert osa.q("*SRE?") == "32"


# --- *RST ----------------------------------------------------------------------------------
def test_reset_restores_defaults_and_keeps_the_status_enables(osa):
    defaults = osa.q(":SENS:WAV:STAR?;STOP?;:FORM?;:INIT:SMOD?;:SENS:SWE:POIN?;:TRAC:ACT?")
    osa.w(":SENS:WAV:STAR 1528NM;STOP 1568NM;:FORM:DATA REAL,64;:INIT:SMOD REP;"
          ":SENS:SWE:POIN 2001;:TRAC:ACT TRC;*ESE 60;*SRE 32")
    assert osa.q(":FORM?") == "REAL,64"
    osa.w("*RST")
    assert osa.q(":SENS:WAV:STAR?;STOP?;:FORM?;:INIT:SMOD?;:SENS:SWE:POIN?;:TRAC:ACT?") == defaults
    assert osa.q(":FORM?") == "ASCII"
    assert osa.q("*ESE?;*SRE?") == "60;32"


# --- the error queue (SCPI-99 vol 2 SYSTem:ERRor) ------------------------------------------
def test_errors_come_out_oldest_first_then_no_error(osa):
    osa.w(":BOGUS")
    osa.w(":SENS:WAV:CENT 1NM")
    assert osa.q(":SYST:ERR?").startswith("-113,")
    assert osa.q(":SYST:ERR:NEXT?").startswith("-222,")
    assert osa.q(":SYST:ERR?") == '0,"No error"'


def test_an_overflowing_error_queue_ends_with_350(osa):
    for _ in range(ERROR_QUEUE_LENGTH + 5):
        osa.w(":BOGUS")
    codes = osa.errors()
    assert len(codes) == ERROR_QUEUE_LENGTH
    assert codes[-1] == -350 and set(codes[:-1]) == {-113}


def test_cls_empties_the_error_queue_and_the_event_registers(osa):
    osa.w(":BOGUS")
    osa.w("*CLS")
    assert osa.q("*ESR?") == "0"
    assert osa.errors() == []


# --- Standard Event Status register and status byte (488.2 §11) -----------------------------
def test_power_on_sets_pon_and_reading_esr_clears_it(osa):
    assert int(osa.q("*ESR?")) & 128
    assert osa.q("*ESR?") == "0"


@pytest.mark.parametrize("line,bit", [(":BOGUS", 32), (":SENS:WAV:CENT 1NM", 16)])
def test_errors_set_their_event_bit(osa, line, bit):
    osa.q("*ESR?")
    osa.w(line)
    assert osa.q("*ESR?") == str(bit)


def test_ese_and_sre_round_trip(osa):
    osa.w("*ESE 61;*SRE 48")
    assert osa.q("*ESE?;*SRE?") == "61;48"
    osa.w("*SRE 255")
    assert osa.q("*SRE?") == "191"  # bit 6 cannot be enabled


def test_status_byte_summaries(osa):
    osa.q("*ESR?")
    assert osa.q("*STB?") == "0"
    osa.w(":BOGUS")
    assert int(osa.q("*STB?")) & 4  # error queue not empty
    assert not int(osa.q("*STB?")) & 32  # ESB needs *ESE
    osa.w("*ESE 32")
    assert int(osa.q("*STB?")) & 32
    osa.w("*SRE 32")
    assert int(osa.q("*STB?")) & 64  # MSS
    osa.w("*CLS")
    assert osa.q("*STB?") == "0"


def test_message_available_while_an_earlier_reply_is_queued(osa):
    idn, stb = osa.q("*IDN?;*STB?").split(";")
    assert int(stb) & 16 and idn.startswith("YOKOGAWA")
    assert not int(osa.q("*STB?")) & 16


def test_self_test_identity_and_version(osa):
    assert osa.q("*TST?") == "0"
    assert len(osa.q("*IDN?").split(",")) == 4
    assert osa.q(":SYST:VERS?") == "1999.0"


# --- operation complete on an overlapped sweep (488.2 §12) ----------------------------------
def test_opc_query_waits_for_the_sweep(slow_osa):
    slow_osa.w(":SENS:SWE:POIN 1001;:INIT:SMOD SING")
    assert slow_osa.q(":INIT;*OPC?") == "1"
    assert slow_osa.q(":STAT:OPER:COND?") == "1"
    assert slow_osa.q(":TRAC:SNUM? TRA") == "1001"


def test_wai_holds_the_next_command_until_the_sweep_ends(slow_osa):
    slow_osa.w(":SENS:SWE:POIN 1001")
    assert slow_osa.q(":INIT;*WAI;:TRAC:SNUM? TRA") == "1001"


def test_opc_sets_the_event_bit_once_the_sweep_ends(slow_osa):
    slow_osa.q("*ESR?")
    slow_osa.w(":INIT;*OPC")
    assert not int(slow_osa.q("*ESR?")) & 1  # the sweep is still running
    slow_osa.wait_sweep()
    assert int(slow_osa.q("*ESR?")) & 1


def test_opc_with_nothing_pending_is_immediate(osa):
    osa.q("*ESR?")
    osa.w("*OPC")
    assert osa.q("*ESR?") == "1"


def test_opc_query_of_a_sweep_that_never_ends_answers_nothing(serve_osa):
    _, port = serve_osa(faults=InstrumentFaults([InstrumentFault("SUMGAIT", "osa", "busy")]))
    client = RawScpi(port)
    try:
        client.login()
        assert client.silent(":INIT;*OPC?")
    finally:
        client.close()


# --- SCPI STATus:OPERation (SCPI-99 vol 1 §9.3) ---------------------------------------------
def test_operation_event_latches_and_clears_on_reading(osa):
    osa.q(":STAT:OPER:EVEN?")
    osa.w(":INIT")
    osa.wait_sweep()
    assert osa.q(":STAT:OPER:EVEN?") == "0"
    assert osa.q(":STAT:OPER:COND?") == "1"


def test_operation_enable_feeds_status_byte_bit_7(osa):
    osa.w(":STAT:OPER:ENAB 1")
    assert osa.q(":STAT:OPER:ENAB?") == "1"
    osa.q("*OPC?")
    osa.w(":INIT")
    osa.q("*OPC?")
    assert int(osa.q("*STB?")) & 128
    osa.q(":STAT:OPER?")
    assert not int(osa.q("*STB?")) & 128


def test_transition_filters_choose_the_edge_that_latches(slow_osa):
    slow_osa.w(":STAT:OPER:PTR 0;NTR 1")
    assert slow_osa.q(":STAT:OPER:PTR?;NTR?") == "0;1"
    slow_osa.q(":STAT:OPER:EVEN?")
    slow_osa.w(":INIT")
    assert slow_osa.q(":STAT:OPER:EVEN?") == "1"  # the falling edge as the sweep started
    slow_osa.q("*OPC?")
    assert slow_osa.q(":STAT:OPER:EVEN?") == "0"  # the rising edge at its end is filtered out
    slow_osa.w(":STAT:PRES")
    assert slow_osa.q(":STAT:OPER:PTR?;NTR?;ENAB?") == "32767;0;0"
