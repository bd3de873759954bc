"""ACC-5 (station connector reflectance, ORL) and ACC-10 (stability soak) through the whole
plan: a dirty connector fails ACC-5 at its station and fibre only; a bad splice (7 dB, the
received OSNR drops below what the FEC corrects) fails the soak on its fibre only; the other
fibres pass."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from simstation import REPO, station_file

pytestmark = pytest.mark.campaign
FAULTS = [{"type": "connector", "fibre": "FP2-F1", "station": "SUMGAIT", "reflectance_db": -32.0},
          {"type": "splice", "fibre": "FP2-F2", "distance_km": 150.0, "loss_db": 7.0}]


@pytest.fixture(scope="module")
def checks(tmp_path_factory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("faults")
    station_file(tmp, FAULTS, fibres=["FP1", "FP2"], wavelengths=[1550])
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--station",
                           str(tmp / "station.yaml"), "--results", str(tmp), "--run-id", "f"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    return {c["key"]: c for c in json.loads((tmp / "f" / "summary.json").read_text())["checks"]}


def verdicts(checks: dict[str, dict], test: str) -> dict[str, str]:
    return {k[len(test) + 1:-1]: c["verdict"] for k, c in checks.items() if k.startswith(test + "[")}


def test_dirty_connector_fails_acc5_at_its_station_and_fibre(checks):
    reflectance = verdicts(checks, "test_station_connector_reflectance")
    assert len(reflectance) == 8  # 2 stations x 4 fibres
    assert {k for k, v in reflectance.items() if v == "fail"} == {"SUMGAIT-FP2-F1"}
    assert set(reflectance.values()) == {"pass", "fail"}
    failed = checks["test_station_connector_reflectance[SUMGAIT-FP2-F1]"]
    assert failed["requirement"] == "ACC-5" and "ODF connector at SUMGAIT" in failed["message"]
    orl = verdicts(checks, "test_optical_return_loss")
    assert len(orl) == 8 and set(orl.values()) <= {"pass", "marginal"}


def test_degraded_link_fails_the_soak_on_its_fibre(checks):
    soak = verdicts(checks, "test_stability_soak")
    assert soak == {"SUMGAIT-FP1-F1": "pass", "AKTAU-FP1-F2": "pass", "SUMGAIT-FP2-F1": "pass",
                    "AKTAU-FP2-F2": "fail"}
    failed = checks["test_stability_soak[AKTAU-FP2-F2]"]
    assert "uncorrected_blocks" in failed["message"] and "96 bins (24 h)" in failed["message"]
    values = {m["name"]: m["value"] for m in failed["measurements"]} if isinstance(
        failed["measurements"], list) else {k: m["value"] for k, m in failed["measurements"].items()}
    assert values["uncorrected_blocks"] > 0 and values["errored_seconds"] > 0
