"""Fuzzing the TL1 grammar: every output message, receive buffer, PM line, alarm line and input
command either parses or ends in ProtocolError.

Seeds are responses recorded from the simulated agent (login, RTRV-NETYPE, RTRV-PM-OCH,
RTRV-ALM-ALL with a fibre broken so alarms stand, DENY) and messages generated with the
grammar's own formatters; both are mutated character by character.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz_helpers import DEFAULT_CASES, FUZZ_CASES, expect_only, fuzz_settings, mutated_text
from instruments.errors import ProtocolError
from instruments.sim.span import load_span
from instruments.sim.tl1_agent import Tl1Agent
from instruments.transponder import tl1


def _recorded() -> list[str]:
    """Responses of the simulated agent to the commands the driver sends."""
    span = load_span(faults=[{"type": "break", "fibre": "FP1-F1", "distance_km": 100.0}])
    agent = Tl1Agent(span, "SUMGAIT", "SUMGAIT-TP1", {"OCH-1-1-1": "FP1-F1", "OCH-1-2-1": "FP2-F1"})
    session: dict = {}
    commands = ["ACT-USER:SUMGAIT-TP1:ADMIN:1::ADMIN;", "RTRV-NETYPE:SUMGAIT-TP1::2;",
                "RTRV-PM-OCH:SUMGAIT-TP1:OCH-1-2-1:3::,,,,15-MIN;",
                "RTRV-ALM-ALL:SUMGAIT-TP1::4;", "RTRV-PM-OCH:SUMGAIT-TP1:OCH-9-9-9:5;",
                "ED-OCH:SUMGAIT-TP1:OCH-1-1-1:6::TXPWR=1.0;", "BOGUS;"]
    return [agent.handle(c, session) for c in commands]


RECORDED = _recorded()
PM_LINES = [line for r in RECORDED for line in tl1.parse_message(r[:-1]).lines if ":OPR," in line
            or ":Q," in line]
ALARM_LINES = [line for line in tl1.parse_message(RECORDED[3][:-1]).lines]
COMMANDS = [tl1.format_command("RTRV-PM-OCH", "AKTAU-TP1", "OCH-1-1-1", "7", ",,,,15-MIN"),
            tl1.format_command("ACT-USER", "AKTAU-TP1", "ADMIN", "1", "ADMIN")]

LINE_TEXT = st.text(max_size=40)
GENERATED = st.one_of(
    st.builds(lambda sid, tag, lines: tl1.format_response(sid, tag, lines, when=0),
              LINE_TEXT, LINE_TEXT, st.lists(LINE_TEXT, max_size=4)),
    st.builds(lambda sid, tag, code: tl1.format_response(sid, tag, [], deny=code, when=0),
              LINE_TEXT, LINE_TEXT, LINE_TEXT),
    st.builds(lambda sid, tag, code, lines: tl1.format_autonomous(sid, tag, code, "REPT ALM OCH",
                                                                 lines, when=0),
              LINE_TEXT, LINE_TEXT, st.sampled_from(["*C", "**", "*", "A", ""]),
              st.lists(LINE_TEXT, max_size=3)),
)
MESSAGES = st.one_of(st.sampled_from(RECORDED).flatmap(mutated_text), GENERATED,
                     GENERATED.flatmap(mutated_text), st.text())
"""Whole output messages (terminator included), recorded or generated, mostly mutated."""
STREAMS = st.lists(MESSAGES, min_size=1, max_size=4).map("".join)
PM = st.one_of(st.sampled_from(PM_LINES).flatmap(mutated_text), st.text(max_size=80))
ALARMS = st.one_of(st.sampled_from(ALARM_LINES).flatmap(mutated_text), st.text(max_size=80))
INPUTS = st.one_of(st.sampled_from(COMMANDS).flatmap(mutated_text), st.text(max_size=80))


def parse_stream(stream: str) -> None:
    """What the driver does with its receive buffer: split it, then parse each message and the
    PM and alarm lines it quotes."""
    done = expect_only((ProtocolError,), lambda: tl1.split_messages(stream))
    if done is None:
        return
    messages, rest = done
    assert rest == stream.split(tl1.TERMINATOR)[-1]
    for text in messages:
        message = expect_only((ProtocolError,), lambda: tl1.parse_message(text))
        if message is None:
            continue
        assert message.kind in ("M", "*C", "**", "*", "A")
        for line in message.lines:
            parse_pm(line)
            parse_alarm(line)


def parse_pm(line: str) -> None:
    result = expect_only((ProtocolError,), lambda: tl1.parse_pm_line(line))
    if result is not None:
        assert isinstance(result.value, float) and isinstance(result.index, int)


def parse_alarm(line: str) -> None:
    result = expect_only((ProtocolError,), lambda: tl1.parse_alarm_line(line))
    if result is not None:
        assert all(isinstance(part, str) for part in result)


def parse_input(text: str) -> None:
    command = expect_only((ProtocolError,), lambda: tl1.parse_command(text))
    if command is not None:
        assert command.verb == command.verb.upper()


def test_recorded_seeds_parse():
    """The seeds are real: each recorded response parses, with PM values and alarms in it."""
    kinds = [tl1.parse_message(r[:-1]).completion for r in RECORDED]
    assert kinds == ["COMPLD"] * 4 + ["DENY", "COMPLD", "DENY"]
    assert len(PM_LINES) == 2 and ALARM_LINES
    assert tl1.parse_alarm_line(ALARM_LINES[0])[1] == "LOS"


def test_overlong_buffer_is_a_protocol_error_not_a_memory_blow_up():
    with pytest.raises(ProtocolError, match="overflow"):
        tl1.split_messages("x" * (tl1.MAX_MESSAGE_CHARS + 1))


@given(STREAMS)
@fuzz_settings(DEFAULT_CASES)
def test_response_stream_fuzz(stream):
    parse_stream(stream)


@given(PM)
@example("OCH-1-1-1:Q,nan,PRTL,NEND,RCV,15-MIN,01-01,00-00,0")
@example("OCH-1-1-1:Q,1e999,PRTL,NEND,RCV,15-MIN,01-01,00-00,0")
@fuzz_settings(DEFAULT_CASES)
def test_pm_line_fuzz(line):
    parse_pm(line)


@given(ALARMS)
@example('OCH-1-1-1,OCH:CR,LOS,SA,01-01,00-00-00,NEND,RCV:\\"')
@fuzz_settings(DEFAULT_CASES)
def test_alarm_line_fuzz(line):
    parse_alarm(line)


@given(INPUTS)
@fuzz_settings(DEFAULT_CASES)
def test_input_command_fuzz(text):
    parse_input(text)


@pytest.mark.fuzz
@given(STREAMS)
@fuzz_settings(FUZZ_CASES)
def test_response_stream_fuzz_long(stream):
    parse_stream(stream)


@pytest.mark.fuzz
@given(PM)
@fuzz_settings(FUZZ_CASES)
def test_pm_line_fuzz_long(line):
    parse_pm(line)


@pytest.mark.fuzz
@given(ALARMS)
@fuzz_settings(FUZZ_CASES)
def test_alarm_line_fuzz_long(line):
    parse_alarm(line)


@pytest.mark.fuzz
@given(INPUTS)
@fuzz_settings(FUZZ_CASES)
def test_input_command_fuzz_long(text):
    parse_input(text)
