"""Noise along an OTDR trace, per block of samples, robust against the trace's own events.

- The white part comes from second differences (blind to the trace's slope): per block, the
  median over 16-sample groups of mean|Δ²y| (a spike's edges touch one or two groups, not the
  median), σ = mean|Δ²y|/√(12/π) (Δ²y of white noise has variance 6σ²).
- Correlated (filtered) noise averages down more slowly than white noise: the ratio r of a
  block's line-fit residual variance to the white estimate (median over clean blocks) gives
  the per-sample noise σ·√r and, for an AR(1) noise (Δ²y variance 2σ²(1−ρ)(3−ρ), so
  ρ = 2 − √(1 + 3/r)), the variance factor (1+ρ)/(1−ρ) for means (1 = white).
- Each block's line-fit slope (dB per sample) tells backscatter (the fibre's attenuation) from
  what is not (a receiver's recovery tail, the noise floor).
All levels in dB (5·log10 units as the OTDR displays them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

GROUP = 16
MIN_CLEAN_BLOCKS = 8
"""Fewer clean blocks than this: the noise is taken as white (no correlation estimate)."""
SIGMA_FLOOR_DB = 3e-4
"""Least per-sample noise assumed (dB): the 0.001 dB quantisation of SR-4731 data, ~1/√12 of it."""


@dataclass
class NoiseProfile:
    """Per block: centre index, per-sample noise σ (dB RMS), slope (dB/sample) and its standard
    error; ``inflation``: variance factor for a mean of n samples (var = σ²·inflation/n);
    ``scale``: a further factor on σ for fits over windows (the backscatter's slow wander on
    real fibres, measured from the trace's own steps; 1 for white noise)."""

    block: int
    centres: np.ndarray
    sigma: np.ndarray
    slope: np.ndarray
    slope_se: np.ndarray
    level: np.ndarray
    inflation: float
    scale: float = 1.0

    def at(self, idx) -> np.ndarray:
        """Per-sample noise (dB RMS) at sample indices ``idx`` (log-interpolated between blocks)."""
        return np.exp(np.interp(idx, self.centres, self._log))

    def eff(self, idx) -> np.ndarray:
        """Noise (dB) to use for window fits: per-sample noise inflated for correlation."""
        return self.at(idx) * (math.sqrt(self.inflation) * self.scale)

    def short(self, idx) -> np.ndarray:
        """Noise (dB) to use for means over a few samples (the slow wander left out)."""
        return self.at(idx) * math.sqrt(self.inflation)

    def mean_sd(self, idx, n: int) -> np.ndarray:
        """Noise (dB) of a mean over ``n`` samples around ``idx``: correlated noise averages
        down more slowly than white noise, but a mean is never noisier than one sample."""
        return self.at(idx) * (math.sqrt(min(self.inflation, n) / max(n, 1)) * self.scale)

    def eff_window(self, start, stop) -> np.ndarray:
        """Noise (dB) for the mean over [start, stop): the RMS of :meth:`eff` over the window
        (Simpson's rule; the noise grows along the trace, often several-fold in a window)."""
        a, m, b = self.eff(start), self.eff((np.asarray(start) + stop - 1) / 2.0), self.eff(np.asarray(stop) - 1)
        return np.sqrt((a * a + 4.0 * m * m + b * b) / 6.0)

    def __post_init__(self) -> None:
        self._log = np.log(self.sigma)


def noise_profile(y: np.ndarray, block: int, max_inflation: float = 64.0,
                  clean_limit_db: float = 0.1) -> NoiseProfile:
    """Noise and slope of each ``block``-sample block of ``y`` (``block`` a multiple of 16)."""
    n = len(y)
    block = max(GROUP, block // GROUP * GROUP)
    block = min(block, max(n // GROUP * GROUP, GROUP))
    nb = max(n // block, 1)
    used = nb * block
    d = np.abs(np.diff(y[: used + 2] if used + 2 <= n else y, 2))
    if len(d) < used:
        d = np.concatenate([d, np.full(used - len(d), d[-1])])
    groups = d[:used].reshape(-1, GROUP).mean(axis=1).reshape(nb, -1)
    white = np.maximum(np.median(groups, axis=1) / math.sqrt(12.0 / math.pi), SIGMA_FLOOR_DB)
    yb = y[:used].reshape(nb, block)
    x = np.arange(block, dtype=np.float64) - (block - 1) / 2.0
    cxx = float(x @ x)
    mean = yb.mean(axis=1)
    slope = (yb @ x) / cxx
    yc = yb - mean[:, None]
    ss = np.einsum("ij,ij->i", yc, yc)
    resid = np.maximum(ss - slope**2 * cxx, 0.0) / max(block - 2, 1)
    ratio = resid / white**2
    # blocks of plain backscatter: noise above the quantisation, below the limit, and the
    # slope of the others (a block holding an event or the fibre's end is left out)
    clean = (white > 3 * SIGMA_FLOOR_DB) & (white < clean_limit_db)
    if clean.sum() >= MIN_CLEAN_BLOCKS:
        mid = np.median(slope[clean])
        clean &= np.abs(slope - mid) <= 5.0 * white * np.sqrt(ratio.clip(1.0, None)) * math.sqrt(12.0 / block**3)
    r = float(np.median(ratio[clean])) if clean.sum() >= MIN_CLEAN_BLOCKS else 1.0
    r = max(r, 1.0)
    rho = 2.0 - math.sqrt(1.0 + 3.0 / r)
    inflation = min((1.0 + rho) / (1.0 - rho), max_inflation)
    sigma = white * math.sqrt(r)
    se = sigma * math.sqrt(inflation) / math.sqrt(cxx)
    centres = np.arange(nb) * block + (block - 1) / 2.0
    return NoiseProfile(block, centres, sigma, slope, se, mean, inflation)
