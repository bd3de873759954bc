"""Exclusive use of an instrument across processes: one lock file per resource, held with flock.

The lock file lives in ``$CASPIAN_LOCK_DIR`` (default: ``<tmp>/caspian-harness-locks``) and holds
the holder's pid, host, start time (UTC) and command line, so a refused open can say who holds
the instrument. The kernel drops an ``flock`` when its holder exits, so a crashed run never
leaves a stale lock; the file itself is left in place (unlinking lock files invites races).
The lock is per machine: a second laptop on the same LAN is not stopped by it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import socket
import sys
import tempfile
import time
from pathlib import Path

from instruments.errors import InstrumentError, InstrumentInUse


def lock_dir() -> Path:
    """Where lock files are kept (created world-writable with the sticky bit, like /tmp)."""
    path = Path(os.environ.get("CASPIAN_LOCK_DIR") or Path(tempfile.gettempdir()) / "caspian-harness-locks")
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        try:
            path.chmod(0o1777)
        except OSError:
            pass
    return path


def resource_key(resource: str) -> str:
    """One spelling per instrument: ``TCPIP0::h::p::SOCKET`` = ``tcpip::h::p::socket``; a device
    path is resolved through symlinks (``/dev/serial/by-id/…`` = ``/dev/ttyUSB0``)."""
    text = resource.strip()
    if text.startswith("/"):
        return os.path.realpath(text)
    text = text.upper()
    return re.sub(r"^(TCPIP|GPIB|USB|ASRL)0::", r"\1::", text)


def lock_path(resource: str) -> Path:
    """The lock file of ``resource``: a readable slug plus a short hash of the key."""
    key = resource_key(resource)
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", key).strip("_")[:60]
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return lock_dir() / f"{slug}-{digest}.lock"


def _command_line(limit: int = 400) -> str:
    """This process's command line on one line, at most ``limit`` characters."""
    try:
        raw = Path("/proc/self/cmdline").read_bytes()
        text = " ".join(p.decode(errors="replace") for p in raw.split(b"\0") if p)
    except OSError:
        text = " ".join([sys.executable, *sys.argv])
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


class ResourceLock:
    """An exclusive lock on one instrument resource; :meth:`release` (or closing) frees it."""

    def __init__(self, resource: str) -> None:
        self.resource = resource
        self.path = lock_path(resource)
        self._fd: int | None = None

    def acquire(self) -> "ResourceLock":
        """Take the lock now or raise :class:`InstrumentInUse` naming the holder (never waits)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise InstrumentError(f"{self.resource}: cannot create lock file {self.path}: "
                                  f"{exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "unknown process"
            os.close(fd)
            if holder.startswith(f"pid {os.getpid()} "):
                raise InstrumentInUse(f"{self.resource} is already open in this process "
                                      f"(pid {os.getpid()}): close it before opening it again") from None
            raise InstrumentInUse(f"{self.resource} is in use by {holder} "
                                  f"(lock file {self.path})") from None
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        info = f"pid {os.getpid()} on {socket.gethostname()} since {stamp}: {_command_line()}\n"
        os.ftruncate(fd, 0)
        os.pwrite(fd, info.encode(errors="replace"), 0)
        self._fd = fd
        return self

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Free the lock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __del__(self) -> None:  # an instrument dropped without close() frees its lock too
        try:
            self.release()
        except Exception:  # at interpreter exit the kernel frees it anyway
            pass

    def __enter__(self) -> "ResourceLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
