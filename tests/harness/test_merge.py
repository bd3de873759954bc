"""Two landing stations test on their own laptops; their runs are merged into one
bidirectional run whose two-ended checks are judged from both stations' traces."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SPAN = REPO / "instruments" / "sim" / "spans" / "aktau_sumgait.yaml"


def station(tmp: Path, name: str) -> Path:
    data = yaml.safe_load((REPO / "test_plans" / "stations" / f"sim-{name}.yaml").read_text())
    data["simulator"]["span"] = str(SPAN)
    data["route"]["plan"] = str(REPO / "test_plans" / "route" / "aktau_sumgait.yaml")
    data["fibres"] = {k: v for k, v in data["fibres"].items() if k.startswith("FP1")}
    data["wavelengths_nm"] = [1550]
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def harness(*args):
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def keys(run_dir: Path) -> dict[str, str]:
    checks = json.loads((run_dir / "summary.json").read_text())["checks"]
    return {c["key"]: c["verdict"] for c in checks}


@pytest.mark.campaign
def test_single_station_runs_merge_into_a_bidirectional_run(tmp_path):
    for name in ("aktau", "sumgait"):
        proc = harness("run", "--station", str(station(tmp_path, name)), "--results",
                       str(tmp_path), "--run-id", name)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    alone = keys(tmp_path / "aktau")
    assert "test_section_attenuation[AKTAU-FP1-F1-1550nm]" in alone
    two_ended = {k: v for k, v in alone.items()
                 if k.startswith(("test_splice_loss", "test_end_to_end_loss", "test_events_explained"))}
    assert two_ended and set(two_ended.values()) == {"skipped"}
    messages = [c["message"] for c in json.loads((tmp_path / "aktau" / "summary.json").read_text())["checks"]
                if c["key"] in two_ended]
    assert all("harness merge" in m for m in messages)
    proc = harness("merge", str(tmp_path / "aktau"), str(tmp_path / "sumgait"), "--results",
                   str(tmp_path / "merged"))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    merged_dir = next((tmp_path / "merged").iterdir())
    merged = keys(merged_dir)
    for check in ("test_splice_loss[FP1-F1-1550nm]", "test_end_to_end_loss[FP1-F2-1550nm]",
                  "test_section_attenuation[AKTAU-FP1-F1-1550nm]",
                  "test_section_attenuation[SUMGAIT-FP1-F1-1550nm]", "test_q_margin[SUMGAIT-FP1-F1]"):
        assert merged[check] in ("pass", "marginal"), check
    assert {k for k in alone if k not in two_ended} <= set(merged)
    summary = json.loads((merged_dir / "summary.json").read_text())
    assert summary["replay_of"] == "aktau+sumgait"
