"""Errors and warnings of the SR-4731 (.sor) reader and writer."""

from __future__ import annotations

from harness.errors import HarnessError


def printable(text: str) -> str:
    """``text`` on one line: control and other unprintable characters (a block name read from a
    damaged file may hold a newline) shown as escapes, e.g. ``\\x0a``."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256
                   else f"\\u{ord(c):04x}" for c in text)


class SorError(HarnessError):
    """A .sor file (or a record to write) is malformed; the one-line message names the block and
    the byte offset where the problem was found (unprintable characters escaped)."""

    def __init__(self, message: str) -> None:
        super().__init__(printable(str(message)))


class SorWarning(UserWarning):
    """A .sor file is readable but not clean (e.g. its stored Cksum does not match the CRC)."""
