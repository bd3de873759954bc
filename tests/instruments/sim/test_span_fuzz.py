"""Fuzzing the span file loader: every input builds a span or ends in SpanFileError.

A span that loads must also be usable: its fibres can be asked for their loss, so a value the
physics would trip over later (NaN, a zero splice spacing that never ends, a missing section)
is refused at load time. At the CLI, ``harness sim --span BAD.yaml`` prints one line and
exits 2.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given

from fuzz_helpers import (ADVERSARIAL_YAML, DEFAULT_CASES, FUZZ_CASES, expect_only, fuzz_settings,
                          yaml_texts)
from instruments.sim.span import DEFAULT_SPAN, SpanFileError, load_span
from instruments.sim.stations import start_stations

REPO = Path(__file__).resolve().parents[3]
TEXT = DEFAULT_SPAN.read_text()
SPAN_TEXTS = yaml_texts(yaml.safe_load(TEXT), TEXT)


def _edit(old: str, new: str) -> str:
    assert old in TEXT
    return TEXT.replace(old, new, 1)


REGRESSIONS = {
    # each of these crashed (or hung) load_span before it validated its fields
    "zero_splice_spacing_hangs": _edit("spacing_km: [25.0, 50.0]", "spacing_km: [0, 0]"),
    "negative_splice_spacing_hangs": _edit("spacing_km: [25.0, 50.0]", "spacing_km: [-5, -1]"),
    "tiny_splice_spacing_blows_memory": _edit("spacing_km: [25.0, 50.0]", "spacing_km: [1e-9, 1e-9]"),
    "spacing_not_a_pair": _edit("spacing_km: [25.0, 50.0]", "spacing_km: 25"),
    "fibre_not_mapping": _edit("fibre:\n  type: G.654.E", "fibre: 3\nfibre_old:\n  type: G.654.E"),
    "infinite_seed": _edit("seed: 20261122", "seed: .inf"),
    "nan_length": _edit("length_km: 380.0", "length_km: .nan"),
    "nan_time_scale": _edit("time_scale: 0.001", "time_scale: .nan"),
    "joint_without_distance": _edit("{distance_km: 1.8, loss_db: 0.10}", "{loss_db: 0.10}"),
    "connectors_not_mapping": _edit("  loss_db: 0.25\n  reflectance_db: -55.0", "  - 1"),
    "dwdm_channels_text": _edit("channels: 40", "channels: forty"),
    "fault_reflectance_text": _edit("faults: []", "faults: [{type: break, fibre: FP1-F1, "
                                                   "distance_km: 5, reflectance_db: x}]"),
    "fault_fibre_unhashable": _edit("faults: []", "faults: [{type: splice, fibre: [FP1-F1]}]"),
    "faults_not_a_list": _edit("faults: []", "faults: 7"),
    "undecodable_bytes": TEXT[:100] + "\udcff",  # written with surrogatepass: not UTF-8
    "lone_surrogate_first": "\ud800" + TEXT,
}


def load_text(tmp: Path, text: str):
    path = tmp / "span.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    span = expect_only((SpanFileError,), lambda: load_span(path))
    if span is not None:  # a span that loads is a span the simulator can use
        for fibre in span.fibres.values():
            assert math.isfinite(fibre.total_loss_db(1550.0))
    return span


@pytest.fixture(scope="module")
def tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-span")


def test_seed_loads(tmp):
    assert len(load_text(tmp, TEXT).fibres) == 8


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regressions_end_in_span_file_error(tmp, name):
    path = tmp / f"{name}.yaml"
    path.write_text(REGRESSIONS[name], errors="surrogatepass")
    with pytest.raises(SpanFileError):
        load_span(path)


@pytest.mark.parametrize("text", ADVERSARIAL_YAML, ids=range(len(ADVERSARIAL_YAML)))
def test_adversarial_yaml(tmp, text):
    assert load_text(tmp, text) is None


def test_command_line_faults_with_bad_numbers_are_span_file_errors():
    with pytest.raises(SpanFileError, match="reflectance_db"):
        load_span(faults=[{"type": "connector", "fibre": "FP1-F1", "reflectance_db": "loud"}])
    with pytest.raises(SpanFileError, match="distance_km"):
        load_span(faults=[{"type": "bend", "fibre": "FP1-F1", "distance_km": [1]}])


@given(SPAN_TEXTS)
@example(REGRESSIONS["zero_splice_spacing_hangs"])
@example(REGRESSIONS["fibre_not_mapping"])
@example(REGRESSIONS["lone_surrogate_first"])
@fuzz_settings(DEFAULT_CASES)
def test_span_loader_fuzz(tmp, text):
    load_text(tmp, text)


@pytest.mark.fuzz
@given(SPAN_TEXTS)
@fuzz_settings(FUZZ_CASES)
def test_span_loader_fuzz_long(tmp, text):
    load_text(tmp, text)


def test_loaded_mutant_serves(tmp):
    """A mutated span that loads really serves: the stations start and stop."""
    text = _edit("channels: 40", "channels: 3").replace("fibre_pairs: 4", "fibre_pairs: 1")
    sim = start_stations(load_text(tmp, text))
    try:
        assert {f"{s}/{r}" for s in ("AKTAU", "SUMGAIT")
                for r in ("otdr", "osa", "transponder")} <= set(sim.resources)
    finally:
        sim.stop()


@pytest.mark.parametrize("name", ["zero_splice_spacing_hangs", "fibre_not_mapping",
                                  "undecodable_bytes", "fault_fibre_unhashable"])
def test_cli_sim_bad_span_is_one_line_and_exit_2(tmp, name):
    path = tmp / f"cli-{name}.yaml"
    path.write_text(REGRESSIONS[name], errors="surrogatepass")
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "sim", "--span", str(path)],
                          capture_output=True, text=True, cwd=REPO, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("harness: error: ") and proc.stderr.count("\n") == 1, proc.stderr
