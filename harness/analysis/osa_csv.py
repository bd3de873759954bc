"""Read an OSA trace saved as text: two columns ``wavelength_nm,power_dbm``.

One row per line; the columns separated by a comma, a semicolon, a tab or spaces; an optional
header line first (any line whose first field is not a number); blank lines and lines starting
with ``#`` ignored. Wavelengths in nm (vacuum), strictly increasing or strictly decreasing;
powers in dBm per resolution bandwidth. Sizes are capped before anything is allocated:
:data:`MAX_BYTES` of file, :data:`MAX_ROWS` rows. Every problem raises :class:`OsaCsvError`
with one line naming the file and line.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np

from harness.errors import HarnessError
from harness.sor.errors import printable
from instruments.input_files import read_input_file

MAX_BYTES = 64 * 1024 * 1024
"""Largest file read (bytes): ~2 M rows of typical text, well above an OSA's 50 001 points."""
MAX_ROWS = 1_000_000
"""Most data rows accepted."""
MIN_ROWS = 16
"""Fewest data rows: what the channel analysis needs."""
WAVELENGTH_RANGE_NM = (200.0, 3000.0)
"""Plausible wavelengths (nm): anything else is a unit mistake (m, µm, THz)."""
POWER_RANGE_DBM = (-200.0, 60.0)
"""Plausible powers (dBm)."""

_SPLIT = re.compile(r"[,;\t ]+")


class OsaCsvError(HarnessError):
    """An OSA CSV file cannot be read; the one-line message names the file and the line."""

    def __init__(self, message: str) -> None:
        super().__init__(printable(str(message)))


def read_osa_csv(source: str | os.PathLike[str] | bytes) -> tuple[np.ndarray, np.ndarray]:
    """(wavelength_nm, power_dbm) as float64 arrays in file order, from a path or the file's
    bytes. Raises :class:`OsaCsvError`."""
    if isinstance(source, (bytes, bytearray)):
        return parse_osa_csv(bytes(source), "<bytes>")
    path = Path(source)
    return parse_osa_csv(read_input_file(path, MAX_BYTES, OsaCsvError, "an OSA trace"), path.name)


def parse_osa_csv(data: bytes, name: str = "<bytes>") -> tuple[np.ndarray, np.ndarray]:
    """Parse the file's bytes (see the module docstring); ``name`` is used in messages."""
    if len(data) > MAX_BYTES:
        raise OsaCsvError(f"{name}: larger than {MAX_BYTES // (1024 * 1024)} MiB: not an OSA trace")
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise OsaCsvError(f"{name}: line {line}: NUL byte: a binary file, not CSV text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise OsaCsvError(f"{name}: line {line}: not UTF-8 text") from None
    lines = text.splitlines()
    wl: list[float] = []
    pw: list[float] = []
    header_allowed = True
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = [f for f in _SPLIT.split(stripped) if f]
        if not fields:  # separators only: an empty row
            continue
        first = _number(fields[0])
        if first is None and header_allowed:
            header_allowed = False
            continue
        header_allowed = False
        if len(fields) != 2:
            raise OsaCsvError(f"{name}: line {number}: {len(fields)} fields, expected 2 "
                              f"(wavelength_nm, power_dbm)")
        second = _number(fields[1])
        if first is None or second is None:
            bad = fields[0] if first is None else fields[1]
            raise OsaCsvError(f"{name}: line {number}: {_show(bad)} is not a number")
        if not WAVELENGTH_RANGE_NM[0] <= first <= WAVELENGTH_RANGE_NM[1]:
            raise OsaCsvError(f"{name}: line {number}: wavelength {first:g} is not in nm "
                              f"({WAVELENGTH_RANGE_NM[0]:g}-{WAVELENGTH_RANGE_NM[1]:g})")
        if not POWER_RANGE_DBM[0] <= second <= POWER_RANGE_DBM[1]:
            raise OsaCsvError(f"{name}: line {number}: power {second:g} dBm is out of range "
                              f"({POWER_RANGE_DBM[0]:g} to {POWER_RANGE_DBM[1]:g} dBm)")
        if len(wl) >= MAX_ROWS:
            raise OsaCsvError(f"{name}: line {number}: more than {MAX_ROWS} rows")
        if wl and (first == wl[-1] or (len(wl) >= 2 and (first > wl[-1]) != (wl[-1] > wl[-2]))):
            raise OsaCsvError(f"{name}: line {number}: wavelength {first:g} nm breaks the "
                              f"strictly monotonic order of the sweep")
        wl.append(first)
        pw.append(second)
    if len(wl) < MIN_ROWS:
        raise OsaCsvError(f"{name}: line {max(len(lines), 1)}: the file ends after {len(wl)} "
                          f"data rows, at least {MIN_ROWS} needed")
    return np.array(wl, dtype=np.float64), np.array(pw, dtype=np.float64)


def _number(field: str) -> float | None:
    """The field as a finite float, or None."""
    try:
        value = float(field)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _show(field: str) -> str:
    return repr(field if len(field) <= 24 else field[:24] + "…")
