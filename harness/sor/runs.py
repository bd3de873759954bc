""".sor files into a new run folder, and any stored OTDR trace of a run out as a .sor file.

Import never alters an existing run: it creates a new run folder whose ``run.h5`` holds each
file as an acquisition (``x`` distance from the OTDR port in m, the file's user offset added
back; ``y`` level in dB, 5·log10, higher = more power, i.e. minus SR-4731's loss) with every
SR-4731 field as ``sor_*`` attributes (the raw blocks as JSON), vendor blocks and bytes found
after a standard block's fields as uint8 datasets, and the source file's name and SHA-256 as
provenance; plus one check per file (verdict ``skipped``: nothing is judged) linking the trace
and holding the file's own key events as its event table. The folder is finished like a run
(summary, report, manifest), so ``verify``, ``sign``, ``report`` and ``sor export`` work on it.

Export writes a check's OTDR trace as a revision-2 file: an imported trace with its own fields
and vendor blocks; a measured one through :func:`record_from_trace`, carrying the run's
provenance (route, fibre, stations, operator; the run, check and acquisition and the SHA-256
of ``run.h5`` in the comment; the instrument's ``*IDN?`` in SupParams) and the check's event
table as key events.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import unicodedata
import warnings
from pathlib import Path
from typing import Any, Sequence

import h5py
import numpy as np

from harness import __version__
from harness.errors import StoreError
from harness.sor.errors import SorError, SorWarning
from harness.sor.reader import read_sor
from harness.sor.record import (DataPts, FxdParams, GenParams, KeyEvent, KeyEvents, MapEntry,
                                SorMap, SorRecord, SupParams, time_to_distance_m)
from harness.sor.writer import record_from_trace

IMPORT_TITLE = "Imported .sor file"


# --- a record as attributes and back -------------------------------------------------------

def user_offset_m(record: SorRecord) -> float:
    """Distance (m) from the OTDR port to the file's origin (the user offset, e.g. the end of
    a launch cable); SR-4731 distances and event times count from there."""
    g = record.general
    return time_to_distance_m(g.user_offset, record.fixed.group_index) if g else 0.0


def event_type(code: str) -> str:
    """The harness's event type of an SR-4731 event code."""
    if code[1:2] == "E":
        return "end"
    return "reflective" if code[:1] in ("1", "2") else "non-reflective"


