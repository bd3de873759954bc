"""What a coherent transponder card on one fibre reports, derived from the span.

OSNR (0.1 nm) → electrical SNR of a dual-polarisation QPSK signal (SNR = OSNR · B_ref / R_s,
less an implementation penalty) → pre-FEC BER = ½·erfc(√(SNR/2)) → Q = 20·log10(√2·erfc⁻¹(2·BER)).
CD = length × dispersion coefficient. DGD: each fibre's DGD is one draw from the Maxwellian
distribution whose mean is PMD coefficient × √length (seeded, so the same span file gives the
same fibre), drifting slowly (±10 % over a day) as a submarine cable's does. A broken fibre or a
failed laser reads loss of signal (the simulated shelf adds a transmitter out of service).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc, erfcinv

from instruments.sim.osa_physics import (C_M_PER_S, REFERENCE_BW_NM, channel_frequencies_thz,
                                         channel_osnr_db, excess_loss_db, ropa_gain_db)
from instruments.sim.span import Span, stable_seed

OSNR_CARD_BW_GHZ = 12.5
DARK_DBM = -40.0
"""What a card's power monitor reads with no light (dBm)."""
BIN_S = 900.0
"""One PM bin (s of instrument time)."""
BINS_PER_DAY = 96
"""The simulated day repeats: bin k and bin k + 96 draw the same variation, so any 24 h of
history holds the same values whenever it was taken (a replayed or resumed soak matches)."""


def q_from_ber(ber: float) -> float:
    """Q factor (dB) equivalent to a pre-FEC bit error ratio."""
    return 20.0 * math.log10(math.sqrt(2.0) * float(erfcinv(2.0 * ber)))


def ber_from_osnr(osnr_db: float, baud_gbd: float, penalty_db: float) -> float:
    """Pre-FEC BER of DP-QPSK at ``osnr_db`` (0.1 nm) and ``baud_gbd`` with an implementation penalty."""
    ref_ghz = C_M_PER_S / 1550.0**2 * REFERENCE_BW_NM
    snr = 10.0 ** ((osnr_db - penalty_db) / 10.0) * ref_ghz / baud_gbd
    return max(float(0.5 * erfc(math.sqrt(snr / 2.0))), 1e-15)


MAXWELL_MEAN_OF_CHI3 = 2.0 * math.sqrt(2.0 / math.pi)
"""Mean of the square root of a chi-square variable with 3 degrees of freedom."""


def fibre_dgd_ps(span: Span, fibre_name: str, mean_dgd_ps: float) -> float:
    """This fibre's DGD (ps): one Maxwellian sample with mean ``mean_dgd_ps``, fixed by the seed."""
    rng = np.random.default_rng(stable_seed(span.seed, fibre_name, "dgd"))
    return mean_dgd_ps * math.sqrt(float(rng.chisquare(3))) / MAXWELL_MEAN_OF_CHI3


def dark_values(span: Span) -> dict[str, float]:
    """PM values of a card that receives no light (loss of signal: the whole bin errored)."""
    nan = float("nan")
    return dict(rx_power_dbm=DARK_DBM, tx_power_dbm=float(span.section("transponder")["tx_power_dbm"]),
                osnr_db=nan, q_db=nan, pre_fec_ber=nan, uncorrected_blocks=nan, cd_ps_nm=nan,
                dgd_ps=nan, freq_offset_mhz=nan, errored_seconds=BIN_S)


def pm_values(span: Span, fibre_name: str, bin_index: int) -> tuple[dict[str, float], list[str]]:
    """PM values of the card receiving ``fibre_name`` in 15-minute bin ``bin_index``, and alarms."""
    fibre = span.fibre(fibre_name)
    tp = span.section("transponder")
    d = span.section("dwdm")
    rng = np.random.default_rng(stable_seed(span.seed, fibre_name, "pm", bin_index % BINS_PER_DAY))
    if fibre.break_km is not None or fibre.laser_failed:
        return dark_values(span), ["LOS"]
    freqs = channel_frequencies_thz(span)
    channel = int(np.argmin(np.abs(freqs - float(tp["channel_thz"]))))
    osnr = float(channel_osnr_db(span, fibre_name)[channel]) + float(rng.normal(0, 0.05))
    ber = ber_from_osnr(osnr, float(d["baud_gbd"]), float(tp["implementation_penalty_db"]))
    ref_ghz = C_M_PER_S / 1550.0**2 * REFERENCE_BW_NM
    fib = span.section("fibre")
    mean_dgd = float(fib["pmd_ps_per_sqrt_km"]) * math.sqrt(span.length_km)
    values = dict(
        rx_power_dbm=(float(tp["rx_power_dbm"]) - excess_loss_db(span, fibre_name)
                      + ropa_gain_db(span, fibre_name) + float(rng.normal(0, 0.05))),
        tx_power_dbm=float(tp["tx_power_dbm"]),
        osnr_db=osnr + 10.0 * math.log10(ref_ghz / OSNR_CARD_BW_GHZ),
        q_db=q_from_ber(ber),
        pre_fec_ber=ber,
        uncorrected_blocks=0.0 if ber < float(tp["fec_threshold_ber"]) else float(rng.integers(1, 1000)),
        cd_ps_nm=float(fib["dispersion_ps_nm_km"]) * span.length_km * (1 + float(rng.normal(0, 0.002))),
        dgd_ps=fibre_dgd_ps(span, fibre_name, mean_dgd) * (1.0 + 0.1 * math.sin(2 * math.pi * bin_index / 96.0)),
        freq_offset_mhz=float(rng.normal(0, 50)),
        errored_seconds=0.0 if ber < float(tp["fec_threshold_ber"]) else float(rng.integers(1, 900)),
    )
    return values, []
