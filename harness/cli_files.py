"""The file commands of ``harness``: ``sor dump|export|import`` and ``analyse otdr|osa``.

Bad input (an unreadable or malformed file, an unknown check) raises a HarnessError, which the
CLI prints as one line with exit code 2. Distances printed for a .sor file count from the
file's origin (its user offset), as the instrument's own event table and ``sor dump`` do.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.errors import HarnessError


def _warn(messages: list[str]) -> None:
    for m in messages:
        print(f"harness: warning: {m}", file=sys.stderr)


def _read_sor(path: str) -> Any:
    """The record of ``path``, its SorWarnings printed as warnings on stderr."""
    from harness.sor import SorWarning, read_sor

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SorWarning)
        record = read_sor(Path(path))
    _warn([f"{Path(path).name}: {w.message}" for w in caught])
    return record


def _num(value: float | None, digits: int = 4) -> float | None:
    """JSON-ready number: rounded, None when absent or not finite."""
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


# --- sor -----------------------------------------------------------------------------------

def cmd_sor_dump(args: argparse.Namespace) -> int:
    from harness.sor.dump import sor_summary

    print(json.dumps(sor_summary(_read_sor(args.file)), indent=2))
    return 0


def cmd_sor_export(args: argparse.Namespace) -> int:
    from harness.sor.runs import export_sor
    from harness.sor.writer import save_sor

    record, what = export_sor(Path(args.run_dir), args.check, args.trace, args.trust)
    save_sor(record, Path(args.output))
    print(f"Wrote {args.output}: {what}")
    return 0


def cmd_sor_import(args: argparse.Namespace) -> int:
    from harness.defaults import DEFAULT_RESULTS
    from harness.sor.runs import import_sor

    run_dir, warned = import_sor([Path(f) for f in args.files],
                                 Path(args.results or DEFAULT_RESULTS), args.run_id,
                                 args.operator or "")
    _warn(warned)
    print(f"Imported {len(args.files)} file(s) into {run_dir} (run.h5, manifest.json)")
    return 0


# --- analyse otdr --------------------------------------------------------------------------

def analyse_sor(record: Any, threshold_db: float | None = None) -> Any:
    """OtdrAnalysis of a .sor record in the OTDR port's frame (the user offset added back to
    the file's distances). ``threshold_db`` defaults to the file's loss threshold (or 0.05)."""
    from harness.analysis.otdr import analyse_otdr
    from harness.sor.runs import user_offset_m

    fx = record.fixed
    if not fx.pulse_widths_ns:
        raise HarnessError("FxdParams: no pulse width: the trace cannot be analysed")
    threshold = threshold_db if threshold_db is not None else (fx.loss_threshold / 1000.0 or 0.05)
    try:
        return analyse_otdr(record.data.distance_m + user_offset_m(record), -record.data.level_db,
                            pulse_width_ns=fx.pulse_widths_ns[0], group_index=fx.group_index,
                            wavelength_nm=fx.actual_wavelength_nm, threshold_db=threshold,
                            backscatter_db=fx.backscatter_db if fx.backscatter_raw else None,
                            **sor_thresholds(fx))
    except ValueError as exc:
        raise HarnessError(f"OTDR analysis: {exc}") from None


def sor_thresholds(fx: Any) -> dict[str, float]:
    """The instrument's own end-of-fibre and reflectance thresholds (SR-4731 FxdParams, dB
    × 1000; the reflectance one stored without its sign), where the file sets them."""
    out = {}
    if 0 < fx.eof_threshold < 60000:
        out["end_threshold_db"] = fx.eof_threshold / 1000.0
    if 0 < fx.reflectance_threshold < 65535:
        out["reflectance_threshold_db"] = -fx.reflectance_threshold / 1000.0
    return out


def sor_origin_m(record: Any, analysis: Any) -> float:
    """The file's origin (m from the OTDR port): SR-4731's user offset unless the file's own
    key events say the writer meant another reading of it (:mod:`harness.analysis.otdr_origin`)."""
    from harness.analysis.otdr_origin import origin_m

    tol = max(10.0, 2 * analysis.spacing_m, analysis.pulse_length_m / 2)
    return origin_m(record, [e.distance_m for e in analysis.events + analysis.after_end], tol)


def otdr_result(name: str, record: Any, analysis: Any) -> dict[str, Any]:
    """The JSON of ``analyse otdr`` for one file: distances (m) from the file's origin."""
    off = sor_origin_m(record, analysis)
    end = analysis.end_m if analysis.end_m is not None else analysis.reach_m
    return {
        "file": name, "wavelength_nm": record.fixed.actual_wavelength_nm,
        "pulse_width_ns": record.fixed.pulse_widths_ns[0], "user_offset_m": _num(off, 3),
        "length_m": _num(end - off, 3), "fibre_end_seen": analysis.end_m is not None,
        "attenuation_db_per_km": _num(analysis.attenuation_db_per_km, 5),
        "span_loss_db": _num(analysis.span_loss_db), "orl_db": _num(analysis.orl_db, 2),
        "events": [{"distance_m": _num(e.distance_m - off, 3), "type": e.type,
                    "loss_db": _num(e.loss_db), "reflectance_db": _num(e.reflectance_db, 2),
                    "uncertainty_db": _num(e.uncertainty_db),
                    "position_uncertainty_m": _num(e.position_uncertainty_m, 2),
                    **({"ghost": True} if e.ghost else {})}
                   for e in analysis.events + analysis.after_end]}


