"""OSA analysis against simulated spectra whose channels, powers and OSNR are known."""

import copy

import numpy as np
import pytest

from harness.analysis.osa import detect_grid, find_channels, flatness_db
from instruments.protocols import OsaSettings
from instruments.sim.osa_physics import (channel_frequencies_thz, channel_osnr_db,
                                         channel_power_dbm, osa_spectrum)
from instruments.sim.span import build_span, load_span

FIBRES = ("FP1-F1", "FP2-F2", "FP3-F1", "FP4-F2")
HALF_SAMPLE_GHZ = 0.13
"""The simulator's RBW filter (an even-length np.convolve 'same') shifts the spectrum by half a
sample (0.001 nm, about 0.13 GHz at 20001 points over 40 nm): offsets are judged with that."""


def span_with(**dwdm):
    raw = copy.deepcopy(load_span().raw)
    raw["dwdm"].update(dwdm)
    return build_span(raw)


def in_sweep(freqs_thz, settings=OsaSettings()):
    c = 299_792.458
    return freqs_thz[(freqs_thz > c / settings.stop_nm) & (freqs_thz < c / settings.start_nm)]


@pytest.mark.parametrize("osnr_db", [15.0, 20.0, 25.0, 30.0])
def test_osnr_within_0_3_db_on_the_100_ghz_grid(osnr_db):
    span = span_with(osnr_design_db=osnr_db)
    errors, power_errors = [], []
    for fibre in FIBRES:
        wl, p = osa_spectrum(span, fibre, OsaSettings())
        channels = find_channels(wl, p, rbw_nm=0.1, spacing_ghz=100.0)
        assert [c.grid_thz for c in channels] == pytest.approx(list(channel_frequencies_thz(span)))
        errors += list(np.array([c.osnr_db for c in channels]) - channel_osnr_db(span, fibre))
        power_errors += list(np.array([c.power_dbm for c in channels]) - channel_power_dbm(span, fibre))
        assert max(abs(c.offset_ghz) for c in channels) <= HALF_SAMPLE_GHZ + 0.05
    print(f"\nOSNR {osnr_db:.0f} dB: {len(errors)} channels, |error| max {np.max(np.abs(errors)):.3f} dB, "
          f"mean {np.mean(errors):+.3f} dB; power |error| max {np.max(np.abs(power_errors)):.3f} dB")
    assert np.max(np.abs(errors)) <= 0.3
    assert np.max(np.abs(power_errors)) <= 0.05


def test_an_off_grid_laser_shows_its_offset():
    span = span_with(first_thz=192.1015)  # every carrier 1.5 GHz above its grid frequency
    wl, p = osa_spectrum(span, "FP2-F1", OsaSettings())
    offsets = [c.offset_ghz for c in find_channels(wl, p, rbw_nm=0.1, spacing_ghz=100.0)]
    assert np.allclose(offsets, 1.5, atol=HALF_SAMPLE_GHZ + 0.05)


def test_gain_flatness_is_the_peak_to_peak_of_channel_powers():
    span = span_with(power_ripple_db=2.0)
    wl, p = osa_spectrum(span, "FP3-F2", OsaSettings())
    true = channel_power_dbm(span, "FP3-F2")
    assert flatness_db(find_channels(wl, p, rbw_nm=0.1)) == pytest.approx(true.max() - true.min(), abs=0.05)


def test_32_gbd_on_50_ghz_gives_no_osnr_and_says_why():
    span = span_with(spacing_ghz=50.0, channels=79)
    wl, p = osa_spectrum(span, "FP1-F1", OsaSettings())
    channels = find_channels(wl, p, rbw_nm=0.1, spacing_ghz=50.0)
    assert len(channels) == len(in_sweep(channel_frequencies_thz(span)))
    assert all(c.osnr_db is None and "not reached" in c.osnr_note for c in channels)


def test_16_gbd_on_50_ghz_reaches_the_floor():
    span = span_with(spacing_ghz=50.0, channels=79, baud_gbd=16.0)
    wl, p = osa_spectrum(span, "FP2-F1", OsaSettings())
    channels = find_channels(wl, p, rbw_nm=0.1, spacing_ghz=50.0)
    errors = np.array([c.osnr_db for c in channels]) - channel_osnr_db(span, "FP2-F1")
    assert np.max(np.abs(errors)) <= 0.3


@pytest.mark.parametrize("spacing_ghz,baud,slot", [(37.5, 32.0, 37.5), (62.5, 40.0, 50.0),
                                                   (100.0, 32.0, 37.5)])
