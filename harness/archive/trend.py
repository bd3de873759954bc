"""``harness archive trend ROOT``: per fibre and event (and per fibre and measurement), the
value over time, a least-squares rate with its standard error, and the date the fitted line
crosses its limit.

Events come from the indexed event tables of the joined (two-direction) view
(``events/bidirectional``): the events of every run are grouped by position along the fibre
(within :data:`EVENT_GROUP_M`, about half a 20 µs pulse), so one splice is one series over the
years. An event's limit is ``maintenance.event_loss_db`` of the limits file; a measurement's
is its own (high or low) as recorded. Time in years from the first campaign of the series.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.archive.index import load_measurements
from harness.errors import HarnessError

EVENT_GROUP_M = 1000.0
"""Events of different runs within this distance (m) of a group's mean are one event."""
EVENT_SET = "events/bidirectional"
SECONDS_PER_YEAR = 365.25 * 86400.0
HORIZON_YEARS = 25.0
"""A crossing further than this after the last campaign (the cable's design life) is not dated."""


@dataclass
class Series:
    """One value over time. ``rate`` and ``rate_se`` in units per year; ``crosses_utc`` the
    date the fitted line reaches ``limit`` (None: never, moving away from it, or no limit)."""

    fibre: str
    station: str
    wavelength_nm: float | None
    measurement: str
    units: str
    distance_m: float | None
    times: list[dt.datetime]
    values: list[float]
    limit: float | None = None
    limit_side: str = "high"
    intercept: float = math.nan
    rate: float = math.nan
    rate_se: float = math.nan
    crosses_utc: str | None = None
    note: str = ""
    runs: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        where = f" at {self.distance_m / 1000:.2f} km" if self.distance_m is not None else ""
        at = f" {self.station}" if self.station else ""
        wl = f" {self.wavelength_nm:.0f} nm" if self.wavelength_nm else ""
        return f"{self.fibre}{at}{wl} {self.measurement}{where}"

    def as_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and not math.isfinite(v) else v
        return {"fibre": self.fibre, "station": self.station, "wavelength_nm": self.wavelength_nm,
                "measurement": self.measurement, "units": self.units,
                "distance_m": self.distance_m, "n": len(self.values),
                "first_utc": self.times[0].isoformat(), "last_utc": self.times[-1].isoformat(),
                "rate_per_year": clean(self.rate), "rate_se_per_year": clean(self.rate_se),
                "value_at_first": clean(self.intercept), "limit": self.limit,
                "limit_side": self.limit_side, "crosses_utc": self.crosses_utc, "note": self.note,
                "points": [[t.isoformat(), v] for t, v in zip(self.times, self.values)]}


def fit(series: Series) -> Series:
    """Least-squares line value = intercept + rate·t (t in years from the first point); the
    rate's standard error from the residuals (n - 2 degrees of freedom); the crossing date."""
    t0 = series.times[0]
    t = np.array([(x - t0).total_seconds() / SECONDS_PER_YEAR for x in series.times])
    y = np.array(series.values)
    n = len(y)
    if n < 3 or np.ptp(t) == 0:
        series.note = "fewer than 3 campaigns: no rate"
        return series
    tm = t.mean()
    sxx = float(((t - tm) ** 2).sum())
    rate = float(((t - tm) * (y - y.mean())).sum() / sxx)
    intercept = float(y.mean() - rate * tm)
    resid = y - (intercept + rate * t)
    series.intercept, series.rate = intercept, rate
    series.rate_se = float(math.sqrt((resid ** 2).sum() / (n - 2) / sxx))
    if series.limit is None:
        return series
    sign = 1.0 if series.limit_side == "high" else -1.0
    now = intercept + rate * t[-1]
    if sign * (now - series.limit) >= 0:
        years = (series.limit - intercept) / rate if rate else math.nan
        if sign * rate > 0 and 0 <= years <= t[-1]:
            series.crosses_utc = (t0 + dt.timedelta(days=years * 365.25)).date().isoformat()
        else:  # beyond it from the start: the first campaign that saw it
            first = next(x for x, v in zip(series.times, y) if sign * (v - series.limit) >= 0) \
                if any(sign * (v - series.limit) >= 0 for v in y) else series.times[-1]
            series.crosses_utc = first.date().isoformat()
        series.note = "beyond its limit at the last campaign"
    elif sign * rate > 0:
        years = (series.limit - intercept) / rate
        if years <= t[-1] + HORIZON_YEARS:
            series.crosses_utc = (t0 + dt.timedelta(days=years * 365.25)).date().isoformat()
        else:
            series.note = f"not within {HORIZON_YEARS:g} years of the last campaign"
        if series.rate_se > 0 and abs(rate) < 2 * series.rate_se:
            series.note = "rate within 2 standard errors of zero: the date is uncertain"
    else:
        series.note = "not moving towards its limit"
    return series


