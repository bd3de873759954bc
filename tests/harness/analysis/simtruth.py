"""Ground truth for OTDR analysis tests: simulated traces whose events are known, and scoring.

Scoring rules (used by the accuracy tests and printed by ``python simtruth.py``):
- a true event is *due* when its loss seen from the OTDR's side is >= ``MIN_LOSS_DB`` (or it is
  reflective) and it lies in the visible range: past two pulse lengths from the launch, before
  the point where the one-way loss leaves 6.7 dB of dynamic range (per-sample noise ~0.1 dB,
  the IEC 98 % level) and before the fibre end;
- true events closer than one pulse length to each other cannot be resolved: they form one
  cluster, due if its summed loss is;
- a reported event within one pulse length of a cluster matches it (true positive if the
  cluster is due, ignored otherwise: a small factory splice found is not an error); its
  position error is taken from the cluster's largest event;
- a reported event that matches no true event at all is a false positive; a due cluster with
  no match is a false negative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from harness.analysis.otdr import OtdrAnalysis, analyse_otdr, pulse_length_m
from instruments.protocols import OtdrSettings
from instruments.sim.otdr_physics import dynamic_range_db, otdr_trace
from instruments.sim.span import Span, load_span

MIN_LOSS_DB = 0.1
NOISE_MARGIN_DB = 6.7


@dataclass
class TrueEvent:
    """A true event in the OTDR's frame: position (m), loss seen from this side (dB), reflectance."""

    distance_m: float
    loss_db: float
    reflectance_db: float | None
    kind: str


@dataclass
class Score:
    """Counts and errors over one or more traces."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    loss_errors: list[float] = field(default_factory=list)
    position_errors: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)
    far: list[str] = field(default_factory=list)

    def add(self, other: "Score") -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.loss_errors += other.loss_errors
        self.position_errors += other.position_errors
        self.misses += other.misses
        self.false += other.false
        self.far += other.far

    @property
    def f1(self) -> float:
        return 2 * self.tp / max(2 * self.tp + self.fp + self.fn, 1)

    def summary(self) -> str:
        le = np.abs(self.loss_errors) if self.loss_errors else np.array([math.nan])
        pe = np.abs(self.position_errors) if self.position_errors else np.array([math.nan])
        return (f"F1 {self.f1:.3f} (tp {self.tp}, fp {self.fp}, fn {self.fn}); |loss error| median "
                f"{np.median(le):.4f} dB, p95 {np.percentile(le, 95):.4f} dB; |position error| "
                f"median {np.median(pe):.1f} m, p95 {np.percentile(pe, 95):.1f} m, max {pe.max():.1f} m")


def true_events(span: Span, fibre: str, station: str, wavelength_nm: float) -> list[TrueEvent]:
    """The fibre's events as seen from ``station`` (distance from that station), nearest first."""
    first = station == span.stations[0]
    fb = span.fibre(fibre)
    rows = []
    for e in fb.events:
        d_km = e.position_km if first else span.length_km - e.position_km
        rows.append(TrueEvent(d_km * 1000.0, e.loss_seen_from(first, wavelength_nm),
                              e.reflectance_db, e.kind))
    return sorted(rows, key=lambda r: r.distance_m)


def end_distance_m(span: Span, fibre: str, station: str) -> float:
    """Where the glass ends as seen from ``station`` (m)."""
    fb = span.fibre(fibre)
    if fb.break_km is None:
        return span.length_km * 1000.0
    first = station == span.stations[0]
    return (fb.break_km if first else span.length_km - fb.break_km) * 1000.0


def visible_limit_m(span: Span, fibre: str, station: str, settings: OtdrSettings) -> float:
    """Farthest distance (m) where the one-way loss leaves ``NOISE_MARGIN_DB`` of dynamic range."""
    budget = dynamic_range_db(span, settings) - NOISE_MARGIN_DB
    alpha = span.fibre(fibre).attenuation_db_per_km
    a = float(np.interp(settings.wavelength_nm, sorted(alpha), [alpha[k] for k in sorted(alpha)]))
    loss, pos = 0.0, 0.0
    for e in true_events(span, fibre, station, settings.wavelength_nm):
        if loss + a * (e.distance_m - pos) / 1000.0 > budget:
            break
        loss += a * (e.distance_m - pos) / 1000.0 + e.loss_db
        pos = e.distance_m
    limit = pos + max(budget - loss, 0.0) / a * 1000.0
    return min(limit, end_distance_m(span, fibre, station))


def analyse(span: Span, fibre: str, station: str, settings: OtdrSettings,
            threshold_db: float = 0.05) -> OtdrAnalysis:
    """Simulate the trace and analyse it."""
    y = otdr_trace(span, fibre, station, settings)
    z = np.arange(len(y)) * settings.resolution_m
    return analyse_otdr(z, y, pulse_width_ns=settings.pulse_width_ns,
                        group_index=settings.group_index, wavelength_nm=settings.wavelength_nm,
                        threshold_db=threshold_db)


