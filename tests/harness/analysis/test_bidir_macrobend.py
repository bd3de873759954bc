"""Bidirectional joining (frame alignment, averaging, location, gainers) and macrobends."""

from dataclasses import replace

import numpy as np
import pytest

from harness.analysis.bidir import merge
from harness.analysis.macrobend import find_bends
from harness.analysis.otdr import pulse_length_m
from instruments.protocols import OtdrSettings
from instruments.sim.span import build_span, load_span
from simtruth import analyse, random_splices

S = OtdrSettings()
P_M = pulse_length_m(S.pulse_width_ns, S.group_index)


@pytest.fixture(scope="module")
def joined_parts():
    span = load_span(faults=[{"type": "splice", "fibre": "FP1-F2", "distance_km": 150.0, "loss_db": 0.5},
                             {"type": "splice", "fibre": "FP1-F2", "distance_km": 210.0, "loss_db": 0.3}])
    return span, analyse(span, "FP1-F2", "AKTAU", S), analyse(span, "FP1-F2", "SUMGAIT", S)


@pytest.mark.parametrize("error_m", [0.0, 400.0, -700.0, 1500.0])
def test_a_wrong_route_length_is_corrected_on_common_events(joined_parts, error_m):
    span, a, b = joined_parts
    joined = merge(a, b, 380_000.0 + error_m)
    assert joined.aligned_events >= 2
    assert joined.length_offset_m == pytest.approx(-error_m, abs=50.0)
    assert joined.aligned_length_m == pytest.approx(380_000.0, abs=50.0)
    for km, loss in ((150.0, 0.5), (210.0, 0.3)):
        hit = [e for e in joined.events if abs(e.distance_m / 1000 - km) < 1.0]
        assert len(hit) == 1 and hit[0].directions == 2
        assert hit[0].distance_m == pytest.approx(km * 1000, abs=P_M / 4)
        assert hit[0].loss_db == pytest.approx(loss, abs=0.02)


def test_each_event_is_located_from_the_direction_that_sees_it_better(joined_parts):
    _, a, b = joined_parts
    joined = merge(a, b, 380_000.0)
    near_a = next(e for e in joined.events if abs(e.distance_m - 150e3) < 1e3)
    near_b = next(e for e in joined.events if abs(e.distance_m - 210e3) < 1e3)
    # 150 km is nearer AKTAU (230 km from SUMGAIT); 210 km is nearer SUMGAIT (170 km)
    assert near_a.located_from == "a" and near_b.located_from == "b"
    ua = next(e for e in a.events if abs(e.distance_m - 150e3) < 1e3).position_uncertainty_m
    ub = next(e for e in b.events if abs(e.distance_m - 230e3) < 1e3).position_uncertainty_m
    assert near_a.position_uncertainty_m == pytest.approx(min(ua, ub))


def test_two_direction_splice_loss_is_the_true_loss():
    """Over several spans: every event seen (or measured) from both ends, averaged, against
    the true loss (the average of the two directions' losses)."""
    errors = []
    for seed in range(1, 5):
        rng = np.random.default_rng(seed)
        span = load_span(faults=random_splices(seed, "FP2-F2", 110.0, 270.0, 4, rng), seed=seed)
        joined = merge(analyse(span, "FP2-F2", "AKTAU", S), analyse(span, "FP2-F2", "SUMGAIT", S), 380e3)
        for e in joined.events:
            true = [t for t in span.fibre("FP2-F2").events if abs(t.position_km * 1000 - e.distance_m) < P_M]
            if e.directions == 2 and len(true) == 1 and 110e3 < e.distance_m < 270e3:
                errors.append(e.loss_db - true[0].loss_db[1550.0])
    print(f"\ntwo-direction loss: n {len(errors)}, median |error| {np.median(np.abs(errors)):.4f} dB")
    assert len(errors) >= 20 and np.median(np.abs(errors)) <= 0.01


def test_gainers_are_explained_by_the_other_direction():
    """Splices with a strong mode-field mismatch: a gain from one end, a loss from the other."""
    raw = dict(load_span(seed=8).raw)
    raw["splices"] = dict(raw["splices"], loss_db=[0.08, 0.12], asymmetry_db=0.4)
    span = build_span(raw)
    joined = merge(analyse(span, "FP1-F1", "AKTAU", S), analyse(span, "FP1-F1", "SUMGAIT", S), 380e3)
    gainers = [e for e in joined.events if e.gainer]
    assert gainers
    for e in gainers:
        true = min(span.fibre("FP1-F1").events, key=lambda t: abs(t.position_km * 1000 - e.distance_m))
        assert "gainer" in e.note and "mode-field" in e.note
        assert e.loss_db == pytest.approx(true.loss_db[1550.0], abs=0.02)
        assert e.type == "non-reflective"


def test_bends_are_told_from_splices_by_the_1625_nm_loss():
    found, truth, false = 0, 0, []
    for seed in range(1, 6):
        rng = np.random.default_rng(seed)
        bends = [{"type": "bend", "fibre": "FP3-F1", "distance_km": float(rng.uniform(10, 230)),
                  "loss_db": {1550: float(l1), 1625: float(l1 * rng.uniform(2.5, 5))}}
                 for l1 in rng.uniform(0.05, 0.3, 3)]
        span = load_span(faults=bends + random_splices(seed, "FP3-F1", 10, 230, 4, rng), seed=seed)
        short = analyse(span, "FP3-F1", "AKTAU", S)
        long = analyse(span, "FP3-F1", "AKTAU", replace(S, wavelength_nm=1625.0))
        got = find_bends(short, long)
        for bend in bends:
            if bend["distance_km"] * 1000 > min(short.reach_m, long.reach_m) - P_M:
                continue  # 1625 nm sees less far (1.5 dB less range, more loss per km)
            truth += 1
            found += any(abs(g.distance_m - bend["distance_km"] * 1000) < P_M for g in got)
        false += [g for g in got if not any(abs(g.distance_m - b["distance_km"] * 1000) < P_M for b in bends)]
    print(f"\nbends: {found} of {truth} found, {len(false)} splices called bends")
    assert not false and found >= 0.9 * truth


def test_a_bend_loss_is_measured_at_both_wavelengths():
    span = load_span(faults=[{"type": "bend", "fibre": "FP3-F1", "distance_km": 80.0,
                              "loss_db": {1550: 0.2, 1625: 0.9}}])
    bends = find_bends(analyse(span, "FP3-F1", "AKTAU", S),
                       analyse(span, "FP3-F1", "AKTAU", replace(S, wavelength_nm=1625.0)))
    assert len(bends) == 1
    assert bends[0].distance_m == pytest.approx(80e3, abs=P_M / 4)
    assert bends[0].loss_1550_db == pytest.approx(0.2, abs=0.02)
    assert bends[0].loss_1625_db == pytest.approx(0.9, abs=0.03)
