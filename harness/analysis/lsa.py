"""Least-squares line fits over sliding windows, computed for every sample at once (O(n))."""

from __future__ import annotations

import numpy as np


class WindowFits:
    """Prefix sums of a uniformly sampled signal for O(1) line fits over any index window."""

    def __init__(self, y: np.ndarray) -> None:
        n = len(y)
        x = np.arange(n, dtype=np.float64)
        self.n = n
        self._s1 = np.concatenate([[0.0], np.cumsum(np.ones(n))])
        self._sx = np.concatenate([[0.0], np.cumsum(x)])
        self._sxx = np.concatenate([[0.0], np.cumsum(x * x)])
        self._sy = np.concatenate([[0.0], np.cumsum(y)])
        self._sxy = np.concatenate([[0.0], np.cumsum(x * y)])
        self._syy = np.concatenate([[0.0], np.cumsum(y * y)])

    def fit(self, start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Line ``y = a + b·index`` over ``[start, stop)`` for each pair; returns (a, b, rms residual).

        Windows are clipped to the signal; a window of fewer than 3 samples gives NaN.
        """
        start = np.clip(start, 0, self.n)
        stop = np.clip(stop, 0, self.n)
        n = self._s1[stop] - self._s1[start]
        sx = self._sx[stop] - self._sx[start]
        sxx = self._sxx[stop] - self._sxx[start]
        sy = self._sy[stop] - self._sy[start]
        sxy = self._sxy[stop] - self._sxy[start]
        syy = self._syy[stop] - self._syy[start]
        with np.errstate(invalid="ignore", divide="ignore"):
            # centred moments: the raw sums are huge and would cancel catastrophically
            cxx = sxx - sx * sx / n
            cxy = sxy - sx * sy / n
            cyy = syy - sy * sy / n
            b = cxy / cxx
            a = (sy - b * sx) / n
            sse = cyy - b * cxy
            rms = np.sqrt(np.maximum(sse, 0.0) / np.maximum(n - 2, 1))
        bad = n < 3
        a[bad] = np.nan
        b[bad] = np.nan
        rms[bad] = np.nan
        return a, b, rms