def score(span: Span, fibre: str, station: str, settings: OtdrSettings,
          result: OtdrAnalysis | None = None) -> Score:
    """Compare the analysis of one simulated trace with the true events (rules in the docstring)."""
    result = result or analyse(span, fibre, station, settings)
    p_len = pulse_length_m(settings.pulse_width_ns, settings.group_index)
    end = end_distance_m(span, fibre, station)
    hi = min(visible_limit_m(span, fibre, station, settings), end - p_len,
             settings.range_km * 1000.0 - 2 * p_len)
    lo = 2 * p_len
    truth = [e for e in true_events(span, fibre, station, settings.wavelength_nm)
             if e.distance_m < end - 1.0]
    clusters: list[list[TrueEvent]] = []
    for e in truth:
        if clusters and e.distance_m - clusters[-1][-1].distance_m < p_len:
            clusters[-1].append(e)
        else:
            clusters.append([e])
    found = [e for e in result.events if e.type != "end"]
    tag = f"{fibre} from {station} {settings.wavelength_nm:.0f} nm {settings.pulse_width_ns:.0f} ns"
    info = []
    for c in clusters:
        loss = sum(e.loss_db for e in c)
        main = max(c, key=lambda e: abs(e.loss_db) + (1.0 if e.reflectance_db else 0.0)).distance_m
        due = (abs(loss) >= MIN_LOSS_DB or any(e.reflectance_db for e in c)) and lo <= c[0].distance_m <= hi
        info.append((c, loss, main, due))
    # match nearest pairs first, due clusters before the others
    pairs = sorted((not info[j][3], abs(f.distance_m - info[j][2]), i, j)
                   for i, f in enumerate(found) for j, (c, _, _, _) in enumerate(info)
                   if c[0].distance_m - p_len <= f.distance_m <= c[-1].distance_m + p_len)
    used: set[int] = set()
    matched: dict[int, int] = {}
    for _, _, i, j in pairs:
        if i not in used and j not in matched:
            used.add(i)
            matched[j] = i
    s = Score()
    for j, (c, loss, main, due) in enumerate(info):
        if not due:
            continue
        if j in matched:
            f = found[matched[j]]
            s.tp += 1
            s.position_errors.append(f.distance_m - main)
            if len(c) == 1:
                s.loss_errors.append(f.loss_db - loss)
            if abs(f.distance_m - main) > p_len / 4:
                s.far.append(f"{tag}: {main / 1000:.3f} km {loss:+.3f} dB found "
                             f"{f.distance_m / 1000:.3f} km")
        else:
            s.fn += 1
            s.misses.append(f"{tag}: {main / 1000:.3f} km {loss:+.3f} dB")
    for i, f in enumerate(found):
        if i not in used:
            near = any(abs(f.distance_m - e.distance_m) <= p_len for e in truth)
            if not near:
                s.fp += 1
                s.false.append(f"{tag}: {f.distance_m / 1000:.3f} km {f.loss_db:+.3f} dB "
                               f"(u {f.uncertainty_db:.3f})")
    return s


def random_splices(span_seed: int, fibre: str, lo_km: float, hi_km: float, count: int,
                   rng: np.random.Generator) -> list[dict]:
    """``count`` injected splice faults of 0.1-0.5 dB at random positions in [lo_km, hi_km]."""
    return [{"type": "splice", "fibre": fibre, "distance_km": float(rng.uniform(lo_km, hi_km)),
             "loss_db": round(float(rng.uniform(0.1, 0.5)), 3)} for _ in range(count)]


def campaign(seeds: range, settings: OtdrSettings, fibres=("FP1-F1", "FP2-F2", "FP3-F1"),
             extra: int = 4, ranges_km: tuple[tuple[float, float], ...] = ((5.0, 375.0),)) -> Score:
    """Score traces from both stations over several span seeds, each fibre with ``extra``
    injected splices at random positions in each of ``ranges_km`` (from the first station)."""
    total = Score()
    for seed in seeds:
        rng = np.random.default_rng(seed)
        faults = [f for fb in fibres for r in ranges_km
                  for f in random_splices(seed, fb, *r, extra, rng)]
        span = load_span(faults=faults, seed=seed)
        for fb in fibres:
            for station in span.stations:
                total.add(score(span, fb, station, settings))
    return total


if __name__ == "__main__":
    import sys
    import time

    t = time.perf_counter()
    long = OtdrSettings()
    short = OtdrSettings(pulse_width_ns=1000.0, range_km=100.0, resolution_m=1.0)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    for name, st, rk in (("20 us / 400 km / 8 m", long, ((5.0, 375.0),)),
                         ("1 us / 100 km / 1 m", short, ((0.3, 99.7), (280.3, 379.7)))):
        sc = campaign(range(1, n + 1), st, ranges_km=rk, extra=4 if st is long else 3)
        print(name, sc.summary())
        for m in sc.misses[:15]:
            print("  missed", m)
        for m in sc.false[:15]:
            print("  false ", m)
        for m in sc.far[:15]:
            print("  far   ", m)
    print(f"{time.perf_counter() - t:.1f} s")
