"""A threaded TCP server that speaks line-terminated SCPI, as an instrument's LAN socket does.

A simulated instrument subclasses :class:`SimScpiInstrument`, sets ``COMMANDS`` to its model's
table (imported from the driver module) and implements ``do_<name>`` for each command.
"""

from __future__ import annotations

import socketserver
import threading
from collections import deque
from typing import Any

from instruments.errors import ProtocolError
from instruments.scpi_table import CommandTable


class SimScpiInstrument:
    """State and command handlers of one simulated SCPI instrument (shared by its connections)."""

    COMMANDS: CommandTable
    IDN = "SIM,INSTRUMENT,0,0"

    def __init__(self) -> None:
        self.errors: deque[str] = deque(maxlen=30)
        self.lock = threading.RLock()

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
            try:
                result = getattr(self, "do_" + command.name)(*args)
            except ProtocolError as exc:
                self.push_error(str(exc))
                return None
        if not command.is_query:
            return None
        if isinstance(result, bytes):
            return result + b"\n"
        return str(result).encode("ascii") + b"\n"

    def do_identify(self) -> str:
        return self.IDN

    def do_clear(self) -> None:
        self.errors.clear()

    def do_error_query(self) -> str:
        return self.errors.popleft() if self.errors else '0,"No error"'


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
        threading.Thread(target=self.serve_forever, name=f"scpi-{self.port}", daemon=True).start()
        return self
