"""``harness``: the command line of caspian-harness.

Every expected failure (a wrong file, an unreachable instrument, a changed run folder) ends in
one line on stderr and exit code 2; a run whose checks fail exits 1; a passing run exits 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness import __version__
from harness.cli_archive import add_archive_commands
from harness.cli_files import add_file_commands
from harness.defaults import DEFAULT_LIMITS, DEFAULT_PLAN, DEFAULT_RESULTS, DEFAULT_STATION
from harness.errors import HarnessError, RunInterrupted
from instruments.errors import InstrumentError
from instruments.sim.span_file import DEFAULT_SPAN, SpanFileError

# Each command imports what it needs (pytest, h5py, pyvisa, NumPy...) when it runs, so that
# `harness --help` and the file commands start in a fraction of the time a run needs.


def _cmd_run(args: argparse.Namespace) -> int:
    from harness.runner import run_plan

    if args.no_progress:  # the plugin's option, passed the way pytest reads extra options
        extra = os.environ.get("PYTEST_ADDOPTS", "")
        os.environ["PYTEST_ADDOPTS"] = f"{extra} --progress=off".strip()
    _, code = run_plan(Path(args.station), Path(args.limits), Path(args.results), Path(args.plan),
                       run_id=args.run_id, operator=args.operator or "", yes=args.yes,
                       answers=Path(args.answers) if args.answers else None,
                       allow_live_fibre=args.allow_live_fibre,
                       credentials=Path(args.credentials) if args.credentials else None)
    return code


def _cmd_merge(args: argparse.Namespace) -> int:
    from harness.runner import merge_runs

    _, code = merge_runs(Path(args.run_a), Path(args.run_b), args.results, args.plan, args.trust)
    return code


def _cmd_sim(args: argparse.Namespace) -> int:
    from instruments.sim.__main__ import parse_fault, serve

    faults = [parse_fault(f) for f in args.fault]
    instrument = [parse_fault(f, "--instrument-fault") for f in args.instrument_fault]
    return serve(args.span, faults, args.host, args.json, args.time_scale, instrument,
                 logins=args.login)


def _cmd_replay(args: argparse.Namespace) -> int:
    from harness.runner import replay_run

    new_dir, code, diffs = replay_run(Path(args.run_dir), args.limits, args.results, args.plan,
                                      trust=args.trust)
    if diffs:
        print(f"{len(diffs)} verdict(s) differ from the original run:")
        for d in diffs:
            print(f"  {d}")
    else:
        print(f"Every verdict equals the original run's. Replay stored in {new_dir}")
    return code


def _cmd_resume(args: argparse.Namespace) -> int:
    from harness.runner import resume_run

    _, code = resume_run(Path(args.run_dir), args.plan,
                         credentials=Path(args.credentials) if args.credentials else None)
    return code


def _cmd_report(args: argparse.Namespace) -> int:
    from harness.runner import finish_run
    from harness.signing import read_signatures

    run_dir = Path(args.run_dir)
    if not (run_dir / "run.h5").exists():
        raise HarnessError(f"{run_dir}: not a run folder (no run.h5)")
    signed = len(read_signatures(run_dir))
    if signed:  # a new report changes the manifest every signature is over
        raise HarnessError(f"{run_dir}: signed {signed} time(s): rebuilding the report would void "
                           "every signature (copy the folder without signatures.json to rebuild)")
    finish_run(run_dir, Path(args.signers) if args.signers else None)
    print(f"Report written: {run_dir / 'report.pdf'}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from harness.manifest import verify_manifest
    from harness.signing import check_signers, describe_signatures, load_signers, verify_signatures

    run_dir = Path(args.run_dir)
    signers = load_signers(Path(args.signers)) if args.signers else None
    problems = verify_manifest(run_dir)
    problems += check_signers(run_dir, signers) if signers else verify_signatures(run_dir)
    for line in describe_signatures(run_dir) or ["not signed (no signatures.json)"]:
        print(f"{run_dir}: {line}")
    for p in problems:
        print(f"{run_dir}: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"{run_dir}: every file matches its manifest hash")
    if signers:
        roles = ", ".join(dict.fromkeys(s.role for s in signers))
        print(f"{run_dir}: every signature is by a key of {args.signers} under its name and role; "
              f"every role signed: {roles}")
    else:
        print(f"{run_dir}: signatures were NOT checked against a signers file: anyone can make a "
              "key and sign under any name (give --signers FILE)")
    return 0


def _passphrase_env(name: str) -> bytes:
    value = os.environ.get(name)
    if not value:
        raise HarnessError(f"environment variable {name} (--passphrase-env) is not set or empty")
    return value.encode()


def _cmd_keygen(args: argparse.Namespace) -> int:
    import getpass

    from harness.signing import key_file_fingerprint, keygen

    passphrase = None
    if args.passphrase_env:
        passphrase = _passphrase_env(args.passphrase_env)
    elif not args.no_passphrase and sys.stdin.isatty():
        first = getpass.getpass(f"Passphrase for {args.out} (empty for none): ").encode()
        if first and getpass.getpass("Same passphrase again: ").encode() != first:
            raise HarnessError("the passphrases differ; no key written")
        passphrase = first or None
    private, public = keygen(Path(args.out), passphrase)
    note = "protected by a passphrase" if passphrase else "NOT protected by a passphrase"
    print(f"Private key: {private} (keep it secret; {note})\nPublic key:  {public}\n"
          f"Fingerprint: {key_file_fingerprint(public)} (OpenSSH SHA256 of the Ed25519 key)")
    return 0


def _cmd_sign(args: argparse.Namespace) -> int:
    import getpass

    from harness.manifest import verify_manifest
    from harness.signing import fingerprint, sign

    run_dir = Path(args.run_dir)
    problems = verify_manifest(run_dir)
    if problems:
        raise HarnessError(f"{run_dir}: will not sign a run whose files changed: {problems[0]}")
    ask = ((lambda: _passphrase_env(args.passphrase_env)) if args.passphrase_env
           else (lambda: getpass.getpass(f"Passphrase for {args.key}: ").encode()))
    entry = sign(run_dir, Path(args.key), args.signer, args.role or "", ask)
    print(f"Signed {run_dir / 'manifest.json'} as {entry['signer']} at {entry['signed_utc']} "
          f"with key {fingerprint(entry['public_key'])}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from harness.preflight import PreflightFailed, format_table
    from harness.runner import check_station

    checks = check_station(Path(args.station), args.credentials)
    print(format_table(checks))
    if any(not c.ready for c in checks):
        raise PreflightFailed(checks)
    return 0


def _cmd_transcript(args: argparse.Namespace) -> int:
    from harness.transcript import format_transcript, read_transcripts

    for transcript in read_transcripts(Path(args.run_dir), args.instrument):
        print(format_transcript(transcript))
    return 0


SIGNERS_HELP = "who may sign (YAML: signers: [{name, role, public_key}])"
CREDENTIALS_HELP = ("instrument logins (YAML, mode 0600, outside the run folder): "
                    "STATION/role or resource -> {user, password}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness", description="Acceptance tests of the Trans-Caspian submarine fibre span.")
    parser.add_argument("--version", action="version", version=f"caspian-harness {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the acceptance plan against a station file")
    p.add_argument("--station", default=str(DEFAULT_STATION), help="station file (default: simulated)")
    p.add_argument("--limits", default=str(DEFAULT_LIMITS), help="limits file")
    p.add_argument("--results", default=str(DEFAULT_RESULTS), help="where run folders go")
    p.add_argument("--plan", default=str(DEFAULT_PLAN), help="test plan folder or file")
    p.add_argument("--run-id", help="name of the run folder (default: UTC time)")
    p.add_argument("--operator", help="engineer running the plan")
    p.add_argument("--yes", action="store_true", help="answer yes to every operator prompt")
    p.add_argument("--answers", help="answers file for operator prompts (YAML)")
    p.add_argument("--allow-live-fibre", action="store_true",
                   help="let the OTDR fire into a fibre carrying traffic (the override is recorded)")
    p.add_argument("--no-progress", action="store_true",
                   help="pytest's own output instead of the progress panel / one line per check")
    p.add_argument("--credentials", metavar="FILE", help=CREDENTIALS_HELP)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("merge", help="join the runs of the two stations into one bidirectional run")
    p.add_argument("run_a", metavar="RUN_A")
    p.add_argument("run_b", metavar="RUN_B")
    p.add_argument("--results", help="where the merged run folder goes (default: beside RUN_A)")
    p.add_argument("--plan", help="test plan (default: the one RUN_A used)")
    p.add_argument("--trust", action="store_true", help="merge even if the files changed")
    p.set_defaults(func=_cmd_merge)

    p = sub.add_parser("sim", help="serve both simulated landing stations in the foreground")
    p.add_argument("--span", default=str(DEFAULT_SPAN), help="span file (YAML)")
    p.add_argument("--fault", action="append", default=[],
                   help="inject a span fault, e.g. type=break,fibre=FP2-F1,distance_km=212")
    p.add_argument("--instrument-fault", action="append", default=[],
                   help="inject an instrument fault, e.g. station=AKTAU,role=otdr,fault=drop")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--json", action="store_true", help="print the addresses as one JSON line")
    p.add_argument("--time-scale", type=float, help="wall seconds per instrument second")
    p.add_argument("--login", action="append", default=[], metavar="STATION/ROLE=USER:VARIABLE",
                   help="the login a simulated OSA or TL1 shelf accepts (password read from "
                        "environment variable VARIABLE)")
    p.set_defaults(func=_cmd_sim)

    p = sub.add_parser("replay", help="re-judge a stored run with no instrument attached")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--limits", help="judge against another limits file")
    p.add_argument("--results", help="where the replay's run folder goes (default: beside RUN_DIR)")
    p.add_argument("--plan", help="test plan (default: the one the run used)")
    p.add_argument("--trust", action="store_true", help="replay even if the files changed")
    p.set_defaults(func=_cmd_replay)

    p = sub.add_parser("resume", help="continue a killed run: nothing measured is taken again")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--plan", help="test plan (default: the one the run used)")
    p.add_argument("--credentials", metavar="FILE", help=CREDENTIALS_HELP)
    p.set_defaults(func=_cmd_resume)

    p = sub.add_parser("report", help="rebuild report.pdf (and the manifest) of a run folder")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--signers", metavar="FILE", help=SIGNERS_HELP + " (named on the sign-off page, "
                   "kept as inputs/signers.yaml)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("verify", help="check every file and signature of a run folder")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--signers", metavar="FILE", help=SIGNERS_HELP + ": every signature must be by "
                   "a listed key under its name and role, and every role must have signed")
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("keygen", help="make an Ed25519 key pair for signing runs")
    p.add_argument("--out", required=True, help="private key path; the public key goes to PATH.pub")
    p.add_argument("--passphrase-env", metavar="VARIABLE",
                   help="encrypt the private key with the passphrase in this environment variable "
                        "(default: asked twice on the terminal)")
    p.add_argument("--no-passphrase", action="store_true", help="do not ask for a passphrase")
    p.set_defaults(func=_cmd_keygen)

    p = sub.add_parser("sign", help="sign a run's manifest (several signers may sign)")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--key", required=True, help="private key from 'harness keygen'")
    p.add_argument("--signer", required=True, help="name of the person signing")
    p.add_argument("--role", help="e.g. contractor, owner's engineer")
    p.add_argument("--passphrase-env", metavar="VARIABLE",
                   help="the key's passphrase is in this environment variable (default: asked)")
    p.set_defaults(func=_cmd_sign)

    p = sub.add_parser("check", help="preflight: is every instrument of a station file there, "
                                      "and the model named? (exit 0 yes, 2 no)")
    p.add_argument("--station", default=str(DEFAULT_STATION), help="station file (default: simulated)")
    p.add_argument("--credentials", metavar="FILE", type=Path, help=CREDENTIALS_HELP)
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("transcript", help="print the I/O transcript of a run's instruments")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--instrument", metavar="STATION/role", help="one instrument, e.g. AKTAU/otdr")
    p.set_defaults(func=_cmd_transcript)

    add_file_commands(sub)  # sor dump|export|import, analyse otdr|osa (harness/cli_files.py)
    add_archive_commands(sub)  # compare, archive synth|index|trend|rejudge (harness/cli_archive.py)
    return parser


def _preflight_lines(exc: Exception) -> list[str]:
    """The per-instrument lines of a failed preflight (none for any other error)."""
    if not isinstance(exc, HarnessError):
        return []
    from harness.preflight import PreflightFailed

    return exc.lines() if isinstance(exc, PreflightFailed) else []


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RunInterrupted as exc:
        print(f"harness: {exc}", file=sys.stderr)
        return 130
    except (HarnessError, InstrumentError, SpanFileError) as exc:
        for line in _preflight_lines(exc):  # one line per instrument not ready, then the verdict
            print(f"harness: {line}", file=sys.stderr)
        print(f"harness: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that stopped (| head): not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
