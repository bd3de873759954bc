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
END_SEARCH_BLOCKS = 8
"""The drop into the noise is looked for this many noise blocks past the last backscatter
(room for a receive cable shorter than a block and a receiver's recovery tail)."""
FLOOR_TOL_DB = 0.002
"""Samples this close to the trace's lowest level sit on the receiver's floor."""
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


CLIPPED_TOL_DB = 0.002
"""Samples this close to the trace's maximum count as at it (the formats' quantum is 0.001 dB)."""


def saturated(y: np.ndarray, k: int, p: int) -> bool:
    """A spike clipped at the top of the receiver's scale: within three pulse lengths of ``k``,
    more than one and a half pulse lengths of samples at the trace's maximum. An overloaded
    receiver holds its full-scale code after the pulse has passed (the Noyes OFL280 file's end:
    48 samples, 3.2 pulse lengths, all one code). A flat top alone is no evidence: an
    unclipped reflection of a rectangular pulse is flat for up to one pulse length, and on a
    0.001 dB grid (SR-4731, the MT9083's trace block) many of its samples share the top code."""
    seg = y[k:k + 3 * p + 8]
    top = float(np.max(y))
    return bool(len(seg) and np.sum(seg >= top - CLIPPED_TOL_DB) >= max(3.0, 1.5 * p))


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


def floor_blocks(c: Ctx) -> np.ndarray:
    """Per noise block: whether it touches the receiver's floor (samples at the trace's lowest
    level, where real instruments clip the noise): no backscatter there, however flat."""
    nz, y = c.noise, c.y
    nb = len(nz.centres)
    used = min(nb * nz.block, len(y))
    low = y[:used] <= float(y.min()) + FLOOR_TOL_DB
    if used < nb * nz.block:
        low = np.concatenate([low, np.ones(nb * nz.block - used, dtype=bool)])
    return low.reshape(nb, nz.block).mean(axis=1) > 0.01


def reach_and_end(c: Ctx, start: int) -> tuple[int, int, tuple[int, float] | None]:
    """(reach, last index usable for fits, (end index, end spike height dB) or None)."""
    nz, n = c.noise, len(c.y)
    first = np.arange(len(nz.centres)) * nz.block
    tol = 4 * nz.slope_se + 0.5 * abs(c.slope0) + 0.05e-3 * c.dz_m  # within 0.05 dB/km + 50 %
    fibre = ((nz.sigma <= REACH_NOISE_DB) & (np.abs(nz.slope - c.slope0) <= tol)
             & (first + nz.block > start) & ~floor_blocks(c))
    idx = np.nonzero(fibre)[0]
    if not len(idx):
        return start, start, None
    last = int(idx[-1])
    edge = n if last == len(first) - 1 else int(first[last] + nz.block)
    run = last  # the first block of the backscatter-like run that ends at ``last``
    while run > 0 and fibre[run - 1]:
        run -= 1
    end = _find_end(c, start, edge, max(start, int(first[run])))
    if end is not None:
        return end[0], end[0], end
    reach = min(_crossing(c, max(start, int(first[last])), REACH_NOISE_DB), n - 1)
    fit_stop = min(_crossing(c, reach, 2 * REACH_NOISE_DB) + 1, n)
    return max(reach, start), max(fit_stop, start), None


