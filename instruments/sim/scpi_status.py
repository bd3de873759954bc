"""The status reporting of a simulated instrument, as IEEE 488.2-1992 §11 and SCPI-99 vol 1 §9
define it: the Standard Event Status register and its enable (``*ESR?``/``*ESE``), the status
byte and its service request enable (``*STB?``/``*SRE``), the error/event queue
(``:SYSTem:ERRor?``), the SCPI OPERation and QUEStionable register sets (condition, transition
filters, event, enable) and the operation-complete state machine of ``*OPC``/``*OPC?``/``*WAI``
for overlapped commands (a sweep).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from instruments.scpi_params import ScpiError

# Standard Event Status register bits (IEEE 488.2 §11.5.1.1)
OPC, RQC, QYE, DDE, EXE, CME, URQ, PON = (1 << n for n in range(8))
# Status byte bits (IEEE 488.2 §11.2, SCPI-99 vol 1 §9.1)
STB_ERROR_QUEUE, STB_QUES, STB_MAV, STB_ESB, STB_MSS, STB_OPER = 4, 8, 16, 32, 64, 128

ERROR_QUEUE_LENGTH = 30
"""Entries the error queue holds; one more makes the last entry -350 (SCPI-99 vol 2, error -350).
The AQ6370 manual does not give its queue length in the sections found; 30 is a guess."""


def event_bit(code: int) -> int:
    """The Standard Event Status bit an error code sets (SCPI-99 vol 2 error list): -1xx command
    error, -2xx execution error, -3xx and device-specific (positive) device-dependent error,
    -4xx query error."""
    if -199 <= code <= -100:
        return CME
    if -299 <= code <= -200:
        return EXE
    if -499 <= code <= -400:
        return QYE
    return DDE


@dataclass
class RegisterSet:
    """A SCPI status register set (SCPI-99 vol 1 §9.3): condition, positive and negative
    transition filters, event (latched, cleared by reading) and enable. 16-bit values."""

    condition: int = 0
    ptransition: int = 0x7FFF
    ntransition: int = 0
    event: int = 0
    enable: int = 0

    def set_condition(self, bit: int, on: bool) -> None:
        """Set or clear condition ``bit`` (a mask); latches the event per the filters."""
        before = self.condition
        self.condition = (before | bit) if on else (before & ~bit)
        rising = self.condition & ~before
        falling = before & ~self.condition
        self.event |= (rising & self.ptransition) | (falling & self.ntransition)

    def read_event(self) -> int:
        value, self.event = self.event, 0
        return value

    @property
    def summary(self) -> bool:
        return bool(self.event & self.enable)

    def preset(self) -> None:
        """``:STATus:PRESet`` (SCPI-99 vol 2, STATus:PRESet): enable 0, PTR all ones, NTR 0."""
        self.enable, self.ptransition, self.ntransition = 0, 0x7FFF, 0


@dataclass
class Operation:
    """An overlapped operation (IEEE 488.2 §12): pending until ``done_at`` (monotonic s) and
    ``may_finish()``; then ``on_done()`` runs once."""

    name: str
    done_at: float
    on_done: Callable[[], None] = lambda: None
    may_finish: Callable[[], bool] = lambda: True


@dataclass
class StatusModel:
    """All status state of one instrument (shared by its connections, as on a real one)."""

    esr: int = PON
    ese: int = 0
    sre: int = 0
    errors: deque[str] = field(default_factory=deque)
    operation: RegisterSet = field(default_factory=RegisterSet)
    questionable: RegisterSet = field(default_factory=RegisterSet)
    pending: list[Operation] = field(default_factory=list)
    opc_armed: bool = False
    """``*OPC`` was received and its OPC bit is not set yet (Operation Complete Command Active
    State, IEEE 488.2 §12.5.2)."""

    # --- errors ------------------------------------------------------------------------------
    def push_error(self, error: "ScpiError | str") -> None:
        """Queue an error (a ScpiError, or its text ``code,"message"``) and set its ESR bit."""
        text = str(error)
        try:
            code = error.code if isinstance(error, ScpiError) else int(text.split(",", 1)[0])
        except ValueError:
            code = -100
        self.esr |= event_bit(code)
        if len(self.errors) >= ERROR_QUEUE_LENGTH:
            self.errors[-1] = str(ScpiError(-350))
            return
        self.errors.append(text)

    def next_error(self) -> str:
        return self.errors.popleft() if self.errors else '0,"No error"'

    # --- registers ---------------------------------------------------------------------------
    def read_esr(self) -> int:
        self.poll()
        value, self.esr = self.esr, 0
        return value

    def status_byte(self, message_available: bool = False) -> int:
        """``*STB?`` (IEEE 488.2 §11.2.2.2): the summary bits and MSS in bit 6."""
        self.poll()
        stb = ((STB_ERROR_QUEUE if self.errors else 0)
               | (STB_QUES if self.questionable.summary else 0)
               | (STB_MAV if message_available else 0)
               | (STB_ESB if self.esr & self.ese else 0)
               | (STB_OPER if self.operation.summary else 0))
        return stb | (STB_MSS if stb & self.sre & ~STB_MSS else 0)

    def clear(self) -> None:
        """``*CLS`` (IEEE 488.2 §10.3, SCPI-99 vol 1 §9.2): event registers and the error
        queue emptied, operation complete idle."""
        self.esr = 0
        self.errors.clear()
        self.operation.event = 0
        self.questionable.event = 0
        self.opc_armed = False

    # --- overlapped operations -------------------------------------------------------------
    def start(self, operation: Operation) -> None:
        self.pending = [p for p in self.pending if p.name != operation.name] + [operation]

    def cancel(self, name: str | None = None) -> None:
        """Drop pending operations (all, or those called ``name``) without completing them."""
        self.pending = [p for p in self.pending if name is not None and p.name != name]
        self.poll()

    def poll(self) -> None:
        """Finish the operations whose time has come; set OPC once none is left and armed."""
        now = time.monotonic()
        for op in list(self.pending):
            if now >= op.done_at and op.may_finish():
                self.pending.remove(op)
                op.on_done()
        if self.opc_armed and not self.pending:
            self.esr |= OPC
            self.opc_armed = False

    def busy(self) -> bool:
        self.poll()
        return bool(self.pending)
