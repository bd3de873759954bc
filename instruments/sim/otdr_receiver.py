"""The OTDR's receiver: bandwidth, slow recovery tail, saturation with overload hold.

What a short pulse shows after a reflection on real instruments (tests/data/sor, measured in
the README's "Simulated OTDR traces" section):
- the spike falls with the receiver's time constant (EXFO MaxTester 730C, 10 ns: ~3.7 dB of
  one-way level per 0.32 m sample, i.e. ~3.6 ns; Noyes OFL280, 30 ns: ~5 ns);
- a slow tail follows strong reflections (EXFO, -17 dB end: -47 dB at 5 m, -53 dB at 60 m,
  -56.5 dB at 160 m; Noyes, saturated end: still ~1 dB above the backscatter 25 m after): a
  small share of the reflected energy leaking out with a time constant of a few hundred ns;
- a spike above the receiver's saturation level is clipped flat, and an overloaded receiver
  stays clipped after the pulse has passed (Noyes 30 ns: flat for ~10 m, ~3 pulse lengths).

Model (linear power, samples ``resolution_m`` apart in the one-way distance frame):
``y = (1 - f) · fast(x) + f · slow(x)`` with ``fast``/``slow`` first-order low-passes of time
constants ``response_ns``/``tail_ns`` and ``f = tail_fraction``; then clipping at the saturation
level, held ``overload_hold_ns · ln(peak / saturation)`` after the spike, and a fall from the
saturation level with ``response_ns`` after the hold. Every figure is configurable in the span
file's ``otdr.receiver`` section; the defaults are fitted to the files above (estimates, not
from a manual: no OTDR manual found publishes its receiver's impulse response).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

C_M_PER_S = 299_792_458.0


@dataclass(frozen=True)
class Receiver:
    """Receiver figures: time constants in ns of round-trip time; ``saturation_db_1ns``: how far
    (dB, 5·log10) the clipping level lies above the backscatter at the OTDR port for a 1 ns
    pulse (the backscatter grows with the pulse width, the clipping level does not)."""

    response_ns: float = 4.0
    tail_fraction: float = 1.0e-3
    tail_ns: float = 400.0
    saturation_db_1ns: float = 28.0
    overload_hold_ns: float = 35.0

    @classmethod
    def from_span(cls, otdr: dict) -> "Receiver":
        """The span file's ``otdr.receiver`` mapping (validated by span.py), defaults elsewhere."""
        section = otdr.get("receiver") or {}
        return cls(**{k: float(v) for k, v in section.items()})

    def saturation_level(self, pulse_width_ns: float, port_backscatter: float) -> float:
        """Clipping level as linear detected power, in the units of ``port_backscatter``."""
        return port_backscatter * 10.0 ** ((self.saturation_db_1ns - 5.0 * math.log10(pulse_width_ns)) / 5.0)


def ns_to_m(ns: float, group_index: float) -> float:
    """Round-trip time (ns) as one-way distance (m)."""
    return C_M_PER_S * ns * 1e-9 / (2.0 * group_index)


def _low_pass(x: np.ndarray, tau_m: float, resolution_m: float) -> np.ndarray:
    """First-order low-pass of time constant ``tau_m`` (m) on samples ``resolution_m`` apart,
    unit gain at DC, at rest before the first sample (no light before the front panel):
    ``y[n] = a·y[n-1] + (1-a)·x[n]``, ``a = exp(-resolution_m / tau_m)``.

    Exact, in NumPy: within a block of B samples ``y[j] = a^(j+1)·y0 + (1-a)·a^j·Σ x[k]·a^-k``,
    B small enough that ``a^-B`` stays below 1e100 (the same result as ``scipy.signal.lfilter``
    to rounding, checked in the tests, without importing scipy.signal: 0.6 s at every simulator
    start)."""
    a = math.exp(-resolution_m / tau_m) if tau_m > 0 else 0.0
    if a < 1e-6:
        return x
    x = np.asarray(x, dtype=np.float64)
    block = max(1, min(len(x), int(100.0 * math.log(10.0) / -math.log(a))))
    powers = a ** np.arange(block, dtype=np.float64)  # a^j
    inverse = 1.0 / powers  # a^-j
    y = np.empty_like(x)
    last = 0.0
    for start in range(0, len(x), block):
        seg = x[start:start + block]
        m = len(seg)
        y[start:start + m] = (a * last + (1.0 - a) * np.cumsum(seg * inverse[:m])) * powers[:m]
        last = float(y[start + m - 1])
    return y


def respond(x: np.ndarray, rx: Receiver, resolution_m: float, group_index: float) -> np.ndarray:
    """The receiver's linear response to the optical power ``x`` (bandwidth and slow tail)."""
    fast = _low_pass(x, ns_to_m(rx.response_ns, group_index), resolution_m)
    if rx.tail_fraction <= 0.0:
        return fast
    slow = _low_pass(x, ns_to_m(rx.tail_ns, group_index), resolution_m)
    return (1.0 - rx.tail_fraction) * fast + rx.tail_fraction * slow


def saturate(y: np.ndarray, saturation: float, rx: Receiver, resolution_m: float,
             group_index: float) -> tuple[np.ndarray, np.ndarray]:
    """(``y`` with the recovery from saturation applied, mask of the samples the receiver holds
    at ``saturation``: over it, plus the overload hold after each run)."""
    y = y.copy()
    over = y > saturation
    mask = over.copy()
    if not over.any():
        return y, mask
    edges = np.diff(np.concatenate([[0], over.astype(np.int8), [0]]))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    hold_m = ns_to_m(rx.overload_hold_ns, group_index)
    tau_m = ns_to_m(rx.response_ns, group_index)
    n = len(y)
    for s, e in zip(starts, ends):
        peak = float(y[s:e].max())
        stop = min(n, e + int(round(hold_m * math.log(peak / saturation) / resolution_m)))
        mask[s:stop] = True
        after = np.arange(stop, min(n, stop + int(20 * tau_m / resolution_m) + 2))
        if after.size:
            fall = saturation * np.exp(-(after - stop + 1) * resolution_m / tau_m)
            y[after] = np.maximum(y[after], fall)
    return y, mask
