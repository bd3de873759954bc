"""OSA acceptance check: OSNR of every channel received on each fibre (DOMAIN.md check 8)."""

from __future__ import annotations

import pytest

from harness.analysis.osa import find_channels


@pytest.mark.requirement("ACC-8")
def test_osnr(received_osa, instruments, fibres, osa_settings, limits, check):
    """Channel OSNR (0.1 nm)"""
    rx = received_osa
    check.where(station=rx.station, fibre=rx.fibre)
    osa = instruments.osa(rx.station)
    osa.select_port(fibres[rx.fibre].osa_port)
    spectrum = osa.sweep(osa_settings)
    channels = find_channels(spectrum.wavelength_nm, spectrum.power_dbm,
                             rbw_nm=osa_settings.rbw_nm,
                             spacing_ghz=float(limits.parameter("osa")["grid_spacing_ghz"]))
    measured = [c for c in channels if c.osnr_db is not None]
    if not measured:
        notes = {c.osnr_note for c in channels} or {"no channel found"}
        check.measure("min_osnr", float("nan"), "osa.min_osnr", detail="; ".join(sorted(notes)))
        return
    worst = min(measured, key=lambda c: c.osnr_db)
    check.measure("min_osnr", worst.osnr_db, "osa.min_osnr",
                  detail=f"channel {worst.grid_thz:.2f} THz ({worst.center_nm:.2f} nm) at {rx.station}, "
                         f"{len(measured)} channels measured")
