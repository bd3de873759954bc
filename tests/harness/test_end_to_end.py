"""The whole path, as an engineer runs it: ``harness run`` starts the simulated stations in a
child process, drives them through pyvisa-py and pyserial, and leaves a run folder."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest
import yaml

from simstation import harness, station_file

pytestmark = pytest.mark.campaign


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory) -> Path:
    results = tmp_path_factory.mktemp("results")
    proc = harness("run", "--results", str(results), "--run-id", "clean")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return results / "clean"


def test_run_folder_holds_every_file_with_its_hash(clean_run):
    for name in ("run.h5", "report.pdf", "junit.xml", "summary.json", "manifest.json",
                 "inputs/station.yaml", "inputs/limits.yaml"):
        assert (clean_run / name).is_file(), name
    manifest = json.loads((clean_run / "manifest.json").read_text())["files"]
    steps = {n for n in manifest if n.startswith("steps/")}
    transcripts = {f"transcripts/{s}-{r}.jsonl" for s in ("AKTAU", "SUMGAIT")
                   for r in ("otdr", "osa", "transponder")}  # the I/O of each instrument
    assert set(manifest) - steps == {"run.h5", "report.pdf", "junit.xml", "summary.json",
                                     "inputs/station.yaml", "inputs/limits.yaml"} | transcripts
    # every durable step file: one per acquisition (48 OTDR traces, 48 interlock readings of the
    # transponder channel state, 8 OSA sweeps, 8 WDM tables, 8 PM bins, 8 PM histories), one per
    # check, run and instrument attributes, prompts and interlock decisions, journal
    checks = json.loads((clean_run / "summary.json").read_text())["checks"]
    assert len(steps) == 48 + 48 + 4 * 8 + len(checks) + 4
    assert {"steps/run.json", "steps/instruments.json", "steps/prompts.json",
            "steps/journal.jsonl"} <= steps
    assert (clean_run / "report.pdf").read_bytes().startswith(b"%PDF")


def test_record_has_traces_with_units_provenance_and_verdicts(clean_run):
    with h5py.File(clean_run / "run.h5", "r") as f:
        assert f.attrs["overall_verdict"] == "pass"
        assert f.attrs["station_file_sha256"] and f.attrs["software_version"]
        assert f["instruments/AKTAU/otdr"].attrs["idn"].startswith("ANRITSU,MT9083")
        assert f["instruments/SUMGAIT/otdr"].attrs["idn"].startswith("EXFO,FTB-7")
        assert f["instruments/SUMGAIT/osa"].attrs["idn"].startswith("YOKOGAWA,AQ6370")
        kinds = [g.attrs["kind"] for g in f["acquisitions"].values()]
        # stations x fibres x wavelengths, and one ACC-5 short-pulse shot per station x fibre
        assert kinds.count("otdr") == 2 * 8 * 2 + 2 * 8
        assert kinds.count("och") == 2 * 8 * 2 + 2 * 8  # the interlock reading before each shot
        for kind in ("osa", "pm", "osa_wdm", "pm_history"):
            assert kinds.count(kind) == 8, kind
        otdr = next(g for g in f["acquisitions"].values() if g.attrs["kind"] == "otdr")
        assert otdr["x"].attrs["units"] == "m" and otdr["y"].attrs["units"] == "dB"
        assert len(otdr["y"]) == 50_000
        checks = f["checks"]
        # per fibre x wavelength: ACC-1, 2, 4; per station x fibre x wavelength: ACC-3;
        # per received fibre: ACC-6, 7, 9 and ACC-8 (OSNR, grid, flatness)
        # per station x fibre: macrobends (1550 vs 1625 nm), ACC-5 reflectance and ORL;
        # per received fibre: ACC-10 soak
        assert len(checks) == 8 * 2 * 3 + 2 * 8 * 2 + 8 * 6 + 2 * 8 * 3 + 8
        verdicts = {g.attrs["verdict"] for g in checks.values()}
        assert verdicts <= {"pass", "marginal"}
        e2e = checks["test_end_to_end_loss[FP3-F1-1550nm]"]
        assert e2e["measurements/end_to_end_loss"].attrs["units"] == "dB"
        assert 58 < e2e["measurements/end_to_end_loss"][()] < 64
        assert len(e2e["traces"]) == 2 and e2e["traces"]
        first = next(iter(e2e["traces"].values()))
        assert first["y"].shape == (50_000,)


def test_replay_reproduces_every_verdict_and_value(clean_run, tmp_path):
    proc = harness("replay", str(clean_run), "--results", str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Every verdict equals the original run's" in proc.stdout
    replay = next(tmp_path.iterdir())
    with h5py.File(clean_run / "run.h5", "r") as a, h5py.File(replay / "run.h5", "r") as b:
        assert b.attrs["replay_of"] == "clean"
        assert set(a["checks"]) == set(b["checks"])
        for key in a["checks"]:
            assert a["checks"][key].attrs["verdict"] == b["checks"][key].attrs["verdict"]
            for name, ds in a["checks"][key]["measurements"].items():
                assert b["checks"][key]["measurements"][name][()] == ds[()]


def test_a_changed_byte_is_caught_and_replay_refuses(clean_run, tmp_path):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(clean_run, copy)
    assert harness("verify", str(copy)).returncode == 0
    data = bytearray((copy / "junit.xml").read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / "junit.xml").write_bytes(bytes(data))
    proc = harness("verify", str(copy))
    assert proc.returncode == 1 and "junit.xml: changed" in proc.stderr
    proc = harness("replay", str(copy), "--results", str(tmp_path / "r"))
    assert proc.returncode == 2 and "refusing to replay" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_injected_faults_fail_the_matching_checks_saying_where(tmp_path):
    station = station_file(tmp_path, [
        {"type": "break", "fibre": "FP2-F1", "distance_km": 212.0},
        {"type": "splice", "fibre": "FP1-F2", "distance_km": 150.0, "loss_db": 0.5},
    ], fibres=["FP1-F2", "FP2-F1"], wavelengths=[1550])
    proc = harness("run", "--station", str(station), "--results", str(tmp_path), "--run-id", "faulty")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    checks = json.loads((tmp_path / "faulty" / "summary.json").read_text())["checks"]
    verdict = {c["key"]: c for c in checks}
    e2e = verdict["test_end_to_end_loss[FP2-F1-1550nm]"]
    assert e2e["verdict"] == "fail" and "212.0" in e2e["message"] and "break" in e2e["message"]
    splice = verdict["test_splice_loss[FP1-F2-1550nm]"]
    assert splice["verdict"] == "fail" and "at 150." in splice["message"]
    assert splice["measurements"]["worst_splice_loss"]["value"] == pytest.approx(0.5, abs=0.03)
    q = verdict["test_q_margin[SUMGAIT-FP2-F1]"]
    assert q["verdict"] == "fail" and "LOS" in q["message"]
    assert verdict["test_osnr[SUMGAIT-FP2-F1]"]["verdict"] == "fail"
    # the healthy directions of the same fibres still pass
    assert verdict["test_end_to_end_loss[FP1-F2-1550nm]"]["verdict"] in ("pass", "marginal")
    assert verdict["test_q_margin[AKTAU-FP1-F2]"]["verdict"] in ("pass", "marginal")
    assert "FAIL" in proc.stdout


def test_an_unreachable_instrument_stops_the_run_before_any_run_folder(tmp_path):
    """Was: the run went ahead and ended AKTAU's OTDR checks as errors (exit 1). Issue #12
    item 5: the preflight refuses the run first (exit 2, one line naming the resource, no
    run folder); an instrument failing *during* a run still ends its checks as errors, never
    a pass (test_every_instrument_fault_ends_its_checks_as_errors_saying_why)."""
    station = station_file(tmp_path, [], fibres=["FP1-F1"], wavelengths=[1550])
    data = yaml.safe_load(station.read_text())
    data["stations"]["AKTAU"]["otdr"]["resource"] = "TCPIP::127.0.0.1::9::SOCKET"  # nothing listens
    station.write_text(yaml.safe_dump(data))
    proc = harness("run", "--station", str(station), "--results", str(tmp_path), "--run-id", "down")
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not (tmp_path / "down").exists()
    assert "harness: AKTAU/otdr at TCPIP::127.0.0.1::9::SOCKET: refused" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_garbled_osa_blocks_make_those_checks_errors_with_the_reason(tmp_path):
    station = station_file(tmp_path, [], fibres=["FP1-F1", "FP1-F2"], wavelengths=[1550])
    data = yaml.safe_load(station.read_text())
    data["simulator"]["instrument_faults"] = [
        {"station": "SUMGAIT", "role": "osa", "fault": "garble", "command": "trace_y"}]
    station.write_text(yaml.safe_dump(data))
    proc = harness("run", "--station", str(station), "--results", str(tmp_path), "--run-id", "garble")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    checks = {c["key"]: c for c in json.loads((tmp_path / "garble" / "summary.json").read_text())["checks"]}
    broken = [c for k, c in checks.items() if k.startswith(("test_osnr[SUMGAIT", "test_flatness[SUMGAIT"))]
    assert broken and all(c["verdict"] == "error" for c in broken)
    assert all("ProtocolError" in c["message"] for c in broken)
    assert checks["test_osnr[AKTAU-FP1-F2]"]["verdict"] in ("pass", "marginal")
    assert checks["test_q_margin[SUMGAIT-FP1-F1]"]["verdict"] in ("pass", "marginal")


INSTRUMENT_FAULTS = [
    # (station, role, fault entry, what the check's message must say)
    ("AKTAU", "otdr", {"fault": "garble", "command": "data"}, "ProtocolError"),
    ("SUMGAIT", "otdr", {"fault": "busy"}, "not finished after 2.3 s; sent :ABOR"),
    ("AKTAU", "osa", {"fault": "truncate", "command": "trace_y"}, "no complete answer"),
    ("SUMGAIT", "osa", {"fault": "error", "command": "rbw", "error": '-350,"Queue overflow"'},
     "Queue overflow"),
    ("AKTAU", "transponder", {"fault": "delay", "command": "RTRV-PM-OCH", "delay_s": 3.0},
     "InstrumentTimeout"),
    # on a pseudo-terminal a dropped reply is a reply that never completes
    ("SUMGAIT", "transponder", {"fault": "drop", "command": "RTRV-PM-OCH", "after_bytes": 10},
     "no response to RTRV-PM-OCH"),
]


def test_every_instrument_fault_ends_its_checks_as_errors_saying_why(tmp_path):
    """One campaign with a different instrument fault on each of the six instruments: every
    check that needs a faulty instrument is an error (never a pass) whose message names the
    fault, and the run still writes its record and report."""
    station = station_file(tmp_path, [], fibres=["FP1"], wavelengths=[1550])
    data = yaml.safe_load(station.read_text())
    data["simulator"]["instrument_faults"] = [
        {"station": s, "role": r, **entry} for s, r, entry, _ in INSTRUMENT_FAULTS]
    # give up quickly: the simulated OTDR averages 1000x faster than real time; 0.5 s reads
    # (a simulated instrument answers in milliseconds; each faulty read is tried 3 times)
    for s in ("AKTAU", "SUMGAIT"):
        data["stations"][s]["otdr"].update(time_scale=0.001, margin_s=2.0)
        data["stations"][s]["osa"]["timeout_s"] = 0.5
        data["stations"][s]["transponder"]["timeout_s"] = 0.5
    station.write_text(yaml.safe_dump(data))
    proc = harness("run", "--station", str(station), "--results", str(tmp_path), "--run-id", "sick")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / "sick" / "report.pdf").is_file()
    checks = json.loads((tmp_path / "sick" / "summary.json").read_text())["checks"]
    needs = {("otdr", "AKTAU"): ["test_section_attenuation[AKTAU-"],
             ("otdr", "SUMGAIT"): ["test_section_attenuation[SUMGAIT-"],
             ("osa", "AKTAU"): ["test_osnr[AKTAU-", "test_flatness[AKTAU-"],
             ("osa", "SUMGAIT"): ["test_osnr[SUMGAIT-", "test_channel_grid[SUMGAIT-"],
             ("transponder", "AKTAU"): ["test_q_margin[AKTAU-", "test_dgd[AKTAU-"],
             ("transponder", "SUMGAIT"): ["test_q_margin[SUMGAIT-", "test_dgd[SUMGAIT-"]}
    for station_name, role, entry, says in INSTRUMENT_FAULTS:
        for prefix in needs[(role, station_name)]:
            hit = [c for c in checks if c["key"].startswith(prefix)]
            assert hit, prefix
            for c in hit:
                assert c["verdict"] == "error", (entry["fault"], c["key"], c["verdict"], c["message"])
                assert says in c["message"], (entry["fault"], c["key"], c["message"])
    assert not any(c["verdict"] == "pass" for c in checks if "[" in c["key"]
                   and not c["key"].startswith(("test_macrobends",)))


def test_report_puts_each_event_table_on_its_otdr_trace(clean_run):
    """The interlock reading a check also links (kind ``och``, same station) must not take the
    station's event table from the OTDR trace it belongs to."""
    from harness.report.record import read_run

    traces = list(read_run(clean_run).traces.values())
    otdr = [t for t in traces if t.kind == "otdr"]
    assert otdr and all(t.events is not None for t in otdr)
    assert all(t.events is None for t in traces if t.kind == "och")
