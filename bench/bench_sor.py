"""SR-4731 (.sor) parse benchmark: the project's reader against otdrs (Rust, Python bindings)
and pyOTDR (pure Python), in one run, on both shared vectors (tests/data/sor).

Per file, the median time of one parse (µs), the calls interleaved (in an order shuffled
every run) so that all share the same machine load:

- ``ours``: ``read_sor(bytes)``, checksum verified (what ``harness sor dump`` does);
- ``ours, no CRC``: ``read_sor(bytes, verify_checksum=False)``, the same work as otdrs;
- ``ours + arrays``: ``read_sor`` then the trace as NumPy arrays (distance m, level dB), which
  the record makes on first use;
- ``otdrs``: ``otdrs.parse_bytes(bytes)`` (parses, does not verify the checksum);
- ``otdrs + CRC``: ``parse_bytes`` then ``validate_checksum``;
- ``otdrs + points``: ``parse_bytes`` then its trace points as Python lists (otdrs keeps them
  in Rust until asked; ours are NumPy arrays in physical units straight away);
- ``pyOTDR``: ``sorparse(path)`` (it reads the file itself; its logging and any output are
  silenced, run in a scratch folder), fewer runs: it is slow.

Ratios: ours/otdrs (target <= 2.0; printed for both comparable pairs) and ours/pyOTDR (target
<= 0.01). A plain script: it prints and asserts nothing. Run: ``python bench/bench_sor.py [N]``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.sor import SorRecord, SorWarning, read_sor  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "sor"
FILES = ["example1-noyes-ofl280.sor", "example2-exfo-maxtester730c.sor"]


def _median_us(calls: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median µs per call. The calling order is shuffled every run (seeded): a call that runs
    right after a heavy one (otdrs's pure-Python CRC, its 30 000-int lists) is slowed by the
    caches that one left cold, so no parser may always follow the same one (a fixed or rotated
    order would keep the same neighbour)."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    order = list(calls.items())
    shuffle = random.Random(4731).shuffle
    for _ in range(runs):
        shuffle(order)
        for name, call in order:
            t0 = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) * 1e6 for name, t in times.items()}


def _arrays(record: SorRecord) -> object:
    """The trace as NumPy arrays (m, dB): what a parse defers until first use."""
    return record.data.distance_m, record.data.level_db


def _pyotdr() -> Callable[[Path], object] | None:
    try:
        from pyotdr import sorparse
    except ImportError:
        return None
    logging.getLogger("pyotdr").setLevel(logging.CRITICAL)

    def parse(path: Path) -> object:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return sorparse(str(path))
    return parse


def main(runs: int) -> None:
    warnings.simplefilter("ignore", SorWarning)
    try:
        import otdrs
    except ImportError:
        otdrs = None
        print("otdrs is not importable: its columns are skipped (pip install otdrs)")
    pyparse = _pyotdr()
    if pyparse is None:
        print("pyotdr is not importable: its column is skipped (pip install pyotdr)")
    print(f"{runs} runs per parser (pyOTDR: {max(3, runs // 50)}), median µs per parse")
    scratch, here = tempfile.TemporaryDirectory(), os.getcwd()
    for name in FILES:
        path = DATA / name
        if not path.is_file():
            print(f"{name}: not found in {DATA}, skipped")
            continue
        data = path.read_bytes()
        calls: dict[str, Callable[[], object]] = {
            "ours": lambda: read_sor(data),
            "ours, no CRC": lambda: read_sor(data, verify_checksum=False),
            "ours + arrays": lambda: _arrays(read_sor(data))}
        if otdrs is not None:
            calls["otdrs"] = lambda: otdrs.parse_bytes(data)
            calls["otdrs + CRC"] = lambda: otdrs.parse_bytes(data).validate_checksum(data)
            calls["otdrs + points"] = lambda: [s.data for s in
                                               otdrs.parse_bytes(data).data_points.scale_factors]
        for call in calls.values():  # warm-up
            call()
        t = _median_us(calls, runs)
        if pyparse is not None:
            os.chdir(scratch.name)
            try:
                t["pyOTDR"] = _median_us({"pyOTDR": lambda: pyparse(path)},
                                         max(3, runs // 50))["pyOTDR"]
            finally:
                os.chdir(here)
        print(f"\n{name} ({len(data)} bytes)")
        for label, us in t.items():
            print(f"  {label:<14} {us:>12.1f} µs")
        if "otdrs" in t:
            print(f"  ours/otdrs                 = {t['ours'] / t['otdrs']:.2f}  (target <= 2.0)")
            print(f"  ours no CRC/otdrs          = {t['ours, no CRC'] / t['otdrs']:.2f}")
            print(f"  ours/(otdrs + CRC)         = {t['ours'] / t['otdrs + CRC']:.2f}")
            print(f"  ours + arrays/otdrs + points = {t['ours + arrays'] / t['otdrs + points']:.2f}")
        if "pyOTDR" in t:
            print(f"  ours/pyOTDR                = {t['ours'] / t['pyOTDR']:.4f}  "
                  f"(target <= 0.01)")
    scratch.cleanup()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
