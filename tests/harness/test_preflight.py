"""Preflight: before any run folder exists, every instrument must answer and be the model the
station file names; else exit 2 with one line per instrument, no run folder, no traceback.

Loopback only: a refused 127.0.0.1 port, listeners that accept and never answer (SCPI and a
TL1 ``socket://`` console), and a simulated OSA given where the file names an OTDR. The
preflight time of the never-answering case is printed, not asserted.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from loopback import refused_port, silent_listener
from simstation import harness, station_file


def loopback_station(tmp: Path, stations, refused: int, silent: int) -> Path:
    """AKTAU: OTDR on a refused port, OSA and TL1 console on listeners that never answer.
    SUMGAIT: the OTDR's address is the simulated OSA's (wrong model), OSA and shelf real."""
    data = yaml.safe_load(station_file(tmp, fibres=["FP1"], wavelengths=[1550]).read_text())
    del data["simulator"]
    aktau, sumgait = data["stations"]["AKTAU"], data["stations"]["SUMGAIT"]
    aktau["otdr"]["resource"] = f"TCPIP::127.0.0.1::{refused}::SOCKET"
    aktau["osa"]["resource"] = f"TCPIP::127.0.0.1::{silent}::SOCKET"
    aktau["transponder"]["resource"] = f"socket://127.0.0.1:{silent}"
    sumgait["otdr"] = {"model": "anritsu-mt9083", "resource": stations.resources["SUMGAIT/osa"]}
    sumgait["osa"]["resource"] = stations.resources["AKTAU/osa"]
    sumgait["transponder"]["resource"] = stations.extra["SUMGAIT/transponder-tcp"]
    sumgait["transponder"]["tid"] = "SUMGAIT-TP1"
    path = tmp / "loopback.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def unready(tmp_path, stations):
    with refused_port() as refused, silent_listener() as silent:
        yield loopback_station(tmp_path, stations, refused, silent), refused, silent


def test_run_with_unready_instruments_exits_2_one_line_each_and_no_run_folder(tmp_path, unready):
    station, refused, silent = unready
    results = tmp_path / "results"
    t0 = time.monotonic()
    proc = harness("run", "--station", str(station), "--results", str(results), "--run-id", "x")
    elapsed = time.monotonic() - t0
    print(f"\npreflight with a refused port and never-answering listeners: harness run exited "
          f"after {elapsed:.1f} s (60 s allowed)")
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert not results.exists() or not any(results.iterdir())
    lines = proc.stderr.strip().splitlines()
    by = {line.split(" at ")[0].removeprefix("harness: "): line for line in lines if " at " in line}
    assert set(by) == {"AKTAU/otdr", "AKTAU/osa", "AKTAU/transponder", "SUMGAIT/otdr"}, lines
    assert f"127.0.0.1::{refused}::SOCKET: refused" in by["AKTAU/otdr"]
    assert f"127.0.0.1::{silent}::SOCKET: timed out" in by["AKTAU/osa"]
    assert f"socket://127.0.0.1:{silent}: timed out" in by["AKTAU/transponder"]
    # the simulated AQ6370 answers nothing but its login before one (as the real one's LAN
    # port): what the OTDR driver's *IDN? gets is that refusal, named as the wrong model
    assert "wrong model: expected anritsu-mt9083 (ANRITSU,MT9083...), got '" in by["SUMGAIT/otdr"]
    assert lines[-1].startswith("harness: error: preflight: 4 of 6 instruments not ready")
    assert len(lines) == 5


def test_check_prints_the_table_and_exits_2_naming_each_cause(unready):
    station, refused, _ = unready
    proc = harness("check", "--station", str(station))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    rows = {tuple(line.split()[:2]): line for line in proc.stdout.splitlines()[2:-1]}
    assert rows[("AKTAU", "otdr")].rstrip().endswith("no")
    assert rows[("SUMGAIT", "otdr")].rstrip().endswith("yes")  # reachable, the wrong model
    assert "SUMGAIT/otdr at" in proc.stderr and "wrong model" in proc.stderr
    assert rows[("SUMGAIT", "osa")].rstrip().endswith("yes")
    assert "SIM,COHERENT-SHELF,SUMGAIT,1.0" in rows[("SUMGAIT", "transponder")]
    assert "2 of 6 instruments ready" in proc.stdout
    assert f"AKTAU/otdr at TCPIP::127.0.0.1::{refused}::SOCKET: refused" in proc.stderr


def test_check_on_the_simulated_station_lists_every_instrument_ready(tmp_path):
    station = station_file(tmp_path, fibres=["FP1"], wavelengths=[1550])
    proc = harness("check", "--station", str(station))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    header, rule, *rows, summary = proc.stdout.strip().splitlines()
    assert header.split() == ["station", "role", "resource", "model", "identity", "firmware",
                              "reachable"]
    assert len(rows) == 6 and all(r.split()[-1] == "yes" for r in rows)
    table = {tuple(r.split()[:2]): r.split() for r in rows}
    assert table[("AKTAU", "otdr")][3:6] == ["anritsu-mt9083", "ANRITSU,MT9083C2,6200000000,SIM-AKTAU",
                                             "SIM-AKTAU"]
    assert table[("SUMGAIT", "otdr")][3] == "exfo-ftb7000"
    assert table[("SUMGAIT", "otdr")][4].startswith("EXFO,")
    assert table[("AKTAU", "osa")][4].startswith("YOKOGAWA,AQ6370")
    assert table[("AKTAU", "transponder")][4:6] == ["SIM,COHERENT-SHELF,AKTAU,1.0", "1.0"]
    assert all(r[2].startswith(("TCPIP::127.0.0.1::", "/dev/")) for r in table.values())
    assert summary.startswith("6 of 6 instruments ready")


def test_a_simulator_of_another_model_is_refused_by_the_run(tmp_path, stations):
    """The station file names an EXFO OTDR at SUMGAIT; its address serves the Anritsu one."""
    data = yaml.safe_load(station_file(tmp_path, fibres=["FP1"], wavelengths=[1550]).read_text())
    del data["simulator"]
    for name in ("AKTAU", "SUMGAIT"):
        for role in ("osa", "transponder"):
            data["stations"][name][role]["resource"] = (
                stations.resources[f"{name}/osa"] if role == "osa"
                else stations.extra[f"{name}/transponder-tcp"])
        data["stations"][name]["otdr"]["resource"] = stations.resources[
            f"{name}/otdr@anritsu-mt9083"]
    path = tmp_path / "swapped.yaml"
    path.write_text(yaml.safe_dump(data))
    results = tmp_path / "results"
    proc = harness("run", "--station", str(path), "--results", str(results))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert not results.exists()
    bad = [line for line in proc.stderr.splitlines() if " at " in line]
    assert len(bad) == 1 and bad[0].startswith("harness: SUMGAIT/otdr at ")
    assert "wrong model: expected exfo-ftb7000" in bad[0] and "got 'ANRITSU,MT9083" in bad[0]
