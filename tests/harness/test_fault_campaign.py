"""One campaign per span fault: ``harness run`` on a station file whose simulated span carries
the fault, restricted to the fibres and wavelengths the fault needs, and the verdicts must point
at the right fibre, check, station and place. The dirty connector (ACC-5) is tested with its check.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from simstation import REPO, ROUTE, SPAN, harness, station_file

pytestmark = pytest.mark.campaign
PASSING = ("pass", "marginal")


def campaign(tmp: Path, run_id: str, faults: list[dict], fibres: list[str],
             wavelengths: list[int], span: Path | None = None, plan: Path | None = None
             ) -> tuple[int, dict[str, dict]]:
    """Run the plan on the simulated span with ``faults``; (exit code, checks by key)."""
    station = station_file(tmp, faults, fibres=fibres, wavelengths=wavelengths,
                           span=span or SPAN, plan=plan or ROUTE)
    proc = harness("run", "--station", str(station), "--results", str(tmp), "--run-id", run_id)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    summary = tmp / run_id / "summary.json"
    assert summary.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.returncode, {c["key"]: c for c in json.loads(summary.read_text())["checks"]}


def km_in(message: str) -> list[float]:
    """Every "at <x> km" of a check's message (km)."""
    return [float(x) for x in re.findall(r"at (\d+(?:\.\d+)?) km", message)]


def failing(checks: dict[str, dict]) -> set[str]:
    """Checks that failed or ended in error (a check the station file cannot run is skipped),
    leaving out ACC-5 (station connectors through a launch cord), which has campaigns of its own."""
    return {k for k, c in checks.items()
            if c["verdict"] in ("fail", "error") and c.get("requirement") != "ACC-5"}


def test_macrobend_fails_the_bend_check_of_the_end_that_sees_it_and_where(tmp_path):
    """0.2 dB at 1550, 0.9 dB at 1625 nm, 80 km from AKTAU on FP3-F1: AKTAU's bend check fails
    at 80 km; SUMGAIT (300 km away, beyond its reach) and the other fibre are clean."""
    code, checks = campaign(tmp_path, "bend", [
        {"type": "bend", "fibre": "FP3-F1", "distance_km": 80.0, "loss_db": {1550: 0.2, 1625: 0.9}}],
        fibres=["FP3-F1", "FP3-F2"], wavelengths=[1550, 1625])
    assert code == 1
    bend = checks["test_macrobends[AKTAU-FP3-F1]"]
    assert bend["verdict"] == "fail" and bend["requirement"] == "ACC-1"
    assert bend["measurements"]["macrobends"]["value"] == 1
    assert km_in(bend["message"]) == [pytest.approx(80.0, abs=0.1)] and "from AKTAU" in bend["message"]
    losses = re.search(r"([\d.]+) dB at 1550 nm, ([\d.]+) dB at 1625 nm", bend["message"])
    assert [float(x) for x in losses.groups()] == [pytest.approx(0.2, abs=0.05), pytest.approx(0.9, abs=0.05)]
    for key in ("test_macrobends[SUMGAIT-FP3-F1]", "test_macrobends[AKTAU-FP3-F2]",
                "test_macrobends[SUMGAIT-FP3-F2]"):
        assert checks[key]["verdict"] in PASSING, checks[key]["message"]
    # the bend is also an event no cable record explains, on that fibre only
    unexplained = checks["test_events_explained_by_route_plan[FP3-F1-1625nm]"]
    assert unexplained["verdict"] == "fail"
    assert km_in(unexplained["message"]) == [pytest.approx(80.0, abs=0.1)]
    assert all("FP3-F1" in k for k in failing(checks)), failing(checks)


def test_degraded_channel_fails_osnr_at_the_receiving_station_only(tmp_path):
    """6 dB OSNR penalty on the mid-band channel of FP4-F2 (received at AKTAU)."""
    code, checks = campaign(tmp_path, "channel", [
        {"type": "channel", "fibre": "FP4-F2", "osnr_penalty_db": 6.0}],
        fibres=["FP4-F1", "FP4-F2"], wavelengths=[1550])
    assert code == 1
    osnr = checks["test_osnr[AKTAU-FP4-F2]"]
    assert osnr["verdict"] == "fail" and osnr["requirement"] == "ACC-8"
    assert osnr["measurements"]["min_osnr"]["value"] < 14.0
    assert "194.10 THz" in osnr["message"]  # the penalised channel: 20th of 40 from 192.1 THz
    assert "at AKTAU" in osnr["message"]
    assert checks["test_osnr[SUMGAIT-FP4-F1]"]["verdict"] in PASSING
    assert failing(checks) == {"test_osnr[AKTAU-FP4-F2]"}, failing(checks)


def test_failed_laser_fails_q_margin_at_the_receiving_station_naming_los(tmp_path):
    """The transmitter feeding FP1-F2 (SUMGAIT → AKTAU) dies: AKTAU's card reports LOS."""
    code, checks = campaign(tmp_path, "laser", [{"type": "laser", "fibre": "FP1-F2"}],
                            fibres=["FP1-F1", "FP1-F2"], wavelengths=[1550])
    assert code == 1
    q = checks["test_q_margin[AKTAU-FP1-F2]"]
    assert q["verdict"] == "fail" and q["requirement"] == "ACC-9"
    assert "LOS" in q["message"] and "AKTAU" in q["message"]
    assert checks["test_q_margin[SUMGAIT-FP1-F1]"]["verdict"] in PASSING
    # the glass is fine: every OTDR check of both fibres passes
    assert not {k for k in failing(checks) if "nm]" in k}, failing(checks)
    assert all("AKTAU-FP1-F2" in k for k in failing(checks)), failing(checks)


def test_span_with_a_ropa_passes_with_the_ropa_explained(tmp_path):
    """A ROPA 80 km before SUMGAIT on FP2-F1: its OTDR event (1.2 dB at 1550, 0.5 dB at 1625 nm,
    unpumped) is explained by the route plan's ROPA entry, not judged as a splice, not a bend;
    the received OSNR is better than on the fibre without one."""
    raw = yaml.safe_load(SPAN.read_text())
    raw["ropa"]["enabled"] = True
    span = tmp_path / "span-ropa.yaml"
    span.write_text(yaml.safe_dump(raw))
    plan = REPO / "test_plans" / "route" / "aktau_sumgait_ropa.yaml"
    code, checks = campaign(tmp_path, "ropa", [], fibres=["FP2-F1", "FP2-F2"],
                            wavelengths=[1550, 1625], span=span, plan=plan)
    assert code == 0, {k: checks[k]["message"] for k in failing(checks)}
    assert failing(checks) == set()
    with_ropa = checks["test_osnr[SUMGAIT-FP2-F1]"]["measurements"]["min_osnr"]["value"]
    without = checks["test_osnr[AKTAU-FP2-F2]"]["measurements"]["min_osnr"]["value"]
    assert with_ropa > without + 6.0
    # without the plan's ROPA entry the same event is unexplained at 300 km
    code, checks = campaign(tmp_path, "ropa-unplanned", [], fibres=["FP2-F1", "FP2-F2"],
                            wavelengths=[1550], span=span)
    explained = checks["test_events_explained_by_route_plan[FP2-F1-1550nm]"]
    assert code == 1 and explained["verdict"] == "fail"
    assert km_in(explained["message"]) == [pytest.approx(300.0, abs=0.1)]
