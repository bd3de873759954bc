"""The OTDR analysis against simulated traces whose events are known."""

import numpy as np
import pytest

from harness.analysis.bidir import merge
from harness.analysis.otdr import analyse_otdr
from instruments.protocols import OtdrSettings
from instruments.sim.otdr_physics import otdr_trace
from instruments.sim.span import load_span

S = OtdrSettings()


def analysed(span, fibre, station, settings=S):
    y = otdr_trace(span, fibre, station, settings)
    z = np.arange(len(y)) * settings.resolution_m
    return analyse_otdr(z, y, pulse_width_ns=settings.pulse_width_ns,
                        group_index=settings.group_index, wavelength_nm=settings.wavelength_nm)


@pytest.fixture(scope="module")
def faulty():
    return load_span(faults=[
        {"type": "break", "fibre": "FP2-F1", "distance_km": 212.0},
        {"type": "splice", "fibre": "FP1-F2", "distance_km": 150.0, "loss_db": 0.5},
    ])


def test_attenuation_within_0_005_db_per_km(span):
    for fibre in ("FP1-F1", "FP3-F2"):
        result = analysed(span, fibre, "AKTAU")
        assert result.attenuation_db_per_km == pytest.approx(
            span.fibre(fibre).attenuation_db_per_km[1550.0], abs=0.005)


def test_high_loss_splice_found_from_both_ends(faulty):
    for station, km in (("AKTAU", 150.0), ("SUMGAIT", 230.0)):
        result = analysed(faulty, "FP1-F2", station)
        hit = [e for e in result.events if abs(e.distance_m / 1000 - km) < 2.1]
        assert len(hit) == 1 and hit[0].type == "non-reflective"
        assert hit[0].loss_db == pytest.approx(0.5, abs=0.03)


def test_break_is_the_fibre_end_with_its_reflection(faulty):
    result = analysed(faulty, "FP2-F1", "AKTAU")
    assert result.end_m == pytest.approx(212_000, abs=result.pulse_length_m)
    end = result.events[-1]
    assert end.type == "end" and end.reflectance_db == pytest.approx(-30.0, abs=2.0)


def test_reach_is_about_270_km_at_20_us(span):
    assert 250_000 < analysed(span, "FP1-F1", "AKTAU").reach_m < 290_000


def test_bidirectional_merge_covers_the_span_and_averages_splice_loss(faulty):
    a = analysed(faulty, "FP1-F2", "AKTAU")
    b = analysed(faulty, "FP1-F2", "SUMGAIT")
    joined = merge(a, b, 380_000.0)
    assert joined.continuous and joined.overlap_m[1] > joined.overlap_m[0]
    bad = [e for e in joined.events if e.loss_db > 0.3]
    assert len(bad) == 1 and bad[0].directions == 2
    assert bad[0].distance_m == pytest.approx(150_000, abs=2100)
    assert bad[0].loss_db == pytest.approx(0.5, abs=0.02)


def test_stitched_end_to_end_loss_matches_the_span(span):
    fibre = span.fibre("FP1-F1")
    joined = merge(analysed(span, "FP1-F1", "AKTAU"), analysed(span, "FP1-F1", "SUMGAIT"), 380_000.0)
    # the ODF connectors are the OTDR launches and the beach joints sit in the launch dead
    # zones, so the stitched loss is the fibre plus the splices in between
    expected = fibre.attenuation_db_per_km[1550.0] * 380 + sum(
        e.loss_db[1550.0] for e in fibre.events if e.kind == "splice")
    assert joined.end_to_end_loss_db == pytest.approx(expected, abs=0.3)


def test_break_is_reported_from_both_ends(faulty):
    joined = merge(analysed(faulty, "FP2-F1", "AKTAU"), analysed(faulty, "FP2-F1", "SUMGAIT"), 380_000.0)
    assert not joined.continuous and np.isnan(joined.end_to_end_loss_db)
    text = joined.break_description()
    assert "212.0" in text and "168.0" in text
