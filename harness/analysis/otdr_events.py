"""OTDR event search on one trace: greedy, segment by segment, never fitting across an event.

The most significant candidate in any gap between known events (the step or spike statistic
of :mod:`otdr_stats` over its standard deviation, at least ``T_DETECT``) becomes an event:
located, classified and measured by :mod:`otdr_locate`, it splits its gap. When nothing
significant is left, every event is located and measured again between its final neighbours
(non-reflective neighbours held in the ramp model) and dropped if it no longer passes; a loss
with a smaller gain closer than two pulse lengths is joined into one event (what a fit leaves
over of events closer than the pulse). Gaps changed by this are searched again.
Indices are samples, levels dB (5·log10), P the pulse length in samples.
"""

from __future__ import annotations

import math

import numpy as np

from harness.analysis.otdr_locate import classify, locate, ramps, reflection
from harness.analysis.otdr_stats import T_DETECT, Ctx, Found, measure, stats

MAX_EVENTS = 200
SPIKE_FIRST = 1e6
"""Added to a significant spike's statistic: reflections are taken before any step."""


def _best(c: Ctx, a: int, b: int, stop: int, rejected: list[tuple[int, int]]):
    """Most significant candidate in segment [a, b) (candidates before ``stop``): (t, index,
    whether its spike rather than its step made it)."""
    lo, hi = a + c.wmin, min(b - c.p - c.wmin, stop)
    if hi < lo:
        return 0.0, -1, False
    stride = max(1, c.p // 8)
    i = np.arange(lo, hi + 1, stride)
    for s in range(2):  # a coarse pass over the segment, then every sample around its best
        _, _, _, ts, tp = stats(c, a, b, i, coarse=s == 0 and stride > 1)
        # spikes first: a reflection's spike biases the step windows that overlap it, never
        # the reverse (a spike is measured above the higher of the two lines)
        t = np.where(tp >= T_DETECT, tp + SPIKE_FIRST, ts)
        for r0, r1 in rejected:
            t[(i >= r0) & (i < r1)] = 0.0
        j = int(np.argmax(t))
        i = np.arange(max(lo, i[j] - stride), min(hi, i[j] + stride) + 1) if s == 0 else i
    return float(t[j]), int(i[j]), bool(tp[j] >= T_DETECT)


def search(c: Ctx, lo: int, hi: int, stop: int, rounds: int = 3) -> list[Found]:
    """Every event between ``lo`` and ``hi`` (fit bounds), starting before ``stop``: greedy
    search in the gaps between known events, then refinement, until nothing changes."""
    events: list[Found] = []
    for _ in range(rounds):
        found = greedy(c, lo, hi, stop, events)
        events = merge_tails(c, merge_shadows(c, refine(c, found, lo, hi), lo, hi), lo, hi)
        if [(e.k, e.reflective) for e in events] == [(e.k, e.reflective) for e in found]:
            break  # refinement kept every event where the search put it: no gap has changed
    return events


def greedy(c: Ctx, lo: int, hi: int, stop: int, events: list[Found]) -> list[Found]:
    """Add the most significant candidate in any gap between ``events`` until none is left."""
    events = list(events)
    cuts = [lo] + [x for e in events for x in (e.k, e.k + e.ext)] + [hi]
    rejected: dict[tuple[int, int], list] = {}
    best = {seg: _best(c, *seg, stop, []) for seg in zip(cuts[::2], cuts[1::2])}
    for _ in range(MAX_EVENTS - len(events)):
        seg, (t, i, is_spike) = max(best.items(), key=lambda kv: kv[1][0])
        if t < T_DETECT:
            break
        refl = reflection(c, seg[0], seg[1], i) if is_spike else None
        new = [refl] if refl is not None else locate(c, seg[0], seg[1], i, 2 * c.p, pair=True)
        if not new:
            rejected.setdefault(seg, []).append((i - c.p, i + c.p))
            best[seg] = _best(c, *seg, stop, rejected[seg])
            continue
        events += new
        del best[seg]
        cuts = [seg[0]] + [x for e in new for x in (e.k, e.k + e.ext)] + [seg[1]]
        for part in zip(cuts[::2], cuts[1::2]):
            best[part] = _best(c, *part, stop, [])
    return sorted(events, key=lambda e: e.k)


def refine(c: Ctx, events: list[Found], lo: int, hi: int, passes: int = 3) -> list[Found]:
    """Locate and measure each event again between its final neighbours (non-reflective ones
    nearby held in the ramp model, reflective ones bounding it); drop the ones that no longer
    pass."""
    near_m = 3 * c.p
    for _ in range(passes):
        out: list[Found] = []
        changed = False
        for n, ev in enumerate(events):
            a = out[-1].k + out[-1].ext if out else lo
            b = events[n + 1].k if n + 1 < len(events) else hi
            if ev.reflective:  # one event across its dead zone, measured between its neighbours
                new = [x for x in [reflection(c, a, b, max(a, ev.k - c.p // 2))] if x]
                if new and new[0].ext < ev.ext and new[0].k + ev.ext < b - 3:  # a recovery
                    x = new[0]  # found before (see merge_tails) stays in its dead zone
                    loss, var = measure(c, a, b, x.k, ev.ext + ev.k - x.k)
                    if math.isfinite(loss):
                        new = [Found(x.k, ev.ext + ev.k - x.k, True, loss, var, x.height, x.pos_sd, x.kr)]
                new = new or locate(c, a, b, ev.k, c.p // 2)
            else:
                near = out[-2:] + events[n + 1:n + 3]
                fa = max([lo] + [e.k + e.ext for e in near if e.reflective and e.k < ev.k])
                fb = min([hi] + [e.k for e in near if e.reflective and e.k > ev.k])
                fixed = [e.kr for e in near if not e.reflective and abs(e.k - ev.k) < near_m]
                located = ramps(c, fa, fb, ev.kr, c.p // 2, fixed)
                new = [x for x in (classify(c, a, b, kr, rl, ln) for kr, rl, ln in located) if x]
                if not new and a + 3 <= ev.kr < b - 3:  # moved nowhere valid: measure it where it was
                    new = [x for x in [classify(c, a, b, ev.kr, ev.loss, c.p)] if x]
            changed |= len(new) != 1 or new[0].k != ev.k or new[0].reflective != ev.reflective
            out += new[:1]
        events = out
        if not changed:
            break
    return events


def merge_shadows(c: Ctx, events: list[Found], lo: int, hi: int) -> list[Found]:
    """Join a loss and a smaller gain closer than two pulse lengths into one event: events
    closer than about a pulse cannot be told apart, and what the first fit leaves over shows
    as a gain next to it. The joined event spans both transitions."""
    out: list[Found] = []
    i = 0
    while i < len(events):
        e = events[i]
        f = events[i + 1] if i + 1 < len(events) else None
        if (f is not None and not e.reflective and not f.reflective and f.k - e.k <= 2 * c.p
                and e.loss * f.loss < 0 and min(abs(e.loss), abs(f.loss)) < 0.5 * max(abs(e.loss), abs(f.loss))):
            a = out[-1].k + out[-1].ext if out else lo
            b = events[i + 2].k if i + 2 < len(events) else hi
            main = e if abs(e.loss) >= abs(f.loss) else f
            ext = f.k + f.ext - e.k
            loss, var = measure(c, a, b, e.k, ext)
            if math.isfinite(loss):
                out.append(Found(main.k, f.k + f.ext - main.k, False, loss, var, 0.0,
                                 max(main.pos_sd, (f.k - e.k) / 2.0), main.kr))
                i += 2
                continue
        out.append(e)
        i += 1
    return out


def merge_tails(c: Ctx, events: list[Found], lo: int, hi: int) -> list[Found]:
    """Join a reflection and the loss right after it when the trace between them decays
    faster than any fibre (a receiver recovering from the reflection's overload, not
    backscatter): one reflective event whose dead zone ends after that recovery, its loss
    measured by LSA outside it. Backscatter between them (the fibre's slope within the
    noise) keeps them two events: a connector and a splice close after it."""
    out: list[Found] = []
    i = 0
    while i < len(events):
        e = events[i]
        f = events[i + 1] if i + 1 < len(events) else None
        s0 = e.k + e.ext
        if f is not None and e.reflective and not f.reflective and f.loss > 0 and f.k - s0 >= 6:
            n, mx, my, cxx, cxy = (float(v) for v in c.fits.moments(s0, f.k))
            se = float(c.noise.mean_sd((s0 + f.k) / 2.0, 1)) * math.sqrt(12.0 / (n * n * n))
            if cxy / cxx - c.slope0 < -(5.0 * se + 0.5 * abs(c.slope0)):
                a = out[-1].k + out[-1].ext if out else lo
                b = events[i + 2].k if i + 2 < len(events) else hi
                ext = f.k + f.ext - e.k
                loss, var = measure(c, a, b, e.k, ext)
                if math.isfinite(loss):
                    out.append(Found(e.k, ext, True, loss, var, e.height, e.pos_sd, e.kr))
                    i += 2
                    continue
        out.append(e)
        i += 1
    return out
