"""Accuracy of the OTDR event analysis on simulated traces whose events are known.

Scoring rules are in ``simtruth.py``. The figures are printed (``pytest -s``) so a run shows
them, and asserted against the issue's targets: detection F1 >= 0.95 for events >= 0.1 dB,
median splice-loss error <= 0.02 dB, positions within one pulse length.
"""

from dataclasses import replace

import numpy as np
import pytest

from harness.analysis.otdr import pulse_length_m
from instruments.protocols import OtdrSettings
from instruments.sim.span import build_span, load_span
from simtruth import (Score, analyse, campaign, random_splices, score, true_events,
                      visible_limit_m)

LONG = OtdrSettings()  # 20 µs, 400 km, 8 m, 180 s
SHORT = OtdrSettings(pulse_width_ns=1000.0, range_km=100.0, resolution_m=1.0)


def _check(sc: Score, settings: OtdrSettings, name: str) -> None:
    p_len = pulse_length_m(settings.pulse_width_ns, settings.group_index)
    print(f"\n{name}: {sc.summary()}")
    assert sc.f1 >= 0.95, sc.misses + sc.false
    assert np.median(np.abs(sc.loss_errors)) <= 0.02
    assert np.max(np.abs(sc.position_errors)) <= p_len


def test_events_on_20us_long_haul_traces():
    """6 spans × 3 fibres × both ends, 6 extra splices of 0.1-0.5 dB per fibre."""
    _check(campaign(range(1, 7), LONG, extra=6), LONG, "20 µs, 1550 nm")


def test_events_on_20us_traces_at_1625nm_and_short_averaging():
    for s in (replace(LONG, wavelength_nm=1625.0), replace(LONG, averaging_s=20.0)):
        _check(campaign(range(7, 10), s, extra=6), s,
               f"20 µs, {s.wavelength_nm:.0f} nm, {s.averaging_s:.0f} s")


def test_events_on_1us_traces():
    """1 µs, 100 km at 1 m from each end: the beach joints and every splice are visible."""
    sc = campaign(range(1, 5), SHORT, extra=3, ranges_km=((0.3, 99.7), (280.3, 379.7)))
    _check(sc, SHORT, "1 µs, 1550 nm")
    assert np.percentile(np.abs(sc.position_errors), 95) <= 5.0  # metres, at 1 m sampling


def _quiet_span(seed: int) -> object:
    """The default span with no loss anywhere but the fibre's own (no splice, joint, connector)."""
    raw = load_span(seed=seed).raw
    raw = dict(raw, splices=dict(raw["splices"], loss_db=[0.0, 0.0], asymmetry_db=0.0),
               joints=[], connectors={"loss_db": 0.0, "reflectance_db": -80.0}, faults=[])
    return build_span(raw)


@pytest.mark.parametrize("settings", [LONG, replace(LONG, averaging_s=10.0), SHORT],
                         ids=["20us", "20us-10s", "1us"])
def test_noise_alone_gives_no_event(settings):
    for seed in range(1, 6):
        span = _quiet_span(seed)
        for station in span.stations:
            result = analyse(span, "FP1-F1", station, settings)
            assert [e for e in result.events if e.type != "end"] == [], (seed, station)


def test_events_closer_than_a_fit_window_are_resolved():
    """Pairs 1.4, 2 and 3 pulse lengths apart (the fit window is 4): both found, losses kept."""
    p_km = pulse_length_m(LONG.pulse_width_ns, LONG.group_index) / 1000
    faults, pairs = [], []
    for n, gap in enumerate((1.4, 2.0, 3.0)):
        x = 60.0 + 35.0 * n
        faults += [{"type": "splice", "fibre": "FP1-F1", "distance_km": x, "loss_db": 0.3},
                   {"type": "splice", "fibre": "FP1-F1", "distance_km": x + gap * p_km, "loss_db": 0.2}]
        pairs += [(x, 0.3), (x + gap * p_km, 0.2)]
    span = load_span(faults=faults, seed=3)
    result = analyse(span, "FP1-F1", "AKTAU", LONG)
    for km, loss in pairs:
        hit = [e for e in result.events if abs(e.distance_m / 1000 - km) < p_km / 2]
        assert len(hit) == 1, (km, [(e.distance_m, e.loss_db) for e in result.events])
        assert hit[0].loss_db == pytest.approx(loss, abs=0.03)


