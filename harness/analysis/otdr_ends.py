"""Where an OTDR trace is usable: the launch dead zone, the reach, the fibre's end, and the
noise scale measured from the trace's own steps (indices are samples, levels dB).

- Launch: from the launch spike to where the trace follows the backscatter line, at least two
  pulse lengths past the port, at most ``LAUNCH_MAX`` samples further.
- Reach: the last block that still looks like backscatter (noise <= ``REACH_NOISE_DB`` per
  sample, about the IEC 98 % level, and a slope within 50 % of the fibre's): there the fibre
  ends (a drop of ``END_STEP_DB`` into the noise, or a reflection of ``END_SPIKE_DB`` with no
  backscatter after it) or the trace fades into the noise (no end seen).
"""

from __future__ import annotations

import math

import numpy as np

from harness.analysis.otdr_locate import settle
from harness.analysis.otdr_stats import T_DETECT, Ctx, Found, running_mean, stats

REACH_NOISE_DB = 0.1
"""Per-sample noise (dB RMS) beyond which the trace is not used (about the IEC 98 % level)."""
END_STEP_DB = 3.0
"""A drop at least this large into noise, with no backscatter after it, is the fibre's end."""
END_SPIKE_DB = 1.0
"""A reflection at least this high with no backscatter after it is the fibre's end."""
LAUNCH_MAX = 64
"""Samples the launch dead zone may last beyond two pulse lengths (receiver recovery)."""


