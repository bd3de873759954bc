"""The TL1 console transport: a pyserial port (device, ``socket://``, ``rfc2217://``) that tells an
optional observer about every command and response (the run's I/O transcript).

:class:`ObservedPort` has the methods the TL1 driver uses (``write``, ``read``, ``in_waiting``,
``open``, ``close``) and passes every other attribute to the port. Without an observer it is
the bare port. With one, each command written becomes an :class:`~instruments.io_observer.IoEvent`
(``op="command"``) once its response arrives (matched by CTAG, as the driver matches it), with
the response's first bytes, its length and the seconds from command to response; an
autonomous message is an ``autonomous`` event; a command still unanswered when the next
command is written or the port is closed is reported with the error "no response" (the
driver timed out, is retrying or hung up), and a response that comes after that is ``late``.
A command repeated with only a new CTAG right after a failure is marked ``retry``.
``ACT-USER`` PIDs are masked in both directions.
"""

from __future__ import annotations

import time
from typing import Any

import serial

from instruments.io_observer import REPLY_HEAD, IoEvent, Observer, mask_tl1_login, notify
from instruments.transponder import tl1


class ObservedPort:
    """A serial port whose traffic is reported to ``observer`` (see the module doc)."""

    def __init__(self, port: serial.SerialBase, observer: Observer | None) -> None:
        self.port = port
        self.observer = observer
        self._pending: dict[str, tuple[str, float, float]] = {}  # CTAG -> (sent, epoch, mono)
        self._unanswered: dict[str, tuple[str, float]] = {}  # CTAG -> (sent, mono) given up on
        self._buffer = ""
        self._last_failed = ""

    @classmethod
    def connect(cls, url: str, observer: Observer | None, **settings: Any) -> Any:
        """``serial.serial_for_url(url, **settings)``, observed when ``observer`` is given
        (the bare port otherwise); the open itself is an ``open`` event."""
        started, t0 = time.time(), time.monotonic()
        try:
            port = serial.serial_for_url(url, **settings)
        except (serial.SerialException, OSError, ValueError) as exc:
            notify(observer, IoEvent("open", started=started, duration_s=time.monotonic() - t0,
                                     error=f"{type(exc).__name__}: {exc}"))
            raise
        if observer is None:
            return port
        notify(observer, IoEvent("open", started=started, duration_s=time.monotonic() - t0))
        return cls(port, observer)

    # --- what the driver calls -------------------------------------------------------------
    def write(self, data: bytes) -> int | None:
        text = mask_tl1_login(bytes(data).decode("ascii", errors="replace"))
        self._give_up("no response before the next command was sent")
        started, t0 = time.time(), time.monotonic()
        try:
            written = self.port.write(data)
        except (serial.SerialException, OSError) as exc:
            self._event("command", text, started, t0, error=f"{type(exc).__name__}: {exc}")
            raise
        ctag = self._ctag(text)
        if ctag is not None:
            self._pending[ctag] = (text, started, t0)
        else:
            self._event("write", text, started, t0)
        return written

    def read(self, size: int = 1) -> bytes:
        try:
            data = self.port.read(size)
        except (serial.SerialException, OSError) as exc:
            self._give_up(f"console lost: {type(exc).__name__}: {exc}")
            raise
        if data:
            self._received(data.decode("ascii", errors="replace"))
        return data

    @property
    def in_waiting(self) -> int:
        return self.port.in_waiting

    def open(self) -> None:  # noqa: A003 - the pyserial name
        started, t0 = time.time(), time.monotonic()
        try:
            self.port.open()
        except (serial.SerialException, OSError) as exc:
            self._event("reopen", "", started, t0, error=f"{type(exc).__name__}: {exc}")
            raise
        self._event("reopen", "", started, t0)

    def close(self) -> None:
        self._give_up("no response before the console was closed")
        started, t0 = time.time(), time.monotonic()
        self._buffer = ""
        self.port.close()
        self._event("close", "", started, t0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.port, name)

    # --- bookkeeping -----------------------------------------------------------------------
    @staticmethod
    def _ctag(text: str) -> str | None:
        try:
            return tl1.parse_command(text).ctag
        except Exception:  # not a TL1 command: written as it is, reported as a plain write
            return None

    def _received(self, text: str) -> None:
        self._buffer += text
        try:
            messages, self._buffer = tl1.split_messages(self._buffer)
        except Exception:  # the driver reports the overflow; keep the transcript going
            self._buffer = ""
            return
        now = time.monotonic()
        for message in messages:
            raw = mask_tl1_login(message + tl1.TERMINATOR)
            try:
                parsed = tl1.parse_message(message)
            except Exception as exc:
                self._event("receive", "", time.time(), now, reply=raw,
                            error=f"malformed message: {exc}")
                continue
            if parsed.kind != "M":
                self._event("autonomous", "", time.time(), now, reply=raw)
            elif parsed.tag in self._pending:
                sent, started, t0 = self._pending.pop(parsed.tag)
                failed = parsed.completion == "DENY"
                self._event("command", sent, started, t0, reply=raw,
                            error=f"DENY {parsed.error_code}" if failed else "")
            elif parsed.tag in self._unanswered:
                sent, t0 = self._unanswered.pop(parsed.tag)
                self._event("late", sent, time.time(), now, reply=raw,
                            note=f"response to CTAG {parsed.tag} {now - t0:.3f} s after it was "
                                 "sent, after it had been given up on")
            else:
                self._event("receive", "", time.time(), now, reply=raw,
                            note=f"response to unknown CTAG {parsed.tag}")

    def _give_up(self, why: str) -> None:
        """Report every command still waiting for its response (its wait has ended)."""
        for ctag, (sent, started, t0) in list(self._pending.items()):
            partial = self._buffer.encode("ascii", errors="replace")
            self._event("command", sent, started, t0, reply=partial or None,
                        error=f"{why} (CTAG {ctag}"
                              f"{f', {len(partial)} bytes of a message received' if partial else ''})")
            self._unanswered[ctag] = (sent, t0)
        self._pending.clear()
        if len(self._unanswered) > 64:  # keep the late-response memory bounded
            for ctag in list(self._unanswered)[:-64]:
                del self._unanswered[ctag]

    def _event(self, op: str, sent: str, started: float, t0: float, reply: str | bytes | None = None,
               error: str = "", note: str = "") -> None:
        data = reply.encode("ascii", errors="replace") if isinstance(reply, str) else reply
        retry = op == "command" and bool(self._last_failed) and _same_request(self._last_failed, sent)
        if op == "command":
            self._last_failed = sent if error else ""
        notify(self.observer, IoEvent(
            op, sent, data[:REPLY_HEAD] if data is not None else None,
            len(data) if data is not None else None, started, time.monotonic() - t0, error,
            retry, note))


def _same_request(a: str, b: str) -> bool:
    """Two TL1 commands that differ only in their CTAG (a retry of a retrieval)."""
    try:
        x, y = tl1.parse_command(a), tl1.parse_command(b)
    except Exception:
        return False
    return (x.verb, x.tid, x.aid, x.params) == (y.verb, y.tid, y.aid, y.params)
