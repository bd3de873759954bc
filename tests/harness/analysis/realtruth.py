"""Scoring the OTDR analysis on realistic simulated traces (launch and receive cables, front
panel, short-pulse receiver with saturation and recovery tails, ghosts) against the simulator's
own key events (:func:`instruments.sim.otdr_truth.key_events`).

Rules (the issue's, as for the real files): a true event is matched by a reported event within
max(10 m, 2 samples, half the pulse length); an event is *due* when it is reflective, the end,
or a step of at least ``MIN_LOSS_DB`` past the launch dead zone and before the end; a ghost is
due as a ghost (matched only by an event flagged ``ghost``). A reported event matching no true
event (due or not) is a false positive; a reported ghost-flagged event over a real event, or a
real event reported over a ghost without the flag, is wrong.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from harness.analysis.otdr import OtdrAnalysis, analyse_otdr, pulse_length_m
from instruments.protocols import OtdrSettings
from instruments.sim.otdr_physics import launch_cord_m, otdr_trace
from instruments.sim.otdr_truth import key_events
from instruments.sim.span import Span, at_wavelength
from simtruth import Score, visible_limit_m

MIN_LOSS_DB = 0.1


def analyse_shot(span: Span, fibre: str, station: str, s: OtdrSettings,
                 threshold_db: float = 0.05) -> tuple[OtdrAnalysis, float]:
    """(analysis, launch cord m) of one simulated shot through the station's launch cord."""
    cord = launch_cord_m(span)
    y = otdr_trace(span, fibre, station, s, cord)
    z = np.arange(len(y)) * s.resolution_m
    return analyse_otdr(z, y, pulse_width_ns=s.pulse_width_ns, group_index=s.group_index,
                        wavelength_nm=s.wavelength_nm, threshold_db=threshold_db), cord


def score_shot(span: Span, fibre: str, station: str, s: OtdrSettings, result: OtdrAnalysis,
               cord_m: float) -> Score:
    """Score one analysed shot (rules in the module docstring)."""
    p_len = pulse_length_m(s.pulse_width_ns, s.group_index)
    tol = max(10.0, 2 * s.resolution_m, p_len / 2)
    raw = [t for t in key_events(span, fibre, station, s, cord_m) if t.kind != "front panel"]
    truth = _clusters(raw, p_len)
    end = next(t.distance_m for t in truth if t.type == "end")
    lo = 2 * p_len + 2 * tol
    mine = [e for e in result.events + result.after_end]
    tag = f"{fibre} from {station} {s.wavelength_nm:.0f} nm {s.pulse_width_ns:.0f} ns"
    seen = visible_limit_m(span, fibre, station, s)  # from the ODF, at most to the far ODF
    hi = min(s.range_km * 1000.0 - 2 * p_len, cord_m + seen)
    if seen >= span.length_km * 1000.0 - 1.0:  # the link seen whole: the receive reel and end too
        hi = min(end, s.range_km * 1000.0 - 2 * p_len)
    due = [t for t in truth if (t.ghost or t.type != "non-reflective" or abs(t.loss_db) >= MIN_LOSS_DB)
           and lo <= t.distance_m <= s.range_km * 1000.0 - 2 * p_len
           and (t.distance_m <= hi or t.ghost)]
    pairs = sorted((abs(e.distance_m - t.distance_m), i, j) for i, e in enumerate(mine)
                   for j, t in enumerate(due) if abs(e.distance_m - t.distance_m) <= tol)
    used, matched = set(), {}
    for _, i, j in pairs:
        if i not in used and j not in matched:
            used.add(i)
            matched[j] = i
    sc = Score()
    for j, t in enumerate(due):
        e = mine[matched[j]] if j in matched else None
        wrong = e is not None and ((t.type == "end") != (e.type == "end")
                                   or (t.type == "non-reflective" and e.type == "reflective"))
        if e is None or e.ghost != t.ghost or wrong:
            sc.fn += 1
            sc.misses.append(f"{tag}: {t.distance_m:.1f} m {t.kind} {t.type} {t.loss_db:+.3f} dB "
                             f"R {t.reflectance_db}" + (f" (found {e.type}, ghost {e.ghost})" if e else ""))
            continue
        sc.tp += 1
        sc.position_errors.append(e.distance_m - t.distance_m)
        if t.type == "non-reflective" and e.type == "non-reflective":
            sc.loss_errors.append(e.loss_db - t.loss_db)
        elif t.type == "reflective" and not t.ghost and e.type != "reflective":
            sc.far.append(f"{tag}: {t.distance_m:.1f} m reflective reported {e.type}")
    for i, e in enumerate(mine):
        if i not in used and all(abs(e.distance_m - t.distance_m) > tol for t in raw):
            sc.fp += 1
            sc.false.append(f"{tag}: {e.distance_m:.1f} m {e.type} {e.loss_db:+.3f} dB "
                            f"R {e.reflectance_db} ghost {e.ghost}")
    return sc