def noise_scale(c: Ctx, found: list[Found], start: int, stop: int) -> float:
    """How much larger the steps measured between the events are than their predicted σ
    (robust spread of step/σ on a grid over clean windows where noise, not the loss
    threshold, limits detection; 1 when it cannot be told)."""
    cuts = [start] + [x for f in found for x in (f.k, f.k + f.ext)] + [stop]
    z = []
    for a, b in zip(cuts[::2], cuts[1::2]):
        i = np.arange(a + c.w, b - c.p - c.w, max(c.p, c.w // 4))
        if len(i):
            step, var, *_ = stats(c, a, b, i, coarse=True)
            noisy = np.sqrt(var) * T_DETECT >= c.threshold_db
            z.append(np.abs(step[noisy]) / np.sqrt(var[noisy]))
    z = np.concatenate(z) if z else np.array([])
    z = z[np.isfinite(z)]
    return max(1.0, 1.4826 * float(np.median(z))) if len(z) >= 30 else 1.0


def saturated(y: np.ndarray, k: int, p: int) -> bool:
    """A spike clipped at the top of the receiver's scale: a flat top at the trace's maximum."""
    seg = y[k:k + 2 * p + 8]
    top = float(np.max(y))
    return bool(len(seg) and seg.max() >= top - 0.01 and np.sum(seg >= top - 0.005) >= 3)


def launch_end(c: Ctx, i0: int) -> int:
    """First sample after the launch spike where the trace follows the backscatter line: at
    least two pulse lengths past the port (an event inside the first pulse length, such as a
    beach joint close to the station, still ramps through the second), at most
    ``LAUNCH_MAX`` samples further (so an event close after the launch is searched for, not
    swallowed)."""
    n = len(c.y)
    hi = min(n, i0 + 2 * c.p + 32)
    peak = i0 + int(np.argmax(c.y[i0:hi]))
    cap = min(n - 1, i0 + 2 * c.p + LAUNCH_MAX)
    return min(peak + settle(c, peak, max(1, i0 + 2 * c.p - peak), cap), cap)


def _crossing(c: Ctx, start: int, level: float) -> int:
    """First index from ``start`` where the per-sample noise exceeds ``level`` (log-interpolated)."""
    cen, sig = c.noise.centres, c.noise.sigma
    after = np.nonzero((cen >= start) & (sig > level))[0]
    if not len(after):
        return len(c.y) - 1
    j = int(after[0])
    if j == 0 or cen[j - 1] < start:
        return int(max(start, min(cen[j], len(c.y) - 1)))
    l0, l1 = math.log(sig[j - 1]), math.log(sig[j])
    frac = (math.log(level) - l0) / (l1 - l0) if l1 > l0 else 1.0
    return int(cen[j - 1] + frac * (cen[j] - cen[j - 1]))


def reach_and_end(c: Ctx, start: int) -> tuple[int, int, tuple[int, float] | None]:
    """(reach, last index usable for fits, (end index, end spike height dB) or None)."""
    nz, n = c.noise, len(c.y)
    first = np.arange(len(nz.centres)) * nz.block
    tol = 4 * nz.slope_se + 0.5 * abs(c.slope0) + 0.05e-3 * c.dz_m  # within 0.05 dB/km + 50 %
    fibre = (nz.sigma <= REACH_NOISE_DB) & (np.abs(nz.slope - c.slope0) <= tol) & (first + nz.block > start)
    idx = np.nonzero(fibre)[0]
    if not len(idx):
        return start, start, None
    last = int(idx[-1])
    edge = n if last == len(first) - 1 else int(first[last] + nz.block)
    end = _find_end(c, start, edge)
    if end is not None:
        return end[0], end[0], end
    reach = min(_crossing(c, max(start, int(first[last])), REACH_NOISE_DB), n - 1)
    fit_stop = min(_crossing(c, reach, 2 * REACH_NOISE_DB) + 1, n)
    return max(reach, start), max(fit_stop, start), None


def _find_end(c: Ctx, start: int, edge: int) -> tuple[int, float] | None:
    """The fibre's end near ``edge`` (end of the last backscatter-like block), if it has one:
    the first departure from the backscatter line before it that drops ``END_STEP_DB`` into
    the noise or rises ``END_SPIKE_DB`` in a reflection. (index, reflection height dB or 0)."""
    n, p, q = len(c.y), c.p, max(2, c.p // 8)
    s0 = max(start + c.wmin, edge - c.noise.block)
    lo = max(start, s0 - c.w)
    if s0 - lo < 3 or s0 >= n - q:
        return None
    cnt, mx, my, cxx, cxy = c.fits.moments(lo, s0)
    slope = cxy / cxx
    line = lambda x: my + slope * (x - mx)  # noqa: E731
    j = np.arange(s0, min(edge + c.noise.block, n - q))
    dev = c.fits.mean(j, j + q) - line(j + (q - 1) / 2.0)
    tol = np.maximum(6.0 * c.noise.eff(j) / math.sqrt(q), 0.5)
    hits = np.nonzero(np.abs(dev) > tol)[0]
    h, tried = 0, 0
    while h < len(hits) and tried < 20:  # departures that are neither (noise, a splice): on
        tried += 1
        d = int(j[hits[h]])
        after = c.y[d + p + q: d + p + q + max(c.wmin, 16)]
        drop = float(np.median(after) - line(d + p + q + len(after) / 2.0)) if len(after) else 0.0
        near = dev[hits[h]: hits[h] + 2 * p + q]
        spike = float(near.max())
        if spike >= END_SPIKE_DB:  # start from the reflection, not from what led to it
            d = int(j[hits[h] + int(np.argmax(near >= spike / 2))])
            return _end_at(c, d, max(d - p - 2 * q, lo), line, spike, q)
        if drop <= -END_STEP_DB:
            return _end_at(c, d, max(d - 2 * q, lo), line, spike, q)
        h = int(np.searchsorted(hits, hits[h] + p + q))
    return None


def _end_at(c: Ctx, d: int, lo: int, line, spike: float, q: int) -> tuple[int, float]:
    """Where the end found departing at ``d`` starts: a reflection's leading edge, or the
    start of the drop (the pulse's power falls linearly over one pulse length)."""
    n, p = len(c.y), c.p
    k = np.arange(lo, min(d + p + 2 * q, n))
    dk = c.y[k] - line(k)
    if spike >= END_SPIKE_DB:
        run = running_mean(dk, q)
        top = int(np.argmax(run))
        height = float(run[top])
        level = max(height / 20.0, 4.0 * float(c.noise.eff(d)))
        quiet = np.nonzero(dk[: top + 1] < level)[0]  # where it leaves the backscatter
        return int(k[min(quiet[-1] + 1, top)]) if len(quiet) else int(k[top]), height
    f = 10.0 ** (np.clip(dk, -60, 0) / 5.0)
    ramp = (f > 0.2) & (f < 0.9)
    return (int(round(np.median(k[ramp] - p * (1.0 - f[ramp]) + 1))) if ramp.any() else d), 0.0
