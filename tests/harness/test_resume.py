"""A campaign killed with SIGKILL at random points and resumed loses no completed measurement,
takes none again, and ends with the verdicts and values of an uninterrupted run.

The default suite kills a handful of runs; ``pytest -m stress`` kills 50.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from simstation import REPO

pytestmark = pytest.mark.campaign


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", *args]


PM_CHECKS = ("test_q_margin", "test_dgd", "test_chromatic_dispersion")


def results_of(run_dir: Path) -> dict[str, tuple]:
    """Every check's verdict, and its values where they do not depend on when they were read
    (a transponder's PM values are those of the 15-minute bin current at the time)."""
    with h5py.File(run_dir / "run.h5", "r") as f:
        return {k: (g.attrs["verdict"], () if k.startswith(PM_CHECKS) else
                    tuple(float(ds[()]) for ds in g["measurements"].values()))
                for k, g in f["checks"].items()}


def step_hashes(run_dir: Path) -> dict[str, str]:
    journal = run_dir / "steps" / "journal.jsonl"
    out = {}
    if journal.exists():
        for line in journal.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry["file"].startswith("acq-"):
                out[entry["request"]] = entry["sha256"]
    return out


@pytest.fixture(scope="module")
def reference(fp1_campaign):
    """The uninterrupted run of the same plan (FP1 at 1550 nm): station file, folder, wall s."""
    proc = fp1_campaign.proc
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return fp1_campaign.station, fp1_campaign.run_dir, fp1_campaign.seconds


def kill_and_resume(reference, tmp: Path, delay: float) -> str:
    station, ref_dir, _ = reference
    proc = subprocess.Popen(cli("run", "--station", str(station), "--results", str(tmp), "--run-id", "k"),
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_dir = tmp / "k"
    before = step_hashes(run_dir)
    if not (run_dir / "steps" / "journal.jsonl").exists():
        return "killed before the first step"
    res = subprocess.run(cli("resume", str(run_dir)), cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    after = step_hashes(run_dir)
    # nothing measured before the kill was lost or taken again
    for request, digest in before.items():
        assert after[request] == digest
    assert len(after) == len(step_hashes(ref_dir))
    assert results_of(run_dir) == results_of(ref_dir)
    return f"{len(before)} acquisitions kept"


@pytest.mark.parametrize("seed", range(3))
def test_killed_run_resumes_to_the_same_verdicts(reference, tmp_path, seed):
    duration = reference[2]
    delay = random.Random(seed).uniform(0.3, 0.8) * duration
    print(kill_and_resume(reference, tmp_path, delay))


@pytest.mark.stress
def test_fifty_kills(reference, tmp_path):
    duration = reference[2]
    rng = random.Random(2026)
    outcomes = []
    for i in range(50):
        tmp = tmp_path / str(i)
        tmp.mkdir()
        outcomes.append(kill_and_resume(reference, tmp, rng.uniform(0.05, 1.0) * duration))
    print("\n".join(outcomes))


def test_ctrl_c_is_not_judged_as_a_pass_and_the_run_resumes(reference, tmp_path):
    """SIGINT (Ctrl-C) mid-campaign: exit 130 with one line saying how to resume, no verdict
    from a part of the campaign; ``harness resume`` then finishes it like an uninterrupted run."""
    station, ref_dir, _ = reference
    proc = subprocess.Popen(cli("run", "--station", str(station), "--results", str(tmp_path),
                                "--run-id", "i"), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    run_dir = tmp_path / "i"
    deadline = time.monotonic() + 120
    while len(step_hashes(run_dir)) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert f"harness resume {run_dir}" in err and "Traceback" not in err
    assert not (run_dir / "summary.json").exists()
    kept = step_hashes(run_dir)
    res = subprocess.run(cli("resume", str(run_dir)), cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    after = step_hashes(run_dir)
    assert all(after[r] == d for r, d in kept.items())
    assert results_of(run_dir) == results_of(ref_dir)
