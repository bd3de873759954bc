"""SCPI drivers against simulated instrument faults, through pyvisa-py over real TCP sockets.

Each test checks what the driver does and how long it takes to give up. Timeouts are short
(0.5 s per read) so the suite stays quick; the bound asserted is the CI-safe one from the issue
(< 10 s), the measured time is printed (``pytest -s``). The OTDR tests run against both OTDR
dialects (``faulty_otdr``): the same guarantees hold for each.
"""

from __future__ import annotations

import _thread
import threading

import numpy as np
import pytest

from instruments.errors import ConnectionLost, InstrumentError, InstrumentTimeout, ProtocolError
from instruments.lock import ResourceLock
from instruments.protocols import OsaSettings, OtdrSettings
from instruments.registry import MODELS
from instruments.sim.faults import InstrumentFaults, instrument_faults
from instruments.sim.scpi_server import ScpiServer
from instruments.sim.stations import FAULT_COMMANDS, OTDR_MODELS
from fault_helpers import wait_until

TIMEOUT_S = 0.5
BOUND_S = 10.0
OTDR = OtdrSettings(averaging_s=30)
OSA = OsaSettings(points=2001)


DIALECT = {
    "anritsu-mt9083": {"idn": "ANRITSU", "data": r":TRAC:LOAD:DATA\?", "start": ":INIT",
                       "poll": "ready", "block_bytes": 100_004},
    "exfo-ftb7000": {"idn": "EXFO", "data": r":TRAC1:DATA\? TRC1", "start": ":INIT:IMM",
                     "poll": "operation_condition", "block_bytes": 200_000},
}
"""What differs between the OTDR dialects as seen in the driver's messages."""


@pytest.fixture(params=list(DIALECT))
def otdr_model(request) -> str:
    return request.param


@pytest.fixture
def faulty_otdr(span, otdr_model):
    """``faulty_otdr(*faults)`` serves a fresh simulated OTDR of ``otdr_model`` at AKTAU with
    ``faults`` (span-file entries without station/role); returns ``(resource, simulator)``."""
    servers: list[ScpiServer] = []

    def start(*faults: dict):
        entries = [{"station": "AKTAU", "role": "otdr", **f} for f in faults]
        mine = instrument_faults(entries, span.stations, FAULT_COMMANDS).get(
            ("AKTAU", "otdr"), InstrumentFaults())
        sim = OTDR_MODELS[otdr_model](span, "AKTAU", 0, mine)
        servers.append(ScpiServer(sim).start())
        return f"TCPIP::127.0.0.1::{servers[-1].port}::SOCKET", sim

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def open_otdr(resource: str, model: str = "anritsu-mt9083", **options):
    """The OTDR driver with short timeouts; the simulator runs at 1000x (time_scale 0.001)."""
    settings = {"timeout_s": TIMEOUT_S, "time_scale": 0.001, "margin_s": 2.0, **options}
    return MODELS[model].open(resource, **settings)


def open_osa(resource: str, **options):
    settings = {"timeout_s": TIMEOUT_S, "time_scale": 0.001, "margin_s": 2.0, **options}
    return MODELS["yokogawa-aq6370"].open(resource, **settings)


# --- slow responses ------------------------------------------------------------------------
def test_slow_reply_within_the_timeout_is_just_slow(faulty_otdr, otdr_model, stopwatch):
    resource, sim = faulty_otdr({"fault": "delay", "delay_s": 0.2, "command": "identify"})
    with open_otdr(resource, otdr_model) as otdr, stopwatch("delay 0.2 s < timeout") as sw:
        assert otdr.identify().startswith(DIALECT[otdr_model]["idn"])
    assert sim.received["identify"] == 1 and sw.elapsed < BOUND_S


def test_reply_slower_than_the_timeout_is_retried_twice_then_a_timeout(faulty_otdr, otdr_model,
                                                                       stopwatch):
    """Opening asks *IDN?: an instrument that never answers in time fails the open, unlocked."""
    resource, sim = faulty_otdr({"fault": "delay", "delay_s": 3, "command": "identify"})
    with stopwatch("delay, every reply (at open)") as sw:
        with pytest.raises(InstrumentTimeout, match=r"'\*IDN\?' gave up after 3 attempts.*"
                                                    r"no complete answer.*within 0.5 s"):
            open_otdr(resource, otdr_model)
    assert sim.received["identify"] == 3
    assert 3 * TIMEOUT_S <= sw.elapsed < BOUND_S
    ResourceLock(resource).acquire().release()  # the failed open let the lock go


def test_one_slow_reply_is_recovered_by_the_retry(faulty_otdr, otdr_model, stopwatch):
    resource, sim = faulty_otdr({"fault": "delay", "delay_s": 2,
                                 "command": DIALECT[otdr_model]["poll"], "times": 1})
    with open_otdr(resource, otdr_model) as otdr, \
            stopwatch("delay, one-shot, during the poll") as sw:
        trace = otdr.measure(OTDR)
    assert len(trace.level_db) == 50_000 and sim.received["start"] == 1
    assert sw.elapsed < BOUND_S