def bidirectional_result(names: list[str], records: list[Any], analyses: list[Any],
                         length_m: float | None,
                         link_m: tuple[float, float] | None = None) -> dict[str, Any]:
    """The JSON of ``analyse otdr A B --bidirectional``: distances (m) from A's origin;
    ``link_m``: the link's first and last connectors (m from A's origin), else found."""
    from harness.analysis.bidir import merge

    a, b = analyses
    if length_m is None:
        ends = [x.end_m for x in analyses if x.end_m is not None]
        if not ends:
            raise HarnessError("neither trace sees the fibre's far end: give the length between "
                               "the two OTDR ports with --length-m")
        length_m = sum(ends) / len(ends)
    off = sor_origin_m(records[0], a)
    bd = merge(a, b, length_m, link_m=link_m and (link_m[0] + off, link_m[1] + off))
    return {
        "files": names, "length_m": _num(bd.aligned_length_m - off, 3),
        "attenuation_db_per_km": _num((a.attenuation_db_per_km + b.attenuation_db_per_km) / 2, 5),
        "span_loss_db": _num(bd.end_to_end_loss_db), "aligned_events": bd.aligned_events,
        # both traces see the whole fibre: the link loss between its first and last connectors
        "span_loss_a_db": _num(bd.link.a_db) if bd.link else None,
        "span_loss_b_db": _num(bd.link.b_db) if bd.link else None,
        "link_m": [_num(bd.link.first_m - off, 3), _num(bd.link.last_m - off, 3)] if bd.link else None,
        "events": [{"distance_m": _num(e.distance_m - off, 3), "type": e.type,
                    "loss_db": _num(e.loss_db), "reflectance_db": _num(e.reflectance_db, 2),
                    "loss_a_db": _num(e.loss_a_db), "loss_b_db": _num(e.loss_b_db),
                    "located_from": e.located_from, "note": e.note}
                   for e in bd.events]}


def _otdr_table(result: dict[str, Any], console: Console) -> None:
    title = result.get("file") or " + ".join(result["files"])
    table = Table(title=f"{title}: {result['length_m']} m, {result['attenuation_db_per_km']} "
                        f"dB/km, span loss {result['span_loss_db']} dB", title_justify="left")
    for col in ("#", "distance m", "type", "loss dB", "reflectance dB", "±dB / note"):
        table.add_column(col, justify="left" if col in ("type", "±dB / note") else "right")
    fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
    for i, e in enumerate(result["events"], start=1):
        extra = e.get("note") or ("ghost (echo)" if e.get("ghost") else fmt(e.get("uncertainty_db"), ".3f"))
        table.add_row(str(i), fmt(e["distance_m"], ".2f"), e["type"], fmt(e["loss_db"], ".3f"),
                      fmt(e["reflectance_db"], ".1f"), extra)
    console.print(table)


def _trace_record(source: str, args: argparse.Namespace) -> tuple[Any, str]:
    """(record, name) of a .sor file, or of a run folder's stored trace (``--check``,
    ``--trace``)."""
    if Path(source).is_dir():
        from harness.sor.runs import export_sor

        record, what = export_sor(Path(source), args.check, args.trace, args.trust)
        return record, f"{Path(source).name}: {what.split(':')[0]}"
    return _read_sor(source), Path(source).name


