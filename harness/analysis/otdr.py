"""OTDR trace analysis: events, losses by least-squares fits, reflectance, reach, attenuation, ORL.

Steps (DOMAIN.md "Analysis in practice"):
1. noise along the trace, per block, robust against events (:mod:`otdr_noise`);
2. launch dead zone, reach and fibre end (:mod:`otdr_ends`);
3. events, greedy and noise-aware (:mod:`otdr_events`, :mod:`otdr_locate`, :mod:`otdr_stats`):
   an event is reported only where its step or spike is ``T_DETECT`` standard deviations of
   the local noise and its loss at least ``threshold_db``; lines are never fitted across
   another event; each event carries its loss and position uncertainties (1 σ). On real
   traces the backscatter wanders more than its sample-to-sample noise says: the steps
   measured between the events give the scale, and the search is run again with it;
4. section attenuation by LSA between events, combined by inverse variance; launch level;
   optical return loss from the sections' backscatter and the reflections.
Distances in m from the OTDR port; levels in dB as displayed (5·log10, higher = more power).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from harness.analysis.lsa import WindowFits
from harness.analysis.otdr_ends import (END_STEP_DB, REACH_NOISE_DB, launch_end, noise_scale,
                                        reach_and_end, saturated)
from harness.analysis.otdr_events import search
from harness.analysis.otdr_ghosts import ghost_flags, spikes_after_end
from harness.analysis.otdr_stats import REFLECTANCE_MIN_DB, Ctx, Found, reflectance_db
from harness.analysis.otdr_noise import noise_profile

C_M_PER_S = 299_792_458.0
BACKSCATTER_DB_1NS = {1310.0: -77.0, 1550.0: -82.0, 1625.0: -83.0}
NOISE_RESCALE = 1.3
"""Steps between events spread this much wider than predicted: the noise is re-scaled."""
EDGE_FRACTION = 0.5
"""A reflection starts between the last sample on the backscatter line and the first above it:
its position is taken halfway (samples). Instruments report the former (the real .sor files in
tests/data/sor), a simulator raising the sample at the event the latter."""
GHOST_TOLERANCE_M = 3.0
"""Least tolerance (m) on a ghost's distance (otherwise two samples or a pulse length)."""
SLOPE_PRIOR_DB_PER_KM = 0.002
"""How far a section's attenuation may plausibly differ from the trace's (weak prior, 1 σ)."""


@dataclass
class OtdrEvent:
    """One event: position (m from the OTDR), type, loss (dB), reflectance (dB), loss uncertainty
    (dB, 1 σ), position uncertainty (m, 1 σ) and extent (m after the event unfit for LSA)."""

    distance_m: float
    type: str  # "non-reflective" | "reflective" | "end"
    loss_db: float
    reflectance_db: float | None
    uncertainty_db: float
    position_uncertainty_m: float = math.nan
    extent_m: float = 0.0
    saturated: bool = False
    ghost: bool = False
    """An echo of stronger reflections (see :mod:`otdr_ghosts`): not a fault."""

    @property
    def gainer(self) -> bool:
        """A non-reflective event showing a level rise from this side (loss < 0)."""
        return self.type == "non-reflective" and self.loss_db < 0

    def as_dict(self) -> dict:
        return {"distance_m": self.distance_m, "type": self.type, "loss_db": self.loss_db,
                "reflectance_db": self.reflectance_db, "uncertainty_db": self.uncertainty_db,
                "position_uncertainty_m": self.position_uncertainty_m, "extent_m": self.extent_m,
                "ghost": self.ghost}


