"""A threaded TCP server that speaks line-terminated SCPI, as an instrument's LAN socket does.

The instruments it serves run the shared engine (:mod:`instruments.sim.scpi_engine`): a
simulated instrument subclasses :class:`SimScpiInstrument`, sets ``COMMANDS`` to its model's
table (imported from the driver module) and implements ``do_<name>`` for each command. Its
:class:`~instruments.sim.faults.InstrumentFaults` (delay, drop, garble, truncate, error) are
applied by the engine, after the table has parsed the line; ``busy`` is up to each model.
A program message ends at LF; a CR before it (CRLF) is ignored; an empty line is passed on
(a LAN login may take an empty password).
"""

from __future__ import annotations

import socket
import socketserver
import threading
from typing import Any

from instruments.errors import ProtocolError
from instruments.sim.faults import InstrumentFaults
from instruments.sim.scpi_engine import CutOff, SimScpiInstrument

__all__ = ["CutOff", "ScpiServer", "SimScpiInstrument", "SimStationInstrument"]


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
        session: dict[str, Any] = {"alive": lambda: _peer_open(self.connection)}
        while True:
            try:
                raw = self.rfile.readline(1 << 16)
            except OSError:
                return
            if not raw:
                return
            line = raw.decode("ascii", errors="replace").strip()
            reply = instrument.handle(line, session)
            if reply is not None:
                try:
                    self.wfile.write(reply)
                except OSError:
                    return
            if isinstance(reply, CutOff):
                return  # the server closes the connection (the drop fault)


def _peer_open(sock: socket.socket) -> bool:
    """False once the client has closed its end (data still waiting counts as open)."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


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
