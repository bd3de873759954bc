"""Read an OSA trace saved as text: the Yokogawa AQ6370-family CSV files, or two columns.

**AQ6370-family files** (Yokogawa user's manuals: IM AQ6370B-01EN §8.3 "Saving/Loading
Displayed Data", CSV data format; IM AQ6370D-01EN §8.3 and §8.4 "Saving/Loading Displayed
Data (All Trace)", p. 8-27):

- one trace: a file header line ``70BCSV``, a label line (``// AQ6370B OPTICAL SPECTRUM
  ANALYZER //``), the number of measurement-condition parameters, the parameters one per line
  (``"CTRWL",1553.200000``, ``"RESLN",0.200``, ``"SMPL", 1001``, ... and bare ones such as
  ``"HIGH 1"``), then ``[TRACE DATA]`` and one ``wavelength nm, level`` row per sample,
  smallest wavelength first;
- all traces: ``70BCSVG``, the label, sections ``[MEAS SETTING]``, ``[TRACE SETTING]``,
  ``[TRACE A]`` ... ``[TRACE G]`` (each trace's own measurement conditions, in the same
  ``"NAME",value`` form), then ``[TRACE DATA]``: a column header ``TrA(WL),TrA(LEVEL)[LOG],
  ...,TrG(WL),TrG(LEVEL)[LIN]`` and rows holding a wavelength and a level column for every
  trace that was measured (an unmeasured trace is not saved).
  Which trace is read: the one asked for, else the active trace when the ``[TRACE SETTING]``
  section names it, else the first trace saved on a logarithmic (dBm) scale.

The resolution bandwidth comes from the trace's ``RESLN`` (nm), else the file's. What the
manual pages found do not say, and how it is handled here: the unit of a ``[LIN]`` level
column is not given, so a linear trace is refused with that reason; the single-trace file has
no LOG/LIN marker, so its levels are taken as dBm (the default display unit); ``LSUNT`` is kept
among the conditions uninterpreted; in frequency mode (``WLFREQ`` 1) wavelengths are still
saved (the manual says so), and a ``RESLN`` above 2 (no wavelength resolution of the family
is wider than 2 nm) is read as GHz and converted at the centre wavelength.

**Two columns** (any other text file): one row per line, ``wavelength_nm,power_dbm``; the
columns separated by a comma, a semicolon, a tab or spaces; an optional header line first
(any line whose first field is not a number); blank lines and lines starting with ``#``
ignored. Such a file does not give its resolution bandwidth.

In both: wavelengths in nm (vacuum), strictly increasing or strictly decreasing; powers in dBm
per resolution bandwidth. Sizes are capped before anything is allocated: :data:`MAX_BYTES` of
file, :data:`MAX_ROWS` rows. Every problem raises :class:`OsaCsvError` with one line naming
the file and line.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
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
TRACES = "ABCDEFG"
"""The AQ6370 family's trace names."""
WIDEST_RBW_NM = 2.0
"""Widest resolution of the AQ6370 family (nm): a larger ``RESLN`` in frequency mode is GHz."""

_SPLIT = re.compile(r"[,;\t ]+")
_FILE_HEADER = re.compile(r'^"?(\d\d[A-Z]CSV)(G?)"?$')
_SECTION = re.compile(r"^\[([A-Z ]+)\]$")
_COLUMN = re.compile(r"^TR([A-G])\((WL|LEVEL)\)(?:\[(LOG|LIN)\])?$")
C_M_PER_S = 299_792_458.0


class OsaCsvError(HarnessError):
    """An OSA CSV file cannot be read; the one-line message names the file and the line."""

    def __init__(self, message: str) -> None:
        super().__init__(printable(str(message)))


