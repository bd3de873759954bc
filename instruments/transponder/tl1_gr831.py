"""Coherent transponder shelf with a Telcordia GR-831 TL1 console (serial or terminal server).

Commands used: ``ACT-USER`` (login), ``RTRV-PM-OCH`` (15-MIN bins of an optical channel; the
8th parameter ``INDEX`` picks the bin, 0 the current one, ``k`` k bins ago, ``1&&96`` a range,
as vendors' TL1 extends GR-833), ``RTRV-OCH`` (the channel's primary state PST, Tx power OPT
and Rx power OPR, dBm), ``RTRV-ALM-ALL`` (standing alarms), ``ED-OCH`` (edit a channel
setting; ``PST=IS``/``OOS`` puts the transmitter in/out of service), ``CANC-USER``.
Monitored types (MONTYPE) and units: OPR/OPT dBm, OSNR dB in 12.5 GHz, Q dB, PREFECBER,
UNCORRBLK blocks, CD ps/nm, DGD ps, FOFFSET MHz, ES (errored seconds) s. Responses are matched
by CTAG; autonomous messages (alarms) arriving in between are kept in :attr:`Tl1Gr831.autonomous`.

Retries: a retrieval (``RTRV-*``, no side effect) is sent again, with a new CTAG, up to
``retries`` times when its response is late or malformed or the console drops; a late response
to an old CTAG is then ignored. A lost console is reopened and logged in again first. Edits and
logins are sent once.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import serial

from instruments.errors import InstrumentError, InstrumentTimeout, LoginRefused, ProtocolError
from instruments.protocols import Alarm, ChannelState, HistoryShort, PmBin, Transponder
from instruments.secret import Secret
from instruments.transponder import tl1

MODEL = "gr831-tl1"
BIN_S = 900.0
"""One PM bin (s)."""

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
    "ES": "errored_seconds",
}
"""TL1 monitored type → field of :class:`PmBin` (the table the simulated agent uses too)."""

DENY_CODES: dict[str, str] = {
    "IIAC": "invalid access identifier",
    "IICT": "invalid correlation tag",
    "IITA": "invalid target identifier",
    "IISP": "input syntax error",
    "IIFM": "invalid data format",
    "PICC": "privilege: illegal command code (not logged in)",
    "PIUI": "privilege: illegal user identity (user name or password refused)",
    "PLNA": "privilege: login not active",
    "SROF": "status: requested operation failed",
    "ICNV": "command not valid",
    "IDNV": "input, data not valid",
}

STATES = ("IS", "OOS")
"""Primary states ``ED-OCH ... PST=`` takes: in service (laser on), out of service (laser off)."""


class Tl1Gr831(Transponder):
    """Driver for a TL1 transponder shelf. ``port`` is an open :class:`serial.Serial`-like object.

    timeout_s: wait for one response (s); retries: extra attempts of a retrieval; lock: released
    on :meth:`close`.
    """

    def __init__(self, port: serial.SerialBase, tid: str, user: str = "ADMIN",
                 password: str = "ADMIN", timeout_s: float = 10.0, name: str = "",
                 retries: int = 2, lock: Any | None = None) -> None:
        self.port = port
        self.tid = tid
        self.name = name or getattr(port, "name", tid)
        self.timeout_s = timeout_s
        self.retries = retries
        self.lock = lock
        self.autonomous: list[tl1.Tl1Message] = []
        self._ctags = itertools.count(1)
        self._buffer = ""
        self._credentials = (user, Secret(password))  # shown as '***' in any repr
        self._lost = False
        self._login()

    def _login(self) -> None:
        self.command("ACT-USER", *self._credentials)

    def _reopen(self) -> None:
        """Reopen a lost console and log in again."""
        self._buffer = ""
        try:
            self.port.close()
            self.port.open()
        except (serial.SerialException, OSError) as exc:
            raise InstrumentError(f"{self.name}: cannot reopen the console: {exc}") from None
        self._lost = False
        self._login()

    def command(self, verb: str, aid: str = "", params: str = "") -> list[str]:
        """Send one command, wait for the response with its CTAG; returns its quoted lines.

        A retrieval is retried (see the module doc); a DENY is an answer, never retried.
        """
        attempts = 1 + (self.retries if verb.startswith("RTRV-") else 0)
        start = time.monotonic()
        for _ in range(attempts):
            try:
                if self._lost and verb != "ACT-USER":
                    self._reopen()
                message = self._exchange(verb, aid, params)
                break
            except InstrumentError as exc:
                last = exc
        else:
            how = (f"gave up after {attempts} attempts in {time.monotonic() - start:.1f} s"
                   if attempts > 1 else "not retried (it changes the shelf or the session)")
            what = f"{verb} {aid}" if aid else verb
            raise type(last)(f"{self.name}: {what} {how}: {last}") from None
        if message.completion == "DENY":
            meaning = DENY_CODES.get(message.error_code, "denied")
            error = LoginRefused if verb == "ACT-USER" else InstrumentError
            raise error(
                f"{self.name}: {verb} {aid} denied: {message.error_code} ({meaning})")
        return message.lines

    def _exchange(self, verb: str, aid: str, params: str) -> tl1.Tl1Message:
        ctag = str(next(self._ctags))
        text = tl1.format_command(verb, self.tid, aid, ctag, params)
        try:
            self.port.write(text.encode("ascii"))
        except (serial.SerialException, OSError) as exc:
            self._lost = True
            raise InstrumentError(f"cannot send {verb}: {exc}") from None
        return self._await(ctag, verb)

    def _await(self, ctag: str, verb: str) -> tl1.Tl1Message:
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                messages, self._buffer = tl1.split_messages(self._buffer)
            except ProtocolError:
                self._buffer = ""
                raise
            for index, text in enumerate(messages):
                try:
                    message = tl1.parse_message(text)
                except ProtocolError as exc:
                    self._buffer = "".join(m + tl1.TERMINATOR for m in messages[index + 1:]) + self._buffer
                    raise ProtocolError(f"malformed message while waiting for {verb}: {exc}") from None
                if message.kind != "M":
                    self.autonomous.append(message)
                    continue
                if message.tag == ctag:
                    rest = messages[index + 1:]
                    self._buffer = "".join(m + tl1.TERMINATOR for m in rest) + self._buffer
                    return message
            if time.monotonic() > deadline:
                raise InstrumentTimeout(f"no response to {verb} (CTAG {ctag}) within {self.timeout_s:g} s")
            try:
                chunk = self.port.read(self.port.in_waiting or 1)
            except (serial.SerialException, OSError) as exc:
                self._lost = True
                raise InstrumentError(f"console lost during {verb}: {exc}") from None
            self._buffer += chunk.decode("ascii", errors="replace")

    def identify(self) -> str:
        lines = self.command("RTRV-NETYPE")
        return lines[0] if lines else self.tid

    def self_test(self) -> None:
        """The shelf answers ``RTRV-NETYPE`` (COMPLD) and raises no equipment alarm
        (``RTRV-ALM-ALL`` conditions other than loss of signal on a line); else InstrumentError."""
        self.command("RTRV-NETYPE")
        faults = [a for a in self.alarms() if a.condition not in ("LOS", "LOF", "LOL")]
        if faults:
            listed = ", ".join(f"{a.aid} {a.condition}" for a in faults[:4])
            raise InstrumentError(f"{self.name}: self-test failed: equipment alarms {listed}")

    def _pm_bins(self, aid: str, index: str) -> dict[int, dict[str, float]]:
        """``RTRV-PM-OCH`` of 15-minute bins ``index`` (``k`` or ``a&&b``): values by bin index."""
        bins: dict[int, dict[str, float]] = {}
        for line in self.command("RTRV-PM-OCH", aid, f",,,,15-MIN,,,{index}"):
            pm = tl1.parse_pm_line(line)
            if pm.aid != aid:
                raise ProtocolError(f"{self.name}: PM for {pm.aid} in reply about {aid}")
            if pm.montype in MONTYPES:
                bins.setdefault(pm.index, {})[MONTYPES[pm.montype]] = pm.value
        for values in bins.values():
            for field in MONTYPES.values():
                values.setdefault(field, float("nan"))
        return bins

    def read_pm(self, aid: str) -> PmBin:
        values = self._pm_bins(aid, "0").get(0) or dict.fromkeys(MONTYPES.values(), float("nan"))
        alarms = tuple(a.condition for a in self.alarms() if a.aid == aid)
        return PmBin(aid=aid, period="15-MIN", start_s=time.time(), values=values, alarms=alarms)

    def read_pm_history(self, aid: str, bins: int) -> list[PmBin]:
        held = self._pm_bins(aid, f"1&&{bins}")
        if len(held) < bins:
            raise HistoryShort(f"{self.name}: {aid} holds {len(held)} complete 15-MIN bins, "
                               f"{bins} asked for")
        now = time.time()
        return [PmBin(aid, "15-MIN", now - k * BIN_S, held[k]) for k in range(bins, 0, -1)]

    def channel_state(self, aid: str) -> ChannelState:
        lines = self.command("RTRV-OCH", aid)
        if not lines:
            raise ProtocolError(f"{self.name}: RTRV-OCH {aid} returned no line")
        line_aid, attrs = tl1.parse_attr_line(lines[0])
        try:
            return ChannelState(line_aid, attrs["PST"], float(attrs["OPT"]), float(attrs["OPR"]))
        except (KeyError, ValueError):
            raise ProtocolError(f"{self.name}: RTRV-OCH {aid}: no PST/OPT/OPR in {lines[0]!r}") from None

    def set_in_service(self, aid: str, on: bool) -> None:
        self.edit_channel(aid, PST="IS" if on else "OOS")

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
        """Log out, close the port and release the lock."""
        try:
            if not self._lost:
                self.command("CANC-USER")
        except InstrumentError:
            pass
        finally:
            self.port.close()
            if self.lock is not None:
                self.lock.release()
