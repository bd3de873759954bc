"""What every simulated OTDR does, whatever its dialect: acquire a trace of the span as an
overlapped operation, analyse it into an event table, and write the .sor file of it.

A model (:mod:`instruments.sim.otdr_mt9083`, :mod:`instruments.sim.otdr_ftb7000`) adds its
command tree and says which of its settings make the :class:`OtdrSettings` of a shot
(:meth:`SimOtdr.acquisition_settings`). The acquisition runs as an overlapped operation of the
shared SCPI engine: ``*OPC``/``*OPC?``/``*WAI`` wait for it, the SCPI OPERation condition
register shows MEASuring (bit 4) while it runs, and a ``busy`` instrument fault keeps it
running until the abort command.
"""

from __future__ import annotations

import time

import numpy as np

from harness.sor import GenParams, SupParams, record_from_trace, write_sor
from instruments.errors import ProtocolError
from instruments.protocols import OtdrSettings
from instruments.scpi_params import ScpiError
from instruments.sim.faults import InstrumentFaults
from instruments.sim.otdr_physics import (check_live_fibre, dynamic_range_db, events_from,
                                          launch_cord_m, otdr_trace, visible_end)
from instruments.sim.scpi_server import SimStationInstrument
from instruments.sim.span import Span, at_wavelength

MEASURING = 1 << 4
"""SCPI OPERation condition bit 4, MEASuring (SCPI-99 vol 1 §9.4)."""
ACQUISITION = "acquisition"
"""Name of the overlapped operation a shot is."""


class SimOtdr(SimStationInstrument):
    """A simulated OTDR at ``station`` behind a 1xN switch whose port n is patched to fibre
    ``ports[n]``. Subclasses set ``COMMANDS`` and implement :meth:`acquisition_settings`."""

    ANALYSIS_MARGIN_DB = 5.0
    """Events are found up to this far above the noise (dB below the one-way dynamic range)."""

    def __init__(self, span: Span, station: str, ports: dict[int, str],
                 faults: InstrumentFaults | None = None) -> None:
        super().__init__(span, station, ports, faults)
        self._trace: np.ndarray | None = None
        self._shot: tuple[str, OtdrSettings] | None = None
        """(fibre, settings) of the last completed acquisition."""
        self._started: float | None = None
        self._analysed: list[dict] | None = None

    def acquisition_settings(self) -> OtdrSettings:
        """The settings a shot fired now would use, in :class:`OtdrSettings` units."""
        raise NotImplementedError

    # --- the acquisition -----------------------------------------------------------------------
    def begin_acquisition(self) -> None:
        """Fire: refuse a live fibre (-200), drop the last trace, start the overlapped shot."""
        fibre = self.ports[self.port]
        check_live_fibre(self.span, fibre, self.station)
        settings = self.acquisition_settings()
        trace = otdr_trace(self.span, fibre, self.station, settings, launch_cord_m(self.span))
        self._trace, self._shot, self._analysed = None, None, None
        self._started = time.monotonic()
        self.status.operation.set_condition(MEASURING, True)

        def done() -> None:
            self._trace, self._shot = trace, (fibre, settings)
            self.status.operation.set_condition(MEASURING, False)

        self.start_operation(ACQUISITION, settings.averaging_s * self.span.time_scale, done,
                             may_finish=lambda: not self.faults.busy)

    def abort_acquisition(self) -> None:
        """Stop a shot in progress (laser off); the trace it would have given is lost."""
        self.status.cancel(ACQUISITION)
        self.status.operation.set_condition(MEASURING, False)
        self._started = None

    def acquiring(self) -> bool:
        """True while a shot runs (finishes it when its time has come)."""
        self.status.poll()
        return bool(self.status.operation.condition & MEASURING)

    def elapsed_s(self) -> float:
        """Instrument seconds of averaging done by the shot running or last run."""
        if self._started is None:
            return 0.0
        settings = self._shot[1] if self._shot else self.acquisition_settings()
        done = (time.monotonic() - self._started) / self.span.time_scale
        return min(done, settings.averaging_s)

    def completed(self, error: ProtocolError | None = None) -> tuple[np.ndarray, str, OtdrSettings]:
        """(trace, fibre, settings) of the last completed shot; raises ``error`` (default
        -230 *Data corrupt or stale*) while a shot runs or when there is none."""
        if self.acquiring() or self._trace is None or self._shot is None:
            raise error or ScpiError(-230, "no completed acquisition")
        return self._trace, *self._shot

    def on_reset(self) -> None:
        """``*RST``: any shot stops and the last trace is dropped."""
        self.abort_acquisition()
        self._trace, self._shot, self._analysed = None, None, None

    # --- the instrument's own analysis and the .sor hand-over ------------------------------------
    def analysed_events(self) -> list[dict]:
        """The events this instrument's analysis reports for the last acquisition: the span's
        events as seen from this station, up to the fibre end or to where the backscatter
        falls within ``ANALYSIS_MARGIN_DB`` of the noise ("end of analysis"). Each: distance_m
        (from the front panel, launch cord included, as the trace), loss_db, reflectance_db
        (None if non-reflective), kind (non-reflective, reflective, end), cumulative_db
        (one-way loss from the ODF, dB)."""
        if self._analysed is not None:
            return self._analysed
        _, fibre_name, s = self.completed()
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
        self._analysed = found
        return found

    def backscatter_db(self) -> float:
        """The Rayleigh backscatter coefficient (dB, 1 ns) the last trace was taken with."""
        _, _, s = self.completed()
        return at_wavelength(self.span.section("fibre").get("backscatter_db_1ns", {1550: -82.0}),
                             s.wavelength_nm)

    def sor_bytes(self) -> bytes:
        """The last acquisition as a Telcordia SR-4731 file, written by harness.sor.writer."""
        trace, fibre_name, s = self.completed()
        maker, model, serial, firmware = ([p.strip() for p in self.IDN.split(",")] + [""] * 4)[:4]
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
