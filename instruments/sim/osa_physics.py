"""Received DWDM spectrum of one fibre: channels on the ITU-T G.694.1 grid over an ASE floor.

Each channel is a raised-cosine spectrum (baud rate, roll-off) carrying its channel power; the
ASE floor is a smooth curve whose level under each channel, in 0.1 nm, is the channel power
minus that channel's OSNR. The OSA's resolution bandwidth is applied as a rectangular filter.

A ROPA on the fibre raises every channel by its gain and adds its own ASE: the design OSNR is
the receive preamplifier's (noise figure NF_rx at the receiver's input power); with the ROPA the
preamplifier sees G dB more signal, and the ROPA's OSNR is the design OSNR plus the loss from the
ROPA to the receiver plus NF_rx - NF_ropa (its input is that much stronger); the two add as noise.
"""

from __future__ import annotations

import numpy as np

from instruments.protocols import OsaSettings
from instruments.sim.span import Span, at_wavelength, stable_seed

C_M_PER_S = 299_792_458.0
REFERENCE_BW_NM = 0.1


def channel_frequencies_thz(span: Span) -> np.ndarray:
    """Centre frequencies (THz) of the span's DWDM channels."""
    d = span.section("dwdm")
    return float(d["first_thz"]) + np.arange(int(d["channels"])) * float(d["spacing_ghz"]) / 1000.0


def excess_loss_db(span: Span, fibre_name: str) -> float:
    """Loss (dB at 1550 nm) on a fibre beyond the design: injected splices and bends."""
    fibre = span.fibre(fibre_name)
    return sum(e.loss_db.get(1550.0, next(iter(e.loss_db.values())))
               for e in fibre.events if e.label.startswith("injected"))


def ropa_gain_db(span: Span, fibre_name: str) -> float:
    """Net signal gain (dB) of the fibre's ROPA, 0 without one."""
    ropa = span.fibre(fibre_name).ropa
    return ropa.gain_db if ropa else 0.0


def loss_after_ropa_db(span: Span, fibre_name: str) -> float:
    """Loss (dB at 1550 nm) from the fibre's ROPA to its receiving station."""
    fibre = span.fibre(fibre_name)
    pos = fibre.ropa.position_km
    towards_first = fibre.name.endswith("-F2")  # FPn-F2 is received at the first station
    beyond = [e for e in fibre.events if e.kind != "ropa" and
              (e.position_km < pos if towards_first else e.position_km > pos)]
    km = pos if towards_first else span.length_km - pos
    return (at_wavelength(fibre.attenuation_db_per_km, 1550.0) * km
            + sum(e.loss_db.get(1550.0, next(iter(e.loss_db.values()))) for e in beyond))


def with_ropa_osnr_db(span: Span, fibre_name: str, design_osnr_db: np.ndarray) -> np.ndarray:
    """OSNR (dB, 0.1 nm) of a fibre with a ROPA, from its preamplifier-limited OSNR."""
    ropa = span.fibre(fibre_name).ropa
    if ropa is None:
        return design_osnr_db
    nf_rx = float(span.section("dwdm").get("receiver_noise_figure_db", 5.0))
    preamp = design_osnr_db + ropa.gain_db
    own = design_osnr_db + loss_after_ropa_db(span, fibre_name) + nf_rx - ropa.noise_figure_db
    return -10.0 * np.log10(10.0 ** (-preamp / 10.0) + 10.0 ** (-own / 10.0))


def channel_power_dbm(span: Span, fibre_name: str) -> np.ndarray:
    """Power of each channel at the receiving station's OSA port (dBm)."""
    d = span.section("dwdm")
    rng = np.random.default_rng(stable_seed(span.seed, fibre_name, "channel-power"))
    n = int(d["channels"])
    ripple = float(d.get("power_ripple_db", 0.0)) / 2.0 * np.sin(np.arange(n) * 0.7 + rng.uniform(0, 6))
    return (float(d["rx_channel_power_dbm"]) + ripple - excess_loss_db(span, fibre_name)
            + ropa_gain_db(span, fibre_name))


