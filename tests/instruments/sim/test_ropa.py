"""A ROPA in the span: an OTDR event with its unpumped insertion loss (higher at 1550 than at
1625 nm), and in the signal path gain and ASE that the OSA's OSNR, the card's Rx power and Q follow."""

import copy

import numpy as np
import pytest
import yaml

from harness.analysis.osa import find_channels
from instruments.protocols import OsaSettings, OtdrSettings
from instruments.sim.osa_physics import channel_osnr_db, loss_after_ropa_db, osa_spectrum
from instruments.sim.otdr_physics import otdr_trace
from instruments.sim.span import DEFAULT_SPAN, SpanFileError, build_span
from instruments.sim.transponder_physics import pm_values

RAW = yaml.safe_load(DEFAULT_SPAN.read_text())


def span_with(**ropa):
    raw = copy.deepcopy(RAW)
    raw["faults"] = []
    raw["ropa"].update(ropa)
    raw["transponder"]["in_service"] = True  # traffic on, for the cards' PM
    return build_span(raw)


@pytest.fixture(scope="module")
def spans():
    return span_with(enabled=False), span_with(enabled=True)


def test_ropa_is_off_in_the_default_span_and_on_the_fibres_received_at_its_pump_station(spans):
    plain, ropa = spans
    assert all(f.ropa is None for f in plain.fibres.values())
    assert {n for n, f in ropa.fibres.items() if f.ropa} == {f"FP{p}-F1" for p in range(1, 5)}
    sumgait_pumped = span_with(enabled=True, pumped_from="AKTAU", distance_km=60.0)
    assert {n for n, f in sumgait_pumped.fibres.items() if f.ropa} == {f"FP{p}-F2" for p in range(1, 5)}


@pytest.mark.parametrize("wavelength_nm, loss_db", [(1550.0, 1.2), (1625.0, 0.5)])
def test_otdr_sees_the_unpumped_insertion_loss_at_the_ropa(spans, wavelength_nm, loss_db):
    """SUMGAIT's trace with and without the ROPA (same noise draw): equal up to the ROPA at
    80 km, lower by the configured loss beyond it (one-way dB)."""
    plain, ropa = spans
    settings = OtdrSettings(wavelength_nm=wavelength_nm)
    z_km = np.arange(50_000) * settings.resolution_m / 1000.0
    diff = (otdr_trace(plain, "FP1-F1", "SUMGAIT", settings)
            - otdr_trace(ropa, "FP1-F1", "SUMGAIT", settings))
    assert np.median(diff[(z_km > 40) & (z_km < 78)]) == pytest.approx(0.0, abs=0.005)
    assert np.median(diff[(z_km > 85) & (z_km < 140)]) == pytest.approx(loss_db, abs=0.02)
    # the fibre without a ROPA is untouched
    np.testing.assert_array_equal(otdr_trace(plain, "FP1-F2", "SUMGAIT", settings),
                                  otdr_trace(ropa, "FP1-F2", "SUMGAIT", settings))


def test_osa_osnr_and_channel_power_follow_the_ropa(spans):
    """Measured (IEC interpolation) OSNR with the ROPA equals the model, about 9 dB better than
    without; every channel is 12 dB (the gain) stronger."""
    plain, ropa = spans
    measured = {}
    for name, span in (("plain", plain), ("ropa", ropa)):
        channels = find_channels(*osa_spectrum(span, "FP2-F1", OsaSettings()), rbw_nm=0.1)
        measured[name] = channels
    osnr = np.array([c.osnr_db for c in measured["ropa"]])
    model = channel_osnr_db(ropa, "FP2-F1")
    assert len(osnr) == 40 and np.abs(osnr - model).max() < 0.3
    gain = np.mean([c.osnr_db for c in measured["ropa"]]) - np.mean([c.osnr_db for c in measured["plain"]])
    # preamp term +12 dB, ROPA's own ASE 13.1 dB (80 km after it) - 1 dB (NF 6 vs 5) above design
    expected = -10 * np.log10(10 ** (-12 / 10) + 10 ** (-(loss_after_ropa_db(ropa, "FP2-F1") - 1.0) / 10))
    assert gain == pytest.approx(expected, abs=0.3) and 8.5 < gain < 9.5
    power = np.array([c.power_dbm for c in measured["ropa"]]) - np.array([c.power_dbm for c in measured["plain"]])
    assert power.mean() == pytest.approx(12.0, abs=0.1)


def test_transponder_rx_power_and_q_follow_the_ropa(spans):
    plain, ropa = spans
    before, _ = pm_values(plain, "FP3-F1", 0)
    after, _ = pm_values(ropa, "FP3-F1", 0)
    assert after["rx_power_dbm"] - before["rx_power_dbm"] == pytest.approx(12.0, abs=0.2)
    assert after["q_db"] > before["q_db"] + 2.0
    assert after["pre_fec_ber"] < before["pre_fec_ber"] / 100


@pytest.mark.parametrize("ropa, message", [
    ({"pumped_from": "BAKU"}, "ropa.pumped_from: 'BAKU' is not one of"),
    ({"distance_km": 500.0}, "ropa.distance_km: expected a number from 0 to 380"),
    ({"gain_db": "high"}, "ropa.gain_db: expected a number"),
])
def test_a_wrong_ropa_entry_is_one_line_naming_the_field(ropa, message):
    with pytest.raises(SpanFileError, match=message):
        span_with(enabled=True, **ropa)
