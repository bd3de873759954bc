"""The report's data model: everything the typst template prints, as plain JSON-ready data.

Numbers are formatted here (the template only lays text out), and the raw values stay beside
the formatted ones so tests can check them. User strings are never pasted into typst markup:
the template reads this model with ``json()`` and shows strings as text.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from harness.report.record import Check, Event, Measurement, RunRecord, Trace, sha256_file

VERDICT_ORDER = ("fail", "error", "marginal", "skipped", "pass")
"""Order of the check table: failures and errors first, passes last."""

VERDICT_LABEL = {"pass": "PASS", "marginal": "MARGINAL", "fail": "FAIL", "error": "ERROR",
                 "skipped": "SKIPPED"}

EXCLUDED_FILES = ("report.pdf", "manifest.json", "signatures.json")
"""Files of a run folder not hashed in the report: the report itself, and what is made from it."""

EVENT_MATCH_M = 1000.0
"""Events seen from both ends within this distance (m) are the same event."""

ROLE_ORDER = ("otdr", "osa", "transponder")


# --- formatting ------------------------------------------------------------------------------
def finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def num(v: float | None) -> float | None:
    """A JSON-safe number (None for NaN/inf)."""
    return float(v) if v is not None and finite(float(v)) else None


def fmt(v: float | None, signed: bool = False) -> str:
    """A measured value with a precision fitting its size: 8012, 63.2, 16.25, 2.431, 0.163, 1.8e-04."""
    if v is None or not finite(v):
        return "—"
    a = abs(v)
    if a != 0 and (a < 1e-3 or a >= 1e6):
        s = f"{v:+.2e}" if signed else f"{v:.2e}"
    else:
        decimals = 0 if a >= 1000 else 1 if a >= 100 else 2 if a >= 10 else 3
        s = f"{v:+.{decimals}f}" if signed else f"{v:.{decimals}f}"
    return s.replace("-", "−")


def _fixed(v: float | None, decimals: int, signed: bool = False) -> str:
    if v is None or not finite(v):
        return "—"
    return (f"{v:+.{decimals}f}" if signed else f"{v:.{decimals}f}").replace("-", "−")


def fmt_limit(v: float) -> str:
    """A limit as written in the limits file (shortest form)."""
    return f"{v:g}".replace("-", "−")


def margin(m: Measurement) -> float:
    """Distance from the value to the nearest limit, in the measurement's units; negative when
    the value is outside its limits, NaN when it has no limit or was not measured."""
    gaps = []
    if finite(m.low):
        gaps.append(m.value - m.low)
    if finite(m.high):
        gaps.append(m.high - m.value)
    return min(gaps) if gaps and finite(m.value) else math.nan


def limit_text(m: Measurement) -> str:
    lo, hi = finite(m.low), finite(m.high)
    if lo and hi:
        return f"{fmt_limit(m.low)} … {fmt_limit(m.high)}"
    if hi:
        return f"≤ {fmt_limit(m.high)}"
    if lo:
        return f"≥ {fmt_limit(m.low)}"
    return "—"


def marginal_text(m: Measurement) -> str:
    parts = []
    if finite(m.marginal_low):
        parts.append(f"≥ {fmt_limit(m.marginal_low)}")
    if finite(m.marginal_high):
        parts.append(f"≤ {fmt_limit(m.marginal_high)}")
    return " and ".join(parts)


def margin_units(units: str) -> str:
    """Units of a difference: "dB (0.1 nm)" → "dB"."""
    return re.sub(r"\s*\(.*\)$", "", units).strip()


def pretty_name(name: str) -> str:
    return name.replace("_", " ")


def wavelength_text(wl: float) -> str:
    return f"{wl:.0f}" if finite(wl) else "—"


def natural_key(s: str) -> list:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", s or "")]


def parse_utc(s: str) -> dt.datetime | None:
    if not s:
        return None
    try:
        t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def utc_text(s: str) -> str:
    t = parse_utc(s)
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if t else (s or "—")


def duration_text(seconds: float) -> str:
    if not finite(seconds):
        return "—"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s" if m else f"{s} s"


# --- checks ----------------------------------------------------------------------------------
def verdict_rank(verdict: str) -> int:
    return VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else 0


def check_sort_key(c: Check, stations: list[str]) -> tuple:
    station_rank = stations.index(c.station) if c.station in stations else -1
    return (verdict_rank(c.verdict), natural_key(c.requirement), c.title.lower(),
            natural_key(c.fibre), station_rank,
            c.wavelength_nm if finite(c.wavelength_nm) else -1.0, c.key)


def measurement_row(m: Measurement) -> dict[str, Any]:
    mg = margin(m)
    return {
        "name": m.name, "label": pretty_name(m.name), "description": m.description,
        "value": num(m.value), "value_text": fmt(m.value) if finite(m.value) else "not measured",
        "units": m.units, "limit_text": limit_text(m), "marginal_text": marginal_text(m),
        "low": num(m.low), "high": num(m.high),
        "margin": num(mg),
        "margin_text": f"{fmt(mg, signed=True)} {margin_units(m.units)}".strip() if finite(mg) else "—",
        "verdict": m.verdict or "error",
    }


def check_rows(record: RunRecord) -> list[dict[str, Any]]:
    """Every check, failures and errors first, with its measurements judged and formatted."""
    rows = []
    for c in sorted(record.checks, key=lambda c: check_sort_key(c, record.stations)):
        rows.append({
            "key": c.key, "nodeid": c.nodeid, "title": c.title, "requirement": c.requirement or "—",
            "station": c.station or ("both" if c.fibre else "—"), "fibre": c.fibre or "—",
            "wavelength_nm": num(c.wavelength_nm), "wavelength_text": wavelength_text(c.wavelength_nm),
            "verdict": c.verdict, "verdict_label": VERDICT_LABEL.get(c.verdict, c.verdict.upper()),
            "message": c.message,
            "show_message": bool(c.message) and c.verdict in ("fail", "error", "marginal", "skipped"),
            "measurements": [measurement_row(m) for m in c.measurements],
        })
    return rows


def counts(record: RunRecord) -> dict[str, int]:
    out = {v: 0 for v in ("pass", "marginal", "fail", "error", "skipped")}
    for c in record.checks:
        out[c.verdict] = out.get(c.verdict, 0) + 1
    return out


def requirement_summary(record: RunRecord) -> list[dict[str, Any]]:
    """One row per (requirement, check title): how many checks of each verdict."""
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for c in record.checks:
        g = groups.setdefault((c.requirement or "—", c.title), {})
        g[c.verdict] = g.get(c.verdict, 0) + 1
    rows = []
    for (req, title), n in sorted(groups.items(), key=lambda kv: (natural_key(kv[0][0]), kv[0][1])):
        worst = min(n, key=verdict_rank)
        rows.append({"requirement": req, "title": title, "total": sum(n.values()),
                     **{v: n.get(v, 0) for v in ("pass", "marginal", "fail", "error", "skipped")},
                     "verdict": worst})
    return rows


# --- OTDR ------------------------------------------------------------------------------------
def span_length_m(record: RunRecord) -> float:
    v = record.attrs.get("span_length_km")
    try:
        return float(v) * 1000.0
    except (TypeError, ValueError):
        return math.nan


def is_reverse(t: Trace, stations: list[str]) -> bool:
    """Whether the trace was shot from the far station (its distances run the other way)."""
    if len(stations) < 2:
        return False
    origin = t.station or t.direction.split("→")[0].strip()
    return origin != stations[0] and origin in stations[1:]


def to_reference(distance_m: float, reverse: bool, span_m: float) -> float:
    """Distance from the first station of a position measured from the trace's own station."""
    return span_m - distance_m if reverse and finite(span_m) else distance_m


