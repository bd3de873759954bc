"""Reflectance at the stations (DOMAIN.md check 5): each station's ODF connector on every fibre,
seen through the launch cord with a short pulse, and the link's optical return loss from the
long-pulse trace (integrated backscatter plus every reflection)."""

from __future__ import annotations

import math

import pytest

from harness.analysis.otdr import analyse_otdr
from instruments.protocols import OtdrSettings

@pytest.fixture(scope="session")
def reflectance_settings(limits) -> OtdrSettings:
    """The short-pulse shot that resolves the station connector (limits file ``reflectance``)."""
    p = limits.parameter("reflectance")
    return OtdrSettings(wavelength_nm=float(p["wavelength_nm"]),
                        pulse_width_ns=float(p["pulse_width_ns"]), range_km=float(p["range_km"]), averaging_s=float(p["averaging_s"]),
                        resolution_m=float(p["resolution_m"]),
                        group_index=float(limits.parameter("otdr")["group_index"]))


@pytest.mark.laser
@pytest.mark.requirement("ACC-5")
def test_station_connector_reflectance(station_fibre, shoot, reflectance_settings, launch_cord_m,
                                       limits, check):
    """Station connector reflectance"""
    station, fibre = station_fibre.station, station_fibre.fibre
    check.where(station=station, fibre=fibre, wavelength_nm=reflectance_settings.wavelength_nm)
    p = limits.parameter("reflectance")
    kind = str((p.get("connector_types") or {}).get(station, p["connector_type"])).lower()
    s = reflectance_settings
    trace, _ = shoot(station, fibre, s.wavelength_nm, settings=s)
    seen = analyse_otdr(trace.distance_m, trace.level_db, pulse_width_ns=s.pulse_width_ns,
                        group_index=s.group_index, wavelength_nm=s.wavelength_nm)
    window = max(float(p["locate_m"]), seen.pulse_length_m)
    odf = [e for e in seen.events if e.reflectance_db is not None and not e.ghost
           and abs(e.distance_m - launch_cord_m) <= window]
    check.record_events(station, [e.as_dict() for e in seen.events])
    limit = f"otdr.connector_reflectance_{kind}"
    if odf:
        worst = max(odf, key=lambda e: e.reflectance_db)
        value, detail = worst.reflectance_db, (f"ODF connector at {station}, "
                                               f"{worst.distance_m:.0f} m down the launch cord")
        if worst.saturated:  # clipped (the analysis' test): the reflectance is at
            detail += "; the spike saturates the receiver (reflectance at least this)"
            value = value if value > limits[limit].high else math.nan  # least this: fail only
    else:  # no spike: the connector reflects less than the analysis can see
        value, detail = float(p["detection_floor_db"]), f"no reflection seen at the {station} ODF"
    check.measure("connector_reflectance", value, limit, detail=detail)


@pytest.mark.laser
@pytest.mark.requirement("ACC-5")
def test_optical_return_loss(station_fibre, shoot, limits, check):
    """Optical return loss"""
    station, fibre = station_fibre.station, station_fibre.fibre
    wavelength = float(limits.parameter("reflectance")["wavelength_nm"])
    check.where(station=station, fibre=fibre, wavelength_nm=wavelength)
    _, analysis = shoot(station, fibre, wavelength)
    orl = analysis.orl_db if analysis.orl_db is not None else math.nan
    check.measure("orl", orl, "otdr.orl",
                  detail=f"seen from {station}"
                  + (f": {analysis.orl_note}" if analysis.orl_note else ""))
