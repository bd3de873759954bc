"""Where a .sor file's distances start: the SR-4731 user offset, checked against the file.

SR-4731 (issue 2) counts key-event times from the user offset (GenParams "user offset", 100 ps
from the front panel: the end of a launch cable) and places the first data point at the
acquisition offset (FxdParams, 100 ps from the front panel). The reader puts the trace on that
axis; the analysis works from the OTDR port (the user offset added back). Verified on the real
files in tests/data/sor: the Noyes OFL280 (user offset 503 m, acquisition offset -2147) and the
Noyes M200 (user offset 153 m) key events fall on their trace features only this way.

Writers disagree on the field's sign and on which field holds it (reporting software re-saving
a file; GenParams "user offset distance" in metres or tenths of the distance unit). So the
origin used is the SR-4731 one unless the file's own key-event table, compared with the
analysis, says plainly that another reading of those fields is the instrument's: the reading
that puts strictly more of the file's key events on events found in the trace (within
max(10 m, 2 samples, half the pulse length)) wins. With no key events, SR-4731 as written.
"""

from __future__ import annotations

from typing import Any

from harness.sor.record import time_to_distance_m


def origin_candidates(record: Any) -> list[float]:
    """Readings (m from the OTDR port) of the file's origin, SR-4731's first: the user offset,
    its opposite sign, none, and the user-offset distance (metres, or tenths of the unit)."""
    g, fx = record.general, record.fixed
    if g is None:
        return [0.0]
    u = time_to_distance_m(g.user_offset, fx.group_index)
    out = [u, -u, 0.0]
    if g.user_offset_distance and fx.units.strip().lower() in ("mt", "m"):
        out += [g.user_offset_distance / 10.0, float(g.user_offset_distance)]
    unique: list[float] = []
    for x in out:
        if all(abs(x - y) > 1e-6 for y in unique):
            unique.append(x)
    return unique


def origin_m(record: Any, found_m: list[float], tolerance_m: float) -> float:
    """The origin (m from the OTDR port) that the file's key events confirm; ``found_m``: the
    analysis' event distances from the port (the end included)."""
    candidates = origin_candidates(record)
    table = [e.distance_m for e in record.events.events] if record.events else []
    if not table or not found_m:
        return candidates[0]

    def hits(origin: float) -> int:
        return sum(any(abs(x - origin - t) <= tolerance_m for x in found_m) for t in table)

    best = candidates[0]
    for c in candidates[1:]:
        if hits(c) > hits(best):
            best = c
    return best
