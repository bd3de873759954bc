"""The OTDR analysis on realistic simulated traces (the span simulator's launch and receive
cables, front panel, short-pulse receiver with saturation and recovery tails, ghosts, UPC and
APC connectors), scored against the simulator's own key events (rules in ``realtruth.py``).
The figures are printed (``pytest -s``) and held to the issue's goal, F1 >= 0.95."""

from dataclasses import replace

import numpy as np
import pytest

from instruments.protocols import OtdrSettings
from instruments.sim.otdr_physics import launch_cord_m
from instruments.sim.span import DEFAULT_SPAN, load_span
from realtruth import analyse_shot, campaign, score_shot, short_pulses
from simtruth import Score

SHORT_SPAN = DEFAULT_SPAN.parent / "short_land.yaml"


def _report(name: str, sc: Score) -> None:
    print(f"\n{name}: {sc.summary()}")
    for m in sc.misses + sc.false + sc.far:
        print("  ", m)


def test_short_span_at_5ns_to_1us_both_ends():
    """7.6 km land span with 1 km launch and receive reels, UPC at one ODF and APC at the
    other, 5-100 ns and 1 µs at 1310 and 1550 nm: every connector one reflective event, the
    true end behind the receive reel, ghosts flagged."""
    span = load_span(SHORT_SPAN)
    sc = campaign(span, short_pulses(), [next(iter(span.fibres))])
    _report("short span, 5 ns - 1 us", sc)
    assert sc.f1 >= 0.95, sc.misses + sc.false
    assert not sc.far, sc.far  # no reflection reported as a step


def test_receive_cable_and_true_end_are_found():
    span = load_span(SHORT_SPAN)
    fibre = next(iter(span.fibres))
    for s in short_pulses()[::3]:
        for station in span.stations:
            result, cord = analyse_shot(span, fibre, station, s)
            far_odf = cord + span.length_km * 1000.0
            tol = max(10.0, 2 * s.resolution_m, result.pulse_length_m / 2)
            assert result.end_m == pytest.approx(far_odf + 1000.0, abs=tol)  # the reel's end
            odf = [e for e in result.events if abs(e.distance_m - far_odf) <= tol]
            assert [e.type for e in odf] == ["reflective"], (s, station, odf)


def test_long_haul_20us_small_splices():
    """200 km at 20 µs with splices of 0.12-0.35 dB: found, none of them 'reflective'."""
    s = replace(OtdrSettings(), range_km=260.0, resolution_m=8.0)
    total = Score()
    for seed in range(1, 9):
        rng = np.random.default_rng(seed)
        faults = [{"type": "splice", "fibre": "FP1-F1", "distance_km": float(rng.uniform(5, 200)),
                   "loss_db": round(float(rng.uniform(0.12, 0.35)), 3)} for _ in range(6)]
        span = load_span(faults=faults, seed=seed)
        result, cord = analyse_shot(span, "FP1-F1", "AKTAU", s)
        total.add(score_shot(span, "FP1-F1", "AKTAU", s, result, cord))
        assert all(e.type != "reflective" for e in result.events
                   if cord + 4000.0 < e.distance_m < cord + 201_000.0), result.events
    _report("200 km at 20 us, 0.12-0.35 dB splices", total)
    assert total.f1 >= 0.95, total.misses + total.false
    assert np.percentile(np.abs(total.loss_errors), 95) <= 0.05


def test_ghost_beyond_the_end_is_flagged_not_a_fault():
    span = load_span(SHORT_SPAN)
    s = [x for x in short_pulses() if x.pulse_width_ns == 100.0 and x.wavelength_nm == 1550.0][0]
    result, cord = analyse_shot(span, next(iter(span.fibres)), span.stations[1], s)
    ghosts = [e for e in result.after_end if e.ghost]
    assert ghosts and all(e.distance_m > result.end_m for e in ghosts)
    assert not any(e.ghost for e in result.events if e.type != "reflective")
    assert launch_cord_m(span) == cord
