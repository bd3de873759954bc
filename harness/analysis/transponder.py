"""Transponder figures: Q margin against the FEC threshold, OSNR bandwidth conversion."""

from __future__ import annotations

import math

from scipy.special import erfcinv

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
