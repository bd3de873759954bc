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

import re
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from instruments.errors import ConnectionLost, InstrumentError, InstrumentTimeout, ProtocolError
from instruments.scpi_table import CommandTable
from instruments.visa_session import Progress, ScpiSession

T = TypeVar("T")

RETRIES = 2
"""Extra attempts of a side-effect-free query after a transport failure."""

ELAPSED_EVERY_S = 0.5
"""Least wall time (s) between two ``elapsed`` queries while an operation runs with a listener."""


@dataclass(frozen=True)
class Activity:
    """What an instrument is doing, for whoever shows progress (see :attr:`ScpiDriver.activity`).

    ``state``: ``configuring`` (settings being sent, ``what`` the first line), ``running`` (a
    long operation: ``what`` e.g. "OTDR averaging", ``elapsed_s`` wall seconds since it
    started, ``left_s`` wall seconds left or None when unknown), ``transferring`` (a block
    reply to ``what``: ``done`` of ``total`` payload bytes), ``aborting`` (``what`` the abort
    line), ``idle`` (the operation or transfer ended, in success or not).
    """

    state: str
    what: str = ""
    elapsed_s: float = 0.0
    left_s: float | None = None
    done: int = 0
    total: int = 0


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def parse_float(reply: str, what: str = "reply") -> float:
    """A numeric reply as a float: NR1/NR2/NR3 with or without ``+`` sign, any exponent form
    (``+1.55000000E-006``), surrounding blanks and a CR left by a CR LF terminator accepted;
    anything else is a ProtocolError naming ``what``."""
    text = reply.strip()
    if not _NUMBER.fullmatch(text):
        raise ProtocolError(f"{what}: not a number: {reply[:40]!r}")
    return float(text)


def parse_int(reply: str, what: str = "reply") -> int:
    """A numeric reply that must be a whole number (``1``, ``+1``, ``1.0E+00``); ProtocolError
    otherwise."""
    value = parse_float(reply, what)
    if value != int(value):
        raise ProtocolError(f"{what}: not a whole number: {reply[:40]!r}")
    return int(value)


def parse_error_reply(reply: str) -> tuple[int, str]:
    """A ``:SYSTem:ERRor?`` reply ``<code>,"<message>"`` → (code, message); code 0 = queue empty.

    Raises :class:`ProtocolError` when the code is not a plain decimal integer (signed, at most
    six digits: SCPI codes are -32768..32767, instruments' own codes stay well inside that).
    """
    code_text, _, message = reply.partition(",")
    code_text = code_text.strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,6}", code_text):
        raise ProtocolError(f"unreadable error queue reply {reply[:80]!r}")
    message = message.strip()
    if len(message) >= 2 and message[0] == message[-1] == '"':
        message = message[1:-1]
    return int(code_text), message


