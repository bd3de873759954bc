"""OSA analysis: DWDM channels on the ITU-T G.694.1 grid, their power and OSNR (IEC 61280-2-9).

- Grid: fixed (f = 193.1 THz + n·spacing, e.g. 100 or 50 GHz) or flexible (nominal centre
  193.1 THz + n·6.25 GHz, slot width m·12.5 GHz). A fixed-grid channel is a grid slot whose
  peak rises ``threshold_db`` above the trace's floor; flexible-grid channels are the peaks
  of the spectrum (split at the dips between neighbours), each given the nearest 6.25 GHz
  centre and the narrowest 12.5 GHz-multiple slot holding its -3 dB width (≈ the symbol
  rate) times 1 + ``ROLLOFF``.
- Grid from the trace (:func:`detect_grid`), as an OSA's own WDM analysis finds it: the peaks
  of the spectrum, then the widest fixed grid (200, 100, 50, 25 GHz) that holds every peak
  within :data:`ON_GRID_FRACTION` of the spacing of a grid frequency and is no wider than the closest pair of
  peaks; peaks on none of them (or closer than 25 GHz) are on the flexible grid.
- Centre: the power-weighted mean frequency over the channel's band; offset from the grid.
- Power: the power in the channel's band (fixed grid: half the spacing; flexible: its slot)
  less the noise under it.
- OSNR (IEC 61280-2-9 interpolation): the noise at the channel is interpolated linearly from
  the floor measured halfway to each neighbour (at the same distance outside the band's
  outermost channels), referred to 0.1 nm: OSNR = 10·log10(P_signal / P_noise(0.1 nm)).
  Where the floor is not reached there (the trace still rises towards a channel: channels too
  dense for the method, e.g. 32 GBd on 50 GHz) the OSNR is None, with the reason.
Frequencies in THz (GHz for offsets and widths), wavelengths in nm (vacuum), powers in dBm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

C_M_PER_S = 299_792_458.0
GRID_ANCHOR_THZ = 193.1
FLEX_STEP_GHZ = 6.25
FLEX_SLOT_GHZ = 12.5
REFERENCE_BW_NM = 0.1
ROLLOFF = 0.15
"""Assumed roll-off of a flexible-grid channel's spectrum, for its slot width."""
FIXED_SPACINGS_GHZ = (200.0, 100.0, 50.0, 25.0)
"""The fixed G.694.1 grids a trace is tried on, widest first."""
ON_GRID_FRACTION = 0.1
"""A peak is on a fixed grid when within this fraction of the spacing (at most
:data:`ON_GRID_MAX_GHZ`) of a grid frequency: wider than any laser's ageing drift, narrower
than the 6.25 GHz step of the flexible grid's centres."""
ON_GRID_MAX_GHZ = 5.0


@dataclass(frozen=True)
class Grid:
    """The channel grid of a trace: ``kind`` ``"fixed"`` (``spacing_ghz`` set) or ``"flex"``
    (``spacing_ghz`` None); ``peaks`` how many channel peaks it was judged on; ``reason`` in
    words."""

    kind: str
    spacing_ghz: float | None
    peaks: int
    reason: str


def detect_grid(wavelength_nm: np.ndarray, power_dbm: np.ndarray, *,
                threshold_db: float = 10.0, fixed_only: bool = False) -> Grid:
    """The grid the channels of a spectrum sit on (see the module docstring); with
    ``fixed_only``, the widest fixed grid that fits, or ValueError when none does.
    A lone peak is judged on the 100 GHz grid first (the usual DWDM grid), then 50, 25, 200."""
    f, p = _ascending(wavelength_nm, power_dbm)
    centres = [fc for fc, _ in _peak_centres(f, p, 10.0 ** (p / 10.0),
                                             float(np.percentile(p, 5)) + threshold_db)]
    if not centres:
        return Grid("fixed", 100.0, 0, "no channel peak: the 100 GHz grid assumed")
    gaps = np.diff(centres) * 1000.0
    closest = float(gaps.min()) if len(gaps) else math.inf
    order = FIXED_SPACINGS_GHZ if len(centres) > 1 else (100.0, 50.0, 25.0, 200.0)
    for spacing in order:
        tol = min(ON_GRID_FRACTION * spacing, ON_GRID_MAX_GHZ)
        steps = (np.array(centres) - GRID_ANCHOR_THZ) * 1000.0 / spacing
        worst = float(np.max(np.abs(steps - np.round(steps)))) * spacing
        if worst <= tol and spacing <= closest + tol:
            return Grid("fixed", spacing, len(centres),
                        f"{len(centres)} peaks, every one within {worst:.1f} GHz of the "
                        f"{spacing:g} GHz grid, closest pair {closest:.1f} GHz apart"
                        if len(centres) > 1 else f"one peak, {worst:.1f} GHz from the "
                                                 f"{spacing:g} GHz grid")
    if fixed_only:
        raise ValueError(f"the {len(centres)} channel peaks are on no fixed grid "
                         f"({', '.join(f'{s:g}' for s in FIXED_SPACINGS_GHZ)} GHz)")
    return Grid("flex", None, len(centres),
                f"{len(centres)} peaks on no fixed grid (closest pair {closest:.1f} GHz "
                f"apart): the flexible grid")


