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
from instruments.protocols import (PM_FIELDS, Alarm, ChannelState, Osa, OsaSettings, Otdr,
                                   OtdrSettings, OtdrTrace, PmBin, Spectrum, Transponder)

Linker = Callable[[str, str], None]
"""Called with (trace name, acquisition path) to attach an acquisition to the current check."""


def otdr_request(station: str, port: int, settings: OtdrSettings) -> dict[str, Any]:
    return {"kind": "otdr", "station": station, "port": port, **dataclasses.asdict(settings)}


def osa_request(station: str, port: int, settings: OsaSettings) -> dict[str, Any]:
    return {"kind": "osa", "station": station, "port": port, **dataclasses.asdict(settings)}


def wdm_request(station: str, port: int, settings: OsaSettings) -> dict[str, Any]:
    """The OSA's own WDM table of the sweep taken with ``settings`` on ``port``."""
    return {"kind": "osa_wdm", "station": station, "port": port, **dataclasses.asdict(settings)}


WDM_EXTRA = ("power_dbm", "noise_dbm")
"""WDM table columns stored beside x (center_nm) and y (osnr_db)."""


def pm_request(station: str, aid: str) -> dict[str, Any]:
    return {"kind": "pm", "station": station, "aid": aid}


def history_request(station: str, aid: str, bins: int) -> dict[str, Any]:
    return {"kind": "pm_history", "station": station, "aid": aid, "bins": bins}


def state_request(station: str, aid: str, n: int) -> dict[str, Any]:
    """The ``n``-th reading (0-based, in this run) of channel ``aid``'s transmitter state: each
    interlock check reads afresh, and replay serves the readings in the same order."""
    return {"kind": "och", "station": station, "aid": aid, "n": n}


STATES = ("OOS", "IS")
"""Transmitter states, stored as their index."""


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
        self._reads: dict[str, int] = {}

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

    def fetch_sor(self) -> bytes:
        """The live instrument's .sor file of its last acquisition (not stored in the run)."""
        return self.inner.fetch_sor()

    def events(self) -> list[dict[str, object]]:
        """The live instrument's own event table (not stored in the run)."""
        return self.inner.events()


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

        def take() -> Spectrum:
            spectrum = self.inner.sweep(settings)
            self.live = (self.port, settings)  # what the instrument's own analysis would see
            return spectrum

        self.swept = settings
        return self._once(osa_request(self.station, self.port, settings),
                          f"osa_{self.station}_p{self.port}", take, save)

    def wdm_table(self) -> list[dict[str, float]]:
        """The instrument's WDM table of the last sweep, stored in the run."""
        settings = _last_sweep(self)

        def save(rows: list[dict[str, float]]) -> str:
            attrs = {"kind": "osa_wdm", "station": self.station, "port": self.port,
                     **_flat(settings), **self.describe("osa", self.port)}
            extra = {k: np.array([r[k] for r in rows]) for k in WDM_EXTRA}
            return self.store.add_acquisition(
                wdm_request(self.station, self.port, settings), np.array([r["center_nm"] for r in rows]),
                np.array([r["osnr_db"] for r in rows]), ("nm", "Channel peak wavelength"),
                ("dB", "Instrument SNR"), attrs, extra)
        def take() -> list[dict[str, float]]:
            if getattr(self, "live", None) != (self.port, settings):  # that sweep came from the record
                self.inner.sweep(settings)
                self.live = (self.port, settings)
            return self.inner.wdm_table()

        return self._once(wdm_request(self.station, self.port, settings),
                          f"osa_wdm_{self.station}_p{self.port}", take, save)


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

    def channel_state(self, aid: str) -> ChannelState:
        n = self._reads[aid] = self._reads.get(aid, -1) + 1

        def save(state: ChannelState) -> str:
            attrs = {"kind": "och", "station": self.station, "aid": aid, "state": state.state,
                     **self.describe("transponder", aid)}
            return self.store.add_acquisition(
                state_request(self.station, aid, n), np.array([STATES.index(state.state)]),
                np.array([state.tx_power_dbm]), ("1", "In service (1) or not (0)"),
                ("dBm", "Tx power"), attrs, {"rx_power_dbm": np.array([state.rx_power_dbm])})
        return self._once(state_request(self.station, aid, n), f"och_{self.station}_{aid}_{n}",
                          lambda: self.inner.channel_state(aid), save)

    def set_in_service(self, aid: str, on: bool) -> None:
        self.inner.set_in_service(aid, on)

    def read_pm_history(self, aid: str, bins: int) -> list[PmBin]:
        """Stored once complete; a :class:`HistoryShort` (polled while a soak goes on) is not."""
        def save(history: list[PmBin]) -> str:
            attrs = {"kind": "pm_history", "station": self.station, "aid": aid, "bins": bins,
                     **self.describe("transponder", aid)}
            extra = {name: np.array([b.values.get(name, np.nan) for b in history])
                     for name in PM_FIELDS}
            return self.store.add_acquisition(
                history_request(self.station, aid, bins), np.array([b.start_s for b in history]),
                extra["q_db"], ("s", "Bin start (Unix time)"), ("dB", "Q"), attrs, extra)
        return self._once(history_request(self.station, aid, bins), f"pm_history_{self.station}_{aid}",
                          lambda: self.inner.read_pm_history(aid, bins), save)


