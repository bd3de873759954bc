"""Wrong station and limits files give one line naming the file and the field."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.config import load_limits_file, load_station_file
from harness.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SIM = REPO / "test_plans" / "stations" / "sim.yaml"


def edited(tmp_path, change):
    data = yaml.safe_load(SIM.read_text())
    change(data)
    path = tmp_path / "station.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_station_files_load():
    for path in (REPO / "test_plans" / "stations").glob("*.yaml"):
        sf = load_station_file(path)
        assert sf.stations == ["AKTAU", "SUMGAIT"] and len(sf.fibres) == 8


def test_unknown_model_names_the_field(tmp_path):
    path = edited(tmp_path, lambda d: d["stations"]["AKTAU"]["otdr"].update(model="acme-9000"))
    with pytest.raises(ConfigError, match=r"stations\.AKTAU\.otdr\.model: unknown model 'acme-9000'"):
        load_station_file(path)


def test_wrong_resource_string_names_the_field(tmp_path):
    path = edited(tmp_path, lambda d: d["stations"]["SUMGAIT"]["osa"].update(resource="TCPIP::10.94.1.22::osa::SOCKET"))
    with pytest.raises(ConfigError, match=r"stations\.SUMGAIT\.osa\.resource: 'TCPIP::10.94.1.22::osa::SOCKET' is not a VISA"):
        load_station_file(path)


def test_model_of_the_wrong_kind(tmp_path):
    path = edited(tmp_path, lambda d: d["stations"]["AKTAU"]["otdr"].update(model="yokogawa-aq6370"))
    with pytest.raises(ConfigError, match="is a osa, not a otdr"):
        load_station_file(path)


def test_limits_with_inverted_band_rejected(tmp_path):
    path = tmp_path / "limits.yaml"
    path.write_text("limits:\n  x: {units: dB, low: 2, high: 1}\n")
    with pytest.raises(ConfigError, match="limits.x: low 2.0 is above high 1.0"):
        load_limits_file(path)


def test_cli_prints_one_line_and_exits_2_without_traceback(tmp_path):
    path = edited(tmp_path, lambda d: d["stations"]["AKTAU"]["otdr"].update(resource="GPIB::banana"))
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--station", str(path),
                           "--results", str(tmp_path / "results")],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "stations.AKTAU.otdr.resource" in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


def test_a_misspelled_instrument_option_is_refused_naming_it(tmp_path):
    data = yaml.safe_load(SIM.read_text())
    data["simulator"]["span"] = str((SIM.parent / data["simulator"]["span"]).resolve())
    data["route"]["plan"] = str((SIM.parent / data["route"]["plan"]).resolve())
    data["stations"]["AKTAU"]["otdr"]["retires"] = 3
    path = tmp_path / "station.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"stations\.AKTAU\.otdr: unknown option 'retires'.*retries"):
        load_station_file(path)
