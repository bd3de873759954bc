"""Simulated TL1 agent of a transponder shelf, on a pseudo-terminal and on a TCP port.

Speaks the grammar of :mod:`instruments.transponder.tl1` and reports the monitored types of
:data:`instruments.transponder.tl1_gr831.MONTYPES`, computed from the span model. Instrument
faults (:mod:`instruments.sim.faults`, by TL1 verb): ``delay`` holds the response back;
``drop`` sends ``after_bytes`` characters of it and then closes the TCP connection (on the pty,
which cannot hang up, the rest of that response is lost).
"""

from __future__ import annotations

import os
import socketserver
import threading
import time
import tty

from instruments.errors import ProtocolError
from instruments.sim.faults import InstrumentFaults
from instruments.sim.span import Span
from instruments.sim.transponder_physics import pm_values
from instruments.transponder import tl1
from instruments.transponder.tl1_gr831 import MONTYPES

BIN_S = 900.0


class Dropped(str):
    """Response text after which the console hangs up (a ``drop`` fault)."""


class Tl1Agent:
    """The shelf at ``station``: optical channel AIDs mapped to the fibre each card receives."""

    def __init__(self, span: Span, station: str, tid: str, channels: dict[str, str],
                 user: str = "ADMIN", password: str = "ADMIN",
                 faults: InstrumentFaults | None = None) -> None:
        self.faults = faults or InstrumentFaults()
        self.span = span
        self.station = station
        self.tid = tid
        self.channels = channels
        self.credentials = (user, password)
        self.started = time.monotonic()
        self.settings: dict[str, dict[str, str]] = {aid: {} for aid in channels}
        self.lock = threading.Lock()

    def bin_index(self) -> int:
        """The current 15-minute PM bin, in compressed instrument time."""
        return int((time.monotonic() - self.started) / self.span.time_scale / BIN_S)

    def handle(self, text: str, session: dict) -> str:
        """Handle one input message; returns the output message text."""
        try:
            cmd = tl1.parse_command(text)
        except ProtocolError:
            return tl1.format_response(self.tid, "0", [], deny="IISP")
        if cmd.tid and cmd.tid != self.tid:
            return tl1.format_response(self.tid, cmd.ctag, [], deny="IITA")
        with self.lock:
            response = self._dispatch(cmd, session)
        delay = self.faults.take("delay", cmd.verb)
        if delay:
            time.sleep(delay.delay_s)
        drop = self.faults.take("drop", cmd.verb)
        if drop:
            return Dropped(response[:drop.after_bytes or 0])
        return response

    def _dispatch(self, cmd: tl1.Tl1Command, session: dict) -> str:
        if cmd.verb == "ACT-USER":
            password = cmd.params[0] if cmd.params else ""
            if (cmd.aid, password) != self.credentials:
                return tl1.format_response(self.tid, cmd.ctag, [], deny="PICC")
            session["user"] = cmd.aid
            return tl1.format_response(self.tid, cmd.ctag, [])
        if "user" not in session:
            return tl1.format_response(self.tid, cmd.ctag, [], deny="PICC")
        if cmd.verb == "CANC-USER":
            session.pop("user", None)
            return tl1.format_response(self.tid, cmd.ctag, [])
        if cmd.verb == "RTRV-NETYPE":
            return tl1.format_response(self.tid, cmd.ctag, [f"SIM,COHERENT-SHELF,{self.station},1.0"])
        if cmd.verb == "RTRV-ALM-ALL":
            lines = []
            for aid, fibre in self.channels.items():
                for condition in pm_values(self.span, fibre, self.bin_index())[1]:
                    lines.append(tl1.format_alarm_line(aid, condition, "CR", "Loss of signal"))
            return tl1.format_response(self.tid, cmd.ctag, lines)
        if cmd.verb in ("RTRV-PM-OCH", "ED-OCH"):
            if cmd.aid not in self.channels:
                return tl1.format_response(self.tid, cmd.ctag, [], deny="IIAC")
            if cmd.verb == "ED-OCH":
                for p in cmd.params:
                    key, _, value = p.partition("=")
                    self.settings[cmd.aid][key] = value
                return tl1.format_response(self.tid, cmd.ctag, [])
            values, _ = pm_values(self.span, self.channels[cmd.aid], self.bin_index())
            start = time.time()
            lines = [tl1.format_pm_line(cmd.aid, montype, values[field], when=start)
                     for montype, field in MONTYPES.items()]
            return tl1.format_response(self.tid, cmd.ctag, lines)
        return tl1.format_response(self.tid, cmd.ctag, [], deny="ICNV")

    def feed(self, buffer: str, session: dict) -> tuple[list[str], str]:
        """Handle every complete ``;``-terminated input in ``buffer``; returns (outputs, rest)."""
        outputs = []
        while ";" in buffer:
            text, _, buffer = buffer.partition(";")
            if text.strip():
                outputs.append(self.handle(text.strip() + ";", session))
        if len(buffer) > 4096:
            buffer = ""
            outputs.append(tl1.format_response(self.tid, "0", [], deny="IISP"))
        return outputs, buffer


class PtyConsole:
    """Serves an agent on a pseudo-terminal; :attr:`path` is the port a client opens."""

    def __init__(self, agent: Tl1Agent) -> None:
        self.agent = agent
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)

    def start(self) -> "PtyConsole":
        threading.Thread(target=self._serve, name=f"tl1-{self.path}", daemon=True).start()
        return self

    def _serve(self) -> None:
        session: dict = {}
        buffer = ""
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            buffer += data.decode("ascii", errors="replace")
            outputs, buffer = self.agent.feed(buffer, session)
            for out in outputs:
                os.write(self.master, out.encode("ascii"))
                if isinstance(out, Dropped):
                    break  # a pty cannot hang up: drop the rest of what was asked


class _TcpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        agent: Tl1Agent = self.server.agent  # type: ignore[attr-defined]
        session: dict = {}
        buffer = ""
        while True:
            try:
                data = self.request.recv(4096)
            except OSError:
                return
            if not data:
                return
            buffer += data.decode("ascii", errors="replace")
            outputs, buffer = agent.feed(buffer, session)
            for out in outputs:
                try:
                    self.request.sendall(out.encode("ascii"))
                except OSError:  # the client gave up and hung up first
                    return
                if isinstance(out, Dropped):
                    return  # the terminal server hangs up


class TcpConsole(socketserver.ThreadingTCPServer):
    """Serves an agent on a TCP port, as a terminal server exposes a serial console."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, agent: Tl1Agent, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _TcpHandler)
        self.agent = agent

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"socket://{host}:{port}"

    def start(self) -> "TcpConsole":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self
