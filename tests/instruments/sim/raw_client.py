"""A raw pyvisa-py client for the conformance tests: what a user's script does, no driver of
ours in between (``pyvisa.ResourceManager('@py')``, ``TCPIP::127.0.0.1::PORT::SOCKET``, read
termination LF, so a CR of a CR LF reply is stripped here as a user would)."""

from __future__ import annotations

import time

import numpy as np
import pyvisa

TIMEOUT_MS = 5000
"""Read timeout (ms) of a query that must be answered."""
SILENT_MS = 300
"""How long (ms) a query that must NOT be answered is given before we call it silent."""

_RM: pyvisa.ResourceManager | None = None


def resource_manager() -> pyvisa.ResourceManager:
    global _RM
    if _RM is None:
        _RM = pyvisa.ResourceManager("@py")
    return _RM


class RawScpi:
    """One socket session to a simulated instrument on loopback."""

    def __init__(self, port: int, write_termination: str = "\n") -> None:
        self.inst = resource_manager().open_resource(
            f"TCPIP::127.0.0.1::{port}::SOCKET", read_termination="\n",
            write_termination=write_termination, timeout=TIMEOUT_MS)

    def login(self, user: str = "anonymous", password: str = " ") -> tuple[str, str]:
        return self.q(f'open "{user}"'), self.q(password)

    def w(self, line: str) -> None:
        self.inst.write(line)

    def q(self, line: str) -> str:
        return self.inst.query(line).rstrip("\r")

    def silent(self, line: str) -> bool:
        """True when ``line`` gets no reply (the stream stays in step: the next query checks)."""
        self.inst.timeout = SILENT_MS
        try:
            self.inst.query(line)
        except pyvisa.errors.VisaIOError:
            return True
        finally:
            self.inst.timeout = TIMEOUT_MS
        return False

    def errors(self) -> list[int]:
        """Drain the error queue; the codes, oldest first."""
        codes = []
        for _ in range(40):
            code = int(self.q(":SYST:ERR?").split(",", 1)[0])
            if code == 0:
                return codes
            codes.append(code)
        raise AssertionError("error queue never empties")

    def block(self, line: str, dtype: str) -> np.ndarray:
        """A definite-length block reply as an array (the CR LF after it consumed)."""
        self.w(line)
        head = self.inst.read_bytes(2)
        assert head[:1] == b"#", head
        length = int(self.inst.read_bytes(int(head[1:2])))
        payload = self.inst.read_bytes(length) if length else b""
        tail = self.inst.read_bytes(1)
        if tail == b"\r":
            tail = self.inst.read_bytes(1)
        assert tail == b"\n"
        return np.frombuffer(payload, dtype=dtype)

    def floats(self, line: str) -> np.ndarray:
        return np.array([float(v) for v in self.q(line).split(",")])

    def wait_sweep(self, limit_s: float = 10.0) -> int:
        """Poll ``:STAT:OPER:EVEN?`` until bit 0; returns the number of polls."""
        deadline = time.monotonic() + limit_s
        polls = 0
        while time.monotonic() < deadline:
            polls += 1
            if int(self.q(":STAT:OPER:EVEN?")) & 1:
                return polls
            time.sleep(0.005)
        raise AssertionError("sweep never completed")

    def close(self) -> None:
        self.inst.close()
