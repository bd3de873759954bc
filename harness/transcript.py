"""The I/O transcript of each instrument of a run: ``transcripts/<STATION>-<role>.jsonl``.

One JSON line per exchange the instrument's transport reports (:mod:`instruments.io_observer`):
``utc`` (start, ms), ``op``, ``sent``, ``reply`` (the reply's first :data:`REPLY_BYTES` bytes,
``repr``'d), ``reply_len`` (bytes), ``ms`` (duration), ``error``, ``retry``, ``note``; the
first line of each session (a run, or a resume appending to it) is ``op: "begin"`` with the
model and resource. So a failure with real instruments on site can be read from the run folder
alone; ``harness report`` never reads these files (the manifest lists them like any other).

Written as the run goes: each line is written and flushed at once (a killed process loses
nothing), and fsync'd when it holds an error, at most :data:`FSYNC_EVERY_S` after the previous
fsync otherwise, and at close (a power cut loses at most that second). Credentials: the
transports mask logins; every value of a secret option of the station file (``password``
and the like) is replaced by ``***`` as well, wherever it shows up.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, TextIO

from harness.errors import HarnessError
from instruments.io_observer import MASK, IoEvent

TRANSCRIPTS = "transcripts"
"""The folder of a run that holds the transcripts."""
REPLY_BYTES = 64
"""Reply bytes kept per exchange."""
FSYNC_EVERY_S = 1.0
"""Longest time (s) a written line waits for its fsync (error lines are fsync'd at once)."""
SECRET_OPTION = re.compile(r"pass|secret|token|credential|pin$", re.IGNORECASE)
"""Station-file option names whose values are secrets (``password``, ``api_token``...)."""


def secrets_of(options: dict[str, Any]) -> list[str]:
    """The secret values among an instrument's station-file options (non-empty strings)."""
    return [str(v) for k, v in options.items()
            if SECRET_OPTION.search(str(k)) and isinstance(v, (str, int)) and str(v)]


def transcript_name(station: str, role: str) -> str:
    return f"{station}-{role}.jsonl"


def _utc(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat(timespec="milliseconds")


class TranscriptWriter:
    """The observer that appends one instrument's exchanges to its transcript file."""

    def __init__(self, path: Path, secrets: Iterable[str] = (), **begin: Any) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._longest = max((len(s.encode()) for s in self._secrets), default=0)
        self._lock = threading.Lock()
        self._file: TextIO | None = open(self.path, "a", encoding="utf-8")
        self._synced = time.monotonic()
        self.lines = 0
        self._line({"utc": _utc(time.time()), "op": "begin", **begin}, sync=True)

    def _mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def _reply(self, reply: bytes) -> str:
        head = reply[:REPLY_BYTES + self._longest]  # a secret across the cut is masked whole
        for secret in self._secrets:
            head = head.replace(secret.encode(), MASK.encode())
        return repr(bytes(head[:REPLY_BYTES]))

    def __call__(self, event: IoEvent) -> None:
        record: dict[str, Any] = {"utc": _utc(event.started), "op": event.op}
        if event.sent:
            record["sent"] = self._mask(event.sent)
        if event.reply is not None:
            record["reply"] = self._reply(event.reply)
            record["reply_len"] = event.reply_len
        record["ms"] = round(event.duration_s * 1000.0, 3)
        if event.error:
            record["error"] = self._mask(event.error)
        if event.retry:
            record["retry"] = True
        if event.note:
            record["note"] = self._mask(event.note)
        self._line(record, sync=bool(event.error))

    def _line(self, record: dict[str, Any], sync: bool) -> None:
        text = json.dumps(record, ensure_ascii=True) + "\n"
        with self._lock:
            f = self._file
            if f is None:
                return
            f.write(text)
            f.flush()
            self.lines += 1
            now = time.monotonic()
            if sync or now - self._synced >= FSYNC_EVERY_S:
                os.fsync(f.fileno())
                self._synced = now

    def close(self) -> None:
        """fsync and close (idempotent)."""
        with self._lock:
            if self._file is not None:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
                self._file = None


@dataclass(frozen=True)
class Transcript:
    """One instrument's transcript as read back."""

    station: str
    role: str
    path: Path
    records: list[dict[str, Any]]


def read_transcripts(run_dir: Path, instrument: str | None = None) -> list[Transcript]:
    """The transcripts of ``run_dir`` (all, or ``STATION/role``); HarnessError when there are
    none or the instrument has none. A torn last line (a killed run) is skipped."""
    run_dir = Path(run_dir)
    folder = run_dir / TRANSCRIPTS
    if not (run_dir / "steps").is_dir() and not (run_dir / "run.h5").is_file():
        raise HarnessError(f"{run_dir}: not a run folder")
    files = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    if not files:
        raise HarnessError(f"{run_dir}: no I/O transcripts (a replay, or a run made before "
                           "transcripts were kept)")
    found = []
    for path in files:
        station, _, role = path.stem.rpartition("-")
        found.append((station, role, path))
    if instrument:
        wanted = instrument.replace("-", "/", 1) if "/" not in instrument else instrument
        station, _, role = wanted.partition("/")
        chosen = [f for f in found if (f[0].upper(), f[1]) == (station.upper(), role)]
        if not chosen:
            names = ", ".join(f"{s}/{r}" for s, r, _ in found)
            raise HarnessError(f"{run_dir}: no transcript of {instrument} (there are: {names})")
        found = chosen
    out = []
    for station, role, path in found:
        records = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        out.append(Transcript(station, role, path, records))
    return out


def format_record(r: dict[str, Any]) -> str:
    """One exchange as one line: time, duration, op, what was sent, the reply or the error."""
    when = str(r.get("utc", ""))[11:23]
    if r.get("op") == "begin":
        extra = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("utc", "op"))
        return f"{when}  ---- session begins: {extra}"
    ms = r.get("ms")
    took = f"{ms:9.1f} ms" if isinstance(ms, (int, float)) else " " * 12
    text = f"{when} {took}  {r.get('op', ''):<10} {r.get('sent', '')}"
    if "reply" in r:
        text += f"  -> {r['reply']} ({r.get('reply_len')} B)"
    if r.get("retry"):
        text += "  [retry]"
    if r.get("error"):
        text += f"  !! {r['error']}"
    if r.get("note"):
        text += f"  ({r['note']})"
    return text


def format_transcript(t: Transcript) -> str:
    """A transcript with a heading: the instrument, its file, counts of exchanges and errors."""
    exchanges = [r for r in t.records if r.get("op") != "begin"]
    errors = sum(1 for r in exchanges if r.get("error"))
    size = t.path.stat().st_size
    head = (f"{t.station}/{t.role}: {len(exchanges)} exchanges, {errors} with an error "
            f"({t.path.parent.name}/{t.path.name}, {size} bytes)")
    return "\n".join([head] + [f"  {format_record(r)}" for r in t.records])
