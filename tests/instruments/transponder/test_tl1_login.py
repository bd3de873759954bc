"""TL1 logins through pyserial: the simulated shelf told the login to expect refuses a wrong
one with ``DENY`` and the GR-831 code ``PIUI`` (privilege, illegal user identity, as vendors'
TL1 error tables list it), and no password shows in an error or a pytest traceback."""

from __future__ import annotations

import socket

import pytest

from instruments.errors import InstrumentTimeout, LoginRefused
from instruments.registry import MODELS
from instruments.secret import Secret
from instruments.sim.tl1_agent import PtyConsole, TcpConsole, Tl1Agent
from instruments.transponder import tl1

PASSWORD = "Tl1-pass-8$w"


@pytest.fixture
def shelf(span):
    """A shelf at AKTAU expecting OPER / PASSWORD, on a TCP port and a pseudo-terminal."""
    agent = Tl1Agent(span, "AKTAU", "AKTAU-TP1", {"OCH-1-1-1": "FP1-F2"}, user="OPER",
                     password=PASSWORD)
    tcp = TcpConsole(agent).start()
    yield {"tcp": tcp.url, "pty": PtyConsole(agent).start().path}
    tcp.shutdown()
    tcp.server_close()


@pytest.mark.parametrize("transport", ["tcp", "pty"])
def test_the_expected_login_is_accepted_and_a_wrong_one_refused(shelf, transport):
    card = MODELS["gr831-tl1"].open(shelf[transport], tid="AKTAU-TP1", baud=115200, user="OPER",
                                    password=Secret(PASSWORD))
    assert card.identify().startswith("SIM,COHERENT-SHELF,AKTAU")
    card.close()
    for user, password in (("OPER", "wrong-pass-1"), ("ADMIN", PASSWORD)):
        with pytest.raises(LoginRefused) as err:
            MODELS["gr831-tl1"].open(shelf[transport], tid="AKTAU-TP1", baud=115200, user=user,
                                     password=password, timeout_s=5)
        text = str(err.value)
        assert f"ACT-USER {user} denied: PIUI (privilege: illegal user identity" in text
        assert password not in text and PASSWORD not in text


def test_a_command_before_login_is_denied(span):
    agent = Tl1Agent(span, "AKTAU", "AKTAU-TP1", {"OCH-1-1-1": "FP1-F2"})
    reply = tl1.parse_message(agent.handle("RTRV-NETYPE:AKTAU-TP1::7;", {}).strip())
    assert (reply.completion, reply.error_code) == ("DENY", "PICC")


def test_a_traceback_through_the_login_shows_no_password():
    """pytest prints every function's arguments in a long traceback (``params = ...``): that
    is how a password reached junit.xml. Passed as a Secret it prints as '***' at each frame."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # connects, never answers
    try:
        with pytest.raises(InstrumentTimeout) as err:
            MODELS["gr831-tl1"].open(f"socket://127.0.0.1:{silent.getsockname()[1]}",
                                     tid="AKTAU-TP1", password=Secret(PASSWORD), timeout_s=0.3)
    finally:
        silent.close()
    text = str(err.getrepr(funcargs=True, showlocals=True, style="long"))
    assert "params = '***'" in text and "password = '***'" in text
    assert PASSWORD not in text
