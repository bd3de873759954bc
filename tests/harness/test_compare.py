"""``harness compare``: two short real campaigns (simulated stations through the drivers) on
FP2-F1 at 1550 and 1625 nm, the second with a bend at 147 km in the span's ``faults:``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from harness.compare import _match, locate, load_maintenance
from harness.config import ConfigError
from simstation import REPO, harness, station_file

BEND = {"type": "bend", "fibre": "FP2-F1", "distance_km": 147.0, "loss_db": {1550: 0.3, 1625: 1.2}}


@pytest.fixture(scope="module")
def campaigns(tmp_path_factory) -> Path:
    """``base`` (no fault) and ``bend`` run folders."""
    tmp = tmp_path_factory.mktemp("compare")
    for run_id, faults in (("base", []), ("bend", [BEND])):
        st = station_file(tmp, faults, fibres=["FP2-F1"], wavelengths=[1550, 1625],
                          name=f"{run_id}.yaml")
        proc = harness("run", "--station", str(st), "--results", str(tmp), "--run-id", run_id,
                       "--no-progress")
        assert (tmp / run_id / "summary.json").is_file(), proc.stderr[-2000:]
    return tmp


def test_a_new_bend_fails_and_is_named_and_located(campaigns, tmp_path):
    pdf = tmp_path / "overlay.pdf"
    proc = harness("compare", str(campaigns / "base"), str(campaigns / "bend"), "--json",
                   "-o", str(pdf))
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "fail"
    new = [c for c in doc["changes"] if c["kind"] == "new"]
    assert {c["wavelength_nm"] for c in new} == {1550.0, 1625.0}
    for c in new:
        assert c["fibre"] == "FP2-F1" and c["exceeds"]
        assert c["distance_m"] == pytest.approx(147_000, abs=100)
        assert c["loss_db_before"] is None
        assert c["located"]["km_from_AKTAU"] == pytest.approx(147.0, abs=0.1)
        assert c["located"]["km_from_SUMGAIT"] == pytest.approx(233.0, abs=0.1)
        # the route plan has nothing there: nearest record is the splice at 123.5 or 167.2 km
        assert abs(c["located"]["nearest_record"]["offset_m"]) > 15_000
    by_wl = {c["wavelength_nm"]: c["loss_db_after"] for c in new}
    assert by_wl[1550.0] == pytest.approx(0.3, abs=0.05)
    assert by_wl[1625.0] == pytest.approx(1.2, abs=0.1)
    # only the bent fibre's events changed: every other failing change is a consequence of it
    assert all(c["fibre"] == "FP2-F1" for c in doc["changes"])
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000
    table = harness("compare", str(campaigns / "base"), str(campaigns / "bend"))
    assert table.returncode == 1 and "147.0" in table.stdout and "FAIL" in table.stdout


def test_a_run_compared_with_itself_has_no_change(campaigns):
    proc = harness("compare", str(campaigns / "base"), str(campaigns / "base"), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["changes"] == [] and doc["verdict"] == "pass"


def test_the_baseline_against_the_bend_reverse_lists_the_bend_as_removed(campaigns):
    proc = harness("compare", str(campaigns / "bend"), str(campaigns / "base"), "--json")
    doc = json.loads(proc.stdout)
    removed = [c for c in doc["changes"] if c["kind"] == "removed"]
    assert removed and all(c["distance_m"] == pytest.approx(147_000, abs=100) for c in removed)
    assert proc.returncode == 0  # a loss that went away crosses no maintenance limit


def test_bad_input_is_one_line_and_exit_2(campaigns, tmp_path):
    no_section = tmp_path / "limits.yaml"
    no_section.write_text((REPO / "test_plans" / "limits.yaml").read_text().split("\nmaintenance:")[0])
    for args in ((str(campaigns / "base"), str(tmp_path / "nothing")),
                 (str(campaigns / "base"), str(campaigns / "bend"), "--limits", str(no_section))):
        proc = harness("compare", *args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    changed = tmp_path / "changed"
    shutil.copytree(campaigns / "bend", changed)
    (changed / "summary.json").write_text("{}")
    proc = harness("compare", str(campaigns / "base"), str(changed))
    assert proc.returncode == 2 and "summary.json" in proc.stderr
    assert harness("compare", str(campaigns / "base"), str(changed), "--trust").returncode == 1


def test_maintenance_limits_are_read_and_a_missing_key_is_named(tmp_path):
    limits = load_maintenance(REPO / "test_plans" / "limits.yaml")
    assert limits["new_event_loss_db"] > limits["new_event_report_db"] > 0
    raw = yaml.safe_load((REPO / "test_plans" / "limits.yaml").read_text())
    del raw["maintenance"]["q_decrease_db"]
    path = tmp_path / "l.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="maintenance.q_decrease_db"):
        load_maintenance(path)


def test_events_pair_nearest_first_within_the_tolerance():
    ev = lambda d: SimpleNamespace(distance_m=d)  # noqa: E731
    before, after = [ev(1000.0), ev(5000.0)], [ev(1400.0), ev(1100.0), ev(9000.0)]
    matched, removed, new = _match(before, after, 500.0)
    assert [(b.distance_m, a.distance_m) for b, a in matched] == [(1000.0, 1100.0)]
    assert [b.distance_m for b in removed] == [5000.0]
    assert sorted(a.distance_m for a in new) == [1400.0, 9000.0]


def test_a_place_is_located_from_both_landings_and_the_plan():
    view = SimpleNamespace(stations=["A", "B"], length_m=100_000.0,
                           route_events=[{"distance_km": 40.0, "kind": "splice", "label": "s1"},
                                         {"distance_km": 70.0, "kind": "joint", "label": "j"}])
    where = locate(view, 62_000.0)
    assert where["km_from_A"] == 62.0 and where["km_from_B"] == 38.0
    assert where["nearest_record"]["label"] == "j" and where["nearest_record"]["offset_m"] == -8000.0
