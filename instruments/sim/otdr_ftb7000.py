"""Simulated EXFO FTB-7000-class OTDR behind a 1xN switch, serving the span model over SCPI.

Runs the model's command table (:mod:`instruments.otdr.exfo_ftb7000`, where each command's
source is cited) on the shared SCPI engine; the acquisition, analysis and .sor file are
:class:`~instruments.sim.otdr_common.SimOtdr`'s. Settings are held in SI units (m, s) as the
table declares them and answered in EXFO's NR3 form. Only the first capability exists
(``[1..n]`` = 1; another is -114) and only ``TRC1`` (the single-wavelength acquisition) holds
a trace (``TRC2``-``TRC4`` are legal labels with no data: -230).
"""

from __future__ import annotations

import numpy as np

from instruments.errors import ProtocolError
from instruments.ieee488 import encode_block
from instruments.otdr.exfo_ftb7000 import (COMMANDS, TRACE, encode_event, encode_trace_block,
                                           exfo_nr3)
from instruments.protocols import OtdrSettings
from instruments.scpi_params import ScpiError
from instruments.sim.faults import InstrumentFaults
from instruments.sim.otdr_common import SimOtdr
from instruments.sim.span import Span

EVENT_CODES = {"reflective": 3, "end": 4}
"""Analysis kinds to ``:CALCulate:EVENt?`` types (non-reflective: 1 loss, 2 gain)."""


def _capability(n: int) -> None:
    if n != 1:
        raise ScpiError(-114, f"capability {n}: this module has one")


class SimFtb7000(SimOtdr):
    """An FTB-7000-class OTDR at ``station``; switch port n is patched to ``ports[n]``."""

    COMMANDS = COMMANDS

    def __init__(self, span: Span, station: str, ports: dict[int, str], serial: str = "700001",
                 faults: InstrumentFaults | None = None) -> None:
        super().__init__(span, station, ports, faults)
        self.IDN = f"EXFO,FTB-7600E-XCC,{serial},SIM-{station}"

    def acquisition_settings(self) -> OtdrSettings:
        return OtdrSettings(
            wavelength_nm=round(float(self.value("wavelength", 1)) * 1e9, 3),
            pulse_width_ns=round(float(self.value("pulse", 1)) * 1e9, 3),
            range_km=float(self.value("range", 1)) / 1000.0,
            averaging_s=float(self.value("average_time", 1)),
            resolution_m=float(self.value("resolution", 1)),
            group_index=float(self.value("ior", 1)))

    def _labelled(self, n: int, label: str) -> tuple[np.ndarray, str, OtdrSettings]:
        _capability(n)
        if label != TRACE:
            raise ScpiError(-230, f"no acquisition at {label}")
        return self.completed()

    # --- acquisition ---------------------------------------------------------------------------
    def do_start(self) -> None:
        self.begin_acquisition()

    def do_abort(self) -> None:
        self.abort_acquisition()

    def do_elapsed(self) -> str:
        return exfo_nr3(self.elapsed_s())

    # --- results -------------------------------------------------------------------------------
    def do_points(self, n: int, label: str) -> str:
        trace, _, _ = self._labelled(n, label)
        return str(len(trace))

    def do_data(self, n: int, label: str) -> bytes | str:
        trace, _, _ = self._labelled(n, label)
        if str(self.value("format")).upper().startswith("PACK"):
            return encode_block(encode_trace_block(trace))
        return ",".join(exfo_nr3(v) for v in trace)

    def do_backscatter(self, n: int, label: str) -> str:
        _capability(n)
        if label != TRACE or self._trace is None:
            return exfo_nr3(0.0)  # *RST clears the RBS value: 0 (guide p. 358)
        return exfo_nr3(self.backscatter_db())

    def do_event_count(self, n: int, label: str) -> str:
        self._labelled(n, label)
        return str(len(self.analysed_events()))

    def do_event(self, n: int, label: str, index: int) -> bytes:
        self._labelled(n, label)
        found = self.analysed_events()
        if not 1 <= index <= len(found):
            raise ProtocolError(f'-222,"Data out of range;event {index}"')
        e = found[index - 1]
        code = EVENT_CODES.get(e["kind"], 1 if e["loss_db"] >= 0 else 2)
        return encode_block(encode_event(e["distance_m"], code, e["loss_db"],
                                         e["reflectance_db"] or 0.0, e["cumulative_db"]))

    def do_sor(self, n: int, label: str) -> bytes:
        self._labelled(n, label)
        return encode_block(self.sor_bytes())


def _setting_handler(name: str):  # -> a do_<setting> method
    def handler(self: SimFtb7000, n: int, value: float) -> None:
        """The engine stores the value; a capability other than 1 is refused (-114)."""
        _capability(n)
    handler.__name__ = f"do_{name}"
    return handler


for _name in ("wavelength", "pulse", "range", "average_time", "resolution", "ior"):
    setattr(SimFtb7000, f"do_{_name}", _setting_handler(_name))
