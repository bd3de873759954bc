"""Judge a stored run with the current acceptance plan and limits, in this process.

This is ``harness replay`` without the report: pytest runs the plan with ``--replay RUN_DIR``
into a scratch folder (the original run folder is only read), and the scratch record's checks
are the new verdicts. pytest is not thread-safe, so one judgement runs at a time per process
(a Dask worker started with several threads still judges one run at a time).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from harness.defaults import PLAN
from harness.errors import StoreError
from harness.runner import pytest_args

_ONE_AT_A_TIME = threading.Lock()


def scratch_dir(prefix: str) -> Path:
    """A new private folder for throw-away run records: in RAM (``/dev/shm``) where there is
    one, as every step file of a run is fsync'd and these are deleted right after."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix=f"harness-{prefix}-", dir=base))


def judged_checks(run_dir: Path, limits: Path | None = None) -> tuple[dict, str]:
    """The checks (as :meth:`RunStore.read_checks`, plus event tables) and overall verdict of
    ``run_dir`` judged now with ``limits``; nothing is kept on disk."""
    from harness.store import RunStore

    scratch = scratch_dir("judge")
    try:
        record = judge(run_dir, scratch / "run", limits)
        store = RunStore(record)
        return store.read_checks(), store.read_attrs().get("overall_verdict", "error")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def judge(run_dir: Path, scratch: Path, limits: Path | None = None,
          plan: Path = PLAN) -> Path:
    """Replay the plan over ``run_dir``'s stored acquisitions into ``scratch`` (created; must
    not exist) and return the scratch record (``scratch/run.h5``). ``limits``: default the
    run's own ``inputs/limits.yaml``. Raises :class:`StoreError` when the plan cannot run."""
    run_dir, scratch = Path(run_dir), Path(scratch)
    station = run_dir / "inputs" / "station.yaml"
    limits = Path(limits) if limits else run_dir / "inputs" / "limits.yaml"
    for needed in (run_dir / "run.h5", station, limits):
        if not needed.is_file():
            raise StoreError(f"{run_dir}: cannot judge: {needed.name} missing")
    scratch.mkdir(parents=True)
    args = pytest_args(plan, station, limits, scratch) + [
        "--replay", str(run_dir), "--progress=off", "-p", "no:warnings"]
    out = io.StringIO()
    with _ONE_AT_A_TIME, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = pytest.main(args)
    if not (scratch / "run.h5").is_file() or code not in (pytest.ExitCode.OK,
                                                          pytest.ExitCode.TESTS_FAILED):
        last = [line for line in out.getvalue().splitlines() if line.strip()][-1:] or ["no output"]
        raise StoreError(f"{run_dir}: the plan did not run over the stored record "
                         f"(pytest exit {int(code)}): {last[0][:200]}")
    return scratch / "run.h5"
