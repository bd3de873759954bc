"""The simulated OTDR trace shows the physics DOMAIN.md states, in numbers."""

from dataclasses import replace

import numpy as np
import pytest

from harness.analysis.otdr import REACH_NOISE_DB, _rolling_noise
from instruments.protocols import OtdrSettings
from instruments.sim.otdr_physics import otdr_trace, pulse_length_m
from instruments.sim.span import load_span

BASE = OtdrSettings()


def level(span, fibre, station, settings=BASE):
    y = otdr_trace(span, fibre, station, settings)
    return np.arange(len(y)) * settings.resolution_m, y


def visible_km(z, y, w=1024):
    noisy = np.nonzero((_rolling_noise(y, w) > REACH_NOISE_DB) & (z > 20e3))[0]
    return z[noisy[0]] / 1000


@pytest.mark.parametrize("wavelength", [1550.0, 1625.0])
def test_slope_equals_configured_attenuation(span, wavelength):
    settings = replace(BASE, wavelength_nm=wavelength)
    z, y = level(span, "FP2-F2", "SUMGAIT", settings)
    # the longest event-free stretch seen from SUMGAIT within 10-200 km, less one pulse
    marks = sorted(380 - e.position_km for e in span.fibre("FP2-F2").events if 10 < 380 - e.position_km < 200)
    a, b = max(zip(marks, marks[1:]), key=lambda ab: ab[1] - ab[0])
    sel = (z > a * 1e3 + pulse_length_m(20000, 1.4677) + 500) & (z < b * 1e3 - 500)
    assert sel.sum() > 1000
    slope = -np.polyfit(z[sel], y[sel], 1)[0] * 1000
    assert slope == pytest.approx(span.fibre("FP2-F2").attenuation_db_per_km[wavelength], abs=0.005)


def test_same_seed_gives_byte_identical_traces(span):
    a = otdr_trace(span, "FP1-F1", "AKTAU", BASE)
    b = otdr_trace(load_span(), "FP1-F1", "AKTAU", BASE)
    assert a.tobytes() == b.tobytes()


def test_one_end_cannot_see_the_whole_span_but_both_ends_together_can(span):
    from_a = visible_km(*level(span, "FP1-F1", "AKTAU"))
    from_b = visible_km(*level(span, "FP1-F1", "SUMGAIT"))
    assert 250 <= from_a <= 290 and 250 <= from_b <= 290
    assert from_a + from_b > 380


def test_shorter_pulse_sees_less_far(span):
    reach = [visible_km(*level(span, "FP1-F1", "AKTAU", replace(BASE, pulse_width_ns=p)))
             for p in (20000, 10000, 2000)]
    assert reach[0] > reach[1] > reach[2]
    assert reach[0] - reach[2] > 40  # 7.5 dB less range ≈ 47 km at 0.16 dB/km


def test_noise_falls_with_averaging_time(span):
    def noise_at_240km(avg):
        z, y = level(span, "FP1-F1", "AKTAU", replace(BASE, averaging_s=avg))
        sel = (z > 240e3) & (z < 245e3)
        return np.std(y[sel] - np.polyval(np.polyfit(z[sel], y[sel], 1), z[sel]))
    ratio = noise_at_240km(20) / noise_at_240km(180)
    assert ratio == pytest.approx(3.0, rel=0.2)  # sqrt(180 / 20)


def test_splice_step_and_reflection_as_configured(span):
    z, y = level(span, "FP1-F1", "AKTAU")
    splice = next(e for e in span.fibre("FP1-F1").events if e.kind == "splice")
    p = pulse_length_m(20000, 1.4677)
    x = splice.position_km * 1000
    before = (z > x - 6e3) & (z < x - 1e3)
    after = (z > x + p + 1e3) & (z < x + p + 6e3)
    fb = np.polyfit(z[before], y[before], 1)
    fa = np.polyfit(z[after], y[after], 1)
    step = np.polyval(fb, x) - np.polyval(fa, x)
    assert step == pytest.approx(splice.loss_seen_from(True, 1550.0), abs=0.01)


def test_break_ends_the_trace_in_noise_after_a_reflection():
    span = load_span(faults=[{"type": "break", "fibre": "FP2-F1", "distance_km": 212.0}])
    z, y = level(span, "FP2-F1", "AKTAU")
    at = lambda km: y[(z > km * 1e3) & (z < km * 1e3 + 500)].mean()
    assert at(212.5) > at(211.0)  # the Fresnel spike
    assert at(216.0) < at(211.0) - 10  # noise floor
