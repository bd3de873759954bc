"""Errors raised by instrument drivers. Every one names the instrument and what went wrong."""


class InstrumentError(Exception):
    """An instrument refused a command, reported an error, or could not be talked to."""


class InstrumentTimeout(InstrumentError):
    """An instrument did not answer, or did not finish an operation, before its deadline."""


class ProtocolError(InstrumentError):
    """A reply did not follow the instrument's protocol (malformed, truncated, unexpected)."""
