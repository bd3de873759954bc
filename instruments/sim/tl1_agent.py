"""Simulated TL1 agent of a transponder shelf, on a pseudo-terminal and on a TCP port.

Speaks the grammar of :mod:`instruments.transponder.tl1` and reports the monitored types of
:data:`instruments.transponder.tl1_gr831.MONTYPES`, computed from the span model: the current
bin and past 15-minute bins (``RTRV-PM-OCH`` INDEX). Each card (``OCH-1-n-1``) receives one fibre
of pair n and transmits on the other; at start-up its transmitters are out of service (span file
``transponder.in_service``: true, false or a list of fibres lit from the start; default false,
a new cable is acceptance-tested dark), and ``ED-OCH ... PST=IS``/``OOS`` switches them in the
span's shared lit/dark state (:attr:`Span.in_service`), which the OTDRs' live-fibre check and
the far card's PM see. Instrument
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
from instruments.sim.transponder_physics import BIN_S, DARK_DBM, dark_values, pm_values
from instruments.transponder import tl1
from instruments.transponder.tl1_gr831 import MONTYPES, STATES


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
        start = (span.raw.get("transponder") or {}).get("in_service", False)
        for aid in channels:  # the shelf boots with its transmitters as the span file says
            fibre = self.transmits(aid)
            span.in_service[fibre] = 0.0 if (fibre in start if isinstance(start, list)
                                             else bool(start)) else None

    @property
    def bin_wall_s(self) -> float:
        """Wall seconds per 15-minute PM bin: the shelf's PM clock runs ``pm_time_scale`` wall
        seconds per instrument second (span file ``transponder.pm_time_scale``, default 1/100 of
        the span's ``time_scale``, so a 24 h soak takes under a second at the default)."""
        tp = self.span.raw.get("transponder") or {}
        return BIN_S * float(tp.get("pm_time_scale", self.span.time_scale / 100.0))

    def bin_index(self, at: float | None = None) -> int:
        """The 15-minute PM bin current at ``time.monotonic()`` ``at`` (default now)."""
        return int(((time.monotonic() if at is None else at) - self.started) / self.bin_wall_s)

    def card_values(self, aid: str, bin_index: int) -> tuple[dict[str, float], list[str]]:
        """What card ``aid`` reports in bin ``bin_index``: the span's physics, loss of signal
        while its received fibre is dark, and its own transmitter's state in OPT."""
        fibre = self.channels[aid]
        values, alarms = pm_values(self.span, fibre, bin_index)
        if self.span.lit_since(fibre) is None:
            values, alarms = dark_values(self.span), ["LOS"]
        if not self.span.is_in_service(self.transmits(aid)):
            values = dict(values, tx_power_dbm=DARK_DBM)
        return values, alarms

    def transmits(self, aid: str) -> str:
        """The fibre the card ``aid`` transmits on: the other fibre of the pair it receives."""
        return self.span.partner(self.channels[aid])

    def _pm_lines(self, aid: str, index: range) -> list[str]:
        """PM lines of bins ``index`` (0 current, k = k bins ago). Past bins are held from the
        first complete bin after the card's received signal came up; none while it is dark."""
        fibre = self.channels[aid]
        now = self.bin_index()
        since = self.span.lit_since(fibre)
        first = None if since is None else (self.bin_index(since) + 1 if since > self.started else 0)
        lines = []
        for k in index:
            if k > 0 and (first is None or now - k < first):
                continue
            values = self.card_values(aid, now - k)[0]
            when = time.time() - k * BIN_S
            lines += [tl1.format_pm_line(aid, montype, values[field], when=when, index=k)
                      for montype, field in MONTYPES.items()]
        return lines

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
            if (cmd.aid, password) != self.credentials:  # user or password refused
                return tl1.format_response(self.tid, cmd.ctag, [], deny="PIUI")
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
            for aid in self.channels:
                for condition in self.card_values(aid, self.bin_index())[1]:
                    lines.append(tl1.format_alarm_line(aid, condition, "CR", "Loss of signal"))
            return tl1.format_response(self.tid, cmd.ctag, lines)
        if cmd.verb in ("RTRV-PM-OCH", "ED-OCH", "RTRV-OCH"):
            if cmd.aid not in self.channels:
                return tl1.format_response(self.tid, cmd.ctag, [], deny="IIAC")
            if cmd.verb == "ED-OCH":
                edits = dict(p.partition("=")[::2] for p in cmd.params if p)
                if edits.get("PST", "IS") not in STATES:
                    return tl1.format_response(self.tid, cmd.ctag, [], deny="IDNV")
                self.settings[cmd.aid].update(edits)
                if "PST" in edits:
                    self.span.set_in_service(self.transmits(cmd.aid), edits["PST"] == "IS")
                return tl1.format_response(self.tid, cmd.ctag, [])
            if cmd.verb == "RTRV-OCH":
                on = self.span.is_in_service(self.transmits(cmd.aid))
                tx = float((self.span.raw.get("transponder") or {}).get("tx_power_dbm", 0.0))
                rx, _ = self.card_values(cmd.aid, self.bin_index())
                attrs = {"PST": "IS" if on else "OOS", "OPT": f"{tx if on else DARK_DBM:.2f}",
                         "OPR": f"{rx['rx_power_dbm']:.2f}"}
                return tl1.format_response(self.tid, cmd.ctag, [tl1.format_attr_line(cmd.aid, attrs)])
            try:
                index = tl1.parse_index(cmd.params[7] if len(cmd.params) > 7 else "0")
            except ProtocolError:
                return tl1.format_response(self.tid, cmd.ctag, [], deny="IDNV")
            return tl1.format_response(self.tid, cmd.ctag, self._pm_lines(cmd.aid, index))
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
