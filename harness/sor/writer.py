"""Write a :class:`SorRecord` as a revision-2 SR-4731 (.sor) file, and build a record from a
trace the harness measured.

The file: a Map block (name, revision, size of every block), the blocks in the record's Map
order (standard blocks, vendor blocks verbatim), and a Cksum block holding the CRC-16/CCITT-FALSE
of every byte before it. Strings are written as Latin-1.
"""

from __future__ import annotations

import math
import os
import struct
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from harness.sor import layout as L
from harness.sor.errors import SorError
from harness.sor.reader import read_sor
from harness.sor.record import (C_M_PER_S, DataPts, FxdParams, GenParams, KeyEvent, KeyEvents,
                                SorMap, SorRecord, SupParams, distance_to_time)

REVISION = 200
MAX_RAW = 65535


def _text(value: str, where: str) -> bytes:
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raise SorError(f"{where}: {value!r} is not Latin-1 text") from None
    if b"\0" in raw:
        raise SorError(f"{where}: text holds a NUL character")
    return raw


def _chars(value: str, n: int, where: str) -> bytes:
    raw = _text(value, where)
    if len(raw) > n:
        raise SorError(f"{where}: {value!r} is longer than {n} characters")
    return raw.ljust(n, b" ")


def _fields(obj: Any, spec: tuple[tuple[str, str], ...], block: str) -> bytes:
    out = []
    for name, kind in spec:
        value = getattr(obj, name)
        if kind == "z":
            out.append(_text(value, f"{block}.{name}") + b"\0")
        elif kind == "2s":
            out.append(_chars(value, 2, f"{block}.{name}"))
        else:
            out.append(L.SCALARS[kind].pack(value))
    return b"".join(out)


def _fxd(fx: FxdParams) -> bytes:
    n = len(fx.pulse_widths_ns)
    if len(fx.data_spacing_raw) != n or len(fx.points_per_pulse_width) != n:
        raise SorError("FxdParams: pulse widths, data spacings and point counts differ in length")
    head = [getattr(fx, f) for f in L.FXD_HEAD_V2_FIELDS]
    head[1] = _chars(fx.units, 2, "FxdParams.units")
    tail = [getattr(fx, f) for f in L.FXD_TAIL_V2_FIELDS]
    tail[-1] = _chars(fx.trace_type, 2, "FxdParams.trace_type")
    return b"".join((L.FXD_HEAD_V2.pack(*head, n), struct.pack(f"<{n}H", *fx.pulse_widths_ns),
                     struct.pack(f"<{n}I", *fx.data_spacing_raw),
                     struct.pack(f"<{n}I", *fx.points_per_pulse_width),
                     L.FXD_TAIL_V2.pack(*tail, *fx.window)))


def _key_events(ke: KeyEvents) -> bytes:
    out = [L.U16.pack(len(ke.events))]
    for ev in ke.events:
        where = f"KeyEvents event {ev.number}"
        out.append(L.EVENT_V2.pack(ev.number, ev.time_of_travel, ev.slope_raw, ev.loss_raw,
                                   ev.reflectance_raw, _chars(ev.code, 6, where + " code"),
                                   _chars(ev.technique, 2, where + " technique"), *ev.markers))
        out.append(_text(ev.comment, where + " comment") + b"\0")
    out.append(L.EVENTS_SUMMARY.pack(ke.end_to_end_loss_raw, *ke.end_to_end_markers,
                                     ke.orl_raw, *ke.orl_markers))
    return b"".join(out)


def _data_pts(dp: DataPts) -> bytes:
    level = np.asarray(dp.level_db, dtype=np.float64)
    if sum(c for c, _ in dp.scale_factors) != level.size:
        raise SorError(f"DataPts: scale-factor segments hold {sum(c for c, _ in dp.scale_factors)}"
                       f" points but level_db has {level.size}")
    out, start = [L.DATA_HEAD.pack(dp.n_points, len(dp.scale_factors))], 0
    for count, scale in dp.scale_factors:
        seg = level[start:start + count] * (1e6 / scale) if scale else np.zeros(count)
        seg = np.clip(np.rint(np.nan_to_num(seg, nan=MAX_RAW, posinf=MAX_RAW, neginf=0)),
                      0, MAX_RAW)
        out += [L.DATA_SEGMENT.pack(count, scale), seg.astype("<u2").tobytes()]
        start += count
    return b"".join(out)


