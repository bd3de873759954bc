"""SCPI program and response data: the parameter kinds a command table declares per argument.

One kind per idea, each parsing what an instrument accepts (IEEE 488.2-1992 §7.7 program data)
and formatting what it answers (§8.7 response data):

- :class:`Number` — ``<NRf>`` decimal numeric data (§7.7.2) with the unit suffixes a manual
  allows (§7.7.3), the SCPI ``MINimum|MAXimum|DEFault`` values (SCPI-99 vol 1 §7.2.1), the
  non-decimal forms ``#H..``/``#Q..``/``#B..`` (§7.7.4), a range (-222 *Data out of range*)
  or a list of the discrete values the instrument has (-222 as well);
- :class:`Choice` — ``<CHARACTER PROGRAM DATA>`` (§7.7.1) from a fixed set, each written like
  a header mnemonic (``SINGle``: short or long form, any case), optionally with the numbers a
  manual accepts in their place; anything else is -224 *Illegal parameter value*;
- :class:`Boolean` — ``ON|OFF|1|0`` (SCPI-99 vol 1 §7.3), answered ``1``/``0``;
- :class:`Text` — ``<STRING PROGRAM DATA>`` in single or double quotes (§7.7.5).

A wrong kind of data (letters where a number belongs) is -104 *Data type error*; an unknown
suffix is -131 *Invalid suffix*. Errors are :class:`ScpiError`, whose text is the error queue
entry ``<code>,"<message>"``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from instruments.errors import ProtocolError

ERROR_MESSAGES: dict[int, str] = {
    -100: "Command error", -101: "Invalid character", -102: "Syntax error",
    -103: "Invalid separator", -104: "Data type error", -108: "Parameter not allowed",
    -109: "Missing parameter", -113: "Undefined header", -114: "Header suffix out of range",
    -131: "Invalid suffix", -200: "Execution error", -221: "Settings conflict",
    -222: "Data out of range", -224: "Illegal parameter value", -230: "Data corrupt or stale",
    -241: "Hardware missing", -350: "Queue overflow", -410: "Query INTERRUPTED",
}
"""The standard SCPI error messages the engine queues (code: message), SCPI-99 vol 2,
SYSTem:ERRor error list."""


class ScpiError(ProtocolError):
    """An error an instrument queues: ``code`` (the SCPI-99 error list) and ``detail``."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        message = ERROR_MESSAGES.get(code, "Device-specific error")
        super().__init__(f'{code},"{message}' + (f";{detail}" if detail else "") + '"')


_DECIMAL = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:\s*[eE]\s*[+-]?\d+)?)\s*([A-Za-z/]*)\s*")
_NON_DECIMAL = re.compile(r"\s*#([HhQqBb])([0-9A-Fa-f]+)\s*")
_BASES = {"H": 16, "Q": 8, "B": 2}


def mnemonic_pattern(word: str) -> str:
    """Regex source matching a mnemonic written ``SHORTlong`` in its short or long form only
    (IEEE 488.2 §7.6.1.1, SCPI-99 vol 1 §6.2.1): ``SINGle`` matches SING and SINGLE."""
    short = "".join(ch for ch in word if ch.isupper() or ch.isdigit() or ch == "*")
    if not short or short == word:
        return re.escape(word.upper())
    return re.escape(short.upper()) + "(?:" + re.escape(word[len(short):].upper()) + ")?"


def short_form(word: str) -> str:
    """The short form of a mnemonic written ``SHORTlong`` (``SINGle`` → ``SING``)."""
    return "".join(ch for ch in word if ch.isupper() or ch.isdigit() or ch in "*?:")


