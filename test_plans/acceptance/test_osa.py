"""OSA acceptance checks on every received fibre: channel OSNR, grid offset, flatness
(DOMAIN.md check 8). Our OSNR is cross-checked channel by channel against the instrument's own
WDM analysis (stored in the run beside the sweep)."""

from __future__ import annotations

import statistics

import pytest

from harness.analysis.osa import find_channels


@pytest.fixture
def channels(received_osa, instruments, fibres, osa_settings, limits, check, traffic):
    """The channels of the spectrum received on the fibre (one sweep per fibre per run)."""
    rx = received_osa
    check.where(station=rx.station, fibre=rx.fibre)
    osa = instruments.osa(rx.station)
    osa.select_port(fibres[rx.fibre].osa_port)
    spectrum = osa.sweep(osa_settings)
    return find_channels(spectrum.wavelength_nm, spectrum.power_dbm, rbw_nm=osa_settings.rbw_nm,
                         spacing_ghz=float(limits.parameter("osa")["grid_spacing_ghz"]))


@pytest.mark.requirement("ACC-8")
def test_osnr(channels, received_osa, instruments, check):
    """Channel OSNR (0.1 nm)"""
    measured = [c for c in channels if c.osnr_db is not None]
    if not measured:
        notes = {c.osnr_note for c in channels} or {"no channel found"}
        check.measure("min_osnr", float("nan"), "osa.min_osnr", detail="; ".join(sorted(notes)))
        return
    worst = min(measured, key=lambda c: c.osnr_db)
    check.measure("min_osnr", worst.osnr_db, "osa.min_osnr",
                  detail=f"channel {worst.grid_thz:.2f} THz ({worst.center_nm:.2f} nm) at "
                         f"{received_osa.station}, {len(measured)} channels measured")
    cross_check(measured, instruments.osa(received_osa.station).wdm_table(), check)


MATCH_NM = 0.1
"""A channel of ours and one of the instrument's table are the same within this (nm)."""


def cross_check(measured: list, table: list[dict[str, float]], check) -> None:
    """Our OSNR against the instrument's WDM SNR, channel by channel.

    The instrument's SNR takes the peak level in the RBW, ours the integrated channel power, so
    they differ by an offset set by the signal bandwidth; what must agree is the shape: the
    largest departure of any channel's difference from the median difference (dB).
    """
    pairs = []
    for c in measured:
        row = min(table, key=lambda r: abs(r["center_nm"] - c.center_nm), default=None)
        if row is not None and abs(row["center_nm"] - c.center_nm) <= MATCH_NM:
            pairs.append((c, c.osnr_db - row["osnr_db"]))
    if not pairs:
        check.measure("osnr_vs_instrument", float("nan"), "osa.osnr_vs_instrument",
                      detail=f"the instrument's WDM table ({len(table)} rows) matches none of "
                             f"our {len(measured)} channels")
        return
    offset = statistics.median(d for _, d in pairs)
    worst, diff = max(pairs, key=lambda p: abs(p[1] - offset))
    check.measure("osnr_vs_instrument", abs(diff - offset), "osa.osnr_vs_instrument",
                  detail=f"channel {worst.grid_thz:.2f} THz: ours - instrument's = {diff:+.2f} dB "
                         f"against {offset:+.2f} dB over {len(pairs)} channels")


@pytest.mark.requirement("ACC-8")
def test_channel_grid(channels, check):
    """Channel offset from the ITU grid"""
    worst = max(channels, key=lambda c: abs(c.offset_ghz), default=None)
    check.measure("grid_offset", abs(worst.offset_ghz) if worst else float("nan"), "osa.grid_offset",
                  detail=f"channel {worst.grid_thz:.2f} THz" if worst else "no channel found")


@pytest.mark.requirement("ACC-8")
def test_flatness(channels, check):
    """Channel power flatness"""
    powers = [c.power_dbm for c in channels]
    value = max(powers) - min(powers) if len(powers) > 1 else float("nan")
    check.measure("flatness", value, "osa.flatness", detail=f"over {len(powers)} channels")
