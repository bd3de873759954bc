"""Locating, classifying and measuring one OTDR event (indices are samples, levels dB,
P the pulse length in samples).

- Position of a non-reflective event: least-squares fit of a line plus the pulse's ramp (the
  pulse turns a step into a ramp one pulse long), with neighbouring ramps held in the model;
  two ramps closer than the fit windows are fitted jointly. The straight ramp lags a real
  step's start (the pulse's weakest light leaves first, the display is logarithmic): the lag
  is taken off. Long pulses are fitted on block means first, then sample by sample.
- A reflective event: where its spike leaves the backscatter line, its height → reflectance,
  its extent (until the trace follows the backscatter line again: receiver tails included).
- Loss: the step between the lines either side (:func:`otdr_stats.stats`), clipped at the
  neighbours; an event is kept if it passes the detection level and the loss threshold.
"""

from __future__ import annotations

import math

import numpy as np

from harness.analysis.lsa import ramp_gains, ramp_scan
from harness.analysis.otdr_stats import (DB, REFLECTANCE_MIN_DB, SPIKE_MIN_DB, T_DETECT, Ctx,
                                         Found, measure, reflectance_db, running_mean)

RAMP_SAMPLES = 32
"""Samples per pulse length the ramp fits work on (longer pulses: block means first)."""


def ramp_lag(slope: float, p: int, loss_db: float) -> int:
    """Samples by which a straight ramp fitted to a step of ``loss_db`` lags the step, when the
    backscatter falls by ``slope`` dB per sample: the pulse's newest (weakest) light leaves
    first and the display is logarithmic, so the level falls slowly at first and fast at the
    end of the transition."""
    if p < 2 or not math.isfinite(loss_db) or abs(loss_db) < 1e-6:
        return 0
    rho = 10.0 ** (min(slope, 0.0) / 5.0)
    m = np.linspace(1, p, min(p, 256))  # the sum over the ramp's samples, from 256 of them
    frac = m / p if rho >= 1.0 else (rho ** (p - m) - rho**p) / (1.0 - rho**p)
    drop = -DB * np.log1p(-frac * (1.0 - 10.0 ** (-loss_db / 5.0)))
    return int(round(float(np.mean(m / p - drop / loss_db)) * p))


