"""The maintenance commands of ``harness``: ``compare`` and ``archive synth|index|trend|rejudge``.

Bad input (a missing run folder, a limits file without ``maintenance:``, an unreachable Dask
scheduler) raises a HarnessError: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness.defaults import LIMITS


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.compare import compare_runs
    from harness.compare_report import document, print_changes, write_pdf

    base, run, changes, limits = compare_runs(Path(args.baseline), Path(args.run),
                                              Path(args.limits), trust=args.trust)
    doc = document(base, run, changes, limits)
    if args.output:
        write_pdf(Path(args.output), base, run, changes)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print_changes(doc)
        if args.output:
            print(f"Overlay written: {args.output}")
    return 1 if doc["verdict"] == "fail" else 0


def cmd_synth(args: argparse.Namespace) -> int:
    from harness.archive.synth import synthesize

    truth = synthesize(Path(args.root), args.runs, args.years, args.seed,
                       tuple(f.strip() for f in args.fibres.split(",") if f.strip()),
                       args.workers, args.scheduler, not args.no_progress)
    print(f"{len(truth['runs']) - len(truth['failed'])} synthetic runs written to {args.root}; "
          f"ground truth in {Path(args.root) / 'truth.json'}")
    for f in truth["failed"]:
        print(f"  failed {f['run_id']}: {f['reason']}")
    return 1 if truth["failed"] else 0


def _cluster_options(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, help="local Dask worker processes (default: one per core)")
    g.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="an existing Dask scheduler whose workers see the same archive path")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_archive_commands(sub: Any) -> None:
    """Add ``compare`` and ``archive`` to the CLI's subparsers."""
    p = sub.add_parser("compare", help="what changed since a baseline run (maintenance limits)")
    p.add_argument("baseline", metavar="BASELINE_RUN")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--limits", default=str(LIMITS),
                   help="limits file with a maintenance: section (default: the plan's)")
    p.add_argument("--json", action="store_true", help="print the changes and verdict as JSON")
    p.add_argument("-o", "--output", metavar="FILE.pdf", help="overlay of the traces, changes marked")
    p.add_argument("--trust", action="store_true", help="compare even if a run's files changed")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("archive", help="an archive of run folders: synth, index, trend, rejudge")
    archive = p.add_subparsers(dest="archive_command", required=True, metavar="SUBCOMMAND")
    synth_help = ("write SYNTHETIC periodic campaigns with ageing (acquisitions computed "
                  "from the span model, not through the instruments' transport)")
    s = archive.add_parser(
        "synth", help=synth_help,
        description=synth_help + ": each run's provenance says so; each run is judged by the "
                    "acceptance plan replayed over them; ground truth in ROOT/truth.json")
    s.add_argument("root", metavar="ROOT")
    s.add_argument("--runs", type=int, required=True, help="number of campaigns (2 or more)")
    s.add_argument("--years", type=float, required=True, help="period they cover (years)")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--fibres", default="FP2-F1",
                   help="fibres per run, comma-separated (default FP2-F1; 1550 nm only)")
    _cluster_options(s)
    s.set_defaults(func=cmd_synth)

    s = archive.add_parser("index", help="index every run, check and measurement (Parquet in "
                                         "ROOT/.archive/); only new or changed folders are read")
    s.add_argument("root", metavar="ROOT")
    s.set_defaults(func=lambda a: cmd_index(a))

    s = archive.add_parser("trend", help="per fibre and event: value over time, fitted rate and "
                                         "its standard error, date it crosses its limit")
    s.add_argument("root", metavar="ROOT")
    s.add_argument("--fibre", help="only this fibre, e.g. FP2-F1")
    s.add_argument("--measurement", help="only this measurement, e.g. event_loss, attenuation")
    s.add_argument("--limits", default=str(LIMITS), help="limits file (maintenance.event_loss_db)")
    s.add_argument("--source", choices=("recorded", "rejudged"), default="recorded",
                   help="the runs' own verdicts (default) or the rejudged rows")
    s.add_argument("--json", action="store_true")
    s.add_argument("-o", "--output", metavar="FILE", help="plot (.png or .pdf)")
    s.add_argument("--plots", type=int, default=6, help="series in the plot (soonest to cross first)")
    s.set_defaults(func=lambda a: cmd_trend(a))

    s = archive.add_parser("rejudge", help="judge every run again with the current analysis and "
                                           "limits, on Dask (resumable; run folders only read)")
    s.add_argument("root", metavar="ROOT")
    s.add_argument("--limits", help="limits file (default: the plan's current test_plans/limits.yaml)")
    _cluster_options(s)
    s.set_defaults(func=lambda a: cmd_rejudge(a))


def cmd_index(args: argparse.Namespace) -> int:
    from harness.archive.index import load_runs, update_index

    counts = update_index(Path(args.root))
    print(f"{counts['runs']} run folders: {counts['read']} read, {counts['kept']} unchanged, "
          f"{counts['removed']} gone; {counts['rows']} rows in "
          f"{Path(args.root) / '.archive' / 'measurements.parquet'}")
    bad = [r for r in load_runs(Path(args.root)) if r["status"] != "ok"]
    for r in bad:
        print(f"  NOT INDEXED ({r['status']}) {r['run_dir']}: {r['problem']}")
    return 1 if bad else 0


def cmd_rejudge(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from harness.archive.rejudge import rejudge

    report = rejudge(Path(args.root), Path(args.limits) if args.limits else None, args.workers,
                     args.scheduler, not args.no_progress)
    console = Console()
    print(f"{report['judged']} run(s) judged, {report['skipped']} already judged with this "
          f"analysis version and limits; results in {report['results']}")
    if report["changed"]:
        table = Table(title=f"{len(report['changed'])} verdict(s) changed from the recorded ones",
                      title_justify="left")
        for col in ("run", "check", "recorded", "now"):
            table.add_column(col)
        for c in report["changed"]:
            table.add_row(c["run_id"], c["check"], c["recorded"], c["now"])
        console.print(table)
    else:
        print("Every verdict equals the recorded one.")
    for f in report["failed"]:
        print(f"FAILED {f['run_dir']}: {f['reason']}")
    return 1 if report["changed"] or report["failed"] else 0


def cmd_trend(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from harness.archive.trend import build_series, plot
    from harness.compare import load_maintenance
    from harness.errors import HarnessError

    if args.output and Path(args.output).suffix.lower() not in (".png", ".pdf"):
        raise HarnessError(f"{args.output}: the plot is written as .png or .pdf")
    limit = load_maintenance(Path(args.limits))["event_loss_db"]
    series = build_series(Path(args.root), limit, args.fibre, args.measurement, args.source)
    ranked = sorted(series, key=lambda s: (s.crosses_utc or "9999", s.label))
    if args.output:
        shown = [s for s in ranked if s.crosses_utc][: args.plots] or ranked[: args.plots]
        plot(shown, Path(args.output), f"Trend of {args.root}")
    if args.json:
        print(json.dumps({"series": [s.as_dict() for s in ranked]}, indent=2, default=str))
        return 0
    table = Table(title=f"{len(series)} series", title_justify="left")
    for col in ("series", "n", "rate / year", "± s.e.", "limit", "crosses", "note"):
        table.add_column(col)
    for s in ranked:
        table.add_row(s.label, str(len(s.values)), f"{s.rate:+.4f} {s.units}", f"{s.rate_se:.2g}",
                      "" if s.limit is None else f"{s.limit:g}", s.crosses_utc or "", s.note)
    Console().print(table)
    if args.output:
        print(f"Plot written: {args.output}")
    return 0
