"""Judging a measured value against its limits: pass, marginal, fail; and combining verdicts.

A value inside [low, high] passes; inside the pass band but beyond a marginal limit it is
``marginal`` (passes, flagged); outside it fails; a value that could not be measured (NaN)
fails. A check that raised an instrument or analysis error is ``error``, never pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.config import Limit

ORDER = ("pass", "skipped", "marginal", "fail", "error")
"""Verdicts from best to worst; a check's verdict is the worst of its parts."""


def worst(*verdicts: str) -> str:
    """The worst of ``verdicts`` (``pass`` for none)."""
    return max(verdicts, key=ORDER.index, default="pass")


def judge(value: float, limit: Limit) -> str:
    """Verdict of ``value`` against ``limit``."""
    if value is None or not math.isfinite(value):
        return "fail"
    if (not math.isnan(limit.low) and value < limit.low) or (
            not math.isnan(limit.high) and value > limit.high):
        return "fail"
    if (not math.isnan(limit.marginal_low) and value < limit.marginal_low) or (
            not math.isnan(limit.marginal_high) and value > limit.marginal_high):
        return "marginal"
    return "pass"


def margin(value: float, limit: Limit) -> float:
    """Distance to the nearest limit in the measurement's units (negative when failing)."""
    gaps = []
    if not math.isnan(limit.low):
        gaps.append(value - limit.low)
    if not math.isnan(limit.high):
        gaps.append(limit.high - value)
    return min(gaps) if gaps and math.isfinite(value) else float("nan")


@dataclass
class Measurement:
    """One judged measurement of a check."""

    name: str
    value: float
    limit: Limit
    verdict: str
    description: str = ""

    def describe(self) -> str:
        """One line: value, units, limits and verdict."""
        bounds = []
        if not math.isnan(self.limit.low):
            bounds.append(f">= {self.limit.low:g}")
        if not math.isnan(self.limit.high):
            bounds.append(f"<= {self.limit.high:g}")
        value = f"{self.value:.3f}" if math.isfinite(self.value) else "not measured"
        return f"{self.name} = {value} {self.limit.units} ({' and '.join(bounds)}): {self.verdict}"