def _bodies(rec: SorRecord) -> dict[str, bytes]:
    makers = (("GenParams", rec.general, lambda g: _fields(g, L.GEN_V2, "GenParams")),
              ("SupParams", rec.supplier, lambda s: _fields(s, L.SUP, "SupParams")),
              ("FxdParams", rec.fixed, _fxd), ("KeyEvents", rec.events, _key_events),
              ("DataPts", rec.data, _data_pts))
    bodies: dict[str, bytes] = {}
    for name, block, make in makers:
        if block is not None:
            try:
                bodies[name] = make(block) + rec.block_extra.get(name, b"")
            except struct.error as exc:
                raise SorError(f"{name}: a field does not fit its SR-4731 type ({exc})") from None
    for name, body in rec.vendor_blocks.items():
        if name in bodies or name in ("Cksum", "Map"):
            raise SorError(f"{name}: a vendor block may not take a standard block's name")
        _text(name, f"vendor block {name!r}")
        bodies[name] = bytes(body)
    return bodies


def write_sor(record: SorRecord) -> bytes:
    """The record as revision-2 .sor bytes, with a correct Map and Cksum. Raises SorError
    when a field does not fit its SR-4731 type."""
    bodies = _bodies(record)
    order = [e.name for e in record.map.blocks if e.name in bodies]
    order += [name for name in bodies if name not in order]
    revisions = {e.name: e.revision for e in record.map.blocks if e.revision >= REVISION}
    blocks = [name.encode("latin-1") + b"\0" + bodies[name] for name in order]
    blocks.append(b"Cksum\0")  # the CRC's 2 bytes follow
    entries = b"".join(n.encode("latin-1") + b"\0" + L.MAP_ENTRY.pack(revisions.get(n, REVISION),
                                                                      len(b) + (n == "Cksum") * 2)
                       for n, b in zip(order + ["Cksum"], blocks))
    map_rev = record.map.revision if record.map.revision >= REVISION else REVISION
    size = 4 + L.MAP_HEAD.size + len(entries)
    body = b"".join([b"Map\0", L.MAP_HEAD.pack(map_rev, size, len(blocks) + 1), entries, *blocks])
    return body + L.U16.pack(L.crc16(body))


def save_sor(record: SorRecord, path: str | os.PathLike[str]) -> None:
    """Write the record to ``path`` as a revision-2 .sor file."""
    data = write_sor(record)
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise SorError(f"{path}: cannot write: {exc.strerror or exc}") from None


_TYPE_CODES = {"non-reflective": "0F", "reflective": "1F", "end": "1E"}


def _event(i: int, ev: Mapping[str, Any], n_group: float) -> KeyEvent:
    if "distance_m" not in ev or "loss_db" not in ev:
        raise SorError(f"KeyEvents: event {i} needs distance_m and loss_db")
    refl = ev.get("reflectance_db")
    code = str(ev.get("code") or ("1F" if refl is not None else "0F"))
    code = _TYPE_CODES.get(code, code)
    if code == "1E" and refl is None:
        code = "0E"
    if len(code) > 6:
        raise SorError(f"KeyEvents: event {i} code {code!r} is longer than 6 characters")
    return KeyEvent(i, distance_to_time(float(ev["distance_m"]), n_group),
                    int(round(float(ev.get("slope_db_per_km", 0.0)) * 1000)),
                    int(round(float(ev["loss_db"]) * 1000)),
                    0 if refl is None else int(round(float(refl) * 1000)),
                    code.ljust(6, "9"), str(ev.get("technique", "LS")),
                    comment=str(ev.get("comment", "")))