def spike(c: Ctx, a: int, b: int, k1: int, step_db: float = 0.0) -> tuple[int, float, bool]:
    """A spike near ``k1`` in [a, b): (where it leaves the backscatter line before it, its
    height above that line dB, whether it is one). The line: the fibre's slope through the
    mean level before. The start is the last sample less than a fiftieth of its height above the
    line (or within the noise); it is a spike when it rises within two pulse lengths,
    significantly and by a tenth of the step at least, half of it within half a pulse length
    of its start (a sharp leading edge), and the trace falls back by half its height afterwards
    (a gain stays up)."""
    p, q = c.p, max(1, c.p // 8)
    hi = k1 - p if k1 - p - a >= c.wmin else max(a + 3, k1 - max(1, p // 4))
    # the line: the fibre's slope through the mean of the pulse length just before (short, so
    # neither a slope a little off the fibre's nor an event further back tilts it)
    n, mx, my, _, _ = c.fits.moments(max(a, hi - max(c.wmin, min(c.w, p))), hi)
    j = np.arange(max(hi, a), min(k1 + max(3 * p, c.w) + q, b, len(c.y)))
    if len(j) < 3 or not n >= 3:
        return k1, 0.0, False
    dev = c.y[j] - (my + c.slope0 * (j - mx))
    near = int(np.searchsorted(j, k1 + 2 * p + q))
    run = running_mean(dev[:max(near, 3)], q)
    top = int(np.argmax(run))
    height = float(run[top])
    sd = float(c.noise.mean_sd(k1, q))
    level = max(height / 50.0, 4.0 * float(c.noise.mean_sd(k1, 1)), SPIKE_MIN_DB)
    # the event starts at the last sample still on the backscatter line before the spike
    # (the pulse's leading edge reaches the reflection between it and the next sample)
    quiet = np.nonzero(dev[: top + 1] < level)[0]
    s0 = int(quiet[-1]) if len(quiet) else top
    start = int(j[s0])
    # a reflection's leading edge is sharp (the pulse's front): half its height within half a
    # pulse length; a line drifting off a curved trace (a ramp, a receiver's bandwidth) is not
    r = max(2, p // 2)
    rise = float(np.max(dev[s0:s0 + r + q + 1])) - float(np.mean(dev[max(0, s0 - q):s0 + 1]))
    after = float(np.median(dev[-max(p, 3):]))
    bias = sd * math.sqrt(2.0 * math.log(max(len(run) / q, 1.0)))  # the highest of many means
    real = (height - bias >= T_DETECT * sd and height >= max(SPIKE_MIN_DB, 0.1 * abs(step_db))
            and height - after >= height / 2 and rise >= height / 2
            and reflectance_db(height, c.bs_db, c.pulse_ns) >= REFLECTANCE_MIN_DB)
    return start, height, real


def settle(c: Ctx, k: int, m0: int, b: int, tol_db: float = 0.01) -> int:
    """Samples after ``k`` until the trace follows the backscatter line that comes after it
    (the fibre's slope through the next pulse length's mean, within the noise or ``tol_db``),
    at least ``m0``; at most up to ``b``."""
    q = max(2, c.p // 4)
    m = m0
    while True:
        s0 = k + m
        if s0 + c.wmin > b:
            return max(m0, min(m, b - k))
        n, mx, my, _, _ = c.fits.moments(s0, min(b, s0 + max(c.wmin, c.p, 2 * q, 16)))
        line = lambda x: my + c.slope0 * (x - mx)  # noqa: E731
        tol = max(4.0 * float(c.noise.mean_sd(s0, q)) / c.noise.scale, tol_db)
        if abs(float(c.fits.mean(s0, s0 + q)) - line(s0 + (q - 1) / 2.0)) <= tol:
            break
        m = int(m * 1.5) + 1
    j = np.arange(k + m0, k + m + 1)
    dev = np.abs(c.fits.mean(j, j + q) - line(j + (q - 1) / 2.0))
    bad = np.nonzero(dev > tol)[0]
    return int(j[bad[-1]] + 1 - k) if len(bad) else m0


def ramps(c: Ctx, a: int, b: int, k1: int, around: int, fixed=(), pair: bool = False):
    """Ramps near ``k1`` within [a, b), by least squares over [k1 − around − P, k1 + around +
    2P) with the ramps at ``fixed`` held in the model: [(start, loss dB, length), ...] sorted.
    With ``pair``, a second ramp is added when it is significant (two events closer than the
    fit windows but with a line between them), the two then located jointly. Long pulses are
    fitted on block means (``RAMP_SAMPLES`` per pulse), then sample by sample nearby."""
    p = c.p
    lo_k, hi_k = max(a + 3, k1 - around), min(b - p - 3, k1 + around)
    if hi_k < lo_k:
        return []
    da, db = max(a, lo_k - p), min(b, hi_k + 2 * p)
    d = max(1, p // RAMP_SAMPLES)
    nd = (db - da) // d
    yd = c.y[da:da + nd * d].reshape(nd, d).mean(axis=1)
    pd = max(p // d, 2)
    ksd = np.arange(-(-(lo_k - da) // d), min((hi_k - da) // d, nd - pd - 1) + 1)
    if not len(ksd):
        return []
    coarse = _ramps_fit(c, yd, pd, ksd, [(f - da) / d for f in fixed], pair, k1, d)
    out = []
    for n, (kd, _) in enumerate(coarse):
        k0 = da + kd * d
        if d == 1:
            out.append((k0, coarse[n][1]))
            continue
        others = list(fixed) + [da + x * d for m, (x, _) in enumerate(coarse) if m != n]
        lo, hi = max(a + 3, k0 - 2 * d), min(b - p - 3, k0 + 2 * d)
        wa, wb = max(a, lo - p // 2), min(b, hi + p + p // 2)
        if hi < lo:
            continue
        others = [f for f in others if wa - p < f < wb]
        if others:
            gain, loss = ramp_gains(c.y[wa:wb], p, np.arange(lo, hi + 1) - wa, [f - wa for f in others])
        else:
            gain, loss = ramp_scan(c.fits, wa, wb, np.arange(lo, hi + 1), p)
        i = int(np.argmax(np.nan_to_num(gain, nan=-np.inf)))
        out.append((lo + i, coarse[n][1]))  # the loss from the wider window: less biased
    return sorted((k, loss, p) for k, loss in out)


def _ramps_fit(c: Ctx, y: np.ndarray, p: int, ks: np.ndarray, fixed: list, pair: bool, k1: int,
               d: int) -> list[tuple[int, float]]:
    """The best ramp (or pair of ramps) in ``y`` (pulse ``p`` samples, block means of ``d``)."""

    def best(others: list):
        gain, loss = ramp_gains(y, p, ks, fixed + others)
        if not np.isfinite(gain).any():
            return None
        i = int(np.nanargmax(gain))
        return int(ks[i]), float(loss[i]), float(gain[i])

    one = best([])
    if one is None:
        return []
    if pair:
        a_fit, two = one, None
        for _ in range(6):  # coordinate descent: each ramp given the other, until they settle
            two = best([a_fit[0]])
            again = best([two[0]]) if two is not None else None
            if again is None:
                two = None
                break
            moved = abs(again[0] - a_fit[0])
            a_fit = again
            if moved <= 1:
                break
        sd2 = float(c.noise.eff(k1)) ** 2 / d  # block means are d times less noisy
        if (two is not None and abs(two[0] - a_fit[0]) * d >= c.p + max(3, c.wmin // 2)
                and two[2] >= T_DETECT**2 * sd2
                and abs(two[1]) >= max(c.threshold_db, 0.1 * abs(a_fit[1]))):
            return sorted([(a_fit[0], a_fit[1]), (two[0], two[1])])
    return [(one[0], one[1])]


def locate(c: Ctx, a: int, b: int, k1: int, around: int, fixed=(), pair: bool = False) -> list[Found]:
    """Locate (within ``around`` samples of ``k1``), classify and measure the event(s) in
    [a, b); see :func:`ramps` for ``fixed`` and ``pair``."""
    located = ramps(c, a, b, k1, around, fixed, pair)
    out = []
    for n, (kr, ramp_loss, length) in enumerate(located):
        lo = a if n == 0 else located[n - 1][0] + located[n - 1][2]
        hi = b if n + 1 == len(located) else located[n + 1][0]
        ev = classify(c, lo, hi, kr, ramp_loss, length)
        if ev is not None:
            out.append(ev)
    return out


def classify(c: Ctx, a: int, b: int, kr: int, ramp_loss: float, length: int) -> Found | None:
    """The event whose fitted ramp (``length`` samples) starts at ``kr`` in [a, b): reflective
    or not, position, extent, loss and uncertainties; None if it does not pass the detection
    level."""
    p = c.p
    k = min(max(kr - ramp_lag(c.slope0, length, ramp_loss), a + 3), b - 4)
    edge, height, reflective = spike(c, a, b, k, ramp_loss)
    if reflective:
        k = edge
    else:
        height = 0.0
    if not a + 3 <= k < b - 3:
        return None
    ext = settle(c, k, p, b) if reflective else length
    loss, var = measure(c, a, b, k, ext)
    if not math.isfinite(loss):
        return None
    sd = float(c.noise.eff(k))
    if reflective:
        pos_sd = max(0.5, sd / max(height, 1e-9))
    else:
        # a ramp's start from its two corners, with the lines' levels also fitted: √3 times
        # the bare σ·√P/L (calibrated on simulated traces, see tests/harness/analysis)
        pos_sd = max(0.5, math.sqrt(3.0 * p) * sd / max(abs(loss), 1e-9))
    found = Found(k, ext, reflective, loss, var, height, pos_sd, kr)
    if not reflective and (abs(loss) < c.threshold_db or found.t < T_DETECT
                           or not ramp_loss * loss > 0.25 * loss * loss):
        return None  # too small, or the step is not a ramp here (another event's shadow)
    return found


def reflection(c: Ctx, a: int, b: int, i: int) -> Found | None:
    """The reflective event whose spike lies within a pulse length after ``i`` in [a, b): one
    event however wide the spike (pulse, saturation, the receiver's recovery tail). Its start
    is where the spike leaves the backscatter line before it, its extent runs until the trace
    follows the backscatter line after it again, and its loss is the step between LSA lines
    fitted outside that dead zone on each side. None if it is no spike (a gain stays up)."""
    p, q = c.p, max(1, c.p // 4)
    lo, hi = max(a, i), min(b - 4, i + p + q)
    if hi <= lo:
        return None
    peak = lo + int(np.argmax(running_mean(c.y[lo:hi], q)))  # the spike's top, then its start
    edge, height, real = spike(c, a, b, max(a + 3, peak - q))
    if not real or not a + 3 <= edge < b - 3:
        return None
    ext = settle(c, edge, p, b)
    loss, var = measure(c, a, b, edge, ext)
    if not math.isfinite(loss):
        return None
    pos_sd = max(0.5, float(c.noise.eff(edge)) / max(height, 1e-9))
    return Found(edge, ext, True, loss, var, height, pos_sd, edge)
