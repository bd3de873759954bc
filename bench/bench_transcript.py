"""Transcript benchmark: what the I/O transcript costs a run, in the same run, against the same
simulated AQ6370-class server (``bench_transfer.py``'s, in a child process) on loopback.

Contenders, called in turn once per pass (order rotated, so they share the machine's load):
the driver's session without an observer (the baseline) and with a
:class:`harness.transcript.TranscriptWriter` appending to a file in a temporary folder.
Printed: the median ``*IDN?`` round trip (µs) of each and their ratio (transcribed ÷ bare; the
writer's JSON line and flush are the cost, its fsync at most once a second), and the same for
an 8 MB REAL,64 trace (the transcript keeps only its first bytes, so ≈ 1 is expected).
A plain script: it prints and asserts nothing. Run: ``python bench/bench_transcript.py``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from bench_transfer import interleaved_medians
from harness.transcript import TranscriptWriter
from instruments.osa.yokogawa_aq6370 import YokogawaAq6370
from instruments.visa_session import CHUNK_SIZE, ScpiSession

IDN_PASSES = 2000
BLOCK_PASSES = 10


def main() -> None:
    here = Path(__file__).resolve().parent
    child = subprocess.Popen([sys.executable, str(here / "bench_transfer.py"), "--serve"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        resource = f"TCPIP::127.0.0.1::{int(child.stdout.readline())}::SOCKET"
        with tempfile.TemporaryDirectory() as tmp:
            writer = TranscriptWriter(Path(tmp) / "BENCH-osa.jsonl", bench="transcript")
            bare = YokogawaAq6370(ScpiSession(resource, chunk_size=CHUNK_SIZE))
            seen = YokogawaAq6370(ScpiSession(resource, chunk_size=CHUNK_SIZE, observer=writer))
            idn = interleaved_medians({"bare": lambda: bare.session.query("*IDN?"),
                                       "transcribed": lambda: seen.session.query("*IDN?")},
                                      IDN_PASSES)
            block = interleaved_medians({"bare": lambda: bare.ask_block("trace_y", "TRA"),
                                         "transcribed": lambda: seen.ask_block("trace_y", "TRA")},
                                        BLOCK_PASSES)
            bare.close()
            seen.close()
            writer.close()
            size = (Path(tmp) / "BENCH-osa.jsonl").stat().st_size
            lines = writer.lines
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    print(f"*IDN? round trip: bare {idn['bare'] * 1e6:.1f} µs, transcribed "
          f"{idn['transcribed'] * 1e6:.1f} µs, ratio {idn['transcribed'] / idn['bare']:.2f}")
    print(f"8 MB trace: bare {block['bare'] * 1e3:.1f} ms, transcribed "
          f"{block['transcribed'] * 1e3:.1f} ms, ratio {block['transcribed'] / block['bare']:.2f}")
    print(f"transcript: {lines} lines, {size} bytes ({size / max(lines, 1):.0f} bytes a line)")


if __name__ == "__main__":
    main()
