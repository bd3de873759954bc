"""Start the simulated stations in a child process and learn their addresses."""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.config import StationFile


class SimulatorProcess:
    """``python -m instruments.sim --json`` as a child; :attr:`resources` maps STATION/role
    (and STATION/otdr@MODEL for each OTDR model served). ``otdr_models`` maps a station to the
    OTDR models it serves (default: every simulated model)."""

    def __init__(self, span: str, faults: list[dict] | None = None, timeout_s: float = 30.0,
                 instrument_faults: list[dict] | None = None,
                 otdr_models: dict[str, list[str]] | None = None,
                 logins: dict[str, dict[str, str]] | None = None) -> None:
        cmd = [sys.executable, "-m", "instruments.sim", "--span", span, "--json"]
        for fault in faults or []:
            cmd += ["--fault", json.dumps(fault)]
        for fault in instrument_faults or []:
            cmd += ["--instrument-fault", json.dumps(fault)]
        for key, spec in (logins or {}).items():  # variable names only: the child reads them
            cmd += ["--login", f"{key}={spec.get('user', '')}:{spec['password_env']}"]
        for station, models in (otdr_models or {}).items():
            cmd += [arg for model in models for arg in ("--otdr-model", f"{station}={model}")]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout_s
        line = ""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        if not line:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            last = err.strip().splitlines()[-1] if err.strip() else "no answer"
            raise ConfigError(f"simulator did not start: {last}")
        self.resources: dict[str, str] = json.loads(line)

    def stop(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class SimulatorHandover:
    """A simulator already started (for the preflight) handed to the run's pytest plugin, which
    then uses it instead of starting its own (pass it in ``pytest.main(plugins=[...])``)."""

    def __init__(self, sim: SimulatorProcess) -> None:
        self.sim = sim


def start_for(station_file: "StationFile") -> SimulatorProcess | None:
    """Start the simulator ``station_file`` asks for (its ``simulator:`` section) and fill in its
    ``resource: sim`` entries; None when it asks for none."""
    spec = station_file.simulator
    if not spec:
        return None
    otdr_models = {station: [roles["otdr"].model]
                   for station, roles in station_file.instruments.items()
                   if "otdr" in roles and roles["otdr"].resource == "sim"}
    sim = SimulatorProcess(spec["span"], spec.get("faults") or [],
                           instrument_faults=spec.get("instrument_faults") or [],
                           otdr_models=otdr_models, logins=spec.get("logins"))
    try:
        station_file.resolve_sim(sim.resources)
    except BaseException:
        sim.stop()
        raise
    return sim