def _direction(t: Trace, stations: list[str]) -> str:
    if t.direction:
        return t.direction
    others = [s for s in stations if s != t.station]
    return f"{t.station}→{others[0]}" if others else t.station


def _splice_limit(record: RunRecord, fibre: str, wl: float) -> float:
    for c in record.checks:
        if c.fibre == fibre and (not finite(wl) or not finite(c.wavelength_nm) or c.wavelength_nm == wl):
            for m in c.measurements:
                if "splice" in m.name and finite(m.high):
                    return m.high
    return math.nan


def _bidir_events(record: RunRecord, fibre: str, wl: float) -> list[Event]:
    """Two-direction averaged events stored by a check on this fibre and wavelength."""
    for c in record.checks:
        if c.fibre == fibre and (c.wavelength_nm == wl or not finite(wl)):
            for name, events in c.events.items():
                if name.startswith("bidir"):
                    return events
    return []


def event_table(traces: list[tuple[Trace, bool]], span_m: float, stations: list[str],
                bidir: list[Event], splice_limit: float) -> list[dict[str, Any]]:
    """Events of both directions matched by position (from the first station).

    Each row: position, type, loss seen from each station, the two-direction average (the
    stored one where a check computed it, else the mean where both ends saw the event),
    worst reflectance, and whether the average exceeds the splice limit.
    """
    points = []  # (pos from A, direction index, event)
    for i, (t, reverse) in enumerate(traces):
        for e in t.events or []:
            points.append((to_reference(e.distance_m, reverse, span_m), i, e))
    points.sort(key=lambda p: (p[0], p[1]))
    rows: list[dict[str, Any]] = []
    for pos, i, e in points:
        target = None
        if e.type != "end":
            for r in rows:
                if (i not in r["_by"] and r["type"] != "end" and abs(r["_pos"] - pos) <= EVENT_MATCH_M):
                    target = r
                    break
        if target is None:
            target = {"_pos": pos, "_by": {}, "type": e.type}
            rows.append(target)
        target["_by"][i] = e
        if e.type == "reflective":
            target["type"] = "reflective"
    out = []
    for n, r in enumerate(sorted(rows, key=lambda r: r["_pos"]), start=1):
        by = r["_by"]
        pos = float(np.mean([to_reference(e.distance_m, traces[i][1], span_m) for i, e in by.items()]))
        losses = [by[i].loss_db if i in by else math.nan for i in range(len(traces))]
        avg = math.nan
        stored = [b for b in bidir if abs(b.distance_m - pos) <= EVENT_MATCH_M]
        if stored and r["type"] != "end":
            avg = min(stored, key=lambda b: abs(b.distance_m - pos)).loss_db
        elif len(by) >= 2 and all(finite(v) for v in losses):
            avg = float(np.mean(losses))
        refl = [e.reflectance_db for e in by.values() if finite(e.reflectance_db)]
        seen = [v for v in losses if finite(v)]
        judged = avg if finite(avg) else (seen[0] if len(seen) == 1 else math.nan)
        over = r["type"] == "non-reflective" and finite(splice_limit) and finite(judged) and judged > splice_limit
        out.append({
            "n": n, "position_m": pos, "position_text": f"{pos / 1000:.3f}",
            "type": r["type"], "losses": [num(v) for v in losses],
            "loss_texts": [_fixed(v, 3) for v in losses],
            "average": num(avg), "average_text": _fixed(avg, 3),
            "reflectance": num(max(refl)) if refl else None,
            "reflectance_text": _fixed(max(refl), 1) if refl else "—",
            "over_limit": bool(over),
        })
    return out


