"""The simulated FTB-7000 as its SCPI reference and the FTB platform guide define it, driven
with raw pyvisa-py: one test per command of its table (set-up read back in SI units and EXFO's
NR3, unit suffixes, capabilities and trace labels, acquisition, completion by the operation
condition register and by *OPC, trace in ASCii and PACKed, backscatter, event table, .sor),
then a user's script written from the guides."""

from __future__ import annotations

import re

import numpy as np
import pytest

from harness.sor import read_sor
from instruments.otdr.exfo_ftb7000 import COMMANDS
from instruments.sim.otdr_ftb7000 import SimFtb7000
from otdr_raw import (assert_elapsed_counts, block, error_codes, errors, model_settings, poll,
                      raw_fixtures)

NR3 = re.compile(r"^[-+]?\d\.\d{6}E[-+]\d{3}$")
"""EXFO's NR3, as its guides print it: ``-5.246202E+001``."""


inst, fresh = raw_fixtures(SimFtb7000, "SUMGAIT", 2)
"""Each test starts from ``*RST`` with an empty error queue, on switch port 2."""


def shoot(inst, averaging_s: float = 10) -> None:
    """A short acquisition, completed as EXFO's sample programs wait: ``:STAT:OPER:COND?``
    until 0."""
    inst.write(f":SENS:AVER:TIME {averaging_s}")
    inst.write(":INIT")
    poll(inst, ":STAT:OPER:COND?", lambda r: int(r) == 0)


# --- set-up -----------------------------------------------------------------------------------
@pytest.mark.parametrize("command,sent,expected", [
    (":SENS:WAV", "1625NM", 1625e-9), (":WAV", "1.31E-6", 1310e-9), (":SENS1:WAV", "1.55UM", 1550e-9),
    (":SENS:PULS:WIDT", "10US", 1e-5), (":SENSE:PULSE:WIDTH", "2.75E-7", 275e-9),
    (":PULS:WIDT", "30 NS", 30e-9),
    (":SENS:RANG", "200KM", 2e5), (":SENS:RANG", "250000", 2.5e5),
    (":SENS:AVER:TIME", "60", 60.0), (":SENS:AVER:TIME", "2 MIN", 120.0),
    (":SENS:RES", "4", 4.0), (":SENS:RES", "50CM", 0.5),
    (":SENS:FIB:IOR", "1.4681", 1.4681),
])
def test_each_setting_reads_back_in_si_units_as_nr3(inst, command, sent, expected):
    inst.write(f"{command} {sent}")
    reply = inst.query(f"{command}?")
    assert NR3.match(reply) and float(reply) == pytest.approx(expected)
    assert errors(inst) == []


@pytest.mark.parametrize("line,code", [
    (":SENS:PULS:WIDT 7NS", -222), (":SENS:WAV 1490NM", -222), (":SENS:RANG 1E9", -222),
    (":SENS:AVER:TIME 0", -222), (":SENS:FIB:IOR 3", -222), (":SENS:RANG 10 PARSEC", -131),
    (":SENS:RES fine", -104), (":SENS2:PULS:WIDT 10US", -114), (":FORM:DATA BINARY", -224),
])
def test_a_refused_setting_is_queued(inst, line, code):
    inst.write(line)
    assert error_codes(inst) == [code]


def test_reset_restores_every_setting_default(inst):
    inst.write(":SENS:WAV 1625NM;:SENS:PULS:WIDT 10US;:SENS:RANG 2E5;:SENS:AVER:TIME 600;"
               ":SENS:RES 2;:SENS:FIB:IOR 1.5;:FORM PACK")
    inst.write("*RST")
    for command, query in model_settings(COMMANDS):
        reply = inst.query(query)
        default = command.default[0]
        if isinstance(default, str):
            assert reply == "ASC", command.name
        else:
            assert float(reply) == pytest.approx(default), command.name


def test_format_reads_back_its_short_form(inst):
    inst.write(":FORM:DATA PACKED")
    assert inst.query(":FORM:DATA?") == "PACK"
    inst.write(":FORMAT ascii")
    assert inst.query(":FORM?") == "ASC"


# --- acquisition and completion ---------------------------------------------------------------
def test_operation_condition_shows_measuring_until_the_acquisition_ends(inst):
    inst.write(":SENS:AVER:TIME 3600;:INIT:IMM")
    assert int(inst.query(":STAT:OPER:COND?")) & 16
    inst.write(":ABOR")
    assert int(inst.query(":STAT:OPER:COND?")) == 0
    inst.write(":TRAC:POIN? TRC1")
    assert error_codes(inst) == [-230]  # an aborted shot leaves no trace
    shoot(inst)
    assert int(inst.query(":TRAC:POIN? TRC1")) > 0


def test_opc_query_answers_when_the_acquisition_is_done(inst):
    inst.write(":SENS:AVER:TIME 10")
    assert inst.query(":INIT1:IMMEDIATE;*OPC?") == "1"
    assert int(inst.query(":TRAC:POIN? TRC1")) > 0


