"""A message-based session to an SCPI instrument, opened through PyVISA with the pyvisa-py backend.

The driver code never knows the transport: it gets a :class:`ScpiSession` (or anything with the
same methods, such as a byte-level test double) and speaks lines and blocks to it.
"""

from __future__ import annotations

import numpy as np
import pyvisa
from pyvisa import constants

from instruments.errors import InstrumentError, InstrumentTimeout, ProtocolError
from instruments.ieee488 import parse_block_header

_RESOURCE_MANAGER: pyvisa.ResourceManager | None = None


def resource_manager() -> pyvisa.ResourceManager:
    """The process-wide pyvisa-py resource manager."""
    global _RESOURCE_MANAGER
    if _RESOURCE_MANAGER is None:
        _RESOURCE_MANAGER = pyvisa.ResourceManager("@py")
    return _RESOURCE_MANAGER


class ScpiSession:
    """Lines and IEEE 488.2 blocks over one VISA message-based resource.

    timeout_s: per-read timeout (s); chunk_size: read chunk (bytes) for large transfers.
    """

    def __init__(self, resource: str, timeout_s: float = 10.0, chunk_size: int = 1 << 20,
                 opened: object | None = None) -> None:
        """Open ``resource`` with pyvisa-py, or wrap ``opened``, an already open resource
        (or a byte-level test double with the same methods)."""
        self.resource_name = resource
        try:
            self._inst = opened or resource_manager().open_resource(resource)
        except (pyvisa.Error, OSError, ValueError) as exc:
            raise InstrumentError(f"cannot open {resource}: {exc}") from None
        self._inst.read_termination = "\n"
        self._inst.write_termination = "\n"
        self._inst.chunk_size = chunk_size
        self.set_timeout(timeout_s)

    def set_timeout(self, timeout_s: float) -> None:
        """Per-read timeout (s)."""
        self._inst.timeout = int(timeout_s * 1000)

    def write(self, line: str) -> None:
        try:
            self._inst.write(line)
        except pyvisa.errors.VisaIOError as exc:
            raise self._error(line, exc) from None

    def query(self, line: str) -> str:
        try:
            return self._inst.query(line).strip()
        except pyvisa.errors.VisaIOError as exc:
            raise self._error(line, exc) from None
        except UnicodeDecodeError:
            raise ProtocolError(f"{self.resource_name}: reply to {line!r} is not text") from None

    def query_block(self, line: str) -> bytes:
        """Send ``line`` and read one definite-length block; returns its payload bytes."""
        inst = self._inst
        try:
            inst.write(line)
            head = self._read_exact(2)
            n = int(head[1:2]) if head[1:2].isdigit() else 0
            head += self._read_exact(n)
            start, length = parse_block_header(head)
            payload = self._read_exact(length)
            tail = self._read_exact(1)
        except pyvisa.errors.VisaIOError as exc:
            raise self._error(line, exc) from None
        if tail != b"\n":
            raise ProtocolError(f"{self.resource_name}: block after {line!r} not terminated")
        return payload

    def query_array(self, line: str, dtype: str) -> np.ndarray:
        """A block read straight into a NumPy array of ``dtype`` (e.g. ``"<f8"``, ``">u2"``)."""
        payload = self.query_block(line)
        itemsize = np.dtype(dtype).itemsize
        if len(payload) % itemsize:
            raise ProtocolError(
                f"{self.resource_name}: block of {len(payload)} bytes is not a whole number "
                f"of {itemsize}-byte values"
            )
        return np.frombuffer(payload, dtype=dtype)

    def _read_exact(self, count: int) -> bytes:
        if count == 0:
            return b""
        data = self._inst.read_bytes(count, chunk_size=min(count, self._inst.chunk_size))
        if len(data) != count:
            raise ProtocolError(f"{self.resource_name}: wanted {count} bytes, got {len(data)}")
        return data

    def _error(self, line: str, exc: pyvisa.errors.VisaIOError) -> InstrumentError:
        if exc.error_code == constants.StatusCode.error_timeout:
            return InstrumentTimeout(f"{self.resource_name}: no answer to {line!r} in time")
        return InstrumentError(f"{self.resource_name}: {line!r} failed: {exc.description}")

    def close(self) -> None:
        try:
            self._inst.close()
        except pyvisa.Error:
            pass
