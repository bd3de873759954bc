"""SCPI command tables shared by a driver and the simulator of the same model.

A driver renders commands from the table; the simulator parses incoming lines with the same
table. The SCPI long/short form rule is implemented once, here: in a header written as
``:SENSe:WAVelength`` the upper-case letters are the short form (``:SENS:WAV``) and either form
is accepted, in any case.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from instruments.errors import ProtocolError


def _node_pattern(node: str) -> str:
    short = "".join(ch for ch in node if ch.isupper() or ch.isdigit() or ch in "*?")
    if not short or short == node:
        return re.escape(node.upper())
    rest = node[len(short):].upper()
    # short form, or short form followed by the full remainder (the long form)
    return re.escape(short.upper()) + "(?:" + re.escape(rest) + ")?"


@dataclass(frozen=True)
class Command:
    """One SCPI command or query.

    ``header`` is the canonical header (``:SENSe:WAVelength?``); ``args`` are the Python types
    of its parameters, in order; ``doc`` says what it does, with units. ``repeatable`` is False
    for a query whose reading changes the instrument (popping the error queue, clearing an event
    register): a driver never sends such a query twice for one answer.
    """

    name: str
    header: str
    args: tuple[type, ...] = ()
    doc: str = ""
    repeatable: bool = True

    @property
    def is_query(self) -> bool:
        return self.header.endswith("?")

    @property
    def retry_safe(self) -> bool:
        """True for a query with no side effect: safe to send again after a lost reply."""
        return self.is_query and self.repeatable

    @functools.cached_property
    def short_header(self) -> str:
        """The header in its short form (``:SENS:WAV``)."""
        return "".join(ch for ch in self.header if ch.isupper() or ch.isdigit() or ch in ":*?")

    def render(self, *values: object) -> str:
        """The line a driver sends (without terminator), in the short form."""
        if len(values) != len(self.args):
            raise TypeError(f"{self.name} takes {len(self.args)} argument(s), got {len(values)}")
        head = self.short_header
        if not values:
            return head
        return head + " " + ",".join(_format_value(v) for v in values)

    def pattern(self) -> re.Pattern[str]:
        nodes = self.header.rstrip("?").lstrip(":").split(":")
        body = ":".join(_node_pattern(n) for n in nodes)
        query = r"\?" if self.is_query else ""
        return re.compile(r"^:?" + body + query + r"(?:\s+(?P<args>.*))?$", re.IGNORECASE)


def _format_value(value: object) -> str:
    if isinstance(value, Nanometres):
        return str(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value) if value != int(value) else str(int(value))
    return str(value)


class CommandTable:
    """The commands of one instrument model, looked up by name (driver) or by line (simulator)."""

    def __init__(self, *commands: Command) -> None:
        self._by_name = {c.name: c for c in commands}
        self._patterns = [(c, c.pattern()) for c in commands]

    def __getitem__(self, name: str) -> Command:
        return self._by_name[name]

    def __iter__(self):
        return iter(self._by_name.values())

    def parse(self, line: str) -> tuple[Command, list[object]]:
        """Match an incoming line to its command and convert its arguments.

        Raises :class:`ProtocolError` for an unknown header (SCPI error -113) or bad arguments
        (-104 data type error).
        """
        text = line.strip()
        for command, pattern in self._patterns:
            m = pattern.match(text)
            if not m:
                continue
            raw = m.group("args")
            parts = [p.strip().strip('"') for p in raw.split(",")] if raw else []
            if len(parts) != len(command.args):
                raise ProtocolError(f'-109,"Missing parameter;{text}"')
            try:
                values = [_convert(t, p) for t, p in zip(command.args, parts)]
            except (ValueError, OverflowError):
                raise ProtocolError(f'-104,"Data type error;{text}"') from None
            return command, values
        raise ProtocolError(f'-113,"Undefined header;{text}"')


class Nanometres(float):
    """A wavelength argument (nm), sent as ``1550.000NM``; accepts ``NM``/``UM``/``M`` suffixes
    or a bare number in metres when it is below 1e-3, as AQ6370-class instruments do."""

    _UNITS = {"NM": 1.0, "UM": 1e3, "M": 1e9, "": 1.0}

    def __new__(cls, value: "float | str") -> "Nanometres":
        if isinstance(value, str):
            m = re.fullmatch(r"\s*([-+0-9.eE]+)\s*([A-Za-z]*)\s*", value)
            if not m or m.group(2).upper() not in cls._UNITS:
                raise ValueError(value)
            number = float(m.group(1))
            unit = m.group(2).upper()
            if unit == "" and abs(number) < 1e-3:
                unit = "M"
            value = number * cls._UNITS[unit]
        return super().__new__(cls, value)

    def __str__(self) -> str:
        return f"{float(self):.4f}NM"


def _convert(kind: type, text: str) -> object:
    if kind is bool:
        low = text.upper()
        if low in ("1", "ON"):
            return True
        if low in ("0", "OFF"):
            return False
        raise ValueError(text)
    if kind is int:
        return int(float(text))
    return kind(text)


COMMON_COMMANDS: tuple[Command, ...] = (
    Command("identify", "*IDN?", doc="identity: maker,model,serial,firmware"),
    Command("clear", "*CLS", doc="clear status and error queue"),
    Command("self_test", "*TST?", doc="run the self-test: 0 passed, any other number a fault"),
    Command("error_query", ":SYSTem:ERRor?", doc="oldest error: code,\"message\"; 0 when empty",
            repeatable=False),
    Command("route", ":ROUTe:CLOSe", (int,), doc="close switch port n (1-based) of the 1xN switch"),
)
"""IEEE 488.2 common commands, the SCPI error queue and the optical switch: in every SCPI model."""
