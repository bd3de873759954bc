"""SCPI command tables shared by a driver and the simulator of the same model.

A driver renders commands from the table; the simulator's engine
(:mod:`instruments.sim.scpi_engine`) parses incoming messages with the same table. The header
rules are implemented once, here (IEEE 488.2-1992 §7.6.1, SCPI-99 vol 1 §6.2):

- a header is written as in the manuals: ``[:SENSe]:WAVelength:CENTer``; upper-case letters
  are the short form (``:SENS:WAV:CENT``) and either form is accepted, in any case, nothing in
  between (``:SENSE:WAVEL`` is -113 *Undefined header*);
- a node in brackets is optional (``[:SENSe]``, ``[:IMMediate]``, ``[:DATA]``);
- ``<n>`` after a node is a numeric suffix (``:TRACe<n>``); omitted, it is 1; its value is
  passed before the other arguments;
- ``aliases`` are the other spellings a manual lists for the same command;
- a header ending in ``?`` is a query only; a setting declared ``readable=True`` also answers
  its query form (``X?``, taking the first ``keys`` arguments, e.g. a trace name) with its
  current value — one definition serves ``X value`` and ``X?``, and its query is in the table
  as ``name + "?"`` for drivers;
- each argument is a parameter kind from :mod:`instruments.scpi_params` (units, range,
  enumeration) or a plain ``int``/``float``/``str``/``bool``;
- ``manual`` cites the section of the instrument's published manual (or standard) the command
  was checked against; ``"clients: ..."`` names third-party clients written from that manual
  when the manual text itself was not found (*client-checked*); empty means *unverified* (see
  :mod:`instruments.coverage`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from typing import Any, Iterator

from instruments.scpi_params import (  # noqa: F401  (re-exported for the model tables)
    Boolean, Choice, Nanometres, Number, ScpiError, Text, convert, format_value,
    mnemonic_pattern, render_value, short_form, split_parameters,
)

_NODE = re.compile(r"(\[)?:?([A-Za-z*][A-Za-z0-9*]*?)(<n>)?(\])?$")


@dataclass(frozen=True)
class _Node:
    word: str
    optional: bool
    suffix: bool


def _nodes(header: str) -> list[_Node]:
    """The nodes of a table header (``[:SENSe]:WAVelength<n>?`` → SENSe opt, WAVelength+n)."""
    text = header.rstrip("?")
    parts = re.findall(r"\[:?[^\]]+\]|:?[^:\[]+", text)
    nodes = []
    for part in parts:
        m = _NODE.match(part)
        if not m or bool(m.group(1)) != bool(m.group(4)):
            raise ValueError(f"bad table header {header!r} at {part!r}")
        nodes.append(_Node(m.group(2), bool(m.group(1)), bool(m.group(3))))
    return nodes


def _header_regex(header: str) -> str:
    """Regex source for the nodes of ``header`` (no leading colon, no ``?``)."""
    nodes = _nodes(header)
    out = []
    leading = True  # optional nodes before the first required one carry their colon after
    for i, node in enumerate(nodes):
        word = mnemonic_pattern(node.word)
        if node.suffix:
            word += rf"(?P<s{i}>[0-9]+)?"
        if leading and node.optional:
            out.append(f"(?:{word}:)?")
            continue
        sep = "" if leading else ":"
        leading = False
        out.append(f"(?:{sep}{word})?" if node.optional else sep + word)
    if leading:  # every node optional: not a usable header
        raise ValueError(f"header {header!r} has no required node")
    return "".join(out)


@dataclass(frozen=True)
class Command:
    """One SCPI command or query of a model's table.

    name: what drivers and handlers call it (the simulator's handler is ``do_<name>``);
    header: the canonical header (see the module docstring); args: the parameter kinds;
    doc: what it does, with units; repeatable: False for a query whose reading changes the
    instrument (popping the error queue, clearing an event register): a driver never sends such
    a query twice for one answer; manual: the manual section checked (empty = unverified);
    readable: the setting also answers its query form; keys: how many leading arguments the
    query form takes; default: the ``*RST`` value of a readable setting (its non-key
    arguments); aliases: other headers the manual lists for this command.
    """

    name: str
    header: str
    args: tuple[Any, ...] = ()
    doc: str = ""
    repeatable: bool = True
    manual: str = ""
    readable: bool = False
    keys: int = 0
    default: tuple[Any, ...] | None = None
    aliases: tuple[str, ...] = ()
    derived: bool = False
    """True for the query form the table derived from a readable setting."""

    @property
    def is_query(self) -> bool:
        return self.header.endswith("?")

    @property
    def verified(self) -> bool:
        """True when a manual or standard section is cited for this command."""
        return bool(self.manual) and not self.client_checked

    @property
    def client_checked(self) -> bool:
        """True when only third-party clients are cited (``manual="clients: ..."``)."""
        return self.manual.startswith("clients:")

    @property
    def retry_safe(self) -> bool:
        """True for a query with no side effect: safe to send again after a lost reply."""
        return self.is_query and self.repeatable

    @functools.cached_property
    def suffix_count(self) -> int:
        return sum(n.suffix for n in _nodes(self.header))

    @functools.cached_property
    def short_header(self) -> str:
        """The header a driver sends: short form, every optional node included
        (``[:SENSe]:WAVelength:CENTer`` → ``:SENS:WAV:CENT``; the full path is valid on any
        instrument). A table that wants a driver to leave a node out writes the shorter header
        and lists the longer one in ``aliases``."""
        text = "".join(":" + short_form(n.word) + ("<n>" if n.suffix else "")
                       for n in _nodes(self.header))
        if text.startswith(":*"):
            text = text[1:]
        return text + ("?" if self.is_query else "")

    def render(self, *values: object) -> str:
        """The line a driver sends (without terminator), in the short form. Numeric suffixes
        (``<n>`` nodes) take the first values; trailing parameters that may be omitted (their
        kind has an ``omitted`` value) may be left out."""
        optional = 0
        for kind in reversed(self.args):
            if getattr(kind, "omitted", None) is None:
                break
            optional += 1
        most = self.suffix_count + len(self.args)
        if not most - optional <= len(values) <= most:
            raise TypeError(f"{self.name} takes {most} argument(s), got {len(values)}")
        head = self.short_header
        for v in values[:self.suffix_count]:
            head = head.replace("<n>", str(int(v)), 1)  # type: ignore[call-overload]
        rest = values[self.suffix_count:]
        if not rest:
            return head
        return head + " " + ",".join(render_value(k, v) for k, v in zip(self.args, rest))

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        """Matches a full header (absolute, no leading colon) as sent, in any case."""
        query = r"\?" if self.is_query else ""
        alternatives = [_header_regex(h) for h in (self.header, *self.aliases)]
        groups = "|".join(f"(?:{a})" for a in alternatives)
        return re.compile(rf"(?:{groups}){query}", re.IGNORECASE)

    def pattern(self) -> re.Pattern[str]:
        """A whole line (header, then parameters in group ``args``), for older callers."""
        return re.compile(r"^:?" + self.regex.pattern + r"(?:\s+(?P<args>.*))?$", re.IGNORECASE)

    def suffixes(self, match: re.Match[str]) -> list[int]:
        """The numeric suffix values of a header match (1 where omitted)."""
        values = [int(v) if v else 1 for k, v in sorted(match.groupdict().items())
                  if k.startswith("s")]
        return values[:self.suffix_count]

    def query_form(self) -> "Command":
        """The query a readable setting answers (``name?``, ``header?``, its key arguments)."""
        if not self.readable:
            raise ValueError(f"{self.name} is not a readable setting")
        aliases = tuple(a + "?" for a in self.aliases)
        return replace(self, name=self.name + "?", header=self.header + "?",
                       args=self.args[:self.keys], readable=False, aliases=aliases,
                       doc=f"query form of {self.name}", derived=True)

    def parse_parameters(self, text: str) -> list[Any]:
        """Convert the parameter text of one message unit; ScpiError -104/-108/-109/-2xx.
        Trailing parameters whose kind has a ``default`` (``REAL[,64]``) may be omitted."""
        parts = split_parameters(text)
        kinds = self.args
        if len(parts) > len(kinds):
            raise ScpiError(-108, text.strip())
        values = [convert(k, p) for k, p in zip(kinds, parts)]
        for kind in kinds[len(parts):]:
            omitted = getattr(kind, "omitted", None)
            if omitted is None:
                raise ScpiError(-109, f"{self.short_header} needs {len(kinds)} parameter(s)")
            values.append(omitted)
        return values


class CommandTable:
    """The commands of one instrument model, looked up by name (driver) or by header (engine).

    A readable setting contributes its derived query as ``name + "?"``.
    """

    def __init__(self, *commands: Command) -> None:
        expanded: list[Command] = []
        for c in commands:
            expanded.append(c)
            if c.readable:
                expanded.append(c.query_form())
        self._by_name = {c.name: c for c in expanded}
        if len(self._by_name) != len(expanded):
            seen: set[str] = set()
            dupes = [c.name for c in expanded if c.name in seen or seen.add(c.name)]  # type: ignore[func-returns-value]
            raise ValueError(f"duplicate command names {dupes}")
        self._commands = tuple(expanded)

    def __getitem__(self, name: str) -> Command:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands)

    def __len__(self) -> int:
        return len(self._commands)

    def declared(self) -> list[Command]:
        """The commands as written in the table (derived query forms left out)."""
        return [c for c in self._commands if not c.derived]

    def match(self, header: str) -> tuple[Command, list[int]]:
        """The command whose header matches ``header`` (absolute, leading colon optional)
        and its numeric suffixes; ScpiError -113 when none does."""
        text = header[1:] if header.startswith(":") else header
        for command in self._commands:
            m = command.regex.fullmatch(text)
            if m:
                return command, command.suffixes(m)
        raise ScpiError(-113, header)

    def parse(self, line: str) -> tuple[Command, list[object]]:
        """Match one absolute message unit (header and parameters) to its command and convert
        its arguments (numeric suffixes first). Raises :class:`ScpiError` (a
        :class:`~instruments.errors.ProtocolError`): -113 unknown header, -104/-108/-109 bad
        parameters, -222/-224 values out of range or not in the list."""
        text = line.strip()
        header, _, params = text.partition(" ")
        if "\t" in header:
            header, _, more = header.partition("\t")
            params = more + " " + params
        command, suffixes = self.match(header)
        return command, [*suffixes, *command.parse_parameters(params)]


BYTE = Number(low=0, high=255, integer=True, reply="{}")
"""An 8-bit register value (``*ESE``, ``*SRE``): NR1, decimal or #H/#Q/#B."""
WORD = Number(low=0, high=65535, integer=True, reply="{}")
"""A 16-bit SCPI status register value."""

_IEEE = "IEEE 488.2-1992 "
_SCPI = "SCPI-99 vol 2 (STATus/SYSTem subsystems) "

COMMON_COMMANDS: tuple[Command, ...] = (
    Command("identify", "*IDN?", doc="identity: maker,model,serial,firmware",
            manual=_IEEE + "§10.14 *IDN?"),
    Command("clear", "*CLS", doc="clear the event registers and the error queue",
            manual=_IEEE + "§10.3 *CLS"),
    Command("reset", "*RST", doc="settings to their *RST values; pending operations dropped; "
            "status registers and enables untouched", manual=_IEEE + "§10.32 *RST"),
    Command("self_test", "*TST?", doc="run the self-test: 0 passed, any other number a fault",
            manual=_IEEE + "§10.38 *TST?"),
    Command("event_enable", "*ESE", (BYTE,), readable=True, default=(0,),
            doc="Standard Event Status enable register (8 bits)", manual=_IEEE + "§10.10 *ESE"),
    Command("event_status", "*ESR?", repeatable=False, doc="Standard Event Status register "
            "(bits OPC 1, QYE 4, DDE 8, EXE 16, CME 32, PON 128); reading clears it",
            manual=_IEEE + "§10.12 *ESR?"),
    Command("operation_complete", "*OPC", doc="set the OPC event bit once every pending "
            "operation (a sweep) has finished", manual=_IEEE + "§10.18 *OPC"),
    Command("operation_complete?", "*OPC?", doc="answer 1 once every pending operation has "
            "finished", manual=_IEEE + "§10.19 *OPC?"),
    Command("service_enable", "*SRE", (BYTE,), readable=True, default=(0,),
            doc="service request enable register (bit 6 ignored)", manual=_IEEE + "§10.34 *SRE"),
    Command("status_byte", "*STB?", doc="status byte: 4 error queue, 8 QUES, 16 MAV, 32 ESB, "
            "64 MSS, 128 OPER", manual=_IEEE + "§10.36 *STB?"),
    Command("wait", "*WAI", doc="execute nothing more until pending operations have finished",
            manual=_IEEE + "§10.39 *WAI"),
    Command("error_query", ":SYSTem:ERRor?", doc="oldest error: code,\"message\"; 0 when empty",
            repeatable=False, aliases=(":SYSTem:ERRor:NEXT?",),
            manual=_SCPI + "SYSTem:ERRor[:NEXT]?"),
    Command("version", ":SYSTem:VERSion?", doc="SCPI version (YYYY.V)",
            manual=_SCPI + "SYSTem:VERSion?"),
    Command("operation_event", ":STATus:OPERation:EVENt?", repeatable=False,
            aliases=(":STATus:OPERation?",), doc="OPERation event register; reading clears it",
            manual=_SCPI + "STATus:OPERation[:EVENt]?"),
    Command("operation_condition", ":STATus:OPERation:CONDition?",
            doc="OPERation condition register", manual=_SCPI + "STATus:OPERation:CONDition?"),
    Command("operation_enable", ":STATus:OPERation:ENABle", (WORD,), readable=True,
            default=(0,), doc="OPERation enable register", manual=_SCPI + "STATus:OPERation:ENABle"),
    Command("operation_ptransition", ":STATus:OPERation:PTRansition", (WORD,), readable=True,
            default=(0x7FFF,), doc="OPERation positive transition filter",
            manual=_SCPI + "STATus:OPERation:PTRansition"),
    Command("operation_ntransition", ":STATus:OPERation:NTRansition", (WORD,), readable=True,
            default=(0,), doc="OPERation negative transition filter", manual=_SCPI + "STATus:OPERation:NTRansition"),
    Command("questionable_event", ":STATus:QUEStionable:EVENt?", repeatable=False,
            aliases=(":STATus:QUEStionable?",), doc="QUEStionable event register; reading "
            "clears it", manual=_SCPI + "STATus:QUEStionable[:EVENt]?"),
    Command("questionable_condition", ":STATus:QUEStionable:CONDition?",
            doc="QUEStionable condition register", manual=_SCPI + "STATus:QUEStionable:CONDition?"),
    Command("questionable_enable", ":STATus:QUEStionable:ENABle", (WORD,), readable=True,
            default=(0,), doc="QUEStionable enable register", manual=_SCPI + "STATus:QUEStionable:ENABle"),
    Command("status_preset", ":STATus:PRESet", doc="enables 0, transition filters to their "
            "defaults", manual=_SCPI + "STATus:PRESet"),
    Command("route", ":ROUTe:CLOSe", (int,), doc="close port n (1-based) of the 1xN optical "
            "switch in front of the instrument: our station's switch, no instrument manual"),
)
"""The IEEE 488.2 mandatory common commands, the SCPI error queue and STATus subsystem, and
the station's optical switch: in every SCPI model (the simulators' engine implements them)."""
