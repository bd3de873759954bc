"""OTDR analysis benchmark: ``analyse_otdr`` on 1 000 000-point simulated traces, against one
``np.convolve`` pass over the same array, in the same run.

Traces (simulated Aktau-Sumgait span, fibre FP1-F1 from AKTAU, three injected splices):
- 20 µs pulse, 400 km at 0.4 m per point (the long-haul setting, finely sampled);
- 1 µs pulse, 100 km at 0.1 m per point.
Per trace: the median time of ``analyse_otdr`` (target <= 100 ms on one core), the median time
of ``np.convolve(level, ones(16) / 16, "same")`` (a 16-tap smoothing pass, the first step of a
derivative-based event search), and their ratio; also the number of events found. The calls are
interleaved so both see the same machine load. A plain script: it prints and asserts nothing.
Run: ``python bench/bench_analysis.py [runs]``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from harness.analysis.otdr import analyse_otdr  # noqa: E402
from instruments.protocols import OtdrSettings  # noqa: E402
from instruments.sim.otdr_physics import otdr_trace  # noqa: E402
from instruments.sim.span import load_span  # noqa: E402

KERNEL = np.ones(16) / 16.0
FAULTS = [{"type": "splice", "fibre": "FP1-F1", "distance_km": km, "loss_db": loss}
          for km, loss in ((12.5, 0.3), (61.0, 0.2), (150.0, 0.4))]


def _single_core() -> None:
    """Keep BLAS and the process on one core, as the target is stated for one core."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        except OSError:
            pass


def main(runs: int = 15) -> None:
    _single_core()
    span = load_span(faults=FAULTS)
    cases = [("20 us, 400 km, 0.4 m", replace(OtdrSettings(), resolution_m=0.4)),
             ("1 us, 100 km, 0.1 m", replace(OtdrSettings(), pulse_width_ns=1000.0,
                                             range_km=100.0, resolution_m=0.1))]
    print(f"analyse_otdr vs one np.convolve pass (16 taps), median of {runs} runs, one core")
    for name, s in cases:
        y = otdr_trace(span, "FP1-F1", "AKTAU", s)
        z = np.arange(len(y)) * s.resolution_m
        times: dict[str, list[float]] = {"analysis": [], "convolve": []}
        result = None
        for _ in range(runs):
            t0 = time.perf_counter()
            result = analyse_otdr(z, y, pulse_width_ns=s.pulse_width_ns,
                                  group_index=s.group_index, wavelength_nm=s.wavelength_nm)
            t1 = time.perf_counter()
            np.convolve(y, KERNEL, "same")
            t2 = time.perf_counter()
            times["analysis"].append(t1 - t0)
            times["convolve"].append(t2 - t1)
        ta = statistics.median(times["analysis"]) * 1e3
        tc = statistics.median(times["convolve"]) * 1e3
        events = len([e for e in result.events if e.type != "end"])
        print(f"  {name}: {len(y):,} points, analysis {ta:.1f} ms (target <= 100), "
              f"np.convolve {tc:.2f} ms, ratio {ta / tc:.1f}; {events} events, "
              f"reach {result.reach_m / 1000:.1f} km")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