@dataclass
class Section:
    """Clean backscatter between two events: bounds (m), LSA attenuation (dB/km, ± 1 σ) and
    the LSA line's level at the start (dB)."""

    start_m: float
    end_m: float
    attenuation_db_per_km: float
    uncertainty_db_per_km: float
    start_level_db: float = math.nan

    def level_at(self, distance_m: float) -> float:
        """The section's LSA line at ``distance_m`` (dB), extrapolated outside the section."""
        return self.start_level_db - self.attenuation_db_per_km * (distance_m - self.start_m) / 1000.0


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
    sections: list[Section] = field(default_factory=list)
    start_m: float = 0.0
    orl_db: float | None = None
    orl_note: str = ""
    attenuation_uncertainty_db_per_km: float = math.nan
    noise_scale: float = 1.0
    """How much the trace's steps spread beyond its sample noise (1: white noise; real fibres'
    backscatter wanders): the factor applied to every uncertainty."""
    after_end: list[OtdrEvent] = field(default_factory=list)
    """Reflections beyond the fibre's end (echoes, mostly ``ghost``): no loss, kept apart
    from ``events`` (which end with the fibre's end)."""

    @property
    def span_loss_db(self) -> float:
        """Loss from the launch to the reach (or to the fibre end), dB: the last section's
        LSA line at that point (a local fit where no section reaches there)."""
        last = self.sections[-1] if self.sections else None
        if last is not None and last.end_m >= self.reach_m - 2 * self.pulse_length_m - 2 * self.spacing_m:
            return self.launch_level_db - last.level_at(self.reach_m)
        return self.launch_level_db - self.level_at(self.reach_m)

    @property
    def end_to_end_loss_db(self) -> float | None:
        """Loss from the launch to the fibre's end (dB), when the end is seen."""
        return None if self.end_m is None else self.span_loss_db

    def level_at(self, distance_m: float, half_window_m: float | None = None) -> float:
        """Backscatter level (dB) at ``distance_m`` from a local least-squares line fit within
        the clean stretch holding that point (the one before it when it falls in an event)."""
        half = half_window_m or 4 * self.pulse_length_m
        lo, hi = self._stretch(distance_m)
        for _ in range(len(self.events) + 1):  # a stretch too short: the line before it
            try:
                return self._line_at(distance_m, max(lo, min(distance_m, hi) - half), min(hi, distance_m + half))[0]
            except ValueError:
                if lo <= self.start_m:
                    raise
                lo, hi = self._stretch(lo - self.spacing_m - self.pulse_length_m)
        raise ValueError(f"no clean backscatter before {distance_m / 1000:.3f} km")

    def loss_at(self, distance_m: float) -> tuple[float, float]:
        """(loss dB, its σ dB) of a step at ``distance_m`` measured by LSA whether or not an
        event was found there: lines over up to four pulse lengths before the point and after
        one pulse length past it, each within its clean stretch."""
        half, start = 4 * self.pulse_length_m, distance_m + self.pulse_length_m
        lo = self._stretch(distance_m - self.spacing_m)[0]
        hi = self._stretch(start + self.spacing_m)[1]
        before, sd_b = self._line_at(distance_m, max(lo, distance_m - half), distance_m)
        after, sd_a = self._line_at(distance_m, start, min(hi, start + half))
        return before - after, math.hypot(sd_b, sd_a)

    def _stretch(self, distance_m: float) -> tuple[float, float]:
        """The clean backscatter (m) around ``distance_m``: between the events either side
        (the stretch before an event when the point falls within the event's extent)."""
        lo, hi = self.start_m, self.reach_m
        for e in self.events:
            if e.type == "end":
                hi = min(hi, e.distance_m)
            elif e.distance_m + e.extent_m <= distance_m:
                lo = max(lo, e.distance_m + e.extent_m)
            else:
                hi = min(hi, e.distance_m)
                break
        return lo, hi

    def _line_at(self, distance_m: float, lo: float, hi: float) -> tuple[float, float]:
        """Level (dB) at ``distance_m`` of a line fitted to the trace over [lo, hi] (m), and its
        σ (dB) from the fit's residuals."""
        z0, dz = float(self._distance[0]), self.spacing_m
        a = max(int(math.ceil((lo - z0) / dz)), 0)
        b = min(int(math.floor((hi - z0) / dz)), len(self._level) - 1)
        if b - a < 3:
            raise ValueError(f"no clean backscatter around {distance_m / 1000:.3f} km")
        x = self._distance[a:b + 1] - distance_m
        y = self._level[a:b + 1]
        xm = float(x.mean())
        sxx = float(((x - xm) ** 2).sum())
        slope = float(((x - xm) * (y - y.mean())).sum()) / sxx
        level = float(y.mean()) - slope * xm
        resid = y - (level + slope * x)
        var = float(resid @ resid) / max(len(x) - 2, 1)
        return level, math.sqrt(var * (1.0 / len(x) + xm * xm / sxx))