def test_elapsed_counts_the_averaging(inst):
    assert_elapsed_counts(inst, ":SENS:AVER:TIME 3600")


# --- results ----------------------------------------------------------------------------------
def test_trace_in_ascii_is_an_nr3_list_as_long_as_its_points(inst):
    inst.write(":SENS:RANG 50KM;RES 5")
    shoot(inst)
    points = int(inst.query(":TRAC:POIN? TRC1"))
    values = inst.query(":TRAC:DATA? TRC1").split(",")
    assert points == len(values) == 10_000 and all(NR3.match(v) for v in values[:50])


def test_trace_in_packed_is_a_block_of_little_endian_float32(inst):
    inst.write(":FORM:DATA PACK;:SENS:RANG 50KM;RES 5")
    shoot(inst)
    level = np.frombuffer(block(inst, ":TRAC1:DATA? TRC1"), "<f4")
    assert len(level) == int(inst.query(":TRAC:POIN? TRC1")) and level[1000] > level[5000]


@pytest.mark.parametrize("line,code", [(":TRAC:DATA? TRC2", -230), (":TRAC:DATA? TRC9", -224),
                                       (":TRAC2:DATA? TRC1", -114), (":CALC:EVEN? TRC4,1", -230)])
def test_labels_and_capabilities_that_hold_no_trace(inst, line, code):
    shoot(inst)
    inst.write(line)
    assert error_codes(inst) == [code]


def test_backscatter_is_0_after_reset_then_the_one_used(inst):
    assert inst.query(":CALC:RBS? TRC1") == "0.000000E+000"
    shoot(inst)
    rbs = inst.query(":CALCULATE1:RBSCATTER? TRC1")
    assert NR3.match(rbs) and -90 < float(rbs) < -70


def test_event_table_blocks_hold_location_type_loss_reflectance_cumulative(inst):
    shoot(inst)
    count = int(inst.query(":CALC:EVEN:COUN? TRC1"))
    rows = [block(inst, f":CALC:EVEN? TRC1,{n}").decode("ascii").split(",")
            for n in range(1, count + 1)]
    assert count >= 2 and all(len(r) == 5 for r in rows)
    assert all(NR3.match(r[i]) for r in rows for i in (0, 2, 3, 4))
    assert rows[0][1] == "3" and rows[-1][1] == "4"
    assert all(r[1] in "1234" for r in rows)
    locations = [float(r[0]) for r in rows]
    assert locations == sorted(locations)
    inst.write(f":CALC:EVEN? TRC1,{count + 1}")
    assert error_codes(inst) == [-222]


def test_sor_file_is_handed_over_as_a_block(inst):
    shoot(inst)
    sor = block(inst, ":TRAC:SOR? TRC1")
    assert sor[:4] == b"Map\0" and read_sor(sor).supplier.name == "EXFO"


# --- a user's script ------------------------------------------------------------------------
def test_a_users_script_from_the_guides(inst):
    """Identify, reset, set up in SI units with suffixes and read back in one compound message,
    fire, wait with *OPC then *ESR? (the platform guide's status bits), fetch the trace in
    binary, the backscatter, the event table and the .sor file, and find the queue empty."""
    maker, model, *_ = inst.query("*IDN?").split(",")
    assert (maker, model[:5]) == ("EXFO", "FTB-7")
    inst.write("*RST;*CLS;:ROUT:CLOS 4")
    inst.write(":SENS:WAV 1550NM;:SENS:PULS:WIDT 1US;:SENS:RANG 100KM;:SENS:AVER:TIME 30;"
               ":SENS:RES 4;:SENS:FIB:IOR 1.4677")
    # the path rule: after :SENS:PULS:WIDT? a bare RANG? would mean :SENS:PULS:RANG?
    reply = inst.query(":SENS:WAV?;PULS:WIDT?;:SENS:RANG?;AVER:TIME?;:SENS:RES?;FIB:IOR?")
    reply = reply.split(";")
    assert [float(v) for v in reply] == pytest.approx([1550e-9, 1e-6, 1e5, 30, 4, 1.4677])
    inst.write(":INIT;*OPC")
    poll(inst, "*ESR?", lambda r: int(r) & 1)
    inst.write(":FORM:DATA PACK")
    level = np.frombuffer(block(inst, ":TRAC:DATA? TRC1"), "<f4")
    assert len(level) == 25_000
    assert float(inst.query(":CALC:RBS? TRC1")) < 0
    count = int(inst.query(":CALC:EVEN:COUN? TRC1"))
    last = block(inst, f":CALC:EVEN? TRC1,{count}").decode().split(",")
    assert last[1] == "4"
    assert read_sor(block(inst, ":TRAC:SOR? TRC1")).general.fibre_id == "FP2-F2"
    assert errors(inst) == []