@dataclass(frozen=True)
class OsaTrace:
    """One OSA trace read from a file.

    ``wavelength_nm`` and ``power_dbm`` (dBm per resolution bandwidth) in file order;
    ``rbw_nm`` the resolution bandwidth the file states (None when it does not); ``trace`` the
    AQ6370 trace name (``"A"``..``"G"``, None for a two-column file); ``layout`` one of
    ``aq6370-trace``, ``aq6370-all-traces``, ``two-column``; ``label`` the file's label line;
    ``conditions`` the trace's measurement-condition parameters as text; ``notes`` how the
    file's values were read where the manual leaves it open.
    """

    wavelength_nm: np.ndarray
    power_dbm: np.ndarray
    rbw_nm: float | None = None
    trace: str | None = None
    layout: str = "two-column"
    label: str = ""
    conditions: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def read_osa_file(source: str | os.PathLike[str] | bytes, trace: str | None = None) -> OsaTrace:
    """The trace of an OSA file (path or bytes); ``trace`` picks one of an all-traces AQ6370
    file (``"A"``..``"G"``). Raises :class:`OsaCsvError`."""
    if isinstance(source, (bytes, bytearray)):
        return parse_osa_file(bytes(source), "<bytes>", trace)
    path = Path(source)
    data = read_input_file(path, MAX_BYTES, OsaCsvError, "an OSA trace")
    return parse_osa_file(data, path.name, trace)


def read_osa_csv(source: str | os.PathLike[str] | bytes) -> tuple[np.ndarray, np.ndarray]:
    """(wavelength_nm, power_dbm) as float64 arrays in file order, from a path or the file's
    bytes, in any layout :func:`read_osa_file` reads. Raises :class:`OsaCsvError`."""
    t = read_osa_file(source)
    return t.wavelength_nm, t.power_dbm


def parse_osa_csv(data: bytes, name: str = "<bytes>") -> tuple[np.ndarray, np.ndarray]:
    """Parse the file's bytes (see the module docstring); ``name`` is used in messages."""
    t = parse_osa_file(data, name)
    return t.wavelength_nm, t.power_dbm


def parse_osa_file(data: bytes, name: str = "<bytes>", trace: str | None = None) -> OsaTrace:
    """Parse the file's bytes into an :class:`OsaTrace`; ``name`` is used in messages."""
    lines = _text_lines(data, name)
    if trace is not None and (len(trace) != 1 or trace.upper() not in TRACES):
        raise OsaCsvError(f"{name}: trace {trace!r}: not an AQ6370 trace (A to G)")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    head = _FILE_HEADER.match(lines[first].strip()) if first is not None else None
    if head is None:
        if trace is not None:
            raise OsaCsvError(f"{name}: line 1: --trace {trace} needs an AQ6370 all-traces "
                              f"file (70BCSVG); this is a two-column file")
        wl, pw = _Rows(name).two_column(lines, 0)
        return OsaTrace(wl, pw)
    label = lines[first + 1].strip().strip('"').strip("/ ").strip() if first + 1 < len(lines) else ""
    if head.group(2):
        return _all_traces(lines, first + 2, name, label, trace)
    if trace is not None and trace.upper() != "A":
        raise OsaCsvError(f"{name}: line {first + 1}: --trace {trace}: a one-trace file "
                          f"({head.group(1)}) holds one trace only")
    return _one_trace(lines, first + 2, name, label)


# --- the AQ6370 layouts ----------------------------------------------------------------------

def _one_trace(lines: list[str], start: int, name: str, label: str) -> OsaTrace:
    conditions: dict[str, str] = {}
    for i in range(start, len(lines)):
        text = lines[i].strip()
        if not text:
            continue
        if text.upper() == "[TRACE DATA]":
            wl, pw = _Rows(name).two_column(lines, i + 1, header_allowed=False)
            rbw, notes = _rbw(conditions, wl, name, i)
            return OsaTrace(wl, pw, rbw, None, "aq6370-trace", label, conditions, notes)
        if not conditions and re.fullmatch(r"\d+", text):
            continue  # the number of measurement-condition parameters
        key, value = _parameter(text, name, i)
        conditions[key] = value
    raise OsaCsvError(f"{name}: line {len(lines)}: no [TRACE DATA] section: not a complete "
                      f"AQ6370 trace file")


