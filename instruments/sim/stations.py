"""Start the simulated instruments of both landing stations and report where they listen.

Wiring (the same in the simulated station file): OTDR switch port 2·(n-1)+k ↔ fibre FPn-Fk;
OSA switch port n ↔ the fibre of pair n that the station receives; transponder channel
``OCH-1-n-1`` ↔ the card receiving on pair n. FPn-F1 carries first → second station traffic.
Instrument faults come from the span file's ``instrument_faults:`` list plus any passed in
(:mod:`instruments.sim.faults`); each simulated instrument gets its own.

OTDR models: each station serves the OTDR models ``otdr_models`` names for it (default: every
simulated model, :data:`OTDR_MODELS`), each on its own port with the same switch wiring, as
``STATION/otdr@MODEL``; ``STATION/otdr`` is the first of them. A station file says which model
it talks to, and :meth:`harness.config.StationFile.resolve_sim` picks that one. A station's
``otdr`` instrument faults apply to each OTDR model it serves (one fault list, fired once).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from instruments.osa.yokogawa_aq6370 import COMMANDS as OSA_COMMANDS
from instruments.otdr.anritsu_mt9083 import COMMANDS as MT9083_COMMANDS
from instruments.otdr.exfo_ftb7000 import COMMANDS as FTB7000_COMMANDS
from instruments.logins import login_specs, resolve_logins
from instruments.sim.faults import InstrumentFaults, instrument_faults
from instruments.sim.osa_aq6370 import SimAq6370
from instruments.sim.otdr_ftb7000 import SimFtb7000
from instruments.sim.otdr_mt9083 import SimMt9083
from instruments.sim.scpi_server import ScpiServer
from instruments.sim.span import Span, SpanFileError
from instruments.sim.tl1_agent import PtyConsole, TcpConsole, Tl1Agent


def received_fibre(span: Span, station: str, pair: int) -> str:
    """The fibre of pair ``pair`` whose traffic arrives at ``station``."""
    return f"FP{pair}-F1" if station == span.stations[1] else f"FP{pair}-F2"


def otdr_ports(span: Span) -> dict[int, str]:
    pairs = len(span.fibres) // 2
    return {2 * (n - 1) + k: f"FP{n}-F{k}" for n in range(1, pairs + 1) for k in (1, 2)}


@dataclass
class SimulatedStations:
    """Running simulators; :attr:`resources` maps ``STATION/role`` to a VISA string or serial URL
    and :attr:`instruments` to the simulated instrument (its ``faults`` can be switched live)."""

    span: Span
    resources: dict[str, str] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    instruments: dict[str, Any] = field(default_factory=dict)
    _servers: list = field(default_factory=list)

    def stop(self) -> None:
        """Stop every server; all at once, as each ``shutdown`` waits up to its poll interval."""
        stoppers = [threading.Thread(target=server.shutdown) for server in self._servers]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        for server in self._servers:
            server.server_close()
        self._servers.clear()


FAULT_COMMANDS: dict[str, list[str]] = {
    "otdr": list(dict.fromkeys(c.name for t in (MT9083_COMMANDS, FTB7000_COMMANDS) for c in t)),
    "osa": [c.name for c in OSA_COMMANDS],
    "transponder": ["ACT-USER", "CANC-USER", "RTRV-NETYPE", "RTRV-PM-OCH", "RTRV-ALM-ALL", "ED-OCH",
                    "RTRV-OCH"],
}
"""What an instrument fault's ``command`` may name, per role."""


OTDR_MODELS: dict[str, Callable[..., Any]] = {
    "anritsu-mt9083": lambda span, station, index, faults: SimMt9083(
        span, station, otdr_ports(span), serial=f"62000{index:05d}", faults=faults),
    "exfo-ftb7000": lambda span, station, index, faults: SimFtb7000(
        span, station, otdr_ports(span), serial=f"7{index:05d}", faults=faults),
}
"""Simulated OTDR models (registry name -> factory(span, station, index, faults))."""


