"""A synthetic archive shared by the archive tests (written once per session on a local Dask
cluster of 2 single-threaded worker processes), and an external Dask scheduler/worker pair."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archivetools import REPO, RUNS, YEARS, free_port
from harness.archive.synth import synthesize


@pytest.fixture(scope="session")
def archive(tmp_path_factory) -> Path:
    """ROOT of the shared synthetic archive (tests must not change it: copy what they alter).

    Written once per test session: under pytest-xdist the first worker to need it writes it in
    the session's common temporary folder while the others wait on a lock, then all read it
    (the archive files go to different workers; each writing its own cost ~45 s apiece)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # one process (-n0, -p no:xdist)
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