def _find_end(c: Ctx, start: int, edge: int, run_lo: int) -> tuple[int, float] | None:
    """The fibre's end after the last backscatter-like block (ending at ``edge``), if it has
    one: the first drop of ``END_STEP_DB`` below the backscatter line that stays down (no
    backscatter after it; a receiver's recovery tail is no backscatter), placed where the
    trace last left the backscatter line before that drop: a reflection's leading edge (an
    end with a spike of ``END_SPIKE_DB`` or more) or the start of the drop. (index,
    reflection height dB or 0).

    The backscatter line is fitted on the run of backscatter-like blocks only (from
    ``run_lo``): when a receive cable is shorter than the fit window, the window would reach
    back over the far connector and take its spike for the line. Then the line is fitted on
    the receive cable's first samples and the drop searched after them."""
    n, p, q = len(c.y), c.p, max(2, c.p // 8)
    s0 = max(start + c.wmin, edge - c.noise.block)
    lo = max(start, s0 - c.w, run_lo)
    if s0 - lo < max(c.wmin, 16) and run_lo > start:
        s0 = min(lo + max(c.wmin, 16, p), edge - 1)
    if s0 - lo < 3 or s0 >= n - q - 1:
        return None
    cnt, mx, my, cxx, cxy = c.fits.moments(lo, s0)
    slope = cxy / cxx
    line = lambda x: my + slope * (x - mx)  # noqa: E731
    j = np.arange(s0, min(n - q, edge + END_SEARCH_BLOCKS * c.noise.block + 2 * p))
    dev = c.fits.mean(j, j + q) - line(j + (q - 1) / 2.0)
    stay = max(c.wmin, 16, p)
    below = np.concatenate([[0], np.cumsum(dev <= -c.eof_db)])
    hi = np.minimum(np.arange(len(j)) + stay, len(j))
    down = (below[hi] - below[:len(j)]) >= 0.8 * (hi - np.arange(len(j)))
    drops = np.nonzero(down & (dev <= -c.eof_db))[0]
    if not len(drops):
        return None
    hd = int(drops[0])
    # where the trace last followed the backscatter: a line through the w samples before each
    # point, at the fibre's slope, predicts it within the noise
    w = max(c.w, 2 * p, 64)
    d = np.arange(max(lo + 3, int(j[0]) - p), int(j[hd]))
    if not len(d):
        return None
    nd, mxd, myd, cxd, cyd = c.fits.moments(np.maximum(d - w, lo), d)
    local = c.fits.mean(d, d + q) - (myd + c.slope0 * (d + (q - 1) / 2.0 - mxd))
    sig = c.noise.mean_sd(np.minimum(d, edge), 1)  # the fibre's noise, not the tail's
    tol = np.maximum(6.0 * sig * math.sqrt(min(c.noise.inflation, q) / q), 0.2)
    with np.errstate(invalid="ignore", divide="ignore"):  # and the fibre's slope (no tail)
        sloped = np.abs(cyd / cxd - c.slope0) <= 4.0 * sig * np.sqrt(c.noise.inflation / cxd) + 0.5 * abs(c.slope0)
    local = np.where(sloped, local, np.inf)
    run = max(2 * q, p // 2, 3)  # a run of them, not a crossing on the way down
    # at the backscatter's level (not a receiver's tail below it, not a saturated top above)
    near = np.abs(c.fits.mean(d, d + q) - line(d + (q - 1) / 2.0)) < 2.0 * c.eof_db / 3.0
    cs = np.concatenate([[0], np.cumsum((np.abs(local) <= tol) & near)])
    ok = np.nonzero(cs[run:] - cs[:-run] == run)[0] + run - 1 if len(d) > run else np.array([], int)
    at = int(ok[-1]) if len(ok) else 0
    dep = int(d[at]) + 1
    line = lambda x: myd[at] + c.slope0 * (x - mxd[at])  # noqa: E731  (the line it left)
    k = np.arange(max(lo, dep - 2 * q), int(j[hd]) + 1)
    dk = c.y[k] - line(k)
    run = running_mean(dk, q)
    top = int(np.argmax(run))
    height = float(run[top])
    if height >= END_SPIKE_DB:  # a reflective end: from its leading edge
        level = max(height / 50.0, 4.0 * float(c.noise.mean_sd(min(dep, edge), 1)))
        quiet = np.nonzero(dk[: top + 1] < level)[0]  # the last sample on the line before it
        return (int(k[quiet[-1]]) if len(quiet) else int(k[top])), height
    k = np.arange(max(lo, dep - 2 * q), min(int(j[hd]) + p + 2 * q, n))
    f = 10.0 ** (np.clip(c.y[k] - line(k), -60, 0) / 5.0)
    ramp = (f > 0.2) & (f < 0.9)  # the pulse's power falls linearly over one pulse length
    return (int(round(np.median(k[ramp] - p * (1.0 - f[ramp]) + 1))) if ramp.any() else dep), 0.0
