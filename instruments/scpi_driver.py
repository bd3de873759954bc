"""Behaviour every SCPI driver shares: the command table, the error queue, safe retries with a
reconnect, and polling with a deadline that sends the abort command when it gives up.

Retry policy: a query whose :attr:`Command.retry_safe` is true is sent up to ``1 + retries``
times when its reply is late, malformed, truncated or the connection drops; the session is
reopened before each new attempt (and before the next operation after any failure, since the
stream may still hold a stale reply). Commands, and queries that change state, are sent once;
the one exception is a command the session proves was never sent (the connection was found
closed first). Commands sent since the last reply on a connection are *unconfirmed*: if that
connection is lost (not merely slow), nothing is retried, because they may have been lost
with it; the error names them.
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

from instruments.errors import ConnectionLost, InstrumentError, InstrumentTimeout, ProtocolError
from instruments.scpi_table import CommandTable
from instruments.visa_session import Progress, ScpiSession

T = TypeVar("T")

RETRIES = 2
"""Extra attempts of a side-effect-free query after a transport failure."""


class ScpiDriver:
    """Base of the SCPI drivers. ``session`` is anything with ``write``/``query``/``query_block``
    (and ``reopen``).

    retries: extra attempts for safe queries; time_scale: wall seconds per instrument second
    (1 for a real instrument; a simulator may compress time); margin_s: wall seconds added to
    every operation deadline. Subclasses set ``COMMANDS`` (their model's table) with at least
    ``identify`` and ``error_query`` entries, and may override :meth:`on_connect`.
    """

    COMMANDS: CommandTable

    def __init__(self, session: ScpiSession, name: str = "", *, retries: int = RETRIES,
                 time_scale: float = 1.0, margin_s: float = 30.0) -> None:
        self.session = session
        self.name = name or getattr(session, "resource_name", type(self).__name__)
        self.retries = retries
        self.time_scale = time_scale
        self.margin_s = margin_s
        self.transfer_progress: Progress | None = None
        self._idn = ""
        self._stale = False
        self._unconfirmed: list[str] = []

    # --- one exchange, retried when safe ---------------------------------------------------
    def _exchange(self, line: str, op: Callable[[], T], retry: bool, is_query: bool = True) -> T:
        attempts = 1 + self.retries
        start = time.monotonic()
        unconfirmed: list[str] = []
        for attempt in range(1, attempts + 1):
            try:
                if self._stale:
                    self.reconnect()
                result = op()
            except (InstrumentError, OSError) as exc:  # the session raises transport errors only
                self._stale = True
                last = exc
                lost = not isinstance(exc, (InstrumentTimeout, ProtocolError))
                if lost and self._unconfirmed:
                    unconfirmed = list(self._unconfirmed)
                    break
                never_sent = isinstance(exc, ConnectionLost) and not exc.sent
                if not (retry or never_sent):
                    break
                continue
            except BaseException:  # Ctrl-C mid-reply: the stream is out of step
                self._stale = True
                raise
            if is_query:
                self._unconfirmed.clear()
            else:
                self._unconfirmed.append(line)
            return result
        kind = type(last) if isinstance(last, InstrumentError) else InstrumentError
        cause = str(last)
        for prefix in (f"{self.name}: ", f"{getattr(self.session, 'resource_name', '')}: "):
            cause = cause[len(prefix):] if cause.startswith(prefix) else cause
        if unconfirmed:
            how = (f"failed after {', '.join(unconfirmed)} had been sent with no reply since, "
                   "so whether they took effect is unknown; not retried")
        elif attempt > 1:
            how = f"gave up after {attempt} attempts in {time.monotonic() - start:.1f} s"
        elif is_query:
            how = "not retried (reading it changes the instrument's state)"
        else:
            how = "not retried (a command with side effects)"
        raise kind(f"{self.name}: {line!r} {how}: {cause}") from None

    def reconnect(self) -> None:
        """Reopen the session and redo what a fresh connection needs (:meth:`on_connect`)."""
        self._stale = True
        self._unconfirmed.clear()  # a new connection: what was lost is reported by the caller
        try:
            self.session.reopen()
        except InstrumentError as exc:
            raise InstrumentError(f"{self.name}: cannot reconnect: {exc}") from None
        self._stale = False
        try:
            self.on_connect()
        except BaseException:
            self._stale = True
            raise

    def on_connect(self) -> None:
        """Called after each reconnect (e.g. a LAN login). Nothing by default."""

    # --- table commands --------------------------------------------------------------------
    def send(self, command: str, *args: object) -> None:
        """Send a command from the table (no reply expected). Never retried."""
        line = self.COMMANDS[command].render(*args)
        self._exchange(line, lambda: self.session.write(line), retry=False, is_query=False)

    def ask(self, command: str, *args: object) -> str:
        """Send a query from the table and return its reply text (retried if safe)."""
        cmd = self.COMMANDS[command]
        line = cmd.render(*args)
        return self._exchange(line, lambda: self.session.query(line), cmd.retry_safe)

    def ask_block(self, command: str, *args: object,
                  decode: Callable[[bytearray], T] | None = None) -> T:
        """Send a block query from the table; return ``decode(payload)`` (default: the payload).

        A :class:`ProtocolError` from ``decode`` counts as a malformed reply (retried if safe).
        Progress goes to :attr:`transfer_progress` as ``(bytes_done, bytes_total)``.
        """
        cmd = self.COMMANDS[command]
        line = cmd.render(*args)
        convert = decode or (lambda payload: payload)
        return self._exchange(
            line, lambda: convert(self.session.query_block(line, self.transfer_progress)),
            retry=cmd.retry_safe)

    def identify(self) -> str:
        if not self._idn:
            self._idn = self.ask("identify")
        return self._idn

    def check_errors(self, context: str) -> None:
        """Drain the error queue; raise naming ``context`` and every message found."""
        messages = []
        for _ in range(32):
            reply = self.ask("error_query")
            code_text, _, message = reply.partition(",")
            try:
                code = int(code_text)
            except ValueError:
                raise ProtocolError(f"{self.name}: unreadable error queue reply {reply!r}") from None
            if code == 0:
                break
            messages.append(f"{code} {message.strip().strip(chr(34))}")
        if messages:
            raise InstrumentError(f"{self.name}: after {context}: " + "; ".join(messages))

    # --- long operations -------------------------------------------------------------------
    def deadline(self, instrument_s: float) -> float:
        """Wall-clock deadline (s) of an operation expected to take ``instrument_s`` seconds."""
        return instrument_s * self.time_scale + self.margin_s

    def run_operation(self, start: str, done: Callable[[], bool], deadline_s: float, what: str,
                      abort: str) -> None:
        """Send the table command ``start`` and poll ``done`` (see :meth:`wait_for`); from the
        moment ``start`` is attempted, any way out but success sends ``abort`` (laser off)."""
        try:
            self.send(start)
        except BaseException as exc:
            exc.add_note(f"{self.name}: {self._abort(abort)}")
            raise
        self.wait_for(done, deadline_s, what, abort=abort)

    def wait_for(self, done: Callable[[], bool], deadline_s: float, what: str,
                 progress: Callable[[float], None] | None = None,
                 abort: str | None = None) -> None:
        """Poll ``done`` until it is true; raise :class:`InstrumentTimeout` after ``deadline_s``.

        The poll interval starts at 20 ms and grows to 1 s, so a fast (simulated) instrument
        is not slowed down and a slow one is not flooded. On any way out other than success
        (deadline, error, Ctrl-C) the table command ``abort`` is sent before re-raising.
        """
        start = time.monotonic()
        interval = 0.02
        try:
            while not done():
                elapsed = time.monotonic() - start
                if progress:
                    progress(elapsed)
                if elapsed > deadline_s:
                    message = f"{self.name}: {what} not finished after {deadline_s:.1f} s"
                    if abort:
                        message += "; " + self._abort(abort)
                        abort = None
                    raise InstrumentTimeout(message)
                time.sleep(min(interval, max(deadline_s - elapsed, 0.0) + 0.001))
                interval = min(interval * 1.5, 1.0)
        except BaseException as exc:
            if abort:
                exc.add_note(f"{self.name}: {self._abort(abort)}")
            raise

    def _abort(self, command: str) -> str:
        """Send ``command`` (no retry); returns what happened, for the caller's message."""
        line = self.COMMANDS[command].render()
        try:
            self.send(command)
        except Exception as exc:  # the original failure matters more; report this one with it
            return f"sending {line} also failed: {exc}"
        return f"sent {line}"

    def close(self) -> None:
        self.session.close()
