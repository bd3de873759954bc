"""The sign-off report: the PDF is made, deterministic, and says what the record says.

Text is checked in the PDF (poppler's ``pdftotext -layout`` where it is installed, else pypdf's
layout mode from the test extra: never skipped) and in the data model the typst template is fed
(failures first, margins, event matching, hashes).
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from harness.errors import StoreError
from harness.report import build_model, build_report, read_run
from harness.report.model import VERDICT_ORDER, event_table, fmt, json_ready, margin
from harness.report.plots import envelope
from pdftext import pdf_text
from harness.report.record import Event, Measurement, Trace

def squash(text: str) -> str:
    """Text without whitespace or zero-width spaces (letter-spacing and line breaks vary)."""
    return re.sub(r"[\s\u200b]+", "", text)


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


@pytest.fixture(scope="session")
def full_report(full_run):
    """The full run's report, built once; prints the build time."""
    t0 = time.perf_counter()
    path = build_report(full_run)
    elapsed = time.perf_counter() - t0
    record = read_run(full_run)
    kinds = [t.kind for t in record.traces.values()]
    print(f"\nreport of {len(record.checks)} checks and {len(kinds)} traces "
          f"({kinds.count('otdr')} OTDR, {kinds.count('osa')} OSA, {kinds.count('pm')} PM) "
          f"built in {elapsed:.2f} s")
    return path, elapsed


@pytest.fixture(scope="session")
def full_model(full_run):
    return build_model(read_run(full_run))


# --- the PDF ------------------------------------------------------------------------------------
def test_report_is_a_pdf_of_the_expected_length(full_report):
    path, elapsed = full_report
    assert path.name == "report.pdf" and path.parent.name == "full"
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    # cover, contents/set-up, results, 16 OTDR groups (2 per page), 8 OSA pages, PM, sign-off
    assert 20 <= page_count(data) <= 45
    assert elapsed < 60


def test_same_run_gives_the_same_bytes(full_report, full_run):
    first = full_report[0].read_bytes()
    second = build_report(full_run).read_bytes()
    assert first == second


def test_report_carries_the_run_date_not_the_build_date(full_report):
    data = full_report[0].read_bytes()
    assert b"D:20261122084217" in data  # the run's finish time, 2026-11-22T08:42:17Z


def test_cover_says_what_the_run_was_and_its_verdict(full_report):
    cover = squash(pdf_text(full_report[0], 1, 1))
    for text in ("ACCEPTANCE TEST REPORT", "Trans-Caspian submarine fibre cable",
                 "Aktau (KZ) – Sumgait (AZ)", "AKTAU – SUMGAIT", "380 km",
                 "Trans-Caspian acceptance, phase 2", "20261121T080000Z", "0.1.0",
                 "2026-11-21 08:00:00 UTC", "ERROR", "82 checks", "2 fail", "1 error"):
        assert squash(text) in cover, text


def test_user_strings_are_printed_verbatim_not_interpreted(full_report):
    cover = pdf_text(full_report[0], 1, 1)
    assert "A. Nurlanov <a.nurlanov@example.kz> #1 $x$ *bold*" in cover


def test_body_has_every_section_and_the_failure(full_report):
    text = squash(pdf_text(full_report[0]))
    for needle in ("Instruments", "ANRITSU,MT9083C2", "TCPIP::10.20.1.11::50000::SOCKET",
                   "Summary by requirement", "Checks", "OTDR: bidirectional traces",
                   "FP2-F1 at 1550 nm", "Loss AKTAU→SUMGAIT", "Loss SUMGAIT→AKTAU",
                   "OSA: received spectra and channel OSNR", "Transponder performance monitoring",
                   "Data files and sign-off", "For the Contractor", "For the Owner's Engineer",
                   "InstrumentError: AKTAU otdr: no reply to TRAC:ANAL within 30 s",
                   "at 212.30 km from AKTAU"):
        assert squash(needle) in text, needle
    record = read_run(full_report[0].parent)
    assert record.run_h5_sha256 in text
    assert record.attrs["limits_file_sha256"] in text