def channel_osnr_db(span: Span, fibre_name: str) -> np.ndarray:
    """OSNR (dB, 0.1 nm reference) of each channel received on ``fibre_name``.

    Design OSNR with tilt and ripple; every dB of excess span loss costs a dB of OSNR; a ROPA
    improves it (:func:`with_ropa_osnr_db`); a degraded-channel fault subtracts its penalty from
    the channel nearest mid band.
    """
    d = span.section("dwdm")
    n = int(d["channels"])
    fibre = span.fibre(fibre_name)
    rng = np.random.default_rng(stable_seed(span.seed, fibre_name, "osnr"))
    frac = np.arange(n) / max(n - 1, 1) - 0.5
    osnr = (float(d["osnr_design_db"]) + float(d.get("osnr_tilt_db", 0.0)) * frac
            + float(d.get("osnr_ripple_db", 0.0)) / 2.0 * np.sin(np.arange(n) * 1.3 + rng.uniform(0, 6))
            - excess_loss_db(span, fibre_name))
    osnr = with_ropa_osnr_db(span, fibre_name, osnr)
    if fibre.osnr_penalty_db:
        osnr[n // 2] -= fibre.osnr_penalty_db
    return osnr


def osa_spectrum(span: Span, fibre_name: str, settings: OsaSettings) -> tuple[np.ndarray, np.ndarray]:
    """(wavelength nm, power dBm in the RBW) of the spectrum received on ``fibre_name``."""
    d = span.section("dwdm")
    wl = np.linspace(settings.start_nm, settings.stop_nm, settings.points)
    f_ghz = C_M_PER_S / wl  # GHz, since wl is in nm
    centres = channel_frequencies_thz(span) * 1000.0
    p_mw = 10.0 ** (channel_power_dbm(span, fibre_name) / 10.0)
    osnr = channel_osnr_db(span, fibre_name)
    fibre = span.fibre(fibre_name)
    baud = float(d["baud_gbd"])
    beta = float(d["rolloff"])
    ref_ghz = C_M_PER_S / 1550.0**2 * REFERENCE_BW_NM  # 0.1 nm expressed in GHz near 1550 nm
    psd = np.zeros_like(wl)  # mW/GHz
    # a broken fibre, or one whose terminal transmitters are out of service (span.in_service,
    # shared with the shelves and the OTDRs' live-fibre check), brings no channel and no ASE
    dark = fibre.break_km is not None or not span.is_in_service(fibre.name)
    lit = np.full(len(centres), not dark)
    if fibre.laser_failed:  # the failed transponder's own channel is missing
        lit[np.argmin(np.abs(centres - float(span.section("transponder")["channel_thz"]) * 1000.0))] = False
    for fc, p in zip(centres[lit], p_mw[lit]):
        psd += p * _raised_cosine(f_ghz - fc, baud, beta) / baud
    # ASE: level per 0.1 nm under each channel = P_ch / OSNR, interpolated between channels
    ase_ref_mw = p_mw / 10.0 ** (osnr / 10.0)
    order = np.argsort(centres)
    ase_psd = np.interp(f_ghz, centres[order], (ase_ref_mw / ref_ghz)[order])
    if dark:
        ase_psd *= 1e-4  # only the receiver's own preamplifier noise remains
    psd += ase_psd
    step_nm = (settings.stop_nm - settings.start_nm) / max(settings.points - 1, 1)
    width = max(int(round(settings.rbw_nm / step_nm)), 1)
    kernel = np.ones(width) / width
    # the filter sees the whole RBW at the sweep's ends too (no zero padding at the edges)
    smoothed = np.convolve(psd, kernel, mode="same") / np.convolve(np.ones_like(psd), kernel, mode="same")
    rbw_ghz = C_M_PER_S / wl**2 * settings.rbw_nm
    power_mw = smoothed * rbw_ghz
    rng = np.random.default_rng(stable_seed(span.seed, fibre_name, "osa", settings.rbw_nm,
                                            settings.points, settings.start_nm))
    power_dbm = 10.0 * np.log10(power_mw) + rng.normal(0.0, 0.01, len(wl))
    return wl, power_dbm


def _raised_cosine(df_ghz: np.ndarray, baud_gbd: float, beta: float) -> np.ndarray:
    """Raised-cosine spectral shape, unit height, integrating to ``baud_gbd`` (GHz)."""
    a = np.abs(df_ghz)
    lo = (1.0 - beta) * baud_gbd / 2.0
    hi = (1.0 + beta) * baud_gbd / 2.0
    out = np.where(a <= lo, 1.0, 0.0)
    if beta > 0:
        mid = (a > lo) & (a <= hi)
        out = np.where(mid, 0.5 * (1.0 + np.cos(np.pi / (beta * baud_gbd) * (a - lo))), out)
    return out
