import pytest

from harness.analysis.transponder import osnr_12g5_to_01nm, q_db_from_ber, q_margin_db


def test_q_of_the_sd_fec_threshold():
    assert q_db_from_ber(2e-2) == pytest.approx(6.25, abs=0.01)
    assert q_db_from_ber(1e-9) == pytest.approx(15.56, abs=0.01)


def test_q_margin_and_osnr_bandwidth():
    assert q_margin_db(9.25, 2e-2) == pytest.approx(3.0, abs=0.01)
    assert osnr_12g5_to_01nm(20.0) == pytest.approx(20.0075, abs=0.001)
    assert osnr_12g5_to_01nm(20.0, 1530.0) == pytest.approx(20.0 + 10 * __import__("math").log10(12.5 / 12.806), abs=0.002)
