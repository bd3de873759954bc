"""The file commands as an engineer runs them (a child process): ``sor dump``, ``sor import``/
``export``, ``analyse otdr`` (one trace, two directions) and ``analyse osa``; bad input gives
one line on stderr and exit code 2. On the real files in tests/data/sor the event table is
compared with the instrument's own key events, and the agreement printed (pytest -s)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aq6370_files import aq6370_all_traces_file, aq6370_trace_file
from harness.analysis.otdr import pulse_length_m
from harness.sor import record_from_trace, save_sor
from instruments.protocols import OsaSettings, OtdrSettings
from instruments.sim.osa_physics import channel_osnr_db, channel_power_dbm, osa_spectrum
from instruments.sim.otdr_physics import otdr_trace
from instruments.sim.span import build_span, load_span

REPO = Path(__file__).resolve().parents[2]
SOR_DIR = REPO / "tests" / "data" / "sor"
NOYES, EXFO = SOR_DIR / "example1-noyes-ofl280.sor", SOR_DIR / "example2-exfo-maxtester730c.sor"


def harness(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def ok_json(*args: str) -> dict:
    proc = harness(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def one_line_error(proc: subprocess.CompletedProcess, *words: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr[-2000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def need(path: Path) -> Path:
    assert path.is_file(), f"{path} is missing from the repository"
    return path


# --- sor -----------------------------------------------------------------------------------

def test_sor_dump_prints_the_fields_the_issue_names():
    d = ok_json("sor", "dump", need(NOYES))
    for key in ("wavelength_nm", "pulse_widths_ns", "group_index", "sample_spacing_m", "n_points",
                "supplier", "events"):
        assert key in d
    assert d["wavelength_nm"] == 1550.0 and d["pulse_widths_ns"] == [30]
    assert {"distance_m", "loss_db", "reflectance_db", "code"} <= set(d["events"][0])


def test_sor_import_then_export_through_the_cli(tmp_path):
    proc = harness("sor", "import", need(NOYES), need(EXFO), "--results", tmp_path,
                   "--run-id", "imp")
    assert proc.returncode == 0, proc.stderr
    assert "Cksum" in proc.stderr  # the EXFO file's checksum quirk, warned
    run_dir = tmp_path / "imp"
    assert harness("verify", run_dir).returncode == 0
    out = tmp_path / "back.sor"
    proc = harness("sor", "export", run_dir, "--check", "noyes", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert ok_json("sor", "dump", out)["events"] == ok_json("sor", "dump", NOYES)["events"]
    one_line_error(harness("sor", "export", run_dir, "-o", out), "2 checks", "--check",
                   "1 sor_import[example1-noyes-ofl280.sor]")
    # analysing the stored trace gives the table the file itself gives
    from_run = ok_json("analyse", "otdr", run_dir, "--check", "noyes", "--json")
    from_file = ok_json("analyse", "otdr", NOYES, "--json")
    assert from_run["events"] == from_file["events"] and from_run["events"]


# --- analyse otdr: the real files against the instruments' own event tables ----------------

def _agreement(path: Path) -> tuple[list, list, list, float]:
    dump = ok_json("sor", "dump", path)
    ours = ok_json("analyse", "otdr", path, "--json")
    pulse = pulse_length_m(dump["pulse_widths_ns"][0], dump["group_index"])
    tol = max(pulse, 2 * dump["sample_spacing_m"])
    theirs = dump["events"]
    end = next(e["distance_m"] for e in theirs if e["code"][1] == "E")
    # what an analysis can see: up to the fibre's end, past the dead zone of a port launch
    due = [e for e in theirs if e["distance_m"] <= end + tol
           and not (ours["user_offset_m"] == 0 and e["distance_m"] < 2 * pulse)]
    pairs, extra = [], []
    for m in ours["events"]:
        near = [e for e in due if abs(e["distance_m"] - m["distance_m"]) <= tol]
        if near:
            pairs.append((min(near, key=lambda e: abs(e["distance_m"] - m["distance_m"])), m))
        else:
            extra.append(m)
    print(f"\n{path.name}: {len(due)} instrument events in range, {len(ours['events'])} found, "
          f"{len(pairs)} matched (tolerance {tol:.2f} m)")
    for e, m in pairs:
        print(f"  {e['distance_m']:9.2f} m {e['code']} {e['loss_db']:+.3f} dB "
              f"R {e['reflectance_db']} | {m['distance_m']:9.2f} m {m['type']:<14} "
              f"{m['loss_db'] if m['loss_db'] is not None else float('nan'):+.3f} dB "
              f"R {m['reflectance_db']}")
    return due, pairs, extra, tol


@pytest.mark.parametrize("path", [NOYES, EXFO], ids=["noyes", "exfo"])
def test_otdr_events_agree_with_the_instruments_key_events(path):
    """Two analyses of one trace, not a reference and a copy: every instrument event within
    the fibre is found (recall 1) and nothing else (precision 1), located within a pulse
    length; non-reflective losses agree within 0.05 dB (LSA on both sides; the windows
    differ), reflective ones within 0.3 dB (the line after a reflection starts where each
    analysis judges the dead zone over), reflectances within 2 dB."""
    due, pairs, extra, tol = _agreement(need(path))
    assert len({id(e) for e, _ in pairs}) == len(due) and not extra
    for e, m in pairs:
        assert abs(m["distance_m"] - e["distance_m"]) <= tol
        if e["code"][1] == "E":
            assert m["type"] == "end"
            continue
        assert m["type"] == ("reflective" if e["code"][0] in "12" else "non-reflective")
        assert abs(m["loss_db"] - e["loss_db"]) <= (0.3 if m["type"] == "reflective" else 0.05)
        if m["reflectance_db"] is not None:
            assert abs(m["reflectance_db"] - e["reflectance_db"]) <= 2.0


def test_analyse_otdr_json_keys_and_table():
    d = ok_json("analyse", "otdr", need(EXFO), "--json")
    assert {"length_m", "attenuation_db_per_km", "span_loss_db", "events"} <= set(d)
    assert d["length_m"] == pytest.approx(3739.2, abs=1.0)
    assert 0.3 < d["attenuation_db_per_km"] < 0.36  # 1310 nm
    for e in d["events"]:
        assert {"distance_m", "type", "loss_db", "reflectance_db"} <= set(e)
        assert e["type"] in ("non-reflective", "reflective", "end")
    proc = harness("analyse", "otdr", EXFO)
    assert proc.returncode == 0 and "reflective" in proc.stdout and "3739" in proc.stdout


@pytest.fixture(scope="module")
def both_directions(tmp_path_factory) -> tuple[Path, Path, float]:
    """The simulated span's FP1-F1 at 1550 nm from each station, written as .sor files."""
    span = load_span()
    settings = OtdrSettings()
    folder = tmp_path_factory.mktemp("bidir")
    paths = []
    for station in span.stations:
        level = otdr_trace(span, "FP1-F1", station, settings)
        x = np.arange(level.size) * settings.resolution_m
        path = folder / f"{station}.sor"
        save_sor(record_from_trace(x, level, wavelength_nm=1550, pulse_width_ns=settings.pulse_width_ns,
                                   group_index=settings.group_index, averaging_s=180), path)
        paths.append(path)
    return paths[0], paths[1], span.fibre("FP1-F1").length_km * 1000.0


