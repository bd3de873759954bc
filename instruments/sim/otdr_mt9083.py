"""Simulated Anritsu MT9083-class OTDR behind a 1xN switch, serving the span model over SCPI.

Parses with the driver's own command table (:mod:`instruments.otdr.anritsu_mt9083`). A ``busy``
instrument fault keeps ``:STAT:MEAS?`` at 1 after ``:INIT`` (until ``:ABOR``); the other faults
are applied by :class:`~instruments.sim.scpi_server.SimScpiInstrument`.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from instruments.errors import ProtocolError
from instruments.ieee488 import encode_block
from instruments.otdr.anritsu_mt9083 import COMMANDS, encode_trace_block
from instruments.protocols import OtdrSettings
from instruments.sim.faults import InstrumentFaults
from instruments.sim.otdr_physics import otdr_trace
from instruments.sim.scpi_server import SimStationInstrument
from instruments.sim.span import Span

PULSES_NS = (3, 10, 20, 50, 100, 200, 500, 1000, 2000, 4000, 10000, 20000)
WAVELENGTHS_NM = (1310.0, 1550.0, 1625.0)


class SimMt9083(SimStationInstrument):
    """An MT9083-class OTDR at ``station``; switch port n is patched to ``ports[n]``."""

    COMMANDS = COMMANDS

    def __init__(self, span: Span, station: str, ports: dict[int, str], serial: str = "6200000001",
                 faults: InstrumentFaults | None = None) -> None:
        super().__init__(span, station, ports, faults)
        self.IDN = f"ANRITSU,MT9083C2,{serial},SIM-{station}"
        self.settings = OtdrSettings()
        self._started: float | None = None
        self._trace: np.ndarray | None = None

    def do_wavelength(self, nm: float) -> None:
        if nm not in WAVELENGTHS_NM:
            raise ProtocolError(f'-222,"Data out of range;wavelength {nm:g} nm"')
        self.settings = replace(self.settings, wavelength_nm=nm)

    def do_pulse(self, ns: float) -> None:
        if ns not in PULSES_NS:
            raise ProtocolError(f'-222,"Data out of range;pulse {ns:g} ns"')
        self.settings = replace(self.settings, pulse_width_ns=ns)

    def do_range(self, km: float) -> None:
        if not 0.5 <= km <= 512.0:
            raise ProtocolError(f'-222,"Data out of range;range {km:g} km"')
        self.settings = replace(self.settings, range_km=km)

    def do_average_time(self, s: float) -> None:
        if not 1.0 <= s <= 3600.0:
            raise ProtocolError(f'-222,"Data out of range;averaging {s:g} s"')
        self.settings = replace(self.settings, averaging_s=s)

    def do_resolution(self, m: float) -> None:
        if not 0.05 <= m <= 100.0 or self.settings.range_km * 1000 / m > 256_000:
            raise ProtocolError(f'-222,"Data out of range;resolution {m:g} m"')
        self.settings = replace(self.settings, resolution_m=m)

    def do_ior(self, n: float) -> None:
        if not 1.3 <= n <= 1.7:
            raise ProtocolError(f'-222,"Data out of range;IOR {n:g}"')
        self.settings = replace(self.settings, group_index=n)

    def do_start(self) -> None:
        self._trace = otdr_trace(self.span, self.ports[self.port], self.station, self.settings)
        self._started = time.monotonic()

    def do_abort(self) -> None:
        self._started = None

    def _elapsed_s(self) -> float:
        if self._started is None:
            return 0.0
        return (time.monotonic() - self._started) / self.span.time_scale

    def do_measuring(self) -> str:
        running = self._started is not None and (
            self.faults.busy or self._elapsed_s() < self.settings.averaging_s)
        return "1" if running else "0"

    def do_elapsed(self) -> str:
        return f"{min(self._elapsed_s(), self.settings.averaging_s):.1f}"

    def do_parameters(self) -> str:
        s = self.settings
        points = int(round(s.range_km * 1000 / s.resolution_m))
        return (f"{s.wavelength_nm:.0f},{s.range_km:g},{s.pulse_width_ns:g},{s.averaging_s:g},"
                f"{s.resolution_m:g},{s.group_index:.5f},{points}")

    def do_data(self) -> bytes:
        if self._trace is None or self.do_measuring() == "1":
            raise ProtocolError('-230,"Data corrupt or stale;no completed acquisition"')
        return encode_block(encode_trace_block(self._trace))