def test_failures_and_errors_come_first_in_the_check_table(full_report):
    text = pdf_text(full_report[0])
    table = text[text.index("Failures and errors first"):]
    verdicts = re.findall(r"^\s*(PASS|MARGINAL|FAIL|ERROR|SKIPPED)\s+ACC-", table, flags=re.M)
    assert len(verdicts) == 82
    assert verdicts[:4] == ["FAIL", "FAIL", "ERROR", "MARGINAL"]


def test_a_failed_run_says_fail_on_the_cover(tmp_path, make_run_dir):
    run = make_run_dir(tmp_path / "failed", fibres=["FP2-F1"], error_check=False, points=4000,
                       pm_bins=8)
    model = build_model(read_run(run))
    assert model["cover"]["verdict"] == "fail" and model["cover"]["verdict_label"] == "FAIL"
    pdf = build_report(run)
    assert pdf.read_bytes().startswith(b"%PDF")
    cover = pdf_text(pdf, 1, 1)
    assert "FAIL" in cover and "PASS" not in cover.split("OVERALL VERDICT")[1].split("\n")[1]


def test_a_passing_run_says_pass(tmp_path, make_run_dir):
    run = make_run_dir(tmp_path / "good", fibres=["FP1-F1", "FP1-F2"], fail_splice=False,
                       error_check=False, points=4000, pm_bins=4, replay_of="20261120T070000Z")
    model = build_model(read_run(run))
    assert model["cover"]["verdict"] == "pass"
    assert model["cover"]["replay_of"] == "20261120T070000Z"
    pdf = build_report(run)
    cover = pdf_text(pdf, 1, 1)
    assert "PASS" in cover and "Replay" in cover and "20261120T070000Z" in cover


# --- errors ---------------------------------------------------------------------------------------
def test_missing_record_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="no run.h5"):
        build_report(tmp_path)
    assert not (tmp_path / "report.pdf").exists()


def test_corrupt_record_is_a_store_error(tmp_path):
    (tmp_path / "run.h5").write_bytes(b"this is not HDF5")
    with pytest.raises(StoreError, match="cannot open"):
        build_report(tmp_path)


def test_foreign_hdf5_file_is_a_store_error(tmp_path):
    with h5py.File(tmp_path / "run.h5", "w") as f:
        f.attrs["schema"] = "someone-else/1"
    with pytest.raises(StoreError, match="not a caspian-harness run record"):
        build_report(tmp_path)


def test_newer_schema_is_a_store_error(tmp_path):
    with h5py.File(tmp_path / "run.h5", "w") as f:
        f.attrs["schema"] = "caspian-harness/run/9"
    with pytest.raises(StoreError, match="newer"):
        build_report(tmp_path)


def test_a_record_with_nothing_in_it_still_makes_a_report(tmp_path):
    """An aborted run (root attributes only) gets a report that says so, not a crash."""
    with h5py.File(tmp_path / "run.h5", "w") as f:
        f.attrs["schema"] = "caspian-harness/run/1"
        f.attrs["run_id"] = "aborted"
        f.attrs["overall_verdict"] = "error"
    data = build_report(tmp_path).read_bytes()
    assert data.startswith(b"%PDF") and 3 <= page_count(data) <= 6
    text = squash(pdf_text(tmp_path / "report.pdf"))
    assert "ERROR" in text and squash("No check was recorded in this run") in text


# --- the data model -------------------------------------------------------------------------------
def test_checks_are_ordered_failures_and_errors_first(full_model):
    verdicts = [c["verdict"] for c in full_model["checks"]]
    ranks = [VERDICT_ORDER.index(v) for v in verdicts]
    assert ranks == sorted(ranks)
    assert verdicts[:3] == ["fail", "fail", "error"]
    assert verdicts[3] == "marginal" and verdicts[4] == "skipped" and verdicts[-1] == "pass"
    first = full_model["checks"][0]
    assert first["fibre"] == "FP2-F1" and first["requirement"] == "ACC-2" and first["show_message"]
    assert "212.30 km" in first["measurements"][0]["description"]
    assert full_model["counts"] == {"pass": 77, "marginal": 1, "fail": 2, "error": 1, "skipped": 1}


