"""Instrument faults of the simulators (not faults of the span): what a bad day at a station
looks like from the harness's side of the LAN socket or the console.

Given as the span file's ``instrument_faults:`` list, or ``--instrument-fault`` on the command
line (``station=AKTAU,role=otdr,fault=drop,after_bytes=100000``)::

    instrument_faults:
      - {station: AKTAU, role: otdr, fault: drop, after_bytes: 100000}     # TRAC:LOAD:DATA? cut
      - {station: SUMGAIT, role: osa, fault: garble, command: trace_y, times: 1}
      - {station: AKTAU, role: otdr, fault: busy}                          # the shot never ends
      - {station: AKTAU, role: otdr, fault: error, command: route, error: '-350,"Queue overflow"'}
      - {station: SUMGAIT, role: transponder, fault: delay, delay_s: 12, command: RTRV-PM-OCH}

fault: ``delay`` (reply ``delay_s`` seconds late), ``drop`` (send ``after_bytes`` bytes of the
reply, then close the connection), ``garble`` (block length digits unreadable), ``truncate``
(a block with ``after_bytes`` of the payload it announces; default half), ``busy`` (an
acquisition or sweep never completes), ``error`` (push ``error`` onto the error queue after
``command``). command: the command's name in the driver's table (SCPI) or the TL1 verb; empty
means every query (delay, drop) or every block query (garble, truncate). times: how often the
fault fires, then the instrument behaves (0 = every time). SCPI instruments take every fault;
the transponder takes delay and drop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields
from typing import Any, Iterable

from instruments.sim.span import SpanFileError

FAULTS = ("delay", "drop", "garble", "truncate", "busy", "error")
ROLES = ("otdr", "osa", "transponder")
TL1_FAULTS = ("delay", "drop")


@dataclass
class InstrumentFault:
    """One fault of one simulated instrument (see the module doc for the fields)."""

    station: str
    role: str
    fault: str
    command: str = ""
    delay_s: float = 0.0
    after_bytes: int | None = None
    error: str = '-350,"Queue overflow"'
    times: int = 0
    fired: int = 0

    def matches(self, command: str) -> bool:
        return not self.command or self.command.lower() == command.lower()


@dataclass
class InstrumentFaults:
    """The faults of one simulated instrument, consumed as they fire (thread-safe)."""

    faults: list[InstrumentFault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, kind: str, command: str, is_query: bool = True, is_block: bool = False
             ) -> InstrumentFault | None:
        """The first armed fault of ``kind`` for ``command``, counted as fired; or None.

        Without a ``command`` a fault hits every query (delay, drop) or block query (garble,
        truncate); ``error`` always names its command.
        """
        with self._lock:
            for f in self.faults:
                if f.fault != kind or (f.times and f.fired >= f.times):
                    continue
                if not f.command and ((kind in ("garble", "truncate") and not is_block)
                                      or not is_query):
                    continue
                if f.matches(command):
                    f.fired += 1
                    return f
        return None

    @property
    def busy(self) -> bool:
        """True while a ``busy`` fault is armed: acquisitions and sweeps never complete."""
        return any(f.fault == "busy" and not (f.times and f.fired >= f.times) for f in self.faults)

    def __bool__(self) -> bool:
        return bool(self.faults)


def parse_instrument_fault(entry: Any, where: str, stations: Iterable[str],
                           commands: dict[str, Iterable[str]] | None = None) -> InstrumentFault:
    """Check one ``instrument_faults`` entry; :class:`SpanFileError` names the wrong field.

    ``commands`` maps a role to the command names (or TL1 verbs) it knows, to check ``command``.
    """
    if not isinstance(entry, dict):
        raise SpanFileError(f"{where}: expected a mapping")
    known = {f.name for f in fields(InstrumentFault)} - {"fired"} | {"type"}
    for key in entry:
        if key not in known:
            raise SpanFileError(f"{where}.{key}: unknown field (known: {', '.join(sorted(known))})")
    if entry.get("type", "instrument") != "instrument":
        raise SpanFileError(f"{where}.type: must be 'instrument' here")
    stations = list(stations)
    if entry.get("station") not in stations:
        raise SpanFileError(f"{where}.station: {entry.get('station')!r} is not one of {stations}")
    if entry.get("role") not in ROLES:
        raise SpanFileError(f"{where}.role: {entry.get('role')!r} is not one of {', '.join(ROLES)}")
    allowed = TL1_FAULTS if entry["role"] == "transponder" else FAULTS
    if entry.get("fault") not in allowed:
        raise SpanFileError(f"{where}.fault: {entry.get('fault')!r} is not one of "
                            f"{', '.join(allowed)} for a {entry['role']}")
    try:
        fault = InstrumentFault(
            station=entry["station"], role=entry["role"], fault=entry["fault"],
            command=str(entry.get("command") or ""),
            delay_s=float(entry.get("delay_s", 0.0)),
            after_bytes=None if entry.get("after_bytes") is None else int(entry["after_bytes"]),
            error=str(entry.get("error", InstrumentFault.error)),
            times=int(entry.get("times", 0)))
    except (TypeError, ValueError):
        raise SpanFileError(f"{where}: delay_s, after_bytes and times must be numbers") from None
    if fault.delay_s < 0 or fault.times < 0 or (fault.after_bytes or 0) < 0:
        raise SpanFileError(f"{where}: delay_s, after_bytes and times must not be negative")
    if fault.fault == "delay" and fault.delay_s <= 0:
        raise SpanFileError(f"{where}.delay_s: a delay fault needs delay_s > 0")
    if fault.fault == "error" and not fault.command:
        raise SpanFileError(f"{where}.command: an error fault needs the command it follows")
    names = list((commands or {}).get(fault.role, ()))
    if fault.command and names and fault.command.lower() not in (n.lower() for n in names):
        raise SpanFileError(f"{where}.command: {fault.command!r} is not a {fault.role} command "
                            f"(known: {', '.join(names)})")
    return fault


def instrument_faults(entries: Iterable[Any], stations: Iterable[str],
                      commands: dict[str, Iterable[str]] | None = None,
                      where: str = "instrument_faults") -> dict[tuple[str, str], InstrumentFaults]:
    """Parse every entry and group them by ``(station, role)``."""
    grouped: dict[tuple[str, str], InstrumentFaults] = {}
    stations = list(stations)
    for index, entry in enumerate(entries or []):
        fault = parse_instrument_fault(entry, f"{where}[{index}]", stations, commands)
        grouped.setdefault((fault.station, fault.role), InstrumentFaults()).faults.append(fault)
    return grouped
