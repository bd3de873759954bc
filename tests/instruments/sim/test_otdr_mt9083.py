"""The simulated MT9083 as its manual and a real client define it, driven with raw pyvisa-py:
one test per command of its table (set-up read back, ranges, acquisition, completion, trace,
parameters, analysis, event table, .sor), then a user's script written from the manual and
from the FOMS Submarine client's dialogue."""

from __future__ import annotations

import re

import numpy as np
import pytest

from harness.sor import read_sor
from instruments.otdr.anritsu_mt9083 import COMMANDS, sample_spacing_m
from instruments.sim.otdr_mt9083 import SimMt9083
from otdr_raw import (assert_elapsed_counts, block, error_codes, errors, model_settings, poll,
                      raw_fixtures)

PARAMETERS = re.compile(r"^\d+, \d+\.\d{6}, \d+, \d+, \d+\.\d{6}, \d\.\d{6}, -?\d+\.\d{6}, \d$")
"""§4.5.1's reply: ``1310, 16.415554, 50, 6144, 0.656621, 1.467700, -78.500000, 1``."""


inst, fresh = raw_fixtures(SimMt9083, "AKTAU", 1)
"""Each test starts from ``*RST`` with an empty error queue, on switch port 1."""


def shoot(inst, averaging_s: int = 10) -> None:
    """A short acquisition, completed (``INIT`` then ``SENS:TRAC:READ?`` until 1)."""
    inst.write(f":SOUR:AVER:TIM {averaging_s}")
    inst.write(":INIT")
    poll(inst, ":SENS:TRAC:READ?", lambda r: r == "1")


# --- set-up: every setting, its query form, its range, its *RST value -------------------------
@pytest.mark.parametrize("command,sent,expected", [
    (":SOUR:WAV", "1625", 1625), (":SOURCE:WAVELENGTH", "1310NM", 1310), ("sour:wav", "1550", 1550),
    (":SOUR:RAN", "300", 300.0), (":SOUR:RANG", "200", 200.0), (":SOURCE:RANGE", "25.5KM", 25.5),
    (":SOUR:RES", "2", 2), (":SOUR:RES", "0", 0),
    (":SOUR:PULS", "10000", 10000), (":SOUR:PULS", "10US", 10000), (":SOUR:PULS", "3", 3),
    (":SOUR:AVER:TIM", "60", 60), (":SOURCE:AVERAGE:TIME", "120", 120),
    (":SENS:FIB:IOR", "1.4681", 1.4681), (":SENS:FIB:BSC", "-80.5", -80.5),
])
def test_each_setting_reads_back(inst, command, sent, expected):
    inst.write(f"{command} {sent}")
    assert float(inst.query(f"{command}?")) == pytest.approx(expected)
    assert errors(inst) == []


@pytest.mark.parametrize("command,sent,code", [
    (":SOUR:WAV", "1490", -222), (":SOUR:PULS", "7", -222), (":SOUR:RANG", "1000", -222),
    (":SOUR:RES", "3", -222), (":SOUR:AVER:TIM", "0", -222), (":SENS:FIB:IOR", "2.0", -222),
    (":SENS:FIB:BSC", "-10", -222), (":SOUR:RANG", "far", -104), (":SOUR:PULS", "10PARSEC", -131),
    (":SOUR:PULS", "", -109),
])
def test_a_refused_setting_is_queued_and_leaves_the_value(inst, command, sent, code):
    before = inst.query(f"{command}?")
    inst.write(f"{command} {sent}".strip())
    assert error_codes(inst) == [code]
    assert inst.query(f"{command}?") == before


def test_reset_restores_every_setting_default(inst):
    inst.write(":SOUR:WAV 1625;:SOUR:RANG 50;:SOUR:RES 0;:SOUR:PULS 100;:SOUR:AVER:TIM 600;"
               ":SENS:FIB:IOR 1.5;:SENS:FIB:BSC -70")
    inst.write("*RST")
    for command, query in model_settings(COMMANDS):
        assert float(inst.query(query)) == pytest.approx(command.default[0]), command.name