@dataclass(frozen=True)
class Number:
    """A decimal numeric parameter held in the base unit of the manual.

    suffixes: ``(suffix, multiplier)`` pairs giving the value in the base unit (``("NM", 1e-9)``
    for a wavelength held in m); a bare number is in the base unit. low/high: the accepted
    range (base unit); allowed: the discrete values the instrument has (the nearest is taken
    when within ``0.1 %``, as instruments round); integer: rounded to an integer (NR1);
    reply: format of the query answer (``str.format`` spec, e.g. ``"{:+.8E}"``); default: the
    value ``DEFault`` selects.
    """

    suffixes: tuple[tuple[str, float], ...] = ()
    low: float | None = None
    high: float | None = None
    allowed: tuple[float, ...] = ()
    integer: bool = False
    reply: Any = "{:+.8E}"
    default: float | None = None
    omitted: float | None = None
    """The value when a trailing parameter is left out (``REAL`` = ``REAL,64``); None = required."""
    unit: str = ""
    """The base unit, for documentation (``m``, ``dBm``, ``s``...)."""

    def parse(self, text: str) -> float | int:
        """The value of ``text`` in the base unit; ScpiError -104/-131/-222."""
        special = text.strip().upper()
        if special in ("MIN", "MINIMUM", "MAX", "MAXIMUM", "DEF", "DEFAULT"):
            value = {"MIN": self.low if self.low is not None else min(self.allowed, default=None),
                     "MAX": self.high if self.high is not None else max(self.allowed, default=None),
                     "DEF": self.default}[special[:3]]
            if value is None:
                raise ScpiError(-224, text.strip())
            return int(value) if self.integer else value
        m = _NON_DECIMAL.fullmatch(text)
        if m:
            try:
                number: float = float(int(m.group(2), _BASES[m.group(1).upper()]))
            except ValueError:
                raise ScpiError(-104, text.strip()) from None
        else:
            m = _DECIMAL.fullmatch(text)
            if not m:
                raise ScpiError(-104, text.strip())
            number = float(re.sub(r"\s", "", m.group(1)))
            suffix = m.group(2).upper()
            if suffix:
                scale = dict((s.upper(), k) for s, k in self.suffixes).get(suffix)
                if scale is None:
                    raise ScpiError(-131, text.strip())
                number *= scale
        if not math.isfinite(number):
            raise ScpiError(-222, text.strip())
        return self._checked(number, text)

    def _checked(self, number: float, text: str) -> float | int:
        if self.allowed:
            nearest = min(self.allowed, key=lambda a: abs(a - number))
            if abs(nearest - number) > 1e-3 * max(abs(nearest), 1e-300):
                raise ScpiError(-222, text.strip())
            number = nearest
        if (self.low is not None and number < self.low * (1 - 1e-12) - 1e-300) or \
                (self.high is not None and number > self.high * (1 + 1e-12) + 1e-300):
            raise ScpiError(-222, text.strip())
        if self.integer:
            return int(round(number))
        return number

    def format(self, value: Any) -> str:
        """The response data of ``value`` (base unit); ``reply`` is a format string or a callable."""
        if callable(self.reply):
            return self.reply(value)
        return self.reply.format(int(value) if self.integer else float(value))

    def render(self, value: Any) -> str:
        """A driver's program data for ``value`` (base unit)."""
        if self.integer:
            return str(int(value))
        return repr(float(value)) if float(value) != int(float(value)) else str(int(float(value)))


