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
from harness.sor import GenParams, SupParams, record_from_trace, write_sor
from instruments.otdr.anritsu_mt9083 import COMMANDS, encode_event, encode_trace_block
from instruments.protocols import OtdrSettings
from instruments.sim.faults import InstrumentFaults
from instruments.sim.otdr_physics import (events_from, visible_end, check_live_fibre,
                                          dynamic_range_db, launch_cord_m, otdr_trace)
from instruments.sim.scpi_server import SimStationInstrument
from instruments.sim.span import Span, at_wavelength

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
        self._shot: tuple[str, OtdrSettings] | None = None
        """(fibre, settings) of the last acquisition started."""
        self._analysed: list[dict] = []

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
        check_live_fibre(self.span, self.ports[self.port], self.station)
        self._trace = otdr_trace(self.span, self.ports[self.port], self.station, self.settings,
                                 launch_cord_m(self.span))
        self._shot = (self.ports[self.port], self.settings)
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

    # --- the instrument's own analysis and the .sor hand-over (shared with SimFtb7000) -------
    ANALYSIS_MARGIN_DB = 5.0
    """Events are found up to this far above the noise (dB below the one-way dynamic range)."""

    def _completed(self) -> tuple[np.ndarray, str, OtdrSettings]:
        if self._trace is None or self._shot is None or self.do_measuring() == "1":
            raise ProtocolError('-230,"Data corrupt or stale;no completed acquisition"')
        return self._trace, *self._shot

    def analysed_events(self) -> list[dict]:
        """The events this instrument's analysis reports for the last acquisition: the span's
        events as seen from this station, up to the fibre end or to where the backscatter
        falls within ``ANALYSIS_MARGIN_DB`` of the noise ("end of analysis"). Each: distance_m
        (from the front panel, launch cord included, as the trace), loss_db, reflectance_db
        (None if non-reflective), kind (non-reflective, reflective, end), cumulative_db
        (one-way loss from the ODF, dB)."""
        _, fibre_name, s = self._completed()
        fibre = self.span.fibre(fibre_name)
        first = self.station == self.span.stations[0]
        alpha = at_wavelength(fibre.attenuation_db_per_km, s.wavelength_nm)
        reach = dynamic_range_db(self.span, s) - self.ANALYSIS_MARGIN_DB
        end_km, end_reflectance = visible_end(self.span, fibre, first)
        found, steps, cord = [], 0.0, launch_cord_m(self.span)
        for km, loss, reflectance in events_from(self.span, fibre, first, s.wavelength_nm):
            cumulative = alpha * km + steps
            if km >= end_km or km > s.range_km or cumulative > reach:
                break
            steps += loss
            found.append({"distance_m": km * 1000.0 + cord, "loss_db": loss,
                          "reflectance_db": reflectance,
                          "kind": "non-reflective" if reflectance is None else "reflective",
                          "cumulative_db": cumulative + loss})
        end_loss = alpha * end_km + steps
        if end_loss <= reach and end_km <= s.range_km:
            found.append({"distance_m": end_km * 1000.0 + cord, "loss_db": 0.0,
                          "reflectance_db": end_reflectance, "kind": "end",
                          "cumulative_db": end_loss})
        else:
            last_km = (found[-1]["distance_m"] - cord) / 1000.0 if found else 0.0
            km = min(last_km + (reach - alpha * last_km - steps) / alpha, s.range_km)
            found.append({"distance_m": km * 1000.0 + cord, "loss_db": 0.0, "reflectance_db": None,
                          "kind": "end", "cumulative_db": alpha * km + steps})
        return found

    def sor_bytes(self) -> bytes:
        """The last acquisition as a Telcordia SR-4731 file, written by harness.sor.writer."""
        trace, fibre_name, s = self._completed()
        maker, model, serial, firmware = (self.IDN.split(",") + ["", "", "", ""])[:4]
        other = next((st for st in self.span.stations if st != self.station), self.station)
        events = [{"distance_m": e["distance_m"], "loss_db": e["loss_db"],
                   "reflectance_db": e["reflectance_db"], "code": e["kind"]}
                  for e in self.analysed_events()]
        record = record_from_trace(
            np.arange(len(trace), dtype=np.float64) * s.resolution_m, trace,
            wavelength_nm=s.wavelength_nm, pulse_width_ns=s.pulse_width_ns,
            group_index=s.group_index, averaging_s=s.averaging_s, events=events,
            supplier=SupParams(name=maker, mainframe_id=model, mainframe_sn=serial,
                               software_rev=firmware),
            general=GenParams(fibre_id=fibre_name, nominal_wavelength_nm=int(s.wavelength_nm),
                              originating_location=self.station, terminating_location=other))
        return write_sor(record)

    def do_sor(self) -> bytes:
        return encode_block(self.sor_bytes())

    def do_analyze(self) -> None:
        self._analysed = self.analysed_events()

    def do_event_count(self) -> str:
        return str(len(self._analysed))

    def do_event(self, n: int) -> str:
        if not 1 <= n <= len(self._analysed):
            raise ProtocolError(f'-222,"Data out of range;event {n}"')
        e = self._analysed[n - 1]
        kind = {"non-reflective": "S", "reflective": "R", "end": "E"}[e["kind"]]
        return encode_event(e["distance_m"], kind, e["loss_db"], e["reflectance_db"])
