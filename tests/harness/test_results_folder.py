"""A full, nearly full or read-only results folder is refused before the first shot.

Tests run as root, for whom a chmod'd folder is still writable, so real filesystems are used: a
small tmpfs mounted for the test (filled up, or remounted read-only) where mounting is allowed,
and everywhere a process whose file-size limit (RLIMIT_FSIZE) makes writes past N bytes fail
with EFBIG, as a quota would. The run must exit 2 with one line, leave no run folder, and never
reach the plan (no simulator started, no step written).
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from harness.errors import StoreError
from harness.runner import MIN_FREE_BYTES, PROBE_BYTES, prepare_run_dir

REPO = Path(__file__).resolve().parents[2]


def _mount(target: Path, options: str) -> bool:
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
                          capture_output=True)
    return proc.returncode == 0


@pytest.fixture
def tmpfs(tmp_path) -> Iterator[Path]:
    """A tmpfs of MIN_FREE_BYTES + 4 MiB at a fresh mount point (skipped where mount is denied)."""
    target = tmp_path / "mnt"
    target.mkdir()
    if not _mount(target, f"size={MIN_FREE_BYTES + 4 * 1024 * 1024}"):
        pytest.skip("cannot mount a tmpfs here (no CAP_SYS_ADMIN)")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def harness_run(results: Path, preexec=None) -> subprocess.CompletedProcess:
    """``harness run`` of the simulated plan into ``results`` (as the field engineer types it)."""
    return subprocess.run([sys.executable, "-m", "harness.cli", "run", "--results", str(results),
                           "--run-id", "r1"], capture_output=True, text=True, cwd=REPO,
                          timeout=300, preexec_fn=preexec)


def assert_refused_before_any_shot(proc: subprocess.CompletedProcess, results: Path) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("harness: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (results / "r1").exists(), "a run folder was left behind"
    assert "passed" not in proc.stdout and "failed" not in proc.stdout, "the plan ran"


def fill(folder: Path, leave_bytes: int) -> None:
    """Fill ``folder``'s filesystem until only about ``leave_bytes`` are free."""
    stats = os.statvfs(folder)
    size = stats.f_bavail * stats.f_frsize - leave_bytes
    with open(folder / "ballast", "wb") as f:
        block = b"\1" * (1 << 20)
        while size > 0:
            size -= f.write(block[:min(len(block), size)])
        os.fsync(f.fileno())
    stats = os.statvfs(folder)
    assert stats.f_bavail * stats.f_frsize <= leave_bytes + (1 << 16)


def test_nearly_full_filesystem_is_refused(tmpfs):
    fill(tmpfs, leave_bytes=PROBE_BYTES // 2)
    results = tmpfs / "results"
    results.mkdir()
    proc = harness_run(results)
    assert_refused_before_any_shot(proc, results)
    assert "MB free" in proc.stderr


def test_full_filesystem_probe_fails_even_when_space_is_not_counted(tmpfs, monkeypatch):
    """With the free-space rule off, the write probe itself meets ENOSPC and refuses."""
    fill(tmpfs, leave_bytes=PROBE_BYTES // 4)
    monkeypatch.setattr("harness.runner.MIN_FREE_BYTES", 0)
    with pytest.raises(StoreError, match="No space left on device"):
        prepare_run_dir(tmpfs / "results", "r1")
    assert not (tmpfs / "results" / "r1").exists()


def test_read_only_filesystem_is_refused(tmpfs):
    results = tmpfs / "results"
    results.mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    proc = harness_run(results)
    assert_refused_before_any_shot(proc, results)
    assert "Read-only file system" in proc.stderr


def _file_size_limit() -> None:
    """In the child: writes past PROBE_BYTES / 2 fail with EFBIG (SIGXFSZ ignored)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (PROBE_BYTES // 2, PROBE_BYTES // 2))


def test_write_limit_is_caught_by_the_probe(tmp_path):
    """Space is plentiful but no file may grow past half the probe: the probe's write fails."""
    results = tmp_path / "results"
    proc = harness_run(results, preexec=_file_size_limit)
    assert_refused_before_any_shot(proc, results)
    assert "File too large" in proc.stderr


def test_results_path_under_a_file_is_refused(tmp_path):
    (tmp_path / "plain").write_text("not a folder")
    proc = harness_run(tmp_path / "plain" / "results")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "Not a directory" in proc.stderr


@pytest.mark.parametrize("run_id", ["../escape", "a/b", "a\0b", ".hidden", ""])
def test_bad_run_ids_are_refused(tmp_path, run_id):
    with pytest.raises(StoreError, match="run id"):
        prepare_run_dir(tmp_path, run_id)
    assert list(tmp_path.iterdir()) == []


def test_good_folder_is_prepared_and_probe_removed(tmp_path):
    run_dir = prepare_run_dir(tmp_path / "results", "20261203T000000Z-replay-of-x+y")
    assert run_dir.is_dir() and list(run_dir.iterdir()) == []
