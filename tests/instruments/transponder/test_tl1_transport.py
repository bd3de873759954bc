"""The TL1 console transport reports every command with its response to an optional observer,
the ACT-USER PID masked: through pyserial (``socket://``) against a simulated shelf and a
loopback listener that never answers."""

from __future__ import annotations

import pytest

from instruments.errors import InstrumentError, InstrumentTimeout
from instruments.io_observer import MASK, IoEvent
from instruments.registry import MODELS
from instruments.sim.tl1_agent import TcpConsole, Tl1Agent
from loopback import silent_listener

TL1_PASSWORD = "Tl1-S3cret-0042"


def everything(events: list[IoEvent]) -> str:
    return "\n".join(f"{e.sent}|{e.reply!r}|{e.error}|{e.note}" for e in events)


@pytest.fixture
def console(span):
    """A simulated shelf on a TCP console whose login needs :data:`TL1_PASSWORD`."""
    agent = Tl1Agent(span, "AKTAU", "AKTAU-TP1", {"OCH-1-1-1": "FP1-F2"}, password=TL1_PASSWORD)
    server = TcpConsole(agent).start()
    yield server.url
    server.shutdown()
    server.server_close()


def test_tl1_transport_reports_commands_with_their_responses_and_masks_the_pid(console):
    events: list[IoEvent] = []
    card = MODELS["gr831-tl1"].open(console, tid="AKTAU-TP1", password=TL1_PASSWORD,
                                    observer=events.append)
    try:
        card.read_pm("OCH-1-1-1")
    finally:
        card.close()
    commands = [e for e in events if e.op == "command"]
    assert commands[0].sent == f"ACT-USER:AKTAU-TP1:ADMIN:1::{MASK};"
    assert commands[0].reply and b"COMPLD" in commands[0].reply
    netype = next(e for e in commands if e.sent.startswith("RTRV-NETYPE"))
    assert b"SIM,COHERENT-SHELF" in netype.reply and netype.reply_len >= len(netype.reply)
    assert any(e.sent.startswith("RTRV-PM-OCH:AKTAU-TP1:OCH-1-1-1") for e in commands)
    assert events[0].op == "open" and events[-1].op == "close"
    assert TL1_PASSWORD not in everything(events)


def test_tl1_wrong_password_is_a_deny_in_the_transcript_not_the_password(console):
    """A refused ACT-USER is denied PIUI (privilege, illegal/invalid user identity), as TL1 NEs
    document it (e.g. ADTRAN MX2800 user manual, table 9-5); PICC is for a command sent
    before any login."""
    events: list[IoEvent] = []
    with pytest.raises(InstrumentError, match="PIUI"):
        MODELS["gr831-tl1"].open(console, tid="AKTAU-TP1", password="Wrong-" + TL1_PASSWORD,
                                 observer=events.append)
    login = next(e for e in events if e.op == "command")
    assert login.error == "DENY PIUI" and TL1_PASSWORD not in everything(events)


def test_tl1_command_without_response_is_reported_when_the_driver_gives_up():
    events: list[IoEvent] = []
    with silent_listener() as port:
        with pytest.raises(InstrumentTimeout):
            MODELS["gr831-tl1"].open(f"socket://127.0.0.1:{port}", tid="X", timeout_s=0.5,
                                     password=TL1_PASSWORD, observer=events.append)
    login = next(e for e in events if e.op == "command")
    assert login.sent == f"ACT-USER:X:ADMIN:1::{MASK};"
    assert "no response before the console was closed" in login.error
    assert login.duration_s >= 0.5


def test_tl1_retry_of_a_late_retrieval_is_marked(span):
    """A shelf that answers RTRV-NETYPE late once: the driver gives up on it and sends it again
    with a new CTAG; the transcript shows the unanswered attempt, its late response, and marks
    the next attempt as a retry."""
    from instruments.sim.faults import InstrumentFault, InstrumentFaults

    slow = InstrumentFaults([InstrumentFault("AKTAU", "transponder", "delay",
                                             command="RTRV-NETYPE", delay_s=1.0, times=1)])
    agent = Tl1Agent(span, "AKTAU", "AKTAU-TP1", {"OCH-1-1-1": "FP1-F2"}, faults=slow)
    server = TcpConsole(agent).start()
    events: list[IoEvent] = []
    try:
        card = MODELS["gr831-tl1"].open(server.url, tid="AKTAU-TP1", timeout_s=0.5,
                                        observer=events.append)
        card.close()
    finally:
        server.shutdown()
        server.server_close()
    netype = [e for e in events if e.sent.startswith("RTRV-NETYPE")]
    first, *rest = netype
    assert "no response before the next command" in first.error and not first.retry
    assert any(e.op == "late" for e in rest)
    answered = [e for e in rest if e.op == "command"]
    assert answered and answered[0].retry and not answered[0].error
