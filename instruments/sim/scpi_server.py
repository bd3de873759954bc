"""A threaded TCP server that speaks line-terminated SCPI, as an instrument's LAN socket does.

A simulated instrument subclasses :class:`SimScpiInstrument`, sets ``COMMANDS`` to its model's
table (imported from the driver module) and implements ``do_<name>`` for each command. Its
:class:`~instruments.sim.faults.InstrumentFaults` (delay, drop, garble, truncate, error) are
applied here, after the table has parsed the line; ``busy`` is up to each model.
"""

from __future__ import annotations

import socketserver
import threading
import time
from collections import Counter, deque
from typing import Any

from instruments.errors import ProtocolError
from instruments.scpi_table import Command, CommandTable
from instruments.sim.faults import InstrumentFaults


class CutOff(bytes):
    """Reply bytes after which the server closes the connection (a ``drop`` fault)."""


class SimScpiInstrument:
    """State and command handlers of one simulated SCPI instrument (shared by its connections)."""

    COMMANDS: CommandTable
    IDN = "SIM,INSTRUMENT,0,0"

    def __init__(self, faults: InstrumentFaults | None = None) -> None:
        self.errors: deque[str] = deque(maxlen=30)
        self.lock = threading.RLock()
        self.faults = faults or InstrumentFaults()
        self.received: Counter[str] = Counter()
        """How many times each command (by table name) arrived, for tests."""

    def push_error(self, text: str) -> None:
        self.errors.append(text)

    def handle(self, line: str, session: dict[str, Any]) -> bytes | None:
        """Handle one line; returns the reply bytes (terminator included) or None."""
        try:
            command, args = self.COMMANDS.parse(line)
        except ProtocolError as exc:
            self.push_error(str(exc))
            return None
        with self.lock:
            self.received[command.name] += 1
            try:
                result = getattr(self, "do_" + command.name)(*args)
            except ProtocolError as exc:
                self.push_error(str(exc))
                return None
            error = self.faults.take("error", command.name, command.is_query)
            if error:
                self.push_error(error.error)
        if not command.is_query:
            return CutOff() if self.faults.take("drop", command.name, False) else None
        reply = (result if isinstance(result, bytes) else str(result).encode("ascii")) + b"\n"
        return self._faulty(command, reply) if self.faults else reply

    def _faulty(self, command: Command, reply: bytes) -> bytes:
        """Apply delay, garble, truncate and drop faults to one reply."""
        block = reply[:1] == b"#"
        delay = self.faults.take("delay", command.name)
        if delay:
            time.sleep(delay.delay_s)
        if block and self.faults.take("garble", command.name, is_block=True):
            reply = reply[:2] + b"?" * int(reply[1:2]) + reply[2 + int(reply[1:2]):]
        truncate = block and self.faults.take("truncate", command.name, is_block=True)
        if truncate:
            head = 2 + int(reply[1:2])
            payload = len(reply) - head - 1
            keep = payload // 2 if truncate.after_bytes is None else min(truncate.after_bytes, payload)
            reply = reply[:head + keep] + b"\n"
        drop = self.faults.take("drop", command.name, is_block=block)
        if drop:
            return CutOff(reply[:drop.after_bytes or 0])
        return reply

    def do_identify(self) -> str:
        return self.IDN

    def do_self_test(self) -> str:
        """``*TST?``: the simulated instrument always passes its self-test (0)."""
        return "0"

    def do_clear(self) -> None:
        self.errors.clear()

    def do_error_query(self) -> str:
        return self.errors.popleft() if self.errors else '0,"No error"'


class SimStationInstrument(SimScpiInstrument):
    """A simulated instrument at one station of a span, behind a 1xN optical switch whose
    port n is patched to fibre ``ports[n]`` (the ``route`` command of every SCPI model)."""

    def __init__(self, span: Any, station: str, ports: dict[int, str],
                 faults: InstrumentFaults | None = None) -> None:
        super().__init__(faults)
        self.span = span
        self.station = station
        self.ports = ports
        self.port = min(ports) if ports else 1

    def do_route(self, port: int) -> None:
        if port not in self.ports:
            raise ProtocolError(f'-222,"Data out of range;switch port {port}"')
        self.port = port


class _Handler(socketserver.StreamRequestHandler):
    wbufsize = 0

    def handle(self) -> None:
        instrument: SimScpiInstrument = self.server.instrument  # type: ignore[attr-defined]
        session: dict[str, Any] = {}
        while True:
            try:
                raw = self.rfile.readline(1 << 16)
            except OSError:
                return
            if not raw:
                return
            line = raw.decode("ascii", errors="replace").strip()
            if not line:
                continue
            reply = instrument.handle(line, session)
            if reply is not None:
                try:
                    self.wfile.write(reply)
                except OSError:
                    return
            if isinstance(reply, CutOff):
                return  # the server closes the connection (the drop fault)


class ScpiServer(socketserver.ThreadingTCPServer):
    """Serves ``instrument`` on ``host:port`` (port 0 = pick a free one)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, instrument: SimScpiInstrument, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.instrument = instrument

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> "ScpiServer":
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                         name=f"scpi-{self.port}", daemon=True).start()
        return self