def test_analyse_otdr_bidirectional(both_directions):
    a, b, length_m = both_directions
    one_line_error(harness("analyse", "otdr", a, b, "--bidirectional"), "--length-m")
    d = ok_json("analyse", "otdr", a, b, "--bidirectional", "--length-m", str(length_m),
                "--threshold-db", "0.05", "--json")
    assert {"length_m", "attenuation_db_per_km", "span_loss_db", "events"} <= set(d)
    assert d["length_m"] == pytest.approx(length_m, abs=1000)
    assert d["events"] and all(0 <= e["distance_m"] <= d["length_m"] for e in d["events"])
    both = [e for e in d["events"] if e["loss_a_db"] is not None and e["loss_b_db"] is not None]
    assert both, d["events"]
    for e in both:
        assert e["loss_db"] == pytest.approx((e["loss_a_db"] + e["loss_b_db"]) / 2, abs=2e-4)


# --- analyse osa ---------------------------------------------------------------------------

def _csv(path: Path, wl: np.ndarray, p: np.ndarray) -> Path:
    path.write_text("wavelength_nm,power_dbm\n"
                    + "".join(f"{w:.6f},{v:.4f}\n" for w, v in zip(wl, p)))
    return path


def test_analyse_osa_osnr_through_the_csv(tmp_path):
    raw = copy.deepcopy(load_span().raw)
    raw["dwdm"]["osnr_design_db"] = 22.0
    span = build_span(raw)
    wl, p = osa_spectrum(span, "FP1-F1", OsaSettings())
    d = ok_json("analyse", "osa", _csv(tmp_path / "s.csv", wl, p), "--rbw-nm", "0.1", "--json")
    truth = channel_osnr_db(span, "FP1-F1")
    assert len(d["channels"]) == len(truth)
    errors = [c["osnr_db"] - t for c, t in zip(d["channels"], truth)]
    print(f"\nOSNR 22 dB through the CSV: |error| max {max(map(abs, errors)):.3f} dB")
    assert max(map(abs, errors)) <= 0.3
    assert {"center_nm", "power_dbm", "osnr_db"} <= set(d["channels"][0])
    proc = harness("analyse", "osa", tmp_path / "s.csv")
    assert proc.returncode == 0 and "OSNR" in proc.stdout