@pytest.mark.parametrize("query,member", [(":SOUR:RES:AVA?", "2"), (":SOUR:PULS:AVA?", "20000")])
def test_available_lists_are_comma_space_separated(inst, query, member):
    reply = inst.query(query)
    assert re.fullmatch(r"\d+(, \d+)*", reply) and member in reply.split(", ")


# --- acquisition and completion ---------------------------------------------------------------
def test_trace_ready_goes_to_1_when_the_acquisition_completes(inst):
    assert inst.query(":SENS:TRAC:READ?") == "0"  # no trace after *RST
    shoot(inst)
    assert inst.query(":SENS:TRAC:READ?") == "1"


def test_opc_query_answers_when_the_overlapped_acquisition_is_done(inst):
    inst.write(":SOUR:AVER:TIM 10")
    assert inst.query(":INIT;*OPC?") == "1"
    assert inst.query(":SENS:TRAC:READ?") == "1"


def test_measuring_shows_in_the_operation_condition_while_running(inst):
    inst.write(":SOUR:AVER:TIM 3600;:INIT")
    assert int(inst.query(":STAT:OPER:COND?")) & 16
    assert inst.query(":SENS:TRAC:READ?") == "0"


def test_opc_sets_the_event_status_bit_when_the_acquisition_completes(inst):
    inst.write(":SOUR:AVER:TIM 10;:INIT;*OPC")
    poll(inst, "*ESR?", lambda r: int(r) & 1)
    assert int(inst.query(":STAT:OPER:COND?")) & 16 == 0
    assert inst.query(":SENS:TRAC:READ?") == "1"


def test_abort_stops_the_acquisition_and_leaves_no_trace(inst):
    inst.write(":SOUR:AVER:TIM 3600;:INIT")
    assert inst.query(":SENS:TRAC:READ?") == "0"
    inst.write(":ABOR")
    assert int(inst.query(":STAT:OPER:COND?")) == 0
    assert inst.query(":SENS:TRAC:READ?") == "0"


def test_elapsed_counts_the_averaging(inst):
    assert_elapsed_counts(inst, ":SOUR:AVER:TIM 3600")


# --- results ----------------------------------------------------------------------------------
def test_parameters_before_any_trace_queue_the_manuals_error(inst):
    inst.write(":TRAC:PAR?")
    assert errors(inst) == ['-400,"std_queryGen, Trace Not Ready"']


def test_parameters_answer_in_the_manuals_format(inst):
    inst.write(":SOUR:WAV 1625;:SOUR:RANG 100;:SOUR:RES 1;:SOUR:PULS 1000;:SENS:FIB:IOR 1.4681")
    shoot(inst)
    reply = inst.query(":TRAC:PAR?")
    assert PARAMETERS.match(reply), reply
    wave, range_km, pulse, averages, spacing, ior, bsc, enh = (float(v) for v in reply.split(", "))
    assert (wave, pulse, ior, bsc) == (1625, 1000, 1.4681, -81.5)
    assert spacing == sample_spacing_m(100, 1) and averages > 0
    points = len(block(inst, ":TRAC:LOAD:DATA?")) // 2 - 2
    assert range_km * 1000 / spacing == pytest.approx(points)


