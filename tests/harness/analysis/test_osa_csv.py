"""The OSA CSV reader: the formats it accepts, one-line errors naming the line, size caps, and
fuzzing (mutated real sweeps and generated text: an OsaCsvError or arrays, nothing else)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from aq6370_files import aq6370_all_traces_file, aq6370_trace_file
from fuzz_helpers import DEFAULT_CASES, FUZZ_CASES, expect_only, fuzz_settings, mutated_text
from harness.analysis import osa_csv
from harness.analysis.osa_csv import OsaCsvError, parse_osa_csv, read_osa_csv
from harness.errors import HarnessError
from instruments.protocols import OsaSettings
from instruments.sim.osa_physics import osa_spectrum
from instruments.sim.span import load_span


@pytest.fixture(scope="module")
def sweep() -> tuple[np.ndarray, np.ndarray]:
    """A simulated 40-channel sweep (wavelength nm, power dBm)."""
    return osa_spectrum(load_span(), "FP1-F1", OsaSettings())


def csv_text(wl: np.ndarray, p: np.ndarray, sep: str = ",", header: bool = True) -> str:
    rows = "".join(f"{w:.6f}{sep}{v:.4f}\n" for w, v in zip(wl, p))
    return ("wavelength_nm,power_dbm\n" if header else "") + rows


@pytest.mark.parametrize("sep", [",", ";", "\t", "  ", ", "])
@pytest.mark.parametrize("header", [True, False])
def test_separators_and_header(sweep, sep, header):
    wl, p = sweep
    text = csv_text(wl, p, sep, header)
    got_wl, got_p = parse_osa_csv(text.encode())
    np.testing.assert_allclose(got_wl, wl, atol=5e-7)
    np.testing.assert_allclose(got_p, p, atol=5e-5)


def test_comments_blank_lines_bom_crlf_and_descending_order(sweep, tmp_path):
    wl, p = sweep
    text = "# exported by an AQ6370\r\n\r\n" + csv_text(wl[::-1], p[::-1]).replace("\n", "\r\n")
    path = tmp_path / "sweep.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    got_wl, got_p = read_osa_csv(path)
    assert got_wl[0] > got_wl[-1] and got_wl.size == wl.size
    np.testing.assert_allclose(got_p, p[::-1], atol=5e-5)


@pytest.mark.parametrize("text,line,words", [
    ("wavelength_nm,power_dbm\n1550.0,-10\n1550.1,-20,3\n", 3, "3 fields"),
    ("1550.0,-10\n1550.1,abc\n", 2, "'abc' is not a number"),
    ("1550.0,-10\n1550.1,nan\n", 2, "'nan' is not a number"),
    ("1.55e-6,-10\n", 1, "not in nm"),
    ("1550.0,-10\n1550.1,90\n", 2, "out of range"),
    ("1550.0,-10\n1550.2,-10\n1550.1,-10\n", 3, "monotonic"),
    ("1550.0,-10\n1550.0,-11\n", 2, "monotonic"),
    ("header\nsecond header\n", 2, "not a number"),
    ("1550.0,-10\n" * 1, 1, "at least 16"),
    ("", 1, "at least 16"),
    ("1550,-10\n\0\n", 2, "NUL"),
])
def test_errors_name_the_line(text, line, words):
    with pytest.raises(OsaCsvError) as info:
        parse_osa_csv(text.encode(), "s.csv")
    message = str(info.value)
    assert message.startswith(f"s.csv: line {line}: ") and words in message, message
    assert "\n" not in message
    assert isinstance(info.value, HarnessError)


def test_not_utf8_and_missing_file(tmp_path):
    with pytest.raises(OsaCsvError, match=r"^x\.csv: line 2: not UTF-8"):
        parse_osa_csv(b"1550,-1\n\xff\xfe,1\n", "x.csv")
    with pytest.raises(OsaCsvError, match="cannot read"):
        read_osa_csv(tmp_path / "absent.csv")


def test_size_caps_apply_before_parsing(monkeypatch, tmp_path):
    monkeypatch.setattr(osa_csv, "MAX_BYTES", 1000)
    path = tmp_path / "big.csv"
    path.write_bytes(b"1550.000,-10.0\n" * 100)  # 1500 bytes: only MAX_BYTES + 1 are read
    with pytest.raises(OsaCsvError, match="larger than"):
        read_osa_csv(path)
    monkeypatch.setattr(osa_csv, "MAX_ROWS", 20)
    rows = "".join(f"{1530 + i * 0.01:.2f},-10\n" for i in range(21)).encode()
    with pytest.raises(OsaCsvError, match=r"line 21: more than 20 rows"):
        parse_osa_csv(rows)


# --- fuzzing -------------------------------------------------------------------------------

def _real_text() -> str:
    wl, p = osa_spectrum(load_span(), "FP2-F1", OsaSettings(points=200))
    return csv_text(wl, p)


REAL = _real_text()
INPUTS = st.one_of(
    mutated_text(REAL, max_mutations=6),
    st.text(alphabet=st.sampled_from("0123456789.,;-+eE \t\n#nainf\0"), max_size=400),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.lists(st.tuples(st.floats(allow_nan=True), st.floats(allow_nan=True)), max_size=40)
    .map(lambda rows: "".join(f"{a},{b}\n" for a, b in rows)),
)


def _check(text: str) -> None:
    result = expect_only((OsaCsvError,), lambda: parse_osa_csv(text.encode("utf-8", "replace")))
    event("read" if result is not None else "OsaCsvError")
    if result is not None:
        wl, p = result
        assert wl.shape == p.shape and wl.size >= osa_csv.MIN_ROWS
        assert np.isfinite(wl).all() and np.isfinite(p).all()
        d = np.diff(wl)
        assert (d > 0).all() or (d < 0).all()


@fuzz_settings(DEFAULT_CASES)
@given(text=INPUTS)
@example(text=REAL)
@example(text="1e999,1\n" * 20)
@example(text=",")  # once an IndexError: a row of separators only
def test_fuzz_reader_default(text):
    _check(text)


@pytest.mark.fuzz
@fuzz_settings(FUZZ_CASES)
@given(text=INPUTS)
def test_fuzz_reader(text):
    _check(text)


# --- Yokogawa AQ6370-family files, laid out as the user's manuals show them -----------------
# IM AQ6370B-01EN §8.3 (one trace, "70BCSV") and IM AQ6370D-01EN §8.4 p. 8-27 (all traces,
# "70BCSVG"). No instrument file is in the repository: these are written from the manuals'
# layout, field by field, with CRLF line ends as the instrument (a Windows-style file system)
# writes them.

def test_aq6370_one_trace_file_reads_with_its_resolution(sweep):
    wl, p = sweep
    t = osa_csv.parse_osa_file(aq6370_trace_file(wl, p, rbw=0.05), "W0001.CSV")
    assert t.layout == "aq6370-trace" and t.trace is None
    assert t.label == "AQ6370B OPTICAL SPECTRUM ANALYZER"
    assert t.rbw_nm == pytest.approx(0.05)
    assert t.conditions["CTRWL"] == "1548.000000" and t.conditions["SMPL"] == str(len(wl))
    assert "HIGH 1" in t.conditions and t.conditions["NMSKV"] == "OFF"
    np.testing.assert_allclose(t.wavelength_nm, wl, atol=5e-5)
    np.testing.assert_allclose(t.power_dbm, p, atol=5e-4)
    # the two-array reader takes the same file
    got_wl, got_p = parse_osa_csv(aq6370_trace_file(wl, p))
    assert got_wl.size == wl.size


def test_aq6370_all_traces_file_picks_the_active_else_the_first_log_trace(sweep):
    wl, p = sweep
    short = slice(0, len(wl) // 2)
    traces = {"A": (wl[short], p[short] - 3.0, 0.02, "LOG"),
              "B": (wl, 10 ** (p / 10), 0.1, "LIN"),
              "C": (wl, p, 0.05, "LOG")}
    data = aq6370_all_traces_file(traces, active="C")
    t = osa_csv.parse_osa_file(data, "ALL.CSV")
    assert (t.layout, t.trace, t.rbw_nm) == ("aq6370-all-traces", "C", pytest.approx(0.05))
    np.testing.assert_allclose(t.power_dbm, p, atol=5e-4)
    a = osa_csv.parse_osa_file(data, "ALL.CSV", trace="a")
    assert a.trace == "A" and a.wavelength_nm.size == len(wl) // 2  # its rows end earlier
    assert a.rbw_nm == pytest.approx(0.02)
    no_active = osa_csv.parse_osa_file(aq6370_all_traces_file(traces), "ALL.CSV")
    assert no_active.trace == "A"  # the first trace saved in dBm
    with pytest.raises(OsaCsvError, match=r"^ALL\.CSV: line \d+: trace B is saved on a linear"):
        osa_csv.parse_osa_file(data, "ALL.CSV", trace="B")
    with pytest.raises(OsaCsvError, match=r"trace E is not saved in the file \(saved: A, B, C\)"):
        osa_csv.parse_osa_file(data, "ALL.CSV", trace="E")
    with pytest.raises(OsaCsvError, match="not an AQ6370 trace"):
        osa_csv.parse_osa_file(data, "ALL.CSV", trace="H")


def test_aq6370_frequency_mode_resolution_in_ghz_is_converted(sweep):
    wl, p = sweep
    t = osa_csv.parse_osa_file(aq6370_trace_file(wl, p, rbw=12.5, wlfreq=1), "F.CSV")
    centre = float(np.median(wl))
    assert t.rbw_nm == pytest.approx(12.5e9 * (centre * 1e-9) ** 2 / 299_792_458.0 * 1e9)
    assert "GHz" in t.notes[0]
    assert osa_csv.parse_osa_file(aq6370_trace_file(wl, p, rbw=0.5, wlfreq=1)).rbw_nm == 0.5


@pytest.mark.parametrize("cut,words", [
    (lambda s: s[:s.index("[TRACE DATA]")], "no [TRACE DATA] section"),
    (lambda s: s.replace("[TRACE DATA]", "[TRACE DAT]"), "'[TRACE DAT]' is not a measurement"),
    (lambda s: s.replace('"SPAN", 40.000000', "SPAN 40"), "not a measurement-condition"),
    (lambda s: s.replace('"RESLN",0.1', '"RESLN",wide'), "RESLN 'wide' is not a resolution"),
    (lambda s: s.replace("1528.0000, ", "1528.0000, x"), "is not a number"),
])
def test_aq6370_file_errors_name_the_line(sweep, cut, words):
    wl, p = sweep
    text = cut(aq6370_trace_file(wl[:100], p[:100]).decode())
    with pytest.raises(OsaCsvError) as info:
        osa_csv.parse_osa_file(text.encode(), "W.CSV")
    assert re.match(r"^W\.CSV: line \d+: ", str(info.value)) and words in str(info.value)
    assert "\n" not in str(info.value)


def test_trace_option_needs_an_all_traces_file(sweep):
    wl, p = sweep
    with pytest.raises(OsaCsvError, match="needs an AQ6370 all-traces file"):
        osa_csv.parse_osa_file(csv_text(wl, p).encode(), "two.csv", trace="B")
    with pytest.raises(OsaCsvError, match="holds one trace only"):
        osa_csv.parse_osa_file(aq6370_trace_file(wl, p), "one.csv", trace="B")


def _aq_text() -> str:
    wl, p = osa_spectrum(load_span(), "FP2-F1", OsaSettings(points=60))
    data = {"A": (wl, p, 0.1, "LOG"), "B": (wl[:30], 10 ** (p[:30] / 10), 0.1, "LIN")}
    return aq6370_trace_file(wl, p).decode() + "\n\n" + aq6370_all_traces_file(data).decode()


AQ_REAL = _aq_text()
AQ_INPUTS = st.one_of(mutated_text(AQ_REAL.split("\n\n")[0], max_mutations=6),
                      mutated_text(AQ_REAL.split("\n\n")[-1], max_mutations=6))


@fuzz_settings(DEFAULT_CASES)
@given(text=AQ_INPUTS)
def test_fuzz_aq6370_files_default(text):
    _check(text)


@pytest.mark.fuzz
@fuzz_settings(FUZZ_CASES)
@given(text=AQ_INPUTS)
def test_fuzz_aq6370_files(text):
    _check(text)
