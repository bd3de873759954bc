"""The progress display: what it holds and prints for the events of a run, that it never breaks
a run, and that ``harness run`` wires it to pytest and the drivers. A fake clock stands in for
time (no timing is asserted)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from harness.progress import RunProgress, check_place, make_progress
from instruments.scpi_driver import Activity

REPO = Path(__file__).resolve().parents[2]


class Clock:
    """A monotonic clock the test moves by hand (s)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def text_of(progress: RunProgress) -> str:
    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(progress.render())
    return out.getvalue()


def test_lines_mode_prints_one_line_per_check_with_its_verdict():
    out, clock = io.StringIO(), Clock()
    progress = RunProgress(out, live=False, clock=clock)
    progress.start(3)
    for nodeid, verdict, took in (("t.py::a[AKTAU-FP1-F1]", "pass", 1.5), ("t.py::b", "fail", 0.25),
                                  ("t.py::c", "marginal", 2.0)):
        progress.check_started(nodeid, "ACC-3" if nodeid.startswith("t.py::a") else "")
        clock.now += took
        progress.check_finished(nodeid, verdict)
    assert out.getvalue().splitlines() == [
        "Running 3 checks",
        "[1/3] pass     ACC-3  t.py::a[AKTAU-FP1-F1]  (1.5 s)",
        "[2/3] fail     t.py::b  (0.2 s)",
        "[3/3] marginal t.py::c  (2.0 s)",
    ]
    assert progress.done == 3 and progress.counts == {"pass": 1, "fail": 1, "marginal": 1}
    assert progress.current is None


def test_transfer_bytes_and_rate_come_from_the_driver_events():
    clock = Clock()
    progress = RunProgress(io.StringIO(), live=False, clock=clock)
    listen = progress.listener("AKTAU osa")
    listen(Activity("transferring", ":TRAC:Y? TRA", done=0, total=8_000_000))
    clock.now += 1.0
    listen(Activity("transferring", ":TRAC:Y? TRA", done=4_000_000, total=8_000_000))
    assert "4.0 MB of 8.0 MB  4.0 MB/s  :TRAC:Y? TRA" in text_of(progress)
    clock.now += 1.0
    listen(Activity("transferring", ":TRAC:Y? TRA", done=8_000_000, total=8_000_000))
    listen(Activity("idle"))
    view = progress.instruments["AKTAU osa"]
    assert view.last_bytes == 8_000_000 and view.rate_bps == pytest.approx(4e6)
    assert "last block 8.0 MB at 4.0 MB/s" in text_of(progress)


def test_panel_shows_the_check_the_operation_and_its_time_left():
    clock = Clock()
    progress = RunProgress(io.StringIO(), live=False, clock=clock)
    progress.start(10)
    progress.check_finished("t.py::x", "pass")
    progress.check_started("t.py::shot[AKTAU-FP1-F1-1550nm]", "ACC-3", "AKTAU · FP1-F1 · 1550 nm")
    listen = progress.listener("AKTAU otdr")
    listen(Activity("running", "OTDR averaging", elapsed_s=20.0, left_s=160.0))
    clock.now += 30.0  # no event since: the panel counts on from the last one
    text = text_of(progress)
    assert "1/10 checks" in text and "pass 1" in text
    assert "ACC-3 t.py::shot[AKTAU-FP1-F1-1550nm]   AKTAU · FP1-F1 · 1550 nm" in text
    assert "OTDR averaging  0:50 elapsed  2:10 left" in text


def test_a_failing_display_turns_itself_off_and_the_run_goes_on():
    out = io.StringIO()
    progress = RunProgress(out, live=False)
    progress.start(2)
    out.close()  # the terminal went away
    progress.check_started("t.py::a")
    progress.check_finished("t.py::a", "pass")  # writing fails: no exception reaches the run
    assert progress.broken
    progress.listener("AKTAU otdr")(Activity("running", "OTDR averaging"))
    progress.check_finished("t.py::b", "pass")  # ignored once off
    assert progress.done == 1


def test_a_render_error_in_the_refresh_thread_is_caught():
    progress = RunProgress(io.StringIO(), live=False)
    broken = Activity("transferring", "x", done=1, total=None)  # type: ignore[arg-type]
    progress.listener("AKTAU osa")(broken)
    shown = progress._render_safely()
    assert "progress display off" in str(shown) and progress.broken


