"""Helpers for the instrument fault tests (imported by module name: ``tests`` may be shadowed
by a site-packages package of that name, e.g. pyotdr's)."""

from __future__ import annotations

import time
from typing import Callable


class Stopwatch:
    """Wall time (s) of a ``with`` block, printed with a label for the test log."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.elapsed = 0.0

    def __enter__(self) -> "Stopwatch":
        self._t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.monotonic() - self._t0
        print(f"[give-up time] {self.label}: {self.elapsed:.2f} s")


def wait_until(condition: Callable[[], bool], timeout_s: float = 2.0) -> bool:
    """Poll ``condition`` (the simulator handles lines on its own thread) for up to ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