# --- dropped connection mid-transfer -------------------------------------------------------
def test_connection_dropped_mid_block_every_time_gives_up_naming_it(faulty_otdr, otdr_model,
                                                                     stopwatch):
    resource, sim = faulty_otdr({"fault": "drop", "command": "data", "after_bytes": 40_000})
    data = DIALECT[otdr_model]["data"]
    with open_otdr(resource, otdr_model) as otdr, stopwatch("drop after 40 kB, every time") as sw:
        with pytest.raises(ConnectionLost, match=rf"'{data}' gave up after 3 attempts"
                                                 r".*connection closed by the instrument"):
            otdr.measure(OTDR)
    assert sim.received["data"] == 3 and sim.received["start"] == 1
    assert sw.elapsed < BOUND_S


def test_connection_dropped_once_is_reopened_and_the_query_repeated(faulty_otdr, otdr_model,
                                                                    stopwatch):
    resource, sim = faulty_otdr({"fault": "drop", "command": "data", "after_bytes": 40_000,
                                 "times": 1})
    with open_otdr(resource, otdr_model) as otdr, stopwatch("drop after 40 kB, one-shot") as sw:
        trace = otdr.measure(OTDR)
    assert len(trace.level_db) == 50_000
    assert sim.received["data"] == 2 and sim.received["start"] == 1
    assert sw.elapsed < BOUND_S


def test_connection_dropped_after_init_is_not_papered_over(faulty_otdr, otdr_model, stopwatch):
    """:INIT is never sent twice, and a connection lost before anything confirmed it makes the
    acquisition fail, saying so (the next trace could otherwise be a stale one)."""
    resource, sim = faulty_otdr({"fault": "drop", "command": "start", "times": 1})
    start = DIALECT[otdr_model]["start"]
    with open_otdr(resource, otdr_model) as otdr, stopwatch("drop right after :INIT") as sw:
        with pytest.raises(ConnectionLost, match=rf"{start} had been sent with no reply since.*"
                                                 r"unknown; not retried"):
            otdr.measure(OTDR)
    assert sim.received["start"] == 1
    assert wait_until(lambda: sim.received["abort"] == 1)  # sent on a fresh connection
    assert sw.elapsed < BOUND_S


def test_command_on_a_connection_found_closed_is_sent_on_a_new_one(faulty, stopwatch):
    resource, sim = faulty("otdr", {"fault": "drop", "command": "error_query", "times": 1,
                                    "after_bytes": 1_000})
    with open_otdr(resource) as otdr:
        otdr.select_port(1)  # its error query gets a whole reply, then the instrument hangs up
        assert wait_until(lambda: otdr.session._peer_closed())
        with stopwatch("command after an idle hang-up") as sw:
            otdr.select_port(2)
    assert sim.received["route"] == 2 and sim.port == 2
    assert sw.elapsed < 1.0


# --- garbled or truncated blocks -------------------------------------------------------------
def test_garbled_block_header_is_a_protocol_error_after_two_retries(faulty_otdr, otdr_model,
                                                                    stopwatch):
    resource, sim = faulty_otdr({"fault": "garble", "command": "data"})
    with open_otdr(resource, otdr_model) as otdr, \
            stopwatch("garbled length digits, every time") as sw:
        with pytest.raises(ProtocolError, match=r"gave up after 3 attempts.*length is not a number"):
            otdr.measure(OTDR)
    assert sim.received["data"] == 3 and sw.elapsed < BOUND_S


def test_truncated_block_every_time_is_a_timeout_saying_where(faulty_otdr, otdr_model,
                                                              stopwatch):
    resource, sim = faulty_otdr({"fault": "truncate", "command": "data", "after_bytes": 5_000})
    with open_otdr(resource, otdr_model) as otdr, stopwatch("truncated block, every time") as sw:
        with pytest.raises(InstrumentTimeout, match=r"gave up after 3 attempts.*in the payload"):
            otdr.measure(OTDR)
    assert sim.received["data"] == 3
    assert 3 * TIMEOUT_S <= sw.elapsed < BOUND_S


@pytest.mark.parametrize("fault", ["truncate", "garble"])
def test_one_bad_block_is_fetched_again_and_the_trace_is_exact(faulty_otdr, otdr_model,
                                                               stopwatch, fault):
    resource, sim = faulty_otdr({"fault": fault, "times": 1})
    with open_otdr(resource, otdr_model) as otdr, stopwatch(f"{fault}, one-shot") as sw:
        otdr.select_port(1)
        trace = otdr.measure(OTDR)
    resource, clean = faulty_otdr()
    with open_otdr(resource, otdr_model) as otdr:
        otdr.select_port(1)
        reference = otdr.measure(OTDR)
    np.testing.assert_array_equal(trace.level_db, reference.level_db)
    assert sim.received["data"] == 2 and sim.received["start"] == 1
    assert sw.elapsed < BOUND_S


