"""Helpers of the archive tests (a module of its own: ``from conftest import`` would pick
whichever ``conftest`` a session imported first when tests of other folders are collected with
these)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
RUNS, YEARS = 24, 6.0
"""Campaigns in the shared archive: 4 a year over 6 years. Each run is judged by the real plan
(~3-9 s of one core on this shared 2-core machine), so the default suite keeps to this; the
stress test (``pytest -m stress``) writes a few hundred."""


def harness(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """``harness ARGS`` as a child process, output captured as text."""
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def truth_of(root: Path) -> dict:
    return json.loads((root / "truth.json").read_text())


def file_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` outside ``.archive``."""
    out = {}
    for here, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".archive"]
        for name in files:
            path = Path(here) / name
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
