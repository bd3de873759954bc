"""Reflections seen beyond the fibre's end, and ghosts (indices are samples, levels dB).

- Beyond the end there is no backscatter: only the receiver's recovery, its noise floor, and
  echoes. A spike there is a run of samples above the floor's own level (block medians) by
  ``AFTER_END_SIGMAS`` of its spread (block MADs), ``AFTER_END_TAIL`` times the floor's own
  99.5th percentile (clipped floors with bursts of noise) and at least ``AFTER_END_MIN_DB``.
- A ghost is light that bounced between reflectors before it came back: it shows at the
  distance a + b − c of reflectors a, b (the same one twice for an echo at twice its distance)
  and an earlier reflector c (the OTDR's own port, distance 0, for a + b). An event at such a
  distance, with no loss of its own, is a ghost: reported with ``ghost``, never a fault.
  Sources are the strongest reflections (at most ``GHOST_SOURCES``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from harness.analysis.otdr_stats import running_mean

AFTER_END_SIGMAS = 5.0
AFTER_END_MIN_DB = 3.0
AFTER_END_PERCENTILE = 99.5
AFTER_END_TAIL = 1.5
"""A spike beyond the end rises this many times above the floor's 99.5th percentile."""
GHOST_SOURCES = 8
GHOST_SOURCE_MIN_DB = -70.0
"""Reflections weaker than this (dB) make echoes too weak to show: not taken as sources."""


def spikes_after_end(y: np.ndarray, start: int, p: int) -> list[tuple[int, int, float]]:
    """Spikes in ``y[start:]`` (after the fibre's end and its recovery): [(start index, last
    index, peak level dB)], each starting at the last sample still at the floor's level."""
    n = len(y)
    block = max(4 * p, 64)
    nb = (n - start) // block
    if nb < 3:
        return []
    q = max(1, p)  # an echo lasts one pulse: the mean over a pulse brings it out of the noise
    ys = running_mean(y[start:start + nb * block], q)
    blocks = ys.reshape(nb, block)
    med = np.median(blocks, axis=1)
    mad = np.median(np.abs(blocks - med[:, None]), axis=1) * 1.4826
    spread = max(float(np.median(mad)), 0.01)
    centres = np.arange(nb) * block + (block - 1) / 2.0
    base = np.interp(np.arange(nb * block), centres, med)
    # a floor of clipped samples with bursts of noise has no MAD: its own high tail sets the bar
    tail = float(np.percentile(ys - base, AFTER_END_PERCENTILE))
    bar = max(AFTER_END_SIGMAS * spread, AFTER_END_MIN_DB, AFTER_END_TAIL * tail)
    high = ys > base + bar
    runs = np.flatnonzero(np.diff(np.concatenate([[0], high.astype(np.int8), [0]])))
    raw = y[start:start + nb * block]
    out: list[tuple[int, int, float]] = []
    for a, b in zip(runs[::2], runs[1::2]):
        if out and a - (out[-1][1] - start) <= p:  # one echo, broken by a noisy sample
            out[-1] = (out[-1][0], start + b - 1, max(out[-1][2], float(ys[a:b].max())))
            continue
        lo = max(a - q, 0)  # its leading edge on the samples themselves: half the bar up
        up = np.flatnonzero(raw[lo:b] > base[lo:b] + bar / 2.0)
        k = lo + int(up[0]) if len(up) else a
        out.append((start + max(k - 1, 0), start + b - 1, float(ys[a:b].max())))
    return out


def ghost_flags(positions_m: list[float], reflectances_db: list[float | None],
                losses_db: list[float], loss_sd_db: list[float], spiky: list[bool],
                tolerance_m: float, threshold_db: float) -> list[bool]:
    """For each event: whether it is a spike (``spiky``: reflective, or beyond the end) that
    sits where a ghost of the stronger reflections before it would (a + b − c, within
    ``tolerance_m``) with no loss of its own (NaN, or under ``threshold_db`` and 3 σ)."""
    order = sorted((i for i, r in enumerate(reflectances_db)
                    if r is not None and r >= GHOST_SOURCE_MIN_DB),
                   key=lambda i: -reflectances_db[i])[:GHOST_SOURCES]
    flags = []
    for i, x in enumerate(positions_m):
        lossless = not math.isfinite(losses_db[i]) or abs(losses_db[i]) < max(threshold_db, 3.0 * loss_sd_db[i])
        if not spiky[i] or not lossless:
            flags.append(False)
            continue
        src = sorted(positions_m[j] for j in order if j != i and positions_m[j] < x - tolerance_m)
        firsts = [0.0] + src
        flags.append(any(abs(a + b - cc - x) <= tolerance_m
                         for a, b in itertools.combinations_with_replacement(src, 2)
                         for cc in firsts if cc < min(a, b) - tolerance_m or cc == 0.0))
    return flags
