"""Ground truth of a simulated trace: the key events an ideal analysis reports, from the port.

For tests of the trace analysis (harness/analysis/otdr*.py) and for anyone comparing an
analysis of a simulated .sor with what the span file put there. Distances in m from the OTDR's
front panel (the trace's frame, launch cord included), losses as seen from that station (dB),
reflectances in dB. The figures come from the same functions that draw the trace.
"""

from __future__ import annotations

from dataclasses import dataclass

from instruments.protocols import OtdrSettings
from instruments.sim.otdr_physics import (dynamic_range_db, events_from, ghosts, pulse_length_m,
                                          reflectors, visible_end)
from instruments.sim.otdr_receiver import Receiver
from instruments.sim.span import Span, at_wavelength

GHOST_VISIBLE_SNR = 3.0
"""A ghost is listed when its spike is this many noise RMS above the level under it."""


@dataclass(frozen=True)
class KeyEvent:
    """One expected event. ``kind``: front panel, connector, splice, joint, bend, ropa, end or
    ghost; ``type`` as the analysis reports it (reflective, non-reflective, end); ``saturated``:
    its spike reaches the receiver's clipping level (its reflectance cannot be read off it);
    ``ghost``: an echo, not a feature of the fibre; ``label`` the span file's name for it."""

    distance_m: float
    kind: str
    type: str
    loss_db: float
    reflectance_db: float | None
    saturated: bool = False
    ghost: bool = False
    label: str = ""


def key_events(span: Span, fibre: str, station: str, settings: OtdrSettings,
               cord_m: float) -> list[KeyEvent]:
    """The events of ``fibre`` shot from ``station`` with ``settings`` through ``cord_m`` (m) of
    launch cord, nearest first: the front panel (when ``cord_m`` > 0), every event of the span
    file up to the end of the glass, the end (the receive cable's end or a break), and the
    ghosts that stand out of the noise (``GHOST_VISIBLE_SNR``) within the range."""
    fb = span.fibre(fibre)
    first = station == span.stations[0]
    wl = settings.wavelength_nm
    end_km, end_reflectance = visible_end(span, fb, first)
    bs = at_wavelength(span.section("fibre").get("backscatter_db_1ns", {1550: -82.0}), wl)
    rx = Receiver.from_span(span.raw.get("otdr") or {})
    alpha = at_wavelength(fb.attenuation_db_per_km, wl)
    clip = rx.saturation_level(settings.pulse_width_ns, 10.0 ** (2.0 * alpha * cord_m / 10000.0))

    def saturated(reflectance: float, loss_before_db: float) -> bool:
        """The spike over the backscatter at its place (linear, ODF backscatter = 1) clips."""
        spike = 10.0 ** ((reflectance - bs) / 10.0) / settings.pulse_width_ns + 1.0
        return spike * 10.0 ** (-2.0 * loss_before_db / 10.0) > clip

    rows: list[KeyEvent] = []
    found = reflectors(span, fibre, station, wl, cord_m)
    if cord_m > 0:
        fp = found[0]
        rows.append(KeyEvent(0.0, "front panel", "reflective", 0.0, fp.reflectance_db,
                             saturated(fp.reflectance_db, fp.loss_before_db), label="OTDR port"))
    labels = sorted(((e.position_km if first else span.length_km - e.position_km, e)
                     for e in fb.events), key=lambda row: row[0])  # as events_from orders them
    steps = 0.0
    for (km, loss, reflectance), (_, event) in zip(events_from(span, fb, first, wl), labels):
        if km >= end_km:
            break
        before = alpha * km + steps
        steps += loss
        rows.append(KeyEvent(cord_m + km * 1000.0, event.kind,
                             "non-reflective" if reflectance is None else "reflective", loss,
                             reflectance, reflectance is not None and saturated(reflectance, before),
                             label=event.label))
    end_loss = alpha * end_km + steps
    rows.append(KeyEvent(cord_m + end_km * 1000.0, "end", "end", 0.0, end_reflectance,
                         saturated(end_reflectance, end_loss),
                         label="break" if fb.break_km is not None else "receive cable end"))
    if (span.raw.get("otdr") or {}).get("ghosts", True):
        sigma = 10.0 ** (-2.0 * dynamic_range_db(span, settings) / 10.0)
        p_len = pulse_length_m(settings.pulse_width_ns, settings.group_index)
        for g in ghosts(found, bs):
            height = g.energy / settings.pulse_width_ns * min(1.0, p_len / settings.resolution_m)
            if g.distance_m < settings.range_km * 1000.0 and height > GHOST_VISIBLE_SNR * sigma:
                rows.append(KeyEvent(g.distance_m, "ghost", "reflective", 0.0, g.strength_db,
                                     ghost=True, label=" / ".join(g.sources)))
    return sorted(rows, key=lambda r: r.distance_m)