def _all_traces(lines: list[str], start: int, name: str, label: str,
                wanted: str | None) -> OsaTrace:
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for i in range(start, len(lines)):
        text = lines[i].strip()
        if not text:
            continue
        section = _SECTION.match(text.upper())
        if section and section.group(1) == "TRACE DATA":
            return _trace_columns(lines, i + 1, name, label, sections, wanted)
        if section:
            current = sections.setdefault(section.group(1), {})
            continue
        if current is None:
            raise OsaCsvError(f"{name}: line {i + 1}: {_show(text)} before the first [SECTION]")
        key, value = _parameter(text, name, i)
        current[key] = value
    raise OsaCsvError(f"{name}: line {len(lines)}: no [TRACE DATA] section: not a complete "
                      f"AQ6370 all-traces file")


def _trace_columns(lines: list[str], start: int, name: str, label: str,
                   sections: dict[str, dict[str, str]], wanted: str | None) -> OsaTrace:
    at = next((i for i in range(start, len(lines)) if lines[i].strip()), None)
    if at is None:
        raise OsaCsvError(f"{name}: line {len(lines)}: [TRACE DATA] has no column header")
    names = [c.strip().strip('"').upper().replace(" ", "") for c in lines[at].strip().split(",")]
    while names and not names[-1]:
        names.pop()
    columns: dict[str, dict[str, int]] = {}
    scales: dict[str, str] = {}
    for k, column in enumerate(names):
        m = _COLUMN.match(column)
        if not m:
            raise OsaCsvError(f"{name}: line {at + 1}: column {k + 1} {_show(column)} is not "
                              f"TrX(WL) or TrX(LEVEL)[LOG|LIN]")
        columns.setdefault(m.group(1), {})[m.group(2)] = k
        if m.group(2) == "LEVEL":
            scales[m.group(1)] = m.group(3) or "LOG"
    saved = [t for t in TRACES if {"WL", "LEVEL"} <= set(columns.get(t, {}))]
    if not saved:
        raise OsaCsvError(f"{name}: line {at + 1}: no trace has both a WL and a LEVEL column")
    choice = _choose_trace(wanted, saved, scales, sections.get("TRACE SETTING", {}))
    if choice not in saved:
        raise OsaCsvError(f"{name}: line {at + 1}: trace {choice} is not saved in the file "
                          f"(saved: {', '.join(saved)})")
    if scales[choice] == "LIN":
        raise OsaCsvError(f"{name}: line {at + 1}: trace {choice} is saved on a linear scale, "
                          f"whose unit the file does not state; save it in LOG (dBm) or pick "
                          f"another trace with --trace")
    wl, pw = _Rows(name).columns(lines, at + 1, columns[choice]["WL"], columns[choice]["LEVEL"])
    conditions = {**sections.get("MEAS SETTING", {}), **sections.get(f"TRACE {choice}", {})}
    rbw, notes = _rbw(conditions, wl, name, at)
    return OsaTrace(wl, pw, rbw, choice, "aq6370-all-traces", label, conditions, notes)


def _choose_trace(wanted: str | None, saved: list[str], scales: dict[str, str],
                  setting: dict[str, str]) -> str:
    if wanted:
        return wanted.upper()
    for key, value in setting.items():
        letter = value.strip().strip('"').upper().removeprefix("TR")
        if "ACTIVE" in key.upper() and letter in saved:
            return letter
    logs = [t for t in saved if scales[t] == "LOG"]
    return (logs or saved)[0]


def _parameter(text: str, name: str, index: int) -> tuple[str, str]:
    """``"NAME",value`` (or a bare ``"NAME"``) of a measurement-condition line."""
    key, _, value = text.partition(",")
    key = key.strip().strip('"').strip()
    if not key or not text.startswith('"'):
        raise OsaCsvError(f"{name}: line {index + 1}: {_show(text)} is not a measurement-"
                          f'condition parameter ("NAME",value)')
    return key, value.strip().strip('"').strip()


def _rbw(conditions: dict[str, str], wl: np.ndarray, name: str,
         index: int) -> tuple[float | None, tuple[str, ...]]:
    """The resolution bandwidth (nm) the conditions state, with a note where it was converted."""
    raw = conditions.get("RESLN")
    if raw is None:
        return None, ("the file does not state its resolution (no RESLN)",)
    value = _number(raw)
    if value is None or value <= 0:
        raise OsaCsvError(f"{name}: line {index + 1}: RESLN {_show(raw)} is not a resolution")
    if conditions.get("WLFREQ", "0").strip() == "1" and value > WIDEST_RBW_NM:
        centre = float(np.median(wl))
        nm = value * 1e9 * (centre * 1e-9) ** 2 / C_M_PER_S * 1e9
        return nm, (f"frequency mode: RESLN {value:g} read as GHz, {nm:.4f} nm at "
                    f"{centre:.2f} nm",)
    return value, ()


