"""The SCPI session's read timeout is kept on the monotonic clock.

pyvisa-py ends a read when ``time.time()`` passes its deadline, so a wall-clock step (an NTP or
VM clock sync) during a read ends it early: on CI, three 0.5 s attempts once gave up after
1.498 s. The step is made here by moving pyvisa-py's view of the wall clock forward; the session
talks to a real loopback listener that never answers, through pyvisa-py.
"""

from __future__ import annotations

import time
import types

import pytest
import pyvisa_py.tcpip

from instruments.errors import InstrumentTimeout
from instruments.visa_session import ScpiSession
from loopback import silent_listener

TIMEOUT_S = 0.5
STEP_S = 0.3


class SteppedClock(types.SimpleNamespace):
    """``time`` as pyvisa-py sees it, its wall clock stepped forward by ``STEP_S`` once, at the
    second reading (the first sets the read's deadline)."""

    def __init__(self) -> None:
        super().__init__(sleep=time.sleep, monotonic=time.monotonic, perf_counter=time.perf_counter)
        self.calls = 0

    def time(self) -> float:
        self.calls += 1
        return time.time() + (STEP_S if self.calls >= 2 else 0.0)


def test_a_wall_clock_step_does_not_shorten_the_read_timeout(monkeypatch):
    clock = SteppedClock()
    with silent_listener() as port:
        session = ScpiSession(f"TCPIP::127.0.0.1::{port}::SOCKET", timeout_s=TIMEOUT_S)
        try:
            monkeypatch.setattr(pyvisa_py.tcpip, "time", clock)
            start = time.monotonic()
            with pytest.raises(InstrumentTimeout, match=r"within 0.5 s"):
                session.query("*IDN?")
            waited = time.monotonic() - start
            monkeypatch.undo()
        finally:
            session.close()
    assert clock.calls >= 2, "pyvisa-py no longer reads time.time(): this test checks nothing"
    assert TIMEOUT_S <= waited < TIMEOUT_S + STEP_S
