"""Operator prompts: answered from a file, by --yes, or refused without a terminal; all recorded."""

import pytest

from harness.errors import ConfigError, HarnessError
from harness.prompts import Operator, load_answers


def operator(tmp_path, yes=False, answers=None):
    log = []
    return Operator("E. Engineer", yes, answers or {}, log.append), log


def test_answers_file_matches_keys_and_globs(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text("'patch:AKTAU:otdr:FP1-F1': yes\n'patch:*': done\n")
    op, log = operator(tmp_path, answers=load_answers(path))
    op.confirm("patch:AKTAU:otdr:FP1-F1", "Patch the OTDR to FP1-F1")
    op.confirm("patch:SUMGAIT:otdr:FP2-F2", "Patch the OTDR to FP2-F2")
    assert [(e["answer"], e["source"], e["by"]) for e in log] == [
        ("yes", "answers file", "E. Engineer"), ("done", "answers file", "E. Engineer")]
    assert log[0]["prompt"] == "Patch the OTDR to FP1-F1" and log[0]["utc"].endswith("+00:00")


def test_yes_answers_everything_and_says_so(tmp_path):
    op, log = operator(tmp_path, yes=True)
    op.confirm("fibres-dark", "Confirm the fibres are out of service")
    assert log[0]["answer"] == "yes" and log[0]["source"] == "--yes"


def test_no_terminal_and_no_answer_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", open("/dev/null"))
    op, log = operator(tmp_path)
    with pytest.raises(HarnessError, match="needs an answer: run with --yes or --answers FILE"):
        op.ask("k", "Question?")
    assert log == []


def test_a_no_stops_the_step_naming_the_prompt(tmp_path):
    op, log = operator(tmp_path, answers={"k": "no"})
    with pytest.raises(HarnessError, match="operator answered 'no' to: Patch it"):
        op.confirm("k", "Patch it")
    assert log[0]["answer"] == "no"


def test_bad_answers_file(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping of prompt key to answer"):
        load_answers(path)