def test_flex_grid_channels_on_6_25_ghz_centres(spacing_ghz, baud, slot):
    span = span_with(spacing_ghz=spacing_ghz, baud_gbd=baud, channels=int(3800 // spacing_ghz),
                     first_thz=191.9)
    settings = OsaSettings(points=40001, rbw_nm=0.02 if spacing_ghz < 50 else 0.1)
    wl, p = osa_spectrum(span, "FP1-F1", settings)
    channels = find_channels(wl, p, rbw_nm=settings.rbw_nm, grid="flex")
    true = np.sort(in_sweep(channel_frequencies_thz(span), settings))
    assert [c.grid_thz for c in channels] == pytest.approx(list(true), abs=1e-9)
    steps = (np.array([c.grid_thz for c in channels]) - 193.1) * 1000 / 6.25
    assert np.allclose(steps, np.round(steps))
    assert {c.slot_ghz for c in channels} == {slot}
    assert max(abs(c.offset_ghz) for c in channels) <= HALF_SAMPLE_GHZ
    measured = [c for c in channels if c.osnr_db is not None]
    if spacing_ghz >= 100:
        osnr = channel_osnr_db(span, "FP1-F1")
        first = int(np.argmin(np.abs(channel_frequencies_thz(span) - true[0])))
        errors = np.array([c.osnr_db for c in channels]) - osnr[first:first + len(channels)]
        assert np.max(np.abs(errors)) <= 0.3
    else:  # a dense flex grid: the floor is not reached between the channels
        assert not measured and all("not reached" in c.osnr_note for c in channels)


def test_a_degraded_channel_is_the_lowest_osnr():
    """The simulator raises the noise under one channel only (it peaks at the channel and falls
    to the neighbours'): the interpolation sees it in the floor halfway to the neighbours, so
    the channel shows as the worst, by less than its full penalty (noise inside a channel's
    band is what the IEC interpolation method cannot see)."""
    span = load_span(faults=[{"type": "channel", "fibre": "FP4-F2", "osnr_penalty_db": 6.0}])
    wl, p = osa_spectrum(span, "FP4-F2", OsaSettings())
    channels = find_channels(wl, p, rbw_nm=0.1)
    worst = min(channels, key=lambda c: c.osnr_db)
    true = channel_osnr_db(span, "FP4-F2")
    assert worst.grid_thz == pytest.approx(channel_frequencies_thz(span)[int(np.argmin(true))])
    assert np.median([c.osnr_db for c in channels]) - worst.osnr_db > 2.0


def test_bad_arguments_are_refused():
    wl, p = osa_spectrum(load_span(), "FP1-F1", OsaSettings())
    with pytest.raises(ValueError):
        find_channels(wl, p, rbw_nm=0.1, grid="gridless")
    with pytest.raises(ValueError):
        find_channels(wl[:8], p[:8], rbw_nm=0.1)


@pytest.mark.parametrize("dwdm,kind,spacing", [
    ({}, "fixed", 100.0),
    ({"spacing_ghz": 50.0, "channels": 64}, "fixed", 50.0),
    ({"spacing_ghz": 50.0, "channels": 79}, "fixed", 50.0),  # 32 GBd: the floor is never reached
    ({"spacing_ghz": 25.0, "channels": 150, "baud_gbd": 10.0}, "fixed", 25.0),
    ({"spacing_ghz": 200.0, "channels": 20}, "fixed", 200.0),
    ({"first_thz": 192.1015}, "fixed", 100.0),  # 1.5 GHz off grid: still the 100 GHz grid
    ({"spacing_ghz": 37.5, "baud_gbd": 32.0, "channels": 101, "first_thz": 191.9}, "flex", None),
    ({"spacing_ghz": 62.5, "baud_gbd": 40.0, "channels": 60, "first_thz": 191.9}, "flex", None),
    ({"channels": 1}, "fixed", 100.0),
])
def test_the_grid_is_found_from_the_trace(dwdm, kind, spacing):
    span = span_with(**dwdm)
    dense = dwdm.get("spacing_ghz", 100.0) < 50.0
    settings = OsaSettings(points=40001, rbw_nm=0.02) if dense else OsaSettings()
    wl, p = osa_spectrum(span, "FP1-F1", settings)
    grid = detect_grid(wl, p)
    assert (grid.kind, grid.spacing_ghz) == (kind, spacing), grid.reason
    assert grid.peaks == len(in_sweep(channel_frequencies_thz(span), settings))
    if kind == "fixed":  # and the channels on it are the span's, every one
        channels = find_channels(wl, p, rbw_nm=settings.rbw_nm, spacing_ghz=grid.spacing_ghz)
        assert len(channels) == grid.peaks


def test_a_fixed_grid_is_refused_when_the_peaks_sit_on_none():
    span = span_with(spacing_ghz=37.5, baud_gbd=32.0, channels=101, first_thz=191.9)
    wl, p = osa_spectrum(span, "FP1-F1", OsaSettings(points=40001, rbw_nm=0.02))
    with pytest.raises(ValueError, match="on no fixed grid"):
        detect_grid(wl, p, fixed_only=True)