def test_event_within_a_window_of_the_reach_is_found():
    span = load_span(seed=4)
    limit_km = visible_limit_m(span, "FP2-F1", "AKTAU", LONG) / 1000
    at = limit_km - 3.0
    span = load_span(faults=[{"type": "splice", "fibre": "FP2-F1", "distance_km": at, "loss_db": 0.25}], seed=4)
    result = analyse(span, "FP2-F1", "AKTAU", LONG)
    assert result.reach_m / 1000 > at
    hit = [e for e in result.events if abs(e.distance_m / 1000 - at) < 2.0]
    assert len(hit) == 1 and hit[0].loss_db == pytest.approx(0.25, abs=0.06)


def test_no_false_gainer_before_a_break():
    """The issue's case: FP2-F1 from AKTAU broken at 212 km, 20 µs: no gain in the noise."""
    span = load_span(faults=[{"type": "break", "fibre": "FP2-F1", "distance_km": 212.0}])
    result = analyse(span, "FP2-F1", "AKTAU", LONG)
    assert not [e for e in result.events if e.gainer]
    assert score(span, "FP2-F1", "AKTAU", LONG, result).fp == 0


def test_uncertainties_match_the_errors():
    """Where noise dominates (loss σ > 3 mdB), errors / σ spread like a unit normal."""
    z_loss, z_pos = [], []
    for seed in range(1, 15):
        rng = np.random.default_rng(seed)
        faults = (random_splices(seed, "FP3-F1", 200.0, 255.0, 4, rng)  # far from AKTAU
                  + random_splices(seed, "FP3-F1", 125.0, 180.0, 4, rng))  # far from SUMGAIT
        span = load_span(faults=faults, seed=seed)
        for station, s in (("AKTAU", LONG), ("SUMGAIT", replace(LONG, averaging_s=20.0))):
            truth = true_events(span, "FP3-F1", station, 1550.0)
            for e in analyse(span, "FP3-F1", station, s).events:
                near = [t for t in truth if abs(t.distance_m - e.distance_m) < 2000]
                if e.type == "non-reflective" and len(near) == 1 and e.uncertainty_db > 0.003:
                    z_loss.append((e.loss_db - near[0].loss_db) / e.uncertainty_db)
                    z_pos.append((e.distance_m - near[0].distance_m) / e.position_uncertainty_m)
    spread = lambda z: 1.4826 * np.median(np.abs(np.asarray(z)))  # noqa: E731  robust σ
    print(f"\nloss z: n {len(z_loss)}, robust σ {spread(z_loss):.2f}; position z: robust σ {spread(z_pos):.2f}")
    assert len(z_loss) >= 30
    assert 0.6 < spread(z_loss) < 1.6 and 0.5 < spread(z_pos) < 1.6


def test_section_attenuation_and_orl(span):
    """Every section's LSA attenuation (splices under the threshold left in) and the ORL."""
    faults = [{"type": "splice", "fibre": "FP3-F2", "distance_km": km, "loss_db": 0.3}
              for km in (60.0, 140.0)]
    span = load_span(faults=faults)
    result = analyse(span, "FP3-F2", "AKTAU", LONG)
    true = span.fibre("FP3-F2").attenuation_db_per_km[1550.0]
    long_sections = [s for s in result.sections if s.end_m - s.start_m > 10e3]
    assert len(long_sections) >= 3
    assert all(abs(s.attenuation_db_per_km - true) < 0.003 for s in long_sections)
    assert result.attenuation_db_per_km == pytest.approx(true, abs=0.002)
    # ORL of a long fibre: backscatter per metre over the two-way decay length
    per_m = 10 ** (-82.0 / 10) / pulse_length_m(1.0, LONG.group_index)
    expected = -10 * np.log10(per_m / (2 * true / 1000 * np.log(10) / 10))
    assert result.orl_db == pytest.approx(expected, abs=0.3)


@pytest.mark.stress
@pytest.mark.parametrize("settings", [LONG, replace(LONG, wavelength_nm=1625.0),
                                      replace(LONG, averaging_s=20.0),
                                      replace(LONG, pulse_width_ns=10000.0, resolution_m=4.0)],
                         ids=["20us", "20us-1625", "20us-20s", "10us-4m"])
def test_dense_campaign(settings):
    """20 spans × 3 fibres × both ends, 12 extra splices per fibre (pytest -m stress, ~15 s each)."""
    _check(campaign(range(100, 120), settings, extra=12), settings,
           f"dense, {settings.pulse_width_ns / 1000:.0f} µs, {settings.wavelength_nm:.0f} nm, "
           f"{settings.averaging_s:.0f} s")
