"""The default span file and the error a wrong one raises, in a module that imports nothing
heavy (the ``harness`` command line names both at start-up; :mod:`instruments.sim.span` loads)."""

from __future__ import annotations

from pathlib import Path

DEFAULT_SPAN = Path(__file__).with_name("spans") / "aktau_sumgait.yaml"


class SpanFileError(ValueError):
    """A span file (or a fault given on the command line) is wrong; the message names the field."""