def test_margins_are_the_distance_to_the_nearest_limit(full_model):
    rows = {(c["key"], m["name"]): m for c in full_model["checks"] for m in c["measurements"]}
    splice = rows[("test_splice_loss[FP2-F1-1550nm]", "worst_splice_loss")]
    assert splice["value"] == pytest.approx(0.52)
    assert splice["margin"] == pytest.approx(0.10 - 0.52)
    assert splice["margin_text"] == "−0.420 dB"
    assert splice["limit_text"] == "≤ 0.1" and splice["marginal_text"] == "≤ 0.09"
    osnr = rows[("test_osnr[SUMGAIT-FP3-F1]", "min_osnr")]
    assert osnr["verdict"] == "marginal"
    assert osnr["margin"] == pytest.approx(osnr["value"] - 14.0)
    assert osnr["margin_text"].endswith(" dB")  # "dB (0.1 nm)" differences are in dB


def test_margin_edge_cases():
    def m(value, low=math.nan, high=math.nan):
        return Measurement("x", value, "dB", low, high, math.nan, math.nan, "pass")

    assert margin(m(5.0, low=3.0, high=6.0)) == pytest.approx(1.0)  # nearer the high limit
    assert margin(m(3.5, low=3.0, high=6.0)) == pytest.approx(0.5)
    assert margin(m(2.0, low=3.0)) == pytest.approx(-1.0)
    assert math.isnan(margin(m(2.0)))  # no limit
    assert math.isnan(margin(m(math.nan, high=1.0)))  # not measured


def test_number_formatting():
    assert fmt(0.16234) == "0.162"
    assert fmt(63.2) == "63.20"
    assert fmt(7982.7) == "7983"
    assert fmt(-0.42, signed=True) == "−0.420"
    assert fmt(1.8e-4) == "1.80e−04"
    assert fmt(math.nan) == "—"


def test_model_is_plain_json(full_model):
    import json

    json.dumps(json_ready(full_model), allow_nan=False)


def test_otdr_groups_pair_both_directions(full_model):
    groups = full_model["otdr"]
    assert len(groups) == 16  # 8 fibres x 2 wavelengths
    g = next(g for g in groups if g["fibre"] == "FP2-F1" and g["wavelength_nm"] == 1550.0)
    assert [d["direction"] for d in g["directions"]] == ["AKTAU→SUMGAIT", "SUMGAIT→AKTAU"]
    assert g["reverse"] == [False, True]
    assert g["verdict"] == "fail"
    bad = [e for e in g["events"] if e["over_limit"]]
    assert len(bad) == 1
    assert bad[0]["position_m"] == pytest.approx(212_300.0, abs=1.0)
    assert all(v is not None for v in bad[0]["losses"])  # seen from both ends
    assert bad[0]["average"] == pytest.approx(np.mean(bad[0]["losses"]))
    assert g["splice_limit"] == pytest.approx(0.10)


def test_event_table_mirrors_the_far_end_and_matches_events():
    def trace(station, events):
        return Trace(station, "otdr", station, "F", "", 1550.0, np.zeros(1), np.zeros(1),
                     events=[Event(d, loss, refl, kind) for d, loss, refl, kind in events])

    a = trace("AKTAU", [(0.0, 0.3, -52.0, "reflective"), (100_000.0, 0.04, math.nan, "non-reflective"),
                        (250_000.0, 0.20, math.nan, "non-reflective")])
    b = trace("SUMGAIT", [(0.0, 0.3, -55.0, "reflective"), (130_200.0, 0.08, math.nan, "non-reflective")])
    rows = event_table([(a, False), (b, True)], 380_000.0, ["AKTAU", "SUMGAIT"], [], 0.10)
    assert [round(r["position_m"]) for r in rows] == [0, 100_000, 249_900, 380_000]
    matched = rows[2]  # 250.0 km from AKTAU and 130.2 km from SUMGAIT are the same splice
    assert matched["losses"] == [0.20, 0.08]
    assert matched["average"] == pytest.approx(0.14) and matched["over_limit"]
    assert rows[1]["losses"][1] is None and rows[1]["average"] is None and not rows[1]["over_limit"]
    assert rows[3]["reflectance"] == -55.0 and rows[3]["losses"] == [None, 0.3]