def campaign(span: Span, settings: list[OtdrSettings], fibres: list[str]) -> Score:
    """Score every fibre from both stations at each of ``settings``."""
    total = Score()
    for s in settings:
        for fb in fibres:
            for station in span.stations:
                result, cord = analyse_shot(span, fb, station, s)
                total.add(score_shot(span, fb, station, s, result, cord))
    return total


def short_pulses(range_km: float = 12.0) -> list[OtdrSettings]:
    """Short-span settings: 5-100 ns at 1310 and 1550 nm, fine sampling, and 1 µs."""
    base = OtdrSettings()
    out = []
    for pw, res in ((5.0, 0.25), (10.0, 0.5), (30.0, 1.0), (100.0, 2.0), (1000.0, 5.0)):
        for wl in (1310.0, 1550.0):
            out.append(replace(base, pulse_width_ns=pw, resolution_m=res, range_km=range_km,
                               wavelength_nm=wl, averaging_s=30.0))
    return out


def _clusters(truth: list, p_len: float) -> list:
    """Steps closer than one pulse length cannot be told apart (nor by an instrument): one
    event there, with their summed loss, at the position of the larger."""
    out = []
    for t in truth:
        prev = out[-1] if out else None
        if (prev is not None and t.type == prev.type == "non-reflective" and not t.ghost
                and t.distance_m - prev.distance_m < p_len):
            big = t if abs(t.loss_db) > abs(prev.loss_db) else prev
            out[-1] = replace(big, loss_db=prev.loss_db + t.loss_db)
            continue
        out.append(t)
    return out


def true_orl_db(span: Span, fibre: str, station: str, s: OtdrSettings, cord_m: float,
                step_m: float = 1.0) -> float:
    """Optical return loss (dB) the span's own figures give, seen from the OTDR port, the port's
    own reflection excluded (as the analysis states it): the Rayleigh backscatter of every metre
    of glass (``backscatter_db_1ns`` per 1 ns pulse length) up to the end, attenuated two ways
    by the fibre and the events passed, plus each reflection below the receiver's clipping
    times its two-way loss. Summed numerically from the span file, not from a trace."""
    wl = s.wavelength_nm
    alpha = at_wavelength(span.fibre(fibre).attenuation_db_per_km, wl) / 1000.0  # dB/m
    bs = at_wavelength(span.section("fibre").get("backscatter_db_1ns", {1550: -82.0}), wl)
    per_m = 10.0 ** (bs / 10.0) / pulse_length_m(1.0, s.group_index)
    events = [e for e in key_events(span, fibre, station, s, cord_m)
              if e.kind != "front panel" and not e.ghost]
    end_m = next(e.distance_m for e in events if e.type == "end")
    z = np.arange(0.0, end_m, step_m) + step_m / 2
    loss = alpha * z
    for e in events:
        loss[z >= e.distance_m] += e.loss_db
    total = float(np.sum(per_m * 10.0 ** (-2.0 * loss / 10.0)) * step_m)
    for e in events:
        if e.reflectance_db is not None:
            before = alpha * e.distance_m + sum(x.loss_db for x in events if x.distance_m < e.distance_m)
            total += 10.0 ** (e.reflectance_db / 10.0) * 10.0 ** (-2.0 * before / 10.0)
    return -10.0 * math.log10(total)
