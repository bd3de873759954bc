"""Instrument faults of the simulators: parsed from the span file or the command line, checked
field by field, and handed to the right simulated instrument."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from instruments.sim.__main__ import parse_fault
from instruments.sim.faults import InstrumentFaults, instrument_faults
from instruments.sim.span import DEFAULT_SPAN, SpanFileError, load_span
from instruments.sim.stations import FAULT_COMMANDS, start_stations


def test_span_file_instrument_faults_reach_their_instrument(tmp_path):
    data = yaml.safe_load(DEFAULT_SPAN.read_text())
    data["instrument_faults"] = [{"type": "instrument", "station": "AKTAU", "role": "otdr",
                                  "fault": "drop", "after_bytes": 100000}]
    path = tmp_path / "span.yaml"
    path.write_text(yaml.safe_dump(data))
    sim = start_stations(load_span(path), extra_faults=[
        parse_fault("station=SUMGAIT,role=osa,fault=busy", "--instrument-fault")])
    try:
        drop = sim.instruments["AKTAU/otdr"].faults.faults
        assert [(f.fault, f.after_bytes) for f in drop] == [("drop", 100000)]
        assert sim.instruments["SUMGAIT/osa"].faults.busy
        assert not sim.instruments["AKTAU/osa"].faults and not sim.instruments["SUMGAIT/otdr"].faults
    finally:
        sim.stop()


@pytest.mark.parametrize("entry,message", [
    ({"station": "BAKU", "role": "otdr", "fault": "drop"}, r"\[0\]\.station: 'BAKU'"),
    ({"station": "AKTAU", "role": "pm", "fault": "drop"}, r"\[0\]\.role"),
    ({"station": "AKTAU", "role": "otdr", "fault": "melt"}, r"\[0\]\.fault: 'melt'"),
    ({"station": "AKTAU", "role": "transponder", "fault": "garble"}, "for a transponder"),
    ({"station": "AKTAU", "role": "otdr", "fault": "delay"}, r"\.delay_s: a delay fault"),
    ({"station": "AKTAU", "role": "otdr", "fault": "error"}, r"\.command: an error fault"),
    ({"station": "AKTAU", "role": "otdr", "fault": "drop", "command": "TRAC"}, "not a otdr command"),
    ({"station": "AKTAU", "role": "otdr", "fault": "drop", "after": 3}, r"\[0\]\.after: unknown"),
    ({"station": "AKTAU", "role": "otdr", "fault": "drop", "times": "once"}, "must be numbers"),
])
def test_a_wrong_entry_names_the_field(entry, message):
    with pytest.raises(SpanFileError, match=message):
        instrument_faults([entry], ["AKTAU", "SUMGAIT"], FAULT_COMMANDS)


def test_one_shot_fault_fires_once_and_busy_stays():
    faults = InstrumentFaults()
    faults.faults = instrument_faults([
        {"station": "AKTAU", "role": "otdr", "fault": "garble", "times": 1},
        {"station": "AKTAU", "role": "otdr", "fault": "busy"},
    ], ["AKTAU"])[("AKTAU", "otdr")].faults
    assert faults.take("garble", "identify") is None  # not a block reply
    assert faults.take("garble", "data", is_block=True) is not None
    assert faults.take("garble", "data", is_block=True) is None
    assert faults.busy and faults.busy


def test_the_simulator_command_line_refuses_a_bad_instrument_fault():
    proc = subprocess.run([sys.executable, "-m", "instruments.sim", "--json",
                           "--instrument-fault", "station=AKTAU,role=otdr,fault=melt"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "instrument_faults[0].fault: 'melt'" in proc.stderr and "Traceback" not in proc.stderr


def test_the_simulator_command_line_serves_with_an_instrument_fault():
    proc = subprocess.Popen([sys.executable, "-m", "instruments.sim", "--json",
                             "--instrument-fault", "station=AKTAU,role=otdr,fault=busy"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        resources = json.loads(proc.stdout.readline())
        assert resources["AKTAU/otdr"].startswith("TCPIP::")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("text", ["{", "a=[", "type=break,fibre={"])
def test_a_fault_that_is_not_yaml_is_a_span_file_error(text):
    with pytest.raises(SpanFileError, match="--fault"):
        parse_fault(text)


def test_sim_login_option_reads_the_password_from_the_environment_only(monkeypatch, capsys):
    from instruments.sim.__main__ import main

    monkeypatch.delenv("CASPIAN_SIM_UNSET", raising=False)
    assert main(["--login", "AKTAU/osa=u:CASPIAN_SIM_UNSET"]) == 2
    assert "environment variable CASPIAN_SIM_UNSET (password_env) is not set" in capsys.readouterr().err
    assert main(["--login", "AKTAU/osa=u:pass word!"]) == 2
    assert "expected the name of an environment variable" in capsys.readouterr().err