def _group_events(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows of one fibre and wavelength grouped by position (greedy, sorted by distance)."""
    groups: list[list[dict[str, Any]]] = []
    for r in sorted(rows, key=lambda r: r["distance_m"]):
        if groups and abs(r["distance_m"] - np.mean([g["distance_m"] for g in groups[-1]])) <= EVENT_GROUP_M:
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


def build_series(root: Path, event_limit_db: float | None, fibre: str | None = None,
                 measurement: str | None = None, source: str = "recorded") -> list[Series]:
    """Every series of the index (filtered by ``fibre`` and ``measurement``), fitted."""
    rows = [r for r in load_measurements(Path(root), source).to_pylist()
            if r["value"] is not None and r["time"] is not None
            and (fibre is None or r["fibre"] == fibre)
            and (measurement is None or r["measurement"] == measurement)]
    out: list[Series] = []
    events: dict[tuple, list] = {}
    scalars: dict[tuple, list] = {}
    for r in rows:
        if r["measurement"] == "event_loss":
            if r["limit"] == EVENT_SET and r["distance_m"] is not None:
                events.setdefault((r["fibre"], r["wavelength_nm"]), []).append(r)
        else:
            scalars.setdefault((r["fibre"], r["station"], r["wavelength_nm"], r["measurement"]), []).append(r)
    for (fib, wl), group_rows in sorted(events.items(), key=lambda kv: str(kv[0])):
        for group in _group_events(group_rows):
            group.sort(key=lambda r: r["time"])
            out.append(Series(fib, "", wl, "event_loss", "dB",
                              float(np.mean([g["distance_m"] for g in group])),
                              [g["time"] for g in group], [g["value"] for g in group],
                              event_limit_db, "high", runs=[g["run_id"] for g in group]))
    for (fib, station, wl, name), group in sorted(scalars.items(), key=lambda kv: str(kv[0])):
        group.sort(key=lambda r: r["time"])
        last = group[-1]
        limit, side = (last["high"], "high") if last["high"] is not None else (last["low"], "low")
        out.append(Series(fib, station, wl, name, last["units"], None, [g["time"] for g in group],
                          [g["value"] for g in group], limit, side, runs=[g["run_id"] for g in group]))
    if not out:
        raise HarnessError(f"{root}: no indexed values match (fibre {fibre or 'any'}, "
                           f"measurement {measurement or 'any'})")
    return [fit(s) for s in out]


def plot(series: list[Series], path: Path, title: str = "") -> None:
    """A maintenance-report figure: one panel per series (points, fitted line extended to the
    crossing date, the limit, the rate ± standard error and the crossing date). PNG or PDF
    by ``path``'s suffix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    n = len(series)
    cols = 1 if n == 1 else 2
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11.7, max(3.2 * rows, 4.0)), squeeze=False)
    for ax, s in zip(axes.flat, series):
        ax.plot(s.times, s.values, "o", ms=3, label="campaigns")
        if math.isfinite(s.rate):
            end = s.times[-1]
            if s.crosses_utc:
                end = max(end, dt.datetime.fromisoformat(s.crosses_utc).replace(tzinfo=dt.timezone.utc))
            t0 = s.times[0]
            xs = [t0, end]
            ys = [s.intercept + s.rate * (x - t0).total_seconds() / SECONDS_PER_YEAR for x in xs]
            ax.plot(xs, ys, "-", lw=1.2, color="tab:red",
                    label=f"fit {s.rate:+.4f} ± {s.rate_se:.2g} {s.units}/year")
        if s.limit is not None:
            ax.axhline(s.limit, color="k", ls="--", lw=1, label=f"limit {s.limit:g} {s.units}")
        if s.crosses_utc:
            ax.axvline(dt.datetime.fromisoformat(s.crosses_utc), color="tab:red", ls=":", lw=1)
            ax.annotate(f"crosses {s.crosses_utc}", (dt.datetime.fromisoformat(s.crosses_utc), s.limit),
                        fontsize=8, color="tab:red", ha="right", va="bottom")
        ax.set_title(s.label, fontsize=9)
        ax.set_ylabel(s.units)
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(title or "Cable health trend", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
