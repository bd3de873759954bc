"""The acceptance plan on a short simulated span (7.6 km land segment, launch and receive cables):
both OTDRs see the whole fibre, so ACC-4 is the link loss between the two ODF connectors from
each end and averaged, judged against the short span's budget; the truth comes from the span."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from instruments.sim.span import at_wavelength, load_span
from simstation import SHORT_ROUTE, SHORT_SPAN, harness, limits_file, station_file

WAVELENGTHS = (1550, 1625)
BUDGET_DB = {1550: 3.0, 1625: 3.2}
"""Short span budget (estimate): 7.6 km at <= 0.2 dB/km, two ODF connectors of <= 0.5 dB, a
joint and a splice of <= 0.15 dB."""


def true_link_loss(fibre: str, wavelength_nm: float, first_station: bool | None) -> float:
    """Loss between the two ODF connectors (both included), dB: seen from one end
    (``first_station``) or the two-direction average (None)."""
    span = load_span(SHORT_SPAN)
    fb = span.fibre(fibre)
    if first_station is None:
        return fb.total_loss_db(wavelength_nm)
    return (at_wavelength(fb.attenuation_db_per_km, wavelength_nm) * span.length_km
            + sum(e.loss_seen_from(first_station, wavelength_nm) for e in fb.events))


def short_campaign(tmp: Path, run_id: str, wavelengths: tuple[int, ...],
                   budget_db: dict[int, float], faults: tuple[dict, ...] = ()) -> dict[str, dict]:
    """``harness run`` on the short span's first fibre pair at 100 ns with span ``faults``,
    ACC-4 judged against ``budget_db`` per wavelength; the checks by key."""
    station = station_file(tmp, faults, fibres=["FP1"], wavelengths=list(wavelengths), span=SHORT_SPAN,
                           plan=SHORT_ROUTE, length_km=load_span(SHORT_SPAN).length_km)
    limits = limits_file(
        tmp, parameters={"otdr": {"pulse_width_ns": 100, "range_km": 15, "resolution_m": 0.5,
                                  "averaging_s": 30}},
        limits={f"otdr.end_to_end_loss_{wl}nm": {"high": budget_db[wl],
                                                 "marginal_high": budget_db[wl] - 0.3}
                for wl in wavelengths})
    proc = harness("run", "--station", str(station), "--limits", str(limits),
                   "--results", str(tmp), "--run-id", run_id)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    summary = tmp / run_id / "summary.json"
    assert summary.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return {c["key"]: c for c in json.loads(summary.read_text())["checks"]}


@pytest.fixture(scope="module")
def short_run(tmp_path_factory) -> dict[str, dict]:
    return short_campaign(tmp_path_factory.mktemp("short"), "short", WAVELENGTHS, BUDGET_DB)


@pytest.mark.parametrize("fibre", ["FP1-F1", "FP1-F2"])
@pytest.mark.parametrize("wavelength", WAVELENGTHS)
def test_acc4_judges_the_link_loss_per_direction_and_averaged(short_run, fibre, wavelength):
    check = short_run[f"test_end_to_end_loss[{fibre}-{wavelength}nm]"]
    assert check["verdict"] == "pass", check["message"]
    values = {name: m["value"] for name, m in check["measurements"].items()}
    assert values["end_to_end_loss"] == pytest.approx(true_link_loss(fibre, wavelength, None), abs=0.05)
    assert values["end_to_end_loss_from_AKTAU"] == pytest.approx(
        true_link_loss(fibre, wavelength, True), abs=0.05)
    assert values["end_to_end_loss_from_SUMGAIT"] == pytest.approx(
        true_link_loss(fibre, wavelength, False), abs=0.05)
    assert values["end_to_end_direction_difference"] == pytest.approx(
        abs(values["end_to_end_loss_from_AKTAU"] - values["end_to_end_loss_from_SUMGAIT"]))
    assert "between the ODF connectors at 0.000 and 7.600 km" in check["message"] or not check["message"]


def test_a_link_over_its_budget_fails_acc4_with_both_directions(tmp_path):
    """A budget under the true link loss (1.89-1.91 dB at 1550 nm): ACC-4 fails on both fibres,
    the message giving the loss from each end between the two ODF connectors."""
    checks = short_campaign(tmp_path, "tight", (1550,), {1550: 1.5})
    for fibre in ("FP1-F1", "FP1-F2"):
        check = checks[f"test_end_to_end_loss[{fibre}-1550nm]"]
        assert check["verdict"] == "fail", check
        assert "between the ODF connectors at 0.000 and 7.600 km" in check["message"]
        assert "from AKTAU: " in check["message"] and "from SUMGAIT: " in check["message"]
        assert check["measurements"]["end_to_end_loss"]["value"] == pytest.approx(
            true_link_loss(fibre, 1550, None), abs=0.05)


def test_a_break_seen_from_both_ends_fails_acc4_as_a_break(tmp_path):
    """FP1-F1 broken 3 km from AKTAU: both traces end inside the link, so there is no link
    loss; ACC-4 fails naming the break from each end, FP1-F2 still gets its link loss."""
    checks = short_campaign(tmp_path, "break", (1550,), {1550: 3.0},
                            ({"type": "break", "fibre": "FP1-F1", "distance_km": 3.0},))
    broken = checks["test_end_to_end_loss[FP1-F1-1550nm]"]
    assert broken["verdict"] == "fail"
    assert "fibre ends at 3.00 km seen from the first station" in broken["message"]
    assert "(4.60 km from the second station)" in broken["message"] and "break" in broken["message"]
    whole = checks["test_end_to_end_loss[FP1-F2-1550nm]"]
    assert whole["verdict"] == "pass" and "end_to_end_loss_from_SUMGAIT" in whole["measurements"]


def test_the_other_otdr_checks_hold_on_the_short_span(short_run):
    """Section attenuation, splices, route plan, connector reflectance and ORL on the same
    traces: the short span's events are all explained and within limits (UPC at AKTAU, APC at
    SUMGAIT). ORL is measured from both ends (the receive reel's -29 dB end, the trace's
    unclipped maximum, is no saturation) at the backscatter floor of a 9.6 km path, ~29-31 dB."""
    otdr = {k: c for k, c in short_run.items()
            if c.get("requirement") in ("ACC-1", "ACC-2", "ACC-3", "ACC-4", "ACC-5")}
    assert len(otdr) >= 2 * 2 * 3 + 2 * 2 * 2 + 2 * 2
    orl = {k: c for k, c in otdr.items() if k.startswith("test_optical_return_loss")}
    assert len(orl) == 4, sorted(orl)  # two fibres from two stations
    for k, c in orl.items():
        value = c["measurements"]["orl"]["value"]
        assert value is not None and 28.5 <= value <= 32.0, (k, c["message"], c["verdict"])
    bad = {k: c["message"] for k, c in otdr.items() if c["verdict"] not in ("pass", "marginal")}
    assert not bad, bad
