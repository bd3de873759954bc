"""A message-based session to an SCPI instrument, opened through PyVISA with the pyvisa-py backend.

The driver code never knows the transport: it gets a :class:`ScpiSession` (or anything with the
same methods, such as a byte-level test double) and speaks lines and blocks to it. Every failure
is an :class:`InstrumentError` naming the resource and the line sent (a closed connection,
say), an :class:`InstrumentTimeout` (no or incomplete answer in time) or a
:class:`ProtocolError` (malformed reply).
The session never retries; :class:`instruments.scpi_driver.ScpiDriver` decides what is safe to
repeat and calls :meth:`ScpiSession.reopen` first.

An optional ``observer`` (:mod:`instruments.io_observer`) is told of every open, line, query,
block, reopen and close, with timing and errors: the run's I/O transcript. The line sent after
a credential prompt (the AQ6370 LAN login's password) is masked there and in that exchange's
error message, with or without an observer.
"""

from __future__ import annotations

import math
import os
import select
import socket
import time
from typing import Any, Callable

import numpy as np
import pyvisa
from pyvisa import constants

from instruments.errors import ConnectionLost, InstrumentError, InstrumentTimeout, ProtocolError
from instruments.ieee488 import parse_block_header
from instruments.io_observer import CREDENTIAL_PROMPTS, MASK, REPLY_HEAD, IoEvent, Observer, notify

_RESOURCE_MANAGER: pyvisa.ResourceManager | None = None

CHUNK_SIZE = 512 * 1024
"""Bytes asked of VISA per read of a block payload, and between progress callbacks. Measured
with bench/bench_transfer.py (8 MB over loopback): 512 KiB-1 MiB gives ~0.7 of a raw socket's
throughput; at 256 KiB and below, and at 2 MiB and above, it falls to 0.15-0.3 because
pyvisa-py's receive buffer then keeps landing in freshly mapped memory (page faults on each
copy, seen as time in ``bytearray.extend``)."""

RECV_SIZE: int | None = None
"""Largest single ``recv`` pyvisa-py makes on a TCPIP SOCKET (bytes; pyvisa-py's own default is
4096); None = the session's chunk size."""

LINE_READ = 4096
"""Bytes asked per read of a reply line (a large request costs a large allocation per recv)."""

EXPECTED_STATUSES = (constants.StatusCode.success_max_count_read,
                     constants.StatusCode.success_termination_character_read)
"""VISA read statuses that are the normal end of a read here, not warnings."""

Progress = Callable[[int, int], None]
"""``progress(bytes_done, bytes_total)``, called after each chunk of a block payload."""


def resource_manager() -> pyvisa.ResourceManager:
    """The process-wide pyvisa-py resource manager."""
    global _RESOURCE_MANAGER
    if _RESOURCE_MANAGER is None:
        _RESOURCE_MANAGER = pyvisa.ResourceManager("@py")
    return _RESOURCE_MANAGER


def _backend_session(inst: Any) -> Any:
    """pyvisa-py's session object under an open resource, or None (other backend, test double)."""
    try:
        return inst.visalib.sessions[inst.session]
    except (AttributeError, KeyError, TypeError, pyvisa.Error):
        return None


def _socket_of(inst: Any) -> socket.socket | None:
    """The TCP socket of a pyvisa-py ``TCPIP::…::SOCKET`` session, else None."""
    sock = getattr(_backend_session(inst), "interface", None)
    return sock if isinstance(sock, socket.socket) else None


