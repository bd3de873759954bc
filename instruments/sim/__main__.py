"""``python -m instruments.sim``: serve both simulated landing stations until stopped.

With ``--json`` the first line printed is a JSON object mapping ``STATION/role`` to a VISA
resource string or serial URL (used by the harness to start a simulator it then talks to).
Each station serves every simulated OTDR model (``STATION/otdr@MODEL``) unless
``--otdr-model STATION=MODEL`` (repeatable) names the ones it serves.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

import yaml

from instruments.logins import parse_login_option
from instruments.sim.span import DEFAULT_SPAN, SpanFileError, load_span
from instruments.sim.stations import parse_otdr_models, start_stations


def parse_fault(text: str, option: str = "--fault") -> dict:
    """A fault from the command line: ``type=break,fibre=FP2-F1,distance_km=212`` or YAML."""
    text = text.strip()
    try:
        if text.startswith("{"):
            value = yaml.safe_load(text)
        else:
            value = {}
            for part in text.split(","):
                key, sep, raw = part.partition("=")
                if not sep:
                    raise SpanFileError(f"{option} {text!r}: expected key=value pairs")
                value[key.strip()] = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        problem = str(getattr(exc, "problem", None) or "not valid YAML")
        raise SpanFileError(f"{option} {text[:80]!r}: {problem}") from None
    if not isinstance(value, dict):
        raise SpanFileError(f"{option} {text!r}: expected key=value pairs")
    return value


def serve(span_path: str, faults: list[dict], host: str, as_json: bool,
          time_scale: float | None = None, instrument_faults: list[dict] | None = None,
          otdr_models: list[str] | None = None, logins: list[str] | None = None) -> int:
    """Start the stations, print where they are, and block until SIGINT/SIGTERM or stdin closes.

    ``faults`` are span faults; ``instrument_faults`` are added to the span file's
    ``instrument_faults:`` (see :mod:`instruments.sim.faults`); ``otdr_models`` are
    ``STATION=MODEL`` entries (default: every simulated OTDR model at every station);
    ``logins`` are ``STATION/role=USER:VARIABLE`` entries, the login the simulated OSA or TL1
    shelf accepts, its password read from environment variable VARIABLE.
    """
    expected = dict(parse_login_option(text, SpanFileError) for text in logins or [])
    span = load_span(span_path, faults=faults)
    if time_scale is not None:
        span.time_scale = time_scale
    sim = start_stations(span, host, extra_faults=instrument_faults,
                         otdr_models=parse_otdr_models(otdr_models or [], span.stations),
                         logins=expected)
    if as_json:
        print(json.dumps({**sim.resources, **sim.extra}), flush=True)
    else:
        print(f"Simulated span {span.name}: {span.length_km:g} km, {len(span.fibres) // 2} fibre pairs, "
              f"time x{1 / span.time_scale:g}")
        for key, value in {**sim.resources, **sim.extra}.items():
            print(f"  {key:24s} {value}")
        for entry in (span.raw.get("instrument_faults") or []) + (instrument_faults or []):
            print(f"  instrument fault: {entry}")
        print("Ctrl-C to stop.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if as_json:
        # started by a harness: stop when its pipe closes, so a killed parent leaves no orphan
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    sim.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m instruments.sim", description=__doc__)
    parser.add_argument("--span", default=str(DEFAULT_SPAN), help="span file (YAML)")
    parser.add_argument("--fault", action="append", default=[], help="inject a span fault")
    parser.add_argument("--instrument-fault", action="append", default=[],
                        help="inject an instrument fault, e.g. "
                             "station=AKTAU,role=otdr,fault=drop,after_bytes=100000")
    parser.add_argument("--otdr-model", action="append", default=[],
                        help="STATION=MODEL: the OTDR model(s) a station serves (default: all)")
    parser.add_argument("--login", action="append", default=[],
                        help="STATION/role=USER:VARIABLE: the login the simulated OSA or TL1 "
                             "shelf accepts (password read from environment variable VARIABLE)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--json", action="store_true", help="print resources as one JSON line")
    parser.add_argument("--time-scale", type=float, default=None,
                        help="wall seconds per instrument second (1 = real time)")
    args = parser.parse_args(argv)
    try:
        faults = [parse_fault(f) for f in args.fault]
        instrument = [parse_fault(f, "--instrument-fault") for f in args.instrument_fault]
        return serve(args.span, faults, args.host, args.json, args.time_scale, instrument,
                     args.otdr_model, args.login)
    except SpanFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
