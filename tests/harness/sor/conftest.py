"""Real .sor test vectors (tests/data/sor, origin and licence in its README) and helpers."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Callable

import pytest

from harness.sor import layout as L
from harness.sor.record import SorRecord

SOR_DIR = Path(__file__).resolve().parents[2] / "data" / "sor"
FILES = {"noyes": "example1-noyes-ofl280.sor", "exfo": "example2-exfo-maxtester730c.sor"}


def _need(path: Path) -> Path:
    assert path.is_file(), f"{path} is missing from the repository"
    return path


@pytest.fixture(params=sorted(FILES))
def sor_path(request: pytest.FixtureRequest) -> Path:
    """Path of one real vector (parametrised over both)."""
    return _need(SOR_DIR / FILES[request.param])


@pytest.fixture(scope="session")
def vectors() -> dict[str, bytes]:
    """Both real vectors' bytes, by short name."""
    return {k: _need(SOR_DIR / v).read_bytes() for k, v in FILES.items()}


def _rev1(rec: SorRecord) -> bytes:
    """The record as a revision-1 file: map without the "Map" name, no name at block starts,
    GenParams without fibre type/user offset distance, FxdParams v1, events without markers."""
    g, f, k = rec.general, rec.fixed, rec.events
    z = lambda s: s.encode("latin-1") + b"\0"  # noqa: E731
    gen = b"".join(z(getattr(g, n)) if t == "z" else
                   (getattr(g, n).encode() if t == "2s" else struct.pack("<" + t, getattr(g, n)))
                   for n, t in L.GEN_V1)
    sup = b"".join(z(getattr(rec.supplier, n)) for n, _ in L.SUP)
    n = len(f.pulse_widths_ns)
    fxd = (L.FXD_HEAD_V1.pack(f.date_time, f.units.encode(), f.actual_wavelength_raw,
                              f.acquisition_offset, n)
           + struct.pack(f"<{n}H{n}I{n}I", *f.pulse_widths_ns, *f.data_spacing_raw,
                         *f.points_per_pulse_width)
           + L.FXD_TAIL_V1.pack(*(getattr(f, a) for a in L.FXD_TAIL_V1_FIELDS)))
    kev = struct.pack("<H", len(k.events)) + b"".join(
        L.EVENT_V1.pack(e.number, e.time_of_travel, e.slope_raw, e.loss_raw, e.reflectance_raw,
                        e.code.encode(), e.technique.encode()) + z(e.comment) for e in k.events)
    kev += L.EVENTS_SUMMARY.pack(k.end_to_end_loss_raw, *k.end_to_end_markers, k.orl_raw,
                                 *k.orl_markers)
    raw = (rec.data.level_db * 1e6 / rec.data.scale_factors[0][1]).round().astype("<u2")
    dat = L.DATA_HEAD.pack(rec.data.n_points, 1) + L.DATA_SEGMENT.pack(
        raw.size, rec.data.scale_factors[0][1]) + raw.tobytes()
    blocks = [("GenParams", gen), ("SupParams", sup), ("FxdParams", fxd), ("KeyEvents", kev),
              ("DataPts", dat), *rec.vendor_blocks.items(), ("Cksum", b"\0\0")]
    entries = b"".join(z(name) + L.MAP_ENTRY.pack(100, len(body)) for name, body in blocks)
    head = L.MAP_HEAD.pack(100, L.MAP_HEAD.size + len(entries), len(blocks) + 1)
    body = head + entries + b"".join(b for _, b in blocks)[:-2]
    return body + struct.pack("<H", L.crc16(body))


@pytest.fixture
def to_revision1() -> Callable[[SorRecord], bytes]:
    """A function writing a record as a revision-1 file (test-only writer)."""
    return _rev1
