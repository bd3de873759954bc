"""OTDR trace analysis: events, losses by least-squares fits, reflectance, reach, attenuation.

Method (as a vendor's automatic analysis does it, see DOMAIN.md "Analysis in practice"):
for every sample i a line is fitted to the W samples before i and another to the W samples
after i + one pulse length (the event's transition region); both are evaluated at i and their
difference is the step (dB, positive = loss). A step is an event where it exceeds both the
loss threshold and 4x its own uncertainty from the local noise (so weak steps deep in the
noise are not reported). A spike above the left line within one pulse is a reflection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from harness.analysis.lsa import WindowFits

C_M_PER_S = 299_792_458.0
BACKSCATTER_DB_1NS = {1310.0: -77.0, 1550.0: -82.0, 1625.0: -83.0}
REACH_NOISE_DB = 0.1
"""Per-sample noise (dB RMS) beyond which the trace is not used (about the IEC 98 % level)."""
END_STEP_DB = 3.0


@dataclass
class OtdrEvent:
    """One event: position (m from the OTDR), type, loss (dB), reflectance (dB) and uncertainty (dB)."""

    distance_m: float
    type: str  # "non-reflective" | "reflective" | "end"
    loss_db: float
    reflectance_db: float | None
    uncertainty_db: float

    def as_dict(self) -> dict:
        return {"distance_m": self.distance_m, "type": self.type, "loss_db": self.loss_db,
                "reflectance_db": self.reflectance_db, "uncertainty_db": self.uncertainty_db}


@dataclass
class OtdrAnalysis:
    """Result of analysing one trace. Distances in m from the OTDR port, levels in dB."""

    events: list[OtdrEvent]
    attenuation_db_per_km: float
    reach_m: float
    end_m: float | None
    launch_level_db: float
    spacing_m: float
    pulse_length_m: float
    _distance: np.ndarray = field(repr=False, default=None)
    _level: np.ndarray = field(repr=False, default=None)

    @property
    def span_loss_db(self) -> float:
        """Loss from the launch to the reach (or to the fibre end), dB."""
        return self.launch_level_db - self.level_at(self.reach_m)

    def level_at(self, distance_m: float, half_window_m: float | None = None) -> float:
        """Backscatter level (dB) at ``distance_m`` from a local least-squares line fit."""
        half = half_window_m or 4 * self.pulse_length_m
        z, y = self._distance, self._level
        lo = max(distance_m - half, 0.0)
        hi = min(distance_m + half, self.reach_m)
        for e in self.events:
            edge = e.distance_m + self.pulse_length_m + 2 * self.spacing_m
            if e.distance_m < distance_m and edge > lo:
                lo = min(edge, distance_m)
            if e.distance_m >= distance_m and e.distance_m < hi:
                hi = e.distance_m - 2 * self.spacing_m
        mask = (z >= lo) & (z <= hi)
        if mask.sum() < 3:
            raise ValueError(f"no clean backscatter around {distance_m / 1000:.1f} km")
        slope, intercept = np.polyfit(z[mask], y[mask], 1)
        return float(intercept + slope * distance_m)

    def loss_between(self, a_m: float, b_m: float) -> float:
        """Loss (dB) from ``a_m`` to ``b_m`` along this trace, from local fits at both points."""
        return self.level_at(a_m) - self.level_at(b_m)


def pulse_length_m(pulse_width_ns: float, group_index: float) -> float:
    """Spatial length of the pulse in the one-way distance frame (m)."""
    return C_M_PER_S * pulse_width_ns * 1e-9 / (2.0 * group_index)


def analyse_otdr(distance_m: np.ndarray, level_db: np.ndarray, *, pulse_width_ns: float,
                 group_index: float, wavelength_nm: float = 1550.0,
                 threshold_db: float = 0.05) -> OtdrAnalysis:
    """Find the events of one trace and measure them (see the module docstring)."""
    z = np.asarray(distance_m, dtype=np.float64)
    y = np.asarray(level_db, dtype=np.float64)
    n = len(y)
    if n < 64 or len(z) != n:
        raise ValueError("an OTDR trace needs at least 64 points with one distance each")
    dz = float(z[1] - z[0])
    p_len = pulse_length_m(pulse_width_ns, group_index)
    p = max(int(round(p_len / dz)), 1)
    w = max(4 * p, 32)
    idx = np.arange(n)
    fits = WindowFits(y)
    a_l, b_l, _ = fits.fit(idx - w, idx)
    a_r, b_r, _ = fits.fit(idx + p, idx + p + w)
    left = a_l + b_l * idx
    step = left - (a_r + b_r * idx)
    noise = _rolling_noise(y, w)
    ahead = np.concatenate([noise[p + w:], np.full(min(p + w, n), noise[-1])])[:n]
    unc = np.sqrt(noise**2 * 4.0 / w + ahead**2 * (1.0 + 12.0 * (w / 2 + p) ** 2 / w**2) / w)
    start = p + w + 2  # the left window must lie past the launch dead zone
    noisy = np.nonzero((noise > REACH_NOISE_DB) & (idx > start))[0]
    reach = int(noisy[0]) if len(noisy) else n - 1
    end_idx = None
    lo, hi = max(reach - 2 * w, start), min(reach + w, n - 1)
    if hi > lo:
        k = lo + int(np.nanargmax(np.where(np.isnan(step[lo:hi]), -np.inf, step[lo:hi])))
        if step[k] > END_STEP_DB:
            end_idx = _departure(fits, y, noise, k, p, w)
            reach = end_idx
    bs = BACKSCATTER_DB_1NS.get(float(wavelength_nm), -82.0)
    events = _find_events(fits, step, unc, noise, y, start, reach - p - w, p, w, threshold_db,
                          z, bs, pulse_width_ns)
    if end_idx is not None:
        h = _spike_height(y, left[end_idx], end_idx, p)
        reflective = h > 4.0 * noise[end_idx] / math.sqrt(max(p // 2, 1))
        events.append(OtdrEvent(float(z[end_idx]), "end", float("nan"),
                                _reflectance(h, bs, pulse_width_ns) if reflective else None,
                                float(unc[end_idx])))
    attenuation, launch = _attenuation(z, y, events, start, reach, p)
    return OtdrAnalysis(events, attenuation, float(z[reach]),
                        float(z[end_idx]) if end_idx is not None else None, launch, dz, p_len,
                        z, y)


def _rolling_noise(y: np.ndarray, w: int) -> np.ndarray:
    """Per-sample noise (dB RMS) from the first differences over a trailing window of ``w``."""
    d2 = np.concatenate([[0.0], np.diff(y) ** 2])
    c = np.concatenate([[0.0], np.cumsum(d2)])
    lo = np.clip(np.arange(len(y)) - w + 1, 0, None)
    hi = np.arange(len(y)) + 1
    return np.sqrt((c[hi] - c[lo]) / np.maximum(hi - lo, 1) / 2.0)


def _reflectance(height_db: float, bs_db: float, pulse_width_ns: float) -> float:
    """Reflectance (dB) from a spike of ``height_db`` (5·log10 units) above the backscatter."""
    return bs_db + 10.0 * math.log10((10.0 ** (height_db / 5.0) - 1.0) * pulse_width_ns)


def _departure(fits: WindowFits, y: np.ndarray, noise: np.ndarray, k: int, p: int, w: int) -> int:
    """First sample near ``k`` where the trace leaves the backscatter line fitted before it."""
    base = max(k - 2 * p, 1)
    a, b, _ = fits.fit(np.array([max(base - w, 0)]), np.array([base]))
    j = np.arange(base, min(k + p, len(y)))
    off = np.abs(y[j] - (a[0] + b[0] * j))
    limit = max(0.3, 5.0 * float(noise[base]))
    hits = np.nonzero(off > limit)[0]
    return int(j[hits[0]]) if len(hits) else k


def _spike_height(y: np.ndarray, left_level: float, k: int, p: int) -> float:
    """Mean level over the middle of the pulse after ``k``, above the backscatter before it (dB)."""
    a, b = k + max(p // 4, 1), k + max(3 * p // 4, 2)
    return float(np.mean(y[a:b]) - left_level)


def _find_events(fits, step, unc, noise, y, start, stop, p, w, threshold_db, z, bs,
                 pulse_width_ns):
    """Pick the strongest steps first, suppress their side lobes (one window either side),
    then measure each with fit windows clipped at its neighbours."""
    if stop <= start:
        return []
    region = slice(start, stop)
    strength = np.nan_to_num(np.abs(step[region]), nan=0.0)
    ok = (strength > threshold_db) & (strength > 4.0 * np.nan_to_num(unc[region], nan=np.inf))
    candidates = np.nonzero(ok)[0] + start
    order = candidates[np.argsort(-np.abs(step[candidates]))]
    taken = np.zeros(len(y), dtype=bool)
    picked = []
    for k in order:
        if taken[max(k - p - w, 0):k + p + w].any():
            continue
        taken[k] = True
        picked.append(int(k))
    picked.sort()
    events: list[OtdrEvent] = []
    for i, k in enumerate(picked):
        lo = max(k - w, picked[i - 1] + p + 2 if i else 0)
        hi = min(k + p + w, picked[i + 1] - 2 if i + 1 < len(picked) else len(y))
        a_l, b_l, _ = fits.fit(np.array([lo]), np.array([k]))
        a_r, b_r, _ = fits.fit(np.array([k + p]), np.array([hi]))
        left = float(a_l[0] + b_l[0] * k)
        loss = left - float(a_r[0] + b_r[0] * k)
        if not math.isfinite(loss):
            loss = float(step[k])
        spike = _spike_height(y, left, k, p)
        reflective = spike > max(0.02, 4.0 * noise[k] / math.sqrt(max(p // 2, 1)))
        events.append(OtdrEvent(
            float(z[k]), "reflective" if reflective else "non-reflective", loss,
            _reflectance(spike, bs, pulse_width_ns) if reflective else None, float(unc[k])))
    return events


def _attenuation(z, y, events, start, reach, p) -> tuple[float, float]:
    """Section attenuation (dB/km) by one LSA over all clean backscatter, event steps removed,
    and the launch level (dB) that line extrapolates to at 0 m."""
    mask = np.zeros(len(y), dtype=bool)
    mask[start:reach] = True
    corrected = y.copy()
    dz = z[1] - z[0]
    for e in events:
        if e.type == "end":
            continue
        k = int(round(e.distance_m / dz))
        mask[max(k - 2, 0):k + p + 2] = False
        corrected[k:] += e.loss_db
    if mask.sum() < 16:
        return float("nan"), float(y[start]) if start < len(y) else float("nan")
    slope, intercept = np.polyfit(z[mask], corrected[mask], 1)
    return float(-slope * 1000.0), float(intercept)
