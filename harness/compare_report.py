"""Output of ``harness compare``: the console table, the JSON document and the PDF overlay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.compare import Change
from harness.compare_load import RunView


def document(base: RunView, run: RunView, changes: list[Change], limits: dict[str, float]
             ) -> dict[str, Any]:
    """The ``--json`` document: both runs, every change, the maintenance limits, the verdict."""
    return {"baseline": {"run_id": base.run_id, "started_utc": base.started_utc,
                         "run_dir": str(base.run_dir)},
            "run": {"run_id": run.run_id, "started_utc": run.started_utc, "run_dir": str(run.run_dir)},
            "stations": run.stations, "maintenance": limits,
            "changes": [c.as_dict() for c in changes],
            "verdict": "fail" if any(c.exceeds for c in changes) else "pass"}


def print_changes(doc: dict[str, Any], console: Console | None = None) -> None:
    """One row per change, failing ones first; then the verdict."""
    console = console or Console()
    first = doc["stations"][0]
    table = Table(title=f"{doc['baseline']['run_id']} → {doc['run']['run_id']}", title_justify="left")
    for col in ("fibre", "station", "nm", f"km from {first}", "change", "before", "after",
                "limit", "where"):
        table.add_column(col)
    for c in sorted(doc["changes"], key=lambda c: (not c["exceeds"], c["fibre"], c["distance_m"] or 0)):
        rec = c["located"].get("nearest_record")
        where = (f"{rec['offset_m'] / 1000:+.2f} km from {rec['label']} at {rec['distance_km']:.1f} km"
                 if rec else "")
        style = "bold red" if c["exceeds"] else ""
        table.add_row(c["fibre"], c["station"] or "both",
                      f"{c['wavelength_nm']:.0f}" if c["wavelength_nm"] else "",
                      f"{c['distance_m'] / 1000:.2f}" if c["distance_m"] is not None else "",
                      f"[{style}]{c['kind']}[/]" if style else c["kind"], _fmt(c["value_before"]),
                      _fmt(c["value_after"]), _fmt(c["limit"]) + (f" {c['units']}" if c["limit"] else ""),
                      where)
    console.print(table)
    failing = sum(c["exceeds"] for c in doc["changes"])
    console.print(f"Verdict: {doc['verdict'].upper()}   {len(doc['changes'])} change(s), "
                  f"{failing} beyond the maintenance limits")


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def write_pdf(path: Path, base: RunView, run: RunView, changes: list[Change]) -> None:
    """One page per fibre and wavelength: the baseline's and the run's traces from each
    station overlaid (in the first station's frame, km), the changes marked and labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    first = run.stations[0]
    pages = sorted({(f, wl) for (_, f, wl) in run.traces})
    with PdfPages(path) as pdf:
        for fibre, wl in pages:
            marked = [c for c in changes if c.fibre == fibre and c.wavelength_nm == wl
                      and c.distance_m is not None]
            zooms = marked[:4]
            fig = plt.figure(figsize=(11.7, 8.3))
            grid = fig.add_gridspec(2 if zooms else 1, max(len(zooms), 1),
                                    height_ratios=[2, 1] if zooms else [1])
            ax = fig.add_subplot(grid[0, :])
            panels = [(ax, None)] + [(fig.add_subplot(grid[1, i]), c) for i, c in enumerate(zooms)]
            for panel, around in panels:
                for station in run.stations:
                    if around is not None and station != (around.station if around.station in
                                                          run.stations else first):
                        continue  # the zoom shows the trace of the station that located it
                    for view in (base, run):
                        t = view.traces.get((station, fibre, wl))
                        if t is None:
                            continue
                        x = (t.distance_m if station == first else run.length_m - t.distance_m) / 1000.0
                        y = t.level_db
                        if around is not None:  # ±6 km around the change, from this station
                            keep = abs(x - around.distance_m / 1000.0) < 6.0
                            x, y = x[keep], y[keep]
                        panel.plot(x, y, lw=0.6 if around is None else 1.0,
                                   alpha=0.6 if view is base else 0.95,
                                   label=f"{view.run_id} from {station}")
                for c in marked if around is None else [around]:
                    colour = "red" if c.exceeds else "orange"
                    panel.axvline(c.distance_m / 1000.0, color=colour, ls="--", lw=1)
                    after = "" if c.loss_db_after is None else f" {c.loss_db_after:.2f} dB"
                    panel.annotate(f"{c.kind}{after} at {c.distance_m / 1000:.2f} km",
                                   (c.distance_m / 1000.0, 1.0), xycoords=("data", "axes fraction"),
                                   rotation=90, va="top", ha="right", fontsize=7, color=colour)
                panel.grid(alpha=0.3)
                if around is not None:
                    panel.set_title(f"{around.kind} at {around.distance_m / 1000:.2f} km", fontsize=8)
                    panel.tick_params(labelsize=7)
            ax.set_xlim(-5, run.length_m / 1000.0 + 5)
            ax.set_xlabel(f"Distance from {first} (km)")
            ax.set_ylabel("Level (dB, 5·log10)")
            ax.set_title(f"{fibre} at {wl:.0f} nm: {base.run_id} (baseline) vs {run.run_id}")
            ax.legend(fontsize=7, loc="lower left")
            fig.tight_layout()
            pdf.savefig(fig)
            plt.close(fig)
        if not pages:
            fig = plt.figure(figsize=(11.7, 8.3))
            fig.text(0.1, 0.5, "No OTDR trace in common between the two runs.")
            pdf.savefig(fig)
            plt.close(fig)
