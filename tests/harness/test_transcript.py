"""The I/O transcript of every instrument is kept with the run, secrets masked, printed by
``harness transcript``; ``harness report`` does not need it; a resumed run appends to it.

One short simulated campaign (one fibre, one wavelength) through the real CLI.
"""

from __future__ import annotations

import ast
import json
import shutil

import pytest
import yaml

from simstation import harness, station_file

SECRET = "Osa-Pa55w0rd-91Q"
SECRET_ENV = {"CASPIAN_T_TRANSCRIPT_OSA": SECRET}
"""The OSAs' LAN password, given as ``password_env`` (a station file never holds one)."""
INSTRUMENTS = ["AKTAU-otdr", "AKTAU-transponder", "SUMGAIT-osa", "SUMGAIT-otdr",
               "SUMGAIT-transponder"]
"""The instruments FP1-F1 at 1550 nm uses (AKTAU transmits it: no OSA sweep there)."""


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("transcript")
    station = station_file(tmp, fibres=["FP1-F1"], wavelengths=[1550])
    data = yaml.safe_load(station.read_text())
    for name in ("AKTAU", "SUMGAIT"):
        data["stations"][name]["osa"]["password_env"] = "CASPIAN_T_TRANSCRIPT_OSA"
    data["simulator"]["logins"] = {  # the simulated OSAs refuse any other login
        f"{name}/osa": {"user": "anonymous", "password_env": "CASPIAN_T_TRANSCRIPT_OSA"}
        for name in ("AKTAU", "SUMGAIT")}
    station.write_text(yaml.safe_dump(data))
    proc = harness("run", "--station", str(station), "--results", str(tmp), "--run-id", "t",
                   env=SECRET_ENV)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    run = tmp / "t"
    sizes = {p.name: (p.stat().st_size, len(p.read_text().splitlines()))
             for p in sorted((run / "transcripts").glob("*.jsonl"))}
    print("\ntranscript sizes (bytes, lines) for a one-fibre one-wavelength campaign:")
    for name, (size, lines) in sizes.items():
        print(f"  {name:28s} {size:8d} B {lines:6d} lines")
    return run


def records(run, name):
    return [json.loads(line) for line in (run / "transcripts" / f"{name}.jsonl").read_text().splitlines()]


def test_every_instrument_has_its_transcript_with_each_exchange(campaign):
    assert sorted(p.stem for p in (campaign / "transcripts").glob("*.jsonl")) == sorted(INSTRUMENTS)
    for name in INSTRUMENTS:
        recs = records(campaign, name)
        begin = recs[0]
        assert begin["op"] == "begin" and begin["run_id"] == "t" and begin["model"]
        assert begin["resource"].startswith(("TCPIP::127.0.0.1::", "/dev/"))
        exchanges = recs[1:]
        assert exchanges[0]["op"] == "open" and exchanges[-1]["op"] == "close"
        for r in exchanges:
            assert r["utc"].endswith("+00:00") and r["ms"] >= 0
            if "reply" in r:
                assert isinstance(r["reply_len"], int) and r["reply"].startswith("b")
                assert len(ast.literal_eval(r["reply"])) <= 64  # repr of at most 64 bytes
    otdr = records(campaign, "AKTAU-otdr")
    idn = next(r for r in otdr if r.get("sent") == "*IDN?")
    assert "ANRITSU,MT9083" in idn["reply"] and idn["reply_len"] > 20
    blocks = [r for r in otdr if r["op"] == "block"]
    assert blocks and max(r["reply_len"] for r in blocks) > 10_000
    shelf = records(campaign, "AKTAU-transponder")
    assert any(r.get("sent", "").startswith("RTRV-NETYPE:AKTAU-TP1") and "COMPLD" in r["reply"]
               for r in shelf if r["op"] == "command")


def test_no_password_reaches_any_transcript_byte(campaign):
    """The OSA's LAN password (``password_env``) and the shelf's default PID are masked."""
    for path in (p for p in campaign.rglob("*") if p.is_file()):  # transcripts and the rest
        assert SECRET.encode() not in path.read_bytes(), path
    osa = records(campaign, "SUMGAIT-osa")
    login = [r.get("sent") for r in osa if r["op"] == "query"][:2]
    assert login == ['open "anonymous"', "***"]
    shelf = records(campaign, "SUMGAIT-transponder")
    assert any(r.get("sent") == "ACT-USER:SUMGAIT-TP1:ADMIN:1::***;" for r in shelf)
    assert not any("::ADMIN;" in json.dumps(r) for r in shelf)  # the default PID is masked too


def test_transcripts_are_in_the_manifest_and_verify(campaign):
    listed = json.loads((campaign / "manifest.json").read_text())["files"]
    assert all(f"transcripts/{name}.jsonl" in listed for name in INSTRUMENTS)
    assert harness("verify", str(campaign)).returncode == 0


def test_harness_transcript_prints_them_readably(campaign):
    proc = harness("transcript", str(campaign))
    assert proc.returncode == 0, proc.stderr
    heads = [line for line in proc.stdout.splitlines() if not line.startswith(" ")]
    assert [h.split(":")[0] for h in heads] == sorted(n.replace("-", "/", 1) for n in INSTRUMENTS)
    assert "*IDN?  -> b'ANRITSU,MT9083" in proc.stdout
    one = harness("transcript", str(campaign), "--instrument", "SUMGAIT/osa")
    assert one.returncode == 0
    assert one.stdout.splitlines()[0].startswith("SUMGAIT/osa: ")
    assert "AKTAU" not in one.stdout
    bad = harness("transcript", str(campaign), "--instrument", "BAKU/otdr")
    assert bad.returncode == 2 and "no transcript of BAKU/otdr" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_report_does_not_need_the_transcripts(campaign, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(campaign, copy)
    shutil.rmtree(copy / "transcripts")
    proc = harness("report", str(copy))
    assert proc.returncode == 0, proc.stderr
    assert (copy / "report.pdf").is_file() and harness("verify", str(copy)).returncode == 0


def test_a_resumed_run_appends_to_the_transcripts(campaign, tmp_path):
    copy = tmp_path / "resumed"
    shutil.copytree(campaign, copy)
    before = {n: len(records(copy, n)) for n in INSTRUMENTS}
    proc = harness("resume", str(copy), env=SECRET_ENV)
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    resumed_sessions = 0
    for name in INSTRUMENTS:
        recs = records(copy, name)
        assert recs[:before[name]] == records(campaign, name)  # nothing rewritten
        resumed_sessions += any(r["op"] == "begin" and r.get("resumed") for r in recs[before[name]:])
    assert resumed_sessions >= 1
    assert json.loads((copy / "summary.json").read_text())["overall_verdict"] == \
        json.loads((campaign / "summary.json").read_text())["overall_verdict"]
