"""Transfer benchmark: the driver stack (pyvisa-py, ScpiSession, ScpiDriver) against a raw Python
socket, in the same run, against the same simulated AQ6370-class server on loopback.

1. An 8 MB trace: 1 000 000 points of REAL,64 (float64) from ``:TRAC:Y? TRA``. Throughput in
   MB/s (1 MB = 1e6 bytes) through the driver vs raw ``socket.recv_into``; target ratio >= 0.5.
2. A short query round trip, ``*IDN?``: median time (µs) through the driver vs raw socket;
   target ratio <= 2.

The server runs in a child process (as an instrument is another machine: no shared GIL) and
caches the encoded block, so that the transport, not the simulator, is measured.
A plain script: it prints and asserts nothing. Run: ``python bench/bench_transfer.py``.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import time
from typing import Callable

import numpy as np

from instruments import visa_session
from instruments.osa.yokogawa_aq6370 import LOGIN_PROMPT, YokogawaAq6370, _float64
from instruments.ieee488 import encode_block
from instruments.sim.osa_aq6370 import SimAq6370
from instruments.sim.scpi_server import ScpiServer
from instruments.sim.span import load_span
from instruments.visa_session import ScpiSession

POINTS = 1_000_000
BLOCK_RUNS = 15
IDN_RUNS = 2000


class BenchAq6370(SimAq6370):
    """An AQ6370-class simulator whose trace TRA holds ``POINTS`` float64 values, pre-encoded."""

    def __init__(self) -> None:
        super().__init__(load_span(), "AKTAU", {1: "FP1-F2"})
        wavelength_m = np.linspace(1528e-9, 1568e-9, POINTS)
        power_dbm = -40.0 + 25.0 * np.random.default_rng(1).random(POINTS)
        self.format = ("REAL", 64)
        self._cached = {
            "x": encode_block(wavelength_m.astype("<f8").tobytes()),
            "y": encode_block(power_dbm.astype("<f8").tobytes()),
        }

    def do_trace_x(self, name: str) -> bytes:
        return self._cached["x"]

    def do_trace_y(self, name: str) -> bytes:
        return self._cached["y"]


class RawClient:
    """The same exchange on a bare socket: login, then lines and blocks, nothing else."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rest = b""
        assert self.query(b'open "anonymous"') == LOGIN_PROMPT.encode()
        self.query(b"anonymous")

    def query(self, line: bytes) -> bytes:
        self.sock.sendall(line + b"\n")
        while b"\n" not in self.rest:
            self.rest += self.sock.recv(65536)
        reply, _, self.rest = self.rest.partition(b"\n")
        return reply

    def query_block(self, line: bytes) -> memoryview:
        self.sock.sendall(line + b"\n")
        head = self._exact(2)
        n = int(head[1:2])
        length = int(self._exact(n))
        buf = bytearray(length + 1)
        view = memoryview(buf)
        done = 0
        while done < length + 1:
            done += self.sock.recv_into(view[done:], length + 1 - done)
        return view[:length]

    def _exact(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            data += self.sock.recv(count - len(data))
        return data

    def close(self) -> None:
        self.sock.close()


def open_driver(port: int, chunk_size: int) -> YokogawaAq6370:
    resource = f"TCPIP::127.0.0.1::{port}::SOCKET"
    return YokogawaAq6370(ScpiSession(resource, timeout_s=10.0, chunk_size=chunk_size))


def median_s(fn: Callable[[], object], runs: int) -> float:
    """Median wall time (s) of ``runs`` calls of ``fn``."""
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def serve() -> None:
    """Child process: serve the benchmark OSA, print its port, stop when stdin closes."""
    server = ScpiServer(BenchAq6370()).start()
    print(server.port, flush=True)
    sys.stdin.read()
    server.shutdown()


def main() -> None:
    child = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        run(int(child.stdout.readline()))
    finally:
        child.stdin.close()
        child.wait(timeout=10)


def run(port: int) -> None:
    """Both measurements against the server on ``port``; driver and raw runs interleaved."""
    nbytes = POINTS * 8
    raw = RawClient(port)
    fetch_raw = lambda: raw.query_block(b":TRAC:Y? TRA")  # noqa: E731
    print(f"Block transfer: {POINTS} points REAL,64 = {nbytes / 1e6:.1f} MB over loopback; "
          f"median of {BLOCK_RUNS} per row, raw socket measured alongside each row")
    print(f"  {'driver chunk_size':>18s}  {'driver MB/s':>11s}  {'raw MB/s':>9s}  ratio")
    for chunk in (128 * 1024, 256 * 1024, 512 * 1024, 1 << 20, 2 << 20, 8 << 20):
        osa = open_driver(port, chunk)
        assert len(osa.ask_block("trace_y", "TRA", decode=_float64)) == POINTS
        drv_s = median_s(lambda: osa.ask_block("trace_y", "TRA", decode=_float64), BLOCK_RUNS)
        raw_s = median_s(fetch_raw, BLOCK_RUNS)
        mark = "  <- default" if chunk == visa_session.CHUNK_SIZE else ""
        print(f"  {chunk // 1024:14d} KiB  {nbytes / drv_s / 1e6:11.0f}  {nbytes / raw_s / 1e6:9.0f}"
              f"  {raw_s / drv_s:5.2f}{mark}")
        osa.close()

    osa = open_driver(port, visa_session.CHUNK_SIZE)
    session = osa.session
    ratios = []
    for _ in range(5):
        drv_s = median_s(lambda: osa.ask_block("trace_y", "TRA", decode=_float64), BLOCK_RUNS)
        ses_s = median_s(lambda: session.query_array(":TRAC:Y? TRA", "<f8"), BLOCK_RUNS)
        raw_s = median_s(fetch_raw, BLOCK_RUNS)
        ratios.append((raw_s / drv_s, raw_s / ses_s, nbytes / drv_s / 1e6, nbytes / raw_s / 1e6))
    drv_ratio = statistics.median(r[0] for r in ratios)
    print(f"Default chunk_size, 5 interleaved rounds: driver {statistics.median(r[2] for r in ratios):.0f}"
          f" MB/s, raw {statistics.median(r[3] for r in ratios):.0f} MB/s; throughput ratio "
          f"driver/raw {drv_ratio:.2f} (rounds {', '.join(f'{r[0]:.2f}' for r in ratios)}), "
          f"ScpiSession.query_array/raw {statistics.median(r[1] for r in ratios):.2f}; target >= 0.5")

    print(f"\n*IDN? round trip, median of {IDN_RUNS}, 5 interleaved rounds")
    for _ in range(200):
        raw.query(b"*IDN?")
        osa.ask("identify")
    rounds = []
    for _ in range(5):
        raw_rt = median_s(lambda: raw.query(b"*IDN?"), IDN_RUNS)
        ses_rt = median_s(lambda: session.query("*IDN?"), IDN_RUNS)
        drv_rt = median_s(lambda: osa.ask("identify"), IDN_RUNS)
        rounds.append((raw_rt, ses_rt, drv_rt))
    raw_rt, ses_rt, drv_rt = (statistics.median(r[i] for r in rounds) for i in range(3))
    print(f"  raw socket                {raw_rt * 1e6:7.0f} µs")
    print(f"  ScpiSession.query         {ses_rt * 1e6:7.0f} µs   ratio {ses_rt / raw_rt:.2f}")
    print(f"  driver ask('identify')    {drv_rt * 1e6:7.0f} µs   ratio {drv_rt / raw_rt:.2f} "
          f"(rounds {', '.join(f'{r[2] / r[0]:.2f}' for r in rounds)}; target <= 2)")
    osa.close()
    raw.close()


if __name__ == "__main__":
    serve() if "--serve" in sys.argv else main()
