"""The recorder a test uses for its check: context, measurements judged against limits, events."""

from __future__ import annotations

import math
from typing import Any

from harness.config import LimitsFile
from harness.verdict import Measurement, judge, worst


class CheckRecorder:
    """What a test uses to record its results; one per check (test item)."""

    def __init__(self, nodeid: str, limits: LimitsFile) -> None:
        self.nodeid = nodeid
        self.limits = limits
        self.measurements: list[Measurement] = []
        self.traces: dict[str, str] = {}
        self.events: dict[str, list[dict]] = {}
        self.context: dict[str, Any] = {"station": "", "fibre": "", "wavelength_nm": math.nan}
        self.messages: list[str] = []

    def where(self, **context: Any) -> None:
        """Say what this check is about: ``station``, ``fibre``, ``wavelength_nm``."""
        self.context.update(context)

    def measure(self, name: str, value: float, limit: str, detail: str = "") -> Measurement:
        """Judge ``value`` against limit ``limit`` of the limits file and record it.

        ``detail`` (e.g. "at 212.3 km from AKTAU") goes into the message when it fails.
        """
        spec = self.limits[limit]
        m = Measurement(name, float(value), spec, judge(float(value), spec), detail)
        self.measurements.append(m)
        if m.verdict in ("fail", "marginal"):
            label = " ".join(str(self.context[k]) for k in ("fibre",) if self.context.get(k))
            self.messages.append(f"{label + ': ' if label else ''}{m.describe()}"
                                 f"{' ' + detail if detail else ''}")
        return m

    def record_events(self, name: str, events: list[dict]) -> None:
        """Attach an event table (dicts with distance_m, loss_db, reflectance_db, type)."""
        self.events[name] = events

    def link(self, name: str, path: str) -> None:
        self.traces[name] = path

    @property
    def verdict(self) -> str:
        return worst(*(m.verdict for m in self.measurements))
