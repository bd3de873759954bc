"""Errors and warnings of the SR-4731 (.sor) reader and writer."""

from __future__ import annotations

from harness.errors import HarnessError


class SorError(HarnessError):
    """A .sor file (or a record to write) is malformed; the one-line message names the block and
    the byte offset where the problem was found."""


class SorWarning(UserWarning):
    """A .sor file is readable but not clean (e.g. its stored Cksum does not match the CRC)."""
