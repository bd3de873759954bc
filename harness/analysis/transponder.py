"""Transponder figures: Q margin against the FEC threshold, OSNR bandwidth conversion, pre-FEC
BER trend over PM bins, chromatic dispersion and DGD against the span's length and coefficients."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import erfcinv, gammaincinv

C_M_PER_S = 299_792_458.0


def q_db_from_ber(ber: float) -> float:
    """Q factor (dB) equivalent to a bit error ratio: 20·log10(√2·erfc⁻¹(2·BER))."""
    return 20.0 * math.log10(math.sqrt(2.0) * float(erfcinv(2.0 * ber)))


def q_margin_db(q_db: float, fec_threshold_ber: float) -> float:
    """Q (dB) above the Q of the FEC threshold (NaN when Q was not measured)."""
    return q_db - q_db_from_ber(fec_threshold_ber)


def osnr_12g5_to_01nm(osnr_db: float, wavelength_nm: float = 1550.0) -> float:
    """OSNR in a 12.5 GHz noise bandwidth → OSNR in 0.1 nm at ``wavelength_nm``."""
    bw_01nm_ghz = C_M_PER_S / wavelength_nm**2 * 0.1
    return osnr_db + 10.0 * math.log10(12.5 / bw_01nm_ghz)


@dataclass
class BerTrend:
    """Least-squares trend of log10(pre-FEC BER) over PM bins: slope (decades per hour) and its
    σ, the fitted BER at the last bin, and the hours until the fit reaches the FEC threshold
    (None when it does not rise significantly or no threshold is given)."""

    slope_decades_per_hour: float
    slope_sd: float
    bins: int
    last_ber: float
    hours_to_threshold: float | None

    @property
    def change_per_hour(self) -> float:
        """Relative change of the BER per hour (0.1 = +10 % per hour)."""
        return 10.0 ** self.slope_decades_per_hour - 1.0


def ber_trend(times_s: Sequence[float], ber: Sequence[float],
              fec_threshold_ber: float | None = None, t_rising: float = 3.0) -> BerTrend:
    """Trend of pre-FEC BER readings (one per PM bin, bin start times in s); NaN and
    non-positive readings (no signal) are left out. Needs three readings."""
    t = np.asarray(times_s, dtype=np.float64) / 3600.0
    b = np.asarray(ber, dtype=np.float64)
    ok = np.isfinite(t) & np.isfinite(b) & (b > 0)
    if ok.sum() < 3:
        raise ValueError("a BER trend needs at least three readings")
    t, y = t[ok], np.log10(b[ok])
    tm = t.mean()
    sxx = float(((t - tm) ** 2).sum())
    if sxx <= 0:
        raise ValueError("the readings must span some time")
    slope = float(((t - tm) * (y - y.mean())).sum()) / sxx
    resid = y - (y.mean() + slope * (t - tm))
    sd = math.sqrt(float(resid @ resid) / max(len(t) - 2, 1) / sxx)
    last = float(y.mean() + slope * (t[-1] - tm))
    hours = None
    if fec_threshold_ber and slope > t_rising * sd and slope > 0:
        hours = float(max((math.log10(fec_threshold_ber) - last) / slope, 0.0))
    return BerTrend(slope, sd, len(t), 10.0 ** last, hours)


@dataclass
class Consistency:
    """A transponder reading against the value the span predicts (same units), the deviation
    and whether it lies within the stated bounds."""

    measured: float
    expected: float
    low: float
    high: float

    @property
    def ok(self) -> bool:
        return self.low <= self.measured <= self.high

    @property
    def deviation(self) -> float:
        """(measured − expected) / expected."""
        return (self.measured - self.expected) / self.expected


def check_cd(cd_ps_nm: Sequence[float] | float, length_km: float, coefficient_ps_nm_km: float,
             tolerance: float = 0.05) -> Consistency:
    """Chromatic dispersion (ps/nm, the median of the readings) against length × coefficient,
    within ± ``tolerance`` (DOMAIN.md check 7: ±5 %)."""
    measured = float(np.nanmedian(np.atleast_1d(np.asarray(cd_ps_nm, dtype=np.float64))))
    expected = length_km * coefficient_ps_nm_km
    bound = abs(expected) * tolerance
    return Consistency(measured, expected, expected - bound, expected + bound)


def check_dgd(dgd_ps: Sequence[float] | float, length_km: float, pmd_ps_per_sqrt_km: float,
              probability: float = 1e-4) -> Consistency:
    """DGD (ps, the median of the readings) against the Maxwellian distribution of a fibre
    whose mean DGD is PMD coefficient × √length: within the central 1 − ``probability`` of it
    (a reading outside is not the fibre the coefficient describes, or a bad reading)."""
    measured = float(np.nanmedian(np.atleast_1d(np.asarray(dgd_ps, dtype=np.float64))))
    mean = pmd_ps_per_sqrt_km * math.sqrt(length_km)
    scale = mean / (2.0 * math.sqrt(2.0 / math.pi))  # Maxwell's a, from its mean
    # Maxwell quantile a·√(2·P⁻¹(3/2, p)) (the chi distribution with 3 degrees of freedom), as
    # scipy.stats.maxwell.ppf computes it, without importing scipy.stats (~1 s per run)
    low, high = scale * np.sqrt(2.0 * gammaincinv(1.5, [probability / 2, 1 - probability / 2]))
    return Consistency(measured, mean, float(low), float(high))