class ScpiDriver:
    """Base of the SCPI drivers. ``session`` is anything with ``write``/``query``/``query_block``
    (and ``reopen``).

    retries: extra attempts for safe queries; time_scale: wall seconds per instrument second
    (1 for a real instrument; a simulator may compress time); margin_s: wall seconds added to
    every operation deadline. Subclasses set ``COMMANDS`` (their model's table) with at least
    ``identify`` and ``error_query`` entries, and may override :meth:`on_connect`.

    Progress: :attr:`activity`, when set, is called with an :class:`Activity` as settings are
    sent, while :meth:`run_operation` polls and as a block arrives; :attr:`transfer_progress`
    gets ``(bytes_done, bytes_total)`` per block chunk. The time left of an operation comes
    from the last value sent with the table command named :attr:`DURATION_COMMAND`
    (instrument seconds) and, if the table has the query :attr:`ELAPSED_QUERY` (instrument
    seconds done), the instrument's own count, which also gives its pace (a simulator runs
    faster than real time); both are optional. Listeners must not raise.
    """

    COMMANDS: CommandTable
    DURATION_COMMAND = "average_time"
    ELAPSED_QUERY = "elapsed"

    def __init__(self, session: ScpiSession, name: str = "", *, retries: int = RETRIES,
                 time_scale: float = 1.0, margin_s: float = 30.0) -> None:
        self.session = session
        self.name = name or getattr(session, "resource_name", type(self).__name__)
        self.retries = retries
        self.time_scale = time_scale
        self.margin_s = margin_s
        self.transfer_progress: Progress | None = None
        self.activity: Callable[[Activity], None] | None = None
        self._state = "idle"
        self._duration_s: float | None = None
        self._idn = ""
        self._stale = False
        self._unconfirmed: list[str] = []

    # --- one exchange, retried when safe ---------------------------------------------------
    def _exchange(self, line: str, op: Callable[[], T], retry: bool, is_query: bool = True) -> T:
        start = time.monotonic()
        if self._stale:
            return self._retry(line, op, retry, is_query, start, None)
        try:  # the usual case, kept short (it is most of a query's cost in our code)
            result = op()
        except (InstrumentError, OSError) as exc:  # the session raises transport errors only
            return self._retry(line, op, retry, is_query, start, exc)
        except BaseException:  # Ctrl-C mid-reply: the stream is out of step
            self._stale = True
            raise
        self._answered(line, is_query)
        return result

    def _answered(self, line: str, is_query: bool) -> None:
        if is_query:
            self._unconfirmed.clear()
        else:
            self._unconfirmed.append(line)

    def _retry(self, line: str, op: Callable[[], T], retry: bool, is_query: bool, start: float,
               failed: Exception | None) -> T:
        """:meth:`_exchange` after its first attempt failed with ``failed``, or on a stale
        connection (``failed`` None: no attempt made yet)."""
        attempts = 1 + self.retries
        unconfirmed: list[str] = []
        for attempt in range(1, attempts + 1):
            if failed is None:
                try:
                    if self._stale:
                        self.reconnect()
                    result = op()
                except (InstrumentError, OSError) as exc:
                    failed = exc
                except BaseException:
                    self._stale = True
                    raise
                else:
                    self._answered(line, is_query)
                    return result
            self._stale = True
            last, failed = failed, None
            lost = not isinstance(last, (InstrumentTimeout, ProtocolError))
            if lost and self._unconfirmed:
                unconfirmed = list(self._unconfirmed)
                break
            never_sent = isinstance(last, ConnectionLost) and not last.sent
            if not (retry or never_sent):
                break
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
        if command == self.DURATION_COMMAND and args:
            self._duration_s = float(args[0])  # type: ignore[arg-type]
        if self.activity is not None and self._state == "idle":
            self._emit(Activity("configuring", line))
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
        Progress goes to :attr:`transfer_progress` as ``(bytes_done, bytes_total)`` and to
        :attr:`activity` as ``transferring``.
        """
        cmd = self.COMMANDS[command]
        line = cmd.render(*args)
        convert = decode or (lambda payload: payload)
        progress = self.transfer_progress
        if self.activity is not None:
            progress = self._transfer_listener(line)
        try:
            return self._exchange(
                line, lambda: convert(self.session.query_block(line, progress)),
                retry=cmd.retry_safe)
        finally:
            if self.activity is not None:
                self._emit(Activity("idle"))

    def _transfer_listener(self, line: str) -> Progress:
        outer = self.transfer_progress

        def progress(done: int, total: int) -> None:
            if outer is not None:
                outer(done, total)
            self._emit(Activity("transferring", line, done=done, total=total))
        return progress

    def _emit(self, activity: Activity) -> None:
        self._state = activity.state
        if self.activity is not None:
            self.activity(activity)

    def identify(self) -> str:
        if not self._idn:
            self._idn = self.ask("identify")
        return self._idn

    def self_test(self) -> None:
        """``*TST?``: 0 is a pass; any other result raises InstrumentError with it (the
        instrument's error queue is drained into the message)."""
        result = self.ask("self_test").strip()
        try:
            passed = parse_int(result) == 0
        except ProtocolError:
            passed = False
        if not passed:
            self.check_errors(f"*TST? returned {result}")
            raise InstrumentError(f"{self.name}: self-test failed: *TST? returned {result}")

    def check_errors(self, context: str) -> None:
        """Drain the error queue; raise naming ``context`` and every message found. Ends a
        ``configuring`` activity (settings are checked once they are all sent)."""
        messages = []
        try:
            for _ in range(32):
                try:
                    code, message = parse_error_reply(self.ask("error_query"))
                except ProtocolError as exc:
                    raise ProtocolError(f"{self.name}: {exc}") from None
                if code == 0:
                    break
                messages.append(f"{code} {message}")
        finally:
            if self._state == "configuring":
                self._emit(Activity("idle"))
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
        listener = self._operation_listener(what) if self.activity is not None else None
        try:
            self.send(start)
        except BaseException as exc:
            exc.add_note(f"{self.name}: {self._abort(abort)}")
            raise
        if listener is None:
            self.wait_for(done, deadline_s, what, abort=abort)
            return
        try:
            self.wait_for(done, deadline_s, what, listener, abort=abort)
        finally:
            self._emit(Activity("idle"))

    def _operation_listener(self, what: str) -> Callable[[float], None]:
        """``progress(elapsed_s)`` for :meth:`wait_for`: emits ``running`` with the wall seconds
        left, from the duration sent and, when the table has the query, the instrument's count
        (asked at every poll until its pace is known, then every ``ELAPSED_EVERY_S``)."""
        duration = self._duration_s
        has_elapsed = duration is not None and any(c.name == self.ELAPSED_QUERY
                                                   for c in self.COMMANDS)
        pace = 1.0 / self.time_scale  # instrument seconds per wall second, until measured
        paced = False
        first: tuple[float, float] | None = None  # (wall s, instrument s) of the first answer
        last = (0.0, 0.0)  # of the latest answer

        def progress(elapsed: float) -> None:
            nonlocal has_elapsed, pace, paced, first, last
            if has_elapsed and elapsed > 0 and (not paced or elapsed - last[0] >= ELAPSED_EVERY_S):
                try:
                    last = (elapsed, float(self.ask(self.ELAPSED_QUERY)))
                except (InstrumentError, ValueError):  # progress is not worth failing for
                    has_elapsed = False
                else:
                    first = first or last
                    if last[1] - first[1] >= 1.0 and last[0] > first[0]:  # >= 1 s counted
                        pace = (last[1] - first[1]) / (last[0] - first[0])
                        paced = True
            left = None
            if duration is not None:
                left = max((duration - last[1]) / pace - (elapsed - last[0]), 0.0)
            self._emit(Activity("running", what, elapsed_s=elapsed, left_s=left))
        progress(0.0)
        return progress

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
        if self.activity is not None:
            self._emit(Activity("aborting", line))
        try:
            self.send(command)
        except Exception as exc:  # the original failure matters more; report this one with it
            return f"sending {line} also failed: {exc}"
        finally:
            if self.activity is not None:
                self._emit(Activity("idle"))
        return f"sent {line}"

    def close(self) -> None:
        self.session.close()