# --- rows ----------------------------------------------------------------------------------

class _Rows:
    """Checks and collects (wavelength, level) rows, naming the file and line on a problem."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.wl: list[float] = []
        self.pw: list[float] = []

    def two_column(self, lines: list[str], start: int,
                   header_allowed: bool = True) -> tuple[np.ndarray, np.ndarray]:
        for number in range(start + 1, len(lines) + 1):
            stripped = lines[number - 1].strip()
            if not stripped or stripped.startswith("#"):
                continue
            fields = [f for f in _SPLIT.split(stripped) if f]
            if not fields:  # separators only: an empty row
                continue
            if header_allowed and _number(fields[0]) is None:
                header_allowed = False
                continue
            header_allowed = False
            if len(fields) != 2:
                raise OsaCsvError(f"{self.name}: line {number}: {len(fields)} fields, expected 2 "
                                  f"(wavelength_nm, power_dbm)")
            self.add(fields[0], fields[1], number)
        return self.done(len(lines))

    def columns(self, lines: list[str], start: int, wl_col: int,
                level_col: int) -> tuple[np.ndarray, np.ndarray]:
        for number in range(start + 1, len(lines) + 1):
            stripped = lines[number - 1].strip()
            if not stripped:
                continue
            fields = [f.strip() for f in stripped.split(",")]
            wl = fields[wl_col] if wl_col < len(fields) else ""
            level = fields[level_col] if level_col < len(fields) else ""
            if not wl and not level:
                continue  # this trace has fewer samples than another one saved beside it
            self.add(wl, level, number)
        return self.done(len(lines))

    def add(self, wl_text: str, level_text: str, number: int) -> None:
        first, second = _number(wl_text), _number(level_text)
        if first is None or second is None:
            bad = wl_text if first is None else level_text
            raise OsaCsvError(f"{self.name}: line {number}: {_show(bad)} is not a number")
        if not WAVELENGTH_RANGE_NM[0] <= first <= WAVELENGTH_RANGE_NM[1]:
            raise OsaCsvError(f"{self.name}: line {number}: wavelength {first:g} is not in nm "
                              f"({WAVELENGTH_RANGE_NM[0]:g}-{WAVELENGTH_RANGE_NM[1]:g})")
        if not POWER_RANGE_DBM[0] <= second <= POWER_RANGE_DBM[1]:
            raise OsaCsvError(f"{self.name}: line {number}: power {second:g} dBm is out of range "
                              f"({POWER_RANGE_DBM[0]:g} to {POWER_RANGE_DBM[1]:g} dBm)")
        wl = self.wl
        if len(wl) >= MAX_ROWS:
            raise OsaCsvError(f"{self.name}: line {number}: more than {MAX_ROWS} rows")
        if wl and (first == wl[-1] or (len(wl) >= 2 and (first > wl[-1]) != (wl[-1] > wl[-2]))):
            raise OsaCsvError(f"{self.name}: line {number}: wavelength {first:g} nm breaks the "
                              f"strictly monotonic order of the sweep")
        wl.append(first)
        self.pw.append(second)

    def done(self, n_lines: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.wl) < MIN_ROWS:
            raise OsaCsvError(f"{self.name}: line {max(n_lines, 1)}: the file ends after "
                              f"{len(self.wl)} data rows, at least {MIN_ROWS} needed")
        return np.array(self.wl, dtype=np.float64), np.array(self.pw, dtype=np.float64)


def _text_lines(data: bytes, name: str) -> list[str]:
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
    return text.splitlines()


def _number(text: str) -> float | None:
    """The text as a finite float, or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _show(text: str) -> str:
    return repr(text if len(text) <= 24 else text[:24] + "…")