def otdr_groups(record: RunRecord) -> list[dict[str, Any]]:
    """One group per (fibre, wavelength, pulse width): both directions, their events, the figure
    to draw. The long-pulse shots over the span and the short-pulse station shots (ACC-5) are
    drawn apart, longest pulse first."""
    span_m = span_length_m(record)
    groups: dict[tuple[str, float, float], list[Trace]] = {}
    for t in record.traces.values():
        if t.kind == "otdr":
            pulse = _f(t.attrs.get("pulse_width_ns"))
            groups.setdefault((t.fibre, t.wavelength_nm if finite(t.wavelength_nm) else -1.0,
                               pulse if finite(pulse) else 0.0), []).append(t)
    out = []
    for (fibre, wl, pulse), traces in sorted(
            groups.items(), key=lambda kv: (natural_key(kv[0][0]), kv[0][1], -kv[0][2])):
        traces.sort(key=lambda t: (is_reverse(t, record.stations),
                                   record.stations.index(t.station) if t.station in record.stations else 99,
                                   t.direction, t.id))
        oriented = [(t, is_reverse(t, record.stations)) for t in traces]
        splice_limit = _splice_limit(record, fibre, wl)
        events = event_table(oriented, span_m, record.stations, _bidir_events(record, fibre, wl),
                             splice_limit)
        related = [c for c in record.checks if c.fibre == fibre and any(t.id in c.traces for t in traces)]
        worst = min((c.verdict for c in related), key=verdict_rank, default="pass")
        slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{fibre}-{wl:.0f}-{pulse:.0f}").strip("-") or "trace"
        out.append({
            "fibre": fibre or "—", "wavelength_nm": num(wl if wl >= 0 else math.nan),
            "wavelength_text": wavelength_text(wl if wl >= 0 else math.nan),
            "pulse_text": _pulse_text(pulse) if pulse > 0 else "",
            "figure": f"otdr-{slug}.svg", "trace_ids": [t.id for t in traces],
            "reverse": [rev for _, rev in oriented],
            "directions": [{
                "direction": _direction(t, record.stations), "station": t.station,
                "reverse": rev, "points": int(t.x.size),
                "pulse_text": _pulse_text(t.attrs.get("pulse_width_ns")),
                "averaging_text": duration_text(_f(t.attrs.get("averaging_s"))),
                "idn": str(t.attrs.get("instrument_idn", "")),
                "events": len(t.events or []),
            } for t, rev in oriented],
            "events": events, "splice_limit": num(splice_limit),
            "splice_limit_text": fmt_limit(splice_limit) if finite(splice_limit) else "",
            "verdict": worst,
            "checks": [{"title": c.title, "requirement": c.requirement, "verdict": c.verdict,
                        "station": c.station,
                        "values": "; ".join(f"{fmt(m.value)} {m.units}" for m in c.measurements)}
                       for c in sorted(related, key=lambda c: check_sort_key(c, record.stations))],
            "reference": record.stations[0] if record.stations else "",
        })
    return out


