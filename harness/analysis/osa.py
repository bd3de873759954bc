"""OSA analysis: DWDM channels on the ITU-T G.694.1 grid and their OSNR (IEC 61280-2-9).

Channel power is integrated over the channel's bandwidth; the noise under the channel is
interpolated from the floor measured halfway to each neighbour and referred to 0.1 nm;
OSNR = 10·log10(P_signal / P_noise(0.1 nm)). Where the floor between channels is not
reached (the trace there is still rising into a neighbour), OSNR is not reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

C_M_PER_S = 299_792_458.0
GRID_ANCHOR_THZ = 193.1


@dataclass
class Channel:
    """One channel: grid frequency (THz), centre (nm), offset from grid (GHz), power (dBm),
    OSNR (dB in 0.1 nm) or None with a note saying why."""

    grid_thz: float
    center_nm: float
    offset_ghz: float
    power_dbm: float
    osnr_db: float | None
    osnr_note: str = ""


def find_channels(wavelength_nm: np.ndarray, power_dbm: np.ndarray, *, rbw_nm: float,
                  spacing_ghz: float = 100.0, threshold_db: float = 10.0,
                  bandwidth_ghz: float | None = None) -> list[Channel]:
    """Channels present on a fixed grid of ``spacing_ghz``: every grid slot whose peak rises
    ``threshold_db`` above the lowest floor of the trace."""
    wl = np.asarray(wavelength_nm, dtype=np.float64)
    p = np.asarray(power_dbm, dtype=np.float64)
    f = C_M_PER_S / wl / 1000.0  # THz
    step_nm = float(np.median(np.diff(wl)))
    floor = float(np.percentile(p, 5))
    band = (bandwidth_ghz or 0.5 * spacing_ghz) / 1000.0
    n_lo = math.ceil((f.min() - GRID_ANCHOR_THZ) / (spacing_ghz / 1000.0))
    n_hi = math.floor((f.max() - GRID_ANCHOR_THZ) / (spacing_ghz / 1000.0))
    lin = 10.0 ** (p / 10.0)
    channels = []
    for n in range(n_lo, n_hi + 1):
        fc = GRID_ANCHOR_THZ + n * spacing_ghz / 1000.0
        inside = np.abs(f - fc) <= band / 2
        if inside.sum() < 3 or p[inside].max() < floor + threshold_db:
            continue
        weights = lin[inside]
        centre_thz = float(np.sum(f[inside] * weights) / np.sum(weights))
        total_mw = float(np.sum(weights)) * step_nm / rbw_nm
        noise_rbw, note = _noise_at(f, lin, fc, spacing_ghz / 1000.0)
        if noise_rbw is None:
            osnr = None
            power = 10 * math.log10(total_mw)
        else:
            band_nm = float(np.sum(inside)) * step_nm
            signal = total_mw - noise_rbw * band_nm / rbw_nm
            power = 10 * math.log10(max(signal, 1e-30))
            noise_01 = noise_rbw * 0.1 / rbw_nm
            osnr = 10 * math.log10(signal / noise_01) if signal > 0 else None
            if osnr is None:
                note = "signal not above the noise floor"
        channels.append(Channel(fc, C_M_PER_S / centre_thz / 1000.0,
                                (centre_thz - fc) * 1000.0, power, osnr, note))
    return channels


def _noise_at(f: np.ndarray, lin: np.ndarray, fc: float, spacing_thz: float):
    """Noise in the RBW (mW) at ``fc``, interpolated from the floor halfway to each neighbour."""
    levels = []
    for side in (-1, 1):
        mid = fc + side * spacing_thz / 2
        near = np.abs(f - mid) <= spacing_thz * 0.05
        if near.sum() < 3:
            continue
        level = float(np.median(lin[near]))
        # the floor is reached only if the trace is flat there (no neighbour's slope)
        towards = np.abs(f - (mid - side * spacing_thz * 0.1)) <= spacing_thz * 0.02
        if towards.sum() and float(np.median(lin[towards])) > 2.0 * level:
            return None, "floor between channels not reached (channels too dense for the interpolation method)"
        levels.append(level)
    if not levels:
        return None, "no floor measurable beside the channel"
    return float(np.mean(levels)), ""