def _ascending(wavelength_nm: np.ndarray, power_dbm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frequency THz ascending, power dBm) of a spectrum given against wavelength (nm)."""
    wl = np.asarray(wavelength_nm, dtype=np.float64)
    order = np.argsort(-wl)
    p = np.asarray(power_dbm, dtype=np.float64)[order]
    if len(wl) < 16 or not np.isfinite(p).all():
        raise ValueError("a spectrum needs at least 16 finite points")
    return C_M_PER_S / wl[order] / 1000.0, p


@dataclass
class Channel:
    """One channel: grid frequency (THz), centre (nm), offset from grid (GHz), power (dBm),
    OSNR (dB in 0.1 nm) or None with a note saying why; slot width (GHz) and the noise level
    under the channel (dBm in 0.1 nm) when measured."""

    grid_thz: float
    center_nm: float
    offset_ghz: float
    power_dbm: float
    osnr_db: float | None
    osnr_note: str = ""
    slot_ghz: float = math.nan
    noise_dbm_01nm: float | None = None


def find_channels(wavelength_nm: np.ndarray, power_dbm: np.ndarray, *, rbw_nm: float,
                  spacing_ghz: float = 100.0, threshold_db: float = 10.0,
                  bandwidth_ghz: float | None = None, grid: str = "fixed") -> list[Channel]:
    """The channels of a spectrum (power in dBm per ``rbw_nm``) on a fixed grid of
    ``spacing_ghz`` or, with ``grid="flex"``, on the flexible grid; see the module docstring.
    ``bandwidth_ghz``: the band a fixed-grid channel's power is integrated over (default half
    the spacing)."""
    if grid not in ("fixed", "flex"):
        raise ValueError(f"grid must be 'fixed' or 'flex', not {grid!r}")
    wl = np.asarray(wavelength_nm, dtype=np.float64)
    f, p = _ascending(wl, power_dbm)
    lin = 10.0 ** (p / 10.0)
    floor = float(np.percentile(p, 5))
    if grid == "fixed":
        bands = _fixed_bands(f, p, spacing_ghz / 1000.0, floor + threshold_db,
                             (bandwidth_ghz or 0.5 * spacing_ghz) / 1000.0)
    else:
        bands = _flex_bands(f, p, lin, floor + threshold_db, C_M_PER_S / 1550.0**2 * rbw_nm)
    step_nm = float(np.median(np.abs(np.diff(wl))))  # the OSA samples evenly in wavelength
    rbw_ghz = lambda thz: C_M_PER_S / (C_M_PER_S / thz / 1000.0) ** 2 * rbw_nm  # noqa: E731
    channels = []
    centres = [b[0] for b in bands]
    for n, (fc, lo, hi, slot) in enumerate(bands):
        if grid == "flex":  # the slot, widened by the RBW that smears the channel over it
            half = (hi - lo) / 2 + rbw_ghz(fc) / 2000.0
            gaps = [abs(fc - c) / 2 for c in centres if c != fc]
            half = min([half] + gaps)
            lo, hi = fc - half, fc + half
        inside = (f >= lo) & (f <= hi)
        if inside.sum() < 3 or lo < f[0] or hi > f[-1]:
            continue  # cut by the edge of the sweep
        w = lin[inside]
        centre = float(np.sum(f[inside] * w) / np.sum(w))
        total = float(np.sum(w)) * step_nm / rbw_nm  # mW in the band
        left = (centre + centres[n - 1]) / 2 if n > 0 else centre - (centres[1] - centre) / 2 if len(centres) > 1 else lo - (hi - lo) / 2
        right = (centre + centres[n + 1]) / 2 if n + 1 < len(centres) else centre + (centre - centres[n - 1]) / 2 if n > 0 else hi + (hi - lo) / 2
        noise, note = _noise_at(f, lin, centre, left, right)
        if noise is not None:  # the centre again: noise taken off, band centred on the channel
            band = np.abs(f - centre) <= (hi - lo) / 2
            sig = np.clip(lin[band] - noise, 0.0, None)
            if sig.sum() > 0:
                centre = float(np.sum(f[band] * sig) / np.sum(sig))
        power, osnr, noise01 = 10 * math.log10(total), None, None
        if noise is not None:
            signal = total - noise * (hi - lo) * 1000.0 / rbw_ghz(centre)
            ref = noise * REFERENCE_BW_NM / rbw_nm
            noise01 = 10 * math.log10(ref)
            if signal > 0:
                power, osnr = 10 * math.log10(signal), 10 * math.log10(signal / ref)
            else:
                note = "signal not above the noise floor"
        channels.append(Channel(fc, C_M_PER_S / centre / 1000.0, (centre - fc) * 1000.0, power,
                                osnr, note, slot, noise01))
    return sorted(channels, key=lambda c: c.grid_thz)


def flatness_db(channels: list[Channel]) -> float:
    """Peak-to-peak spread of the channel powers (dB): the gain flatness across the band."""
    powers = [c.power_dbm for c in channels]
    return max(powers) - min(powers) if powers else math.nan


def _fixed_bands(f, p, spacing_thz, level, band_thz):
    """(grid THz, band low, band high, slot GHz) of every grid slot whose peak reaches ``level``."""
    n_lo = math.ceil((f.min() - GRID_ANCHOR_THZ) / spacing_thz)
    n_hi = math.floor((f.max() - GRID_ANCHOR_THZ) / spacing_thz)
    out = []
    for n in range(n_lo, n_hi + 1):
        fc = GRID_ANCHOR_THZ + n * spacing_thz
        core = np.abs(f - fc) <= band_thz / 2
        if core.sum() >= 3 and p[core].max() >= level:
            out.append((fc, fc - band_thz / 2, fc + band_thz / 2, spacing_thz * 1000.0))
    return out


def _flex_bands(f, p, lin, level, rbw_ghz):
    """(nominal centre THz, slot low, slot high, slot GHz) of every peak reaching ``level``
    (:func:`_peak_centres`); the slot is the narrowest 12.5 GHz multiple holding the -3 dB
    width (≈ the symbol rate) × (1 + roll-off)."""
    out = []
    for fc, fwhm in _peak_centres(f, p, lin, level):
        m = max(1, math.ceil(fwhm * (1.0 + ROLLOFF) / FLEX_SLOT_GHZ - 0.05))
        n = round((fc - GRID_ANCHOR_THZ) * 1000.0 / FLEX_STEP_GHZ)
        nominal = GRID_ANCHOR_THZ + n * FLEX_STEP_GHZ / 1000.0
        half = m * FLEX_SLOT_GHZ / 2000.0
        out.append((nominal, nominal - half, nominal + half, m * FLEX_SLOT_GHZ))
    return out


def _peak_centres(f, p, lin, level) -> list[tuple[float, float]]:
    """(power-weighted centre THz, -3 dB width GHz) of every peak of the spectrum reaching
    ``level`` dBm, adjacent channels split at the lowest point between their peaks when it
    lies 3 dB or more below the lower peak."""
    above = p >= level
    edges = np.flatnonzero(np.diff(np.concatenate([[0], above.astype(np.int8), [0]])))
    smooth = np.convolve(p, np.ones(5) / 5, mode="same")
    out = []
    for a, b in zip(edges[::2], edges[1::2]):
        cuts = [a]
        peaks = _peaks(smooth[a:b], f[a:b]) + a
        for x, y in zip(peaks, peaks[1:]):
            dip = x + int(np.argmin(smooth[x:y]))
            if min(smooth[x], smooth[y]) - smooth[dip] >= 3.0:
                cuts.append(dip)
        cuts.append(b)
        for lo, hi in zip(cuts, cuts[1:]):
            seg = slice(lo, hi)
            fc = float(np.sum(f[seg] * lin[seg]) / np.sum(lin[seg]))
            top = float(p[seg].max())
            wide = f[seg][p[seg] >= top - 3.0]
            out.append((fc, (wide.max() - wide.min()) * 1000.0 if len(wide) else 0.0))
    return out


def _peaks(y: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Local maxima at least half a flex slot apart (the highest kept first)."""
    cand = np.flatnonzero((y[1:-1] >= y[:-2]) & (y[1:-1] > y[2:])) + 1
    kept: list[int] = []
    for i in cand[np.argsort(-y[cand])]:
        if all(abs(f[i] - f[j]) * 1000.0 >= FLEX_SLOT_GHZ / 2 for j in kept):
            kept.append(int(i))
    return np.array(sorted(kept), dtype=np.int64) if kept else np.array([int(np.argmax(y))])


def _noise_at(f, lin, centre, left, right):
    """Noise in the RBW (mW) at ``centre``, interpolated linearly from the floor at ``left`` and
    ``right`` (THz), or (None, reason) when the floor is not reached at either."""
    levels = []
    for x in (left, right):
        d = abs(x - centre)
        near = np.abs(f - x) <= max(d * 0.05, 1e-4)
        if near.sum() < 3:
            return None, "no floor measurable beside the channel"
        level = float(np.median(lin[near]))
        # the floor is reached only if the trace is flat there, not rising towards the channel
        inner = x + (centre - x) * 0.2
        towards = np.abs(f - inner) <= max(d * 0.02, 5e-5)
        if towards.sum() and float(np.median(lin[towards])) > 2.0 * level:
            return None, ("floor between channels not reached (channels too dense for the "
                          "interpolation method)")
        levels.append((x, level))
    (x0, n0), (x1, n1) = levels
    return n0 + (n1 - n0) * (centre - x0) / (x1 - x0), ""
