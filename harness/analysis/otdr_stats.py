"""OTDR event statistics over one trace (indices are samples, levels dB in 5·log10 units,
P the pulse length in samples, W the fit window).

At a candidate index i inside a segment [a, b) (bounded by known events):
- step: least-squares lines on [max(a, i−W), i) and [i+P, min(b, i+P+W)) sharing one slope
  (with a weak prior on the fibre's attenuation, so short windows next to other events still
  work), evaluated at i, and its variance from the local noise (:mod:`otdr_noise`);
- spike: the highest level over [i, i+P) above the higher of the two lines at i (so neither
  a loss nor a gain looks like a reflection), against the noise of a short mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from harness.analysis.lsa import WindowFits
from harness.analysis.otdr_noise import NoiseProfile

T_DETECT = 5.0
"""Detection level: an event's step (or spike) must be this many standard deviations."""
SPIKE_MIN_DB = 0.01
"""Least height (dB) of a reflection's spike."""
REFLECTANCE_MIN_DB = -75.0
"""Least reflectance reported as a reflective event (dB)."""
DB = 5.0 / math.log(10.0)


@dataclass
class Ctx:
    """One trace being analysed: levels, prefix sums, noise, pulse P, windows, priors."""

    y: np.ndarray
    fits: WindowFits
    noise: NoiseProfile
    p: int
    w: int
    wmin: int
    slope0: float  # dB/sample, the fibre's attenuation (negative: level falls)
    lam_k: float  # 1 / σ_slope² of the prior on the slope, (dB/sample)⁻²
    threshold_db: float
    bs_db: float  # backscatter coefficient at 1 ns (dB)
    pulse_ns: float
    dz_m: float  # sample spacing (m)
    cache: dict = field(default_factory=dict)
    eof_db: float = 3.0  # a drop this large into the noise is the fibre's end (dB)
    refl_min_db: float = -75.0  # reflections below this reflectance are reported as steps (dB)


@dataclass
class Found:
    """An event in samples: start k, extent (samples after k unfit for lines), type, loss (dB),
    loss variance (dB²), spike height (dB), position standard deviation (samples)."""

    k: int
    ext: int
    reflective: bool
    loss: float
    var: float
    height: float
    pos_sd: float
    kr: int = -1  # where the fitted (straight) ramp starts, for the joint ramp model

    @property
    def t(self) -> float:
        return abs(self.loss) / math.sqrt(self.var) if self.var > 0 else math.inf


def reflectance_db(height_db: float, bs_db: float, pulse_ns: float) -> float:
    """Reflectance (dB) of a spike ``height_db`` (5·log10 units) above the backscatter."""
    return bs_db + 10.0 * math.log10(max(10.0 ** (height_db / 5.0) - 1.0, 1e-30) * pulse_ns)