def _f(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _pulse_text(v: Any) -> str:
    ns = _f(v)
    if not finite(ns):
        return "—"
    return f"{ns / 1000:g} µs" if ns >= 1000 else f"{ns:g} ns"


# --- OSA -------------------------------------------------------------------------------------
def osa_channels(t: Trace) -> tuple[list[dict[str, Any]], str]:
    """Channels found in a spectrum (IEC 61280-2-9 interpolation) and a note when none could be."""
    try:
        from harness.analysis.osa import find_channels
    except ImportError:  # pragma: no cover - analysis package missing
        return [], "channel analysis not available"
    rbw = _f(t.attrs.get("rbw_nm"))
    spacing = _f(t.attrs.get("grid_spacing_ghz"))
    try:
        channels = find_channels(t.x, t.y, rbw_nm=rbw if finite(rbw) and rbw > 0 else 0.1,
                                 spacing_ghz=spacing if finite(spacing) and spacing > 0 else 100.0)
    except (ValueError, ZeroDivisionError, FloatingPointError) as exc:
        return [], f"channel analysis failed: {exc}"
    rows = [{"grid_thz": num(c.grid_thz), "grid_text": f"{c.grid_thz:.2f}",
             "center_nm": num(c.center_nm), "center_text": f"{c.center_nm:.3f}",
             "offset_ghz": num(c.offset_ghz), "offset_text": _fixed(c.offset_ghz, 2, signed=True),
             "power_dbm": num(c.power_dbm), "power_text": _fixed(c.power_dbm, 2),
             "osnr_db": num(c.osnr_db) if c.osnr_db is not None else None,
             "osnr_text": _fixed(c.osnr_db, 2) if c.osnr_db is not None else "n/a",
             "note": c.osnr_note} for c in channels]
    return rows, "" if rows else "no channel found above the noise floor"


def osa_sections(record: RunRecord) -> list[dict[str, Any]]:
    out = []
    for n, t in enumerate(sorted((t for t in record.traces.values() if t.kind == "osa"),
                                 key=lambda t: (natural_key(t.fibre), t.station, t.id))):
        related = [c for c in record.checks if t.id in c.traces]
        limit_low = next((m.low for c in related for m in c.measurements if finite(m.low)), math.nan)
        channels, note = osa_channels(t)
        for ch in channels:
            ch["below_limit"] = bool(finite(limit_low) and ch["osnr_db"] is not None
                                     and ch["osnr_db"] < limit_low)
        osnrs = [c["osnr_db"] for c in channels if c["osnr_db"] is not None]
        powers = [c["power_dbm"] for c in channels if c["power_dbm"] is not None]
        out.append({
            "fibre": t.fibre or "—", "station": t.station, "direction": t.direction,
            "figure": f"osa-{n:02d}.svg", "trace_id": t.id,
            "rbw_text": f"{_f(t.attrs.get('rbw_nm')):g} nm" if finite(_f(t.attrs.get("rbw_nm"))) else "—",
            "idn": str(t.attrs.get("instrument_idn", "")),
            "channels": channels, "note": note,
            "limit_low": num(limit_low), "limit_text": f"≥ {fmt_limit(limit_low)} dB" if finite(limit_low) else "",
            "min_osnr_text": fmt(min(osnrs)) if osnrs else "—",
            "flatness_text": fmt(max(powers) - min(powers)) if len(powers) > 1 else "—",
            "n_measured": len(osnrs),
            "verdict": min((c.verdict for c in related), key=verdict_rank, default="pass"),
        })
    return out


# --- PM --------------------------------------------------------------------------------------
PM_COLUMNS = (("rx_power_dbm", "Rx power", "dBm"), ("osnr_db", "OSNR", "dB"),
              ("pre_fec_ber", "pre-FEC BER", ""), ("uncorrected_blocks", "Uncorr. blocks", ""),
              ("cd_ps_nm", "CD", "ps/nm"), ("dgd_ps", "DGD", "ps"))


def pm_series(record: RunRecord) -> list[dict[str, Any]]:
    """PM readings grouped per (station, fibre, AID) into time series (sorted by time)."""
    groups: dict[tuple[str, str, str], list[Trace]] = {}
    for t in record.traces.values():
        if t.kind == "pm":
            groups.setdefault((t.station, t.fibre, str(t.attrs.get("aid", ""))), []).append(t)
    out = []
    for (station, fibre, aid), traces in sorted(groups.items(),
                                               key=lambda kv: (natural_key(kv[0][1]), kv[0][0], kv[0][2])):
        x = np.concatenate([t.x for t in traces])
        y = np.concatenate([t.y for t in traces])
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
        extra = {}
        for name, _, _ in PM_COLUMNS:
            parts = [t.extra[name] if name in t.extra and t.extra[name].size == t.x.size
                     else np.full(t.x.size, np.nan) for t in traces]
            extra[name] = np.concatenate(parts)[order]
        good = y[np.isfinite(y)]
        alarms = sorted({a for t in traces for a in _alarms(t)})
        row = {
            "station": station, "fibre": fibre or "—", "aid": aid or "—",
            "y_label": traces[0].y_label or "Q", "y_units": traces[0].y_units or "dB",
            "bins": int(x.size), "ids": [t.id for t in traces],
            "min_text": fmt(float(good.min())) if good.size else "—",
            "mean_text": fmt(float(good.mean())) if good.size else "—",
            "max_text": fmt(float(good.max())) if good.size else "—",
            "drift_text": fmt(float(good.max() - good.min())) if good.size > 1 else "—",
            "alarms": ", ".join(alarms) or "none",
            "_x": x, "_y": y,
        }
        for name, _, _ in PM_COLUMNS:
            v = extra[name]
            fin = v[np.isfinite(v)]
            if name == "uncorrected_blocks":
                row[name] = f"{int(round(float(fin.sum())))}" if fin.size else "—"
            elif name == "pre_fec_ber":
                row[name] = f"{fin.max():.1e}".replace("-", "−") if fin.size else "—"
            else:
                row[name] = fmt(float(fin.mean())) if fin.size else "—"
        out.append(row)
    return out


def _alarms(t: Trace) -> list[str]:
    import json

    raw = t.attrs.get("alarms", "")
    try:
        return [str(a) for a in json.loads(raw)] if raw else []
    except (TypeError, ValueError):
        return [str(raw)]


# --- files -----------------------------------------------------------------------------------
def data_files(run_dir: Path) -> list[dict[str, Any]]:
    """SHA-256 of every file of the run folder except the report and what is made from it."""
    files = sorted((p for p in run_dir.rglob("*") if p.is_file()
                    and p.relative_to(run_dir).as_posix() not in EXCLUDED_FILES
                    and not p.name.startswith(".")),
                   key=lambda p: (len(p.relative_to(run_dir).parts), p.relative_to(run_dir).as_posix()))
    return [{"name": p.relative_to(run_dir).as_posix(), "size": p.stat().st_size,
             "journal": p.relative_to(run_dir).parts[0] == "steps" and len(p.relative_to(run_dir).parts) > 1,
             "size_text": _size(p.stat().st_size), "sha256": sha256_file(p)} for p in files]


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return str(n)


def input_files(record: RunRecord) -> list[dict[str, Any]]:
    """The station and limits files the run used, their recorded hashes and the stored copies."""
    out = []
    for key, label, copy in (("station_file", "Station file", "inputs/station.yaml"),
                             ("limits_file", "Limits file", "inputs/limits.yaml")):
        recorded = str(record.attrs.get(f"{key}_sha256", "") or "")
        path = str(record.attrs.get(key, "") or "")
        copy_path = record.run_dir / copy
        status = ""
        if copy_path.is_file() and recorded:
            status = (f"matches {copy}" if sha256_file(copy_path) == recorded
                      else f"differs from {copy}")
        out.append({"label": label, "path": path or "—", "sha256": recorded or "—", "status": status})
    return out


def signers(run_dir: Path) -> list[dict[str, str]]:
    """Who is to sign (``inputs/signers.yaml``, written by ``--signers``): name, role and
    the OpenSSH SHA256 fingerprint of their Ed25519 key; empty when the run names nobody."""
    from harness.errors import HarnessError
    from harness.signing import load_signers

    path = run_dir / "inputs" / "signers.yaml"
    if not path.is_file():
        return []
    try:
        return [{"name": s.name, "role": s.role, "fingerprint": s.fingerprint}
                for s in load_signers(path)]
    except HarnessError:
        return []


# --- the whole model -------------------------------------------------------------------------
def build_model(record: RunRecord) -> dict[str, Any]:
    """The report's content, JSON-ready except keys starting with "_" (arrays for the plots)."""
    a = record.attrs
    verdict = str(a.get("overall_verdict", "") or "error")
    started, finished = str(a.get("started_utc", "") or ""), str(a.get("finished_utc", "") or "")
    t0, t1 = parse_utc(started), parse_utc(finished)
    instruments = sorted(record.instruments, key=lambda i: (
        record.stations.index(i["station"]) if i["station"] in record.stations else 99,
        ROLE_ORDER.index(i["role"]) if i["role"] in ROLE_ORDER else 99, i["role"]))
    span_km = _f(a.get("span_length_km"))
    return {
        "cover": {
            "cable": str(a.get("cable", "") or "—"), "route": str(a.get("route", "") or "—"),
            "stations": record.stations, "stations_text": " – ".join(record.stations) or "—",
            "span_text": f"{span_km:g} km" if finite(span_km) else "—",
            "campaign": str(a.get("campaign", "") or "—"), "run_id": str(a.get("run_id", "") or record.run_dir.name),
            "date": (t1 or t0).strftime("%d %B %Y") if (t1 or t0) else "—",
            "started": utc_text(started), "finished": utc_text(finished) if finished else "not finished",
            "duration": duration_text((t1 - t0).total_seconds()) if t0 and t1 else "—",
            "operator": str(a.get("operator", "") or "—"),
            "software_version": str(a.get("software_version", "") or "—"),
            "replay_of": str(a.get("replay_of", "") or ""),
            "verdict": verdict if verdict in VERDICT_LABEL else "error",
            "verdict_label": VERDICT_LABEL.get(verdict, verdict.upper()),
            "run_h5_sha256": record.run_h5_sha256,
        },
        "counts": counts(record), "total_checks": len(record.checks),
        "instruments": instruments,
        "inputs": input_files(record),
        "requirements": requirement_summary(record),
        "checks": check_rows(record),
        "otdr": otdr_groups(record),
        "osa": osa_sections(record),
        "pm": pm_series(record),
        "pm_figure": "pm.svg" if any(t.kind == "pm" for t in record.traces.values()) else "",
        "pm_columns": [{"key": k, "label": label, "units": u} for k, label, u in PM_COLUMNS],
        "files": data_files(record.run_dir),
        "signers": signers(record.run_dir),
        "decisions": [{"what": str(p.get("prompt", "")), "answer": str(p.get("answer", "")),
                       "reading": str(p.get("reading", "")), "by": str(p.get("by", "") or "—"),
                       "how": str(p.get("source", "")), "utc": utc_text(str(p.get("utc", "")))}
                      for p in record.prompts],
    }


def json_ready(model: Any) -> Any:
    """The model without its private (``_``) keys, NaN turned into None."""
    if isinstance(model, dict):
        return {k: json_ready(v) for k, v in model.items() if not str(k).startswith("_")}
    if isinstance(model, (list, tuple)):
        return [json_ready(v) for v in model]
    if isinstance(model, float) and not math.isfinite(model):
        return None
    if isinstance(model, np.generic):
        return json_ready(model.item())
    return model
