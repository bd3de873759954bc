"""The TL1 driver against a simulated shelf with console faults, through pyserial on a TCP
terminal-server port and on a pseudo-terminal."""

from __future__ import annotations

import pytest

from instruments.errors import InstrumentError, InstrumentTimeout
from instruments.registry import MODELS
from instruments.sim.faults import instrument_faults
from instruments.sim.stations import FAULT_COMMANDS, received_fibre
from instruments.sim.tl1_agent import PtyConsole, TcpConsole, Tl1Agent

TIMEOUT_S = 0.5
BOUND_S = 10.0
pytestmark = pytest.mark.usefixtures("lit")


@pytest.fixture
def shelf(span):
    """``shelf(*faults)`` serves SUMGAIT's shelf with ``faults``; returns (tcp url, pty path)."""
    consoles = []

    def start(*faults: dict) -> tuple[str, str]:
        entries = [{"station": "SUMGAIT", "role": "transponder", **f} for f in faults]
        grouped = instrument_faults(entries, span.stations, FAULT_COMMANDS)
        channels = {"OCH-1-1-1": received_fibre(span, "SUMGAIT", 1)}
        agent = Tl1Agent(span, "SUMGAIT", "SUMGAIT-TP1", channels,
                         faults=grouped.get(("SUMGAIT", "transponder")))
        tcp = TcpConsole(agent).start()
        consoles.append(tcp)
        return tcp.url, PtyConsole(agent).start().path

    yield start
    for console in consoles:
        console.shutdown()
        console.server_close()


def open_card(url: str):
    return MODELS["gr831-tl1"].open(url, tid="SUMGAIT-TP1", baud=115200, timeout_s=TIMEOUT_S)


@pytest.mark.parametrize("transport", ["tcp", "pty"])
def test_console_dropped_once_mid_response_is_recovered(shelf, stopwatch, transport):
    """TCP: the terminal server hangs up, the driver reconnects and logs in again. Pty: the rest
    of the response is lost, the driver asks again with a new CTAG."""
    tcp, pty = shelf({"fault": "drop", "command": "RTRV-PM-OCH", "after_bytes": 40, "times": 1})
    with open_card(tcp if transport == "tcp" else pty) as card:
        with stopwatch(f"TL1 drop once ({transport})") as sw:
            pm = card.read_pm("OCH-1-1-1")
    assert 8.0 < pm.values["q_db"] < 14.0
    assert sw.elapsed < BOUND_S


def test_retrieval_slower_than_the_timeout_gives_up_after_two_retries(shelf, stopwatch):
    tcp, _ = shelf({"fault": "delay", "command": "RTRV-PM-OCH", "delay_s": 2.0})
    with open_card(tcp) as card, stopwatch("TL1 delay, every response") as sw:
        with pytest.raises(InstrumentTimeout, match=r"RTRV-PM-OCH OCH-1-1-1 gave up after 3 "
                                                    r"attempts.*no response to RTRV-PM-OCH"):
            card.read_pm("OCH-1-1-1")
    assert 3 * TIMEOUT_S <= sw.elapsed < BOUND_S


def test_an_edit_whose_response_is_late_is_not_sent_again(shelf, stopwatch):
    tcp, _ = shelf({"fault": "delay", "command": "ED-OCH", "delay_s": 1.0})
    with open_card(tcp) as card, stopwatch("TL1 ED-OCH late") as sw:
        with pytest.raises(InstrumentTimeout, match="ED-OCH OCH-1-1-1 not retried"):
            card.edit_channel("OCH-1-1-1", TXPWR=1.0)
    assert TIMEOUT_S <= sw.elapsed < 2 * TIMEOUT_S + 0.5


def test_serial_settings_come_from_the_station_options(stations):
    card = MODELS["gr831-tl1"].open(stations.resources["AKTAU/transponder"], tid="AKTAU-TP1",
                                    baud=19200, parity="E", bytesize=7, stopbits=2, rtscts=True)
    try:
        port = card.port
        assert (port.baudrate, port.parity, port.bytesize, port.stopbits, port.rtscts) == \
            (19200, "E", 7, 2, True)
    finally:
        card.close()


def test_an_unknown_serial_setting_is_a_clear_error(stations):
    with pytest.raises(InstrumentError, match="cannot open.*parity"):
        MODELS["gr831-tl1"].open(stations.resources["AKTAU/transponder"], tid="AKTAU-TP1",
                                 parity="X")
