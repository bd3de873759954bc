"""Simulated EXFO FTB-7000-class OTDR behind a 1xN switch, serving the span model over SCPI.

Parses with the driver's own command table (:mod:`instruments.otdr.exfo_ftb7000`). The
acquisition, its physics, the instrument's analysis, the .sor file and the ``busy`` fault are
those of :class:`~instruments.sim.otdr_mt9083.SimMt9083` (one simulated OTDR engine, two
dialects); this class converts the FTB-7000's SI units and speaks its trace and event formats.
The other faults are applied by :class:`~instruments.sim.scpi_server.SimScpiInstrument`.
"""

from __future__ import annotations

from instruments.errors import ProtocolError
from instruments.ieee488 import encode_block
from instruments.otdr.exfo_ftb7000 import COMMANDS, TRACE, encode_event, encode_trace_block
from instruments.sim.faults import InstrumentFaults
from instruments.sim.otdr_mt9083 import SimMt9083
from instruments.sim.span import Span

EVENT_CODES = {"reflective": 3, "end": 4}
"""Analysis kinds to ``:CALCulate:EVENt?`` types (non-reflective: 1 loss, 2 gain)."""


class SimFtb7000(SimMt9083):
    """An FTB-7000-class OTDR at ``station``; switch port n is patched to ``ports[n]``."""

    COMMANDS = COMMANDS

    def __init__(self, span: Span, station: str, ports: dict[int, str], serial: str = "700001",
                 faults: InstrumentFaults | None = None) -> None:
        super().__init__(span, station, ports, serial=serial, faults=faults)
        self.IDN = f"EXFO,FTB-7600E-XCC,{serial},SIM-{station}"
        self.binary = False

    def do_format(self, mode: str) -> None:
        mode = mode.upper()
        if mode in ("PACK", "PACKED"):
            self.binary = True
        elif mode in ("ASC", "ASCII"):
            self.binary = False
        else:
            raise ProtocolError(f'-224,"Illegal parameter value;format {mode}"')

    def do_wavelength(self, nm: float) -> None:
        super().do_wavelength(round(float(nm), 3))

    def do_pulse(self, s: float) -> None:
        super().do_pulse(round(s * 1e9, 3))

    def do_range(self, m: float) -> None:
        super().do_range(m / 1000.0)

    def do_get_wavelength(self) -> str:
        return f"{self.settings.wavelength_nm * 1e-9:.6E}"

    def do_get_pulse(self) -> str:
        return f"{self.settings.pulse_width_ns * 1e-9:.6E}"

    def do_get_range(self) -> str:
        return f"{self.settings.range_km * 1000.0:.6E}"

    def do_get_average_time(self) -> str:
        return f"{self.settings.averaging_s:.6E}"

    def do_get_resolution(self) -> str:
        return f"{self.settings.resolution_m:.6E}"

    def do_get_ior(self) -> str:
        return f"{self.settings.group_index:.6E}"

    def _label(self, label: str) -> None:
        if label.upper() != TRACE:
            raise ProtocolError(f'-224,"Illegal parameter value;trace {label}"')

    def do_points(self, label: str) -> str:
        self._label(label)
        trace, _, _ = self._completed()
        return str(len(trace))

    def do_data(self, label: str) -> bytes | str:
        self._label(label)
        trace, _, _ = self._completed()
        if not self.binary:
            return ",".join(f"{v:.4E}" for v in trace)
        return encode_block(encode_trace_block(trace))

    def do_sor(self, label: str) -> bytes:
        self._label(label)
        return encode_block(self.sor_bytes())

    def do_event_count(self, label: str) -> str:
        self._label(label)
        self._analysed = self.analysed_events()
        return str(len(self._analysed))

    def do_event(self, label: str, n: int) -> bytes:
        self._label(label)
        if not self._analysed:
            self._analysed = self.analysed_events()
        if not 1 <= n <= len(self._analysed):
            raise ProtocolError(f'-222,"Data out of range;event {n}"')
        e = self._analysed[n - 1]
        code = EVENT_CODES.get(e["kind"], 1 if e["loss_db"] >= 0 else 2)
        return encode_block(encode_event(e["distance_m"], code, e["loss_db"],
                                         e["reflectance_db"] or 0.0, e["cumulative_db"]))
