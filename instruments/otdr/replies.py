"""Reading the OTDRs' text replies the way real instruments write them.

An instrument may answer a number as ``1``, ``+1``, ``1.0``, ``1.000000E+000`` (EXFO writes
three exponent digits) or ``1E3`` (parsed by :func:`instruments.scpi_driver.parse_float`),
with spaces around, a CR left by a CRLF terminator, or a unit suffix in either case
(``1550NM``); a flag as ``1``/``0``/``+1``/``ON``/``OFF``; a list with ``,`` or ``, `` between
items (the MT9083 manual's examples put a space after each comma). The OTDR drivers read every
reply through these functions so none of that makes a difference.
"""

from __future__ import annotations

import re

from instruments.errors import ProtocolError
from instruments.scpi_driver import parse_float, parse_int

_SUFFIX = re.compile(r"\s*(.*?)\s*([A-Za-z/]*)\s*")


def quantity(reply: str, what: str, units: dict[str, float]) -> float:
    """The number in ``reply`` times the scale of its unit suffix (``units`` maps suffixes,
    ``""`` for none, to their value in the base unit; case-insensitive)."""
    m = _SUFFIX.fullmatch(reply)
    scales = {k.upper(): v for k, v in units.items()}
    suffix = m.group(2).upper() if m else ""
    if not m or suffix not in scales:
        raise ProtocolError(f"{what}: not a number in "
                            f"{'/'.join(k or 'the base unit' for k in units)}: {reply[:40]!r}")
    return parse_float(m.group(1), what) * scales[suffix]


def number(reply: str, what: str, unit: str = "") -> float:
    """The number in ``reply``; a unit suffix is accepted only if it is ``unit``."""
    return quantity(reply, what, {"": 1.0, unit: 1.0} if unit else {"": 1.0})


def integer(reply: str, what: str) -> int:
    """A count written in any numeric form (``3``, ``+3``, ``3.0``, ``3.000000E+000``)."""
    value = parse_int(reply, what)
    if value < 0:
        raise ProtocolError(f"{what}: not a count: {reply[:40]!r}")
    return value


def flag(reply: str, what: str) -> bool:
    """A boolean: ``1``/``0`` in any numeric form, or ``ON``/``OFF`` in either case."""
    text = reply.strip().upper()
    if text in ("ON", "OFF"):
        return text == "ON"
    value = parse_float(reply, what)
    if value not in (0.0, 1.0):
        raise ProtocolError(f"{what}: not 0 or 1: {reply[:40]!r}")
    return value == 1.0


def fields(reply: str) -> list[str]:
    """The comma-separated items of ``reply``, stripped (``a, b,c`` → ``[a, b, c]``)."""
    return [part.strip() for part in reply.strip().split(",")]
