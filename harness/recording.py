"""Instruments as a test sees them: live drivers whose every acquisition is recorded, or
replay instruments that serve the acquisitions of a stored run. Both implement the protocols.

An acquisition is identified by its request (kind, station, port or AID, settings): the
recording instrument stores each request once per run and serves a repeat from the record,
and the replay instrument looks the request up in the stored run.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable

import numpy as np

from harness.errors import StoreError
from harness.store import RunStore, canonical
from instruments.protocols import (PM_FIELDS, Alarm, Osa, OsaSettings, Otdr, OtdrSettings,
                                   OtdrTrace, PmBin, Spectrum, Transponder)

Linker = Callable[[str, str], None]
"""Called with (trace name, acquisition path) to attach an acquisition to the current check."""


def otdr_request(station: str, port: int, settings: OtdrSettings) -> dict[str, Any]:
    return {"kind": "otdr", "station": station, "port": port, **dataclasses.asdict(settings)}


def osa_request(station: str, port: int, settings: OsaSettings) -> dict[str, Any]:
    return {"kind": "osa", "station": station, "port": port, **dataclasses.asdict(settings)}


def pm_request(station: str, aid: str) -> dict[str, Any]:
    return {"kind": "pm", "station": station, "aid": aid}


class _Recorder:
    """Stores each distinct request once per run and links the stored acquisition to the
    current check on every use (a repeated request is served from the record, not re-taken)."""

    def __init__(self, inner: Any, station: str, store: RunStore, link: Linker,
                 describe: Callable[[str, Any], dict[str, Any]],
                 done: "ReplaySource | None" = None) -> None:
        self.inner, self.station, self.store, self.link = inner, station, store, link
        self.describe = describe
        self.port = 0
        self.done = done
        self._done: dict[str, tuple[Any, str]] = {}

    def _once(self, request: dict[str, Any], name: str, take: Callable[[], Any],
              save: Callable[[Any], str]) -> Any:
        key = canonical(request)
        if key not in self._done and self.done is not None and self.done.has(request):
            self._done[key] = self.done.result(request)  # measured before a resume
        if key not in self._done:
            result = take()
            self._done[key] = (result, save(result))
        result, path = self._done[key]
        self.link(name, path)
        return result

    def identify(self) -> str:
        return self.inner.identify()

    def select_port(self, port: int) -> None:
        self.inner.select_port(port)
        self.port = port

    def close(self) -> None:
        self.inner.close()


class RecordingOtdr(_Recorder, Otdr):
    """A live OTDR whose traces are stored in the run."""

    def measure(self, settings: OtdrSettings) -> OtdrTrace:
        def save(trace: OtdrTrace) -> str:
            attrs = {"kind": "otdr", "station": self.station, "port": self.port,
                     "instrument_idn": trace.idn, **_flat(settings),
                     **self.describe("otdr", self.port)}
            return self.store.add_acquisition(
                otdr_request(self.station, self.port, settings), trace.distance_m,
                trace.level_db, ("m", "Distance"), ("dB", "Level (5·log10)"), attrs)
        return self._once(otdr_request(self.station, self.port, settings),
                          f"otdr_{self.station}_p{self.port}_{settings.wavelength_nm:.0f}nm",
                          lambda: self.inner.measure(settings), save)


class RecordingOsa(_Recorder, Osa):
    """A live OSA whose sweeps are stored in the run."""

    def sweep(self, settings: OsaSettings) -> Spectrum:
        def save(spectrum: Spectrum) -> str:
            attrs = {"kind": "osa", "station": self.station, "port": self.port,
                     "instrument_idn": spectrum.idn, **_flat(settings),
                     **self.describe("osa", self.port)}
            return self.store.add_acquisition(
                osa_request(self.station, self.port, settings), spectrum.wavelength_nm,
                spectrum.power_dbm, ("nm", "Wavelength"), ("dBm", "Power in RBW"), attrs)
        return self._once(osa_request(self.station, self.port, settings),
                          f"osa_{self.station}_p{self.port}", lambda: self.inner.sweep(settings), save)


class RecordingTransponder(_Recorder, Transponder):
    """A live transponder shelf whose PM readings (and the alarms seen with them) are stored."""

    def select_port(self, port: int) -> None:  # a shelf has no switch
        raise NotImplementedError

    def read_pm(self, aid: str) -> PmBin:
        def save(pm: PmBin) -> str:
            extra = {name: np.array([pm.values.get(name, np.nan)]) for name in PM_FIELDS}
            attrs = {"kind": "pm", "station": self.station, "aid": aid, "period": pm.period,
                     "alarms": json.dumps(list(pm.alarms)), **self.describe("transponder", aid)}
            return self.store.add_acquisition(
                pm_request(self.station, aid), np.array([pm.start_s]),
                np.array([pm.values.get("q_db", np.nan)]), ("s", "Bin start (Unix time)"),
                ("dB", "Q"), attrs, extra)
        return self._once(pm_request(self.station, aid), f"pm_{self.station}_{aid}",
                          lambda: self.inner.read_pm(aid), save)

    def alarms(self) -> list[Alarm]:
        return self.inner.alarms()


def _flat(settings: Any) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(settings).items()}


class ReplaySource:
    """Stored acquisitions by request, turned back into protocol results.

    Serves a finished run's record (replay) or a killed run's verified steps (resume).
    """

    def __init__(self, acquisitions: dict[str, dict[str, Any]]) -> None:
        self.acquisitions = acquisitions

    def has(self, request: dict[str, Any]) -> bool:
        return canonical(request) in self.acquisitions

    def get(self, request: dict[str, Any]) -> dict[str, Any]:
        key = canonical(request)
        if key not in self.acquisitions:
            raise StoreError(f"replay: the stored run holds no acquisition for {key}")
        return self.acquisitions[key]

    def result(self, request: dict[str, Any]) -> tuple[Any, str]:
        """(OtdrTrace | Spectrum | PmBin, path in the record) for a stored request."""
        row = self.get(request)
        x, y = row["arrays"]["x"], row["arrays"]["y"]
        if request["kind"] == "otdr":
            settings = OtdrSettings(**{k: request[k] for k in OtdrSettings.__dataclass_fields__})
            return OtdrTrace(settings, x, y, request["port"], row.get("instrument_idn", "")), row["path"]
        if request["kind"] == "osa":
            settings = OsaSettings(**{k: request[k] for k in OsaSettings.__dataclass_fields__})
            return Spectrum(settings, x, y, request["port"], row.get("instrument_idn", "")), row["path"]
        values = {name: float(row["arrays"][name][0]) for name in PM_FIELDS}
        return PmBin(request["aid"], row.get("period", "15-MIN"), float(x[0]), values,
                     tuple(json.loads(row.get("alarms", "[]")))), row["path"]


class ReplayOtdr(Otdr):
    """Serves stored OTDR traces; ``link`` attaches them to the current check as live ones are."""

    def __init__(self, source: ReplaySource, station: str, link: Linker) -> None:
        self.source, self.station, self.link, self.port = source, station, link, 0

    def identify(self) -> str:
        return f"REPLAY,{self.station},otdr"

    def select_port(self, port: int) -> None:
        self.port = port

    def measure(self, settings: OtdrSettings) -> OtdrTrace:
        trace, path = self.source.result(otdr_request(self.station, self.port, settings))
        self.link(f"otdr_{self.station}_p{self.port}_{settings.wavelength_nm:.0f}nm", path)
        return trace

    def close(self) -> None:
        pass


class ReplayOsa(Osa):
    """Serves stored OSA sweeps."""

    def __init__(self, source: ReplaySource, station: str, link: Linker) -> None:
        self.source, self.station, self.link, self.port = source, station, link, 0

    def identify(self) -> str:
        return f"REPLAY,{self.station},osa"

    def select_port(self, port: int) -> None:
        self.port = port

    def sweep(self, settings: OsaSettings) -> Spectrum:
        spectrum, path = self.source.result(osa_request(self.station, self.port, settings))
        self.link(f"osa_{self.station}_p{self.port}", path)
        return spectrum

    def close(self) -> None:
        pass


class ReplayTransponder(Transponder):
    """Serves stored PM readings (and the alarms stored with them)."""

    def __init__(self, source: ReplaySource, station: str, link: Linker) -> None:
        self.source, self.station, self.link = source, station, link

    def identify(self) -> str:
        return f"REPLAY,{self.station},transponder"

    def read_pm(self, aid: str) -> PmBin:
        pm, path = self.source.result(pm_request(self.station, aid))
        self.link(f"pm_{self.station}_{aid}", path)
        return pm

    def alarms(self) -> list[Alarm]:
        out = []
        for row in self.source.acquisitions.values():
            if row.get("kind") == "pm" and row.get("station") == self.station:
                out += [Alarm(row["aid"], c, "CR") for c in json.loads(row.get("alarms", "[]"))]
        return out

    def close(self) -> None:
        pass
