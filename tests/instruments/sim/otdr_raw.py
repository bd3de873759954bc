"""A simulated OTDR served on loopback and opened with raw pyvisa-py, as a user's own script
would (``pyvisa.ResourceManager("@py")``, ``TCPIP::127.0.0.1::PORT::SOCKET``): none of the
harness's drivers is involved."""

from __future__ import annotations

import contextlib
import time
from typing import Any, Iterator

import pytest

from instruments.sim.scpi_server import ScpiServer
from instruments.sim.stations import otdr_ports
from raw_client import resource_manager

POLLS = 5000
"""Most completion polls a test makes before calling the instrument stuck (a count; polls are
5 ms apart, so a simulated shot of a few seconds completes well within it)."""


@contextlib.contextmanager
def served(model: type, span: Any, station: str = "AKTAU") -> Iterator[Any]:
    """``model`` (a simulated OTDR class) at ``station`` on a fresh loopback port, opened with
    pyvisa-py; yields the pyvisa resource (LF terminations, 10 s timeout)."""
    sim = model(span, station, otdr_ports(span))
    server = ScpiServer(sim).start()
    inst = resource_manager().open_resource(f"TCPIP::127.0.0.1::{server.port}::SOCKET",
                            read_termination="\n", write_termination="\n", timeout=10_000)
    try:
        yield inst
    finally:
        inst.close()  # the resource manager stays open: pyvisa shares it per backend
        server.shutdown()
        server.server_close()


def raw_fixtures(model: type, station: str, port: int) -> tuple[Any, Any]:
    """The ``inst`` fixture (``model`` served at ``station`` for the test module, opened with
    raw pyvisa-py) and an autouse fixture that starts each test from ``*RST;*CLS`` on switch
    port ``port`` and aborts any shot left running."""
    @pytest.fixture(scope="module")
    def inst(span: Any) -> Iterator[Any]:
        with served(model, span, station) as resource:
            yield resource

    @pytest.fixture(autouse=True)
    def fresh(inst: Any) -> Iterator[None]:
        inst.write(f"*RST;*CLS;:ROUT:CLOS {port}")
        yield
        inst.write(":ABOR")

    return inst, fresh


def errors(inst: Any) -> list[str]:
    """Every entry of the error queue (``:SYSTem:ERRor?`` until ``0``), oldest first."""
    found = []
    for _ in range(40):
        reply = inst.query(":SYST:ERR?")
        if reply.split(",")[0].strip() in ("0", "+0"):
            return found
        found.append(reply)
    raise AssertionError(f"error queue does not empty: {found[:5]}")


def error_codes(inst: Any) -> list[int]:
    return [int(e.split(",")[0]) for e in errors(inst)]


def poll(inst: Any, query: str, until: Any) -> str:
    """Ask ``query`` until ``until(reply)`` is true; the last reply."""
    for _ in range(POLLS):
        reply = inst.query(query)
        if until(reply):
            return reply
        time.sleep(0.005)
    raise AssertionError(f"{query} never satisfied the condition; last reply {reply!r}")


def block(inst: Any, query: str) -> bytes:
    """The payload of the definite-length block answering ``query`` (pyvisa parses the header)."""
    return bytes(inst.query_binary_values(query, datatype="B", container=bytearray))


def assert_elapsed_counts(inst: Any, averaging_line: str) -> None:
    """After ``averaging_line`` (a 3600 s averaging time) and ``:INIT``, the progress query
    ``:SENS:AVER:ELAP?`` counts up from 0 and stays within the averaging time."""
    inst.write(f"{averaging_line};:INIT")
    first = float(inst.query(":SENS:AVER:ELAP?"))
    second = float(poll(inst, ":SENS:AVER:ELAP?", lambda r: float(r) > first))
    assert 0 <= first < second <= 3600


def model_settings(table: Any) -> list[tuple[Any, str]]:
    """(setting, the line that queries it) for every readable setting of a model's table, the
    common IEEE 488.2 / STATus / SYSTem ones left out (``[1..n]`` suffixes sent as 1)."""
    found = []
    for command in table.declared():
        if command.readable and not command.header.startswith(("*", ":STAT", ":SYST")):
            query = table[command.name + "?"]
            found.append((command, query.render(*[1] * query.suffix_count)))
    return found
