"""Progress plumbing from the drivers, through pyvisa-py over real TCP sockets: what a listener
(``ScpiDriver.activity`` / ``transfer_progress``) hears while settings are sent, an operation
runs and a block arrives. No timing is asserted: only which events come, in which order, with
which byte counts."""

from __future__ import annotations

import math

import pytest

from instruments.errors import InstrumentTimeout
from instruments.protocols import OsaSettings, OtdrSettings
from instruments.registry import MODELS
from instruments.scpi_driver import Activity

CHUNK = 64 * 1024


def states(events: list[Activity]) -> list[str]:
    """The states heard, repeats of one state run together."""
    out: list[str] = []
    for e in events:
        if not out or out[-1] != e.state:
            out.append(e.state)
    return out


def test_osa_sweep_reports_configuring_sweeping_and_every_block_byte(faulty):
    resource, _ = faulty("osa")
    settings = OsaSettings(points=20001)
    events: list[Activity] = []
    raw: list[tuple[int, int]] = []
    with MODELS["yokogawa-aq6370"].open(resource, chunk_size=CHUNK, time_scale=0.001) as osa:
        osa.activity = events.append
        osa.transfer_progress = lambda done, total: raw.append((done, total))
        spectrum = osa.sweep(settings)
    assert len(spectrum.power_dbm) == settings.points
    assert states(events)[:3] == ["configuring", "idle", "running"]
    assert {e.what for e in events if e.state == "running"} == {"OSA sweep"}
    assert states(events)[-1] == "idle"
    blocks = {}
    for e in events:
        if e.state == "transferring":
            blocks.setdefault(e.what, []).append((e.done, e.total))
    assert set(blocks) == {":TRAC:X? TRA", ":TRAC:Y? TRA"}
    nbytes = 8 * settings.points
    for seen in blocks.values():
        assert seen[0] == (0, nbytes) and seen[-1] == (nbytes, nbytes)
        dones = [d for d, _ in seen]
        assert dones == sorted(dones) and len(seen) == 1 + math.ceil(nbytes / CHUNK)
    # the byte-level hook still hears the same counts as the activity listener
    assert raw == blocks[":TRAC:X? TRA"] + blocks[":TRAC:Y? TRA"]


def test_otdr_averaging_time_left_starts_from_the_settings_then_follows_the_instrument(faulty):
    resource, _ = faulty("otdr")
    settings = OtdrSettings(averaging_s=1000)  # 1 s of wall time at the simulator's 1000x
    events: list[Activity] = []
    with MODELS["anritsu-mt9083"].open(resource, chunk_size=CHUNK) as otdr:
        otdr.activity = events.append
        otdr.select_port(1)
        trace = otdr.measure(settings)
    running = [e for e in events if e.state == "running"]
    assert running[0].what == "OTDR averaging"
    assert running[0].left_s == settings.averaging_s  # before any answer: the settings, real time
    # once the instrument's own count (:SENS:AVER:ELAP?) is in, the time left shrinks to the
    # simulator's pace: far below the real-time estimate
    assert len(running) > 2 and running[-1].left_s < settings.averaging_s / 10
    transfer = [e for e in events if e.state == "transferring"]
    assert transfer[-1].done == transfer[-1].total == 4 + 2 * len(trace.level_db)
    assert events[-1].state == "idle"


def test_operation_given_up_reports_the_abort_then_idle(faulty):
    resource, _ = faulty("otdr", {"fault": "busy"})
    events: list[Activity] = []
    with MODELS["anritsu-mt9083"].open(resource, timeout_s=0.5, time_scale=0.001,
                                       margin_s=0.2) as otdr:
        otdr.activity = events.append
        with pytest.raises(InstrumentTimeout, match="sent :ABOR"):
            otdr.measure(OtdrSettings(averaging_s=30))
    assert states(events)[-3:] == ["running", "aborting", "idle"]
    assert [e.what for e in events if e.state == "aborting"] == [":ABOR"]
    assert not any(e.state == "transferring" for e in events)


def test_no_listener_no_extra_queries(faulty):
    """Without a listener the driver does not ask the instrument for its elapsed time."""
    resource, sim = faulty("otdr")
    with MODELS["anritsu-mt9083"].open(resource) as otdr:
        otdr.measure(OtdrSettings(averaging_s=1000))
        assert sim.received["elapsed"] == 0
        otdr.activity = lambda activity: None
        otdr.measure(OtdrSettings(averaging_s=1000, wavelength_nm=1625))
        assert sim.received["elapsed"] >= 1