def test_osa_sections_have_osnr_per_channel(full_model):
    assert len(full_model["osa"]) == 8
    s = next(s for s in full_model["osa"] if s["fibre"] == "FP3-F1")
    assert len(s["channels"]) == 40 and s["n_measured"] == 40
    assert s["limit_low"] == 14.0 and s["verdict"] == "marginal"
    lowest = min(c["osnr_db"] for c in s["channels"])
    assert 14.0 < lowest < 15.0
    assert s["min_osnr_text"] == fmt(lowest)


def test_pm_series_are_trends(full_model):
    assert len(full_model["pm"]) == 8
    p = full_model["pm"][0]
    assert p["bins"] == 96 and p["uncorrected_blocks"] == "0" and p["alarms"] == "none"
    assert np.all(np.diff(p["_x"]) > 0)


def test_data_files_are_hashed_without_the_report(full_report, full_model):
    import hashlib

    run = full_report[0].parent
    names = [f["name"] for f in full_model["files"]]
    assert names == ["junit.xml", "run.h5", "summary.json", "inputs/limits.yaml", "inputs/station.yaml"]
    for f in full_model["files"]:
        assert f["sha256"] == hashlib.sha256((run / f["name"]).read_bytes()).hexdigest()
    (run / "manifest.json").write_text("{}")
    try:
        again = build_model(read_run(run))
        assert [f["name"] for f in again["files"]] == names  # neither report.pdf nor manifest.json
    finally:
        (run / "manifest.json").unlink()
    assert [i["status"] for i in full_model["inputs"]] == ["matches inputs/station.yaml",
                                                           "matches inputs/limits.yaml"]


def test_instruments_are_listed_by_station_then_role(full_model):
    rows = [(i["station"], i["role"]) for i in full_model["instruments"]]
    assert rows == [("AKTAU", "otdr"), ("AKTAU", "osa"), ("AKTAU", "transponder"),
                    ("SUMGAIT", "otdr"), ("SUMGAIT", "osa"), ("SUMGAIT", "transponder")]


# --- the store's own layout ----------------------------------------------------------------------
def test_store_layout_with_soft_links_and_check_events(tmp_path, make_run_dir):
    run = make_run_dir(tmp_path / "linked", fibres=["FP2-F1"], links=True, points=4000, pm_bins=4)
    record = read_run(run)
    kinds = sorted(t.kind for t in record.traces.values())
    assert kinds == ["osa", "otdr", "otdr", "otdr", "otdr", "pm"]  # each acquisition read once
    assert all(t.events for t in record.traces.values() if t.kind == "otdr")
    model = build_model(record)
    g = next(g for g in model["otdr"] if g["wavelength_nm"] == 1550.0)
    bad = next(e for e in g["events"] if e["over_limit"])
    assert bad["average"] == pytest.approx(0.52)  # the stored two-direction average, not the mean
    assert build_report(run).read_bytes().startswith(b"%PDF")


