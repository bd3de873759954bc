"""Preflight: before any run folder exists, every instrument of the station file answers and is
the model the file names.

Each instrument is opened as the run would open it (its lock, the TL1 or LAN login, the
driver's connection set-up) with a bounded connect and reply timeout and no retry, asked its
identity (``*IDN?``; ``RTRV-NETYPE`` on the TL1 shelf) and closed; all of them at once, one
thread each (the work is waiting on sockets). The identity is judged by the model's
:class:`~instruments.identity.Identity` in the registry. An SCPI instrument that fails during
the driver's set-up (e.g. an OTDR does not answer the OSA's login) is asked a bare ``*IDN?``
on a fresh connection, so the cause can be named: the wrong model.

:data:`TIMEOUT_S` is far below the 30 s the AQ6370-family remote manual recommends ("Setting
the timeout time": the AQ6373 and AQ6375 suspend remote commands for ~30 s of auto offset
about every 10 minutes; the AQ6370C/D keep answering): a preflight that times out on one of
those two should simply be repeated. The run itself keeps the station file's ``timeout_s``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from harness.config import InstrumentConfig, StationFile
from harness.errors import HarnessError
from instruments.errors import InstrumentError, InstrumentInUse, InstrumentTimeout, LoginRefused
from instruments.lock import ResourceLock
from instruments.registry import MODELS
from instruments.visa_session import ScpiSession

TIMEOUT_S = 5.0
"""Connect timeout and reply timeout (s) of each preflight exchange (a station file's own
``timeout_s`` is used when shorter)."""
DEADLINE_S = 45.0
"""The whole preflight gives up on an instrument still busy after this many seconds (s)."""


@dataclass
class InstrumentCheck:
    """One instrument's preflight result.

    reachable: it accepted the connection and answered; identity: its identity reply;
    firmware: the reply's firmware (or TL1 software release) field; cause: empty when the
    instrument is ready, else ``refused``, ``timed out``, ``in use``, ``login refused``,
    ``wrong model``, ``unreachable``, ``no such port`` or ``error``; detail: what happened, one line; seconds: wall time taken.
    """

    station: str
    role: str
    model: str
    resource: str
    reachable: bool = False
    identity: str = ""
    firmware: str = ""
    cause: str = ""
    detail: str = ""
    seconds: float = 0.0

    @property
    def ready(self) -> bool:
        return self.reachable and not self.cause

    def line(self) -> str:
        """One line naming the instrument, its resource and the cause."""
        return f"{self.station}/{self.role} at {self.resource}: {self.cause}: {self.detail}"


class PreflightFailed(HarnessError):
    """One or more instruments are not ready; :attr:`checks` holds every result."""

    def __init__(self, checks: list[InstrumentCheck]) -> None:
        self.checks = checks
        bad = [c for c in checks if not c.ready]
        super().__init__(f"preflight: {len(bad)} of {len(checks)} instruments not ready; "
                         "nothing was measured and no run folder was created")

    def lines(self) -> list[str]:
        return [c.line() for c in self.checks if not c.ready]


def _cause(exc: BaseException) -> str:
    text = str(exc).lower()
    if isinstance(exc, InstrumentInUse):
        return "in use"
    if isinstance(exc, LoginRefused):
        return "login refused"
    if "refused" in text:
        return "refused"
    if isinstance(exc, InstrumentTimeout) or "timed out" in text or "timeout" in text:
        return "timed out"
    if "no such file" in text or "could not open port" in text:
        return "no such port"
    if "no route" in text or "unreachable" in text or "name or service" in text:
        return "unreachable"
    return "error"


def _one_line(text: object, resource: str = "") -> str:
    """``text`` on one line (at most 300 characters), without repeating ``resource``."""
    text = str(text)
    if resource:
        text = text.replace(f"cannot open {resource}", "cannot open").replace(f"{resource}: ", "")
    return " ".join(text.split())[:300]


def _bare_identity(resource: str, timeout_s: float) -> str:
    """``*IDN?`` on a fresh connection, no login; empty when there is no answer."""
    try:
        lock = ResourceLock(resource).acquire()
    except InstrumentError:
        return ""
    session = None
    try:
        session = ScpiSession(resource, timeout_s=timeout_s)
        return session.query("*IDN?")
    except InstrumentError:
        return ""
    finally:
        if session is not None:
            session.close()
        lock.release()


def check_instrument(cfg: InstrumentConfig, timeout_s: float = TIMEOUT_S,
                     login: dict[str, Any] | None = None) -> InstrumentCheck:
    """Open ``cfg``'s instrument as a run would (bounded timeouts, no retry, ``login``: its
    user/password options from :func:`harness.credentials.instrument_logins`), ask its identity
    and compare it with the model named; never raises for an instrument problem. A refused
    login is reported as ``login refused`` (the message never holds the password)."""
    model = MODELS[cfg.model]
    result = InstrumentCheck(cfg.station, cfg.role, cfg.model, cfg.resource)
    options = dict(cfg.options) | dict(login or {})
    options["timeout_s"] = min(float(options.get("timeout_s", timeout_s)), timeout_s)
    if "retries" in model.options:
        options["retries"] = 0
    t0 = time.monotonic()
    try:
        try:
            inst = model.open(cfg.resource, **options)
        except InstrumentError as exc:
            result.cause, result.detail = _cause(exc), _one_line(exc, cfg.resource)
            if model.transport == "visa" and result.cause not in ("refused", "in use", "unreachable", "login refused"):
                seen = _bare_identity(cfg.resource, options["timeout_s"])
                if seen:
                    result.reachable, result.identity = True, seen
                    if model.identity is not None and not model.identity.matches(seen):
                        result.cause = "wrong model"
                        result.detail = f"expected {cfg.model} ({model.identity.expected}), got {seen!r}"
            return result
        try:
            result.identity = inst.identify()
        finally:
            inst.close()
        result.reachable = True
        if model.identity is not None:
            result.firmware = model.identity.fields(result.identity).firmware
            if not model.identity.matches(result.identity):
                result.cause = "wrong model"
                result.detail = (f"expected {cfg.model} ({model.identity.expected}), "
                                 f"got {result.identity!r}")
    except InstrumentError as exc:
        result.cause, result.detail = _cause(exc), _one_line(exc, cfg.resource)
    except Exception as exc:  # a transport library's own failure: still one line, no traceback
        result.cause, result.detail = "error", _one_line(f"{type(exc).__name__}: {exc}")
    finally:
        result.seconds = time.monotonic() - t0
    return result


def preflight(station_file: StationFile, timeout_s: float = TIMEOUT_S,
              deadline_s: float = DEADLINE_S,
              logins: dict[tuple[str, str], dict[str, Any]] | None = None) -> list[InstrumentCheck]:
    """Check every instrument of ``station_file`` at once (one thread each); an instrument
    still busy after ``deadline_s`` is reported as timed out. Results in station-file order.
    ``logins``: driver login options by (station, role), as the run will use them."""
    logins = logins or {}
    configs = [cfg for roles in station_file.instruments.values() for cfg in roles.values()]
    results: dict[int, InstrumentCheck] = {}

    def work(index: int, cfg: InstrumentConfig) -> None:
        results[index] = check_instrument(cfg, timeout_s, logins.get((cfg.station, cfg.role)))

    threads = [threading.Thread(target=work, args=(i, cfg), daemon=True,
                                name=f"preflight {cfg.station}/{cfg.role}")
               for i, cfg in enumerate(configs)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline_s - (time.monotonic() - start)))
    out = []
    for i, cfg in enumerate(configs):
        done = results.get(i)
        if done is None:
            done = InstrumentCheck(cfg.station, cfg.role, cfg.model, cfg.resource,
                                   cause="timed out", seconds=time.monotonic() - start,
                                   detail=f"no answer within the preflight's {deadline_s:g} s")
        out.append(done)
    return out


def require_ready(checks: list[InstrumentCheck]) -> None:
    """Raise :class:`PreflightFailed` unless every instrument is ready."""
    if any(not c.ready for c in checks):
        raise PreflightFailed(checks)


TABLE_COLUMNS = ("station", "role", "resource", "model", "identity", "firmware", "reachable")


def format_table(checks: list[InstrumentCheck]) -> str:
    """The instrument table of ``harness check``: one row per instrument, and the cause of any
    that is not ready below it."""
    rows = [TABLE_COLUMNS] + [
        (c.station, c.role, c.resource, c.model, c.identity or "-", c.firmware or "-",
         "yes" if c.reachable else "no") for c in checks]
    widths = [max(len(r[i]) for r in rows) for i in range(len(TABLE_COLUMNS))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    ready = sum(c.ready for c in checks)
    lines.append(f"{ready} of {len(checks)} instruments ready"
                 + (f" (preflight {max((c.seconds for c in checks), default=0.0):.1f} s)"))
    return "\n".join(lines)
