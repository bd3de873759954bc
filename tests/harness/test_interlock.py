"""The laser interlock: an OTDR never fires into a fibre carrying traffic unless the operator
overrides, and every decision is in the run record. The simulated OTDR's own live-fibre check
(light arriving at its port) refuses ``:INIT`` too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
import yaml

from harness.check import LaserInterlock, LiveFibre
from harness.store import RunStore
from instruments.errors import InstrumentError
from instruments.protocols import OtdrSettings
from instruments.registry import MODELS

from simstation import REPO, SPAN, station_file
SHORT = OtdrSettings(wavelength_nm=1550.0, pulse_width_ns=1000.0, range_km=20.0,
                     averaging_s=10.0, resolution_m=8.0)


@pytest.fixture
def fp1_f1_lit(span):
    before = dict(span.in_service)
    span.set_in_service("FP1-F1", True)
    yield
    span.in_service.clear()
    span.in_service.update(before)


def test_simulated_otdr_refuses_to_fire_into_incoming_traffic(stations, fp1_f1_lit):
    """SUMGAIT receives FP1-F1's traffic: its OTDR's live-fibre check refuses :INIT with an
    error on the queue; AKTAU's OTDR (the light leaves it) fires."""
    sumgait = MODELS["anritsu-mt9083"].open(stations.resources["SUMGAIT/otdr"])
    aktau = MODELS["anritsu-mt9083"].open(stations.resources["AKTAU/otdr"])
    try:
        sumgait.select_port(1)
        with pytest.raises(InstrumentError, match="live fibre: traffic light detected on FP1-F1"):
            sumgait.measure(SHORT)
        aktau.select_port(1)
        assert len(aktau.measure(SHORT).level_db) == 2500
    finally:
        sumgait.close()
        aktau.close()


def interlock(stations, allow_live: bool):
    cards = {s: MODELS["gr831-tl1"].open(stations.extra[f"{s}/transponder-tcp"], tid=f"{s}-TP1")
             for s in ("AKTAU", "SUMGAIT")}
    log: list[dict] = []
    asked: list[str] = []
    lock = LaserInterlock(cards.get, lambda key, text: asked.append(key), log.append,
                          "E. Engineer", allow_live, -30.0)
    return lock, log, cards


@pytest.mark.parametrize("station,receives", [("AKTAU", False), ("SUMGAIT", True)])
def test_lit_fibre_is_refused_from_either_end_naming_fibre_and_reading(stations, fp1_f1_lit,
                                                                       station, receives):
    lock, log, cards = interlock(stations, allow_live=False)
    try:
        with pytest.raises(LiveFibre, match=r"FP1-F1 carries traffic \(card OCH-1-1-1 at "
                                            f"{station} .*dBm.*OTDR shot from {station} refused"):
            lock.ensure_dark(station, "FP1-F1", "OCH-1-1-1", receives)
        lock.ensure_dark(station, "FP1-F2", "OCH-1-1-1", not receives)  # the other way is dark
    finally:
        for card in cards.values():
            card.close()
    assert [(e["key"], e["answer"], e["lit"]) for e in log] == [
        (f"interlock:{station}:FP1-F1", "refused", True), (f"interlock:{station}:FP1-F2", "fire", False)]
    assert log[0]["by"] == "E. Engineer" and log[0]["utc"].endswith("+00:00")


def test_override_lets_the_shot_go_and_says_so(stations, fp1_f1_lit):
    lock, log, cards = interlock(stations, allow_live=True)
    try:
        lock.ensure_dark("AKTAU", "FP1-F1", "OCH-1-1-1", False)
    finally:
        for card in cards.values():
            card.close()
    assert (log[0]["answer"], log[0]["source"], log[0]["lit"]) == ("override", "--allow-live-fibre", True)
    assert "IS, 1.0 dBm" in log[0]["reading"]


def test_a_station_without_a_shelf_asks_the_operator(stations):
    asked: list[str] = []
    lock = LaserInterlock(lambda station: None, lambda key, text: asked.append(key),
                          [].append, "E", False, -30.0)
    lock.ensure_dark("AKTAU", "FP2-F1", "OCH-1-2-1", False)
    assert asked == ["interlock:AKTAU:FP2-F1"]


# --- the whole plan through the command line -------------------------------------------------
def lit_station(tmp: Path) -> Path:
    span = yaml.safe_load(SPAN.read_text())
    span["transponder"]["in_service"] = ["FP1-F1"]  # AKTAU's FP1 transmitter left on
    (tmp / "span.yaml").write_text(yaml.safe_dump(span))
    return station_file(tmp, fibres=["FP1"], wavelengths=[1550], span=tmp / "span.yaml")


def run(tmp: Path, run_id: str, *extra: str) -> tuple[dict, list[dict], list[str]]:
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--station",
                           str(lit_station(tmp)), "--results", str(tmp), "--run-id", run_id, *extra],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    checks = {c["key"]: c for c in json.loads((tmp / run_id / "summary.json").read_text())["checks"]}
    with h5py.File(tmp / run_id / "run.h5", "r") as f:
        shots = [json.loads(g.attrs["request"]) for g in f["acquisitions"].values()
                 if g.attrs["kind"] == "otdr"]
    fibres = {1: "FP1-F1", 2: "FP1-F2"}
    return checks, RunStore(tmp / run_id / "run.h5").read_prompts(), [
        f"{s['station']}-{fibres[s['port']]}" for s in shots]


@pytest.fixture(scope="module")
def refused(tmp_path_factory):
    return run(tmp_path_factory.mktemp("refused"), "refused")


@pytest.mark.campaign
def test_lit_fibre_ends_its_otdr_checks_as_errors_and_no_shot_is_fired(refused):
    checks, prompts, shots = refused
    on_lit = {k: c for k, c in checks.items() if "FP1-F1" in k and (
        k.startswith(("test_section_attenuation", "test_splice_loss", "test_end_to_end_loss")))}
    assert on_lit and all(c["verdict"] == "error" for c in on_lit.values())
    assert all("LiveFibre: FP1-F1 carries traffic" in c["message"] for c in on_lit.values())
    assert checks["test_section_attenuation[AKTAU-FP1-F2-1550nm]"]["verdict"] == "pass"
    assert set(shots) == {"AKTAU-FP1-F2", "SUMGAIT-FP1-F2"}  # nothing fired into FP1-F1
    refusals = [p for p in prompts if p["key"].startswith("interlock:") and p["answer"] == "refused"]
    assert {p["key"] for p in refusals} == {"interlock:AKTAU:FP1-F1", "interlock:SUMGAIT:FP1-F1"}


@pytest.mark.campaign
def test_override_fires_where_the_otdr_allows_and_is_recorded(tmp_path):
    checks, prompts, shots = run(tmp_path, "override", "--allow-live-fibre")
    assert checks["test_section_attenuation[AKTAU-FP1-F1-1550nm]"]["verdict"] in ("pass", "marginal")
    assert "AKTAU-FP1-F1" in shots
    # SUMGAIT receives the traffic: its OTDR's own live-fibre check still refuses
    sumgait = checks["test_section_attenuation[SUMGAIT-FP1-F1-1550nm]"]
    assert sumgait["verdict"] == "error" and "live fibre" in sumgait["message"]
    overrides = {p["key"] for p in prompts if p["answer"] == "override"}
    assert "interlock:AKTAU:FP1-F1" in overrides
