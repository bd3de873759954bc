"""Transponder acceptance checks on every received fibre: Q margin, DGD, chromatic dispersion
(DOMAIN.md checks 6, 7 and 9)."""

from __future__ import annotations

import math

import pytest

from harness.analysis.transponder import q_margin_db


@pytest.fixture
def pm(received_tp, instruments, fibres, check, traffic):
    """The current PM bin of the card receiving the fibre, and a description of the card."""
    rx = received_tp
    check.where(station=rx.station, fibre=rx.fibre)
    aid = fibres[rx.fibre].och
    reading = instruments.transponder(rx.station).read_pm(aid)
    detail = f"card {aid} at {rx.station}"
    if reading.alarms:
        detail += f", alarms {', '.join(reading.alarms)}"
    return reading, detail


@pytest.mark.requirement("ACC-9")
def test_q_margin(pm, limits, check):
    """Q margin"""
    reading, detail = pm
    threshold = float(limits.parameter("transponder")["fec_threshold_ber"])
    margin = q_margin_db(reading.values["q_db"], threshold)
    if not math.isfinite(margin) and not reading.alarms:
        detail += ", Q not reported"
    check.measure("q_margin", margin, "transponder.q_margin", detail=detail)


@pytest.mark.requirement("ACC-6")
def test_dgd(pm, check):
    """Differential group delay"""
    reading, detail = pm
    check.measure("dgd", reading.values["dgd_ps"], "transponder.dgd", detail=detail)


@pytest.mark.requirement("ACC-7")
def test_chromatic_dispersion(pm, station, limits, check):
    """Chromatic dispersion against the span"""
    reading, detail = pm
    coefficient = float(limits.parameter("transponder")["dispersion_ps_nm_km"])
    expected = coefficient * station.route_length_km
    deviation = abs(reading.values["cd_ps_nm"] / expected - 1.0) * 100.0
    check.measure("cd_deviation", deviation, "transponder.cd_deviation",
                  detail=f"{detail}: {reading.values['cd_ps_nm']:.0f} ps/nm against {expected:.0f}")