def _link_m(text: str | None) -> tuple[float, float] | None:
    """``--link-m FIRST,LAST`` (m) as two increasing finite numbers."""
    if text is None:
        return None
    try:
        first, last = (float(v) for v in text.split(","))
    except ValueError:
        raise HarnessError(f"--link-m {text!r}: expected FIRST,LAST in m (e.g. 1000,8600)") from None
    if not (math.isfinite(first) and math.isfinite(last) and 0 <= first < last < 1e7):
        raise HarnessError(f"--link-m {text!r}: expected 0 <= FIRST < LAST (m)")
    return first, last


def cmd_analyse_otdr(args: argparse.Namespace) -> int:
    if args.length_m is not None and not 0 < args.length_m < 1e7:
        raise HarnessError(f"--length-m {args.length_m}: not a fibre length in m")
    if args.threshold_db is not None and not 0 <= args.threshold_db <= 10:
        raise HarnessError(f"--threshold-db {args.threshold_db}: not a loss threshold (0-10 dB)")
    if args.bidirectional and len(args.files) != 2:
        raise HarnessError("--bidirectional needs two files: A.sor (from the first station) "
                           "and B.sor (from the other end)")
    link = _link_m(args.link_m)
    records, names = zip(*[_trace_record(f, args) for f in args.files])
    analyses = [analyse_sor(r, args.threshold_db) for r in records]
    if args.bidirectional:
        results = [bidirectional_result(list(names), list(records), analyses, args.length_m, link)]
    else:
        results = [otdr_result(n, r, a) for n, r, a in zip(names, records, analyses)]
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    else:
        console = Console()
        for r in results:
            _otdr_table(r, console)
    return 0


# --- analyse osa ---------------------------------------------------------------------------

DEFAULT_RBW_NM = 0.1
"""Resolution bandwidth (nm) assumed for a two-column file that does not state one."""


def cmd_analyse_osa(args: argparse.Namespace) -> int:
    from harness.analysis.osa import detect_grid, find_channels, flatness_db
    from harness.analysis.osa_csv import read_osa_file

    if args.rbw_nm is not None and not 0.001 <= args.rbw_nm <= 10.0:
        raise HarnessError(f"--rbw-nm {args.rbw_nm}: not a resolution bandwidth (0.001-10 nm)")
    if args.spacing_ghz is not None and not 6.25 <= args.spacing_ghz <= 1000:
        raise HarnessError(f"--spacing-ghz {args.spacing_ghz}: not a grid spacing (6.25-1000)")
    if args.spacing_ghz is not None and args.grid == "flex":
        raise HarnessError("--spacing-ghz is for a fixed grid, not with --grid flex")
    name = Path(args.file).name
    trace = read_osa_file(Path(args.file), args.trace)
    rbw, rbw_source = args.rbw_nm, "option"
    if rbw is None:
        rbw, rbw_source = (trace.rbw_nm, "file") if trace.rbw_nm else (DEFAULT_RBW_NM, "default")
    wl, p = trace.wavelength_nm, trace.power_dbm
    try:
        grid, spacing, grid_source, grid_reason = args.grid, args.spacing_ghz, "option", ""
        if spacing is None and args.grid != "flex":
            found = detect_grid(wl, p, fixed_only=args.grid == "fixed")
            grid, spacing, grid_source, grid_reason = found.kind, found.spacing_ghz, "trace", found.reason
        grid = "fixed" if grid == "auto" else grid
        channels = find_channels(wl, p, rbw_nm=rbw, spacing_ghz=spacing or 100.0, grid=grid)
    except ValueError as exc:
        raise HarnessError(f"{name}: OSA analysis: {exc}") from None
    result = {
        "file": name, "layout": trace.layout, "trace": trace.trace, "label": trace.label or None,
        "rbw_nm": rbw, "rbw_source": rbw_source, "grid": grid,
        "spacing_ghz": spacing if grid == "fixed" else None, "grid_source": grid_source,
        "grid_reason": grid_reason or None, "notes": list(trace.notes),
        "flatness_db": _num(flatness_db(channels), 3),
        "channels": [{"grid_thz": _num(c.grid_thz, 5), "center_nm": _num(c.center_nm, 4),
                      "offset_ghz": _num(c.offset_ghz, 2), "power_dbm": _num(c.power_dbm, 3),
                      "osnr_db": _num(c.osnr_db, 2),
                      "osnr_note": c.osnr_note or None} for c in channels]}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    where = f", trace {trace.trace}" if trace.trace else ""
    grid_text = f"{spacing:g} GHz grid" if grid == "fixed" else "flexible grid"
    table = Table(title=f"{result['file']}{where}: {len(channels)} channels on the {grid_text} "
                        f"({grid_source}), RBW {rbw:g} nm ({rbw_source}), flatness "
                        f"{result['flatness_db']} dB (OSNR in 0.1 nm, IEC 61280-2-9)",
                  title_justify="left")
    for col in ("grid THz", "centre nm", "offset GHz", "power dBm", "OSNR dB"):
        table.add_column(col, justify="right")
    for c in result["channels"]:
        table.add_row(f"{c['grid_thz']:.3f}", f"{c['center_nm']:.3f}", f"{c['offset_ghz']:+.1f}",
                      f"{c['power_dbm']:.2f}",
                      f"{c['osnr_db']:.2f}" if c["osnr_db"] is not None else c["osnr_note"])
    Console().print(table)
    return 0


