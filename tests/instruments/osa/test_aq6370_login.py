"""The AQ6370 LAN login through pyvisa-py against the simulated OSA told the login to expect:
``open "user"`` → ``AUTHENTICATE CRAM-MD5.`` → password → ``ready``, a wrong one refused."""

from __future__ import annotations

import socket

import pytest

from instruments.errors import LoginRefused
from instruments.registry import MODELS
from instruments.secret import Secret
from instruments.sim.osa_aq6370 import SimAq6370
from instruments.sim.scpi_server import ScpiServer

PASSWORD = "osa-pass-4^q"


@pytest.fixture
def osa(span):
    sim = SimAq6370(span, "AKTAU", {1: "FP1-F2"})
    sim.expected_login = ("labuser", PASSWORD)
    server = ScpiServer(sim).start()
    yield server.port
    server.shutdown()
    server.server_close()


def test_the_expected_login_opens_and_a_wrong_one_is_refused(osa):
    resource = f"TCPIP::127.0.0.1::{osa}::SOCKET"
    inst = MODELS["yokogawa-aq6370"].open(resource, user="labuser", password=Secret(PASSWORD))
    assert inst.identify().startswith("YOKOGAWA,AQ6370")
    inst.close()
    for user, password in (("labuser", "wrong-osa-pass"), ("anonymous", PASSWORD)):
        with pytest.raises(LoginRefused) as err:
            MODELS["yokogawa-aq6370"].open(resource, user=user, password=Secret(password))
        assert str(err.value).endswith(f"login as {user!r} refused: 'error'")
        assert password not in str(err.value)


def test_a_quoted_password_as_instrumentkit_sends_it_is_accepted(osa):
    """InstrumentKit's Yokogawa6370 sends the password in double quotes: the same login."""
    with socket.create_connection(("127.0.0.1", osa), timeout=5) as s:
        f = s.makefile("rwb")
        for line, answer in ((b'open "labuser"', b"AUTHENTICATE CRAM-MD5."),
                             (f'"{PASSWORD}"'.encode(), b"ready")):
            f.write(line + b"\n")
            f.flush()
            assert f.readline().strip() == answer