def pulse_length_m(pulse_width_ns: float, group_index: float) -> float:
    """Spatial length of the pulse in the one-way distance frame (m)."""
    return C_M_PER_S * pulse_width_ns * 1e-9 / (2.0 * group_index)


def analyse_otdr(distance_m: np.ndarray, level_db: np.ndarray, *, pulse_width_ns: float,
                 group_index: float, wavelength_nm: float = 1550.0, threshold_db: float = 0.05,
                 backscatter_db: float | None = None, end_threshold_db: float = END_STEP_DB,
                 reflectance_threshold_db: float = REFLECTANCE_MIN_DB) -> OtdrAnalysis:
    """Find the events of one trace and measure them (see the module docstring).

    ``threshold_db``: least |loss| reported for a non-reflective event; ``backscatter_db``:
    the fibre's backscatter coefficient at 1 ns (default by wavelength) for reflectance and ORL;
    ``end_threshold_db``: the drop into the noise that ends the fibre (dB);
    ``reflectance_threshold_db``: a reflection weaker than this (dB) is reported as a
    non-reflective event (still measured as one event across its spike), as instruments do
    with their reflectance threshold (SR-4731 FxdParams).
    """
    z = np.asarray(distance_m, dtype=np.float64)
    y = np.asarray(level_db, dtype=np.float64)
    n = len(y)
    if n < 64 or len(z) != n or not np.isfinite(y).all():
        raise ValueError("an OTDR trace needs at least 64 finite points with one distance each")
    dz = float(z[-1] - z[0]) / (n - 1)
    p_len = pulse_length_m(pulse_width_ns, group_index)
    p = max(int(round(p_len / dz)), 1)
    nearest = min(BACKSCATTER_DB_1NS, key=lambda wl: abs(wl - float(wavelength_nm)))
    bs = backscatter_db if backscatter_db is not None else BACKSCATTER_DB_1NS[nearest]
    fits = WindowFits(y)
    noise = noise_profile(y, max(2 * p, 256), max_inflation=max(2.0 * p, 4.0),
                          clean_limit_db=REACH_NOISE_DB)
    i0 = min(int(np.searchsorted(z, 0.0)), n - 1)
    good = (noise.sigma <= REACH_NOISE_DB) & (noise.centres > i0 + 2 * p)
    slope0 = float(np.median(noise.slope[good])) if good.any() else 0.0
    c = Ctx(y, fits, noise, p, max(4 * p, 32), max(6, p // 4), slope0,
            1.0 / (SLOPE_PRIOR_DB_PER_KM * dz / 1000.0) ** 2, threshold_db, bs, pulse_width_ns, dz,
            eof_db=end_threshold_db, refl_min_db=reflectance_threshold_db)
    start = launch_end(c, i0)
    reach, fit_stop, end = reach_and_end(c, start)
    found = search(c, start, fit_stop, fit_stop) if reach > start else []
    for _ in range(2):  # noise under-estimated (real traces' backscatter wanders): again
        kappa = noise_scale(c, found, start, fit_stop)
        if kappa < NOISE_RESCALE:
            break
        c.noise.scale *= kappa
        c.cache.clear()
        found = search(c, start, fit_stop, fit_stop)
    events = [ev for ev in (_event(c, z, f, dz) for f in found) if ev is not None]
    if end is not None:
        k, height = end
        sd = float(noise.eff(k)) / math.sqrt(c.w)
        end_m = float(z[k]) + (EDGE_FRACTION * dz if height > 0 else 0.0)
        events.append(OtdrEvent(end_m, "end", math.nan,
                                reflectance_db(height, bs, pulse_width_ns) if height > 0 else None,
                                sd, dz * max(0.5, 2.0 * float(noise.eff(k)) / max(height, 0.3)),
                                saturated=saturated(y, k, p) if height > 0 else False))
    sections, att, att_sd, launch = _sections(c, z, found, start, reach, i0)
    after = _after_end(c, z, end, sections) if end is not None and sections else []
    _flag_ghosts(events, after, max(2.0 * dz, p_len, GHOST_TOLERANCE_M), threshold_db)
    orl, note = _orl(c, [e for e in events if not e.ghost], sections, launch, end is not None, p_len)
    return OtdrAnalysis(events, att, float(z[reach]), end_m if end else None, launch,
                        dz, p_len, z, y, sections, float(z[start]), orl, note, att_sd,
                        c.noise.scale, after)


def _after_end(c: Ctx, z: np.ndarray, end: tuple[int, float], sections: list) -> list[OtdrEvent]:
    """Reflections beyond the fibre's end (after its own spike has fallen back below the
    backscatter level before it): echoes, or light from a fibre behind a break. Reflectance
    against the last section's backscatter line extrapolated; no loss (no backscatter)."""
    k, height = end
    level = sections[-1].level_at(float(z[k]))
    if height > 0:  # past the end's own spike first
        top = np.flatnonzero(c.y[k:] >= level + height / 2.0)
        k += int(top[0]) if len(top) else 0
    fall = np.flatnonzero(c.y[k:] < level)
    if not len(fall):
        return []
    out = []
    for a, b, peak in spikes_after_end(c.y, k + int(fall[0]) + c.p, c.p):
        height = peak - sections[-1].level_at(float(z[a]))
        refl = reflectance_db(height, c.bs_db, c.pulse_ns) if height > 0 else None
        out.append(OtdrEvent(float(z[a]) + EDGE_FRACTION * c.dz_m, "reflective", math.nan, refl,
                             math.nan, c.dz_m, (b - a) * c.dz_m))
    return out


def _flag_ghosts(events: list[OtdrEvent], after: list[OtdrEvent], tolerance_m: float,
                 threshold_db: float) -> None:
    """Set ``ghost`` on the events that sit where echoes of the strong reflections would."""
    every = events + after
    refl = [e.reflectance_db if e.type != "non-reflective" else None for e in every]
    flags = ghost_flags([e.distance_m for e in every], refl, [e.loss_db for e in every],
                        [e.uncertainty_db if math.isfinite(e.uncertainty_db) else 0.0 for e in every],
                        [e.type == "reflective" for e in events] + [True] * len(after),
                        tolerance_m, threshold_db)
    for e, g in zip(every, flags):
        e.ghost = g


def _event(c: Ctx, z: np.ndarray, f: Found, dz: float) -> OtdrEvent | None:
    refl = reflectance_db(f.height, c.bs_db, c.pulse_ns) if f.reflective else None
    if refl is not None and refl < c.refl_min_db:  # below the reflectance threshold: a step
        refl = None
    if f.reflective and refl is None and abs(f.loss) < c.threshold_db:
        return None  # under both the reflectance and the loss thresholds: not an event
    at = float(z[f.k]) + (EDGE_FRACTION * dz if f.reflective else 0.0)
    return OtdrEvent(at, "reflective" if refl is not None else "non-reflective",
                     f.loss, refl, math.sqrt(f.var), f.pos_sd * dz, f.ext * dz,
                     saturated(c.y, f.k, c.p) if refl is not None else False)


def _sections(c: Ctx, z, found: list[Found], start: int, reach: int, i0: int):
    """LSA per clean section; attenuation (dB/km) and its σ by inverse variance; launch level."""
    dz = c.dz_m
    bounds, a = [], start
    for f in found:
        bounds.append((a, f.k))
        a = f.k + f.ext
    bounds.append((a, reach))
    out, num, den, launch = [], 0.0, 0.0, math.nan
    for s, e in bounds:
        if e - s < max(c.wmin, 16):
            continue
        cnt, mx, my, cxx, cxy = (float(v) for v in c.fits.moments(s, e))
        slope = cxy / cxx
        g = np.linspace(s, e - 1, 9)
        var = float(np.sum((g - mx) ** 2 * c.noise.eff(g) ** 2) * (e - s) / 9.0) / cxx**2
        att, sd = -slope / dz * 1000.0, math.sqrt(var) / dz * 1000.0
        out.append(Section(float(z[s]), float(z[e - 1]), att, sd, my + slope * (s - mx)))
        num, den = num + att / sd**2, den + 1.0 / sd**2
        if math.isnan(launch):
            launch = my + slope * (i0 - mx)
    if not out:
        return [], math.nan, math.nan, float(c.y[min(start, len(c.y) - 1)])
    return out, num / den, 1.0 / math.sqrt(den), float(launch)


def _orl(c: Ctx, events: list[OtdrEvent], sections: list[Section], launch: float,
         ended: bool, p_len: float) -> tuple[float | None, str]:
    """Optical return loss (dB) seen from the OTDR: the backscatter of every section (its LSA
    line, integrated in linear power relative to the launch level) times the backscatter
    coefficient per metre, plus every reflection (reflectance × two-way loss to it); beyond
    the reach, without a fibre end, the backscatter is extrapolated at the attenuation. The
    launch connector, inside the dead zone, is not counted."""
    if any(e.saturated for e in events):
        return None, "a reflection saturates the receiver: ORL would be understated"
    if not sections or not math.isfinite(launch):
        return None, "no backscatter level at the launch"
    per_m = 10.0 ** (c.bs_db / 10.0) / (p_len / c.pulse_ns)  # backscatter per metre of fibre
    rel = lambda level: 10.0 ** ((level - launch) / 5.0)  # noqa: E731  (two-way, linear)
    total = 0.0
    edges = [0.0] + [e.distance_m for e in events if e.type != "end"]
    for s in sections:
        k = 2.0 * max(s.attenuation_db_per_km, 1e-6) / 1000.0 * math.log(10.0) / 10.0
        a = max(x for x in edges if x <= s.start_m + 1e-9)  # from the event before it
        total += per_m * rel(s.level_at(a)) * (1.0 - math.exp(-k * (s.end_m - a))) / k
    if not ended:
        total += per_m * rel(sections[-1].level_at(sections[-1].end_m)) / k
    for e in events:
        before = [s for s in sections if s.start_m <= e.distance_m]
        if e.reflectance_db is not None and before:
            total += 10.0 ** (e.reflectance_db / 10.0) * rel(before[-1].level_at(e.distance_m))
    note = "" if ended else "far end not seen: backscatter beyond the reach extrapolated"
    return -10.0 * math.log10(total), note


def _rolling_noise(y: np.ndarray, w: int) -> np.ndarray:
    """Per-sample noise (dB RMS) from the first differences over a trailing window of ``w``."""
    d2 = np.concatenate([[0.0], np.diff(y) ** 2])
    cs = np.concatenate([[0.0], np.cumsum(d2)])
    lo = np.clip(np.arange(len(y)) - w + 1, 0, None)
    hi = np.arange(len(y)) + 1
    return np.sqrt((cs[hi] - cs[lo]) / np.maximum(hi - lo, 1) / 2.0)
