import numpy as np
import pytest

from harness.analysis.osa import find_channels
from instruments.protocols import OsaSettings
from instruments.sim.osa_physics import channel_frequencies_thz, channel_osnr_db, osa_spectrum
from instruments.sim.span import load_span


@pytest.fixture
def span():
    """A fresh fault-free span with every transmitter in service (the session's span is shared
    with the simulated shelves, which start dark)."""
    return load_span()


def test_channels_sit_on_the_100_ghz_grid(span):
    f = channel_frequencies_thz(span)
    assert len(f) == 40
    assert np.allclose((f - 193.1) * 10, np.round((f - 193.1) * 10))


def test_measured_osnr_matches_the_model_within_0_3_db(span):
    wl, p = osa_spectrum(span, "FP2-F1", OsaSettings())
    channels = find_channels(wl, p, rbw_nm=0.1)
    assert len(channels) == 40
    errors = np.array([c.osnr_db for c in channels]) - channel_osnr_db(span, "FP2-F1")
    assert np.abs(errors).max() < 0.3


def test_degraded_channel_fault_lowers_one_channel():
    span = load_span(faults=[{"type": "channel", "fibre": "FP4-F2", "osnr_penalty_db": 6.0}])
    healthy = channel_osnr_db(load_span(), "FP4-F2")
    osnr = channel_osnr_db(span, "FP4-F2")
    diff = healthy - osnr
    assert diff.max() == pytest.approx(6.0) and np.count_nonzero(diff) == 1


def test_a_fibre_whose_transmitters_are_out_of_service_is_dark_at_the_osa():
    span = load_span()
    settings = OsaSettings(points=4001)
    _, lit = osa_spectrum(span, "FP2-F1", settings)
    span.set_in_service("FP2-F1", False)
    _, dark = osa_spectrum(span, "FP2-F1", settings)
    assert lit.max() > -20 and dark.max() < lit.max() - 30
    assert find_channels(*osa_spectrum(span, "FP2-F1", settings), rbw_nm=settings.rbw_nm) == []
