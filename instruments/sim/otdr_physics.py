"""OTDR trace of one fibre from one station: Rayleigh backscatter, events, pulse, noise.

Power is modelled linearly and shown as the OTDR shows it, 5·log10 (one-way dB):
- backscatter from distance z: P0 · 10^(-2·A(z)/10), A(z) the one-way loss up to z (dB);
- a reflective event of reflectance R adds P_bs(z) · 10^((R - Bs)/10) / D over one pulse
  (Bs: backscatter coefficient at 1 ns, D: pulse width in ns);
- the receiver sees the power averaged over one pulse length c·D/(2·n_g);
- a launch cord (:func:`launch_cord_m`) between the OTDR and the ODF and a receive cable
  (:func:`receive_cord_m`) after the far ODF, both of the span's fibre; the OTDR's front panel
  connector reflects (:func:`front_panel_reflectance_db`); the glass ends at the end of the
  receive cable with ``otdr.end_reflectance_db`` (a break: where the fibre is broken);
- ghosts: echoes of three reflections (:func:`ghosts`), at the sum of two reflective
  distances less the one that sent the light back out (twice a distance via the front panel);
- the receiver's bandwidth, slow recovery tail and saturation (:mod:`otdr_receiver`);
- Gaussian noise of RMS σ where 5·log10(P0/σ) is the dynamic range, which grows with
  7.5·log10(D) (signal ∝ D, noise ∝ √bandwidth) and 2.5·log10(averaging time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from instruments.errors import ProtocolError
from instruments.protocols import OtdrSettings
from instruments.sim.otdr_receiver import Receiver, ns_to_m, respond, saturate
from instruments.sim.span import Fibre, Span, at_wavelength, stable_seed

REFERENCE_PULSE_NS = 20_000.0
REFERENCE_AVERAGING_S = 180.0


def pulse_length_m(pulse_width_ns: float, group_index: float) -> float:
    """Spatial length of a pulse in the one-way distance frame (m)."""
    return ns_to_m(pulse_width_ns, group_index)


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


@dataclass(frozen=True)
class Reflector:
    """A reflection in the OTDR port's frame: position (m from the front panel), reflectance
    (dB), one-way loss up to it and just past it (dB, from the ODF: negative in the cord)."""

    distance_m: float
    reflectance_db: float
    loss_before_db: float
    loss_after_db: float
    label: str


@dataclass(frozen=True)
class Ghost:
    """An echo: light reflected at ``far`` and ``near`` (port frame), sent back out by ``via``
    (the front panel or a reflector before both), shows at ``near + far - via``. ``strength_db``
    is its reflectance-equivalent (dB): the reflectance a real event at that point and with the
    loss up to it would need to give the same spike."""

    distance_m: float
    strength_db: float
    energy: float
    sources: tuple[str, str, str]


def receive_cord_m(span: Span) -> float:
    """Receive cable after the far ODF (m): span file ``otdr.receive_cord_km``; default the
    launch cord (the far station's own launch cord is this direction's receive cable)."""
    otdr = span.raw.get("otdr") or {}
    return float(otdr.get("receive_cord_km", otdr.get("launch_cord_km", 1.0))) * 1000.0


def front_panel_reflectance_db(span: Span) -> float:
    """The OTDR port's own connector (dB): span file ``otdr.front_panel_reflectance_db``,
    default -45 dB (what four real files in tests/data/sor report at 0 m: -44.5 to -50 dB)."""
    return float((span.raw.get("otdr") or {}).get("front_panel_reflectance_db", -45.0))


def reflectors(span: Span, fibre_name: str, station: str, wavelength_nm: float,
               cord_m: float) -> list[Reflector]:
    """Every reflection the pulse meets, nearest first: the front panel (when ``cord_m`` > 0),
    reflective events on the link and the end of the glass (the receive cable's end)."""
    fibre = span.fibre(fibre_name)
    first = station == span.stations[0]
    alpha = at_wavelength(fibre.attenuation_db_per_km, wavelength_nm)
    end_km, end_reflectance = visible_end(span, fibre, first)
    rows = []
    if cord_m > 0:
        a = -alpha * cord_m / 1000.0
        rows.append(Reflector(0.0, front_panel_reflectance_db(span), a, a, "front panel"))
    steps = 0.0
    for km, loss, reflectance in events_from(span, fibre, first, wavelength_nm):
        if km > end_km:
            break
        before = alpha * km + steps
        steps += loss
        if reflectance is not None:
            rows.append(Reflector(cord_m + km * 1000.0, reflectance, before, before + loss, "event"))
    end = alpha * end_km + steps
    rows.append(Reflector(cord_m + end_km * 1000.0, end_reflectance, end, end, "end"))
    return rows


def ghosts(found: list[Reflector], backscatter_db: float) -> list[Ghost]:
    """First-order echoes (three reflections) of ``found``: for reflectors i, j and a reflector
    k before both (the front panel included), light out to j, back to k, out to i and home
    shows at d_i + d_j - d_k with power R_i·R_k·R_j over a one-way loss of 2(A_i + A_j - A_k)
    (both orders of i ≠ j take the same time: they add). ``energy``: its spike energy in
    backscatter-at-the-ODF units · ns (divide by the pulse width for the spike's height)."""
    out = []
    for k, via in enumerate(found):
        later = found[k + 1:]
        for a, near in enumerate(later):
            for far in later[a:]:
                if via.distance_m >= near.distance_m:
                    continue
                loss = 2.0 * (near.loss_before_db + far.loss_before_db - via.loss_after_db)
                refl = near.reflectance_db + far.reflectance_db + via.reflectance_db
                energy = (1.0 if near is far else 2.0) * 10.0 ** ((refl - backscatter_db - loss) / 10.0)
                at = near.distance_m + far.distance_m - via.distance_m
                # the same spike from a real reflection at ``at`` behind the loss of ``far``:
                strength = 10.0 * math.log10(energy) + backscatter_db + 2.0 * far.loss_before_db
                out.append(Ghost(at, strength, energy, (near.label, far.label, via.label)))
    return sorted(out, key=lambda g: g.distance_m)


def otdr_trace(span: Span, fibre_name: str, station: str, settings: OtdrSettings,
               cord_m: float = 0.0) -> np.ndarray:
    """Level (dB, 5·log10, 0 = top of scale = the receiver's clipping level, as both OTDR
    drivers' trace formats define it: nothing is above 0, a clipped spike is a run of exact
    0 dB samples) at distances ``k · resolution_m`` from the OTDR's
    front panel: ``cord_m`` of launch cord (m; a station's OTDR has :func:`launch_cord_m`),
    then the fibre from the station's ODF connector, the far ODF, the receive cable
    (:func:`receive_cord_m`) to the end of the glass. Reflections, their ghosts and the
    receiver's response (:mod:`otdr_receiver`) included; with ``cord_m`` = 0 there is no
    front panel reflection in the trace (the bare-fibre model)."""
    fibre = span.fibre(fibre_name)
    first = station == span.stations[0]
    n = max(int(round(settings.range_km * 1000.0 / settings.resolution_m)), 16)
    res = settings.resolution_m
    z = np.arange(n, dtype=np.float64) * res - cord_m  # 0 = the ODF connector
    wl = settings.wavelength_nm
    alpha = at_wavelength(fibre.attenuation_db_per_km, wl)
    end_km, _ = visible_end(span, fibre, first)
    # one-way loss profile A(z): fibre attenuation plus the steps of the events passed
    loss = alpha * z / 1000.0
    for km, step, _ in events_from(span, fibre, first, wl):
        if km > end_km:
            break
        loss[z >= km * 1000.0] += step
    bs = at_wavelength(span.section("fibre").get("backscatter_db_1ns", {1550: -82.0}), wl)
    backscatter = 10.0 ** (-2.0 * loss / 10.0)
    backscatter[z > end_km * 1000.0] = 0.0
    p_len = pulse_length_m(settings.pulse_width_ns, settings.group_index)
    signal = _boxcar(backscatter, max(int(round(p_len / res)), 1))
    found = reflectors(span, fibre_name, station, wl, cord_m)
    for r in found:
        _deposit(signal, r.distance_m, p_len, res,
                 10.0 ** ((r.reflectance_db - bs - 2.0 * r.loss_before_db) / 10.0) / settings.pulse_width_ns)
    if (span.raw.get("otdr") or {}).get("ghosts", True):
        for g in ghosts(found, bs):
            _deposit(signal, g.distance_m, p_len, res, g.energy / settings.pulse_width_ns)
    rx = Receiver.from_span(span.raw.get("otdr") or {})
    signal = respond(signal, rx, res, settings.group_index)
    saturation = rx.saturation_level(settings.pulse_width_ns, 10.0 ** (2.0 * alpha * cord_m / 10000.0))
    signal, held = saturate(signal, saturation, rx, res, settings.group_index)
    sigma = 10.0 ** (-2.0 * dynamic_range_db(span, settings) / 10.0)
    rng = np.random.default_rng(stable_seed(span.seed, fibre_name, station, wl,
                                            settings.pulse_width_ns, settings.averaging_s,
                                            settings.resolution_m, n))
    detected = np.abs(signal + rng.normal(0.0, sigma, n))
    detected = np.minimum(np.maximum(detected, sigma * 1e-3), saturation)
    detected[held] = saturation
    return 5.0 * np.log10(detected / saturation)  # 0 dB: the receiver's clipping level


def _deposit(signal: np.ndarray, start_m: float, length_m: float, resolution_m: float,
             height: float) -> None:
    """Add a box of ``height`` from ``start_m`` over ``length_m`` (m) to ``signal`` (samples
    ``resolution_m`` apart), each sample by its overlap: the spike's energy is kept whatever
    the pulse length is against the sample spacing."""
    lo = start_m / resolution_m
    hi = lo + max(length_m / resolution_m, 1e-9)
    first, last = int(math.floor(lo)), int(math.ceil(hi))
    if last <= 0 or first >= len(signal):
        return
    k = np.arange(max(first, 0), min(last, len(signal)))
    overlap = np.minimum(k + 1, hi) - np.maximum(k, lo)
    signal[k] += height * np.clip(overlap, 0.0, None)


def _boxcar(values: np.ndarray, width: int) -> np.ndarray:
    """Mean of the ``width`` samples ending at each sample: the pulse's leading edge is at z,
    so a step at z0 shows from z0 to z0 + one pulse length."""
    c = np.concatenate([np.zeros(width), np.cumsum(values)])
    return (c[width:] - c[:-width]) / width


def visible_end(span: Span, fibre: Fibre, first: bool) -> tuple[float, float]:
    """Distance from this station's ODF to where the glass ends (km): the end of the receive
    cable behind the far ODF (or a break), and that end's reflectance (dB)."""
    if fibre.break_km is not None:
        d = fibre.break_km if first else span.length_km - fibre.break_km
        return d, fibre.break_reflectance_db
    return (span.length_km + receive_cord_m(span) / 1000.0,
            float(span.section("otdr").get("end_reflectance_db", -45.0)))


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
