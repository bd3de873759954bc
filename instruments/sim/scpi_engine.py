"""The one SCPI engine every simulated instrument runs: a model adds its command tree.

Why our own engine and not a package: the instrument-side packages on PyPI were read
(scpipy 1.5.1, scpilib 0.4.4, scpi-protocol 0.2.0; ``scpi`` 2.x is a controller-side sender).
scpipy is the closest (router, parser, a 488.2 status model) but derives short forms by a
length heuristic instead of the manuals' capitalisation (``DATA`` becomes ``DAT``), splits
messages at every ``;`` and ``,`` (quoted strings and enumerated pairs such as ``REAL,64``
break), has no unit suffixes, ranges or enumerations (-131/-222/-224), no derived query forms
and runs on asyncio, which would replace the threaded server our fault injection and the
AQ6370 login hook into. scpilib resolves ``;:`` the wrong way round (it prefixes the previous
path to an absolute header) and answers CRLF only; scpi-protocol is a client-side
description format. So the rules are implemented once here, on the shared tables of
:mod:`instruments.scpi_table`:

- a program message is split into message units at ``;`` outside quotes (IEEE 488.2-1992
  §7.3.3); each header is resolved with the path rule (§7.6.1 / SCPI-99 vol 1 §6.2.4): a
  header starting with ``:`` starts from the root, a common command (``*...``) leaves the
  path alone, any other header continues from the node of the previous header;
- replies of several queries in one message go out as one response message, separated by
  ``;`` and ended by one terminator (§8.4; the AQ6370C remote manual, IM AQ6370C-17EN "Data
  Inquiry", says the same of queries joined with ``;``);
- a command error (-1xx) skips the rest of the message; an execution error (-2xx) only its
  unit; every error is queued (``:SYSTem:ERRor?``) and sets its Standard Event Status bit;
  an unknown or failing query answers nothing;
- a setting (``readable=True``) is stored by the engine and answers its query form from the
  stored value, or ``get_<name>`` when the model computes it; ``*RST`` restores each
  setting's ``default`` and calls :meth:`SimScpiInstrument.on_reset`;
- the status model (:mod:`instruments.sim.scpi_status`) gives ``*ESR?``, ``*STB?`` (with MAV
  while an earlier reply of the same message is still queued), ``*OPC``, and ``*OPC?``/``*WAI``
  that hold the connection until the overlapped operations a model started with
  :meth:`SimScpiInstrument.start_operation` have finished.

A model subclasses :class:`SimScpiInstrument`, sets ``COMMANDS`` (its table, which includes
:data:`~instruments.scpi_table.COMMON_COMMANDS`) and writes ``do_<name>`` for each command
(``?`` in a name becomes ``_query``), ``get_<name>`` for settings it computes.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, Callable

from instruments.errors import ProtocolError
from instruments.scpi_table import Command, CommandTable
from instruments.scpi_params import ScpiError, format_value
from instruments.sim.faults import InstrumentFaults
from instruments.sim.scpi_status import Operation, StatusModel

SCPI_VERSION = "1999.0"
"""``:SYSTem:VERSion?``: the SCPI edition the engine follows."""
WAIT_LIMIT_S = 3600.0
"""Longest a ``*OPC?``/``*WAI`` holds a connection (wall s) before the engine gives up."""


class CutOff(bytes):
    """Reply bytes after which the server closes the connection (a ``drop`` fault)."""


class _Wait:
    """Returned by a handler that must wait for pending operations (``*OPC?``, ``*WAI``)."""

    def __init__(self, reply: str | None) -> None:
        self.reply = reply


def split_message(text: str) -> list[str]:
    """The message units of one program message, split at ``;`` outside quotes."""
    units, current, quote = [], [], ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == ";":
            units.append("".join(current))
            current = []
            continue
        current.append(ch)
    units.append("".join(current))
    return [u.strip() for u in units]


def resolve_header(header: str, path: str) -> tuple[str, str]:
    """``(absolute header, path for the next unit)`` by the path rule."""
    if header.startswith("*"):
        return header, path
    full = header if header.startswith(":") else path + header
    cut = full.rfind(":")
    return full, (full[:cut + 1] if cut >= 0 else "")


def handler_name(command_name: str, prefix: str = "do_") -> str:
    return prefix + command_name.replace("?", "_query")


class SimScpiInstrument:
    """State and command handlers of one simulated SCPI instrument (shared by its connections)."""

    COMMANDS: CommandTable
    IDN = "SIM,INSTRUMENT,0,0"
    TERMINATOR = b"\n"
    """Response message terminator (IEEE 488.2 §8.5: LF; some LAN sockets send CR LF)."""

    def __init__(self, faults: InstrumentFaults | None = None) -> None:
        self.status = StatusModel()
        self.lock = threading.RLock()
        self.faults = faults or InstrumentFaults()
        self.received: Counter[str] = Counter()
        """How many times each command (by table name) arrived, for tests."""
        self.values: dict[tuple[str, tuple[Any, ...]], tuple[Any, ...]] = {}
        """Settings changed since the last ``*RST``: (name, keys) → values."""
        self._message_available = False

    # --- compatibility with the models and tests written before the engine -------------------
    @property
    def errors(self) -> Any:
        """The error queue (oldest first)."""
        return self.status.errors

    def push_error(self, error: "ScpiError | str") -> None:
        self.status.push_error(error)

    # --- settings ------------------------------------------------------------------------------
    def setting(self, name: str, *keys: Any) -> tuple[Any, ...]:
        """The current values of setting ``name`` (for ``keys``): set, or its ``*RST`` default."""
        stored = self.values.get((name, tuple(keys)))
        if stored is not None:
            return stored
        default = self.COMMANDS[name].default
        if default is None:
            raise ScpiError(-230, f"{name} has no value")
        return tuple(default)

    def value(self, name: str, *keys: Any) -> Any:
        """The single value of a one-parameter setting."""
        return self.setting(name, *keys)[0]

    def set_value(self, name: str, *values: Any, keys: tuple[Any, ...] = ()) -> None:
        """Change a setting from model code (a coupled setting: span follows start/stop)."""
        self.values[(name, tuple(keys))] = tuple(values)

    def on_reset(self) -> None:
        """Called by ``*RST`` after the settings are back to their defaults."""

    def start_operation(self, name: str, duration_s: float, on_done: Callable[[], None],
                        may_finish: Callable[[], bool] = lambda: True) -> None:
        """Start an overlapped operation of ``duration_s`` wall seconds; ``on_done`` runs when
        it ends (and ``may_finish()`` allows), before ``*OPC``/``*OPC?``/``*WAI`` see it."""
        self.status.start(Operation(name, time.monotonic() + duration_s, on_done, may_finish))

    # --- one program message -------------------------------------------------------------------
    def handle(self, line: str, session: dict[str, Any]) -> bytes | None:
        """Handle one program message; returns the response message (terminator included),
        a :class:`CutOff` (close the connection), or None."""
        replies: list[bytes] = []
        last_query: Command | None = None
        path = ""
        for unit in split_message(line):
            header, _, params = unit.replace("\t", " ").partition(" ")
            if not header:
                continue
            full, next_path = resolve_header(header, path)
            try:
                command, suffixes = self.COMMANDS.match(full)
                args = [*suffixes, *command.parse_parameters(params)]
            except ScpiError as exc:
                self.push_error(exc)
                if -199 <= exc.code <= -100:
                    break  # a command error: the parser skips to the end of the message
                continue
            path = next_path
            result = self._run(command, args, bool(replies))
            if isinstance(result, _Wait):
                if not self._wait(session):
                    return None
                result = result.reply
            if isinstance(result, CutOff):
                return result
            if command.is_query and result is not None:
                replies.append(result if isinstance(result, bytes) else str(result).encode("ascii"))
                last_query = command
        if not replies or last_query is None:
            return None
        reply = b";".join(replies) + self.TERMINATOR
        return self._faulty(last_query, reply) if self.faults else reply

    def _run(self, command: Command, args: list[Any], message_available: bool) -> Any:
        with self.lock:
            self.received[command.name] += 1
            self._message_available = message_available
            try:
                result = self._execute(command, args)
            except ProtocolError as exc:
                self.push_error(exc if isinstance(exc, ScpiError) else str(exc))
                result = None
            error = self.faults.take("error", command.name, command.is_query)
            if error:
                self.push_error(error.error)
        if not command.is_query and not isinstance(result, _Wait):
            return CutOff() if self.faults.take("drop", command.name, False) else None
        return result

    def _execute(self, command: Command, args: list[Any]) -> Any:
        if command.derived:
            base = self.COMMANDS[command.name[:-1]]
            getter = getattr(self, handler_name(base.name, "get_"), None)
            values = getter(*args) if getter else self.setting(base.name, *args)
            if isinstance(values, str):  # the model formats this reply itself
                return values
            kinds = base.args[base.keys:]
            return ",".join(format_value(k, v) for k, v in zip(kinds, values))
        handler = getattr(self, handler_name(command.name), None)
        if not command.readable:
            if handler is None:
                raise ScpiError(-241, f"{command.name} not simulated")
            return handler(*args)
        n = command.suffix_count + command.keys
        key = (command.name, tuple(args[:n]))
        before = self.values.get(key)
        self.values[key] = tuple(args[n:])
        try:
            return handler(*args) if handler else None
        except BaseException:
            if before is None:
                self.values.pop(key, None)
            else:
                self.values[key] = before
            raise

    def _wait(self, session: dict[str, Any]) -> bool:
        """Hold this connection until no operation is pending; False if it closed meanwhile."""
        alive: Callable[[], bool] = session.get("alive", lambda: True)
        give_up = time.monotonic() + WAIT_LIMIT_S
        while True:
            with self.lock:
                if not self.status.busy():
                    return True
            if not alive() or time.monotonic() > give_up:
                return False
            time.sleep(0.01)

    def _faulty(self, command: Command, reply: bytes) -> bytes:
        """Apply delay, garble, truncate and drop faults to one reply."""
        block = reply[:1] == b"#"
        delay = self.faults.take("delay", command.name)
        if delay:
            time.sleep(delay.delay_s)
        if block and self.faults.take("garble", command.name, is_block=True):
            reply = reply[:2] + b"?" * int(reply[1:2]) + reply[2 + int(reply[1:2]):]
        truncate = block and self.faults.take("truncate", command.name, is_block=True)
        if truncate:
            head = 2 + int(reply[1:2])
            payload = len(reply) - head - len(self.TERMINATOR)
            keep = payload // 2 if truncate.after_bytes is None else min(truncate.after_bytes, payload)
            reply = reply[:head + keep] + self.TERMINATOR
        drop = self.faults.take("drop", command.name, is_block=block)
        if drop:
            return CutOff(reply[:drop.after_bytes or 0])
        return reply

    # --- IEEE 488.2 common commands --------------------------------------------------------------
    def do_identify(self) -> str:
        return self.IDN

    def do_clear(self) -> None:
        self.status.clear()

    def do_reset(self) -> None:
        self.values.clear()
        self.status.cancel()
        self.status.opc_armed = False
        self.on_reset()

    def do_self_test(self) -> str:
        """``*TST?``: the simulated instrument always passes its self-test (0)."""
        return "0"

    def do_event_enable(self, mask: int) -> None:
        self.status.ese = mask

    def get_event_enable(self) -> tuple[int]:
        return (self.status.ese,)

    def do_event_status(self) -> str:
        return str(self.status.read_esr())

    def do_operation_complete(self) -> None:
        self.status.opc_armed = True
        self.status.poll()

    def do_operation_complete_query(self) -> _Wait:
        return _Wait("1")

    def do_wait(self) -> _Wait:
        return _Wait(None)

    def do_service_enable(self, mask: int) -> None:
        self.status.sre = mask & ~0x40  # bit 6 (MSS) cannot be enabled

    def get_service_enable(self) -> tuple[int]:
        return (self.status.sre,)

    def do_status_byte(self) -> str:
        return str(self.status.status_byte(self._message_available))

    # --- SCPI SYSTem and STATus ------------------------------------------------------------------
    def do_error_query(self) -> str:
        return self.status.next_error()

    def do_version(self) -> str:
        return SCPI_VERSION

    def do_operation_event(self) -> str:
        self.status.poll()
        return str(self.status.operation.read_event())

    def do_operation_condition(self) -> str:
        self.status.poll()
        return str(self.status.operation.condition)

    def do_operation_enable(self, mask: int) -> None:
        self.status.operation.enable = mask

    def get_operation_enable(self) -> tuple[int]:
        return (self.status.operation.enable,)

    def do_operation_ptransition(self, mask: int) -> None:
        self.status.operation.ptransition = mask

    def get_operation_ptransition(self) -> tuple[int]:
        return (self.status.operation.ptransition,)

    def do_operation_ntransition(self, mask: int) -> None:
        self.status.operation.ntransition = mask

    def get_operation_ntransition(self) -> tuple[int]:
        return (self.status.operation.ntransition,)

    def do_questionable_event(self) -> str:
        return str(self.status.questionable.read_event())

    def do_questionable_condition(self) -> str:
        return str(self.status.questionable.condition)

    def do_questionable_enable(self, mask: int) -> None:
        self.status.questionable.enable = mask

    def get_questionable_enable(self) -> tuple[int]:
        return (self.status.questionable.enable,)

    def do_status_preset(self) -> None:
        self.status.operation.preset()
        self.status.questionable.preset()