def record_to_attrs(rec: SorRecord) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(attributes, uint8 datasets) holding every field of ``rec`` but the trace samples."""
    blobs, arrays = [], {}
    for kind, blocks in (("vendor", rec.vendor_blocks), ("extra", rec.block_extra)):
        for name, body in blocks.items():
            ds = f"sor_bytes_{len(blobs):02d}"
            blobs.append({"kind": kind, "block": name, "dataset": ds})
            arrays[ds] = np.frombuffer(bytes(body), dtype=np.uint8)
    js = lambda obj: json.dumps(None if obj is None else dataclasses.asdict(obj))  # noqa: E731
    events = None if rec.events is None else {
        **dataclasses.asdict(rec.events),
        "events": [{k: v for k, v in dataclasses.asdict(e).items() if k != "distance_m"}
                   for e in rec.events.events]}
    attrs = {"sor_format_version": rec.format_version, "sor_map": js(rec.map),
             "sor_general": js(rec.general), "sor_supplier": js(rec.supplier),
             "sor_fixed": js(rec.fixed), "sor_key_events": json.dumps(events),
             "sor_n_points": rec.data.n_points,
             "sor_scale_factors": json.dumps(rec.data.scale_factors),
             "sor_blobs": json.dumps(blobs)}
    return attrs, arrays


def _dc(cls: type, data: dict[str, Any]) -> Any:
    kw = {}
    for f in dataclasses.fields(cls):
        if f.name in data and f.init and f.compare:
            value = data[f.name]
            kw[f.name] = tuple(value) if str(f.type).startswith("tuple") else value
    return cls(**kw)


def record_from_attrs(attrs: dict[str, Any], arrays: dict[str, np.ndarray], x: np.ndarray,
                      y: np.ndarray) -> SorRecord:
    """The record :func:`record_to_attrs` stored, with the trace from ``x``/``y`` (port frame,
    harness level convention). Raises StoreError when an attribute is missing or wrong."""
    try:
        smap = json.loads(attrs["sor_map"])
        smap = SorMap(smap["revision"], smap["block_count"],
                      [MapEntry(**b) for b in smap["blocks"]])
        fixed = _dc(FxdParams, json.loads(attrs["sor_fixed"]))
        general = json.loads(attrs["sor_general"])
        general = None if general is None else _dc(GenParams, general)
        supplier = json.loads(attrs["sor_supplier"])
        supplier = None if supplier is None else _dc(SupParams, supplier)
        ev = json.loads(attrs["sor_key_events"])
        events = None if ev is None else KeyEvents(
            [_dc(KeyEvent, e) for e in ev["events"]], ev["end_to_end_loss_raw"],
            tuple(ev["end_to_end_markers"]), ev["orl_raw"], tuple(ev["orl_markers"]))
        blocks: dict[str, dict[str, bytes]] = {"vendor": {}, "extra": {}}
        for b in json.loads(attrs["sor_blobs"]):
            blocks[b["kind"]][b["block"]] = np.asarray(arrays[b["dataset"]], np.uint8).tobytes()
        segments = [tuple(s) for s in json.loads(attrs["sor_scale_factors"])]
        rec = SorRecord(int(attrs["sor_format_version"]), smap, fixed, DataPts(
            int(attrs["sor_n_points"]), segments, np.empty(0), -np.asarray(y, np.float64)),
            general, supplier, events, blocks["vendor"], blocks["extra"])
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"the stored .sor fields are incomplete or wrong ({exc})") from None
    rec.data.distance_m = np.asarray(x, np.float64) - user_offset_m(rec)
    for e in events.events if events else ():
        e.distance_m = time_to_distance_m(e.time_of_travel, fixed.group_index)
    return rec


# --- import --------------------------------------------------------------------------------

def _read(path: Path) -> tuple[SorRecord, bytes, list[str]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SorError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SorWarning)
        try:
            record = read_sor(data)
        except SorError as exc:
            raise SorError(f"{path.name}: {exc}") from None
    return record, data, [f"{path.name}: {w.message}" for w in caught]


def import_sor(files: Sequence[Path], results: Path, run_id: str | None = None,
               operator: str = "") -> tuple[Path, list[str]]:
    """Read every file (all must parse before anything is written), then create a new run
    folder ``results/run_id`` holding them; returns (the folder, the readers' warnings)."""
    from harness.plugin import utc_now
    from harness.runner import finish_run, new_run_id, prepare_run_dir
    from harness.store import RunStore, check_key

    if not files:
        raise SorError("no .sor file given")
    read = [(Path(p), *_read(Path(p))) for p in files]
    run_dir = prepare_run_dir(Path(results), run_id or new_run_id("sor-import"))
    store = RunStore(run_dir / "run.h5")
    now = utc_now()
    places = [(r.general.originating_location.strip(), r.general.terminating_location.strip())
              if r.general else ("", "") for _, r, _, _ in read]
    stations = sorted({s for pair in places for s in pair if s})
    store.create({"run_id": run_dir.name, "kind": "sor-import", "operator": operator,
                  "route": " – ".join(stations), "stations": json.dumps(stations),
                  "software_version": __version__, "started_utc": now, "finished_utc": now,
                  "overall_verdict": "skipped", "imported_files": json.dumps(
                      [{"file": str(p.resolve()), "sha256": hashlib.sha256(d).hexdigest()}
                       for p, _, d, _ in read])})
    keys: set[str] = set()
    all_warnings = []
    for (path, rec, data, warned), (origin, end) in zip(read, places):
        all_warnings += warned
        _import_one(store, path, rec, data, warned, origin, end, keys, check_key, now)
    store.consolidate()
    finish_run(run_dir)
    return run_dir, all_warnings


def _import_one(store: Any, path: Path, rec: SorRecord, data: bytes, warned: list[str],
                origin: str, end: str, keys: set[str], check_key: Any, now: str) -> None:
    fx, sup = rec.fixed, rec.supplier
    digest = hashlib.sha256(data).hexdigest()
    offset = user_offset_m(rec)
    fibre = rec.general.fibre_id.strip() if rec.general else ""
    sor_attrs, arrays = record_to_attrs(rec)
    attrs = {"kind": "otdr", "station": origin, "fibre": fibre,
             "direction": f"{origin}→{end}" if origin or end else "",
             "wavelength_nm": fx.actual_wavelength_nm,
             "pulse_width_ns": float(fx.pulse_widths_ns[0]) if fx.pulse_widths_ns else math.nan,
             "group_index": fx.group_index, "resolution_m": fx.sample_spacing_m,
             "instrument_idn": ",".join(getattr(sup, f).strip() for f in
                                        ("name", "mainframe_id", "mainframe_sn", "software_rev"))
             if sup else "",
             "source_file": path.name, "source_sha256": digest, "user_offset_m": offset,
             "sor_warnings": json.dumps(warned), **sor_attrs}
    request = {"kind": "otdr", "source": "sor-import", "file": path.name, "sha256": digest}
    acq = store.add_acquisition(request, rec.data.distance_m + offset, -rec.data.level_db,
                                ("m", "Distance"), ("dB", "Level (5·log10)"), attrs, arrays)
    key = check_key(f"sor_import[{path.name}]")
    n = 2
    while key in keys:
        key, n = check_key(f"sor_import[{path.name}#{n}]"), n + 1
    keys.add(key)
    trace = path.stem
    rows = [{"distance_m": e.distance_m + offset, "loss_db": e.loss_db,
             "reflectance_db": e.reflectance_db, "type": event_type(e.code)}
            for e in (rec.events.events if rec.events else [])]
    store.write_check(key, {
        "nodeid": key, "title": IMPORT_TITLE, "requirement": "", "station": origin,
        "fibre": fibre, "wavelength_nm": fx.actual_wavelength_nm, "verdict": "skipped",
        "message": f"{path.name} (SHA-256 {digest[:16]}…) imported; not judged",
        "started_utc": now, "duration_s": 0.0}, [], {trace: acq}, {trace: rows})


# --- export --------------------------------------------------------------------------------

def _attrs(obj: h5py.HLObject) -> dict[str, Any]:
    out = {}
    for k, v in obj.attrs.items():
        out[k] = v.decode() if isinstance(v, bytes) else v.item() if isinstance(v, np.generic) else v
    return out


def _otdr_traces(check: h5py.Group) -> dict[str, h5py.Group]:
    traces = check.get("traces")
    out = {}
    for name in (traces if isinstance(traces, h5py.Group) else []):
        g = traces.get(name)
        if isinstance(g, h5py.Group) and _attrs(g).get("kind") == "otdr" and "x" in g:
            out[name] = g
    return out


def _choose(options: list[str], wanted: str | None, what: str, hint: str, where: str) -> str:
    """The option named (exactly, by its number from 1, or by a unique part of it), or the only
    one; otherwise StoreError listing the choices."""
    if not options:
        raise StoreError(f"{where}: no {what} holds an OTDR trace")
    if wanted is None and len(options) == 1:
        return options[0]
    if wanted is not None:
        if wanted in options:
            return wanted
        if wanted.isdigit() and 1 <= int(wanted) <= len(options):
            return options[int(wanted) - 1]
        matches = [o for o in options if wanted in o]
        if len(matches) == 1:
            return matches[0]
    listed = ", ".join(f"{i} {o}" for i, o in enumerate(options[:12], start=1))
    more = f" and {len(options) - 12} more" if len(options) > 12 else ""
    head = f"no single {what} matches {wanted!r}" if wanted is not None else f"{len(options)} {what}s"
    raise StoreError(f"{where}: {head}; choose one with {hint}: {listed}{more}")


def export_sor(run_dir: Path, check: str | None, trace: str | None = None,
               trust: bool = False) -> tuple[SorRecord, str]:
    """(the record to write, a one-line description) for one OTDR trace of a run folder:
    the check chosen by key, unique part of it or number; the trace likewise when the check
    used several. Refuses a run whose files changed (``trust`` overrides)."""
    from harness.manifest import sha256_file, verify_manifest

    run_dir = Path(run_dir)
    path = run_dir / "run.h5"
    if not path.is_file():
        raise StoreError(f"{run_dir}: not a run folder (no run.h5)")
    if (run_dir / "manifest.json").exists() and not trust:
        problems = verify_manifest(run_dir)
        if problems:
            raise StoreError(f"{run_dir}: refusing to export from a run whose files changed: "
                             f"{problems[0]} (--trust overrides)")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise StoreError(f"{path}: cannot open the run record: {exc}") from None
    with f:
        checks = f.get("checks")
        usable = [k for k in (checks if isinstance(checks, h5py.Group) else [])
                  if _otdr_traces(checks[k])]
        key = _choose(usable, check, "check", "--check KEY (or its number)", str(run_dir))
        g = checks[key]
        traces = _otdr_traces(g)
        name = _choose(sorted(traces), trace, "trace", "--trace NAME (or its number)",
                       f"{run_dir}: check {key}")
        acq = traces[name]
        attrs = _attrs(acq)
        x, y = np.asarray(acq["x"][()], np.float64), np.asarray(acq["y"][()], np.float64)
        if "sor_fixed" in attrs:
            arrays = {k: acq[k][()] for k in acq if k.startswith("sor_bytes_")}
            rec = record_from_attrs(attrs, arrays, x, y)
            return rec, f"{key} / {name}: imported from {attrs.get('source_file', '?')}"
        run = _attrs(f)
        link = g["traces"].get(name, getlink=True)
        where = link.path if isinstance(link, h5py.SoftLink) else acq.name
        rows = _event_rows(checks, key, where, name, str(attrs.get("station", "")))
        provenance = (f"caspian-harness run {run.get('run_id', run_dir.name)} check {key} "
                      f"trace {name} {where} run.h5 sha256 {sha256_file(path)}")
        rec = _measured(attrs, run, x, y, rows, provenance)
        return rec, f"{key} / {name}: measured {attrs.get('station', '')} {where}"


def _event_rows(checks: h5py.Group, key: str, where: str, name: str,
                station: str) -> np.ndarray | None:
    """The one-trace event table of the acquisition at ``where``: held by the chosen check, or
    else by another check that used the same acquisition; named after the trace or station."""
    for k in [key] + [k for k in checks if k != key]:
        g = checks[k]
        traces, events = g.get("traces"), g.get("events")
        if not isinstance(traces, h5py.Group) or not isinstance(events, h5py.Group):
            continue
        for t in traces:
            link = traces.get(t, getlink=True)
            if isinstance(link, h5py.SoftLink) and link.path == where or t == name and k == key:
                for ev in (t, station):
                    if ev in events and isinstance(events[ev], h5py.Dataset):
                        return events[ev][()]
    return None


_ASCII = {"→": "->", "–": "-", "—": "-", "ə": "e", "Ə": "E", "ı": "i", "\0": ""}


def _latin1(text: Any) -> str:
    """SR-4731 strings are single-byte (Latin-1): other characters lose their accents (ş → s,
    ğ → g), a few are spelt out (ə → e, → → ->), the rest become '?'."""
    out = []
    for ch in str(text or ""):
        if ch in _ASCII:
            out.append(_ASCII[ch])
        elif ord(ch) < 256:
            out.append(ch)
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if ord(c) < 256)
            out.append(base or "?")
    return "".join(out)


