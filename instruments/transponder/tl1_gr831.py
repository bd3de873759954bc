"""Coherent transponder shelf with a Telcordia GR-831 TL1 console (serial or terminal server).

Commands used: ``ACT-USER`` (login), ``RTRV-PM-OCH`` (15-MIN bins of an optical channel),
``RTRV-ALM-ALL`` (standing alarms), ``ED-OCH`` (edit a channel setting), ``CANC-USER``.
Monitored types (MONTYPE) and units: OPR/OPT dBm, OSNR dB in 12.5 GHz, Q dB, PREFECBER,
UNCORRBLK blocks, CD ps/nm, DGD ps, FOFFSET MHz. Responses are matched by CTAG; autonomous
messages (alarms) arriving in between are kept in :attr:`Tl1Gr831.autonomous`.
"""

from __future__ import annotations

import itertools
import time

import serial

from instruments.errors import InstrumentError, InstrumentTimeout, ProtocolError
from instruments.protocols import Alarm, PmBin, Transponder
from instruments.transponder import tl1

MODEL = "gr831-tl1"

MONTYPES: dict[str, str] = {
    "OPR": "rx_power_dbm",
    "OPT": "tx_power_dbm",
    "OSNR": "osnr_db",
    "Q": "q_db",
    "PREFECBER": "pre_fec_ber",
    "UNCORRBLK": "uncorrected_blocks",
    "CD": "cd_ps_nm",
    "DGD": "dgd_ps",
    "FOFFSET": "freq_offset_mhz",
}
"""TL1 monitored type → field of :class:`PmBin` (the table the simulated agent uses too)."""

DENY_CODES: dict[str, str] = {
    "IIAC": "invalid access identifier",
    "IICT": "invalid correlation tag",
    "IITA": "invalid target identifier",
    "IISP": "input syntax error",
    "IIFM": "invalid data format",
    "PICC": "privilege: illegal command code (not logged in)",
    "SROF": "status: requested operation failed",
    "ICNV": "command not valid",
}


class Tl1Gr831(Transponder):
    """Driver for a TL1 transponder shelf. ``port`` is an open :class:`serial.Serial`-like object."""

    def __init__(self, port: serial.SerialBase, tid: str, user: str = "ADMIN",
                 password: str = "ADMIN", timeout_s: float = 10.0, name: str = "") -> None:
        self.port = port
        self.tid = tid
        self.name = name or getattr(port, "name", tid)
        self.timeout_s = timeout_s
        self.autonomous: list[tl1.Tl1Message] = []
        self._ctags = itertools.count(1)
        self._buffer = ""
        self.command("ACT-USER", user, password)

    def command(self, verb: str, aid: str = "", params: str = "") -> list[str]:
        """Send one command, wait for the response with its CTAG; returns its quoted lines."""
        ctag = str(next(self._ctags))
        text = tl1.format_command(verb, self.tid, aid, ctag, params)
        try:
            self.port.write(text.encode("ascii"))
        except (serial.SerialException, OSError) as exc:
            raise InstrumentError(f"{self.name}: cannot send {verb}: {exc}") from None
        message = self._await(ctag, verb)
        if message.completion == "DENY":
            meaning = DENY_CODES.get(message.error_code, "denied")
            raise InstrumentError(
                f"{self.name}: {verb} {aid} denied: {message.error_code} ({meaning})")
        return message.lines

    def _await(self, ctag: str, verb: str) -> tl1.Tl1Message:
        deadline = time.monotonic() + self.timeout_s
        while True:
            messages, self._buffer = tl1.split_messages(self._buffer)
            for index, text in enumerate(messages):
                message = tl1.parse_message(text)
                if message.kind != "M":
                    self.autonomous.append(message)
                    continue
                if message.tag == ctag:
                    rest = messages[index + 1:]
                    self._buffer = "".join(m + tl1.TERMINATOR for m in rest) + self._buffer
                    return message
            if time.monotonic() > deadline:
                raise InstrumentTimeout(f"{self.name}: no response to {verb} (CTAG {ctag})")
            try:
                chunk = self.port.read(self.port.in_waiting or 1)
            except (serial.SerialException, OSError) as exc:
                raise InstrumentError(f"{self.name}: console lost during {verb}: {exc}") from None
            self._buffer += chunk.decode("ascii", errors="replace")

    def identify(self) -> str:
        lines = self.command("RTRV-NETYPE")
        return lines[0] if lines else self.tid

    def read_pm(self, aid: str) -> PmBin:
        lines = self.command("RTRV-PM-OCH", aid, ",,,,15-MIN")
        values: dict[str, float] = {}
        period = "15-MIN"
        for line in lines:
            line_aid, montype, value, period = tl1.parse_pm_line(line)
            if line_aid != aid:
                raise ProtocolError(f"{self.name}: PM for {line_aid} in reply about {aid}")
            if montype in MONTYPES:
                values[MONTYPES[montype]] = value
        alarms = tuple(a.condition for a in self.alarms() if a.aid == aid)
        for field in MONTYPES.values():
            values.setdefault(field, float("nan"))
        return PmBin(aid=aid, period=period, start_s=time.time(), values=values, alarms=alarms)

    def alarms(self) -> list[Alarm]:
        result = []
        for line in self.command("RTRV-ALM-ALL"):
            aid, condition, severity, descr = tl1.parse_alarm_line(line)
            result.append(Alarm(aid, condition, severity, descr))
        return result

    def edit_channel(self, aid: str, **settings: object) -> None:
        """``ED-OCH`` with keyword settings, e.g. ``edit_channel(aid, TXPWR=1.0)``."""
        params = ",".join(f"{k}={v}" for k, v in settings.items())
        self.command("ED-OCH", aid, params)

    def close(self) -> None:
        try:
            self.command("CANC-USER")
        except InstrumentError:
            pass
        finally:
            self.port.close()
