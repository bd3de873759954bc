"""OTDR acceptance checks: section attenuation per direction, splice loss and end-to-end loss
per fibre from the two stations' traces joined (DOMAIN.md checks 2, 3 and 4), and macrobends
per direction from its 1550 and 1625 nm traces (DOMAIN.md: a bend loses more at 1625 nm)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.analysis.bidir import merge
from harness.analysis.macrobend import find_bends
from harness.plugin import SESSION

BEND_WAVELENGTHS_NM = (1550.0, 1625.0)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``bend_shot``: every station x fibre whose OTDR shoots at both 1550 and 1625 nm."""
    session = metafunc.config.stash.get(SESSION, None)
    if session is None or "bend_shot" not in metafunc.fixturenames:
        return
    sf = session.station_file
    both = all(wl in [float(w) for w in sf.wavelengths_nm] for wl in BEND_WAVELENGTHS_NM)
    values = [f"{s}-{f.name}" for s in sf.stations if "otdr" in sf.instruments.get(s, {})
              for f in sf.fibres] if both else []
    if not values:
        values = [pytest.param(None, marks=pytest.mark.skip(
            reason="needs OTDR traces at 1550 and 1625 nm"), id="none")]
    metafunc.parametrize("bend_shot", values, ids=str)


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
def both_ends(fibre_wl, shoot, station, check, launch_cord_m, analyse):
    """The fibre's traces from both stations and their joined (bidirectional) view, distances
    from the first station's ODF. When each trace sees a fibre end, the link loss between the
    two ODF connectors is measured from the OTDR ports (the launch cables' backscatter before
    the near ODF, the far station's cable after the far one): ``joined.link``."""
    first, second = station.stations
    check.where(fibre=fibre_wl.fibre, wavelength_nm=fibre_wl.wavelength_nm)
    ta, a = shoot(first, fibre_wl.fibre, fibre_wl.wavelength_nm)
    tb, b = shoot(second, fibre_wl.fibre, fibre_wl.wavelength_nm)
    length = station.route_length_km * 1000.0
    joined = merge(a, b, length, link_m=(0.0, length))
    if a.end_m is not None and b.end_m is not None and launch_cord_m > 0:
        cord = launch_cord_m  # each station's launch cord is the other direction's receive cable
        port = merge(analyse(ta), analyse(tb), length + 2 * cord,
                     link_m=(cord, cord + length))
        joined.link = port.link and replace(port.link, first_m=port.link.first_m - cord,
                                            last_m=port.link.last_m - cord)
        joined.end_to_end_loss_db = joined.link.loss_db if joined.link else float("nan")
    return a, b, joined


@pytest.mark.laser
@pytest.mark.requirement("ACC-2")
def test_splice_loss(both_ends, station, limits, check):
    """Splice loss, two-direction average"""
    first = station.stations[0]
    a, _, joined = both_ends
    check.record_events("bidirectional", [
        {"distance_m": e.distance_m, "loss_db": e.loss_db, "reflectance_db": None, "type": e.type}
        for e in joined.events])
    # a ROPA in the route plan is an amplifier module, not a splice: its loss is not judged here
    tolerance = max(float(limits.parameter("route")["event_tolerance_m"]), a.pulse_length_m)
    ropas = [float(e["distance_km"]) * 1000.0 for e in station.route_events if e.get("kind") == "ropa"]
    splices = [e for e in joined.events if e.type == "non-reflective"
               and all(abs(e.distance_m - r) > tolerance for r in ropas)]
    worst = max(splices, key=lambda e: e.loss_db, default=None)
    value = worst.loss_db if worst else 0.0
    where = (f"at {worst.distance_m / 1000:.2f} km from {first} "
             f"({worst.directions} direction{'s' if worst.directions > 1 else ''})") if worst else ""
    check.measure("worst_splice_loss", value, "otdr.splice_loss_bidir", detail=where)


@pytest.mark.laser
@pytest.mark.requirement("ACC-4")
def test_end_to_end_loss(both_ends, fibre_wl, station, check):
    """End-to-end loss, bidirectional"""
    first, second = station.stations
    a, b, joined = both_ends
    limit = f"otdr.end_to_end_loss_{fibre_wl.wavelength_nm:.0f}nm"
    link = joined.link
    if link is not None:
        seen = {first: link.a_db, second: link.b_db}
        detail = (f"between the ODF connectors at {link.first_m / 1000:.3f} and "
                  f"{link.last_m / 1000:.3f} km, both included; "
                  + ", ".join(f"from {s}: " + ("not measured (no line after the far connector)"
                                               if v is None else f"{v:.3f} dB")
                              for s, v in seen.items()))
        check.measure("end_to_end_loss", link.loss_db, limit, detail=detail)
        for side, value in seen.items():
            if value is not None:
                check.measure(f"end_to_end_loss_from_{side}", value, limit,
                              detail=f"one direction, from {side}")
        if link.difference_db is not None:
            check.measure("end_to_end_direction_difference", link.difference_db,
                          "otdr.end_to_end_direction_difference", detail=detail)
        return
    if not joined.continuous:
        detail = joined.break_description()
    elif joined.stitch_m is None:
        detail = (f"the traces do not overlap: {first} sees {a.reach_m / 1000:.1f} km, "
                  f"{second} sees {b.reach_m / 1000:.1f} km")
    else:
        detail = f"stitched at {joined.stitch_m / 1000:.1f} km"
    check.measure("end_to_end_loss", joined.end_to_end_loss_db, limit, detail=detail)


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


@pytest.mark.laser
@pytest.mark.requirement("ACC-1")
def test_macrobends(bend_shot, shoot, check):
    """Macrobends (1625 nm loss above 1550 nm)"""
    station, fibre = bend_shot.split("-", 1)
    check.where(station=station, fibre=fibre)
    _, short = shoot(station, fibre, BEND_WAVELENGTHS_NM[0])
    _, long = shoot(station, fibre, BEND_WAVELENGTHS_NM[1])
    bends = find_bends(short, long)
    check.record_events("macrobends", [
        {"distance_m": b.distance_m, "loss_db": b.loss_1625_db, "reflectance_db": None,
         "type": f"bend: {b.loss_1550_db:.2f} dB at 1550 nm"} for b in bends])
    listed = "; ".join(f"at {b.distance_m / 1000:.2f} km from {station}: {b.loss_1550_db:.2f} dB "
                       f"at 1550 nm, {b.loss_1625_db:.2f} dB at 1625 nm" for b in bends[:4])
    check.measure("macrobends", len(bends), "otdr.macrobends",
                  detail=f"bend {listed}" if bends else
                  f"none within {min(short.reach_m, long.reach_m) / 1000:.1f} km of {station}")