def _measured(attrs: dict[str, Any], run: dict[str, Any], x: np.ndarray, y: np.ndarray,
              rows: np.ndarray | None, provenance: str) -> SorRecord:
    events = []
    for r in (rows if rows is not None else []):
        kind = r["type"].decode().strip() if isinstance(r["type"], bytes) else str(r["type"])
        loss, refl = float(r["loss_db"]), float(r["reflectance_db"])
        events.append({"distance_m": float(r["distance_m"]),
                       "loss_db": loss if math.isfinite(loss) else 0.0,
                       "reflectance_db": refl if math.isfinite(refl) else None, "code": kind})
    direction = str(attrs.get("direction", ""))
    ends = direction.split("→") if "→" in direction else [attrs.get("station", ""), ""]
    idn = [s.strip() for s in str(attrs.get("instrument_idn", "")).split(",")] + [""] * 4
    general = GenParams(cable_id=_latin1(run.get("route")), fibre_id=_latin1(attrs.get("fibre")),
                        nominal_wavelength_nm=int(round(float(attrs["wavelength_nm"]))),
                        originating_location=_latin1(ends[0]),
                        terminating_location=_latin1(ends[1]),
                        operator=_latin1(run.get("operator")), comment=_latin1(provenance))
    supplier = SupParams(name=_latin1(idn[0]), mainframe_id=_latin1(idn[1]),
                         mainframe_sn=_latin1(idn[2]), software_rev=_latin1(idn[3]),
                         other=_latin1(f"exported by caspian-harness {__version__}"))
    try:
        started = dt.datetime.fromisoformat(str(run.get("started_utc", ""))).timestamp()
    except ValueError:
        started = None
    try:
        return record_from_trace(
            x, y, wavelength_nm=float(attrs["wavelength_nm"]),
            pulse_width_ns=float(attrs["pulse_width_ns"]), group_index=float(attrs["group_index"]),
            averaging_s=float(attrs.get("averaging_s", 0.0)), events=events, supplier=supplier,
            general=general, date_time=started)
    except KeyError as exc:
        raise StoreError(f"the stored trace has no {exc.args[0]} attribute") from None
