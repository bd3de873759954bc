"""Behaviour every SCPI driver shares: the command table, the error queue, polling with a deadline."""

from __future__ import annotations

import time
from typing import Callable

from instruments.errors import InstrumentError, InstrumentTimeout
from instruments.scpi_table import CommandTable
from instruments.visa_session import ScpiSession


class ScpiDriver:
    """Base of the SCPI drivers. ``session`` is anything with ``write``/``query``/``query_array``.

    Subclasses set ``COMMANDS`` (their model's table) with at least ``identify`` and
    ``error_query`` entries.
    """

    COMMANDS: CommandTable

    def __init__(self, session: ScpiSession, name: str = "") -> None:
        self.session = session
        self.name = name or getattr(session, "resource_name", type(self).__name__)
        self._idn = ""

    def send(self, command: str, *args: object) -> None:
        """Send a command from the table (no reply expected)."""
        self.session.write(self.COMMANDS[command].render(*args))

    def ask(self, command: str, *args: object) -> str:
        """Send a query from the table and return its reply text."""
        return self.session.query(self.COMMANDS[command].render(*args))

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
                raise InstrumentError(f"{self.name}: unreadable error queue reply {reply!r}") from None
            if code == 0:
                break
            messages.append(f"{code} {message.strip().strip(chr(34))}")
        if messages:
            raise InstrumentError(f"{self.name}: after {context}: " + "; ".join(messages))

    def wait_for(self, done: Callable[[], bool], deadline_s: float, what: str,
                 progress: Callable[[float], None] | None = None) -> None:
        """Poll ``done`` until it is true; raise :class:`InstrumentTimeout` after ``deadline_s``.

        The poll interval starts at 20 ms and grows to 1 s, so a fast (simulated) instrument
        is not slowed down and a slow one is not flooded.
        """
        start = time.monotonic()
        interval = 0.02
        while not done():
            elapsed = time.monotonic() - start
            if progress:
                progress(elapsed)
            if elapsed > deadline_s:
                raise InstrumentTimeout(f"{self.name}: {what} not finished after {deadline_s:.0f} s")
            time.sleep(interval)
            interval = min(interval * 1.5, 1.0)

    def close(self) -> None:
        self.session.close()