class ScpiSession:
    """Lines and IEEE 488.2 blocks over one VISA message-based resource.

    timeout_s: per-read timeout (s); chunk_size: read chunk (bytes) for block payloads;
    opened: an already open resource (or a byte-level test double with the same methods);
    opener: ``opener(resource, timeout_s)`` returning a fresh resource, used by :meth:`reopen`
    (default: pyvisa-py; with ``opened`` and no opener, reopen keeps ``opened`` and clears it);
    lock: released on :meth:`close` (see :mod:`instruments.lock`); observer: told of every
    exchange (see the module doc).
    """

    def __init__(self, resource: str, timeout_s: float = 10.0, chunk_size: int = CHUNK_SIZE,
                 opened: Any | None = None, opener: Callable[[str, float], Any] | None = None,
                 lock: Any | None = None, observer: Observer | None = None) -> None:
        self.resource_name = resource
        self.timeout_s = timeout_s
        self.chunk_size = chunk_size
        self.lock = lock
        self.observer = observer
        self._secret_next = False  # the next line sent is a password (after a login prompt)
        self._last_failed = ""
        self._opener = opener
        self._double = opened is not None and opener is None
        self._inst = opened if opened is not None else self._observed("open", "", self._open)
        self._configure()

    # --- the observer --------------------------------------------------------------------
    def _observed(self, op: str, line: str, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)`` reported to the observer as one ``op`` exchange; a password line
        (after a credential prompt) is masked in the event and in the error message."""
        secret, self._secret_next = self._secret_next, False
        shown = MASK if secret and line else line
        started, t0 = time.time(), time.monotonic()
        reply: bytes | None = None
        length: int | None = None
        try:
            result = call(*args)
        except InstrumentError as exc:
            if secret and line:
                exc.args = tuple(str(a).replace(line, MASK) for a in exc.args)
            self._report(op, shown, started, t0, None, None, f"{type(exc).__name__}: {exc}")
            raise
        except BaseException as exc:
            self._report(op, shown, started, t0, None, None, f"{type(exc).__name__}: {exc}")
            raise
        if isinstance(result, str):
            reply = result.encode("ascii", errors="replace")
        elif isinstance(result, (bytes, bytearray)):
            reply = bytes(result[:REPLY_HEAD])
            length = len(result)
        self._report(op, shown, started, t0, reply, length, "")
        return result

    def _report(self, op: str, sent: str, started: float, t0: float, reply: bytes | None,
                length: int | None, error: str) -> None:
        if self.observer is None:
            return
        retry = bool(sent) and sent == self._last_failed
        if op in ("write", "query", "block"):
            self._last_failed = sent if error else ""
        notify(self.observer, IoEvent(op, sent, reply, len(reply) if length is None and reply
                                      is not None else length, started,
                                      time.monotonic() - t0, error, retry))

    # --- opening -------------------------------------------------------------------------
    def _open(self) -> Any:
        try:
            if self._opener is not None:
                return self._opener(self.resource_name, self.timeout_s)
            inst = resource_manager().open_resource(
                self.resource_name, open_timeout=int(self.timeout_s * 1000))
        except Exception as exc:  # pyvisa-py raises bare Exception("could not connect: …")
            raise InstrumentError(f"cannot open {self.resource_name}: {exc}") from None
        sock = _socket_of(inst)
        if sock is not None:  # pyvisa-py reports a refused connect as success; check it here
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            try:
                sock.getpeername()
            except OSError as exc:
                inst.close()
                reason = os.strerror(err) if err else exc.strerror
                raise InstrumentError(f"cannot open {self.resource_name}: {reason}") from None
        return inst

    def _configure(self) -> None:
        inst = self._inst
        inst.read_termination = "\n"
        inst.write_termination = "\n"
        inst.chunk_size = self.chunk_size
        backend = _backend_session(inst)
        if backend is not None and hasattr(backend, "max_recv_size"):
            backend.max_recv_size = RECV_SIZE or self.chunk_size
        self._sock = _socket_of(inst)
        self._hangup: select.poll | None = None
        if self._sock is not None:  # short queries: do not let Nagle hold back the next line
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if hasattr(select, "POLLRDHUP"):  # Linux: a hang-up check costs ~1 µs
                self._hangup = select.poll()
                self._hangup.register(self._sock, select.POLLRDHUP)
        # pyvisa's low-level calls (VisaLibraryBase.read/write) skip two copies per chunk and
        # the per-call bookkeeping of Resource.query; a test double has no visalib
        self._lib = getattr(inst, "visalib", None) if backend is not None else None
        self._vi = getattr(inst, "session", None)  # the VISA session handle
        if self._lib is not None:  # "max count read"/"termchar read" are expected, not warnings
            self._quiet = self._lib.ignore_warning(self._vi, *EXPECTED_STATUSES)
            self._quiet.__enter__()
        self.set_timeout(self.timeout_s)

    def set_timeout(self, timeout_s: float) -> None:
        """Per-read timeout (s)."""
        self.timeout_s = timeout_s
        self._inst.timeout = int(timeout_s * 1000)

    def reopen(self) -> None:
        """Close the resource and open it again: a clean stream after a timeout or a bad reply."""
        if self._double:
            getattr(self._inst, "clear", lambda: None)()
            return
        self._close_resource()
        self._inst = self._observed("reopen", "", self._open)
        self._configure()

    # --- lines ---------------------------------------------------------------------------
    def _check_open(self, line: str) -> None:
        """Fail at once, and before sending, when the instrument has hung up (pyvisa-py would
        only notice at the end of the read timeout)."""
        hung_up = self._hangup.poll(0) if self._hangup is not None else self._peer_closed()
        if hung_up:
            raise ConnectionLost(f"{self.resource_name}: connection closed by the instrument "
                                 f"before {line!r} was sent", sent=False)

    def _send(self, line: str) -> None:
        if self._lib is None:
            self._inst.write(line)
        else:
            self._lib.write(self._vi, line.encode("ascii") + b"\n")

    def _read(self, count: int) -> bytes:
        """One VISA read of up to ``count`` bytes that waits the whole timeout on the monotonic
        clock. pyvisa-py times its reads on the wall clock (``time.time()``), so a clock step or
        sync during a read would end it early and the driver would report "no answer within
        0.5 s" after less than 0.5 s; the rest of the wait is read again."""
        lib, session = self._lib, self._vi
        deadline = time.monotonic() + self.timeout_s
        shortened = False
        try:
            while True:
                try:
                    data, _ = lib.read(session, count)
                    return data
                except pyvisa.errors.VisaIOError as exc:
                    left_ms = math.ceil((deadline - time.monotonic()) * 1000)
                    if exc.error_code != constants.StatusCode.error_timeout or left_ms < 1:
                        raise
                self._inst.timeout, shortened = left_ms, True
        finally:
            if shortened:
                self._inst.timeout = int(self.timeout_s * 1000)

    def _read_line(self) -> bytes:
        data = self._read(LINE_READ)
        while not data.endswith(b"\n"):
            more = self._read(LINE_READ)
            if not more:
                raise ProtocolError("reply ended without a line terminator")
            data += more
        return data

    def write(self, line: str) -> None:
        """Send one line (terminator added)."""
        if self.observer is None and not self._secret_next:
            return self._write(line)
        return self._observed("write", line, self._write, line)

    def _write(self, line: str) -> None:
        self._check_open(line)
        try:
            self._send(line)
        except (pyvisa.errors.VisaIOError, OSError) as exc:
            raise self._error(line, exc) from None

    def query(self, line: str) -> str:
        """Send one line and return the reply line, stripped."""
        if self.observer is None and not self._secret_next:
            reply = self._query(line)
        else:
            reply = self._observed("query", line, self._query, line)
        if reply.startswith(CREDENTIAL_PROMPTS):
            self._secret_next = True
        return reply

    def _query(self, line: str) -> str:
        self._check_open(line)
        try:
            if self._lib is None:
                return self._inst.query(line).strip()
            self._send(line)
            return self._read_line().decode("ascii").strip()
        except (pyvisa.errors.VisaIOError, OSError) as exc:
            raise self._error(line, exc) from None
        except UnicodeDecodeError:
            raise ProtocolError(f"{self.resource_name}: reply to {line!r} is not text") from None

    # --- blocks --------------------------------------------------------------------------
    def query_block(self, line: str, progress: Progress | None = None) -> bytearray:
        """Send ``line`` and read one definite-length block; returns its payload.

        The payload is read in ``chunk_size`` pieces with the termination character off (binary
        data holds ``\\n`` bytes); ``progress(bytes_done, bytes_total)`` follows each piece. The block
        may end in LF or CR LF.
        """
        if self.observer is None:
            return self._query_block(line, progress)
        return self._observed("block", line, self._query_block, line, progress)

    def _query_block(self, line: str, progress: Progress | None) -> bytearray:
        inst = self._inst
        self._write(line)
        where = "header"
        done = total = 0
        term = inst.read_termination
        inst.read_termination = None
        try:
            head = self._read_exact(2)
            n = int(head[1:2]) if head[1:2].isdigit() else 0
            head += self._read_exact(n)
            start, total = parse_block_header(head)
            where = "payload"
            payload = bytearray(total)
            view = memoryview(payload)
            if progress:
                progress(0, total)
            while done < total:
                chunk = self._read_exact(min(self.chunk_size, total - done))
                view[done:done + len(chunk)] = chunk
                done += len(chunk)
                if progress:
                    progress(done, total)
            where = "terminator"
            tail = self._read_exact(1)
            if tail == b"\r":  # a CR LF terminator (an AQ6370's LAN socket sends one)
                tail = self._read_exact(1)
        except (pyvisa.errors.VisaIOError, OSError) as exc:
            raise self._error(line, exc, f"{where}, {done} of {total} payload bytes") from None
        except ProtocolError as exc:
            raise ProtocolError(f"{self.resource_name}: reply to {line!r}: {exc}") from None
        finally:
            inst.read_termination = term
        if tail != b"\n":
            raise ProtocolError(f"{self.resource_name}: block after {line!r} is longer than its "
                                f"header says ({total} bytes) or not terminated")
        return payload

    def query_array(self, line: str, dtype: str, progress: Progress | None = None) -> np.ndarray:
        """A block read straight into a NumPy array of ``dtype`` (e.g. ``"<f8"``, ``">u2"``)."""
        payload = self.query_block(line, progress)
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
        if self._lib is None:
            data = self._inst.read_bytes(count, chunk_size=count)
        else:
            data = self._read(count)
            while 0 < len(data) < count:  # pyvisa-py returns short only at its timeout
                more = self._read(count - len(data))
                data = (data if isinstance(data, bytearray) else bytearray(data)) + more
        if len(data) != count:
            raise ProtocolError(f"wanted {count} bytes, got {len(data)}")
        return data

    # --- errors --------------------------------------------------------------------------
    def _peer_closed(self) -> bool:
        sock = self._sock
        if sock is None:
            return False
        if self._hangup is not None:
            return bool(self._hangup.poll(0))
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _error(self, line: str, exc: Exception, during: str = "") -> InstrumentError:
        at = f" (in the {during})" if during else ""
        if self._peer_closed():
            return ConnectionLost(
                f"{self.resource_name}: connection closed by the instrument during {line!r}{at}")
        if isinstance(exc, pyvisa.errors.VisaIOError) and exc.error_code == constants.StatusCode.error_timeout:
            return InstrumentTimeout(
                f"{self.resource_name}: no complete answer to {line!r} within {self.timeout_s:g} s{at}")
        text = exc.description if isinstance(exc, pyvisa.errors.VisaIOError) else (exc.strerror or str(exc))
        return InstrumentError(f"{self.resource_name}: {line!r} failed: {text}{at}")

    def _close_resource(self) -> None:
        if self._lib is not None:
            self._quiet.__exit__(None, None, None)
            self._lib = None
        try:
            self._inst.close()
        except Exception:  # closing a dead connection is not an error worth raising
            pass

    def close(self) -> None:
        """Close the resource and release the lock (idempotent)."""
        if self.observer is not None and self._lib is not None:
            self._observed("close", "", self._close_resource)
        else:
            self._close_resource()
        if self.lock is not None:
            self.lock.release()
