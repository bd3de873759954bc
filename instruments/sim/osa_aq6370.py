"""Simulated Yokogawa AQ6370-class OSA (LAN login, REAL,64 blocks) serving the span model.

Parses with the driver's own command table (:mod:`instruments.osa.yokogawa_aq6370`). A ``busy``
instrument fault means a sweep never completes (bit 0 of ``:STAT:OPER:EVEN?`` never set); the
other faults are applied by :class:`~instruments.sim.scpi_server.SimScpiInstrument`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from instruments.errors import ProtocolError
from instruments.ieee488 import encode_block
from instruments.osa.yokogawa_aq6370 import COMMANDS, LOGIN_PROMPT, LOGIN_READY
from instruments.protocols import OsaSettings
from instruments.sim.faults import InstrumentFaults
from instruments.sim.osa_physics import osa_spectrum
from instruments.sim.scpi_server import SimStationInstrument
from instruments.sim.span import Span

SWEEP_S_PER_KPOINT = 0.05
"""Simulated sweep time (instrument seconds per 1000 points)."""


class SimAq6370(SimStationInstrument):
    """An AQ6370-class OSA at ``station``; switch port n sees the spectrum of ``ports[n]``."""

    COMMANDS = COMMANDS

    def __init__(self, span: Span, station: str, ports: dict[int, str], serial: str = "91M000001",
                 faults: InstrumentFaults | None = None) -> None:
        super().__init__(span, station, ports, faults)
        self.IDN = f"YOKOGAWA,AQ6370D,{serial},SIM-{station}"
        self.settings = OsaSettings()
        self.format = ("ASCII", 0)
        self._done_at: float | None = None
        self._event = 0
        self._trace: tuple[np.ndarray, np.ndarray] | None = None

    def handle(self, line: str, session: dict[str, Any]) -> bytes | None:
        state = session.get("login", "user")
        if state == "user":
            if not line.lower().startswith("open "):
                return b"ERROR: login required\n"
            session["login"] = "password"
            return (LOGIN_PROMPT + "\n").encode()
        if state == "password":
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
