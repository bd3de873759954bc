"""OTDR acceptance checks: section attenuation per direction, splice loss and end-to-end loss
per fibre from the two stations' traces joined (DOMAIN.md checks 2, 3 and 4)."""

from __future__ import annotations

import pytest

from harness.analysis.bidir import merge


@pytest.mark.laser
@pytest.mark.requirement("ACC-3")
def test_section_attenuation(shot, shoot, check):
    """Section attenuation (LSA)"""
    check.where(station=shot.station, fibre=shot.fibre, wavelength_nm=shot.wavelength_nm)
    trace, analysis = shoot(shot.station, shot.fibre, shot.wavelength_nm)
    check.record_events(f"{shot.station}", [e.as_dict() for e in analysis.events])
    check.measure("attenuation", analysis.attenuation_db_per_km,
                  f"otdr.section_attenuation_{shot.wavelength_nm:.0f}nm",
                  detail=f"over 0-{analysis.reach_m / 1000:.1f} km from {shot.station}")


@pytest.fixture
def both_ends(fibre_wl, shoot, station, check):
    """The fibre's traces from both stations and their joined (bidirectional) view."""
    first, second = station.stations
    check.where(fibre=fibre_wl.fibre, wavelength_nm=fibre_wl.wavelength_nm)
    _, a = shoot(first, fibre_wl.fibre, fibre_wl.wavelength_nm)
    _, b = shoot(second, fibre_wl.fibre, fibre_wl.wavelength_nm)
    return a, b, merge(a, b, station.route_length_km * 1000.0)


@pytest.mark.laser
@pytest.mark.requirement("ACC-2")
def test_splice_loss(both_ends, station, check):
    """Splice loss, two-direction average"""
    first = station.stations[0]
    _, _, joined = both_ends
    check.record_events("bidirectional", [
        {"distance_m": e.distance_m, "loss_db": e.loss_db, "reflectance_db": None, "type": e.type}
        for e in joined.events])
    splices = [e for e in joined.events if e.type == "non-reflective"]
    worst = max(splices, key=lambda e: e.loss_db, default=None)
    value = worst.loss_db if worst else 0.0
    where = (f"at {worst.distance_m / 1000:.2f} km from {first} "
             f"({worst.directions} direction{'s' if worst.directions > 1 else ''})") if worst else ""
    check.measure("worst_splice_loss", value, "otdr.splice_loss_bidir", detail=where)


@pytest.mark.laser
@pytest.mark.requirement("ACC-4")
def test_end_to_end_loss(both_ends, fibre_wl, station, check):
    """End-to-end loss, stitched bidirectional"""
    first, second = station.stations
    a, b, joined = both_ends
    if not joined.continuous:
        detail = joined.break_description()
    elif joined.stitch_m is None:
        detail = (f"the traces do not overlap: {first} sees {a.reach_m / 1000:.1f} km, "
                  f"{second} sees {b.reach_m / 1000:.1f} km")
    else:
        detail = f"stitched at {joined.stitch_m / 1000:.1f} km"
    check.measure("end_to_end_loss", joined.end_to_end_loss_db,
                  f"otdr.end_to_end_loss_{fibre_wl.wavelength_nm:.0f}nm", detail=detail)


@pytest.mark.laser
@pytest.mark.requirement("ACC-1")
def test_events_explained_by_route_plan(both_ends, station, limits, check):
    """Events explained by the route plan"""
    a, _, joined = both_ends
    tolerance = max(float(limits.parameter("route")["event_tolerance_m"]), a.pulse_length_m)
    planned = [float(e["distance_km"]) * 1000.0 for e in station.route_events]
    unexplained = [e for e in joined.events
                   if not planned or min(abs(e.distance_m - p) for p in planned) > tolerance]
    listed = ", ".join(f"{e.loss_db:+.2f} dB at {e.distance_m / 1000:.2f} km" for e in unexplained[:4])
    check.measure("unexplained_events", len(unexplained), "otdr.unexplained_events",
                  detail=f"not in the route plan: {listed}" if unexplained else
                  f"{len(joined.events)} events, all within {tolerance:.0f} m of the plan")