# --- parsers -------------------------------------------------------------------------------

def add_file_commands(sub: Any) -> None:
    """Add the ``sor`` and ``analyse`` commands to the CLI's subparsers."""
    p = sub.add_parser("sor", help="Telcordia SR-4731 (.sor) files")
    sor = p.add_subparsers(dest="sor_command", required=True, metavar="SUBCOMMAND")
    d = sor.add_parser("dump", help="print a .sor file's fields and events as JSON")
    d.add_argument("file", metavar="FILE.sor")
    d.set_defaults(func=cmd_sor_dump)
    e = sor.add_parser("export", help="write a stored OTDR trace of a run as a .sor file")
    e.add_argument("run_dir", metavar="RUN_DIR")
    e.add_argument("--check", help="the check (its key, a unique part of it, or its number)")
    e.add_argument("--trace", help="the trace when the check used several (name or number)")
    e.add_argument("-o", "--output", required=True, metavar="FILE.sor")
    e.add_argument("--trust", action="store_true", help="export even if the run's files changed")
    e.set_defaults(func=cmd_sor_export)
    i = sor.add_parser("import", help="make a new run folder holding .sor files")
    i.add_argument("files", nargs="+", metavar="FILE.sor")
    i.add_argument("--results", help="where the run folder goes (default: results)")
    i.add_argument("--run-id", help="name of the run folder (default: UTC time-sor-import)")
    i.add_argument("--operator", help="who imported the files")
    i.set_defaults(func=cmd_sor_import)

    p = sub.add_parser("analyse", help="analyse an OTDR (.sor) or OSA (.csv) file")
    an = p.add_subparsers(dest="analyse_command", required=True, metavar="SUBCOMMAND")
    o = an.add_parser("otdr", help="events, attenuation and loss of .sor traces")
    o.add_argument("files", nargs="+", metavar="FILE.sor",
                   help="a .sor file, or a run folder (with --check/--trace as for sor export)")
    o.add_argument("--check", help="in a run folder: the check whose trace is analysed")
    o.add_argument("--trace", help="in a run folder: the trace when the check used several")
    o.add_argument("--trust", action="store_true", help="read a run folder whose files changed")
    o.add_argument("--bidirectional", action="store_true",
                   help="join two traces of one fibre, one from each end")
    o.add_argument("--length-m", type=float,
                   help="fibre length between the two OTDR ports (default: the ends seen)")
    o.add_argument("--link-m", metavar="FIRST,LAST",
                   help="with --bidirectional: the link's first and last connectors, m from A's "
                        "origin (default: the first event each trace shows after its launch cable)")
    o.add_argument("--threshold-db", type=float,
                   help="least non-reflective loss reported (default: the file's threshold)")
    o.add_argument("--json", action="store_true", help="print JSON")
    o.set_defaults(func=cmd_analyse_otdr)
    s = an.add_parser("osa", help="channels, power and OSNR of an OSA trace (AQ6370 CSV or "
                                  "two columns)")
    s.add_argument("file", metavar="FILE.csv")
    s.add_argument("--trace", help="the trace of an AQ6370 all-traces file (A-G; default: "
                                   "the active one, else the first in dBm)")
    s.add_argument("--rbw-nm", type=float, help="the sweep's resolution bandwidth (default: "
                                                "the file's RESLN, else 0.1 nm)")
    s.add_argument("--grid", choices=("auto", "fixed", "flex"), default="auto",
                   help="channel grid (default: found from the trace)")
    s.add_argument("--spacing-ghz", type=float,
                   help="fixed-grid spacing (default: found from the trace)")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=cmd_analyse_osa)
