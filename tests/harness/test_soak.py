"""A shorter soak (bench/soak.py): no sample lost, memory flat (``pytest -m stress``).

Bound on memory: every reading is written to its own step file and dropped, so nothing held by
the harness should grow with the number of polls. The Python heap (tracemalloc) may grow by at
most 1 KiB per PM poll between the middle and the end of the soak: a reading that were kept
(a PmBin with its dict, or its request string) costs several hundred bytes to over 1 KiB, so a
leak of one object per poll crosses this bound, while allocator noise and caches that fill once
(regex, numpy, h5py) stay well under it. RSS is reported, not bounded: the allocator returns
freed arenas when it likes.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _soak_module():
    spec = importlib.util.spec_from_file_location("soak", REPO / "bench" / "soak.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.stress
def test_short_soak_loses_nothing_and_memory_stays_flat(tmp_path, monkeypatch):
    monkeypatch.setenv("CASPIAN_LOCK_DIR", str(tmp_path / "locks"))
    soak = _soak_module()
    result = soak.soak(sim_s=900.0, time_scale=0.02, trace_every_s=300.0, out=tmp_path)
    print("\n" + soak.report(result))
    # every round polls all 8 channels; a trace and a sweep at 0, 300 and 600 simulated s
    assert result.polls > 0 and result.polls % 8 == 0
    assert result.traces >= 3 and result.sweeps == result.traces
    assert result.steps_stored == result.steps_taken == result.polls + result.traces + result.sweeps
    assert result.samples_stored == result.samples_taken > 0
    polls_in_second_half = result.memory[-1][0] - result.memory[len(result.memory) // 2][0]
    assert result.growth_kib(2) <= polls_in_second_half * 1.0, "Python heap grows with polls"
