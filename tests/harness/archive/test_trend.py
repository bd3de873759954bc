"""``harness archive trend``: the injected ageing found back from the index."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from archivetools import harness, truth_of
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


def test_fit_matches_numpy_polyfit_and_dates_the_crossing():
    """Rate and its standard error against numpy.polyfit (cov="unscaled" scaled by the residual
    variance, n - 2 degrees of freedom); the crossing date from the fitted line."""
    import numpy as np

    from harness.archive.trend import Series, fit

    rng = np.random.default_rng(3)
    t0 = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    years = np.linspace(0, 5, 21)
    values = 0.05 + 0.02 * years + rng.normal(0, 0.004, years.size)
    times = [t0 + dt.timedelta(days=float(y) * 365.25) for y in years]
    s = fit(Series("F", "", 1550.0, "event_loss", "dB", 1000.0, times, list(values), limit=0.15))
    (rate, intercept), cov = np.polyfit(years, values, 1, cov=True)
    assert s.rate == pytest.approx(rate, rel=1e-9)
    assert s.intercept == pytest.approx(intercept, rel=1e-9)
    assert s.rate_se == pytest.approx(np.sqrt(cov[0, 0]), rel=1e-6)
    expected = t0 + dt.timedelta(days=(0.15 - intercept) / rate * 365.25)
    assert abs((dt.date.fromisoformat(s.crosses_utc) - expected.date()).days) <= 1
    low = fit(Series("F", "S", 1550.0, "orl", "dB", None, times, list(35 - 0.5 * years),
                     limit=29.0, limit_side="low"))
    assert low.rate == pytest.approx(-0.5) and low.crosses_utc[:4] == "2042"
    away = fit(Series("F", "S", 1550.0, "orl", "dB", None, times, list(35 + 0.1 * years),
                      limit=29.0, limit_side="low"))
    assert away.crosses_utc is None and "not moving" in away.note