def test_analyse_osa_refuses_osnr_on_a_dense_grid(tmp_path):
    raw = copy.deepcopy(load_span().raw)
    raw["dwdm"].update(spacing_ghz=50.0, channels=79)
    wl, p = osa_spectrum(build_span(raw), "FP1-F1", OsaSettings())
    d = ok_json("analyse", "osa", _csv(tmp_path / "d.csv", wl, p), "--spacing-ghz", "50", "--json")
    assert d["channels"] and all(c["osnr_db"] is None and "not reached" in c["osnr_note"]
                                 for c in d["channels"])


def test_analyse_osa_finds_a_dense_grid_without_a_hint(tmp_path):
    raw = copy.deepcopy(load_span().raw)
    raw["dwdm"].update(spacing_ghz=50.0, channels=64, baud_gbd=16.0)
    span = build_span(raw)
    wl, p = osa_spectrum(span, "FP1-F1", OsaSettings())
    d = ok_json("analyse", "osa", _csv(tmp_path / "d.csv", wl, p), "--json")
    assert (d["grid"], d["spacing_ghz"], d["grid_source"]) == ("fixed", 50.0, "trace")
    assert len(d["channels"]) == 64
    errors = [c["osnr_db"] - t for c, t in zip(d["channels"], channel_osnr_db(span, "FP1-F1"))]
    assert max(map(abs, errors)) <= 0.3
    assert (d["rbw_nm"], d["rbw_source"]) == (0.1, "default")


def test_analyse_osa_reads_the_aq6370_file_with_its_resolution(tmp_path):
    raw = copy.deepcopy(load_span().raw)
    raw["dwdm"]["osnr_design_db"] = 20.0
    span = build_span(raw)
    settings = OsaSettings(rbw_nm=0.05)
    wl, p = osa_spectrum(span, "FP1-F1", settings)
    path = tmp_path / "W0001.CSV"
    path.write_bytes(aq6370_trace_file(wl, p, rbw=0.05))
    d = ok_json("analyse", "osa", path, "--json")
    assert (d["rbw_nm"], d["rbw_source"], d["layout"]) == (0.05, "file", "aq6370-trace")
    truth = channel_power_dbm(span, "FP1-F1")
    assert len(d["channels"]) == len(truth)
    assert max(abs(c["power_dbm"] - t) for c, t in zip(d["channels"], truth)) <= 0.05
    forced = ok_json("analyse", "osa", path, "--rbw-nm", "0.1", "--json")
    assert forced["rbw_source"] == "option"  # the override: a 0.1 nm RBW halves the power
    assert forced["channels"][0]["power_dbm"] == pytest.approx(
        d["channels"][0]["power_dbm"] - 3.01, abs=0.02)
    both = tmp_path / "ALL.CSV"
    both.write_bytes(aq6370_all_traces_file({"A": (wl, p - 10.0, 0.05, "LOG"),
                                             "C": (wl, p, 0.05, "LOG")}, active="C"))
    c = ok_json("analyse", "osa", both, "--json")
    assert (c["trace"], c["layout"]) == ("C", "aq6370-all-traces")
    a = ok_json("analyse", "osa", both, "--trace", "A", "--json")
    assert a["trace"] == "A"
    assert a["channels"][0]["power_dbm"] == pytest.approx(c["channels"][0]["power_dbm"] - 10.0,
                                                          abs=0.02)
    proc = harness("analyse", "osa", both)
    assert proc.returncode == 0 and "trace C" in proc.stdout and "RBW 0.05 nm (file)" in proc.stdout
    one_line_error(harness("analyse", "osa", both, "--trace", "E"), "ALL.CSV", "trace E")


# --- bad input: one line, exit 2 -----------------------------------------------------------

def test_bad_input_is_one_line_and_exit_2(tmp_path):
    cut = tmp_path / "cut.sor"
    cut.write_bytes(need(NOYES).read_bytes()[:5000])
    one_line_error(harness("sor", "dump", cut), "cut.sor", "at byte")
    one_line_error(harness("analyse", "otdr", cut), "cut.sor", "at byte")
    one_line_error(harness("sor", "dump", tmp_path / "absent.sor"), "cannot read")
    one_line_error(harness("sor", "import", cut, "--results", tmp_path), "cut.sor")
    one_line_error(harness("sor", "export", tmp_path, "-o", tmp_path / "x.sor"), "not a run folder")
    one_line_error(harness("analyse", "otdr", NOYES, "--bidirectional"), "two files")
    csv = tmp_path / "bad.csv"
    csv.write_text("wavelength_nm,power_dbm\n1550.0,-10\n1550.1;x\n")
    one_line_error(harness("analyse", "osa", csv), "bad.csv: line 3", "'x' is not a number")
    csv.write_bytes(b"\x00\x01PK")
    one_line_error(harness("analyse", "osa", csv), "bad.csv: line 1")
    one_line_error(harness("analyse", "osa", NOYES), "line")
    one_line_error(harness("analyse", "osa", csv, "--rbw-nm", "0"), "--rbw-nm")
