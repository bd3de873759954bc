"""Reading the OTDRs' text replies the way real instruments write them.

An instrument may answer a number as ``1``, ``+1``, ``1.0``, ``1.000000E+000`` (EXFO writes
three exponent digits) or ``1E3``, in either case, with spaces around, a CRLF left over, or a
unit suffix in either case (``1550NM``); a flag as ``1``/``0``/``+1``/``ON``/``OFF``; a list
with ``,`` or ``, `` between items (the MT9083 manual's examples put a space after each comma).
The drivers read every reply through these functions so none of that makes a difference.
"""

from __future__ import annotations

import re

from instruments.errors import ProtocolError

_NUMBER = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z/]*)\s*")


def number(reply: str, what: str, unit: str = "") -> float:
    """The number in ``reply`` (NR1/NR2/NR3, any sign, exponent or case); a unit suffix is
    accepted only if it is ``unit`` (case-insensitive). :class:`ProtocolError` names ``what``."""
    m = _NUMBER.fullmatch(reply)
    if not m or (m.group(2) and m.group(2).upper() != unit.upper()):
        raise ProtocolError(f"{what} reply {reply[:40]!r} is not a number"
                            + (f" (in {unit})" if unit else ""))
    return float(m.group(1))


def quantity(reply: str, what: str, units: dict[str, float]) -> float:
    """The number in ``reply`` times the scale of its unit suffix (``units`` maps suffixes,
    ``""`` for none, to their value in the base unit; case-insensitive)."""
    m = _NUMBER.fullmatch(reply)
    scales = {k.upper(): v for k, v in units.items()}
    if not m or m.group(2).upper() not in scales:
        raise ProtocolError(f"{what} reply {reply[:40]!r} is not a number in "
                            + "/".join(k or "the base unit" for k in units))
    return float(m.group(1)) * scales[m.group(2).upper()]


def integer(reply: str, what: str) -> int:
    """A whole number written in any numeric form (``3``, ``+3``, ``3.0``, ``3.000000E+000``)."""
    value = number(reply, what)
    if value != int(value) or value < 0:
        raise ProtocolError(f"{what} reply {reply[:40]!r} is not a count")
    return int(value)


def flag(reply: str, what: str) -> bool:
    """A boolean: ``1``/``0`` in any numeric form, or ``ON``/``OFF`` in either case."""
    text = reply.strip().upper()
    if text in ("ON", "OFF"):
        return text == "ON"
    value = number(reply, what)
    if value not in (0.0, 1.0):
        raise ProtocolError(f"{what} reply {reply[:40]!r} is not 0 or 1")
    return value == 1.0


def fields(reply: str) -> list[str]:
    """The comma-separated items of ``reply``, stripped (``a, b,c`` → ``[a, b, c]``)."""
    return [part.strip() for part in reply.strip().split(",")]