def parse_otdr_models(entries: Iterable[str], stations: list[str]) -> dict[str, list[str]]:
    """``STATION=MODEL`` entries (repeatable per station) to ``{station: [models]}``; raises
    SpanFileError naming a wrong station or model."""
    chosen: dict[str, list[str]] = {}
    for entry in entries:
        station, sep, model = (part.strip() for part in entry.partition("="))
        if not sep or station not in stations:
            raise SpanFileError(f"--otdr-model {entry!r}: expected STATION=MODEL with a station "
                                f"of {stations}")
        if model not in OTDR_MODELS:
            raise SpanFileError(f"--otdr-model {entry!r}: {model!r} is not one of "
                                f"{', '.join(OTDR_MODELS)}")
        chosen.setdefault(station, []).append(model)
    return chosen


def start_stations(span: Span, host: str = "127.0.0.1",
                   extra_faults: list[dict] | None = None,
                   otdr_models: dict[str, list[str]] | None = None,
                   logins: dict[str, dict[str, str]] | None = None) -> SimulatedStations:
    """Serve OTDRs, an OSA and a transponder console for each station of ``span``, with the
    span's ``instrument_faults`` and ``extra_faults`` (raises SpanFileError if one is wrong).
    ``otdr_models`` maps a station to the OTDR models it serves (default: all of them).
    ``logins`` (``STATION/role``: user and password_env, added to the span file's ``logins:``)
    are the logins the OSA and the TL1 shelf accept; without one the shelf takes ADMIN/ADMIN
    and the OSA any login. Passwords are read from the environment (SpanFileError if unset)."""
    specs = login_specs(span.raw.get("logins") or {}, "logins", SpanFileError) | dict(logins or {})
    expected = resolve_logins(specs, "logins", SpanFileError)
    entries = list(span.raw.get("instrument_faults") or []) + list(extra_faults or [])
    faults = instrument_faults(entries, span.stations, FAULT_COMMANDS)
    for station, models in (otdr_models or {}).items():
        unknown = [m for m in models if m not in OTDR_MODELS] + (
            [station] if station not in span.stations else [])
        if unknown or not models:
            raise SpanFileError(f"otdr_models.{station}: {unknown or 'no model'} is not a "
                                f"station with simulated OTDR models ({', '.join(OTDR_MODELS)})")

    def faults_of(station: str, role: str) -> InstrumentFaults:
        return faults.get((station, role)) or InstrumentFaults()

    sim = SimulatedStations(span)
    pairs = len(span.fibres) // 2
    for index, station in enumerate(span.stations):
        for model in (otdr_models or {}).get(station) or list(OTDR_MODELS):
            sim_otdr = OTDR_MODELS[model](span, station, index, faults_of(station, "otdr"))
            otdr = ScpiServer(sim_otdr, host).start()
            sim._servers.append(otdr)
            resource = f"TCPIP::{host}::{otdr.port}::SOCKET"
            sim.resources[f"{station}/otdr@{model}"] = resource
            sim.instruments[f"{station}/otdr@{model}"] = sim_otdr
            if f"{station}/otdr" not in sim.resources:
                sim.resources[f"{station}/otdr"] = resource
                sim.instruments[f"{station}/otdr"] = sim_otdr
        osa_ports = {n: received_fibre(span, station, n) for n in range(1, pairs + 1)}
        sim_osa = SimAq6370(span, station, osa_ports, serial=f"91M{index:06d}",
                            faults=faults_of(station, "osa"))
        sim_osa.expected_login = expected.get(f"{station}/osa")
        osa = ScpiServer(sim_osa, host).start()
        channels = {f"OCH-1-{n}-1": received_fibre(span, station, n) for n in range(1, pairs + 1)}
        user, password = expected.get(f"{station}/transponder", ("ADMIN", "ADMIN"))
        agent = Tl1Agent(span, station, f"{station}-TP1", channels, user=user, password=password,
                         faults=faults_of(station, "transponder"))
        sim.instruments.update({f"{station}/osa": sim_osa, f"{station}/transponder": agent})
        pty = PtyConsole(agent).start()
        tcp = TcpConsole(agent, host).start()
        sim._servers += [osa, tcp]
        sim.resources[f"{station}/osa"] = f"TCPIP::{host}::{osa.port}::SOCKET"
        sim.resources[f"{station}/transponder"] = pty.path
        sim.extra[f"{station}/transponder-tcp"] = tcp.url
    return sim