def test_record_written_by_the_harness_store(tmp_path):
    """A run.h5 made by harness.store.RunStore (the lead's writer) is read and reported."""
    from harness.config import Limit
    from harness.store import RunStore
    from harness.verdict import Measurement as Judged

    store = RunStore(tmp_path / "run.h5")
    store.create({"run_id": "store-1", "campaign": "c", "cable": "Trans-Caspian", "route": "A – S",
                  "span_length_km": 380.0, "stations": '["AKTAU", "SUMGAIT"]', "operator": "op",
                  "station_file": "s.yaml", "station_file_sha256": "0" * 64, "limits_file": "l.yaml",
                  "limits_file_sha256": "1" * 64, "software_version": "0.1.0",
                  "started_utc": "2026-11-21T08:00:00+00:00", "finished_utc": "2026-11-21T09:00:00+00:00",
                  "overall_verdict": "fail"})
    store.add_instrument("AKTAU", "otdr", {"model": "anritsu-mt9083", "resource": "TCPIP::h::1::SOCKET",
                                           "idn": "ANRITSU,MT9083C2,1,1"})
    x = np.arange(3000) * 8.0
    paths = {}
    for station in ("AKTAU", "SUMGAIT"):
        paths[station] = store.add_acquisition(
            {"kind": "otdr", "station": station, "port": 1}, x, -3 - 0.16 * x / 1000,
            ("m", "Distance"), ("dB", "Level"),
            {"kind": "otdr", "station": station, "fibre": "FP1-F1", "wavelength_nm": 1550.0,
             "direction": f"{station}→{'SUMGAIT' if station == 'AKTAU' else 'AKTAU'}",
             "pulse_width_ns": 20000.0, "averaging_s": 180.0, "instrument_idn": "X"})
    limit = Limit("otdr.splice_loss_bidir", "dB", high=0.1, marginal_high=0.09, requirement="ACC-2")
    store.write_check("test_splice_loss[FP1-F1-1550nm]",
                      {"nodeid": "p::test_splice_loss[FP1-F1-1550nm]", "title": "Splice loss",
                       "requirement": "ACC-2", "station": "", "fibre": "FP1-F1", "wavelength_nm": 1550.0,
                       "verdict": "fail", "message": "FP1-F1: splice 0.52 dB", "started_utc": "",
                       "duration_s": 1.0},
                      [Judged("worst_splice_loss", 0.52, limit, "fail", "at 12.0 km")],
                      {f"otdr_{s}_p1_1550nm": p for s, p in paths.items()},
                      {"AKTAU": [{"distance_m": 12_000.0, "loss_db": 0.5, "reflectance_db": None,
                                  "type": "non-reflective"}]})
    store.consolidate()
    model = build_model(read_run(tmp_path))
    assert model["cover"]["verdict_label"] == "FAIL"
    assert model["checks"][0]["measurements"][0]["margin"] == pytest.approx(-0.42)
    assert len(model["otdr"]) == 1 and len(model["otdr"][0]["directions"]) == 2
    assert model["otdr"][0]["events"][0]["losses"][0] == pytest.approx(0.5)
    assert build_report(tmp_path).read_bytes().startswith(b"%PDF")


# --- plotting --------------------------------------------------------------------------------------
def test_envelope_keeps_every_peak_in_about_2000_points():
    rng = np.random.default_rng(0)
    x = np.arange(50_000, dtype=float)
    y = rng.normal(size=x.size)
    y[12_345] = 40.0
    y[40_000] = -40.0
    y[100:200] = np.nan
    xs, ys = envelope(x, y)
    assert 1900 <= xs.size <= 2000
    assert np.all(np.diff(xs) >= 0)
    assert np.nanmax(ys) == 40.0 and np.nanmin(ys) == -40.0
    assert 12_345.0 in xs and 40_000.0 in xs
    small_x, small_y = envelope(x[:500], y[:500])
    assert small_x.size == 500


def test_sign_off_page_names_each_signer_with_the_key_fingerprint(make_run_dir, tmp_path, capsys):
    """``harness report RUN --signers FILE``: inputs/signers.yaml, and on the last page each
    signer's name, role and OpenSSH SHA256 key fingerprint; the manifest then holds it."""
    import json

    import yaml

    from harness.cli import main
    from harness.signing import key_file_fingerprint, keygen

    run = make_run_dir(tmp_path / "run", fibres=["FP1-F1"], points=2_000, pm_bins=4)
    _, pub_c = keygen(tmp_path / "contractor")
    _, pub_o = keygen(tmp_path / "owner")
    signers = tmp_path / "signers.yaml"
    signers.write_text(yaml.safe_dump({"signers": [
        {"name": "A. Contractor", "role": "contractor", "public_key": "contractor.pub"},
        {"name": "O. Engineer", "role": "owner's engineer", "public_key": "owner.pub"}]}))
    assert main(["report", str(run), "--signers", str(signers)]) == 0
    model = build_model(read_run(run))
    assert model["signers"] == [
        {"name": "A. Contractor", "role": "contractor", "fingerprint": key_file_fingerprint(pub_c)},
        {"name": "O. Engineer", "role": "owner's engineer", "fingerprint": key_file_fingerprint(pub_o)}]
    assert "inputs/signers.yaml" in json.loads((run / "manifest.json").read_text())["files"]
    last = squash(pdf_text(run / "report.pdf", page_count((run / "report.pdf").read_bytes())))
    for text in ("Forthecontractor", "A.Contractor", "O.Engineer", "Fortheowner'sengineer",
                 key_file_fingerprint(pub_c), key_file_fingerprint(pub_o)):
        assert squash(text) in last.replace("’", "'"), text
