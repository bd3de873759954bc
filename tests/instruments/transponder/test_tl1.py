"""TL1: the grammar, and the driver against the simulated agent on a pty and on a TCP port."""

import time

import pytest

from instruments.errors import InstrumentError, InstrumentTimeout, ProtocolError
from instruments.protocols import HistoryShort
from instruments.registry import MODELS
from instruments.transponder import tl1
from instruments.transponder.tl1_gr831 import Tl1Gr831


def test_command_round_trip():
    text = tl1.format_command("RTRV-PM-OCH", "AKTAU-TP1", "OCH-1-1-1", "7", ",,,,15-MIN")
    cmd = tl1.parse_command(text)
    assert (cmd.verb, cmd.tid, cmd.aid, cmd.ctag) == ("RTRV-PM-OCH", "AKTAU-TP1", "OCH-1-1-1", "7")
    assert cmd.params[-1] == "15-MIN"


def test_response_deny_and_autonomous_messages_parse():
    ok = tl1.parse_message(tl1.format_response("SID", "12", ["A:Q,11.2,PRTL,NEND,RCV,15-MIN,01-01,00-00"])[:-1])
    assert (ok.kind, ok.tag, ok.completion, ok.lines[0][:3]) == ("M", "12", "COMPLD", "A:Q")
    deny = tl1.parse_message(tl1.format_response("SID", "13", [], deny="IIAC")[:-1])
    assert (deny.completion, deny.error_code) == ("DENY", "IIAC")
    auto = tl1.parse_message(tl1.format_autonomous("SID", "99", "*C", "REPT ALM OCH", ["x"])[:-1])
    assert (auto.kind, auto.tag, auto.completion) == ("*C", "99", "REPT ALM OCH")


def test_split_keeps_the_incomplete_rest():
    one = tl1.format_response("S", "1", [])
    done, rest = tl1.split_messages(one + one[:10])
    assert len(done) == 1 and rest == one[:10]


def test_malformed_input_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="IISP"):
        tl1.parse_command("RTRV-PM-OCH")


@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_pm_reading_through_pyserial(stations, lit, transport):
    url = (stations.resources["SUMGAIT/transponder"] if transport == "pty"
           else stations.extra["SUMGAIT/transponder-tcp"])
    card = MODELS["gr831-tl1"].open(url, tid="SUMGAIT-TP1", baud=115200)
    try:
        pm = card.read_pm("OCH-1-1-1")
        with pytest.raises(InstrumentError, match="IIAC"):
            card.read_pm("OCH-9-9-9")
    finally:
        card.close()
    assert 8.0 < pm.values["q_db"] < 14.0
    assert pm.values["cd_ps_nm"] == pytest.approx(21.0 * 380, rel=0.02)
    assert pm.alarms == ()


class ScriptedPort:
    """A serial-port double: records what the driver writes, serves a prepared byte stream."""

    name = "scripted"

    def __init__(self, stream: str) -> None:
        self.stream = stream.encode("ascii")
        self.sent = b""

    @property
    def in_waiting(self) -> int:
        return len(self.stream)

    def write(self, data: bytes) -> int:
        self.sent += data
        return len(data)

    def read(self, count: int) -> bytes:
        data, self.stream = self.stream[:count], self.stream[count:]
        return data

    def close(self) -> None:
        pass


def test_autonomous_alarm_between_responses_is_kept_not_taken_as_reply():
    login = tl1.format_response("TID", "1", [])
    alarm = tl1.format_autonomous("TID", "55", "*C", "REPT ALM OCH", ["OCH-1-1-1:CR,LOS,SA"])
    reply = tl1.format_response("TID", "2", ["OCH-1-1-1:Q,11.0,PRTL,NEND,RCV,15-MIN,01-01,00-00"])
    port = ScriptedPort(login + alarm + reply)
    card = Tl1Gr831(port, tid="TID", timeout_s=1.0)
    assert card.command("RTRV-PM-OCH", "OCH-1-1-1")[0].startswith("OCH-1-1-1:Q,11.0")
    assert [m.tag for m in card.autonomous] == ["55"]
    assert port.sent == b"ACT-USER:TID:ADMIN:1::ADMIN;RTRV-PM-OCH:TID:OCH-1-1-1:2::;"


