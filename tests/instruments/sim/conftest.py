"""A fresh simulated AQ6370 per test, served on loopback, and a raw pyvisa-py client for it."""

from __future__ import annotations

from typing import Callable, Iterator

import pytest

from instruments.sim.faults import InstrumentFaults
from instruments.sim.osa_aq6370 import SimAq6370
from instruments.sim.scpi_server import ScpiServer
from instruments.sim.span import load_span
from raw_client import RawScpi

SLOW_SWEEP_TIME_SCALE = 6.0
"""Wall seconds per instrument second for ``slow_osa``: a 1001-point sweep lasts 0.3 s, long
enough that a reply coming before its end shows a missing wait."""


@pytest.fixture
def serve_osa() -> Iterator[Callable[..., tuple[SimAq6370, int]]]:
    """``serve_osa(time_scale=..., faults=...)`` → (simulated AQ6370 with fibre FP1-F2 lit on
    port 1, its TCP port)."""
    servers: list[ScpiServer] = []

    def start(time_scale: float | None = None,
              faults: InstrumentFaults | None = None) -> tuple[SimAq6370, int]:
        span = load_span()
        if time_scale is not None:
            span.time_scale = time_scale
        span.set_in_service("FP1-F2", True)
        sim = SimAq6370(span, "SUMGAIT", {1: "FP1-F2", 2: "FP2-F2"}, faults=faults)
        server = ScpiServer(sim).start()
        servers.append(server)
        return sim, server.port

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def osa(serve_osa) -> Iterator[RawScpi]:
    """A logged-in raw session to a fresh simulated AQ6370 (fast sweeps)."""
    _, port = serve_osa()
    client = RawScpi(port)
    client.login()
    yield client
    client.close()


@pytest.fixture
def slow_osa(serve_osa) -> Iterator[RawScpi]:
    """As ``osa``, with sweeps lasting 0.3 s of wall time."""
    _, port = serve_osa(time_scale=SLOW_SWEEP_TIME_SCALE)
    client = RawScpi(port)
    client.login()
    yield client
    client.close()
