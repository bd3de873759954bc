"""OTDR trace of one fibre from one station: Rayleigh backscatter, events, pulse, noise.

Power is modelled linearly and shown as the OTDR shows it, 5·log10 (one-way dB):
- backscatter from distance z: P0 · 10^(-2·A(z)/10), A(z) the one-way loss up to z (dB);
- a reflective event of reflectance R adds P_bs(z) · 10^((R - Bs)/10) / D over one pulse
  (Bs: backscatter coefficient at 1 ns, D: pulse width in ns);
- the receiver sees the power averaged over one pulse length c·D/(2·n_g);
- a launch cord (:func:`launch_cord_m`) between the OTDR and the ODF, of the span's fibre;
- Gaussian noise of RMS σ where 5·log10(P0/σ) is the dynamic range, which grows with
  7.5·log10(D) (signal ∝ D, noise ∝ √bandwidth) and 2.5·log10(averaging time).
"""

from __future__ import annotations

import math

import numpy as np

from instruments.errors import ProtocolError
from instruments.protocols import OtdrSettings
from instruments.sim.span import Fibre, Span, at_wavelength, stable_seed

C_M_PER_S = 299_792_458.0
REFERENCE_PULSE_NS = 20_000.0
REFERENCE_AVERAGING_S = 180.0
TOP_OF_SCALE_DB = 3.0
"""How far below the top of the OTDR's scale the backscatter starts (dB)."""


def pulse_length_m(pulse_width_ns: float, group_index: float) -> float:
    """Spatial length of a pulse in the one-way distance frame (m)."""
    return C_M_PER_S * pulse_width_ns * 1e-9 / (2.0 * group_index)


def dynamic_range_db(span: Span, settings: OtdrSettings) -> float:
    """One-way dynamic range (dB, SNR = 1) for these settings on this span's OTDR."""
    otdr = span.section("otdr")
    dr = float(otdr["dynamic_range_db"])
    if settings.wavelength_nm > 1600:
        dr += float(otdr.get("dynamic_range_1625_offset_db", 0.0))
    dr += 7.5 * math.log10(settings.pulse_width_ns / REFERENCE_PULSE_NS)
    dr += 2.5 * math.log10(max(settings.averaging_s, 1e-3) / REFERENCE_AVERAGING_S)
    return dr


LIVE_FIBRE_ERROR = -200
"""SCPI error code of a refused shot ("Execution error")."""


def launch_cord_m(span: Span) -> float:
    """Length of the launch cord between a station's OTDR and its ODF (m): span file
    ``otdr.launch_cord_km``, default 1 km, so the ODF connector lies outside the dead zone of a
    short pulse. The simulated OTDRs shoot through it: their distance 0 is the front panel."""
    return float((span.raw.get("otdr") or {}).get("launch_cord_km", 1.0)) * 1000.0


def check_live_fibre(span: Span, fibre_name: str, station: str) -> None:
    """An OTDR's live-fibre check before it fires: traffic light arriving at its port (the
    fibre's far-end transmitter in service) refuses the shot with a ProtocolError holding the
    SCPI error to queue. Every simulated OTDR calls this first in its start handler."""
    if span.light_arrives(fibre_name, station):
        raise ProtocolError(f'{LIVE_FIBRE_ERROR},"Execution error;live fibre: traffic light '
                            f'detected on {fibre_name}, shot refused"')


def otdr_trace(span: Span, fibre_name: str, station: str, settings: OtdrSettings,
               cord_m: float = 0.0) -> np.ndarray:
    """Level (dB, 5·log10, 0 = top of scale) at distances ``k · resolution_m`` from the OTDR's
    front panel: ``cord_m`` of launch cord (m; a station's OTDR has :func:`launch_cord_m`),
    then the fibre from the station's ODF connector."""
    fibre = span.fibre(fibre_name)
    first = station == span.stations[0]
    n = max(int(round(settings.range_km * 1000.0 / settings.resolution_m)), 16)
    z = np.arange(n, dtype=np.float64) * settings.resolution_m - cord_m  # 0 = the ODF connector
    wl = settings.wavelength_nm
    alpha = at_wavelength(fibre.attenuation_db_per_km, wl)
    end_km, end_reflectance = visible_end(span, fibre, first)
    # one-way loss profile A(z): fibre attenuation plus the steps of the events passed
    loss = alpha * z / 1000.0
    reflections: list[tuple[float, float]] = []
    for event in events_from(span, fibre, first, wl):
        pos_m = event[0] * 1000.0
        if pos_m > end_km * 1000.0:
            break
        loss[z >= pos_m] += event[1]
        if event[2] is not None:
            reflections.append((pos_m, event[2]))
    reflections.append((end_km * 1000.0, end_reflectance))
    bs = at_wavelength(span.section("fibre").get("backscatter_db_1ns", {1550: -82.0}), wl)
    backscatter = 10.0 ** (-2.0 * loss / 10.0)
    backscatter[z > end_km * 1000.0] = 0.0
    pulse_samples = max(int(round(pulse_length_m(settings.pulse_width_ns, settings.group_index)
                                  / settings.resolution_m)), 1)
    signal = _boxcar(backscatter, pulse_samples)
    for pos_m, reflectance in reflections:
        k = int(round((pos_m + cord_m) / settings.resolution_m))
        if 0 <= k < n:
            ratio = 10.0 ** ((reflectance - bs) / 10.0) / settings.pulse_width_ns
            signal[k:k + pulse_samples] += backscatter[max(k - 1, 0)] * ratio
    sigma = 10.0 ** (-2.0 * dynamic_range_db(span, settings) / 10.0)
    rng = np.random.default_rng(stable_seed(span.seed, fibre_name, station, wl,
                                            settings.pulse_width_ns, settings.averaging_s,
                                            settings.resolution_m, n))
    detected = np.abs(signal + rng.normal(0.0, sigma, n))
    detected = np.maximum(detected, sigma * 1e-3)
    return 5.0 * np.log10(detected) - TOP_OF_SCALE_DB


def _boxcar(values: np.ndarray, width: int) -> np.ndarray:
    """Mean of the ``width`` samples ending at each sample: the pulse's leading edge is at z,
    so a step at z0 shows from z0 to z0 + one pulse length."""
    c = np.concatenate([np.zeros(width), np.cumsum(values)])
    return (c[width:] - c[:-width]) / width


def visible_end(span: Span, fibre: Fibre, first: bool) -> tuple[float, float]:
    """Distance from this station to where the glass ends (km), and that end's reflectance."""
    if fibre.break_km is not None:
        d = fibre.break_km if first else span.length_km - fibre.break_km
        return d, fibre.break_reflectance_db
    return span.length_km, float(span.section("otdr").get("end_reflectance_db", -45.0))


def events_from(span: Span, fibre: Fibre, first: bool,
                wavelength_nm: float) -> list[tuple[float, float, float | None]]:
    """(distance from this station km, loss seen from here dB, reflectance or None), in order.

    A connector's reflectance can be overridden per station by a dirty-connector fault.
    """
    here, there = (span.stations[0], span.stations[1]) if first else (span.stations[1], span.stations[0])
    rows = []
    for e in fibre.events:
        d = e.position_km if first else span.length_km - e.position_km
        reflectance = e.reflectance_db
        if e.kind == "connector":
            station = here if d < span.length_km / 2 else there
            reflectance = fibre.connector_reflectance_db.get(station, reflectance)
        rows.append((d, e.loss_seen_from(first, wavelength_nm), reflectance))
    rows.sort(key=lambda r: r[0])
    return rows
