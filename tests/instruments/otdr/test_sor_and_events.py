"""Both OTDR dialects against their simulators through pyvisa-py: the instrument's own event
table sits at the span's configured events, and the .sor file it hands over (written by the
simulator with harness.sor.writer, checked by the driver with harness.sor.reader) holds the
same trace as the binary block, within the formats' quantisation."""

import numpy as np
import pytest

from harness.recording import ReplayOtdr, ReplaySource
from harness.sor import read_sor
from instruments.errors import InstrumentError
from instruments.otdr.sor_handover import sor_level_db
from instruments.protocols import OtdrSettings
from instruments.registry import MODELS
from instruments.sim.otdr_physics import launch_cord_m

SETTINGS = OtdrSettings(averaging_s=30)
MT9083_FLOOR_DB = -65.535
"""Lowest level the MT9083 trace block can carry (u16 of 0.001 dB): lower levels are clipped."""
BLOCK_STEP_DB = {"anritsu-mt9083": 0.001, "exfo-ftb7000": 0.0}
"""Quantisation of each model's trace block (dB): 0.001 dB integers, or float32."""


@pytest.fixture(params=[("anritsu-mt9083", "AKTAU", "FP2-F1"), ("exfo-ftb7000", "SUMGAIT", "FP1-F2")],
                ids=lambda p: p[0])
def shot(request, stations):
    """(model, station, fibre, trace, events, .sor bytes) of one acquisition."""
    model, station, fibre = request.param
    port = {"FP2-F1": 3, "FP1-F2": 2}[fibre]
    with MODELS[model].open(stations.resources[f"{station}/otdr@{model}"]) as otdr:
        otdr.select_port(port)
        trace = otdr.measure(SETTINGS)
        yield model, station, fibre, trace, otdr.events(), otdr.fetch_sor()


def seen_from(span, station, fibre):
    """(distance m from the OTDR's front panel, loss dB) of the fibre's configured events as
    seen from ``station``: the station's launch cord lies between the OTDR and the ODF."""
    first = station == span.stations[0]
    rows = []
    for e in span.fibre(fibre).events:
        d = e.position_km if first else span.length_km - e.position_km
        rows.append((d * 1000.0 + launch_cord_m(span),
                     e.loss_seen_from(first, SETTINGS.wavelength_nm)))
    return sorted(rows)


def test_event_table_lists_the_configured_events_in_reach(shot, span):
    model, station, fibre, _, events, _ = shot
    truth = seen_from(span, station, fibre)
    *found, end = events
    assert end["type"] == "end" and found
    assert 150e3 < end["distance_m"] < span.length_km * 1000  # reach: ~50 dB of 61 dB
    expected = [(d, loss) for d, loss in truth if d < end["distance_m"]]
    assert len(found) == len(expected)
    for event, (distance, loss) in zip(found, expected):
        assert event["distance_m"] == pytest.approx(distance, abs=0.01)
        assert event["loss_db"] == pytest.approx(loss, abs=0.0015)
    # the station's own ODF connector, at the end of the launch cord, is the first event
    assert found[0]["distance_m"] == launch_cord_m(span) > 0
    assert found[0]["reflectance_db"] < -40


def test_sor_file_holds_the_block_trace_within_quantisation(shot, span):
    model, station, fibre, trace, events, sor = shot
    record = read_sor(sor)
    assert record.checksum_ok
    distance, level = sor_level_db(record)
    assert len(level) == len(trace.level_db)
    np.testing.assert_allclose(distance, trace.distance_m, atol=0.05)
    (_, scale), = record.data.scale_factors
    ok = trace.level_db > MT9083_FLOOR_DB + 0.01  # beyond it the MT9083 block clips
    assert ok.mean() > 0.9
    # SR-4731 keeps loss below a reference level: equal up to one offset, to half a step of
    # the file's scale (plus half a step of the block's own quantisation: the simulator writes
    # the file from the trace it holds, the block carries that trace quantised its own way)
    offset = np.median(level[ok] - trace.level_db[ok])
    tolerance = (scale / 1e6 + BLOCK_STEP_DB[model]) / 2 + 1e-5
    assert np.max(np.abs(level[ok] - trace.level_db[ok] - offset)) <= tolerance
    assert abs(offset) < 1.0
    # acquisition parameters and supplier as the instrument knows them
    assert record.fixed.actual_wavelength_nm == SETTINGS.wavelength_nm
    assert record.fixed.pulse_widths_ns == [int(SETTINGS.pulse_width_ns)]
    assert record.fixed.group_index == pytest.approx(SETTINGS.group_index)
    assert trace.idn.startswith(record.supplier.name + ",")
    assert record.general.fibre_id == fibre and record.general.originating_location == station
    # the file's key events are the instrument's event table
    assert [e.distance_m for e in record.events.events] == pytest.approx(
        [e["distance_m"] for e in events], abs=0.05)


@pytest.mark.parametrize("model", ["anritsu-mt9083", "exfo-ftb7000"])
def test_each_station_serves_the_model_asked_for(stations, model):
    for station in ("AKTAU", "SUMGAIT"):
        with MODELS[model].open(stations.resources[f"{station}/otdr@{model}"]) as otdr:
            assert otdr.identify().split(",")[0] == {"anritsu-mt9083": "ANRITSU",
                                                     "exfo-ftb7000": "EXFO"}[model]


def test_a_replayed_otdr_says_it_cannot_hand_over_a_file():
    otdr = ReplayOtdr(ReplaySource({}), "AKTAU", lambda name, path: None)
    with pytest.raises(InstrumentError, match="ReplayOtdr: this OTDR cannot hand over a .sor file"):
        otdr.fetch_sor()
    with pytest.raises(InstrumentError, match="does not expose its event table"):
        otdr.events()