def test_missing_response_times_out_with_the_verb_and_ctag():
    """A retrieval is retried twice, each time with a new CTAG, then gives up naming both."""
    port = ScriptedPort(tl1.format_response("TID", "1", []))
    card = Tl1Gr831(port, tid="TID", timeout_s=0.3)
    with pytest.raises(InstrumentTimeout, match="RTRV-ALM-ALL gave up after 3 attempts.*"
                                                "no response to RTRV-ALM-ALL \\(CTAG 4\\)"):
        card.alarms()
    assert port.sent.count(b"RTRV-ALM-ALL") == 3


def test_an_edit_is_not_retried():
    port = ScriptedPort(tl1.format_response("TID", "1", []))
    card = Tl1Gr831(port, tid="TID", timeout_s=0.3)
    with pytest.raises(InstrumentTimeout, match="ED-OCH OCH-1-1-1 not retried"):
        card.edit_channel("OCH-1-1-1", TXPWR=1.0)
    assert port.sent.count(b"ED-OCH") == 1


def test_grammar_of_pm_history_lines_and_entity_lines():
    line = tl1.format_pm_line("OCH-1-1-1", "Q", 11.25, index=3)
    pm = tl1.parse_pm_line(line)
    assert (pm.aid, pm.montype, pm.value, pm.validity, pm.index) == ("OCH-1-1-1", "Q", 11.25, "COMPL", 3)
    assert tl1.parse_pm_line(tl1.format_pm_line("A", "Q", 1.0)).validity == "PRTL"
    assert tl1.parse_index("1&&96") == range(1, 97) and tl1.parse_index("") == range(0, 1)
    with pytest.raises(ProtocolError, match="IDNV"):
        tl1.parse_index("5&&2")
    assert tl1.parse_attr_line(tl1.format_attr_line("A", {"PST": "IS", "OPT": "1.00"})) == (
        "A", {"PST": "IS", "OPT": "1.00"})


def test_ed_och_switches_the_laser_the_far_card_sees(stations, span):
    """One shared lit/dark state: AKTAU's ED-OCH PST=IS lights FP1-F1, SUMGAIT's card on it
    then receives light; PST=OOS darkens it again. A wrong state is denied."""
    before = dict(span.in_service)
    aktau = MODELS["gr831-tl1"].open(stations.extra["AKTAU/transponder-tcp"], tid="AKTAU-TP1")
    sumgait = MODELS["gr831-tl1"].open(stations.extra["SUMGAIT/transponder-tcp"], tid="SUMGAIT-TP1")
    try:
        assert aktau.channel_state("OCH-1-1-1").state == "OOS"
        assert sumgait.read_pm("OCH-1-1-1").alarms == ("LOS",)
        assert sumgait.channel_state("OCH-1-1-1").rx_power_dbm <= -40.0
        aktau.set_in_service("OCH-1-1-1", True)
        state = aktau.channel_state("OCH-1-1-1")
        assert (state.state, state.tx_power_dbm) == ("IS", 1.0)
        assert -13.0 < sumgait.channel_state("OCH-1-1-1").rx_power_dbm < -11.0
        assert sumgait.read_pm("OCH-1-1-1").alarms == ()
        with pytest.raises(InstrumentError, match="IDNV"):
            aktau.edit_channel("OCH-1-1-1", PST="ON")
        aktau.set_in_service("OCH-1-1-1", False)
        assert sumgait.read_pm("OCH-1-1-1").alarms == ("LOS",)
    finally:
        span.in_service.clear()
        span.in_service.update(before)
        aktau.close()
        sumgait.close()


def test_pm_history_fills_bin_by_bin_after_the_signal_comes_up(stations, lit):
    card = MODELS["gr831-tl1"].open(stations.extra["SUMGAIT/transponder-tcp"], tid="SUMGAIT-TP1")
    try:
        with pytest.raises(HistoryShort, match=r"holds \d+ complete 15-MIN bins, 500 asked for"):
            card.read_pm_history("OCH-1-1-1", 500)
        deadline = time.monotonic() + 30
        while True:
            try:
                history = card.read_pm_history("OCH-1-1-1", 8)
                break
            except HistoryShort:
                assert time.monotonic() < deadline
                time.sleep(0.02)
    finally:
        card.close()
    assert len(history) == 8
    assert [b.start_s for b in history] == sorted(b.start_s for b in history)
    assert all(b.values["uncorrected_blocks"] == 0 and b.values["errored_seconds"] == 0
               for b in history)
    assert all(8.0 < b.values["q_db"] < 14.0 for b in history)
