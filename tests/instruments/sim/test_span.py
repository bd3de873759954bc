import pytest

from instruments.sim.span import SpanFileError, load_span


def test_default_span_is_the_aktau_sumgait_route(span):
    assert span.stations == ["AKTAU", "SUMGAIT"] and span.length_km == 380.0
    assert len(span.fibres) == 8
    fibre = span.fibre("FP1-F1")
    splices = [e for e in fibre.events if e.kind == "splice"]
    gaps = [b.position_km - a.position_km for a, b in zip(splices, splices[1:])]
    assert all(25.0 <= g <= 50.0 for g in gaps)
    assert all(0.02 <= e.loss_db[1550.0] <= 0.08 for e in splices)


def test_same_seed_same_span_other_seed_other_span():
    a, b, c = load_span(), load_span(), load_span(seed=7)
    assert a.fibre("FP3-F2").events == b.fibre("FP3-F2").events
    assert a.fibre("FP3-F2").events != c.fibre("FP3-F2").events


@pytest.mark.parametrize("fault,message", [
    ({"type": "flood", "fibre": "FP1-F1"}, "faults\\[0\\].type"),
    ({"type": "break", "fibre": "FP9-F1", "distance_km": 10}, "faults\\[0\\].fibre"),
    ({"type": "break", "fibre": "FP1-F1", "distance_km": 400}, "not inside the 380.0 km span"),
])
def test_bad_faults_name_the_field(fault, message):
    with pytest.raises(SpanFileError, match=message):
        load_span(faults=[fault])
