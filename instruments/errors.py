"""Errors raised by instrument drivers. Every one names the instrument and what went wrong."""


class InstrumentError(Exception):
    """An instrument refused a command, reported an error, or could not be talked to."""


class InstrumentTimeout(InstrumentError):
    """An instrument did not answer, or did not finish an operation, before its deadline."""


class ProtocolError(InstrumentError):
    """A reply did not follow the instrument's protocol (malformed, truncated, unexpected)."""


class InstrumentInUse(InstrumentError):
    """Another process holds the instrument (its lock file names the holder's pid and command)."""


class ConnectionLost(InstrumentError):
    """The instrument closed the connection. ``sent`` is False when the connection was found
    closed before anything of the failed exchange was written (so repeating it is safe)."""

    def __init__(self, message: str, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent


class LoginRefused(InstrumentError):
    """The instrument refused the login (user name or password). The message never holds the
    password."""
