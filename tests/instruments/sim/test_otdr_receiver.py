"""The receiver's first-order low-pass (``otdr_receiver._low_pass``, NumPy, exact) against
``scipy.signal.lfilter`` on the same filter: the simulator no longer imports scipy.signal."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import lfilter

from instruments.sim.otdr_receiver import _low_pass


@pytest.mark.parametrize("n, tau_m, resolution_m", [
    (1000, 0.4, 0.25),        # 4 ns response at 0.25 m
    (200_000, 40.0, 0.1),     # 400 ns tail at 0.1 m: one block
    (37_500, 0.8, 0.4),       # a <= 0.61: ~470-sample blocks
    (5000, 3.0, 5.0),         # a = 0.19: short blocks
    (7, 3.0, 1.0)])
def test_low_pass_equals_lfilter(n, tau_m, resolution_m):
    rng = np.random.default_rng(n)
    x = rng.random(n) * 10.0 ** rng.uniform(-8.0, 0.0, n)  # 80 dB of dynamic range
    x[n // 3] = 1e4  # a spike
    a = math.exp(-resolution_m / tau_m)
    ref = lfilter([1.0 - a], [1.0, -a], x)
    got = _low_pass(x, tau_m, resolution_m)
    assert np.allclose(got, ref, rtol=1e-12, atol=0.0)


def test_a_response_faster_than_a_sample_passes_the_signal_unchanged():
    x = np.array([0.0, 1.0, 0.0])
    assert _low_pass(x, 0.01, 1.0) is x and _low_pass(x, 0.0, 1.0) is x
