"""``summary.json`` and the one-screen summary printed at the end of a run."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.store import RunStore

COLOURS = {"pass": "green", "marginal": "yellow", "fail": "bold red", "error": "bold magenta",
           "skipped": "dim"}


def build_summary(run_dir: Path) -> dict[str, Any]:
    """The run's identity, overall verdict and every check's verdict and values."""
    store = RunStore(run_dir / "run.h5")
    attrs = store.read_attrs()
    checks = []
    for key, c in sorted(store.read_checks().items()):
        checks.append({
            "key": key, "nodeid": c.get("nodeid", ""), "title": c.get("title", ""),
            "requirement": c.get("requirement", ""), "station": c.get("station", ""),
            "fibre": c.get("fibre", ""),
            "wavelength_nm": None if _nan(c.get("wavelength_nm")) else c.get("wavelength_nm"),
            "verdict": c.get("verdict", ""), "message": c.get("message", ""),
            "measurements": {n: {"value": None if _nan(m["value"]) else m["value"],
                                 "units": m.get("units", ""), "verdict": m.get("verdict", "")}
                             for n, m in c["measurements"].items()},
        })
    counts: dict[str, int] = {}
    for c in checks:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    return {"run_id": attrs.get("run_id"), "replay_of": attrs.get("replay_of"),
            "overall_verdict": attrs.get("overall_verdict"), "counts": counts,
            "started_utc": attrs.get("started_utc"), "finished_utc": attrs.get("finished_utc"),
            "checks": checks}


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def write_summary(run_dir: Path) -> dict[str, Any]:
    summary = build_summary(run_dir)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _natural(key: tuple[str, str]) -> list[Any]:
    """Sort key putting ACC-9 before ACC-10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key[0])] + [key[1]]


def _took(summary: dict[str, Any]) -> str:
    """The run's wall time from its start and finish stamps (UTC), as ``m:ss``; "" if unknown."""
    try:
        seconds = (dt.datetime.fromisoformat(summary["finished_utc"])
                   - dt.datetime.fromisoformat(summary["started_utc"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        return ""
    return f"   in {int(seconds) // 60}:{int(seconds) % 60:02d}" if seconds >= 0 else ""


def print_summary(summary: dict[str, Any], run_dir: Path, console: Console | None = None) -> None:
    """Checks grouped by requirement and title with counts per verdict, then failures, then the
    overall verdict with the counts, and where the record and report are."""
    console = console or Console()
    table = Table(title=f"Run {summary['run_id']}", title_justify="left")
    for col in ("Req.", "Check", "pass", "marginal", "fail", "error"):
        table.add_column(col, justify="right" if col in COLOURS else "left")
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for c in summary["checks"]:
        g = groups.setdefault((c["requirement"], c["title"]), {})
        g[c["verdict"]] = g.get(c["verdict"], 0) + 1
    for (req, title), counts in sorted(groups.items(), key=lambda kv: _natural(kv[0])):
        table.add_row(req, title, *[
            f"[{COLOURS[v]}]{counts[v]}[/]" if counts.get(v) else "·"
            for v in ("pass", "marginal", "fail", "error")])
    console.print(table)
    bad = [c for c in summary["checks"] if c["verdict"] in ("fail", "error")]
    for c in bad[:12]:
        console.print(f"[{COLOURS[c['verdict']]}]{c['verdict'].upper():6s}[/] {c['key']}: {c['message']}")
    if len(bad) > 12:
        console.print(f"... and {len(bad) - 12} more (see summary.json)")
    verdict = summary["overall_verdict"] or "error"
    by_count = sorted(summary["counts"].items(), key=lambda kv: -kv[1])
    counts = ", ".join(f"{n} {v}" for v, n in by_count)
    console.print(f"Overall: [{COLOURS.get(verdict, 'bold')}]{verdict.upper()}[/]   "
                  f"{len(summary['checks'])} checks: {counts or 'none'}{_took(summary)}")
    console.print(f"record {run_dir / 'run.h5'}\nreport {run_dir / 'report.pdf'}", soft_wrap=True)
