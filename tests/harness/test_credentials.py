"""Secrets never reach the record (issue 14): no password in a station file, logins from
``password_env`` or a 0600 credentials file, and a campaign searched byte by byte for them.

The simulators are told the logins to expect (``simulator.logins``), so a run passes only when
the harness sent each password through pyserial (TL1 ``ACT-USER``) and pyvisa-py (the AQ6370
LAN login); a wrong one is refused by the simulated instrument, not by the harness.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from harness.cli import main
from harness.config import load_station_file
from harness.credentials import instrument_logins, load_credentials
from harness.errors import ConfigError
from pdftext import pdf_text
from simstation import REPO, harness, station_file

SECRETS = {  # one per instrument login, each unlike any other text of a run
    "AKTAU/transponder": ("TP-OPER", "CASPIAN_T_AK_TP", "aktau-tl1-Zq7#x"),
    "SUMGAIT/transponder": ("TP-OPER", "CASPIAN_T_SG_TP", "sumgait-tl1-Wv3%k"),
    "AKTAU/osa": ("osa-user", "CASPIAN_T_AK_OSA", "aktau-osa-Jm9&p"),
    "SUMGAIT/osa": ("osa-user", "CASPIAN_T_SG_OSA", "sumgait-osa-Rb5!t"),
}
WRONG = "not-the-password-Hx2@"


def secret_env() -> dict[str, str]:
    return {var: password for _, var, password in SECRETS.values()}


def login_station(tmp: Path, how: str, name: str = "station.yaml", wrong: str = "") -> Path:
    """One fibre, one wavelength; the simulator expects SECRETS; the station gives them by
    ``password_env`` (``how="env"``) or a credentials file (``"file"``: only user names here);
    ``wrong`` (``STATION/role``) reads its password from a variable holding WRONG."""
    path = station_file(tmp, fibres=["FP1-F1"], wavelengths=[1550], name=name)
    data = yaml.safe_load(path.read_text())
    data["simulator"]["logins"] = {key: {"user": user, "password_env": var}
                                   for key, (user, var, _) in SECRETS.items()}
    for key, (user, var, _) in SECRETS.items():
        station, role = key.split("/")
        entry = data["stations"][station][role]
        entry["user"] = user
        if how == "env":
            entry["password_env"] = var + "_WRONG" if key == wrong else var
    path.write_text(yaml.safe_dump(data))
    return path


def leaks(run_dir: Path, texts: list[str], secrets: list[str], report: bool = True) -> list[str]:
    """Where any secret appears: each file's bytes (UTF-8 and UTF-16), every HDF5 attribute and
    string dataset of run.h5 (decompressed), the PDF's text (``report``: the run made one, as
    ``harness run`` does; the plan run by pytest alone makes none), and ``texts``."""
    found = []
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for s in secrets:
            if s.encode() in data or s.encode("utf-16-le") in data:
                found.append(f"{path.relative_to(run_dir)}: {s}")

    def visit(name: str, obj) -> None:
        values = [str(v) for v in obj.attrs.values()]
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "OSU":
            values += [str(v) for v in np.asarray(obj[()]).ravel().tolist()]
        found.extend(f"run.h5:{name}: {s}" for s in secrets for v in values if s in v)

    with h5py.File(run_dir / "run.h5", "r") as f:
        visit("/", f)
        f.visititems(visit)
    if report:
        text = pdf_text(run_dir / "report.pdf")
        assert "Data files and sign-off" in text  # the text really was extracted
        found += [f"report.pdf text: {s}" for s in secrets if s in text]
    found += [f"output: {s}" for s in secrets for t in texts if s in t]
    return found


# --- loading -------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["transponder", "simulator"])
def test_a_password_in_a_station_file_is_refused_in_one_line(tmp_path, capsys, where):
    path = station_file(tmp_path, fibres=["FP1-F1"], wavelengths=[1550])
    data = yaml.safe_load(path.read_text())
    if where == "transponder":
        data["stations"]["AKTAU"]["transponder"]["password"] = "hunter2"
    else:
        data["simulator"]["logins"] = {"AKTAU/osa": {"user": "u", "password": "hunter2"}}
    path.write_text(yaml.safe_dump(data))
    assert main(["run", "--station", str(path), "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "hunter2" not in err
    assert "a password does not belong in a station file" in err
    assert "use password_env: VARIABLE or a credentials file" in err
    assert not (tmp_path / "r").exists()


def test_an_unset_password_variable_is_named_before_any_run_folder(tmp_path, capsys, monkeypatch):
    for _, var, _ in SECRETS.values():
        monkeypatch.delenv(var, raising=False)
    path = login_station(tmp_path, "env")
    assert main(["run", "--station", str(path), "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "stations.AKTAU.osa: environment variable CASPIAN_T_AK_OSA (password_env) " \
           "is not set" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_password_env_is_refused_for_a_model_without_login(tmp_path):
    path = station_file(tmp_path, fibres=["FP1-F1"])
    data = yaml.safe_load(path.read_text())
    data["stations"]["AKTAU"]["otdr"]["password_env"] = "X"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"otdr.password_env: anritsu-mt9083 has no login"):
        load_station_file(path)


def credentials_file(tmp: Path, mode: int = 0o600, by_resource: bool = False) -> Path:
    path = tmp / "credentials.yaml"
    entries = {key: {"user": user, "password": pw} for key, (user, _, pw) in SECRETS.items()}
    path.write_text(yaml.safe_dump(entries))
    path.chmod(mode)
    return path


def test_a_credentials_file_readable_by_others_is_refused(tmp_path, capsys):
    creds = credentials_file(tmp_path, 0o644)
    station = login_station(tmp_path, "file")
    code = main(["run", "--station", str(station), "--credentials", str(creds),
                 "--results", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"permissions 0644 for credentials file {creds} are too open" in err
    assert not any(pw in err for _, _, pw in SECRETS.values())


def test_credentials_resolve_by_station_role_or_resource_and_never_inside_the_run(tmp_path,
                                                                                  monkeypatch):
    station = load_station_file(login_station(tmp_path, "file"))
    creds = tmp_path / "c.yaml"
    creds.write_text(yaml.safe_dump({"AKTAU/transponder": {"user": "A", "password": "p1"},
                                     "sim": {"password": "p2"}}))
    creds.chmod(0o600)
    logins = instrument_logins(station, creds)
    assert logins[("AKTAU", "transponder")] == {"user": "A", "password": "p1"}
    assert logins[("SUMGAIT", "osa")] == {"password": "p2"}  # by its resource ("sim" here)
    assert repr(logins[("AKTAU", "transponder")]) == "{'user': 'A', 'password': '***'}"
    monkeypatch.setenv("CASPIAN_T_AK_TP", "from-env")
    station.instruments["AKTAU"]["transponder"] = __import__("dataclasses").replace(
        station.instruments["AKTAU"]["transponder"], password_env="CASPIAN_T_AK_TP")
    assert instrument_logins(station, creds)[("AKTAU", "transponder")]["password"] == "from-env"
    with pytest.raises(ConfigError, match="must not be inside the run folder"):
        load_credentials(creds, run_dir=tmp_path)
    creds.write_text("AKTAU/osa: {user: u, password: [p3-secret]}\n")
    with pytest.raises(ConfigError, match=r"AKTAU/osa: expected \{user: NAME, password") as err:
        load_credentials(creds)
    assert "p3-secret" not in str(err.value)


# --- campaigns through the simulated instruments ---------------------------------------------
@pytest.fixture(scope="module")
def env_campaign(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("env")
    proc = harness("run", "--station", str(login_station(tmp, "env")), "--results", str(tmp / "r"),
               "--run-id", "env", "--no-progress", env=secret_env())
    return tmp / "r" / "env", proc


def test_a_password_env_campaign_logs_in_and_holds_no_secret(env_campaign):
    run_dir, proc = env_campaign
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    station_copy = (run_dir / "inputs" / "station.yaml").read_text()
    assert "password_env: CASPIAN_T_AK_TP" in station_copy  # the variable's name is kept
    assert len(list(run_dir.rglob("*"))) > 20  # steps, journal, report, junit.xml ...
    checks = json.loads((run_dir / "summary.json").read_text())["checks"]
    logged_in = {c["requirement"] for c in checks if c["verdict"] == "pass"}
    assert {"ACC-8", "ACC-9"} <= logged_in  # OSA and TL1 checks passed: each login was accepted
    assert leaks(run_dir, [proc.stdout, proc.stderr], [s for *_, s in SECRETS.values()]) == []


def test_the_search_finds_a_secret_planted_in_a_copy(env_campaign, tmp_path):
    """The search above can fail: a password put in junit.xml and in a run.h5 attribute of a
    copy of the run folder is found in both."""
    copy = tmp_path / "copy"
    shutil.copytree(env_campaign[0], copy)
    secret = SECRETS["AKTAU/osa"][2]
    with open(copy / "junit.xml", "a") as f:
        f.write(f"<!-- {secret} -->")
    with h5py.File(copy / "run.h5", "a") as f:
        f.attrs["note"] = f"login {secret}"
    assert leaks(copy, [], [secret]) == [f"junit.xml: {secret}", f"run.h5: {secret}",
                                          f"run.h5:/: {secret}"]


def test_a_credentials_file_campaign_holds_no_secret(tmp_path):
    creds = credentials_file(tmp_path)
    station = login_station(tmp_path, "file")
    env = {var: WRONG for _, var, _ in SECRETS.values()}  # the station never reads these
    env.update(secret_env())  # ... but the simulator expects the real ones from them
    proc = harness("run", "--station", str(station), "--credentials", str(creds),
               "--plan", "test_plans/acceptance/test_osa.py", "--results", str(tmp_path / "r"),
               "--run-id", "creds", "--no-progress", env=env)
    run_dir = tmp_path / "r" / "creds"
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert str(creds) not in (run_dir / "junit.xml").read_text()
    assert leaks(run_dir, [proc.stdout, proc.stderr], [s for *_, s in SECRETS.values()]) == []


WRONG_LOGINS = [
    ("AKTAU/transponder", "AKTAU/transponder at /dev/pts/", "AKTAU transponder (gr831-tl1): /dev/pts/",
     "ACT-USER TP-OPER denied: PIUI (privilege: illegal user identity"),
    ("SUMGAIT/osa", "SUMGAIT/osa at TCPIP::127.0.0.1::", "SUMGAIT osa (yokogawa-aq6370): TCPIP::127.0.0.1::",
     "login as 'osa-user' refused: 'error'")]
"""(instrument with the wrong password, how the preflight names it, how a check names it, the
instrument's refusal)."""


@pytest.mark.parametrize("wrong, named, _, how", WRONG_LOGINS)
def test_a_wrong_password_stops_the_preflight_naming_the_instrument_not_the_password(
        tmp_path, wrong, named, _, how):
    """The preflight logs in with the run's credentials: a refused login is found before any
    run folder exists (exit 2, one line naming the instrument and the refusal)."""
    env = secret_env() | {SECRETS[wrong][1] + "_WRONG": WRONG}
    proc = harness("run", "--station", str(login_station(tmp_path, "env", wrong=wrong)), "--results",
               str(tmp_path / "r"), "--run-id", "wrong", "--plan", "test_plans/acceptance/test_osa.py",
               "--no-progress", env=env)
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert not (tmp_path / "r" / "wrong").exists()
    lines = [line for line in proc.stderr.splitlines() if "login refused" in line]
    assert len(lines) == 1 and lines[0].startswith(f"harness: {named}") and how in lines[0], proc.stderr
    assert "1 of 6 instruments not ready; nothing was measured" in proc.stderr
    assert not [s for s in [WRONG, *(pw for *_, pw in SECRETS.values())]
                if s in proc.stdout + proc.stderr]


@pytest.mark.parametrize("wrong, _, refusal, how", WRONG_LOGINS)
def test_a_login_refused_during_the_run_errors_the_checks_naming_the_instrument_not_the_password(
        tmp_path, wrong, _, refusal, how):
    """A login refused after the preflight (the plan run by pytest itself, no preflight: as when
    a password changes mid-campaign) errors every check of that instrument, never passes one."""
    from harness.runner import pytest_args

    env = secret_env() | {SECRETS[wrong][1] + "_WRONG": WRONG}
    run_dir = tmp_path / "wrong"
    args = pytest_args(REPO / "test_plans/acceptance/test_osa.py",
                       login_station(tmp_path, "env", wrong=wrong),
                       REPO / "test_plans/limits.yaml", run_dir) + ["--progress", "off"]
    proc = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env={**os.environ, **env})
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    with h5py.File(run_dir / "run.h5", "r") as f:
        messages = [g.attrs["message"] for g in f["checks"].values()]
        verdicts = [g.attrs["verdict"] for g in f["checks"].values()]
    assert verdicts and set(verdicts) == {"error"}
    assert any(m.startswith(f"LoginRefused: {refusal}") and how in m for m in messages), messages
    assert how in (run_dir / "junit.xml").read_text()
    assert not (run_dir / "report.pdf").exists()  # pytest alone: the runner makes the report
    assert leaks(run_dir, [proc.stdout, proc.stderr],
                 [WRONG] + [s for *_, s in SECRETS.values()], report=False) == []