def stats(c: Ctx, a: int, b: int, i: np.ndarray, ext: int | None = None, w: int | None = None,
          coarse: bool = False):
    """(step, variance, spike height, t_step, t_spike) at candidate indices ``i`` in [a, b),
    fit windows of ``w`` samples (default the trace's) each side. The spike height is taken
    above the higher of the two lines at i, so neither a loss nor a gain looks like one."""
    p = c.p
    e = p if ext is None else ext
    w = w or c.w
    left = (np.maximum(a, i - w), i)
    right = (i + e, np.minimum(b, i + e + w))
    sl = c.noise.eff_window(*left)
    sr = c.noise.eff_window(*right)
    lam = 0.5 * (sl**2 + sr**2) * c.lam_k
    step, var, slope = c.fits.step(left, right, i, c.slope0, lam, sl, sr)
    _, mxl, myl, _, _ = c.fits.moments(*left)
    level = myl + slope * (i - mxl) + np.maximum(-step, 0.0)
    excess = spike_peak(c, i, coarse) - level
    q = max(1, p // 4)
    sd = c.noise.mean_sd(i + p / 2.0, q)
    var_sp = sd**2 + var / 2.0
    bias = sd * math.sqrt(2.0 * math.log(max(p / q, 1.0)))  # the highest of P/Q noisy means
    with np.errstate(invalid="ignore", divide="ignore"):
        t_step = np.where(np.abs(step) >= c.threshold_db, np.abs(step) / np.sqrt(var), 0.0)
        t_spike = np.where(excess >= SPIKE_MIN_DB, (excess - bias) / np.sqrt(var_sp), 0.0)
    return step, var, excess, np.nan_to_num(t_step), np.nan_to_num(t_spike)


def measure(c: Ctx, a: int, b: int, k: int, ext: int) -> tuple[float, float]:
    """Loss (dB, positive = loss) at ``k`` from the lines either side, and its variance."""
    step, var, _, _, _ = stats(c, a, b, np.array([k]), ext)
    return float(step[0]), float(var[0])


def spike_peak(c: Ctx, i: np.ndarray, coarse: bool = False) -> np.ndarray:
    """For each candidate ``i`` (sorted): the highest level over [i, i+P), smoothed over Q =
    P/4 samples, less the fibre's slope from i (so it compares with a line's level at i).
    The Q-sample means are taken every Q/8 samples (they change little in between);
    ``coarse``: from a table of block maxima made once per trace (the window may reach up to
    P/8 samples further either side), for scans of a whole segment."""
    p, q, n = c.p, max(1, c.p // 4), len(c.y)
    span = max(p - q + 1, 1)
    if coarse:
        sb, top = _peak_table(c, span)
        return top[np.clip(i // sb, 0, len(top) - 1)] + c.slope0 * i
    g = max(1, q // 8)
    lo, hi = int(i[0]), min(int(i[-1]) + p, n)
    j = np.arange(lo, max(hi - q + 1, lo + 1), g)
    sy = c.fits._sy
    dv = (sy[np.minimum(j + q, n)] - sy[j]) / q - c.slope0 * (j - lo + (q - 1) / 2.0) + c.fits.ref
    wg = max(1, -(-span // g))
    top = sliding_max(np.pad(dv, (0, wg), constant_values=-np.inf), wg)
    return top[np.minimum((i - lo + g - 1) // g, len(top) - 1)] + c.slope0 * (i - lo)


def _peak_table(c: Ctx, span: int) -> tuple[int, np.ndarray]:
    """(block size, maxima of the smoothed, slope-removed trace over each block's window).
    The Q-sample means are taken every Q/8 samples: they change little in between."""
    if "peaks" not in c.cache:
        q, n = max(1, c.p // 4), len(c.y)
        g = max(1, q // 8)
        sb = g * max(1, (c.p // 8) // g)
        j = np.arange(0, n - q + 1, g)
        sy = c.fits._sy
        dv = (sy[j + q] - sy[j]) / q + c.fits.ref - c.slope0 * (j + (q - 1) / 2.0)
        per = sb // g
        nb = -(-len(dv) // per)
        bmax = np.pad(dv, (0, nb * per - len(dv)), constant_values=-np.inf).reshape(nb, per).max(axis=1)
        width = -(-span // sb) + 1
        padded = np.pad(bmax, (0, width), constant_values=-np.inf)
        c.cache["peaks"] = sb, np.lib.stride_tricks.sliding_window_view(padded, width).max(axis=1)
    return c.cache["peaks"]


def running_mean(x: np.ndarray, q: int) -> np.ndarray:
    """Mean of ``q`` samples centred on each sample (fewer at the ends), in O(len(x))."""
    if q <= 1:
        return x.astype(np.float64)
    cs = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(len(x))
    lo, hi = np.maximum(i - q // 2, 0), np.minimum(i - q // 2 + q, len(x))
    return (cs[hi] - cs[lo]) / (hi - lo)


def sliding_max(x: np.ndarray, w: int) -> np.ndarray:
    """``max(x[j:j+w])`` for every j with a full window, in O(len(x)) (van Herk / Gil-Werman:
    running maxima forwards and backwards within blocks of ``w``)."""
    n = len(x)
    if w <= 1 or n < w:
        return x.copy() if w <= 1 else np.array([x.max()])
    nb = -(-n // w)
    blocks = np.pad(x, (0, nb * w - n), constant_values=-np.inf).reshape(nb, w)
    ahead = np.maximum.accumulate(blocks, axis=1).ravel()
    behind = np.maximum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    j = np.arange(n - w + 1)
    return np.maximum(behind[j], ahead[j + w - 1])
