"""Fixtures for the instrument tests: one simulated instrument served on its own port, with the
instrument faults a test asks for (the session-wide ``stations`` stay fault-free)."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from instruments.sim.faults import InstrumentFaults, instrument_faults
from instruments.sim.osa_aq6370 import SimAq6370
from instruments.sim.otdr_mt9083 import SimMt9083
from instruments.sim.scpi_server import ScpiServer
from instruments.sim.stations import FAULT_COMMANDS, otdr_ports
from fault_helpers import Stopwatch


@pytest.fixture(autouse=True)
def private_lock_dir(tmp_path_factory, monkeypatch) -> None:
    """Instrument locks of these tests live in a directory of their own."""
    monkeypatch.setenv("CASPIAN_LOCK_DIR", str(tmp_path_factory.getbasetemp() / "locks"))


@pytest.fixture
def faulty(span) -> Iterator[Callable[..., tuple[str, Any]]]:
    """``faulty(role, *faults)`` serves a fresh simulated OTDR or OSA at AKTAU with ``faults``
    (span-file entries without station/role) and returns ``(resource, simulated instrument)``."""
    servers: list[ScpiServer] = []

    def start(role: str, *faults: dict) -> tuple[str, Any]:
        entries = [{"station": "AKTAU", "role": role, **f} for f in faults]
        grouped = instrument_faults(entries, span.stations, FAULT_COMMANDS)
        mine = grouped.get(("AKTAU", role), InstrumentFaults())
        if role == "otdr":
            sim = SimMt9083(span, "AKTAU", otdr_ports(span), faults=mine)
        else:
            sim = SimAq6370(span, "AKTAU", {1: "FP1-F2", 2: "FP2-F2"}, faults=mine)
        server = ScpiServer(sim).start()
        servers.append(server)
        return f"TCPIP::127.0.0.1::{server.port}::SOCKET", sim

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def stopwatch() -> Callable[[str], Stopwatch]:
    """``with stopwatch("label") as sw:`` times a block (``sw.elapsed``, s) and prints it."""
    return Stopwatch
