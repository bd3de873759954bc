"""Bidirectional link loss when each direction sees the whole fibre (short span, launch and
receive cables): per direction and averaged, between the first and last connectors, through
the analysis and through ``harness analyse otdr A.sor B.sor --bidirectional``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.analysis.bidir import merge
from harness.analysis.otdr import analyse_otdr
from harness.sor import record_from_trace, save_sor
from instruments.protocols import OtdrSettings
from instruments.sim.otdr_physics import launch_cord_m, otdr_trace
from instruments.sim.span import at_wavelength, load_span

REPO = Path(__file__).resolve().parents[3]
SHORT_SPAN = REPO / "instruments" / "sim" / "spans" / "short_land.yaml"
SETTINGS = OtdrSettings(wavelength_nm=1550, pulse_width_ns=100, range_km=15, resolution_m=0.5,
                        averaging_s=30)


def link_truth(span, fibre: str, first: bool | None) -> float:
    """Loss between the two ODFs, both included (dB), from one end or averaged (None)."""
    fb = span.fibre(fibre)
    if first is None:
        return fb.total_loss_db(SETTINGS.wavelength_nm)
    return (at_wavelength(fb.attenuation_db_per_km, SETTINGS.wavelength_nm) * span.length_km
            + sum(e.loss_seen_from(first, SETTINGS.wavelength_nm) for e in fb.events))


def traces(span, fibre: str = "FP1-F1") -> list[tuple[np.ndarray, np.ndarray]]:
    """(distance m from the OTDR port, level dB) from each station, through its launch cable."""
    out = []
    for station in span.stations:
        y = otdr_trace(span, fibre, station, SETTINGS, launch_cord_m(span))
        out.append((np.arange(y.size) * SETTINGS.resolution_m, y))
    return out


def analyse(z: np.ndarray, y: np.ndarray):
    return analyse_otdr(z, y, pulse_width_ns=SETTINGS.pulse_width_ns,
                        group_index=SETTINGS.group_index, wavelength_nm=SETTINGS.wavelength_nm)


@pytest.mark.parametrize("fibre", ["FP1-F1", "FP1-F2"])
def test_link_loss_per_direction_and_averaged_when_both_see_the_whole_fibre(fibre):
    span = load_span(SHORT_SPAN)
    a, b = (analyse(*t) for t in traces(span, fibre))
    cord = launch_cord_m(span)
    length = span.length_km * 1000.0 + 2 * cord  # port to port: launch + link + receive cable
    for given in (None, (cord, cord + span.length_km * 1000.0)):
        joined = merge(a, b, length, link_m=given)
        assert joined.continuous and joined.link is not None
        assert joined.link.first_m == pytest.approx(cord, abs=SETTINGS.resolution_m * 2)
        assert joined.link.last_m == pytest.approx(cord + span.length_km * 1000.0, abs=2.0)
        assert joined.link.a_db == pytest.approx(link_truth(span, fibre, True), abs=0.03)
        assert joined.link.b_db == pytest.approx(link_truth(span, fibre, False), abs=0.03)
        assert joined.end_to_end_loss_db == pytest.approx(link_truth(span, fibre, None), abs=0.02)
        assert joined.end_to_end_loss_db == pytest.approx((joined.link.a_db + joined.link.b_db) / 2)


def test_a_break_seen_from_both_ends_is_no_link_loss():
    span = load_span(SHORT_SPAN, faults=[{"type": "break", "fibre": "FP1-F1", "distance_km": 3.0}])
    a, b = (analyse(*t) for t in traces(span))
    cord = launch_cord_m(span)
    joined = merge(a, b, span.length_km * 1000.0 + 2 * cord,
                   link_m=(cord, cord + span.length_km * 1000.0))
    assert a.end_m == pytest.approx(cord + 3000.0, abs=5.0)
    assert joined.link is None and not joined.continuous
    assert "break" in joined.break_description()


def test_the_380_km_span_keeps_its_stitched_loss(span):
    """Neither trace reaches the far end at 20 us: no link loss, the stitched loss as before."""
    settings = OtdrSettings()
    a, b = (analyse_otdr(np.arange(y.size) * settings.resolution_m, y,
                         pulse_width_ns=settings.pulse_width_ns, group_index=settings.group_index,
                         wavelength_nm=1550)
            for y in (otdr_trace(span, "FP1-F1", st, settings) for st in span.stations))
    joined = merge(a, b, span.length_km * 1000.0)
    assert joined.link is None and joined.stitch_m is not None and joined.continuous
    assert joined.end_to_end_loss_db == pytest.approx(span.fibre("FP1-F1").total_loss_db(1550.0)
                                                      - 2 * 0.25, abs=0.3)


def test_cli_bidirectional_json_gives_the_link_loss(tmp_path):
    """``analyse otdr A.sor B.sor --bidirectional`` on the short span's .sor files: the span
    loss is no longer null; the keys stay, with the loss from each end and the link's ends."""
    span = load_span(SHORT_SPAN)
    paths = []
    for station, (z, y) in zip(span.stations, traces(span)):
        path = tmp_path / f"{station}.sor"
        save_sor(record_from_trace(z, y, wavelength_nm=1550, pulse_width_ns=SETTINGS.pulse_width_ns,
                                   group_index=SETTINGS.group_index, averaging_s=30), path)
        paths.append(str(path))
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "analyse", "otdr", *paths,
                           "--bidirectional", "--json"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    d = json.loads(proc.stdout)
    assert {"files", "length_m", "attenuation_db_per_km", "span_loss_db", "aligned_events",
            "events"} <= set(d)
    assert d["span_loss_db"] == pytest.approx(link_truth(span, "FP1-F1", None), abs=0.03)
    assert d["span_loss_a_db"] == pytest.approx(link_truth(span, "FP1-F1", True), abs=0.03)
    assert d["span_loss_b_db"] == pytest.approx(link_truth(span, "FP1-F1", False), abs=0.03)
    assert d["link_m"] == [pytest.approx(1000.0, abs=1.0), pytest.approx(8600.0, abs=2.0)]
    given = json.loads(subprocess.run(
        [sys.executable, "-m", "harness.cli", "analyse", "otdr", *paths, "--bidirectional",
         "--link-m", "1000,8600", "--json"], cwd=REPO, capture_output=True, text=True,
        timeout=120).stdout)
    assert given["link_m"] == [1000.0, 8600.0]
    assert given["span_loss_db"] == pytest.approx(d["span_loss_db"], abs=0.01)
    bad = subprocess.run([sys.executable, "-m", "harness.cli", "analyse", "otdr", *paths,
                          "--bidirectional", "--link-m", "8600"], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "--link-m" in bad.stderr and "Traceback" not in bad.stderr


def test_an_apc_connector_seen_as_a_step_still_bounds_the_link():
    """An APC ODF (-63 dB) under an analysis' reflectance threshold is reported as a step: the
    link still runs from the first event after each launch cable (the near ODFs)."""
    span = load_span(SHORT_SPAN)
    a, b = (analyse(*t) for t in traces(span))
    cord = launch_cord_m(span)
    for e in a.events + b.events:  # as an analysis with a -60 dB reflectance threshold reports it
        if e.reflectance_db is not None and e.reflectance_db < -60:
            e.type, e.reflectance_db = "non-reflective", None
    joined = merge(a, b, span.length_km * 1000.0 + 2 * cord)
    assert joined.link.first_m == pytest.approx(cord, abs=1.0)
    assert joined.link.last_m == pytest.approx(cord + span.length_km * 1000.0, abs=2.0)
    assert joined.end_to_end_loss_db == pytest.approx(link_truth(span, "FP1-F1", None), abs=0.02)