@dataclass(frozen=True)
class Choice:
    """Character data from ``options`` (mnemonics written ``SHORTlong``), e.g. trace names
    ``("TRA", "TRB")`` or sweep modes ``("SINGle", "REPeat")``.

    numbers: ``(number, option)`` pairs a manual accepts instead of a mnemonic; reply:
    ``"short"`` answers the short form in upper case (SCPI-99 vol 1 §7.4.1 convention),
    ``"long"`` the long form as written, ``"number"`` the option's number.
    The parsed value is the option as written in ``options``.
    """

    options: tuple[str, ...]
    numbers: tuple[tuple[int, str], ...] = ()
    reply: str = "short"
    omitted: str | None = None
    """The option meant when a trailing parameter is left out; None = required."""
    _patterns: tuple[tuple[str, re.Pattern[str]], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = tuple((o, re.compile(mnemonic_pattern(o), re.IGNORECASE)) for o in self.options)
        object.__setattr__(self, "_patterns", compiled)

    def parse(self, text: str) -> str:
        word = text.strip()
        for option, pattern in self._patterns:
            if pattern.fullmatch(word):
                return option
        if _DECIMAL.fullmatch(word) and self.numbers:
            try:
                number = int(float(word))
            except (ValueError, OverflowError):
                number = None
            for n, option in self.numbers:
                if n == number and float(word) == n:
                    return option
        raise ScpiError(-224, word)

    def format(self, value: Any) -> str:
        if self.reply == "number":
            return str(dict((o, n) for n, o in self.numbers)[value])
        if self.reply == "long":
            return str(value)
        return short_form(str(value)).upper()

    def render(self, value: Any) -> str:
        return str(value)


@dataclass(frozen=True)
class Boolean:
    """``ON|OFF|1|0`` (any non-zero number is ON, rounded as SCPI-99 vol 1 §7.3 says)."""

    def parse(self, text: str) -> bool:
        word = text.strip().upper()
        if word in ("ON", "OFF"):
            return word == "ON"
        m = _DECIMAL.fullmatch(word)
        if not m or m.group(2):
            raise ScpiError(-104, text.strip())
        return round(float(re.sub(r"\s", "", m.group(1)))) != 0

    def format(self, value: Any) -> str:
        return "1" if value else "0"

    def render(self, value: Any) -> str:
        return "1" if value else "0"


@dataclass(frozen=True)
class Text:
    """String data in single or double quotes (a doubled quote inside stands for one);
    ``bare=True`` also takes unquoted text, as some instruments do for file names."""

    bare: bool = False
    max_length: int = 256

    def parse(self, text: str) -> str:
        word = text.strip()
        if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"":
            inner = word[1:-1].replace(word[0] * 2, word[0])
        elif self.bare:
            inner = word
        else:
            raise ScpiError(-104, word)
        if len(inner) > self.max_length:
            raise ScpiError(-222, f"string of {len(inner)} characters")
        return inner

    def format(self, value: Any) -> str:
        return '"' + str(value).replace('"', '""') + '"'

    def render(self, value: Any) -> str:
        return self.format(value)


def split_parameters(text: str) -> list[str]:
    """The parameters of one message unit, split at commas outside quotes (§7.4.2)."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif ch == ",":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if quote:
        raise ScpiError(-102, "unterminated string")
    parts.append("".join(current).strip())
    if parts == [""]:
        return []
    if any(p == "" for p in parts):
        raise ScpiError(-103 if len(parts) > 1 else -109, text.strip())
    return parts


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


def convert(kind: Any, text: str) -> Any:
    """Program data ``text`` as an argument of ``kind`` (a parameter kind above, or one of the
    plain types ``bool``, ``int``, ``float``, ``str``, ``Nanometres``); ScpiError on bad data."""
    if hasattr(kind, "parse"):
        return kind.parse(text)
    try:
        if kind is bool:
            return Boolean().parse(text)
        if kind is int:
            return int(float(text))
        if kind is str:
            return text.strip().strip('"')
        return kind(text)
    except (ValueError, OverflowError):
        raise ScpiError(-104, text.strip()) from None


def render_value(kind: Any, value: object) -> str:
    """A driver's program data for ``value`` as an argument of ``kind``."""
    if hasattr(kind, "render") and not isinstance(value, Nanometres):
        return kind.render(value)
    if isinstance(value, Nanometres):
        return str(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value) if value != int(value) else str(int(value))
    return str(value)


def format_value(kind: Any, value: object) -> str:
    """The response data of a setting's ``value`` held as an argument of ``kind``."""
    if hasattr(kind, "format"):
        return kind.format(value)
    if kind is bool or isinstance(value, bool):
        return "1" if value else "0"
    if kind is int:
        return str(int(value))  # type: ignore[call-overload]
    if kind is str:
        return str(value)
    return f"{float(value):+.8E}"  # type: ignore[arg-type]
