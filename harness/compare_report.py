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
            fig, ax = plt.subplots(figsize=(11.7, 8.3))
            for station in run.stations:
                for view, style, label in ((base, "-", base.run_id), (run, "-", run.run_id)):
                    t = view.traces.get((station, fibre, wl))
                    if t is None:
                        continue
                    x = t.distance_m if station == first else run.length_m - t.distance_m
                    ax.plot(x / 1000.0, t.level_db, style, lw=0.6,
                            alpha=0.6 if view is base else 0.9,
                            label=f"{label} from {station}")
            for c in changes:
                if c.fibre != fibre or c.wavelength_nm != wl or c.distance_m is None:
                    continue
                colour = "red" if c.exceeds else "orange"
                ax.axvline(c.distance_m / 1000.0, color=colour, ls="--", lw=1)
                after = "" if c.loss_db_after is None else f" {c.loss_db_after:.2f} dB"
                ax.annotate(f"{c.kind}{after}\n{c.distance_m / 1000:.2f} km", (c.distance_m / 1000.0, 1.0),
                            xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right",
                            fontsize=8, color=colour)
            ax.set_xlabel(f"Distance from {first} (km)")
            ax.set_ylabel("Level (dB, 5·log10)")
            ax.set_title(f"{fibre} at {wl:.0f} nm: {base.run_id} (baseline) vs {run.run_id}")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc="lower left")
            pdf.savefig(fig)
            plt.close(fig)
        if not pages:
            fig = plt.figure(figsize=(11.7, 8.3))
            fig.text(0.1, 0.5, "No OTDR trace in common between the two runs.")
            pdf.savefig(fig)
            plt.close(fig)
