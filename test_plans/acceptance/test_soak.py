"""Stability soak on every received fibre (DOMAIN.md check 10): the card's 15-minute PM bins
over the soak (24 h by default; time-compressed by the simulator) must show no post-FEC
uncorrected block, no errored second, and Q and Rx power drifting no more than the limits."""

from __future__ import annotations

import math
import time

import pytest

from instruments.protocols import HistoryShort, PmBin

BIN_H = 0.25


@pytest.fixture
def soak_bins(received_tp, instruments, fibres, limits, check, traffic) -> list[PmBin]:
    """The soak's bins of the card receiving the fibre, once it holds them all (polled: every
    20 ms at first, at most every ``poll_max_s``); a card under loss of signal ends the wait."""
    rx = received_tp
    check.where(station=rx.station, fibre=rx.fibre)
    p = limits.parameter("soak")
    bins = max(int(round(float(p["duration_h"]) / BIN_H)), 2)
    card, aid = instruments.transponder(rx.station), fibres[rx.fibre].och
    interval, give_up = 0.02, time.monotonic() + float(p["duration_h"]) * 3600.0 * 2.0
    while True:
        try:
            return card.read_pm_history(aid, bins)
        except HistoryShort as short:
            lost = [a.condition for a in card.alarms() if a.aid == aid]
            if lost or time.monotonic() > give_up:
                why = f"alarms {', '.join(lost)}" if lost else "the soak did not end in time"
                raise HistoryShort(f"{short}: {why}") from None
        time.sleep(interval)
        interval = min(interval * 1.5, float(p["poll_max_s"]))


@pytest.mark.soak
@pytest.mark.requirement("ACC-10")
def test_stability_soak(soak_bins, received_tp, fibres, check):
    """Stability soak (15-min PM bins)"""
    def series(name: str) -> list[float]:
        return [b.values[name] for b in soak_bins]

    def drift(name: str) -> float:
        values = series(name)
        return max(values) - min(values) if all(map(math.isfinite, values)) else math.nan

    where = (f"card {fibres[received_tp.fibre].och} at {received_tp.station}, "
             f"{len(soak_bins)} bins ({len(soak_bins) * BIN_H:g} h)")
    worst_bin = max(range(len(soak_bins)), key=lambda i: soak_bins[i].values["uncorrected_blocks"])
    check.measure("uncorrected_blocks", sum(series("uncorrected_blocks")),
                  "soak.uncorrected_blocks", detail=f"{where}; worst bin {worst_bin + 1}")
    check.measure("errored_seconds", sum(series("errored_seconds")), "soak.errored_seconds",
                  detail=where)
    check.measure("q_drift", drift("q_db"), "soak.q_drift", detail=where)
    check.measure("rx_power_drift", drift("rx_power_dbm"), "soak.rx_power_drift", detail=where)
