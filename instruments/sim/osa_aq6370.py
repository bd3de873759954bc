"""Simulated Yokogawa AQ6370-class OSA (LAN login, REAL,64 blocks) serving the span model.

Parses with the driver's own command table (:mod:`instruments.osa.yokogawa_aq6370`) and answers
the WDM analysis with the instrument's own, simpler method (:func:`wdm_analysis`). A ``busy``
instrument fault means a sweep never completes (bit 0 of ``:STAT:OPER:EVEN?`` never set); the
other faults are applied by :class:`~instruments.sim.scpi_server.SimScpiInstrument`.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

import numpy as np
from scipy.ndimage import minimum_filter1d

from instruments.errors import ProtocolError
from instruments.ieee488 import encode_block
from instruments.osa.yokogawa_aq6370 import COMMANDS, LOGIN_PROMPT, LOGIN_READY, format_wdm_table
from instruments.protocols import OsaSettings
from instruments.sim.faults import InstrumentFaults
from instruments.sim.osa_physics import osa_spectrum
from instruments.sim.scpi_server import SimStationInstrument
from instruments.sim.span import Span

SWEEP_S_PER_KPOINT = 0.05
"""Simulated sweep time (instrument seconds per 1000 points)."""
PEAK_BOTTOM_DB = 6.0
"""WDM analysis: a channel stands at least this far (dB) above the local floor (MDIFF)."""
FLOOR_WINDOW_NM = 1.0
"""WDM analysis: the local floor is the lowest level within this window (nm)."""
NOISE_HALF_WIDTH_NM = 0.02
"""WDM analysis: the noise is averaged over ± this (nm) around each noise point."""


def wdm_analysis(wl_nm: np.ndarray, level_dbm: np.ndarray, rbw_nm: float,
                 nbw_nm: float = 0.1) -> list[dict[str, float]]:
    """The AQ6370-style WDM table of one trace (wavelength nm, level dBm in ``rbw_nm``).

    A channel is a run of samples more than :data:`PEAK_BOTTOM_DB` above the local floor; its
    wavelength is the centre of its -3 dB points, its level the peak level (dBm in the RBW, not
    the integrated channel power); the noise is read half-way to each neighbouring channel (as
    far out on the other side for the first and last), the two readings averaged in dB (linear
    interpolation to a channel midway between them) and scaled to ``nbw_nm``; SNR = level - noise. Units as in :data:`~instruments.osa.yokogawa_aq6370.WDM_FIELDS`.
    """
    step = float(wl_nm[1] - wl_nm[0]) if len(wl_nm) > 1 else 1.0
    floor = minimum_filter1d(level_dbm, max(int(FLOOR_WINDOW_NM / step), 3), mode="nearest")
    above = np.concatenate([[False], level_dbm > floor + PEAK_BOTTOM_DB, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    peaks = []
    for lo, hi in zip(edges[::2], edges[1::2]):
        k = lo + int(np.argmax(level_dbm[lo:hi]))
        top = np.flatnonzero(level_dbm[lo:hi] >= level_dbm[k] - 3.0) + lo
        peaks.append((0.5 * (wl_nm[top[0]] + wl_nm[top[-1]]), float(level_dbm[k])))
    centres = [c for c, _ in peaks]
    gaps = np.diff(centres)
    rows = []
    for i, (centre, level) in enumerate(peaks):
        before = gaps[i - 1] if i > 0 else (gaps[0] if len(gaps) else 1.0)
        after = gaps[i] if i < len(gaps) else (gaps[-1] if len(gaps) else 1.0)
        points = [centre - before / 2.0, centre + after / 2.0]
        noise = [_mean_dbm(wl_nm, level_dbm, x) for x in points]
        noise_nbw = float(np.mean(noise)) + 10.0 * math.log10(nbw_nm / rbw_nm)
        rows.append({"center_nm": float(centre), "power_dbm": level, "noise_dbm": noise_nbw,
                     "osnr_db": level - noise_nbw})
    return rows


def _mean_dbm(wl_nm: np.ndarray, level_dbm: np.ndarray, at_nm: float) -> float:
    near = np.abs(wl_nm - at_nm) <= NOISE_HALF_WIDTH_NM
    if not near.any():
        near = np.abs(wl_nm - at_nm) == np.abs(wl_nm - at_nm).min()
    return float(10.0 * np.log10(np.mean(10.0 ** (level_dbm[near] / 10.0))))


class SimAq6370(SimStationInstrument):
    """An AQ6370-class OSA at ``station``; switch port n sees the spectrum of ``ports[n]``."""

    COMMANDS = COMMANDS
    expected_login: tuple[str, str] | None = None
    """(user, password) the LAN login must give; None accepts any (as "anonymous" does)."""

    def __init__(self, span: Span, station: str, ports: dict[int, str], serial: str = "91M000001",
                 faults: InstrumentFaults | None = None) -> None:
        super().__init__(span, station, ports, faults)
        self.IDN = f"YOKOGAWA,AQ6370D,{serial},SIM-{station}"
        self.settings = OsaSettings()
        self.format = ("ASCII", 0)
        self._done_at: float | None = None
        self._event = 0
        self._trace: tuple[np.ndarray, np.ndarray] | None = None
        self._analysis: list[dict[str, float]] | None = None

    def handle(self, line: str, session: dict[str, Any]) -> bytes | None:
        state = session.get("login", "user")
        if state == "user":
            if not line.lower().startswith("open "):
                return b"ERROR: login required\n"
            session["login"], session["user"] = "password", line[5:].strip().strip('"')
            return (LOGIN_PROMPT + "\n").encode()
        if state == "password":
            # a refused login answers "error" and waits for a new open: the AQ6370 remote manual's
            # wording for a refusal was not found here (the driver takes anything but "ready")
            given = (session.pop("user", ""), line.strip().removeprefix('"').removesuffix('"'))
            if self.expected_login is not None and given != tuple(self.expected_login):
                session["login"] = "user"
                return b"error\n"
            session["login"] = "ready"
            return (LOGIN_READY + "\n").encode()
        return super().handle(line, session)

    def do_sweep_mode(self, mode: str) -> None:
        if mode.upper() not in ("SINGLE", "SING", "REPEAT", "REP", "AUTO"):
            raise ProtocolError(f'-224,"Illegal parameter value;{mode}"')

    def do_start_wl(self, nm: float) -> None:
        self.settings = replace(self.settings, start_nm=float(nm))

    def do_stop_wl(self, nm: float) -> None:
        self.settings = replace(self.settings, stop_nm=float(nm))

    def do_rbw(self, nm: float) -> None:
        if float(nm) not in (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0):
            raise ProtocolError(f'-222,"Data out of range;resolution {float(nm):g} nm"')
        self.settings = replace(self.settings, rbw_nm=float(nm))

    def do_points(self, n: int) -> None:
        if not 101 <= n <= 200_001:
            raise ProtocolError(f'-222,"Data out of range;points {n}"')
        self.settings = replace(self.settings, points=n)

    def do_format(self, kind: str, bits: int) -> None:
        if kind.upper() != "REAL" or bits not in (32, 64):
            raise ProtocolError(f'-224,"Illegal parameter value;{kind},{bits}"')
        self.format = ("REAL", bits)

    def do_start(self) -> None:
        if self.settings.stop_nm <= self.settings.start_nm:
            raise ProtocolError('-221,"Settings conflict;start >= stop"')
        self._trace = osa_spectrum(self.span, self.ports[self.port], self.settings)
        sweep_s = SWEEP_S_PER_KPOINT * self.settings.points / 1000.0
        self._done_at = time.monotonic() + sweep_s * self.span.time_scale
        self._event = 0
        self._analysis = None

    def do_category(self, kind: str) -> None:
        if kind.upper() != "WDM":
            raise ProtocolError(f'-224,"Illegal parameter value;{kind} (simulated: WDM only)"')

    def do_calculate(self) -> None:
        if self._trace is None:
            raise ProtocolError('-230,"Data corrupt or stale;no sweep to analyse"')
        self._analysis = wdm_analysis(*self._trace, rbw_nm=self.settings.rbw_nm)

    def do_calc_data(self) -> str:
        if self._analysis is None:
            raise ProtocolError('-230,"Data corrupt or stale;no analysis"')
        return format_wdm_table(self._analysis)

    def do_abort(self) -> None:
        self._done_at = None

    def do_event(self) -> str:
        if self._done_at is not None and time.monotonic() >= self._done_at and not self.faults.busy:
            self._event |= 1
            self._done_at = None
        value, self._event = self._event, 0
        return str(value)

    def _block(self, values: np.ndarray) -> bytes:
        if self._trace is None:
            raise ProtocolError('-230,"Data corrupt or stale;no sweep"')
        dtype = "<f8" if self.format[1] == 64 else "<f4"
        return encode_block(np.asarray(values, dtype=dtype).tobytes())

    def do_trace_x(self, name: str) -> bytes:
        return self._block(self._trace[0] * 1e-9 if self._trace else np.empty(0))

    def do_trace_y(self, name: str) -> bytes:
        return self._block(self._trace[1] if self._trace else np.empty(0))
