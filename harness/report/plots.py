"""The report's figures (matplotlib, no GUI): OTDR traces, OSA spectra, PM trends, as SVG.

Figures are made as ``matplotlib.figure.Figure`` objects, never through pyplot, so no GUI
backend is ever loaded and the process-wide backend is left alone (rasterising, if any, is Agg).

Traces are reduced to a min/max envelope of about 2000 points before plotting: every peak and
dip of the full trace stays visible and a report of some 40 traces draws in seconds. Figures
are written deterministically (fixed SVG id salt, no date).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import rc_context
from matplotlib.dates import AutoDateLocator, DateFormatter
from matplotlib.figure import Figure

from harness.report.model import to_reference
from harness.report.record import RunRecord

PLOT_POINTS = 2000
WIDTH_IN = 7.0
DIRECTION_COLOURS = ("#1f5fa8", "#d9731a", "#2e8b57", "#8e44ad")
FAIL = "#c62828"
GRID = "#d0d4da"

RC = {
    "svg.hashsalt": "caspian-harness-report",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 7.5,
    "axes.titlesize": 8,
    "axes.labelsize": 7.5,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "axes.linewidth": 0.6,
    "lines.linewidth": 0.7,
    "axes.edgecolor": "#444444",
    "axes.grid": True,
    "grid.color": GRID,
    "grid.linewidth": 0.4,
    "path.simplify": True,
}


def envelope(x: np.ndarray, y: np.ndarray, points: int = PLOT_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Reduce (x, y) to about ``points`` samples: per bin the minimum and the maximum, in order.

    Non-finite samples never win a bin's minimum or maximum (a bin with nothing finite gives a
    NaN, i.e. a gap in the line).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    if n <= points:
        return x, y
    chunk = math.ceil(n / (points // 2))
    bins = math.ceil(n / chunk)
    pad = bins * chunk - n
    finite = np.isfinite(y)
    lo = np.where(finite, y, np.inf)
    hi = np.where(finite, y, -np.inf)
    if pad:
        lo = np.concatenate([lo, np.full(pad, np.inf)])
        hi = np.concatenate([hi, np.full(pad, -np.inf)])
    base = np.arange(bins) * chunk
    i_min = base + lo.reshape(bins, chunk).argmin(axis=1)
    i_max = base + hi.reshape(bins, chunk).argmax(axis=1)
    first = np.minimum(i_min, i_max)
    second = np.maximum(i_min, i_max)
    idx = np.empty(2 * bins, dtype=np.int64)
    idx[0::2], idx[1::2] = first, second
    idx = np.minimum(idx, n - 1)
    return x[idx], np.where(finite[idx], y[idx], np.nan)


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, format="svg", metadata={"Date": None})


def otdr_figure(record: RunRecord, group: dict[str, Any], span_m: float, path: Path) -> None:
    """Both directions of one fibre at one wavelength, distance from the first station (km)."""
    with rc_context(RC):
        fig = Figure(figsize=(WIDTH_IN, 2.9))
        fig.subplots_adjust(left=0.075, right=0.985, bottom=0.14, top=0.975)
        ax = fig.add_subplot()
        top = -math.inf
        bottom = math.inf
        for i, (tid, reverse) in enumerate(zip(group["trace_ids"], group["reverse"])):
            t = record.traces[tid]
            colour = DIRECTION_COLOURS[i % len(DIRECTION_COLOURS)]
            xs, ys = envelope(t.x, t.y)
            xr = (span_m - xs) if reverse and math.isfinite(span_m) else xs
            ax.plot(xr / 1000.0, ys, color=colour, label=group["directions"][i]["direction"])
            fin = ys[np.isfinite(ys)]
            if fin.size:
                top = max(top, float(fin.max()))
                bottom = min(bottom, float(np.percentile(fin, 0.5)))
            for ends in (False, True):
                evs = [e for e in t.events or [] if (e.type == "end") == ends]
                if not evs:
                    continue
                k = np.clip(np.searchsorted(t.x, [e.distance_m for e in evs]), 0, t.x.size - 1)
                pos = np.array([to_reference(e.distance_m, reverse, span_m) for e in evs]) / 1000.0
                ax.plot(pos, t.y[k], marker="x" if ends else "v", markersize=3.5, color=colour,
                        markeredgewidth=0.8, linestyle="none", zorder=5)
        if not math.isfinite(top):
            top, bottom = 0.0, -60.0
        upper = top + 4.0
        ax.set_ylim(bottom - 1.0, upper)
        if math.isfinite(span_m):
            ax.set_xlim(-0.02 * span_m / 1000.0, 1.02 * span_m / 1000.0)
        # event numbers along the top, alternating height where they crowd
        last = -math.inf
        row = 0
        for ev in group["events"]:
            km = ev["position_m"] / 1000.0
            row = (row + 1) % 2 if math.isfinite(span_m) and km - last < 0.03 * span_m / 1000.0 else 0
            last = km
            ax.annotate(str(ev["n"]), (km, upper), xytext=(0, -7 - 7 * row), textcoords="offset points",
                        ha="center", va="center", fontsize=6,
                        color=FAIL if ev["over_limit"] else "#333333",
                        fontweight="bold" if ev["over_limit"] else "normal")
        if group["events"]:
            ax.vlines([ev["position_m"] / 1000.0 for ev in group["events"]], 0, 1,
                      transform=ax.get_xaxis_transform(), color="#9aa3ad", linewidth=0.3,
                      linestyle=":", zorder=0)
        ref = group["reference"] or "first station"
        ax.set_xlabel(f"Distance from {ref} (km)")
        ax.set_ylabel("Level (dB, 5·log10)")
        ax.legend(loc="upper center", ncols=len(group["trace_ids"]), frameon=True, framealpha=0.9,
                  edgecolor=GRID, bbox_to_anchor=(0.5, 0.9))
        _save(fig, path)


def osa_figure(record: RunRecord, section: dict[str, Any], path: Path) -> None:
    """A spectrum and, below it, the OSNR of each channel against the limit."""
    t = record.traces[section["trace_id"]]
    channels = section["channels"]
    with rc_context(RC):
        fig = Figure(figsize=(WIDTH_IN, 3.6 if channels else 2.6))
        fig.subplots_adjust(left=0.075, right=0.985, bottom=0.11 if channels else 0.15, top=0.975,
                            hspace=0.08)
        if channels:
            ax, bx = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
        else:
            ax, bx = fig.add_subplot(), None
        xs, ys = envelope(t.x, t.y)
        ax.plot(xs, ys, color=DIRECTION_COLOURS[0])
        ax.set_ylabel(f"Power ({t.y_units or 'dBm'})")
        if bx is None:
            ax.set_xlabel(f"Wavelength ({t.x_units or 'nm'})")
        else:
            wl = np.array([c["center_nm"] for c in channels], dtype=float)
            osnr = np.array([c["osnr_db"] if c["osnr_db"] is not None else np.nan for c in channels])
            bad = np.array([c["below_limit"] for c in channels], dtype=bool)
            # one stroke per channel (a LineCollection draws far faster than 40 bar patches)
            bar_pt = max(0.8, min(4.0, 0.45 * WIDTH_IN * 72 / max(wl.size, 1) / 1.6))
            bx.vlines(wl[~bad], 0, np.nan_to_num(osnr[~bad]), color="#5b8fc9", linewidth=bar_pt)
            if bad.any():
                bx.vlines(wl[bad], 0, np.nan_to_num(osnr[bad]), color=FAIL, linewidth=bar_pt)
            missing = ~np.isfinite(osnr)
            if missing.any():
                bx.plot(wl[missing], np.zeros(missing.sum()), "x", color="#777777", markersize=3)
            if section["limit_low"] is not None:
                bx.axhline(section["limit_low"], color=FAIL, linewidth=0.8, linestyle="--",
                           label=f"limit {section['limit_low']:g} dB")
                bx.legend(loc="lower right", frameon=True, framealpha=0.9, edgecolor=GRID)
            fin = osnr[np.isfinite(osnr)]
            hi = max(float(fin.max()) if fin.size else 0.0, section["limit_low"] or 0.0)
            bx.set_ylim(0, hi * 1.15 + 1)
            bx.set_ylabel("OSNR (dB, 0.1 nm)")
            bx.set_xlabel(f"Wavelength ({t.x_units or 'nm'})")
        _save(fig, path)


def pm_figure(series: list[dict[str, Any]], path: Path) -> None:
    """Q over time per channel when there are several bins, else Q per channel as bars."""
    with rc_context(RC):
        fig = Figure(figsize=(WIDTH_IN, 3.0))
        fig.subplots_adjust(left=0.075, right=0.975, bottom=0.15, top=0.84)
        ax = fig.add_subplot()
        trend = any(s["bins"] >= 3 for s in series)
        label = f"{series[0]['y_label']} ({series[0]['y_units']})" if series else "Q (dB)"
        if trend:
            absolute = all(np.nanmin(s["_x"]) > 1e9 for s in series if s["_x"].size)
            for i, s in enumerate(series):
                x = s["_x"]
                if absolute:
                    x = [dt.datetime.fromtimestamp(float(v), dt.timezone.utc).replace(tzinfo=None) for v in x]
                else:
                    x = x / 3600.0
                ax.plot(x, s["_y"], color=f"C{i % 10}", label=f"{s['fibre']} at {s['station']}",
                        marker="." if s["bins"] < 30 else None, markersize=2)
            if absolute:
                ax.xaxis.set_major_locator(AutoDateLocator(minticks=4, maxticks=8))
                ax.xaxis.set_major_formatter(DateFormatter("%d %b %H:%M"))
                ax.set_xlabel("Bin start (UTC)")
            else:
                ax.set_xlabel("Elapsed time (h)")
            ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.01), ncols=min(4, len(series)),
                      frameon=False)
        else:
            names = [f"{s['fibre']}\n{s['station']}" for s in series]
            values = [float(np.nanmean(s["_y"])) if np.isfinite(s["_y"]).any() else 0.0 for s in series]
            ax.bar(range(len(series)), values, color="#5b8fc9", width=0.6)
            ax.set_xticks(range(len(series)), names)
            ax.grid(axis="x", visible=False)
            ax.set_ylim(0, max(values + [1.0]) * 1.15)
        ax.set_ylabel(label)
        _save(fig, path)


def draw_all(record: RunRecord, model: dict[str, Any], span_m: float, out: Path) -> list[str]:
    """Draw every figure the model names into ``out``; returns the file names."""
    names = []
    for group in model["otdr"]:
        otdr_figure(record, group, span_m, out / group["figure"])
        names.append(group["figure"])
    for section in model["osa"]:
        osa_figure(record, section, out / section["figure"])
        names.append(section["figure"])
    if model["pm"]:
        pm_figure(model["pm"], out / model["pm_figure"])
        names.append(model["pm_figure"])
    return names
