"""The SCPI session reports every exchange to an optional observer, the AQ6370 login password
masked: through pyvisa-py against the simulators and a loopback listener, no patched method."""

from __future__ import annotations

import pytest

from instruments.errors import InstrumentTimeout
from instruments.io_observer import MASK, IoEvent
from instruments.registry import MODELS
from loopback import silent_listener

OSA_PASSWORD = "Osa-S3cret-7731"


def everything(events: list[IoEvent]) -> str:
    return "\n".join(f"{e.sent}|{e.reply!r}|{e.error}|{e.note}" for e in events)


def test_scpi_session_reports_each_exchange_and_masks_the_osa_login(stations):
    events: list[IoEvent] = []
    osa = MODELS["yokogawa-aq6370"].open(stations.resources["AKTAU/osa"], password=OSA_PASSWORD,
                                         observer=events.append)
    try:
        osa.identify()
        osa.check_errors("test")
    finally:
        osa.close()
    ops = [(e.op, e.sent) for e in events]
    assert ops[0] == ("open", "") and ops[-1] == ("close", "")
    assert ("query", 'open "anonymous"') in ops
    login = ops.index(("query", 'open "anonymous"'))
    assert ops[login + 1] == ("query", MASK)  # the password line
    assert events[login].reply.startswith(b"AUTHENTICATE")
    idn = next(e for e in events if e.sent == "*IDN?")
    assert idn.reply.startswith(b"YOKOGAWA,AQ6370") and idn.reply_len == len(idn.reply)
    assert idn.started > 0 and idn.duration_s >= 0 and not idn.error
    assert any(op == "write" and sent.upper().startswith(":FORM") for op, sent in ops)
    assert OSA_PASSWORD not in everything(events)


def test_a_block_reply_is_reported_with_its_first_bytes_and_full_length(stations):
    events: list[IoEvent] = []
    otdr = MODELS["anritsu-mt9083"].open(stations.resources["AKTAU/otdr"], observer=events.append)
    try:
        from instruments.protocols import OtdrSettings
        otdr.measure(OtdrSettings(range_km=50, averaging_s=1, resolution_m=50))
    finally:
        otdr.close()
    blocks = [e for e in events if e.op == "block"]
    assert blocks and blocks[0].reply_len > 1000 and 0 < len(blocks[0].reply) < blocks[0].reply_len


def test_a_password_line_that_times_out_is_masked_in_the_error(tmp_path):
    """A login whose password line is never answered: the timeout names the line sent, and that
    line is the password; it must not reach the message (or a run's record through it)."""
    events: list[IoEvent] = []
    with silent_listener(reply_first=b"AUTHENTICATE CRAM-MD5.\n") as port:
        with pytest.raises(InstrumentTimeout) as err:
            MODELS["yokogawa-aq6370"].open(f"TCPIP::127.0.0.1::{port}::SOCKET", timeout_s=0.5,
                                           password=OSA_PASSWORD, observer=events.append)
    assert OSA_PASSWORD not in str(err.value) and MASK in str(err.value)
    failed = [e for e in events if e.error]
    assert failed and failed[0].sent == MASK and "InstrumentTimeout" in failed[0].error
    assert OSA_PASSWORD not in everything(events)
