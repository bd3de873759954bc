import math

import pytest

from harness.analysis.transponder import osnr_12g5_to_01nm, q_db_from_ber, q_margin_db


def test_q_of_the_sd_fec_threshold():
    assert q_db_from_ber(2e-2) == pytest.approx(6.25, abs=0.01)
    assert q_db_from_ber(1e-9) == pytest.approx(15.56, abs=0.01)


def test_q_margin_and_osnr_bandwidth():
    assert q_margin_db(9.25, 2e-2) == pytest.approx(3.0, abs=0.01)
    assert osnr_12g5_to_01nm(20.0) == pytest.approx(20.0075, abs=0.001)
    assert osnr_12g5_to_01nm(20.0, 1530.0) == pytest.approx(20.0 + 10 * __import__("math").log10(12.5 / 12.806), abs=0.002)


def test_ber_trend_recovers_a_known_drift_and_time_to_threshold():
    import numpy as np

    from harness.analysis.transponder import ber_trend

    t = np.arange(96) * 900.0  # a day of 15-minute bins
    rng = np.random.default_rng(7)
    ber = 1e-3 * 10 ** (0.02 * t / 3600) * np.exp(rng.normal(0, 0.1, t.size))
    trend = ber_trend(t, ber, fec_threshold_ber=2e-2)
    assert trend.slope_decades_per_hour == pytest.approx(0.02, abs=3 * trend.slope_sd)
    assert trend.change_per_hour == pytest.approx(10 ** 0.02 - 1, abs=0.005)
    # from ~1e-3 × 10^(0.02 × 23.75) to 2e-2: log10(2e-2) − log10(last) decades at 0.02/h
    expected = (math.log10(2e-2) - math.log10(trend.last_ber)) / trend.slope_decades_per_hour
    assert trend.hours_to_threshold == pytest.approx(expected, rel=1e-6)
    flat = ber_trend(t, 1e-3 * np.exp(rng.normal(0, 0.1, t.size)), fec_threshold_ber=2e-2)
    assert abs(flat.slope_decades_per_hour) < 3 * flat.slope_sd + 1e-12
    assert flat.hours_to_threshold is None
    with pytest.raises(ValueError):
        ber_trend([0, 900], [1e-3, 1e-3])


def test_simulated_card_cd_and_dgd_are_consistent_with_the_span(span):
    from harness.analysis.transponder import ber_trend, check_cd, check_dgd
    from instruments.sim.transponder_physics import pm_values

    fib = span.section("fibre")
    for fibre in ("FP1-F1", "FP2-F2", "FP4-F1"):
        bins = [pm_values(span, fibre, i)[0] for i in range(96)]
        cd = check_cd([b["cd_ps_nm"] for b in bins], span.length_km, fib["dispersion_ps_nm_km"])
        assert cd.ok and abs(cd.deviation) < 0.01
        dgd = check_dgd([b["dgd_ps"] for b in bins], span.length_km, fib["pmd_ps_per_sqrt_km"])
        assert dgd.ok and dgd.expected == pytest.approx(0.08 * math.sqrt(380.0))
        trend = ber_trend([i * 900.0 for i in range(96)], [b["pre_fec_ber"] for b in bins], 2e-2)
        assert trend.hours_to_threshold is None  # a healthy span does not drift towards the FEC limit
    # a card reporting 20 % more dispersion, or a DGD no fibre of this PMD would show, fails
    assert not check_cd(1.2 * 380 * 21.0, 380.0, 21.0).ok
    assert not check_dgd(12.0, 380.0, 0.08).ok
