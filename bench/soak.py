"""Soak: one hour of compressed time on the simulated stations, every reading stored durably.

Both stations are served (:func:`instruments.sim.stations.start_stations`) with the default
span at a small ``time_scale``; the real drivers are opened through
:data:`instruments.registry.MODELS` (TL1 over the pseudo-terminal, SCPI over pyvisa-py).
Until the simulated clock has run ``sim_s`` seconds, each round polls the PM of every channel
of both transponder shelves (``RTRV-PM-OCH`` and ``RTRV-ALM-ALL`` per poll), and every
``trace_every_s`` simulated seconds one OTDR trace and one OSA sweep are taken, alternating
stations and fibres. Every reading goes through :class:`harness.store.RunStore` (one durable
step file each, as a run writes them).

At the end every journalled step file is read back and compared with a digest of what was
taken: ``samples_stored`` must equal ``samples_taken`` (a sample = one PM value or one trace
point). Memory (RSS from /proc/self/status, Python heap from tracemalloc) is sampled at
regular points; the slope is fitted over the second half (after warm-up), in KiB per 1000
polls.

Run: ``python bench/soak.py [--sim-hours 1] [--time-scale 0.03] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.store import RunStore  # noqa: E402
from instruments.protocols import OsaSettings, OtdrSettings  # noqa: E402
from instruments.registry import MODELS  # noqa: E402
from instruments.sim.span import load_span  # noqa: E402
from instruments.sim.stations import otdr_ports, received_fibre, start_stations  # noqa: E402
from instruments.transponder.tl1_gr831 import MONTYPES  # noqa: E402

PM_FIELDS = tuple(MONTYPES.values())
OTDR = OtdrSettings(pulse_width_ns=20000.0, range_km=400.0, averaging_s=20.0, resolution_m=8.0)
OSA = OsaSettings(points=20001)


def rss_kib() -> int:
    """Resident set size of this process (KiB), from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@dataclass