def test_trace_block_is_a_big_endian_count_then_16_bit_points(inst):
    shoot(inst)
    payload = block(inst, ":TRAC:LOAD:DATA?")
    count = int.from_bytes(payload[:4], "big")
    assert len(payload) == 4 + 2 * count and count == 100_000 / sample_spacing_m(100, 1)
    level = np.frombuffer(payload, ">u2", offset=4) * -0.001
    assert level.max() <= 0 and level[count // 10] > level[count // 2]  # backscatter decays


@pytest.mark.parametrize("args,points", [("0.0, 10.0, 1", 1251), ("0.0, 10.0, 2", 626),
                                         ("90", 1250), ("0,100,1000", 13)])
def test_trace_block_from_start_to_end_every_space(inst, args, points):
    shoot(inst)  # 100 km at High: 8 m spacing
    payload = block(inst, f":TRAC:LOAD:DATA? {args}")
    assert int.from_bytes(payload[:4], "big") == points == (len(payload) - 4) // 2


def test_trace_block_range_beyond_the_trace_is_refused(inst):
    shoot(inst)
    inst.write(":TRAC:LOAD:DATA? 50, 10, 1")
    assert error_codes(inst) == [-222]


def test_analysis_runs_on_request_and_is_reported(inst):
    inst.write(":TRAC:ANAL")
    assert errors(inst) == ['-200,"std_execGen, Trace Not Ready"']
    inst.write(":SOUR:AVER:TIM 3600;:INIT;:TRAC:ANAL")
    assert errors(inst) == ['-200,"std_execGen, Test is Active"']
    inst.write(":ABOR")
    shoot(inst)
    assert inst.query(":TRAC:ANAL?") == "0"
    inst.write(":TRAC:ANAL")
    assert inst.query(":TRAC:ANAL?") == "1"


def test_event_table_rows(inst):
    shoot(inst)
    inst.write(":TRAC:ANAL")
    count = int(inst.query(":TRAC:EVEN:COUN?"))
    rows = [inst.query(f":TRAC:EVEN? {n}") for n in range(1, count + 1)]
    assert count >= 2 and all(re.fullmatch(r"\d+\.\d{5},[SRE],-?\d+\.\d{3},-?\d+\.\d", r)
                              for r in rows)
    assert rows[-1].split(",")[1] == "E" and rows[0].split(",")[1] == "R"
    inst.write(f":TRAC:EVEN? {count + 1}")
    assert error_codes(inst) == [-222]


def test_sor_file_is_handed_over_as_a_block(inst):
    shoot(inst)
    sor = block(inst, ":TRAC:LOAD:SOR?")
    assert sor[:4] == b"Map\0"
    record = read_sor(sor)
    assert record.supplier.name == "ANRITSU" and record.general.fibre_id == "FP1-F1"


# --- a user's script ------------------------------------------------------------------------
def test_a_users_script_from_the_manual_and_the_foms_client(inst):
    """Connect, identify, reset, set up with read-back in compound messages (the FOMS client
    repeats the root in every unit, ``sour:wav 1550;*WAI;sour:ran 100``, which the MT9083
    takes), fire and wait with ``INIT; *WAI; SENS:TRAC:READ?`` (the client's line), read the
    parameters, the trace and the event table, and take the .sor file with
    ``*CLS;trac:load:sor?``."""
    maker, model, serial, firmware = inst.query("*IDN?").split(",")
    assert (maker, model[:6]) == ("ANRITSU", "MT9083")
    inst.write("*CLS;*RST;*WAI")
    inst.write("sour:wav 1625;*WAI;sour:ran 50;*WAI;sour:res 2;*WAI;sour:puls 500;"
               "sour:aver:tim 20;*WAI;sens:fib:ior 1.4681;*WAI;sens:fib:bsc -80.5")
    assert inst.query("SOUR:WAV?;RANG?;RES?;PULS?;AVER:TIM?;:SENS:FIB:IOR?;BSC?") == \
        "1625;50.000000;2;500;20;1.468100;-80.500000"
    inst.write("sour:wav 1550;*WAI;sour:ran 100;*WAI;sour:res 1;*WAI;sour:puls 1000")
    inst.write(":ROUTE:CLOSE 3")
    assert inst.query("init; *WAI; sens:trac:ready?") == "1"
    wave, range_km, *_ = inst.query("trac:par?").split(", ")
    assert wave == "1550" and float(range_km) == pytest.approx(100.0)
    count = int.from_bytes(block(inst, "TRAC:LOAD:DATA?")[:4], "big")
    assert count == 12_500
    assert inst.query("trac:anal;*WAI;trac:anal?") == "1"
    events = [inst.query(f"TRAC:EVEN? {n}") for n in range(1, int(inst.query("TRAC:EVEN:COUN?")) + 1)]
    assert events[-1].split(",")[1] == "E"
    sor = block(inst, "*CLS;trac:load:sor?")
    assert read_sor(sor).general.fibre_id == "FP2-F1"
    assert errors(inst) == []
