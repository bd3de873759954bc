"""Transponder acceptance check: Q margin above the FEC threshold (DOMAIN.md check 9)."""

from __future__ import annotations

import math

import pytest

from harness.analysis.transponder import q_margin_db


@pytest.mark.requirement("ACC-9")
def test_q_margin(received_tp, instruments, fibres, limits, check):
    """Q margin"""
    rx = received_tp
    check.where(station=rx.station, fibre=rx.fibre)
    aid = fibres[rx.fibre].och
    pm = instruments.transponder(rx.station).read_pm(aid)
    threshold = float(limits.parameter("transponder")["fec_threshold_ber"])
    margin = q_margin_db(pm.values["q_db"], threshold)
    detail = f"card {aid} at {rx.station}"
    if pm.alarms:
        detail += f", alarms {', '.join(pm.alarms)}"
    elif not math.isfinite(margin):
        detail += ", Q not reported"
    check.measure("q_margin", margin, "transponder.q_margin", detail=detail)
