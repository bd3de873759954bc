"""Least-squares line fits over any index window of a uniformly sampled trace, in O(1) each.

Two prefix sums (of y and of index·y) are kept; the index sums have closed forms, and the
centred moments of consecutive integers are exact (n(n²−1)/12), so fits stay accurate on
million-point traces. Indices are sample numbers; levels in dB; slopes in dB per sample.
"""

from __future__ import annotations

import numpy as np


class WindowFits:
    """Prefix sums of a uniformly sampled signal for O(1) line fits over any index window."""

    def __init__(self, y: np.ndarray) -> None:
        y = np.asarray(y, dtype=np.float64)
        self.n = n = len(y)
        self.ref = float(np.median(y[:: max(n // 512, 1)])) if n else 0.0
        yc = y - self.ref
        self._sy = np.empty(n + 1)
        self._sy[0] = 0.0
        np.cumsum(yc, out=self._sy[1:])
        self._sxy = np.empty(n + 1)
        self._sxy[0] = 0.0
        np.cumsum(yc * np.arange(n, dtype=np.float64), out=self._sxy[1:])
        self._y = y

    def moments(self, start, stop):
        """(n, mean index, mean level, Σ(x−x̄)², Σ(x−x̄)(y−ȳ)) over ``[start, stop)``, clipped."""
        a = np.clip(np.asarray(start, dtype=np.int64), 0, self.n)
        b = np.clip(np.asarray(stop, dtype=np.int64), 0, self.n)
        b = np.maximum(a, b)
        n = (b - a).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            sy = self._sy[b] - self._sy[a]
            mx = (a + b - 1) / 2.0
            my = sy / n
            cxx = n * (n * n - 1.0) / 12.0
            cxy = (self._sxy[b] - self._sxy[a]) - mx * sy
        return n, mx, my + self.ref, cxx, cxy

    def mean(self, start, stop):
        """Mean level over ``[start, stop)`` (NaN when empty)."""
        n, _, my, _, _ = self.moments(start, stop)
        return my

    def fit(self, start, stop) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Line ``y = a + b·index`` over ``[start, stop)`` for each pair; returns (a, b, rms residual).

        Windows are clipped to the signal; a window of fewer than 3 samples gives NaN.
        """
        start = np.atleast_1d(start)
        stop = np.atleast_1d(stop)
        n, mx, my, cxx, cxy = self.moments(start, stop)
        with np.errstate(invalid="ignore", divide="ignore"):
            b = cxy / cxx
            a = my - b * mx
        rms = np.array([_rms(self._y, int(s), int(e), ai, bi)
                        for s, e, ai, bi in zip(np.clip(start, 0, self.n), np.clip(stop, 0, self.n), a, b)])
        bad = n < 3
        a[bad] = np.nan
        b[bad] = np.nan
        rms[bad] = np.nan
        return a, b, rms

    def step(self, left: tuple, right: tuple, at, slope0: float, lam, sig_l, sig_r):
        """Step (dB, positive = loss) between a left window and a right window evaluated at
        index ``at``, both windows sharing one slope, with a prior slope ``slope0`` of weight
        ``lam`` (= σ²/σ_slope²). Returns (step, variance, shared slope).

        ``sig_l``/``sig_r``: noise (dB RMS, already inflated for correlation) in each window.
        """
        nl, mxl, myl, cxl, cyl = self.moments(*left)
        nr, mxr, myr, cxr, cyr = self.moments(*right)
        with np.errstate(invalid="ignore", divide="ignore"):
            den = cxl + cxr + lam
            b = (cyl + cyr + lam * slope0) / den
            step = (myl + b * (at - mxl)) - (myr + b * (at - mxr))
            gap = mxr - mxl
            var_b = (sig_l**2 * cxl + sig_r**2 * cxr + lam * 0.5 * (sig_l**2 + sig_r**2)) / den**2
            var = sig_l**2 / nl + sig_r**2 / nr + gap**2 * var_b
        return step, var, b


def _rms(y: np.ndarray, s: int, e: int, a: float, b: float) -> float:
    if e - s < 3:
        return float("nan")
    x = np.arange(s, e)
    return float(np.sqrt(np.sum((y[s:e] - a - b * x) ** 2) / (e - s - 2)))


def ramp_gains(y: np.ndarray, p: int, ks: np.ndarray, fixed=()) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares fit of ``y = c + b·x − Σ L_f·r_f(x) − L·r_k(x)`` over the samples ``y``
    (a local window, indices from 0) for each candidate start ``k`` in ``ks``, the ramps
    ``r_f`` at the starts in ``fixed`` held in the model. r_k is a pulse's ramp: 0 before k,
    (x−k+1)/p over one pulse length, 1 after. Returns (SSE reduction from r_k, L_k in dB):
    the best k has the largest reduction. Needs ``0 <= k`` and ``k + p <= len(y)``."""
    n = len(y)
    x = np.arange(n, dtype=np.float64)
    cols = [np.ones(n), x - (n - 1) / 2.0]
    cols += [np.clip((x - f + 1.0) / p, 0.0, 1.0) for f in fixed if f + p > 0 and f < n - 1]
    q, _ = np.linalg.qr(np.column_stack(cols))
    yc = y - y[0]
    resid = yc - q @ (q.T @ yc)
    k = np.asarray(ks, dtype=np.int64)

    def inner(v: np.ndarray) -> np.ndarray:  # <v, r_k> for every candidate k
        s = np.concatenate([[0.0], np.cumsum(v)])
        sj = np.concatenate([[0.0], np.cumsum(v * x)])
        return ((sj[k + p] - sj[k]) - (k - 1) * (s[k + p] - s[k])) / p + s[n] - s[k + p]

    num = inner(resid)
    rr = (p + 1) * (2 * p + 1) / (6.0 * p) + (n - k - p) - sum(inner(q[:, j]) ** 2
                                                            for j in range(q.shape[1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return num * num / rr, -num / rr


def ramp_scan(fits: WindowFits, da: int, db: int, ks: np.ndarray, p: int):
    """:func:`ramp_gains` with no other ramp in the model, over the trace's window [da, db),
    from its prefix sums: O(1) per candidate, whatever the window's length."""
    k = ks.astype(np.float64)
    n = float(db - da)
    x0 = (da + db - 1) / 2.0  # centre the index to keep the sums small

    def sum_x(a, b):  # Σ (j − x0) for j in [a, b)
        return (b - a) * ((a + b - 1) / 2.0 - x0)

    def sum_xx(a, b):  # Σ (j − x0)²
        m = (a + b - 1) / 2.0 - x0
        c = b - a
        return c * (c * c - 1.0) / 12.0 + c * m * m

    sy, sxy = fits._sy, fits._sxy
    sy_all = sy[db] - sy[da]
    sxy_all = sxy[db] - sxy[da] - x0 * sy_all
    ki = ks.astype(np.int64)
    sy_r, sxy_r, sy_t = sy[ki + p] - sy[ki], sxy[ki + p] - sxy[ki], sy[db] - sy[ki + p]
    s_r = (p + 1) / 2.0 + (db - k - p)
    s_rr = (p + 1) * (2 * p + 1) / (6.0 * p) + (db - k - p)
    s_xr = (sum_xx(k, k + p) + (x0 - k + 1) * sum_x(k, k + p)) / p + sum_x(k + p, db)
    s_yr = (sxy_r - (k - 1) * sy_r) / p + sy_t
    sxx = sum_xx(da, db)  # the basis 1, (x − x0) is orthogonal over the window
    rr = s_rr - s_r * s_r / n - s_xr * s_xr / sxx
    yr = s_yr - (sy_all / n) * s_r - (sxy_all / sxx) * s_xr
    with np.errstate(invalid="ignore", divide="ignore"):
        return yr * yr / rr, -yr / rr
