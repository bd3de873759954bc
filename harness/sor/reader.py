"""Read a Telcordia SR-4731 (.sor) file into a :class:`SorRecord`.

Revision 2 (a Map block named "Map" and a name at the start of every block) and revision 1 (no
names at block starts). Every size and count is checked against the bytes that remain before
anything is read or allocated; a malformed file raises :class:`SorError` naming the block and
the byte offset. The Cksum is CRC-16/CCITT-FALSE over every byte before the stored value (the
block's own name included: Noyes instruments and pyOTDR); a value equal to the CRC of the bytes
before the Cksum block (otdrs's convention) is accepted too. A mismatch gives a
:class:`SorWarning`.
"""

from __future__ import annotations

import functools
import os
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from harness.sor import layout as L
from harness.sor.errors import SorError, SorWarning
from instruments.input_files import read_input_file
from harness.sor.record import (DataPts, FxdParams, GenParams, KeyEvent, KeyEvents, MapEntry,
                                SorMap, SorRecord, SupParams, time_to_distance_m,
                                trace_distance_m)


class _Cursor:
    """Reads fields from ``buf[pos:end]`` (one block) and fails with the block and offset."""

    __slots__ = ("buf", "pos", "end", "block")

    def __init__(self, buf: bytes, pos: int, end: int, block: str) -> None:
        self.buf, self.pos, self.end, self.block = buf, pos, end, block

    def fail(self, what: str, at: int | None = None) -> SorError:
        return SorError(f"{self.block}: {what} at byte {self.pos if at is None else at}")

    def need(self, size: int, what: str, at: int | None = None) -> None:
        left = self.end - self.pos
        if size > left:
            raise self.fail(f"{what} needs {size} bytes, only {left} left in the block", at)

    def unpack(self, st: struct.Struct, what: str = "field") -> tuple[Any, ...]:
        self.need(st.size, what)
        values = st.unpack_from(self.buf, self.pos)
        self.pos += st.size
        return values

    def string(self) -> str:
        stop = self.buf.find(b"\0", self.pos, self.end)
        if stop < 0:
            raise self.fail("string with no terminating NUL before the block's end")
        text = self.buf[self.pos:stop].decode("latin-1")
        self.pos = stop + 1
        return text

    def array(self, code: str, n: int, what: str, at: int | None = None) -> list[int]:
        self.need(n * struct.calcsize(code), f"{what} ({n} values)", at)
        values = struct.unpack_from(f"<{n}{code}", self.buf, self.pos)
        self.pos += n * struct.calcsize(code)
        return list(values)

    def fields(self, spec: tuple[tuple[str, str], ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, kind in spec:
            if kind == "z":
                out[name] = self.string()
            else:
                (value,) = self.unpack(L.SCALARS[kind], name)
                out[name] = value.decode("latin-1") if kind == "2s" else value
        return out


MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest .sor file read (bytes): a 256 000-point trace with every block is under 1 MB."""


def read_sor(source: str | os.PathLike[str] | bytes | bytearray | memoryview, *,
             verify_checksum: bool = True) -> SorRecord:
    """Parse a .sor file (a path or its bytes). ``verify_checksum=False`` skips the CRC (then
    ``checksum_computed``/``checksum_ok`` are None). Raises :class:`SorError`."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _parse(bytes(source), verify_checksum)
    path = Path(source)
    data = read_input_file(path, MAX_FILE_BYTES, SorError, "a .sor file")
    try:
        return _parse(data, verify_checksum)
    except SorError as exc:
        raise SorError(f"{path.name}: {exc}") from None


def _read_map(buf: bytes) -> tuple[int, SorMap, int]:
    """(format version, map, map size in bytes)."""
    v2 = buf[:4] == b"Map\0"
    cur = _Cursor(buf, 4 if v2 else 0, len(buf), "Map")
    revision, size, count = cur.unpack(L.MAP_HEAD, "Map header")
    if not v2 and revision // 100 != 1:
        raise SorError("Map: neither 'Map' (revision 2) nor a revision-1 map at byte 0: "
                       "not a .sor file")
    if size < cur.pos or size > len(buf):
        raise cur.fail(f"Map size {size} is outside the file ({len(buf)} bytes)", at=cur.pos - 6)
    cur.end = size
    entries = []
    while cur.pos < size:
        name = cur.string()
        rev, block_size = cur.unpack(L.MAP_ENTRY, f"Map entry {name!r}")
        entries.append(MapEntry(name, rev, block_size))
    return (2 if v2 else 1), SorMap(revision, count, entries), size


def _parse(buf: bytes, verify: bool) -> SorRecord:
    version, smap, offset = _read_map(buf)
    parsed: dict[str, Any] = {}
    vendor: dict[str, bytes] = {}
    extra: dict[str, bytes] = {}
    stored = computed = before = None
    for entry in smap.blocks:
        name, end = entry.name, offset + entry.size
        label = name or f"unnamed block {smap.blocks.index(entry) + 1} of the Map"
        if not name:
            raise SorError(f"{label}: empty block name in the Map at byte {offset}")
        if end > len(buf):
            raise SorError(f"{name}: size {entry.size} at byte {offset} runs past the end of "
                           f"the file ({len(buf)} bytes)")
        if name in parsed or name in vendor:
            raise SorError(f"{name}: a second block of that name at byte {offset}")
        start = offset
        if version == 2:
            header = name.encode("latin-1") + b"\0"
            if entry.size < len(header) or buf[offset:offset + len(header)] != header:
                raise SorError(f"{name}: block does not start with its name at byte {offset}")
            start += len(header)
        cur = _Cursor(buf, start, end, name)
        if name == "Cksum":
            (stored,) = cur.unpack(L.U16, "checksum")
            if verify:  # CRC up to the block, then on through its name: both for one pass
                before = L.crc16(memoryview(buf)[:offset])
                computed = L.crc16(buf[offset:start], before)
            parsed[name] = None
        elif name in _BLOCKS:
            parsed[name] = _BLOCKS[name](cur, version)
            if cur.pos < end:
                extra[name] = buf[cur.pos:end]
        else:
            vendor[name] = buf[start:end]
        offset = end
    if offset < len(buf):
        warnings.warn(f"{len(buf) - offset} bytes after the last block (byte {offset}) ignored",
                      SorWarning, stacklevel=3)
    ok = None if stored is None or computed is None else stored in (computed, before)
    return _assemble(version, smap, parsed, vendor, extra, stored, computed, ok)


def _assemble(version: int, smap: SorMap, parsed: dict[str, Any], vendor: dict[str, bytes],
              extra: dict[str, bytes], stored: int | None, computed: int | None,
              ok: bool | None) -> SorRecord:
    for name in ("FxdParams", "DataPts"):
        if name not in parsed:
            raise SorError(f"{name}: the Map at byte 0 lists no such block; it is required")
    fixed: FxdParams = parsed["FxdParams"]
    general: GenParams | None = parsed.get("GenParams")
    if fixed.group_index_raw <= 0:
        warnings.warn(f"FxdParams: group index {fixed.group_index_raw}; using "
                      f"{fixed.group_index} for distances", SorWarning, stacklevel=4)
    n_points, segments, raws = parsed["DataPts"]
    # the arrays are made on first use (DataPts): a parse touches the headers, not the points
    axis = functools.partial(trace_distance_m, fixed, general, sum(raw.size for raw in raws))
    data = DataPts.from_raw(n_points, segments, raws, axis)
    events: KeyEvents | None = parsed.get("KeyEvents")
    for ev in events.events if events else ():
        ev.distance_m = time_to_distance_m(ev.time_of_travel, fixed.group_index)
    if ok is False:
        warnings.warn(f"Cksum: stored 0x{stored:04X} but CRC-16/CCITT-FALSE of the preceding "
                      f"bytes is 0x{computed:04X}", SorWarning, stacklevel=4)
    return SorRecord(version, smap, fixed, data, general, parsed.get("SupParams"), events,
                     vendor, extra, stored, computed, ok)


def _gen(cur: _Cursor, version: int) -> GenParams:
    return GenParams(**cur.fields(L.GEN_V2 if version == 2 else L.GEN_V1))


def _sup(cur: _Cursor, version: int) -> SupParams:
    return SupParams(**cur.fields(L.SUP))


def _fxd(cur: _Cursor, version: int) -> FxdParams:
    head, tail = (L.FXD_HEAD_V2, L.FXD_TAIL_V2) if version == 2 else (L.FXD_HEAD_V1,
                                                                       L.FXD_TAIL_V1)
    names = L.FXD_HEAD_V2_FIELDS if version == 2 else L.FXD_HEAD_V1_FIELDS
    *values, n = cur.unpack(head, "FxdParams head")
    kw: dict[str, Any] = dict(zip(names, values))
    kw["pulse_widths_ns"] = cur.array("H", n, "pulse widths", at=cur.pos - 2)
    kw["data_spacing_raw"] = cur.array("I", n, "data spacings")
    kw["points_per_pulse_width"] = cur.array("I", n, "point counts")
    values = list(cur.unpack(tail, "FxdParams tail"))
    if version == 2:
        kw["window"] = tuple(values[-4:])
        values = values[:-4]
    kw.update(zip(L.FXD_TAIL_V2_FIELDS if version == 2 else L.FXD_TAIL_V1_FIELDS, values))
    kw["units"] = kw["units"].decode("latin-1")
    if "trace_type" in kw:
        kw["trace_type"] = kw["trace_type"].decode("latin-1")
    return FxdParams(**kw)


def _key_events(cur: _Cursor, version: int) -> KeyEvents:
    st = L.EVENT_V2 if version == 2 else L.EVENT_V1
    (count,) = cur.unpack(L.U16, "event count")
    cur.need(count * (st.size + 1) + L.EVENTS_SUMMARY.size, f"event count {count}", cur.pos - 2)
    events = []
    for _ in range(count):
        num, t, slope, loss, refl, code, tech, *markers = cur.unpack(st, "event")
        events.append(KeyEvent(num, t, slope, loss, refl, code.decode("latin-1"),
                               tech.decode("latin-1"), tuple(markers) or (0, 0, 0, 0, 0),
                               cur.string()))
    e2e, e1, e2, orl, o1, o2 = cur.unpack(L.EVENTS_SUMMARY, "events summary")
    return KeyEvents(events, e2e, (e1, e2), orl, (o1, o2))


def _data_pts(cur: _Cursor, version: int) -> tuple[int, list[tuple[int, int]], list[np.ndarray]]:
    """(declared point count, (count, scale * 1000) per segment, raw uint16 views per segment)."""
    n_points, n_scales = cur.unpack(L.DATA_HEAD, "DataPts head")
    cur.need(2 * n_points, f"point count {n_points}", cur.pos - 6)
    cur.need(L.DATA_SEGMENT.size * n_scales, f"scale-factor count {n_scales}", cur.pos - 2)
    segments, raws = [], []
    for _ in range(n_scales):
        count, scale = cur.unpack(L.DATA_SEGMENT, "scale factor")
        cur.need(2 * count, f"segment point count {count}", cur.pos - 6)
        raws.append(np.frombuffer(cur.buf, dtype="<u2", count=count, offset=cur.pos))
        segments.append((count, scale))
        cur.pos += 2 * count
    return n_points, segments, raws


_BLOCKS = {"GenParams": _gen, "SupParams": _sup, "FxdParams": _fxd, "KeyEvents": _key_events,
           "DataPts": _data_pts}
