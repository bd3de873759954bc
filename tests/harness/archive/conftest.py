"""A synthetic archive shared by the archive tests (written once per session on a local Dask
cluster of 2 single-threaded worker processes), and the ``harness`` command line."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
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
def archive(tmp_path_factory, worker_id) -> Path:
    """ROOT of the shared synthetic archive (tests must not change it: copy what they alter).

    Written once per test session: under pytest-xdist the first worker to need it writes it in
    the session's common temporary folder while the others wait on a lock, then all read it
    (the archive files go to different workers; each writing its own cost ~45 s apiece)."""
    if worker_id == "master":
        base = tmp_path_factory.mktemp("archive")
    else:
        base = tmp_path_factory.getbasetemp().parent / "shared-archive"  # this session's only
        base.mkdir(exist_ok=True)
    root, done = base / "root", base / "written"
    with open(base / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                truth = synthesize(root, RUNS, YEARS, seed=7, workers=2, progress=False)
                assert truth["failed"] == []
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
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
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
    worker = subprocess.Popen([str(bindir / "dask"), "worker", address, "--nworkers", "1",
                               "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
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
        # the test is over: no graceful close (a nanny's takes ~8 s); each process group
        # (the nanny and the worker process it started) is killed outright
        for proc in (worker, scheduler):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