class SoakResult:
    """Figures of one soak: counts, and memory samples ``(polls, rss KiB, heap KiB)``."""

    sim_s: float = 0.0
    wall_s: float = 0.0
    polls: int = 0
    traces: int = 0
    sweeps: int = 0
    samples_taken: int = 0
    samples_stored: int = 0
    steps_taken: int = 0
    steps_stored: int = 0
    memory: list[tuple[int, int, int]] = field(default_factory=list)

    def slope_kib_per_kpoll(self, column: int) -> float:
        """Least-squares slope of memory column 1 (RSS) or 2 (heap) over the second half."""
        half = self.memory[len(self.memory) // 2:]
        if len(half) < 2 or half[-1][0] == half[0][0]:
            return 0.0
        x = np.array([m[0] for m in half], dtype=float)
        y = np.array([m[column] for m in half], dtype=float)
        return float(np.polyfit(x, y, 1)[0] * 1000.0)

    def growth_kib(self, column: int) -> int:
        """Memory column 1 (RSS) or 2 (heap) at the end minus at the middle sample (KiB)."""
        return self.memory[-1][column] - self.memory[len(self.memory) // 2][column]


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()


def soak(sim_s: float = 3600.0, time_scale: float = 0.03, trace_every_s: float = 150.0,
         out: Path | None = None, samples: int = 11) -> SoakResult:
    """Run the soak for ``sim_s`` simulated seconds at ``time_scale`` wall s per simulated s;
    ``out`` is the run folder (default: a temporary one, removed); memory is sampled
    ``samples`` times."""
    tmp = None if out else tempfile.TemporaryDirectory(prefix="soak-")
    run_dir = Path(out or tmp.name) / "soak"
    run_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("CASPIAN_LOCK_DIR", str(run_dir / "locks"))
    span = load_span()
    span.time_scale = time_scale
    sim = start_stations(span)
    store = RunStore(run_dir / "run.h5")
    store.create({"run_id": "soak", "time_scale": time_scale})
    opened = []
    result = SoakResult()
    taken = open(run_dir / "taken.jsonl", "w")  # what was taken, kept out of the measured heap
    try:
        cards, otdrs, osas = {}, {}, {}
        for station in span.stations:
            res = sim.resources
            cards[station] = MODELS["gr831-tl1"].open(res[f"{station}/transponder"],
                                                      tid=f"{station}-TP1", baud=115200)
            otdrs[station] = MODELS["anritsu-mt9083"].open(res[f"{station}/otdr"], time_scale=time_scale)
            osas[station] = MODELS["yokogawa-aq6370"].open(res[f"{station}/osa"], time_scale=time_scale)
            opened += [cards[station], otdrs[station], osas[station]]
        pairs = len(span.fibres) // 2
        channels = [(s, f"OCH-1-{n}-1") for s in span.stations for n in range(1, pairs + 1)]
        ports = sorted(otdr_ports(span))

        def take(request: dict, x: np.ndarray, y: np.ndarray, units: tuple, attrs: dict,
                 extra: dict[str, np.ndarray] | None = None) -> None:
            arrays = [x, y] + [extra[k] for k in sorted(extra or {})]
            taken.write(json.dumps([request, _digest(*arrays), sum(len(a) for a in arrays[1:])])
                        + "\n")
            store.add_acquisition(request, x, y, units[0], units[1], attrs, extra)

        tracemalloc.start()
        start = time.monotonic()
        clock = lambda: (time.monotonic() - start) / time_scale  # noqa: E731  simulated seconds
        next_sample, next_trace, shots = 0.0, 0.0, 0
        while clock() < sim_s:
            if clock() >= next_sample:
                gc.collect()  # live memory, not garbage the collector has not reached yet
                heap = tracemalloc.get_traced_memory()[0] // 1024
                result.memory.append((result.polls, rss_kib(), heap))
                next_sample += sim_s / (samples - 1)
            for station, aid in channels:
                pm = cards[station].read_pm(aid)
                result.polls += 1
                extra = {name: np.array([pm.values.get(name, np.nan)]) for name in PM_FIELDS}
                take({"kind": "pm", "station": station, "aid": aid, "poll": result.polls},
                     np.array([pm.start_s]), np.array([pm.values["q_db"]]),
                     (("s", "Bin start (Unix time)"), ("dB", "Q")),
                     {"kind": "pm", "station": station, "aid": aid, "alarms": json.dumps(pm.alarms)},
                     extra)
            if clock() >= next_trace:
                station = span.stations[shots % 2]
                port = ports[shots % len(ports)]
                otdrs[station].select_port(port)
                trace = otdrs[station].measure(OTDR)
                result.traces += 1
                take({"kind": "otdr", "station": station, "port": port, "shot": shots},
                     trace.distance_m, trace.level_db, (("m", "Distance"), ("dB", "Level")),
                     {"kind": "otdr", "station": station, "port": port})
                osa_port = shots % pairs + 1
                osas[station].select_port(osa_port)
                spectrum = osas[station].sweep(OSA)
                result.sweeps += 1
                take({"kind": "osa", "station": station, "port": osa_port, "shot": shots,
                      "fibre": received_fibre(span, station, osa_port)},
                     spectrum.wavelength_nm, spectrum.power_dbm,
                     (("nm", "Wavelength"), ("dBm", "Power in RBW")),
                     {"kind": "osa", "station": station, "port": osa_port})
                del trace, spectrum  # a sample taken now must not count the last trace
                shots += 1
                next_trace += trace_every_s
        gc.collect()
        heap = tracemalloc.get_traced_memory()[0] // 1024
        result.memory.append((result.polls, rss_kib(), heap))
        result.sim_s = clock()
        result.wall_s = time.monotonic() - start
        tracemalloc.stop()
    finally:
        for inst in opened:
            inst.close()
        sim.stop()
        taken.close()
    expected = {}
    for line in (run_dir / "taken.jsonl").read_text().splitlines():
        request, digest, count = json.loads(line)
        expected[json.dumps(request, sort_keys=True)] = (digest, count)
    result.steps_taken = len(expected)
    result.samples_taken = sum(n for _, n in expected.values())
    _read_back(store, expected, result)
    if tmp:
        tmp.cleanup()
    return result


def _read_back(store: RunStore, expected: dict[str, tuple[str, int]], result: SoakResult) -> None:
    """Open every journalled, hash-verified step file; count what matches what was taken."""
    import h5py

    for name, entry in store.journal.verified().items():
        if not name.startswith("acq-"):
            continue
        key = json.dumps(json.loads(entry["request"]), sort_keys=True)
        with h5py.File(store.steps / name, "r") as f:
            names = sorted(k for k in f if k not in ("x", "y"))
            arrays = [f["x"][()], f["y"][()]] + [f[k][()] for k in names]
        digest = _digest(*arrays)
        if key in expected and expected[key][0] == digest:
            result.steps_stored += 1
            result.samples_stored += expected[key][1]


def report(r: SoakResult) -> str:
    """The figures, one per line."""
    lines = [
        f"simulated {r.sim_s / 3600:.2f} h in {r.wall_s:.0f} s wall "
        f"(x{r.sim_s / max(r.wall_s, 1e-9):.0f})",
        f"PM polls {r.polls}, OTDR traces {r.traces}, OSA sweeps {r.sweeps}",
        f"steps stored/taken {r.steps_stored}/{r.steps_taken}, "
        f"samples stored/taken {r.samples_stored}/{r.samples_taken}",
        "memory (polls, RSS MiB, Python heap MiB): " + ", ".join(
            f"({p}, {rss / 1024:.1f}, {heap / 1024:.2f})" for p, rss, heap in r.memory),
        f"RSS start/middle/end {r.memory[0][1] / 1024:.1f}/{r.memory[len(r.memory) // 2][1] / 1024:.1f}"
        f"/{r.memory[-1][1] / 1024:.1f} MiB; slope over the second half "
        f"{r.slope_kib_per_kpoll(1):.1f} KiB per 1000 polls (RSS), "
        f"{r.slope_kib_per_kpoll(2):.1f} KiB per 1000 polls (heap)",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim-hours", type=float, default=1.0)
    parser.add_argument("--time-scale", type=float, default=0.03,
                        help="wall seconds per simulated second")
    parser.add_argument("--out", type=Path, help="keep the run folder here")
    args = parser.parse_args()
    r = soak(args.sim_hours * 3600.0, args.time_scale, out=args.out)
    print(report(r))
    return 0 if r.samples_stored == r.samples_taken and r.steps_stored == r.steps_taken else 1


if __name__ == "__main__":
    sys.exit(main())
