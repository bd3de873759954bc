"""Operator prompts for the manual steps of a campaign, and the record of every answer.

An answer comes from an answers file (YAML: prompt key or glob → answer), from ``--yes``
(every prompt answered "yes"), or from the engineer at the terminal. Each answer is recorded
in the run with the prompt, who answered, how, and when (UTC).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable

import yaml

from harness.errors import ConfigError, HarnessError

YES = ("y", "yes", "ok", "done", "confirmed")


def load_answers(path: Path | None) -> dict[str, str]:
    """An answers file: a mapping of prompt key (or glob) to answer."""
    if not path:
        return {}
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError:
        raise ConfigError(f"{path}: not valid YAML") from None
    if not isinstance(data, dict) or not all(isinstance(v, (str, bool)) for v in data.values()):
        raise ConfigError(f"{path}: expected a mapping of prompt key to answer")
    return {str(k): ("yes" if v is True else "no" if v is False else v) for k, v in data.items()}


class Operator:
    """Asks the engineer; ``record`` stores each answer (a dict) in the run."""

    def __init__(self, who: str, yes: bool, answers: dict[str, str],
                 record: Callable[[dict[str, Any]], None], capture: Any = None) -> None:
        self.who, self.yes, self.answers, self.record = who, yes, answers, record
        self.capture = capture

    def ask(self, key: str, text: str) -> str:
        """The answer to prompt ``key`` (``text`` is what the engineer reads)."""
        answer, source = None, ""
        for pattern, value in self.answers.items():
            if fnmatch.fnmatchcase(key, pattern):
                answer, source = value, "answers file"
                break
        if answer is None and self.yes:
            answer, source = "yes", "--yes"
        if answer is None:
            if not sys.stdin or not sys.stdin.isatty():
                raise HarnessError(f"operator prompt {key!r} needs an answer: run with --yes "
                                   "or --answers FILE")
            guard = self.capture.global_and_fixture_disabled() if self.capture else nullcontext()
            with guard:
                answer = input(f"\n>>> {text}\n    [yes/no] ").strip()
            source = "terminal"
        self.record({"key": key, "prompt": text, "answer": answer, "by": self.who,
                     "source": source,
                     "utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
        return answer

    def confirm(self, key: str, text: str) -> None:
        """Ask; anything but a yes stops the check (as an error naming the prompt)."""
        answer = self.ask(key, text)
        if answer.strip().lower() not in YES:
            raise HarnessError(f"operator answered {answer!r} to: {text}")