def test_osa_reconnect_logs_in_again_and_sets_the_format(faulty, stopwatch):
    resource, sim = faulty("osa", {"fault": "truncate", "command": "trace_y", "times": 1})
    with open_osa(resource) as osa, stopwatch("OSA truncated Y block, one-shot") as sw:
        spectrum = osa.sweep(OSA)
    assert len(spectrum.power_dbm) == OSA.points and np.isfinite(spectrum.power_dbm).all()
    assert sim.received["trace_y"] == 2 and sim.received["format"] == 2
    assert sw.elapsed < BOUND_S


# --- stuck busy ------------------------------------------------------------------------------
def test_otdr_stuck_busy_stops_at_the_deadline_and_aborts(faulty_otdr, otdr_model, stopwatch):
    resource, sim = faulty_otdr({"fault": "busy"})
    with open_otdr(resource, otdr_model) as otdr, stopwatch("OTDR stays busy") as sw:
        with pytest.raises(InstrumentTimeout, match=r"OTDR averaging not finished after 2.0 s; "
                                                    r"sent :ABOR"):
            otdr.measure(OTDR)
    assert wait_until(lambda: sim.received["abort"] == 1) and sim.received["data"] == 0
    # deadline = 1.5 x 30 s x 0.001 + 2 s margin
    assert 2.0 <= sw.elapsed < BOUND_S


def test_osa_sweep_that_never_completes_stops_at_the_deadline(faulty, stopwatch):
    resource, sim = faulty("osa", {"fault": "busy"})
    with open_osa(resource) as osa, stopwatch("OSA sweep never completes") as sw:
        with pytest.raises(InstrumentTimeout, match="OSA sweep not finished.*sent :ABOR"):
            osa.sweep(OSA)
    assert wait_until(lambda: sim.received["abort"] == 1) and sim.received["trace_y"] == 0
    assert sw.elapsed < BOUND_S


def test_ctrl_c_during_the_poll_sends_abort_and_propagates(faulty_otdr, otdr_model, stopwatch):
    resource, sim = faulty_otdr({"fault": "busy"})
    otdr = open_otdr(resource, otdr_model, margin_s=30.0)
    timer = threading.Timer(0.5, _thread.interrupt_main)
    try:
        with stopwatch("Ctrl-C during the OTDR poll") as sw:
            timer.start()
            with pytest.raises(KeyboardInterrupt) as info:
                otdr.measure(OTDR)
    finally:
        timer.cancel()
        otdr.close()
    assert any("sent :ABOR" in note for note in info.value.__notes__)
    assert wait_until(lambda: sim.received["abort"] == 1)
    assert sw.elapsed < 5.0


# --- error queue -------------------------------------------------------------------------------
def test_error_pushed_after_a_command_fails_that_step_once(faulty_otdr, otdr_model, stopwatch):
    resource, sim = faulty_otdr({"fault": "error", "command": "route",
                                 "error": '-350,"Queue overflow"'})
    with open_otdr(resource, otdr_model) as otdr, stopwatch("error queue after ROUTe:CLOSe") as sw:
        with pytest.raises(InstrumentError, match=r"after ROUTe:CLOSe 3: -350 Queue overflow"):
            otdr.select_port(3)
    assert sim.received["route"] == 1 and sw.elapsed < 1.0


def test_lost_reply_to_a_state_changing_query_is_not_retried(faulty, stopwatch):
    """Reading :STAT:OPER:EVEN? clears it: asking again could lose the sweep-done bit."""
    resource, sim = faulty("osa", {"fault": "delay", "delay_s": 2, "command": "operation_event",
                                     "times": 1})
    with open_osa(resource) as osa, stopwatch("OSA event register reply lost") as sw:
        with pytest.raises(InstrumentTimeout, match=r"EVEN\?' not retried \(reading it changes"):
            osa.sweep(OSA)
    assert sim.received["operation_event"] == 1 and sw.elapsed < BOUND_S


# --- progress ----------------------------------------------------------------------------------
def test_block_progress_reports_bytes_in_chunks(faulty_otdr, otdr_model):
    resource, _ = faulty_otdr()
    seen: list[tuple[int, int]] = []
    with MODELS[otdr_model].open(resource, chunk_size=16_384, time_scale=0.001) as otdr:
        otdr.transfer_progress = lambda done, total: seen.append((done, total))
        otdr.measure(OTDR)
    size = DIALECT[otdr_model]["block_bytes"]
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert len(seen) == 1 + -(-size // 16_384)


def test_unreachable_instrument_is_a_clear_error_at_open():
    with pytest.raises(InstrumentError, match=r"cannot open TCPIP::127.0.0.1::9::SOCKET: "
                                              r"Connection refused"):
        MODELS["anritsu-mt9083"].open("TCPIP::127.0.0.1::9::SOCKET", timeout_s=1.0)
