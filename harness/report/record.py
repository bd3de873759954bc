"""Reading a run folder for the report: ``run.h5`` into plain Python objects.

Accepts the record as the store writes it (``traces/<name>`` soft links to ``/acquisitions``,
event tables under ``/checks/<key>/events/<name>``) and the equivalent layout with trace groups
held inside the check and an ``events`` dataset inside the trace group. A trace linked from
several checks is read once.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from harness.errors import StoreError
from harness.manifest import sha256_file

SCHEMA_PREFIX = "caspian-harness/run/"
KNOWN_SCHEMAS = ("caspian-harness/run/1",)


@dataclass
class Event:
    """One OTDR event: position from the instrument (m), loss (dB), reflectance (dB or NaN)."""

    distance_m: float
    loss_db: float
    reflectance_db: float
    type: str


@dataclass
class Trace:
    """One stored acquisition (OTDR trace, OSA sweep or PM series)."""

    id: str
    kind: str
    station: str
    fibre: str
    direction: str
    wavelength_nm: float
    x: np.ndarray
    y: np.ndarray
    x_units: str = ""
    x_label: str = ""
    y_units: str = ""
    y_label: str = ""
    events: list[Event] | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Measurement:
    name: str
    value: float
    units: str
    low: float
    high: float
    marginal_low: float
    marginal_high: float
    verdict: str
    description: str = ""


@dataclass
class Check:
    key: str
    nodeid: str
    title: str
    requirement: str
    station: str
    fibre: str
    wavelength_nm: float
    verdict: str
    message: str
    started_utc: str
    duration_s: float
    measurements: list[Measurement]
    traces: list[str]
    """Ids of the traces this check used (keys of :attr:`RunRecord.traces`)."""
    events: dict[str, list[Event]]
    """Event tables stored on the check itself (by name), not attached to one of its traces."""


@dataclass
class RunRecord:
    run_dir: Path
    attrs: dict[str, Any]
    stations: list[str]
    instruments: list[dict[str, str]]
    checks: list[Check]
    traces: dict[str, Trace]
    run_h5_sha256: str
    prompts: list[dict[str, Any]] = field(default_factory=list)
    """Operator answers and laser-interlock decisions, in the order taken (the ``/prompts`` log)."""


def _py(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _py(value[()])
    if isinstance(value, np.generic):
        return value.item()
    return value


def _attrs(obj: h5py.HLObject) -> dict[str, Any]:
    return {k: _py(v) for k, v in obj.attrs.items()}


def _str(attrs: dict[str, Any], key: str) -> str:
    value = attrs.get(key, "")
    return "" if value is None else str(value)


def _float(attrs: dict[str, Any], key: str) -> float:
    try:
        return float(attrs.get(key, math.nan))
    except (TypeError, ValueError):
        return math.nan


def _events(ds: h5py.Dataset) -> list[Event]:
    data = ds[()]
    names = data.dtype.names or ()
    out = []
    for row in np.atleast_1d(data):
        kind = row["type"] if "type" in names else b""
        out.append(Event(
            distance_m=float(row["distance_m"]) if "distance_m" in names else math.nan,
            loss_db=float(row["loss_db"]) if "loss_db" in names else math.nan,
            reflectance_db=float(row["reflectance_db"]) if "reflectance_db" in names else math.nan,
            type=_py(kind).strip("\0").strip() if isinstance(kind, (bytes, str, np.bytes_)) else str(kind)))
    return out


def _read_trace(g: h5py.Group, ident: str) -> Trace:
    a = _attrs(g)
    if "x" not in g or "y" not in g:
        raise StoreError(f"trace {g.name}: no x/y datasets")
    x = np.asarray(g["x"][()], dtype=np.float64).ravel()
    y = np.asarray(g["y"][()], dtype=np.float64).ravel()
    xa, ya = _attrs(g["x"]), _attrs(g["y"])
    extra = {}
    for name, obj in g.items():
        if name in ("x", "y", "events") or not isinstance(obj, h5py.Dataset):
            continue
        if obj.dtype.names is None and obj.dtype.kind in "fiu":
            extra[name] = np.asarray(obj[()], dtype=np.float64).ravel()
    events = _events(g["events"]) if isinstance(g.get("events"), h5py.Dataset) else None
    return Trace(id=ident, kind=_str(a, "kind"), station=_str(a, "station"), fibre=_str(a, "fibre"),
                 direction=_str(a, "direction"), wavelength_nm=_float(a, "wavelength_nm"), x=x, y=y,
                 x_units=_str(xa, "units"), x_label=_str(xa, "label"), y_units=_str(ya, "units"),
                 y_label=_str(ya, "label"), events=events, attrs=a, extra=extra)


def _trace_key(t: Trace) -> str:
    h = hashlib.sha1()
    h.update(json.dumps([t.kind, t.station, t.fibre, t.direction,
                         None if math.isnan(t.wavelength_nm) else t.wavelength_nm]).encode())
    h.update(t.x.tobytes())
    h.update(t.y.tobytes())
    return h.hexdigest()[:16]


def read_run(run_dir: Path) -> RunRecord:
    """Everything the report needs from ``run_dir/run.h5``; :class:`StoreError` if unreadable."""
    run_dir = Path(run_dir)
    path = run_dir / "run.h5"
    if not path.is_file():
        raise StoreError(f"{run_dir}: not a run folder (no run.h5)")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise StoreError(f"{path}: cannot open the run record: {exc}") from None
    try:
        with f:
            return _read(f, run_dir, path)
    except StoreError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise StoreError(f"{path}: unreadable run record: {exc}") from None


def _read(f: h5py.File, run_dir: Path, path: Path) -> RunRecord:
    attrs = _attrs(f)
    schema = _str(attrs, "schema")
    if not schema.startswith(SCHEMA_PREFIX):
        raise StoreError(f"{path}: not a caspian-harness run record (schema {schema!r})")
    if schema not in KNOWN_SCHEMAS:
        raise StoreError(f"{path}: run record schema {schema!r} is newer than this software")
    try:
        stations = [str(s) for s in json.loads(_str(attrs, "stations") or "[]")]
    except ValueError:
        stations = [s.strip() for s in _str(attrs, "stations").split(",") if s.strip()]

    instruments = []
    if "instruments" in f:
        for station, sg in f["instruments"].items():
            for role, g in sg.items():
                a = _attrs(g)
                instruments.append({"station": station, "role": role, "model": _str(a, "model"),
                                    "resource": _str(a, "resource"), "idn": _str(a, "idn")})

    traces: dict[str, Trace] = {}
    by_target: dict[str, str] = {}
    checks = []
    for key, g in (f["checks"].items() if "checks" in f else []):
        a = _attrs(g)
        measurements = []
        for name, ds in (g["measurements"].items() if "measurements" in g else []):
            m = _attrs(ds)
            measurements.append(Measurement(
                name=name, value=float(np.asarray(ds[()], dtype=np.float64).ravel()[0]),
                units=_str(m, "units"), low=_float(m, "low"), high=_float(m, "high"),
                marginal_low=_float(m, "marginal_low"), marginal_high=_float(m, "marginal_high"),
                verdict=_str(m, "verdict"), description=_str(m, "description")))
        check_events = {}
        if isinstance(g.get("events"), h5py.Group):
            check_events = {n: _events(ds) for n, ds in g["events"].items()
                            if isinstance(ds, h5py.Dataset)}
        trace_ids = []
        if isinstance(g.get("traces"), h5py.Group):
            tg = g["traces"]
            for name in tg:
                link = tg.get(name, getlink=True)
                target = link.path if isinstance(link, h5py.SoftLink) else f"{tg.name}/{name}"
                if target in by_target:
                    ident = by_target[target]
                else:
                    obj = tg.get(name)
                    if not isinstance(obj, h5py.Group):
                        continue  # dangling link: nothing to show
                    trace = _read_trace(obj, "")
                    ident = trace.id = _trace_key(trace)
                    if ident in traces:  # the same data stored twice
                        if traces[ident].events is None:
                            traces[ident].events = trace.events
                    else:
                        traces[ident] = trace
                    by_target[target] = ident
                t = traces[ident]
                # events stored on the check, named after the trace or its station: an OTDR
                # trace's (not the interlock reading's that the same check links)
                if t.events is None and t.kind == "otdr":
                    for ev_name in (name, t.station):
                        if ev_name and ev_name in check_events:
                            t.events = check_events.pop(ev_name)
                            break
                if ident not in trace_ids:
                    trace_ids.append(ident)
        checks.append(Check(
            key=key, nodeid=_str(a, "nodeid"), title=_str(a, "title") or key,
            requirement=_str(a, "requirement"), station=_str(a, "station"), fibre=_str(a, "fibre"),
            wavelength_nm=_float(a, "wavelength_nm"), verdict=_str(a, "verdict") or "error",
            message=_str(a, "message"), started_utc=_str(a, "started_utc"),
            duration_s=_float(a, "duration_s"), measurements=measurements, traces=trace_ids,
            events=check_events))
    prompts = [json.loads(_py(v)) for v in f["prompts"][()]] if "prompts" in f else []
    return RunRecord(run_dir=run_dir, attrs=attrs, stations=stations, instruments=instruments,
                     checks=checks, traces=traces, run_h5_sha256=sha256_file(path),
                     prompts=prompts)
