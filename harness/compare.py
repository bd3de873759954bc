"""``harness compare BASELINE RUN``: what changed on the cable since the baseline, where, and
by how much, judged against the ``maintenance:`` section of a limits file.

Per fibre and wavelength the two stations' traces are joined (as the plan joins them) and the
joined events of the run are matched to the baseline's by position, within the larger pulse
length of the two runs: an unmatched event of the run is ``new``, an unmatched baseline event
``removed``, a matched one whose loss changed ``grown`` (or ``reduced``). Where only one
station's trace exists its own events are compared. Then per station section attenuation and
ORL, per fibre the stitched end-to-end loss (or a ``break``), per received channel the OSNR and
per receiving card the Q. Every new event is located from both landings and against the
route plan (nearest record). Distances in m from the first station; losses in dB.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.compare_load import RunView, load_run
from harness.config import ConfigError
from instruments.safe_yaml import load_yaml_file

MAINTENANCE_KEYS = {
    "new_event_loss_db": "a new event losing this much or more (dB) crosses the limit",
    "new_event_report_db": "a new event is listed from this loss (dB)",
    "new_reflectance_db": "a new reflective event above this reflectance (dB) crosses the limit",
    "event_loss_growth_db": "an event's loss grown by more than this (dB) crosses the limit",
    "event_loss_report_db": "a matched event's loss change is listed from this (dB)",
    "event_loss_db": "an event's loss above this (dB) is due for repair (trend's limit)",
    "attenuation_increase_db_per_km": "section attenuation rise (dB/km) crossing the limit",
    "end_to_end_loss_increase_db": "stitched end-to-end loss rise (dB) crossing the limit",
    "orl_decrease_db": "ORL fall (dB) crossing the limit",
    "osnr_decrease_db": "per-channel OSNR fall (dB, 0.1 nm) crossing the limit",
    "q_decrease_db": "Q fall (dB) crossing the limit",
}


def load_maintenance(path: Path) -> dict[str, float]:
    """The ``maintenance:`` section of a limits file (every key of :data:`MAINTENANCE_KEYS`,
    numbers); a missing section or key raises :class:`ConfigError` naming it."""
    data = load_yaml_file(Path(path), ConfigError)
    section = data.get("maintenance") if isinstance(data, dict) else None
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: no maintenance: section (limits for comparing campaigns)")
    out = {}
    for key in MAINTENANCE_KEYS:
        value = section.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise ConfigError(f"{path}: maintenance.{key}: missing or not a number")
        out[key] = float(value)
    return out


@dataclass
class Change:
    """One change between the baseline and the run. ``distance_m`` from the first station;
    ``value_*`` in ``units`` (for events, the loss in dB, as ``loss_db_*``); ``exceeds``: it
    crosses its maintenance limit ``limit``."""

    fibre: str
    station: str
    wavelength_nm: float | None
    distance_m: float | None
    kind: str
    loss_db_before: float | None
    loss_db_after: float | None
    quantity: str = "event_loss"
    units: str = "dB"
    value_before: float | None = None
    value_after: float | None = None
    limit: float | None = None
    exceeds: bool = False
    located: dict[str, Any] = field(default_factory=dict)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in asdict(self).items()}


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, 6)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def locate(view: RunView, distance_m: float) -> dict[str, Any]:
    """Where ``distance_m`` (from the first station) is: km from each landing, and the
    nearest record of the route plan with the offset from it (m)."""
    stations = view.stations
    out: dict[str, Any] = {f"km_from_{stations[0]}": distance_m / 1000.0}
    if len(stations) > 1:
        out[f"km_from_{stations[1]}"] = (view.length_m - distance_m) / 1000.0
    if view.route_events:
        near = min(view.route_events, key=lambda e: abs(float(e["distance_km"]) * 1000.0 - distance_m))
        out["nearest_record"] = {"label": near.get("label", ""), "kind": near.get("kind", ""),
                                 "distance_km": float(near["distance_km"]),
                                 "offset_m": distance_m - float(near["distance_km"]) * 1000.0}
    return out


def _match(before: list, after: list, tolerance_m: float) -> tuple[list, list, list]:
    """Pairs (b, a) nearest first within ``tolerance_m``; unmatched of each side."""
    pairs = sorted(((abs(b.distance_m - a.distance_m), i, j) for i, b in enumerate(before)
                    for j, a in enumerate(after)), key=lambda p: p[0])
    used_b, used_a, matched = set(), set(), []
    for gap, i, j in pairs:
        if gap <= tolerance_m and i not in used_b and j not in used_a:
            used_b.add(i), used_a.add(j)
            matched.append((before[i], after[j]))
    return (matched, [b for i, b in enumerate(before) if i not in used_b],
            [a for j, a in enumerate(after) if j not in used_a])


def _events(base: RunView, run: RunView, m: dict[str, float]) -> list[Change]:
    """Event changes per fibre and wavelength (joined view; one station's own where only one
    trace exists)."""
    out: list[Change] = []
    first = run.stations[0]
    views: list[tuple[str, str, float, list, list, float, Any]] = []
    for (fibre, wl), joined in run.joined.items():
        if (fibre, wl) in base.joined:
            pulse = max(t.analysis.pulse_length_m for t in (*run.traces.values(), *base.traces.values())
                        if t.fibre == fibre and t.wavelength_nm == wl)
            views.append((fibre, "", wl, base.joined[(fibre, wl)].events, joined.events, pulse, None))
    for (station, fibre, wl), trace in run.traces.items():
        if (fibre, wl) in run.joined or (station, fibre, wl) not in base.traces:
            continue
        old = base.traces[(station, fibre, wl)].analysis
        pulse = max(old.pulse_length_m, trace.analysis.pulse_length_m)
        views.append((fibre, station, wl, [e for e in old.events if e.type != "end"],
                      [e for e in trace.analysis.events if e.type != "end"], pulse, station))
    for fibre, station, wl, before, after, tolerance, own in views:
        def frame(d: float) -> float:  # one station's own distances into the first's frame
            return d if own in (None, first) else run.length_m - d

        def who(e: Any) -> str:
            if own:
                return own
            return {"a": run.stations[0], "b": run.stations[-1]}.get(getattr(e, "located_from", ""), first)
        matched, removed, new = _match(before, after, tolerance)
        for e in new:
            reflective = e.reflectance_db is not None and not math.isnan(e.reflectance_db or math.nan)
            if abs(e.loss_db) < m["new_event_report_db"] and not reflective:
                continue
            exceeds = e.loss_db >= m["new_event_loss_db"] or (
                reflective and e.reflectance_db > m["new_reflectance_db"])
            d = frame(e.distance_m)
            out.append(Change(fibre, who(e), wl, d, "new", None, e.loss_db, value_after=e.loss_db,
                              limit=m["new_event_loss_db"], exceeds=exceeds, located=locate(run, d),
                              detail=f"{e.type}" + (f", reflectance {e.reflectance_db:.1f} dB"
                                                    if reflective else "")))
        for b, a in matched:
            delta = a.loss_db - b.loss_db
            if abs(delta) < m["event_loss_report_db"]:
                continue
            d = frame(a.distance_m)
            out.append(Change(fibre, who(a), wl, d, "grown" if delta > 0 else "reduced", b.loss_db,
                              a.loss_db, value_before=b.loss_db, value_after=a.loss_db,
                              limit=m["event_loss_growth_db"], exceeds=delta > m["event_loss_growth_db"],
                              located=locate(run, d), detail=f"{delta:+.3f} dB"))
        for b in removed:
            if abs(b.loss_db) < m["new_event_report_db"]:
                continue
            d = frame(b.distance_m)
            out.append(Change(fibre, who(b), wl, d, "removed", b.loss_db, None, value_before=b.loss_db,
                              located=locate(run, d), detail="no longer seen (repaired or re-spliced?)"))
    return out


def _scalar(fibre: str, station: str, wl: float | None, kind: str, units: str, before: float | None,
            after: float | None, worse: float | None, limit: float, loss: bool = False) -> Change | None:
    """A change of one value; ``worse``: how much worse the run is (positive = degraded).
    None when it is not worth listing: unmeasured, or within half its limit either way."""
    if before is None or after is None or worse is None or not (math.isfinite(before) and math.isfinite(after)):
        return None
    if worse <= limit and abs(after - before) < 0.5 * limit:
        return None  # within half its limit: not a change worth listing
    return Change(fibre, station, wl, None, kind, before if loss else None, after if loss else None,
                  quantity=kind, units=units, value_before=before, value_after=after, limit=limit,
                  exceeds=worse > limit, detail=f"{after - before:+.3f} {units}")


def compare(base: RunView, run: RunView, m: dict[str, float]) -> list[Change]:
    """Every change from ``base`` to ``run`` (see the module docstring)."""
    changes = _events(base, run, m)
    for key, trace in sorted(run.traces.items()):
        old = base.traces.get(key)
        if old is None:
            continue
        station, fibre, wl = key
        a, b = old.analysis, trace.analysis
        for c in (_scalar(fibre, station, wl, "attenuation", "dB/km", a.attenuation_db_per_km,
                          b.attenuation_db_per_km, b.attenuation_db_per_km - a.attenuation_db_per_km,
                          m["attenuation_increase_db_per_km"]),
                  _scalar(fibre, station, wl, "orl", "dB", a.orl_db, b.orl_db,
                          None if a.orl_db is None or b.orl_db is None else a.orl_db - b.orl_db,
                          m["orl_decrease_db"])):
            if c is not None:
                changes.append(c)
    for (fibre, wl), joined in sorted(run.joined.items()):
        old = base.joined.get((fibre, wl))
        if old is None:
            continue
        if old.continuous and not joined.continuous:
            end = joined.end_a_m if joined.end_a_m is not None else (
                run.length_m - joined.end_b_m if joined.end_b_m is not None else None)
            changes.append(Change(fibre, run.stations[0], wl, end, "break", None, None,
                                  quantity="continuity", units="", exceeds=True, limit=None,
                                  located=locate(run, end) if end is not None else {},
                                  detail=joined.break_description()))
            continue
        c = _scalar(fibre, "", wl, "end_to_end_loss", "dB", old.end_to_end_loss_db,
                    joined.end_to_end_loss_db, joined.end_to_end_loss_db - old.end_to_end_loss_db,
                    m["end_to_end_loss_increase_db"], loss=True)
        if c is not None:
            changes.append(c)
    for key, channels in sorted(run.channels.items()):
        station, fibre = key
        old = {round(c.grid_thz, 4): c for c in base.channels.get(key, [])}
        for ch in channels:
            prev = old.get(round(ch.grid_thz, 4))
            if prev is None or prev.osnr_db is None or ch.osnr_db is None:
                continue
            c = _scalar(fibre, station, round(ch.center_nm, 3), "osnr", "dB (0.1 nm)", prev.osnr_db,
                        ch.osnr_db, prev.osnr_db - ch.osnr_db, m["osnr_decrease_db"])
            if c is not None:
                changes.append(c)
    for key, q in sorted(run.q_db.items()):
        station, fibre = key
        c = _scalar(fibre, station, None, "q", "dB", base.q_db.get(key), q,
                    None if key not in base.q_db else base.q_db[key] - q, m["q_decrease_db"])
        if c is not None:
            changes.append(c)
    return changes


def compare_runs(baseline: Path, run: Path, limits: Path, trust: bool = False
                 ) -> tuple[RunView, RunView, list[Change], dict[str, float]]:
    """Load both runs and the maintenance limits, and compare."""
    m = load_maintenance(limits)
    base, new = load_run(baseline, trust), load_run(run, trust)
    return base, new, compare(base, new, m), m
