"""``harness archive trend``: the injected ageing found back from the index."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import harness, truth_of
from harness.archive.index import update_index


@pytest.fixture(scope="module")
def series(archive):
    update_index(archive)
    proc = harness("archive", "trend", str(archive), "--fibre", "FP2-F1", "--measurement",
                   "event_loss", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["series"]


def nearest(series, km):
    return min(series, key=lambda s: abs(s["distance_m"] / 1000 - km))


def test_the_ageing_splice_rate_and_crossing_date_are_found(archive, series):
    truth = truth_of(archive)
    age = truth["splice_ageing"]
    s = nearest(series, age["distance_km"])
    assert abs(s["distance_m"] / 1000 - age["distance_km"]) < 0.5
    rate = age["rate_db_per_year"]["1550"]
    assert s["rate_per_year"] == pytest.approx(rate, abs=max(3 * s["rate_se_per_year"], 0.002))
    assert 0 < s["rate_se_per_year"] < 0.005
    # the true line reaches 0.15 dB at start + (0.15 - loss at start) / rate
    start = dt.date.fromisoformat(truth["start_utc"][:10])
    years = (0.15 - age["loss_db_at_start"]) / rate
    expected = start + dt.timedelta(days=years * 365.25)
    assert abs((dt.date.fromisoformat(s["crosses_utc"]) - expected).days) < 365


def test_the_bend_is_a_series_from_its_date_on_at_its_place(archive, series):
    truth = truth_of(archive)
    s = nearest(series, truth["bend"]["distance_km"])
    assert abs(s["distance_m"] / 1000 - truth["bend"]["distance_km"]) < 0.2
    first = dt.datetime.fromisoformat(s["first_utc"])
    bend_from = dt.datetime.fromisoformat(truth["start_utc"]) + dt.timedelta(
        days=truth["bend"]["from_year"] * 365.25)
    assert first >= bend_from
    assert s["rate_per_year"] == pytest.approx(0.0, abs=0.01)
    assert all(v == pytest.approx(truth["bend"]["loss_db"]["1550"], abs=0.03) for _, v in s["points"])
    assert s["crosses_utc"] is not None  # 0.25 dB is beyond the 0.15 dB maintenance limit


def test_the_repair_splices_appear_after_the_cut(archive, series):
    truth = truth_of(archive)
    for splice in truth["cut"]["repair_splices"]:
        s = nearest(series, splice["distance_km"])
        assert abs(s["distance_m"] / 1000 - splice["distance_km"]) < 0.5
        found = dt.datetime.fromisoformat(truth["start_utc"]) + dt.timedelta(
            days=truth["cut"]["found_year"] * 365.25)
        assert dt.datetime.fromisoformat(s["first_utc"]) > found


def test_plot_and_bad_input(archive, tmp_path):
    for name in ("trend.png", "trend.pdf"):
        out = tmp_path / name
        proc = harness("archive", "trend", str(archive), "--fibre", "FP2-F1", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        assert out.read_bytes()[:4] in (b"\x89PNG", b"%PDF")
    for args in (("--fibre", "FP9-F9"), ("-o", str(tmp_path / "x.txt"))):
        proc = harness("archive", "trend", str(archive), *args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
