"""Bidirectional OTDR: two traces of one fibre, one from each station, joined into one view.

1. Frame: an event at x_far from the second station is at L − x_far from the first. The route
   length L is configuration and can be off by hundreds of metres, so L is corrected by
   aligning the events both traces see in their overlap (the length offset that pairs the
   most of them, then their inverse-variance weighted mean).
2. Events within a tolerance of each other are one event. Its loss is the average of the two
   directions (which cancels the mode-field "gainer" effect), its position is taken from the
   direction that locates it better (smaller position uncertainty). An event that one side
   shows as a gain and the other as a loss is labelled as such.
3. An event found from one side only but inside the other trace's clean backscatter is also
   measured there (LSA at that point), so its loss is still a two-direction average.
4. End-to-end loss: the loss seen from each end up to a stitch point in the overlap of the two
   traces' reach, in the longest event-free stretch there (neither trace reaches the far end,
   as on the 380 km span). When each trace sees the whole fibre (a shorter span, a repaired
   section, a land segment), the link loss between its first and last connectors instead,
   per direction and averaged (:func:`link_loss`): the LSA line of the launch cable before the
   first connector against the LSA line of the receive cable after the last, both connectors
   included, as an OTDR's own link-loss markers with launch and receive cables.
Distances in m from the first station; losses in dB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.analysis.otdr import OtdrAnalysis, OtdrEvent

ALIGN_SEARCH_M = 3000.0
"""How far the configured route length may be off (m)."""
FORCED_MAX_SD_DB = 0.02
"""A loss measured where the other side found no event is used when its σ is below this."""


@dataclass
class MergedEvent:
    """An event in the first station's frame (m) with its loss per direction and averaged (dB).

    ``located_from``: "a" or "b", the trace whose position is used; ``measured``: the
    directions measured at a point found by the other side ("a", "b" or ""); ``note`` explains
    a gainer or a one-sided event."""

    distance_m: float
    loss_a_db: float | None
    loss_b_db: float | None
    type: str
    position_uncertainty_m: float = math.nan
    uncertainty_db: float = math.nan
    located_from: str = ""
    reflectance_db: float | None = None
    measured: str = ""
    note: str = ""

    @property
    def loss_db(self) -> float:
        seen = [v for v in (self.loss_a_db, self.loss_b_db) if v is not None]
        return sum(seen) / len(seen)

    @property
    def directions(self) -> int:
        return sum(v is not None for v in (self.loss_a_db, self.loss_b_db))

    @property
    def gainer(self) -> bool:
        """A gain from one direction and a loss from the other (mode-field mismatch)."""
        return self.directions == 2 and self.loss_a_db * self.loss_b_db < 0


@dataclass
class Bidirectional:
    """The joined view of one fibre. Distances in m from the first station."""

    events: list[MergedEvent]
    length_m: float
    end_a_m: float | None
    end_b_m: float | None
    overlap_m: tuple[float, float]
    stitch_m: float | None
    end_to_end_loss_db: float
    length_offset_m: float = 0.0
    aligned_events: int = 0
    link: "LinkLoss | None" = None
    """The link loss per direction when both traces see the whole fibre (else None)."""

    @property
    def continuous(self) -> bool:
        """No break: neither trace ends, or both see the whole fibre (the end each sees lies
        beyond the link's far connector as seen from it)."""
        return (self.end_a_m is None and self.end_b_m is None) or self.link is not None

    @property
    def aligned_length_m(self) -> float:
        """The route length the two traces agree on (m): configured length + offset."""
        return self.length_m + self.length_offset_m

    def break_description(self) -> str:
        parts = []
        if self.end_a_m is not None:
            parts.append(f"fibre ends at {self.end_a_m / 1000:.2f} km seen from the first station")
        if self.end_b_m is not None:
            parts.append(f"at {(self.length_m - self.end_b_m) / 1000:.2f} km "
                         f"({self.end_b_m / 1000:.2f} km from the second station)")
        return ", ".join(parts) + f" on a {self.length_m / 1000:.1f} km route: break"


def merge(a: OtdrAnalysis, b: OtdrAnalysis, length_m: float, tolerance_m: float | None = None,
          link_m: tuple[float, float] | None = None) -> Bidirectional:
    """Join trace ``a`` (from the first station) and ``b`` (from the second). ``link_m``: the
    link's first and last connectors (m from the first station, e.g. from the route plan);
    by default the first event each trace shows after its launch cable."""
    tol = tolerance_m or max(a.pulse_length_m, b.pulse_length_m, 500.0)
    ea = [e for e in a.events if e.type != "end"]
    eb = [e for e in b.events if e.type != "end"]
    offset, aligned = align(ea, eb, length_m, a.reach_m, b.reach_m,
                            max(a.pulse_length_m, b.pulse_length_m) / 4)
    length = length_m + offset
    pairs = sorted((abs(x.distance_m - (length - y.distance_m)), i, j)
                   for i, x in enumerate(ea) for j, y in enumerate(eb)
                   if abs(x.distance_m - (length - y.distance_m)) <= tol)
    used_a, used_b, merged = set(), set(), []
    for _, i, j in pairs:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            merged.append(_both(ea[i], eb[j], length))
    merged += [_one(e, b, length, first=True) for i, e in enumerate(ea) if i not in used_a]
    merged += [_one(e, a, length, first=False) for j, e in enumerate(eb) if j not in used_b]
    merged.sort(key=lambda m: m.distance_m)
    overlap = (length - b.reach_m, a.reach_m)
    stitch = None
    loss = float("nan")
    if a.end_m is None and b.end_m is None and overlap[1] > overlap[0]:
        stitch = _stitch_point(merged, overlap)
        loss = (a.launch_level_db - a.level_at(stitch)) + (b.launch_level_db - b.level_at(length - stitch))
    link = None
    bounds = link_m or _link_bounds(a, b, length)
    if sees_whole_link(a, b, length, bounds):
        link = link_loss(a, b, length, bounds)
        loss = link.loss_db
    return Bidirectional(merged, length_m, a.end_m, b.end_m, overlap, stitch, loss, offset, aligned,
                         link)


@dataclass
class LinkLoss:
    """Loss between the link's first and last connectors (both included), dB, seen from the
    first station (``a_db``), from the second (``b_db``) and their mean (``loss_db``; one
    direction's value when the other could not be measured). ``first_m``/``last_m``: the two
    connectors, m from the first station (in the frame given to :func:`merge`)."""

    first_m: float
    last_m: float
    a_db: float | None
    b_db: float | None

    @property
    def loss_db(self) -> float:
        seen = [v for v in (self.a_db, self.b_db) if v is not None]
        return sum(seen) / len(seen) if seen else math.nan

    @property
    def difference_db(self) -> float | None:
        """|a - b| (dB) when both directions were measured."""
        return None if self.a_db is None or self.b_db is None else abs(self.a_db - self.b_db)


def sees_whole_link(a: OtdrAnalysis, b: OtdrAnalysis, length_m: float,
                    bounds: tuple[float, float]) -> bool:
    """Whether each trace's fibre end lies beyond the link's far connector as seen from it
    (the receive cable's end, or the far connector itself without one): no break in the link."""
    first, last = bounds
    tol = max(a.pulse_length_m, b.pulse_length_m) + 2 * max(a.spacing_m, b.spacing_m)
    return (a.end_m is not None and b.end_m is not None and a.end_m >= last - tol
            and b.end_m >= length_m - first - tol)


def link_loss(a: OtdrAnalysis, b: OtdrAnalysis, length_m: float,
              bounds: tuple[float, float]) -> LinkLoss:
    """The link loss between the connectors at ``bounds`` (m from the first station) from each
    trace: the level of the backscatter line before the first connector (the launch cable; the
    launch level when the trace starts after it) less the level of the line after the last
    (the receive cable), both at the connectors. A direction without a line after its far
    connector (no receive cable) is None: its far connector's loss cannot be measured."""
    first, last = bounds
    return LinkLoss(first, last, _between(a, first, last), _between(b, length_m - last, length_m - first))


def _between(t: OtdrAnalysis, near_m: float, far_m: float) -> float | None:
    before = _line(t, near_m, before=True)
    after = _line(t, far_m, before=False)
    if before is None and near_m <= t.start_m + t.pulse_length_m:
        before = t.launch_level_db
    if before is None or after is None:
        return None
    return before - after


def _line(t: OtdrAnalysis, x: float, before: bool) -> float | None:
    """The level at ``x`` (dB) of the LSA line of the clean section just before (or after) the
    event at ``x``; a section running across ``x`` (the event was not found) is used as is."""
    tol = t.pulse_length_m + 2 * t.spacing_m
    for s in (reversed(t.sections) if before else t.sections):
        if s.start_m <= x <= s.end_m:
            return s.level_at(x)
        if (before and x - 20 * tol <= s.end_m <= x + tol and s.end_m > s.start_m) or \
                (not before and x - tol <= s.start_m <= x + 20 * tol):
            return s.level_at(x)
    return None


def _link_bounds(a: OtdrAnalysis, b: OtdrAnalysis, length: float) -> tuple[float, float]:
    """The link's first and last connectors (m from the first station) when not given: the
    first event each trace shows after its launch cable (reflective or not: an APC connector
    under the reflectance threshold is a step), as a test set with launch and receive cables
    has it; a trace with no event: where it starts (no launch cable). Ghosts (an analysis
    that flags them) and ends are not connectors."""
    def first(t: OtdrAnalysis) -> float:
        found = [e.distance_m for e in t.events
                 if e.type != "end" and not getattr(e, "ghost", False) and e.distance_m >= t.start_m]
        return min(found, default=t.start_m)
    return first(a), length - first(b)


def align(ea: list[OtdrEvent], eb: list[OtdrEvent], length_m: float, reach_a_m: float,
          reach_b_m: float, tol_m: float) -> tuple[float, int]:
    """(length offset m, events it pairs): the offset d for which the most events seen from
    both ends satisfy x_a + x_b ≈ L + d (within ``tol_m``), |d| <= ``ALIGN_SEARCH_M``."""
    cands = []
    for i, x in enumerate(ea):
        for j, y in enumerate(eb):
            d = x.distance_m + y.distance_m - length_m
            if abs(d) <= ALIGN_SEARCH_M and x.distance_m <= reach_a_m and y.distance_m <= reach_b_m:
                w = 1.0 / (_pos_sd(x) ** 2 + _pos_sd(y) ** 2)
                cands.append((d, w, i, j))
    best: tuple[int, float, float] = (0, 0.0, 0.0)
    for d0, _, _, _ in cands:
        near = [(d, w, i, j) for d, w, i, j in cands if abs(d - d0) <= tol_m]
        count = min(len({i for *_, i, _ in near}), len({j for *_, j in near}))
        weight = sum(w for _, w, _, _ in near)
        if (count, weight) > best[:2]:
            best = (count, weight, sum(d * w for d, w, _, _ in near) / weight)
    return (best[2], best[0]) if best[0] else (0.0, 0)


def _pos_sd(e: OtdrEvent) -> float:
    return e.position_uncertainty_m if math.isfinite(e.position_uncertainty_m) else 100.0


def _both(x: OtdrEvent, y: OtdrEvent, length: float) -> MergedEvent:
    """One event seen from both ends (``x`` from the first station, ``y`` from the second)."""
    from_a = (_pos_sd(x), x.uncertainty_db) <= (_pos_sd(y), y.uncertainty_db)  # ties: better SNR
    pos, sd = (x.distance_m, _pos_sd(x)) if from_a else (length - y.distance_m, _pos_sd(y))
    kind = "reflective" if "reflective" in (x.type, y.type) else "non-reflective"
    refl = [r for r in (x.reflectance_db, y.reflectance_db) if r is not None]
    m = MergedEvent(pos, x.loss_db, y.loss_db, kind, sd, 0.5 * math.hypot(x.uncertainty_db, y.uncertainty_db),
                    "a" if from_a else "b", max(refl) if refl else None)
    if m.gainer:
        side = "first" if x.loss_db < 0 else "second"
        m.note = (f"gainer from the {side} station ({min(x.loss_db, y.loss_db):+.3f} dB, "
                  f"{max(x.loss_db, y.loss_db):+.3f} dB from the other): mode-field mismatch; "
                  f"the two-direction average {m.loss_db:.3f} dB is the loss")
    return m


def _one(e: OtdrEvent, other: OtdrAnalysis, length: float, first: bool) -> MergedEvent:
    """An event found from one end only, measured from the other end where its trace allows."""
    pos = e.distance_m if first else length - e.distance_m
    there = length - pos if first else pos  # the same point in the other trace's frame
    forced = None
    if e.type == "non-reflective" and other.start_m < there < other.reach_m - other.pulse_length_m:
        try:
            loss, sd = other.loss_at(there)
            forced = loss if sd <= FORCED_MAX_SD_DB else None
        except ValueError:
            forced = None
    la, lb = (e.loss_db, forced) if first else (forced, e.loss_db)
    m = MergedEvent(pos, la, lb, e.type, _pos_sd(e), e.uncertainty_db, "a" if first else "b",
                    e.reflectance_db, ("b" if first else "a") if forced is not None else "")
    if m.gainer:
        m.note = (f"gain {e.loss_db:+.3f} dB found from the {'first' if first else 'second'} "
                  f"station, {forced:+.3f} dB measured from the other: mode-field mismatch; "
                  f"the two-direction average {m.loss_db:.3f} dB is the loss")
    elif forced is None and e.loss_db < 0:
        m.note = "gain seen from one direction only: not explained by the other side"
    return m


def _stitch_point(events: list[MergedEvent], overlap: tuple[float, float]) -> float:
    """The middle of the longest event-free stretch inside the overlap (m)."""
    marks = [overlap[0]] + [e.distance_m for e in events if overlap[0] < e.distance_m < overlap[1]] + [overlap[1]]
    gaps = [(marks[i + 1] - marks[i], marks[i]) for i in range(len(marks) - 1)]
    width, start = max(gaps)
    return start + width / 2
