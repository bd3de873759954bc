"""Transfer benchmark: the driver stack (pyvisa-py, ScpiSession, ScpiDriver) against a raw Python
socket, in the same run, against the same simulated AQ6370-class server on loopback.

1. An 8 MB trace: 1 000 000 points of REAL,64 (float64) from ``:TRAC:Y? TRA``. Throughput in
   MB/s (1 MB = 1e6 bytes) through the driver vs raw ``socket.recv_into``; target ratio >= 0.5.
2. A short query round trip, ``*IDN?``: median time (µs) through the driver vs raw socket;
   target ratio <= 2. Each pass calls every contender once, in an order rotated each pass, so
   all see the same machine load (on a busy 2-core machine the round trip moves between ~30
   and ~70 µs as the client and server processes share a core or not: timing each contender
   in its own block of calls gave ratios from 0.4 to 2.5 for the same code). The raw client
   does what the driver does and nothing else: one line out, ``recv`` of ``LINE_READ`` bytes
   until the ``\n`` terminator, the rest kept. A third row, pyvisa-py alone (the VISA
   library's write and read on a plain resource), is the floor for anything that goes
   through pyvisa-py: our layers' cost is the driver row minus that one.

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
        self.set_value("format", "REAL", 64)
        self._cached = {
            "x": encode_block(wavelength_m.astype("<f8").tobytes()),
            "y": encode_block(power_dbm.astype("<f8").tobytes()),
        }

    def do_trace_x(self, name: str, first: int = 0, last: int = 0) -> bytes:
        return self._cached["x"]

    def do_trace_y(self, name: str, first: int = 0, last: int = 0) -> bytes:
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
            self.rest += self.sock.recv(visa_session.LINE_READ)
        reply, _, self.rest = self.rest.partition(b"\n")
        return reply.rstrip(b"\r")

    def query_block(self, line: bytes) -> memoryview:
        self.sock.sendall(line + b"\n")
        head = self._exact(2)
        n = int(head[1:2])
        length = int(self._exact(n))
        tail = len(BenchAq6370.TERMINATOR)  # the AQ6370 ends a block with CR LF
        buf = bytearray(length + tail)
        view = memoryview(buf)
        done = 0
        while done < length + tail:
            done += self.sock.recv_into(view[done:], length + tail - done)
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


def interleaved_medians(fns: dict[str, Callable[[], object]], passes: int) -> dict[str, float]:
    """Median wall time (s) of each of ``fns``, called once each per pass, the order rotated
    every pass, so that every contender sees the same machine load."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    items = list(fns.items())
    for i in range(passes):
        k = i % len(items)
        for name, fn in items[k:] + items[:k]:
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(v) for name, v in times.items()}


def open_plain_visa(port: int) -> Callable[[], object]:
    """``*IDN?`` through pyvisa-py alone: the VISA library's write and read on a logged-in
    resource, none of our code (the floor for anything that goes through pyvisa-py)."""
    inst = visa_session.resource_manager().open_resource(f"TCPIP::127.0.0.1::{port}::SOCKET")
    inst.read_termination = inst.write_termination = "\n"
    assert inst.query('open "anonymous"') == LOGIN_PROMPT
    inst.query("anonymous")
    lib, vi = inst.visalib, inst.session
    lib.ignore_warning(vi, *visa_session.EXPECTED_STATUSES).__enter__()

    def query(keep: object = inst) -> bytes:  # ``keep``: the resource closes when collected
        lib.write(vi, b"*IDN?\n")
        return lib.read(vi, visa_session.LINE_READ)[0]
    assert query().startswith(b"YOKOGAWA")
    return query


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

    print(f"\n*IDN? round trip: median of {IDN_RUNS} interleaved calls per round, 5 rounds")
    contenders = {"raw socket": lambda: raw.query(b"*IDN?"),
                  "pyvisa-py alone": open_plain_visa(port),
                  "ScpiSession.query": lambda: session.query("*IDN?"),
                  "driver ask('identify')": lambda: osa.ask("identify")}
    interleaved_medians(contenders, 300)  # warm-up
    rounds = [interleaved_medians(contenders, IDN_RUNS) for _ in range(5)]
    base = statistics.median(r["raw socket"] for r in rounds)
    for name in contenders:
        median = statistics.median(r[name] for r in rounds)
        per_round = ", ".join(f"{r[name] / r['raw socket']:.2f}" for r in rounds)
        target = "; target <= 2" if name.startswith("driver") else ""
        print(f"  {name:24s} {median * 1e6:6.1f} µs   ratio {median / base:.2f}"
              + (f" (rounds {per_round}{target})" if name != "raw socket" else ""))
    osa.close()
    raw.close()


if __name__ == "__main__":
    serve() if "--serve" in sys.argv else main()
