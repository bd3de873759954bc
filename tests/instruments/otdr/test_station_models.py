"""The simulated stations serve the OTDR model a station file asks for: every model by default
(``STATION/otdr@MODEL``), a chosen few with ``otdr_models`` / ``--otdr-model``, and
``StationFile.resolve_sim`` connects each station to the model its file names."""

import subprocess
import sys
from pathlib import Path

import pytest

from harness.config import load_station_file
from harness.errors import ConfigError
from instruments.sim.span import SpanFileError
from instruments.sim.stations import parse_otdr_models, start_stations

REPO = Path(__file__).resolve().parents[3]
STATIONS_DIR = REPO / "test_plans" / "stations"


def test_a_station_can_serve_only_the_model_chosen(span):
    sim = start_stations(span, otdr_models={"SUMGAIT": ["exfo-ftb7000"]})
    try:
        keys = {k for k in sim.resources if "/otdr" in k}
        assert keys == {"AKTAU/otdr", "AKTAU/otdr@anritsu-mt9083", "AKTAU/otdr@exfo-ftb7000",
                        "SUMGAIT/otdr", "SUMGAIT/otdr@exfo-ftb7000"}
        assert sim.resources["SUMGAIT/otdr"] == sim.resources["SUMGAIT/otdr@exfo-ftb7000"]
        assert sim.instruments["SUMGAIT/otdr"].IDN.startswith("EXFO,")
        assert sim.instruments["AKTAU/otdr"].IDN.startswith("ANRITSU,")
    finally:
        sim.stop()


@pytest.mark.parametrize("entry,message", [
    ("BAKU=exfo-ftb7000", "expected STATION=MODEL with a station"),
    ("SUMGAIT", "expected STATION=MODEL"),
    ("SUMGAIT=exfo-ftb9999", "'exfo-ftb9999' is not one of anritsu-mt9083, exfo-ftb7000"),
])
def test_a_wrong_model_choice_is_one_line_naming_it(entry, message):
    with pytest.raises(SpanFileError, match=message):
        parse_otdr_models([entry], ["AKTAU", "SUMGAIT"])


def test_the_simulator_command_refuses_a_wrong_model_with_exit_2():
    done = subprocess.run([sys.executable, "-m", "instruments.sim", "--json",
                           "--otdr-model", "SUMGAIT=nope"], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, cwd=REPO)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: --otdr-model 'SUMGAIT=nope': 'nope' is not one of anritsu-mt9083, exfo-ftb7000"]


RESOURCES = {"AKTAU/otdr": "TCPIP::127.0.0.1::1::SOCKET",
             "AKTAU/otdr@anritsu-mt9083": "TCPIP::127.0.0.1::1::SOCKET",
             "AKTAU/otdr@exfo-ftb7000": "TCPIP::127.0.0.1::2::SOCKET",
             "SUMGAIT/otdr": "TCPIP::127.0.0.1::3::SOCKET",
             "SUMGAIT/otdr@anritsu-mt9083": "TCPIP::127.0.0.1::3::SOCKET",
             "SUMGAIT/otdr@exfo-ftb7000": "TCPIP::127.0.0.1::4::SOCKET",
             **{f"{s}/{r}": f"/dev/pts/{n}" for n, (s, r) in enumerate(
                 [(s, r) for s in ("AKTAU", "SUMGAIT") for r in ("osa", "transponder")])}}


def test_the_demo_station_file_talks_to_anritsu_at_aktau_and_exfo_at_sumgait():
    station = load_station_file(STATIONS_DIR / "sim.yaml")
    station.resolve_sim(RESOURCES)
    assert station.instruments["AKTAU"]["otdr"].model == "anritsu-mt9083"
    assert station.instruments["AKTAU"]["otdr"].resource.endswith("::1::SOCKET")
    assert station.instruments["SUMGAIT"]["otdr"].model == "exfo-ftb7000"
    assert station.instruments["SUMGAIT"]["otdr"].resource.endswith("::4::SOCKET")


def test_a_model_the_simulator_does_not_serve_is_a_config_error():
    station = load_station_file(STATIONS_DIR / "sim-sumgait.yaml")
    only_anritsu = {k: v for k, v in RESOURCES.items() if "exfo" not in k}
    with pytest.raises(ConfigError, match="simulator serves no SUMGAIT/otdr@exfo-ftb7000"):
        station.resolve_sim(only_anritsu)
