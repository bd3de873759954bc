"""A synthetic archive shared by the archive tests (written once per session on a local Dask
cluster of 2 single-threaded worker processes), and the ``harness`` command line."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.archive.synth import synthesize

REPO = Path(__file__).resolve().parents[3]
RUNS, YEARS = 24, 6.0
"""Campaigns in the shared archive: 4 a year over 6 years. Each run is judged by the real plan
(~3-9 s of one core on this shared 2-core machine), so the default suite keeps to this; the
stress test (``pytest -m stress``) writes a few hundred."""


def harness(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """``harness ARGS`` as a child process, output captured as text."""
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def archive(tmp_path_factory) -> Path:
    """ROOT of the shared synthetic archive (tests must not change it: copy what they alter)."""
    root = tmp_path_factory.mktemp("archive") / "root"
    truth = synthesize(root, RUNS, YEARS, seed=7, workers=2, progress=False)
    assert truth["failed"] == []
    return root


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


@pytest.fixture
def dask_pair():
    """An external ``dask scheduler`` and one ``dask worker`` (1 process, 1 thread) on
    127.0.0.1, started as child processes; yields the scheduler address; torn down after."""
    bindir = Path(sys.executable).parent
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    scheduler = subprocess.Popen([str(bindir / "dask"), "scheduler", "--host", "127.0.0.1",
                                  "--port", str(port), "--no-dashboard"], cwd=REPO, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([str(bindir / "dask"), "worker", address, "--nworkers", "1",
                               "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from distributed import Client

        deadline = time.monotonic() + 60
        while True:  # wait until the worker has joined
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(1, timeout=60)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
        for proc in (worker, scheduler):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
