"""Bidirectional OTDR: two traces of one fibre, one from each station, joined into one view.

Events from the far station are moved into the first station's distance frame
(x = route length − x_far) and matched within a tolerance; a matched event's loss is the
average of the two directions (which cancels the mode-field "gainer" effect); an event seen
from one side only keeps that side's loss. The end-to-end loss adds the loss seen from each
end up to a stitch point in the overlap of the two traces' reach.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.analysis.otdr import OtdrAnalysis


@dataclass
class MergedEvent:
    """An event in the first station's frame (m) with its loss per direction and averaged (dB)."""

    distance_m: float
    loss_a_db: float | None
    loss_b_db: float | None
    type: str

    @property
    def loss_db(self) -> float:
        seen = [v for v in (self.loss_a_db, self.loss_b_db) if v is not None]
        return sum(seen) / len(seen)

    @property
    def directions(self) -> int:
        return sum(v is not None for v in (self.loss_a_db, self.loss_b_db))


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

    @property
    def continuous(self) -> bool:
        return self.end_a_m is None and self.end_b_m is None

    def break_description(self) -> str:
        parts = []
        if self.end_a_m is not None:
            parts.append(f"fibre ends at {self.end_a_m / 1000:.2f} km seen from the first station")
        if self.end_b_m is not None:
            parts.append(f"at {(self.length_m - self.end_b_m) / 1000:.2f} km "
                         f"({self.end_b_m / 1000:.2f} km from the second station)")
        return ", ".join(parts) + f" on a {self.length_m / 1000:.1f} km route: break"


def merge(a: OtdrAnalysis, b: OtdrAnalysis, length_m: float, tolerance_m: float | None = None) -> Bidirectional:
    """Join trace ``a`` (from the first station) and ``b`` (from the second)."""
    tol = tolerance_m or max(a.pulse_length_m, b.pulse_length_m, 500.0)
    from_b = [(length_m - e.distance_m, e) for e in b.events if e.type != "end"]
    used = set()
    merged = []
    for e in a.events:
        if e.type == "end":
            continue
        match = None
        for i, (x, eb) in enumerate(from_b):
            if i not in used and abs(x - e.distance_m) <= tol:
                match = i
                break
        if match is None:
            merged.append(MergedEvent(e.distance_m, e.loss_db, None, e.type))
        else:
            used.add(match)
            x, eb = from_b[match]
            merged.append(MergedEvent((e.distance_m + x) / 2, e.loss_db, eb.loss_db, e.type))
    for i, (x, eb) in enumerate(from_b):
        if i not in used:
            merged.append(MergedEvent(x, None, eb.loss_db, eb.type))
    merged.sort(key=lambda m: m.distance_m)
    overlap = (length_m - b.reach_m, a.reach_m)
    stitch = None
    loss = float("nan")
    if a.end_m is None and b.end_m is None and overlap[1] > overlap[0]:
        stitch = _stitch_point(merged, overlap)
        loss = (a.launch_level_db - a.level_at(stitch)) + (b.launch_level_db - b.level_at(length_m - stitch))
    return Bidirectional(merged, length_m, a.end_m, b.end_m, overlap, stitch, loss)


def _stitch_point(events: list[MergedEvent], overlap: tuple[float, float]) -> float:
    """The middle of the longest event-free stretch inside the overlap (m)."""
    marks = [overlap[0]] + [e.distance_m for e in events if overlap[0] < e.distance_m < overlap[1]] + [overlap[1]]
    gaps = [(marks[i + 1] - marks[i], marks[i]) for i in range(len(marks) - 1)]
    width, start = max(gaps)
    return start + width / 2