def record_from_trace(distance_m: np.ndarray, level_db: np.ndarray, *, wavelength_nm: float,
                      pulse_width_ns: float, group_index: float, averaging_s: float,
                      events: Iterable[Mapping[str, Any]] = (),
                      supplier: SupParams | None = None, general: GenParams | None = None,
                      number_of_averages: int = 0, backscatter_db: float | None = None,
                      end_to_end_loss_db: float = 0.0, orl_db: float = 0.0,
                      date_time: int | None = None) -> SorRecord:
    """A record for a measured trace: ``distance_m`` (m from the OTDR port, evenly spaced),
    ``level_db`` in the harness convention (dB, 5 log10, higher = more power; stored as SOR loss
    = ref - level with ref = max(0, ceil(max level)), so 0 dB top of scale stays 0), events as
    dicts (distance_m, loss_db, reflectance_db or None, code: SOR code or harness type). Losses
    beyond 65.535 dB raise the scale factor (resolution scale/1000 mdB). ``averaging_s`` is
    stored in SR-4731's 0.1 s units. Returns the record as a reader sees the written file."""
    d = np.asarray(distance_m, dtype=np.float64)
    lv = np.asarray(level_db, dtype=np.float64)
    if d.ndim != 1 or d.shape != lv.shape or d.size < 2:
        raise SorError("DataPts: distance_m and level_db must be 1-D, equal length, >= 2 points")
    step = (d[-1] - d[0]) / (d.size - 1)
    if not step > 0 or np.max(np.abs(np.diff(d) - step)) > 1e-6 * max(abs(step), 1.0) + 1e-9:
        raise SorError("DataPts: distance_m must be increasing and evenly spaced")
    if not 1.0 < group_index < 3.0:
        raise SorError(f"FxdParams: group index {group_index} is not plausible")
    finite = lv[np.isfinite(lv)]
    ref = max(0.0, math.ceil(float(finite.max()))) if finite.size else 0.0
    loss = ref - lv
    top = float(np.max(loss[np.isfinite(loss)], initial=0.0))
    scale = 1000 if top <= 65.535 else min(math.ceil(top / 65.535 * 1000), 65535)
    spacing_raw = int(round(step * group_index / C_M_PER_S * 1e14))
    n = d.size
    if backscatter_db is None:
        backscatter_db = -77.0 if wavelength_nm < 1450 else (-82.0 if wavelength_nm < 1600
                                                              else -83.0)
    fixed = FxdParams(
        date_time=int(time.time()) if date_time is None else int(date_time), units="mt",
        actual_wavelength_raw=int(round(wavelength_nm * 10)),
        acquisition_offset=distance_to_time(float(d[0]), group_index),
        acquisition_offset_distance=int(round(float(d[0]) * 10)),
        pulse_widths_ns=[int(round(pulse_width_ns))], data_spacing_raw=[spacing_raw],
        points_per_pulse_width=[n], group_index_raw=int(round(group_index * 1e5)),
        backscatter_raw=int(round(-backscatter_db * 10)), number_of_averages=number_of_averages,
        averaging_time_raw=int(round(averaging_s * 10)),
        acquisition_range=int(round(spacing_raw * n / 10000)),
        acquisition_range_distance=int(round(step * n * 10)))
    evs = [_event(i, ev, group_index) for i, ev in enumerate(events, start=1)]
    key = KeyEvents(evs, int(round(end_to_end_loss_db * 1000)),
                    (0, evs[-1].time_of_travel if evs else 0), int(round(orl_db * 1000)),
                    (0, evs[-1].time_of_travel if evs else 0))
    gen = general or GenParams(nominal_wavelength_nm=int(round(wavelength_nm)))
    if gen.user_offset:
        raise SorError("GenParams: user_offset must be 0 here (distances are from the port)")
    sup = supplier or SupParams(name="caspian-harness", software_rev="harness.sor")
    data = DataPts(n, [(n, scale)], d, loss)
    rec = SorRecord(2, SorMap(REVISION, 0, []), fixed, data, gen, sup, key)
    return read_sor(write_sor(rec))
