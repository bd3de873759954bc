"""Macrobends: the same fibre, the same direction, at 1550 and 1625 nm.

A bend loses more at longer wavelengths (the mode spreads further into the cladding), a splice
loses about the same at both. For every event found at either wavelength, the loss is taken at
both (the event's own loss where it was found, an LSA measurement at that point otherwise);
a bend is reported where the 1625 nm loss exceeds the 1550 nm loss by at least
``MIN_EXCESS_DB`` and by ``T_BEND`` standard deviations, and either is at least ``MIN_RATIO``
times it or exceeds it by ``CLEAR_EXCESS_DB`` (a bend next to a splice, closer than the pulse).
Distances in m from the OTDR port; losses in dB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.analysis.otdr import OtdrAnalysis, OtdrEvent

MIN_EXCESS_DB = 0.05
MIN_RATIO = 1.5
CLEAR_EXCESS_DB = 0.1
T_BEND = 4.0


@dataclass
class Bend:
    """A macrobend: position (m), loss at 1550 and 1625 nm (dB), the excess and its σ (dB)."""

    distance_m: float
    loss_1550_db: float
    loss_1625_db: float
    uncertainty_db: float

    @property
    def excess_db(self) -> float:
        """How much more the bend loses at 1625 nm than at 1550 nm (dB)."""
        return self.loss_1625_db - self.loss_1550_db


def find_bends(at_1550: OtdrAnalysis, at_1625: OtdrAnalysis,
               tolerance_m: float | None = None) -> list[Bend]:
    """Bends on one fibre from its 1550 nm and 1625 nm analyses from the same end."""
    tol = tolerance_m or max(at_1550.pulse_length_m, at_1625.pulse_length_m)
    short = [e for e in at_1550.events if e.type != "end"]
    long = [e for e in at_1625.events if e.type != "end"]
    points: list[tuple[float, tuple | None, tuple | None]] = []
    used: set[int] = set()
    for e in short:
        near = [(abs(f.distance_m - e.distance_m), j) for j, f in enumerate(long)
                if j not in used and abs(f.distance_m - e.distance_m) <= tol]
        if near:
            j = min(near)[1]
            used.add(j)
            points.append((_better(e, long[j]).distance_m, _own(e), _own(long[j])))
        else:
            points.append((e.distance_m, _own(e), None))
    points += [(f.distance_m, None, _own(f)) for j, f in enumerate(long) if j not in used]
    bends = []
    for x, s, g in points:
        s = s or _measured(at_1550, x)
        g = g or _measured(at_1625, x)
        if s is None or g is None:
            continue
        excess, sd = g[0] - s[0], math.hypot(s[1], g[1])
        if excess >= max(MIN_EXCESS_DB, T_BEND * sd) and (
                g[0] >= MIN_RATIO * max(s[0], 0.0) or excess >= CLEAR_EXCESS_DB):
            bends.append(Bend(x, s[0], g[0], sd))
    return sorted(bends, key=lambda b: b.distance_m)


def _own(e: OtdrEvent) -> tuple[float, float]:
    return e.loss_db, e.uncertainty_db


def _better(a: OtdrEvent, b: OtdrEvent) -> OtdrEvent:
    """The one of two sightings of an event that locates it better."""
    sa = a.position_uncertainty_m if math.isfinite(a.position_uncertainty_m) else math.inf
    sb = b.position_uncertainty_m if math.isfinite(b.position_uncertainty_m) else math.inf
    return a if sa <= sb else b


def _measured(analysis: OtdrAnalysis, distance_m: float) -> tuple[float, float] | None:
    """LSA loss at a point where this wavelength found no event, if its trace is clean there."""
    if not analysis.start_m < distance_m < analysis.reach_m - analysis.pulse_length_m:
        return None
    try:
        return analysis.loss_at(distance_m)
    except ValueError:
        return None
