"""The harness's pytest plugin (registered under ``pytest11``): run a test plan against a station.

Inert unless ``--station`` is given. Then it loads the station and limits files, starts the
simulator if the station file asks for one, creates the run record, and gives tests:
- ``station``: the validated :class:`~harness.config.StationFile`;
- ``limits``: the :class:`~harness.config.LimitsFile`;
- ``instruments``: the station's instruments as protocol objects (recorded, or replayed);
- ``check``: the current check's recorder (measurements with limits, events, context).
Each check's verdict is written to the record as the test ends: an instrument or analysis
error makes it ``error``, a value out of limits ``fail``, a value in a marginal band
``marginal``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import pytest

from harness import __version__
from harness.config import (LimitsFile, StationFile, load_limits_file,
                            load_station_file)
from harness.credentials import all_secrets, instrument_logins, simulator_logins
from harness.errors import HarnessError
from harness.recording import (RecordingOsa, RecordingOtdr, RecordingTransponder, ReplayOsa,
                               ReplayOtdr, ReplaySource, ReplayTransponder)
from harness.simproc import SimulatorHandover, SimulatorProcess, start_for
from harness.transcript import TRANSCRIPTS, TranscriptWriter, secrets_of, transcript_name
from harness.store import RunStore, check_key
from harness.check import CheckRecorder, LaserInterlock
from harness.pool import InstrumentPool, ManualPatch
from harness.progress import MODES, check_place, make_progress
from harness.prompts import Operator, load_answers
from harness.verdict import worst
from instruments.errors import InstrumentError, LoginRefused
from instruments.registry import MODELS
from instruments.secret import redact

MARKERS = (
    "requirement(id): the acceptance requirement a check verifies (e.g. ACC-2)",
    "stations(*names): the stations whose instruments a check needs",
    "laser: the check fires an OTDR into the fibre (needs the interlock)",
    "soak: a long-running stability check",
)


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "caspian-harness acceptance run")
    group.addoption("--station", help="station file (YAML); enables the harness")
    group.addoption("--limits", help="limits file (YAML); default: limits.yaml of the plan")
    group.addoption("--run-dir", help="folder of this run's record (created)")
    group.addoption("--replay", action="append", default=[],
                    help="replay the acquisitions of this stored run folder (repeat to merge runs)")
    group.addoption("--resume", action="store_true",
                    help="continue the killed run in --run-dir: nothing measured is taken again")
    group.addoption("--operator", default=os.environ.get("USER", ""), help="who runs the plan")
    group.addoption("--credentials", help="credentials file of the instrument logins (YAML, "
                                          "mode 0600, outside the run folder)")
    group.addoption("--yes", action="store_true", help="answer yes to every operator prompt")
    group.addoption("--answers", help="answers file (YAML: prompt key or glob -> answer)")
    group.addoption("--progress", choices=MODES, default="auto",
                    help="live panel (on a terminal) or one line per check instead of pytest's "
                         "own output; off: pytest's output (default: auto)")
    group.addoption("--allow-live-fibre", action="store_true",
                    help="let the OTDR fire into a fibre the interlock finds carrying traffic "
                         "(the override is recorded)")


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if config.getoption("--station", default=None):
        try:
            session = HarnessSession(config)
        except (HarnessError, InstrumentError) as exc:
            raise pytest.UsageError(str(exc)) from None
        config.stash[SESSION] = session
        config.pluginmanager.register(session, "harness-session")
        if session.progress is not None:  # the display takes the place of pytest's output
            config.pluginmanager.set_blocked("terminalreporter")


SESSION = pytest.StashKey["HarnessSession"]()


class HarnessSession:
    """Per-run state of the plugin."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.station_file: StationFile = load_station_file(Path(config.getoption("--station")))
        limits = config.getoption("--limits") or str(Path(str(config.rootpath)) / "test_plans" / "limits.yaml")
        self.limits: LimitsFile = load_limits_file(Path(limits))
        run_dir = config.getoption("--run-dir") or str(Path("results") / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.store = RunStore(self.run_dir / "run.h5")
        self.replay_dir = config.getoption("--replay")
        self.logins: dict[tuple[str, str], dict[str, Any]] = {}
        self.sim_logins: dict[str, tuple[str, Any]] = {}
        if not self.replay_dir:  # a replay opens no instrument: no password is read
            credentials = config.getoption("--credentials")
            self.logins = instrument_logins(self.station_file,
                                            Path(credentials) if credentials else None, self.run_dir)
            self.sim_logins = simulator_logins(self.station_file)
        self.secrets = all_secrets(self.logins, self.sim_logins)
        """Every password of this run: scrubbed from each report before pytest shows or
        writes it (junit.xml), besides each being a Secret that shows itself as '***'."""
        self.sim: SimulatorProcess | None = None
        self.current: CheckRecorder | None = None
        self.started = time.monotonic()
        attrs = {
            "run_id": self.run_dir.name, "campaign": self.station_file.campaign,
            "cable": self.station_file.cable, "span_length_km": self.station_file.route_length_km,
            "route": " – ".join(self.station_file.stations),
            "stations": json.dumps(self.station_file.stations),
            "operator": config.getoption("--operator") or "",
            "station_file": str(self.station_file.path.resolve()), "station_file_sha256": self.station_file.sha256,
            "limits_file": str(self.limits.path), "limits_file_sha256": self.limits.sha256,
            "software_version": __version__, "started_utc": utc_now(), "finished_utc": "",
            "overall_verdict": "error", "plan": ",".join(str(Path(a).resolve()) for a in config.args),
            "allow_live_fibre": bool(config.getoption("--allow-live-fibre")),
        }
        self.done: ReplaySource | None = None
        if self.replay_dir:
            stored = [RunStore(Path(d) / "run.h5") for d in self.replay_dir]
            acquisitions: dict[str, Any] = {}
            for run in stored:
                acquisitions.update(run.read_acquisitions())
            self.source = ReplaySource(acquisitions)
            attrs["replay_of"] = "+".join(run.read_attrs().get("run_id", "") for run in stored)
        if config.getoption("--resume"):
            self.done = ReplaySource(self.store.read_step_acquisitions())
            self.store.set_attrs({"resumed_utc": utc_now(), "overall_verdict": "error"})
        else:
            self.store.create(attrs)
        if self.station_file.simulator and not self.replay_dir:
            handed = [p.sim for p in config.pluginmanager.get_plugins()
                      if isinstance(p, SimulatorHandover)]
            if handed:  # the runner started it for the preflight
                self.sim = handed[0]
                self.station_file.resolve_sim(self.sim.resources)
            else:
                self.sim = start_for(self.station_file)
        self.transcripts: dict[tuple[str, str], TranscriptWriter] = {}
        self.pool = InstrumentPool(self.open_instrument)
        answers = load_answers(config.getoption("--answers"))
        self.progress = make_progress(config.getoption("--progress"))
        capture = config.pluginmanager.getplugin("capturemanager")
        self.operator = Operator(config.getoption("--operator") or "", config.getoption("--yes"),
                                 answers, self.store.add_prompt,
                                 self.progress.capture_guard(capture) if self.progress else capture)
        self.verdicts: dict[str, str] = {}
        self.far_ends: list[Any] = []

    # --- laser safety and traffic ----------------------------------------------------------
    def card(self, station: str) -> Any:
        """The station's transponder shelf, or None if the station file gives it none."""
        if "transponder" not in self.station_file.instruments.get(station, {}):
            return None
        return self.pool.transponder(station)

    def interlock(self) -> LaserInterlock:
        dark = float((self.limits.parameters.get("interlock") or {}).get("dark_below_dbm", -30.0))
        return LaserInterlock(self.card, self.operator.confirm, self.store.add_prompt,
                              self.config.getoption("--operator") or "",
                              bool(self.config.getoption("--allow-live-fibre")), dark)

    def bring_up_traffic(self) -> None:
        """Put the transmitter of every fibre in service (``ED-OCH ... PST=IS``), each recorded
        in the prompt log (key ``traffic:STATION:FIBRE``). A transmitter at a station this file
        has no shelf for is the far engineer's step: the simulator's far-end shelf does it in
        simulation, a replay serves what was stored, and otherwise the operator confirms it."""
        for f in self.station_file.fibres:
            key, aid = f"traffic:{f.tx}:{f.name}", self.card_on_pair(f.tx, f.name)
            card, how = self.card(f.tx), "TL1 ED-OCH PST=IS"
            if self.replay_dir:
                card, how = None, "replay: the stored readings are served"
            elif card is None and self.sim and f"{f.tx}/transponder" in self.sim.resources:
                card, how = self.far_end(f.tx), "simulated far-end shelf"
            elif card is None:
                self.operator.confirm(key, f"Confirm {f.tx} has put its transmitter on {f.name} "
                                           f"({aid}) in service")
                continue
            if card is not None:
                card.set_in_service(aid, True)
            self.store.add_prompt({"key": key, "prompt": f"Put {aid} at {f.tx} in service "
                                   f"(traffic on {f.name})", "answer": "IS", "source": how,
                                   "by": self.config.getoption("--operator") or "", "utc": utc_now()})

    def card_on_pair(self, station: str, fibre: str) -> str:
        """The AID of ``station``'s card on ``fibre``'s pair: it receives one fibre of the pair
        (the other fibre's ``och`` in the station file) and transmits on ``fibre``. A file
        without the other fibre: the card is taken to carry the same AID at both ends."""
        fibres = {f.name: f for f in self.station_file.fibres}
        f = fibres[fibre]
        if f.rx == station:
            return f.och
        partner = next((p for p in fibres.values() if p.pair == f.pair and p.name != fibre), f)
        return partner.och

    def far_end(self, station: str) -> Any:
        resource = self.sim.resources[f"{station}/transponder"]
        user, password = self.sim_logins.get(f"{station}/transponder", ("ADMIN", "ADMIN"))
        card = MODELS["gr831-tl1"].open(resource, tid=f"{station}-TP1", baud=115200,
                                        user=user, password=password,
                                        observer=self.transcript(station, "transponder",
                                                                 "gr831-tl1", resource, {}))
        self.far_ends.append(card)
        return card

    # --- instruments -----------------------------------------------------------------------
    def describe(self, station: str):
        fibres = self.station_file.fibres

        def describe(role: str, where: Any) -> dict[str, Any]:
            for f in fibres:
                if (role == "otdr" and f.otdr_port.get(station) == where) or (
                        role == "osa" and f.rx == station and f.osa_port == where) or (
                        role == "transponder" and f.rx == station and f.och == where):
                    other = next(s for s in self.station_file.stations if s != station) \
                        if len(self.station_file.stations) > 1 else station
                    direction = f"{station}→{other}" if role == "otdr" else f"{f.tx}→{f.rx}"
                    return {"fibre": f.name, "direction": direction}
            return {"fibre": "", "direction": ""}
        return describe

    def transcript(self, station: str, role: str, model: str, resource: str,
                   options: dict[str, Any]) -> TranscriptWriter | None:
        """The I/O transcript of ``station``'s ``role`` (``transcripts/STATION-role.jsonl``),
        opened (appended to, on a resume) on first use; the observer given to its transport.
        None when the file cannot be made: a diagnostic never stops a measurement."""
        key = (station, role)
        if key not in self.transcripts:
            path = self.run_dir / TRANSCRIPTS / transcript_name(station, role)
            try:
                self.transcripts[key] = TranscriptWriter(
                    path, [*secrets_of(options), *self.secrets], station=station, role=role, model=model,
                    resource=resource, run_id=self.run_dir.name,
                    resumed=bool(self.config.getoption("--resume")))
            except OSError:
                return None
        return self.transcripts[key]

    def close_transcripts(self) -> None:
        for writer in self.transcripts.values():
            try:
                writer.close()
            except OSError:  # a full disk: the lines written so far stay
                pass

    def _link(self, name: str, path: str) -> None:
        if self.current is not None:
            self.current.link(name, path)

    def open_instrument(self, station: str, role: str) -> Any:
        if self.replay_dir:
            cls = {"otdr": ReplayOtdr, "osa": ReplayOsa, "transponder": ReplayTransponder}[role]
            return cls(self.source, station, self._link)
        try:
            cfg = self.station_file.instruments[station][role]
        except KeyError:
            raise HarnessError(f"{self.station_file.path}: station {station} has no {role}") from None
        observer = self.transcript(station, role, cfg.model, cfg.resource, cfg.options)
        try:
            inner = MODELS[cfg.model].open(cfg.resource, observer=observer, **{
                **cfg.options, **self.logins.get((station, role), {})})
        except LoginRefused as exc:  # name the instrument (never the password)
            raise LoginRefused(f"{station} {role} ({cfg.model}): {exc}") from None
        if self.progress is not None and hasattr(inner, "activity"):
            inner.activity = self.progress.listener(f"{station} {role}")
        if not cfg.switch and role in ("otdr", "osa"):
            inner = ManualPatch(inner, station, role, self.operator.confirm, self.describe(station))
        self.store.add_instrument(station, role, {"model": cfg.model, "resource": cfg.resource,
                                                  "idn": inner.identify()})
        wrapper = {"otdr": RecordingOtdr, "osa": RecordingOsa,
                   "transponder": RecordingTransponder}[role]
        return wrapper(inner, station, self.store, self._link, self.describe(station), self.done)

    # --- pytest hooks ----------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.current = CheckRecorder(item.nodeid, self.limits)
        item.stash[RECORDER] = self.current
        item.stash[STARTED] = (utc_now(), time.monotonic())
        if self.progress is not None:
            marker = item.get_closest_marker("requirement")
            params = getattr(getattr(item, "callspec", None), "params", {})
            self.progress.check_started(item.nodeid, marker.args[0] if marker and marker.args else "",
                                        check_place(params))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.progress is not None:
            self.progress.start(len(session.items))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if self.progress is not None and report.failed:
            self.progress.note(f"ERROR collecting {report.nodeid}:\n{report.longreprtext}")

    def pytest_keyboard_interrupt(self) -> None:
        if self.progress is not None:
            self.progress.note(f"Interrupted (Ctrl-C) after {self.progress.done} of "
                               f"{self.progress.total} checks")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        self._scrub(report)
        recorder = item.stash.get(RECORDER, None)
        if recorder is None:
            return
        if report.when == "setup" and report.passed:
            return
        if report.when == "teardown" and (report.passed or item.nodeid in self.verdicts):
            return
        verdict, message = self._verdict(recorder, report, call)
        if verdict in ("fail", "marginal") and report.passed:
            if verdict == "fail":
                report.outcome = "failed"
                report.longrepr = "; ".join(recorder.messages)
        self._write(item, recorder, verdict, message)

    def _scrub(self, report: pytest.TestReport) -> None:
        """Take every password of the run out of a report's text (traceback, captured output)
        before the terminal, the progress display or junit.xml sees it."""
        if not self.secrets:
            return
        if isinstance(report.longrepr, tuple):
            report.longrepr = report.longrepr[:-1] + (redact(str(report.longrepr[-1]), self.secrets),)
        elif report.longrepr is not None:
            text = str(report.longrepr)
            if redact(text, self.secrets) != text:
                report.longrepr = redact(text, self.secrets)
        report.sections = [(title, redact(body, self.secrets)) for title, body in report.sections]

    def _verdict(self, recorder: CheckRecorder, report: pytest.TestReport,
                 call: pytest.CallInfo) -> tuple[str, str]:
        if report.skipped:
            return "skipped", str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
        if report.failed and call.excinfo is not None:
            exc = call.excinfo.value
            if isinstance(exc, AssertionError):
                return worst("fail", recorder.verdict), str(exc).splitlines()[0] if str(exc) else "assertion failed"
            kind = type(exc).__name__
            return "error", f"{kind}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return recorder.verdict, "; ".join(recorder.messages)

    def _write(self, item: pytest.Item, recorder: CheckRecorder, verdict: str, message: str) -> None:
        started, t0 = item.stash.get(STARTED, (utc_now(), time.monotonic()))
        message = redact(message, self.secrets)
        marker = item.get_closest_marker("requirement")
        doc = (getattr(item, "function", None).__doc__ or "") if hasattr(item, "function") else ""
        attrs = {"nodeid": item.nodeid, "title": doc.strip().splitlines()[0] if doc.strip() else item.name,
                 "requirement": marker.args[0] if marker and marker.args else "",
                 "station": str(recorder.context.get("station", "")),
                 "fibre": str(recorder.context.get("fibre", "")),
                 "wavelength_nm": float(recorder.context.get("wavelength_nm", math.nan)),
                 "verdict": verdict, "message": message, "started_utc": started,
                 "duration_s": round(time.monotonic() - t0, 3)}
        self.verdicts[item.nodeid] = verdict
        self.store.write_check(check_key(item.nodeid), attrs, recorder.measurements,
                               recorder.traces, recorder.events)
        if self.progress is not None:
            self.progress.check_finished(item.nodeid, verdict)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.progress is not None:
            self.progress.close()
        self.pool.close()
        for card in self.far_ends:
            card.close()
        self.close_transcripts()
        if self.sim:
            self.sim.stop()
        overall = "pass"
        if self.verdicts:
            w = worst(*self.verdicts.values())
            overall = {"marginal": "pass", "skipped": "pass"}.get(w, w)
        else:
            overall = "error"
        self.store.set_attrs({"finished_utc": utc_now(), "overall_verdict": overall})
        self.store.consolidate()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.close_transcripts()
        if self.progress is not None:
            self.progress.close()
        if self.sim:
            self.sim.stop()


RECORDER = pytest.StashKey[CheckRecorder]()
STARTED = pytest.StashKey[tuple]()


def _session(request: pytest.FixtureRequest) -> HarnessSession:
    session = request.config.stash.get(SESSION, None)
    if session is None:
        pytest.skip("harness not enabled: run with --station FILE")
    return session


@pytest.fixture(scope="session")
def station(request: pytest.FixtureRequest) -> StationFile:
    """The validated station file of this run."""
    return _session(request).station_file


@pytest.fixture(scope="session")
def limits(request: pytest.FixtureRequest) -> LimitsFile:
    """The limits file of this run."""
    return _session(request).limits


@pytest.fixture(scope="session")
def instruments(request: pytest.FixtureRequest) -> InstrumentPool:
    """The station's instruments, opened on first use: ``instruments.otdr("AKTAU")``."""
    return _session(request).pool


@pytest.fixture(scope="session")
def operator(request: pytest.FixtureRequest) -> Operator:
    """Operator prompts: ``operator.confirm(key, text)``; every answer is recorded."""
    return _session(request).operator


@pytest.fixture(scope="session")
def interlock(request: pytest.FixtureRequest) -> LaserInterlock:
    """The laser interlock: ``interlock.ensure_dark(station, fibre, aid, receives)`` before a shot."""
    return _session(request).interlock()


@pytest.fixture(scope="session")
def traffic(request: pytest.FixtureRequest) -> None:
    """Every fibre's transmitter in service (after the laser checks), recorded in the run."""
    _session(request).bring_up_traffic()


@pytest.fixture
def check(request: pytest.FixtureRequest) -> CheckRecorder:
    """The recorder of the current check."""
    session = _session(request)
    return request.node.stash.get(RECORDER, None) or session.current
