"""Simulated Anritsu MT9083-class OTDR behind a 1xN switch, serving the span model over SCPI.

Runs the model's command table (:mod:`instruments.otdr.anritsu_mt9083`, where each command's
source is cited) on the shared SCPI engine; the acquisition, analysis and .sor file are
:class:`~instruments.sim.otdr_common.SimOtdr`'s. The settings are stored by the engine and
read back with their query forms. Errors as the manual writes them: a query on a missing
trace queues ``-400,"std_queryGen, Trace Not Ready"`` (§4.5.1), ``TRACe:ANALyze`` while a
shot runs ``-200,"std_execGen, Test is Active"`` (§4.5.2). ``*IDN?`` answers
``ANRITSU,MT9083C2,...``; the real instrument very likely writes ``ANRITSU, MT9083C2, ...``
(the FOMS client splits its reply on ``", "``): the drivers and the harness strip the fields,
so either form reads the same (tested at byte level), and the simulator keeps the form the
rest of the harness's tests expect.
"""

from __future__ import annotations

import numpy as np

from instruments.errors import ProtocolError
from instruments.ieee488 import encode_block
from instruments.otdr.anritsu_mt9083 import (COMMANDS, MAX_POINTS, NOT_GIVEN, PULSES_NS,
                                             encode_event, encode_trace_block,
                                             format_parameters, sample_spacing_m)
from instruments.protocols import OtdrSettings
from instruments.sim.faults import InstrumentFaults
from instruments.sim.otdr_common import SimOtdr
from instruments.sim.span import Span

TRACE_NOT_READY = '-400,"std_queryGen, Trace Not Ready"'
TEST_ACTIVE = '-200,"std_execGen, Test is Active"'
NO_TRACE = '-200,"std_execGen, Trace Not Ready"'
LIGHT_M_PER_S = 299_792_458.0
KIND_LETTER = {"non-reflective": "S", "reflective": "R", "end": "E"}


class SimMt9083(SimOtdr):
    """An MT9083-class OTDR at ``station``; switch port n is patched to ``ports[n]``."""

    COMMANDS = COMMANDS

    def __init__(self, span: Span, station: str, ports: dict[int, str], serial: str = "6200000001",
                 faults: InstrumentFaults | None = None) -> None:
        super().__init__(span, station, ports, faults)
        self.IDN = f"ANRITSU,MT9083C2,{serial},SIM-{station}"

    def acquisition_settings(self) -> OtdrSettings:
        range_km = float(self.value("range"))
        return OtdrSettings(
            wavelength_nm=float(self.value("wavelength")),
            pulse_width_ns=float(self.value("pulse")), range_km=range_km,
            averaging_s=float(self.value("average_time")),
            resolution_m=sample_spacing_m(range_km, int(self.value("resolution"))),
            group_index=float(self.value("ior")))

    def _trace_ready(self, error: str = TRACE_NOT_READY) -> tuple[np.ndarray, str, OtdrSettings]:
        return self.completed(ProtocolError(error))

    # --- set-up (the settings themselves are stored and answered by the engine) ---------------
    def do_resolution_available(self) -> str:
        return ", ".join(str(level) for level in range(len(MAX_POINTS)))

    def do_pulse_available(self) -> str:
        return ", ".join(str(p) for p in PULSES_NS)

    # --- acquisition ---------------------------------------------------------------------------
    def do_start(self) -> None:
        self.begin_acquisition()

    def do_abort(self) -> None:
        self.abort_acquisition()

    def do_ready(self) -> str:
        return "0" if self.acquiring() or self._trace is None else "1"

    def do_elapsed(self) -> str:
        return f"{self.elapsed_s():.1f}"

    # --- results -------------------------------------------------------------------------------
    def do_parameters(self) -> str:
        trace, _, s = self._trace_ready()
        spacing = s.resolution_m
        averages = int(s.averaging_s * LIGHT_M_PER_S / (2 * s.group_index * s.range_km * 1000))
        return format_parameters(s.wavelength_nm, len(trace) * spacing / 1000.0,
                                 s.pulse_width_ns, averages, spacing, s.group_index,
                                 float(self.value("backscatter")), 1)

    def do_data(self, start_km: float, end_km: float, space: int) -> bytes:
        trace, _, s = self._trace_ready()
        if start_km == NOT_GIVEN:
            return encode_block(encode_trace_block(trace))
        spacing_km = s.resolution_m / 1000.0
        last = len(trace) - 1
        first = int(round(start_km / spacing_km))
        stop = last if end_km == NOT_GIVEN else int(round(end_km / spacing_km))
        if end_km != NOT_GIVEN and stop == last + 1:  # <end> may be the whole range (§4.5.9)
            stop = last
        step = 1 if space == NOT_GIVEN else int(space)
        if not 0 <= first <= stop <= last:
            raise ProtocolError(f'-222,"Data out of range;{start_km:g} to '
                                f'{end_km if end_km != NOT_GIVEN else last * spacing_km:g} km"')
        return encode_block(encode_trace_block(trace[first:stop + 1:step]))

    def do_sor(self) -> bytes:
        self._trace_ready()
        return encode_block(self.sor_bytes())

    def do_analyze(self) -> None:
        if self.acquiring():
            raise ProtocolError(TEST_ACTIVE)
        self._trace_ready(NO_TRACE)
        self.analysed_events()

    def do_analyzed(self) -> str:
        self._trace_ready()
        return "1" if self._analysed is not None else "0"

    def do_event_count(self) -> str:
        self._trace_ready()
        return str(len(self._analysed or []))

    def do_event(self, n: int) -> str:
        self._trace_ready()
        found = self._analysed or []
        if not 1 <= n <= len(found):
            raise ProtocolError(f'-222,"Data out of range;event {n}"')
        e = found[n - 1]
        return encode_event(e["distance_m"], KIND_LETTER[e["kind"]], e["loss_db"],
                            e["reflectance_db"])