def test_prompts_take_the_live_panel_off_the_screen():
    class Capture:
        entered = 0

        def global_and_fixture_disabled(self):
            from contextlib import contextmanager

            @contextmanager
            def off():
                Capture.entered += 1
                yield
            return off()

    out = io.StringIO()
    progress = RunProgress(out, live=True, refresh_per_second=20)
    progress.start(1)
    guard = progress.capture_guard(Capture())
    try:
        assert progress._live.is_started
        with guard.global_and_fixture_disabled():
            assert not progress._live.is_started and Capture.entered == 1
        assert progress._live.is_started
    finally:
        progress.close()
    assert progress._live is None


def test_where_a_check_works_comes_from_its_parameters():
    class Shot:
        station, fibre, wavelength_nm = "AKTAU", "FP1-F1", 1550.0

    class Received:
        station, fibre = "SUMGAIT", "FP2-F1"

    assert check_place({"shot": Shot()}) == "AKTAU · FP1-F1 · 1550 nm"
    assert check_place({"rx": Received(), "n": 3}) == "SUMGAIT · FP2-F1"
    assert check_place({}) == ""


def test_modes():
    assert make_progress("off") is None
    lines = make_progress("lines", io.StringIO())
    assert lines is not None and lines._live is None
    assert make_progress("auto", io.StringIO())._live is None  # not a terminal


@pytest.fixture(scope="module")
def small_station(tmp_path_factory) -> Path:
    """The simulated stations with one fibre pair at one wavelength (a quick plan)."""
    tmp = tmp_path_factory.mktemp("progress")
    data = yaml.safe_load((REPO / "test_plans/stations/sim.yaml").read_text())
    data["simulator"]["span"] = str(REPO / "instruments/sim/spans/aktau_sumgait.yaml")
    data["route"]["plan"] = str(REPO / "test_plans/route/aktau_sumgait.yaml")
    data["fibres"] = {k: v for k, v in data["fibres"].items() if k.startswith("FP1-")}
    data["wavelengths_nm"] = [1550]
    path = tmp / "station.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run(station: Path, results: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", "run", "--station", str(station),
                           "--results", str(results), "--run-id", "r", *extra], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.campaign
def test_harness_run_in_a_pipe_prints_a_line_per_check_and_no_pytest_output(fp1_campaign):
    proc = fp1_campaign.proc
    lines = proc.stdout.splitlines()
    total = int(lines[0].split()[1])
    checks = [line for line in lines if line.startswith("[")]
    assert lines[0] == f"Running {total} checks" and len(checks) == total > 0
    assert checks[-1].startswith(f"[{total}/{total}] ")
    assert any("ACC-3  " in line and "test_section_attenuation[AKTAU-FP1-F1-1550nm]" in line
               for line in checks)
    assert "\x1b[" not in proc.stdout  # no colour or cursor codes in a pipe
    assert "%]" not in proc.stdout and "=====" not in proc.stdout  # pytest's own report is off
    summary = json.loads((fp1_campaign.run_dir / "summary.json").read_text())
    verdicts = sorted(re.match(r"\[ *\d+/\d+\] (\w+)", line).group(1) for line in checks)
    assert verdicts == sorted(c["verdict"] for c in summary["checks"])


@pytest.mark.campaign
def test_no_progress_gives_pytests_own_output(small_station, tmp_path):
    proc = run(small_station, tmp_path, "--no-progress")
    assert "Running " not in proc.stdout and "[100%]" in proc.stdout


def test_end_summary_orders_requirements_and_counts_the_verdicts():
    from harness.summary import print_summary

    def check(req: str, title: str, verdict: str) -> dict:
        return {"requirement": req, "title": title, "verdict": verdict, "key": f"{title}-{verdict}",
                "message": "too high" if verdict == "fail" else ""}
    summary = {"run_id": "r1", "overall_verdict": "fail", "counts": {"pass": 2, "fail": 1},
               "started_utc": "2026-01-01T10:00:00+00:00", "finished_utc": "2026-01-01T10:01:05+00:00",
               "checks": [check("ACC-10", "Soak", "pass"), check("ACC-9", "Q margin", "pass"),
                          check("ACC-2", "Splice loss", "fail")]}
    out = io.StringIO()
    print_summary(summary, Path("/runs/r1"), Console(file=out, width=100, color_system=None))
    text = out.getvalue()
    assert text.index("ACC-2") < text.index("ACC-9") < text.index("ACC-10")
    assert "FAIL   Splice loss-fail: too high" in text
    assert "Overall: FAIL   3 checks: 2 pass, 1 fail   in 1:05" in text
    assert text.rstrip().endswith("report /runs/r1/report.pdf")
