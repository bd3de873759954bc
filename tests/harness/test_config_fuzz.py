"""Fuzzing the station, route plan and limits loaders: every input loads or ends in ConfigError.

Inputs are the project's own files mutated (tree-level and character-level edits), generated
YAML, and hand-made alias bombs and deep nesting (:mod:`fuzz_helpers`). The default suite runs
a few hundred cases per loader; ``pytest -m fuzz`` runs ten thousand. At the CLI, a broken
station or limits file gives one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given

from fuzz_helpers import (ADVERSARIAL_YAML, DEFAULT_CASES, FUZZ_CASES, expect_only, fuzz_settings,
                          max_rss_mib, yaml_texts)
from harness.config import load_limits_file, load_station_file
from harness.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
STATIONS = REPO / "test_plans" / "stations"
SIM = STATIONS / "sim.yaml"
FIELD = STATIONS / "aktau.yaml"
ROUTE = REPO / "test_plans" / "route" / "aktau_sumgait.yaml"
LIMITS = REPO / "test_plans" / "limits.yaml"


def _seed(path: Path) -> tuple[object, str]:
    text = path.read_text()
    return yaml.safe_load(text), text


STATION_TEXTS = yaml_texts(*_seed(SIM)) | yaml_texts(*_seed(FIELD))
ROUTE_TEXTS = yaml_texts(*_seed(ROUTE))
LIMITS_TEXTS = yaml_texts(*_seed(LIMITS))

REGRESSIONS = {
    "nul_in_plan_path": SIM.read_text().replace("../route/aktau_sumgait.yaml", '"a\\0b"'),
    "nul_in_span_path": SIM.read_text().replace("../../instruments/sim/spans/aktau_sumgait.yaml",
                                                '"x\\0"'),
    "alias_bomb_in_value": "route: " + ADVERSARIAL_YAML[0].replace("\n", "\n  "),
    "deep_nesting": ADVERSARIAL_YAML[3],
    "events_not_a_list": SIM.read_text().replace("  plan: ../route/aktau_sumgait.yaml",
                                                 "  events: 7"),
    "station_key_unhashable_list": "route: {stations: [[A]], length_km: 1}\nstations: {}\n",
    "limits_parameters_not_mapping": "limits: {a: {units: dB, high: 1}}\nparameters: [1]\n",
    "line_break_in_a_key": SIM.read_text().replace("otdr_port: {AKTAU: 1, SUMGAIT: 1}",
                                                   'otdr_port: {"\\n": 1, SUMGAIT: 1}'),
}
"""Inputs the fuzzer (or its adversarial list) once crashed a loader with: kept as examples."""


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A copy of test_plans/ and the span files, so relative paths in the files resolve."""
    root = tmp_path_factory.mktemp("fuzz-config")
    shutil.copytree(REPO / "test_plans" / "stations", root / "test_plans" / "stations")
    shutil.copytree(REPO / "test_plans" / "route", root / "test_plans" / "route")
    shutil.copytree(REPO / "instruments" / "sim" / "spans", root / "instruments" / "sim" / "spans")
    return root


def load_station_text(tree: Path, text: str) -> None:
    path = tree / "test_plans" / "stations" / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    expect_only((ConfigError,), lambda: load_station_file(path))


def load_route_text(tree: Path, text: str) -> None:
    (tree / "test_plans" / "route" / "fuzz-route.yaml").write_text(text, errors="surrogatepass")
    station = SIM.read_text().replace("aktau_sumgait.yaml   #", "fuzz-route.yaml   #")
    load_station_text(tree, station)


def load_limits_text(tree: Path, text: str) -> None:
    path = tree / "limits-fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    expect_only((ConfigError,), lambda: load_limits_file(path))


def test_seeds_load(tree):
    """The unmutated seeds load (else every mutation would only test the first error)."""
    assert len(load_station_file(tree / "test_plans" / "stations" / "sim.yaml").fibres) == 8
    assert load_limits_file(LIMITS).limits


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regressions_end_in_config_error(tree, name):
    text = REGRESSIONS[name]
    path = tree / "test_plans" / "stations" / "regression.yaml"
    path.write_text(text)
    loader = load_limits_file if name.startswith("limits") else load_station_file
    with pytest.raises(ConfigError) as caught:
        loader(path)
    assert len(str(caught.value).splitlines()) == 1


@pytest.mark.parametrize("text", ADVERSARIAL_YAML, ids=range(len(ADVERSARIAL_YAML)))
def test_adversarial_yaml_is_refused_without_blowing_up(tree, text):
    before = max_rss_mib()
    load_station_text(tree, text)
    load_limits_text(tree, text)
    assert max_rss_mib() - before < 200, "an input file made the loader allocate > 200 MiB"


def test_oversized_file_is_refused_before_reading(tree):
    path = tree / "huge.yaml"
    with open(path, "wb") as f:
        f.truncate(1 << 30)  # sparse: 1 GiB of NULs costs no disk
    before = max_rss_mib()
    with pytest.raises(ConfigError, match="larger than"):
        load_station_file(path)
    assert max_rss_mib() - before < 100


# --- the fuzzers: a few hundred cases here, ten thousand with -m fuzz -----------------------

@given(STATION_TEXTS)
@example(REGRESSIONS["nul_in_plan_path"])
@example(REGRESSIONS["alias_bomb_in_value"])
@example(REGRESSIONS["line_break_in_a_key"])
@fuzz_settings(DEFAULT_CASES)
def test_station_loader_fuzz(tree, text):
    load_station_text(tree, text)


@given(ROUTE_TEXTS)
@fuzz_settings(DEFAULT_CASES)
def test_route_plan_fuzz(tree, text):
    load_route_text(tree, text)


@given(LIMITS_TEXTS)
@fuzz_settings(DEFAULT_CASES)
def test_limits_loader_fuzz(tree, text):
    load_limits_text(tree, text)


@pytest.mark.fuzz
@given(STATION_TEXTS)
@fuzz_settings(FUZZ_CASES)
def test_station_loader_fuzz_long(tree, text):
    load_station_text(tree, text)


@pytest.mark.fuzz
@given(ROUTE_TEXTS)
@fuzz_settings(FUZZ_CASES)
def test_route_plan_fuzz_long(tree, text):
    load_route_text(tree, text)


@pytest.mark.fuzz
@given(LIMITS_TEXTS)
@fuzz_settings(FUZZ_CASES)
def test_limits_loader_fuzz_long(tree, text):
    load_limits_text(tree, text)


# --- the command line: one line, exit 2 -----------------------------------------------------

CLI_CASES = {
    "station_alias_bomb": ("--station", "route: " + ADVERSARIAL_YAML[0].replace("\n", "\n  ")),
    "station_nul_plan": ("--station", REGRESSIONS["nul_in_plan_path"]),
    "station_deep": ("--station", ADVERSARIAL_YAML[3]),
    "station_bad_type": ("--station", SIM.read_text().replace("length_km: 380.0", "length_km: [1")),
    "limits_low_above_high": ("--limits", LIMITS.read_text().replace(
        "high: 0.170", "high: 0.170\n    low: 5.0", 1)),
    "limits_deep": ("--limits", "limits: " + "[" * 4000),
    "limits_not_mapping": ("--limits", "- 1\n- 2\n"),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_bad_file_is_one_line_and_exit_2(tree, case):
    option, text = CLI_CASES[case]
    path = tree / f"cli-{case}.yaml"
    path.write_text(text)
    results = tree / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", option, str(path), "--results", str(results)],
        capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("harness: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not results.exists() or not any(results.iterdir()), "a run folder was made"