def _last_sweep(osa: Any) -> OsaSettings:
    settings = getattr(osa, "swept", None)
    if settings is None:
        raise StoreError(f"{osa.station} OSA: WDM table asked for before any sweep")
    return settings


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
        if request["kind"] == "osa_wdm":
            columns = {"center_nm": x, "osnr_db": y, **{k: row["arrays"][k] for k in WDM_EXTRA}}
            return [{k: float(v[i]) for k, v in columns.items()} for i in range(len(x))], row["path"]
        if request["kind"] == "och":
            return ChannelState(request["aid"], STATES[int(x[0])], float(y[0]),
                                float(row["arrays"]["rx_power_dbm"][0])), row["path"]
        if request["kind"] == "pm_history":
            return [PmBin(request["aid"], "15-MIN", float(t), {
                name: float(row["arrays"][name][i]) if name in row["arrays"] else float("nan")
                for name in PM_FIELDS}) for i, t in enumerate(x)], row["path"]
        values = {name: float(row["arrays"][name][0]) if name in row["arrays"] else float("nan")
                  for name in PM_FIELDS}
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
        self.swept = settings
        return spectrum

    def wdm_table(self) -> list[dict[str, float]]:
        rows, path = self.source.result(wdm_request(self.station, self.port, _last_sweep(self)))
        self.link(f"osa_wdm_{self.station}_p{self.port}", path)
        return rows

    def close(self) -> None:
        pass


class ReplayTransponder(Transponder):
    """Serves stored PM readings (and the alarms stored with them)."""

    def __init__(self, source: ReplaySource, station: str, link: Linker) -> None:
        self.source, self.station, self.link = source, station, link
        self._reads: dict[str, int] = {}

    def identify(self) -> str:
        return f"REPLAY,{self.station},transponder"

    def read_pm(self, aid: str) -> PmBin:
        pm, path = self.source.result(pm_request(self.station, aid))
        self.link(f"pm_{self.station}_{aid}", path)
        return pm

    def channel_state(self, aid: str) -> ChannelState:
        n = self._reads[aid] = self._reads.get(aid, -1) + 1
        state, path = self.source.result(state_request(self.station, aid, n))
        self.link(f"och_{self.station}_{aid}_{n}", path)
        return state

    def set_in_service(self, aid: str, on: bool) -> None:
        pass  # nothing to switch: the stored run's readings are served as they were

    def read_pm_history(self, aid: str, bins: int) -> list[PmBin]:
        history, path = self.source.result(history_request(self.station, aid, bins))
        self.link(f"pm_history_{self.station}_{aid}", path)
        return history

    def alarms(self) -> list[Alarm]:
        out = []
        for row in self.source.acquisitions.values():
            if row.get("kind") == "pm" and row.get("station") == self.station:
                out += [Alarm(row["aid"], c, "CR") for c in json.loads(row.get("alarms", "[]"))]
        return out

    def close(self) -> None:
        pass
