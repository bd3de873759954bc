"""What real traces have, in the simulated ones: launch and receive cables, the front panel, the
true end, short-pulse spikes with the receiver's tail, saturation, ghosts, UPC and APC ODFs.
Shapes are compared with real instruments' files in tests/data/sor, measured the same way."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import pytest

from harness.sor.reader import read_sor
from instruments.protocols import OtdrSettings
from instruments.sim.otdr_physics import Reflector, ghosts, otdr_trace, pulse_length_m
from instruments.sim.otdr_truth import key_events
from instruments.sim.span import SpanFileError, build_span, load_span
REPO = Path(__file__).resolve().parents[3]
SOR = REPO / "tests" / "data" / "sor"
SHORT_SPAN = REPO / "instruments" / "sim" / "spans" / "short_land.yaml"


def short_span(**otdr) -> object:
    """The short land span with ``otdr`` keys changed (``odf`` sets AKTAU's ODF reflectance)."""
    raw = copy.deepcopy(load_span(SHORT_SPAN).raw)
    raw["faults"] = []
    odf = otdr.pop("odf", None)
    if odf is not None:
        raw["connectors"]["reflectance_db"] = {"AKTAU": odf, "SUMGAIT": -63.0}
    bs = otdr.pop("backscatter_1310", None)
    if bs is not None:
        raw["fibre"]["backscatter_db_1ns"][1310] = bs
    raw["otdr"].update(otdr)
    return build_span(raw)


def shoot(span, pulse_ns: float, wavelength: float = 1550.0, resolution: float = 0.25,
          range_km: float = 12.0, station: str = "AKTAU") -> tuple[np.ndarray, np.ndarray]:
    s = OtdrSettings(wavelength_nm=wavelength, pulse_width_ns=pulse_ns, range_km=range_km,
                     resolution_m=resolution, averaging_s=60)
    cord = float(span.raw["otdr"].get("launch_cord_km", 1.0)) * 1000.0
    y = otdr_trace(span, "FP1-F1", station, s, cord)
    return np.arange(len(y)) * resolution, y


def real(name: str) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # several real files' checksums do not match
        record = read_sor(SOR / name)
    return record.data.distance_m, -record.data.level_db


def spike(z: np.ndarray, y: np.ndarray, x0: float, pulse_m: float) -> dict[str, float]:
    """A reflection at ``x0`` (m): peak above the backscatter before it (dB), width where it
    stays 1 dB above that level (m), and how long its top stays within 5 mdB of the peak (m)."""
    dz = float(z[1] - z[0])
    before = float(np.median(y[(z > x0 - 12 * pulse_m - 5) & (z < x0 - 2)]))
    seg = y[int(np.searchsorted(z, x0 - 1)):][: int(300 / dz)]
    above = seg > before + 1.0
    first = int(np.argmax(above))
    last = first
    while last + 1 < len(seg) and above[last + 1]:
        last += 1
    return {"peak_db": float(seg.max() - before), "width_m": (last - first + 1) * dz,
            "flat_m": float(np.sum(np.abs(seg - seg.max()) < 0.005)) * dz}


def tail(z: np.ndarray, y: np.ndarray, x0: float, offsets_m: tuple[float, ...]) -> np.ndarray:
    """Level (dB) ``offsets_m`` after an end at ``x0`` against the backscatter before it."""
    before = float(np.median(y[(z > x0 - 60) & (z < x0 - 5)]))
    return np.array([np.median(y[(z > x0 + o - 1) & (z < x0 + o + 1)]) - before for o in offsets_m])


def test_the_trace_shows_launch_cable_link_receive_cable_and_true_end():
    """Front panel at 0, the near ODF after the 1 km launch cable, the 7.6 km link, the far ODF,
    the 1 km receive cable with backscatter, then the true end: a -29 dB spike and the noise."""
    span = load_span(SHORT_SPAN)
    z, y = shoot(span, 100.0, resolution=0.5, range_km=15.0)
    p = pulse_length_m(100.0, 1.4677)
    level = lambda a, b: float(np.median(y[(z > a) & (z < b)]))  # noqa: E731
    assert y[: int(p / 0.5)].max() > level(100, 900) + 3  # the front panel's reflection
    assert spike(z, y, 1000.0, p)["peak_db"] > 2  # near ODF, UPC
    assert spike(z, y, 8600.0, p)["peak_db"] > 0.3  # far ODF, APC
    assert level(8700, 9500) == pytest.approx(level(7600, 8500) - 0.3 - 0.16, abs=0.1)  # receive cable
    assert spike(z, y, 9600.0, p)["peak_db"] > 8  # the true end
    assert level(10500, 12000) < level(8700, 9500) - 15  # noise after the end
    keys = [(e.kind, e.distance_m) for e in key_events(span, "FP1-F1", "AKTAU", OtdrSettings(
        wavelength_nm=1550, pulse_width_ns=100, range_km=15, resolution_m=0.5), 1000.0)]
    assert keys[0] == ("front panel", 0.0) and keys[1] == ("connector", 1000.0)
    assert ("connector", 8600.0) in keys and ("end", 9600.0) in keys


def test_a_10_ns_connector_has_the_exfo_spike():
    """EXFO MaxTester 730C, 10 ns, 1310 nm, -34.8 dB connector at 150 m (its own event table):
    the simulated connector with the file's backscatter coefficient (-79.4 dB) and sampling
    (0.319 m) has the same peak (17.0 dB) and the same 1-dB width (4.15 m, ~4 pulse lengths)."""
    z, y = real("example2-exfo-maxtester730c.sor")
    p = pulse_length_m(10.0, 1.4677)
    truth = spike(z, y, 150.31, p)
    span = short_span(launch_cord_km=0.15, odf=-34.8, backscatter_1310=-79.4)
    sim = spike(*shoot(span, 10.0, 1310.0, resolution=0.3191), 150.0, p)
    assert sim["peak_db"] == pytest.approx(truth["peak_db"], abs=0.5)
    assert sim["width_m"] == pytest.approx(truth["width_m"], rel=0.25)
    assert 3 * p < sim["width_m"] < 6 * p


def test_a_strong_end_leaves_the_slow_recovery_tail_of_the_exfo_trace():
    """EXFO 10 ns, fibre end at 3739 m reported at -17.2 dB: 5-160 m after it the trace decays
    from +4.9 to -4.4 dB against the backscatter before the end. The simulated end (-17.2 dB,
    same pulse and sampling) follows within 2 dB at every point."""
    offsets = (5.0, 10.0, 25.0, 60.0, 100.0, 160.0)
    z, y = real("example2-exfo-maxtester730c.sor")
    truth = tail(z, y, 3739.23, offsets)
    span = short_span(launch_cord_km=0.15, receive_cord_km=1.0, end_reflectance_db=-17.2,
                      backscatter_1310=-79.4)
    sim = tail(*shoot(span, 10.0, 1310.0, resolution=0.3191), 150.0 + 7600.0 + 1000.0, offsets)
    assert np.abs(sim - truth).max() < 2.0, (sim, truth)
    assert np.all(np.diff(sim) < 0)


def test_saturation_clips_flat_and_holds_after_the_pulse_as_the_noyes_trace():
    """Noyes OFL280, 30 ns: its end is clipped flat for 10.2 m (3.3 pulse lengths), then falls
    ~13 dB within 3 m. A cleaved end (-14 dB) at 30 ns clips flat for 2.5-4 pulse lengths at
    one level; a -52 dB connector is not clipped."""
    z, y = real("example1-noyes-ofl280.sor")
    p = pulse_length_m(30.0, 1.4675)
    assert spike(z, y, 3734.42, p)["flat_m"] == pytest.approx(10.2, abs=0.3)
    span = short_span(launch_cord_km=0.15, receive_cord_km=1.0, end_reflectance_db=-14.0)
    zs, ys = shoot(span, 30.0, resolution=0.2043)
    end = spike(zs, ys, 8750.0, p)
    assert 2.5 * p <= end["flat_m"] <= 4.0 * p
    top = ys[(zs > 8750) & (zs < 8750 + 2 * p)]
    assert np.ptp(top) == 0.0 and ys.max() == top.max()  # clipped at the saturation level
    fall = ys[int(np.searchsorted(zs, 8750 + end["flat_m"] + 3.5))]
    assert fall < top.max() - 10
    assert spike(zs, ys, 150.0, p)["flat_m"] < p  # the -52 dB ODF is below saturation
    s = OtdrSettings(wavelength_nm=1550, pulse_width_ns=30, range_km=12, resolution_m=0.2043)
    flagged = {e.kind: e.saturated for e in key_events(span, "FP1-F1", "AKTAU", s, 150.0)}
    assert flagged["end"] and not flagged["connector"] and not flagged["front panel"]


def test_a_ghost_of_the_end_shows_at_twice_its_distance():
    """A cleaved end (-14 dB) 8.75 km from the port echoes via the front panel (-45 dB) at
    17.5 km, above the noise after the end and listed as a ghost; ``ghosts: false`` removes it."""
    span = short_span(launch_cord_km=0.15, receive_cord_km=1.0, end_reflectance_db=-14.0)
    z, y = shoot(span, 100.0, resolution=0.5, range_km=20.0)
    noise = float(np.median(y[(z > 12000) & (z < 17000)]))
    at = lambda d: float(y[(z > d) & (z < d + 10)].max())  # noqa: E731
    assert at(2 * 8750.0) > noise + 6
    assert at(2 * 8750.0 + 200) < noise + 6
    s = OtdrSettings(wavelength_nm=1550, pulse_width_ns=100, range_km=20, resolution_m=0.5)
    ghosts = [e for e in key_events(span, "FP1-F1", "AKTAU", s, 150.0) if e.ghost]
    assert any(e.distance_m == pytest.approx(17500.0) and "front panel" in e.label for e in ghosts)
    quiet = short_span(launch_cord_km=0.15, receive_cord_km=1.0, end_reflectance_db=-14.0, ghosts=False)
    zq, yq = shoot(quiet, 100.0, resolution=0.5, range_km=20.0)
    assert float(yq[(zq > 17500) & (zq < 17510)].max()) < noise + 6


def test_upc_and_apc_odfs_reflect_as_configured_per_station():
    """AKTAU's ODF is UPC (-52 dB), SUMGAIT's APC (-63 dB): from AKTAU at 100 ns the near spike
    is 10·log10(1 + 10^((R + 82 - 20)/10)) / 2 dB high, the far one likewise."""
    span = load_span(SHORT_SPAN)
    z, y = shoot(span, 100.0, resolution=0.5, range_km=15.0)
    p = pulse_length_m(100.0, 1.4677)
    height = lambda r: 5 * np.log10(1 + 10 ** ((r + 82.0 - 20.0) / 10))  # noqa: E731
    assert spike(z, y, 1000.0, p)["peak_db"] == pytest.approx(height(-52.0), abs=0.15)
    assert spike(z, y, 8600.0, p)["peak_db"] == pytest.approx(height(-63.0), abs=0.15)


@pytest.mark.parametrize("change, message", [
    ({"otdr": {"receiver": {"gain": 3}}}, "otdr.receiver.gain: unknown"),
    ({"otdr": {"receiver": {"tail_fraction": 0.5}}}, "otdr.receiver.tail_fraction"),
    ({"otdr": {"ghosts": "yes"}}, "otdr.ghosts"),
    ({"otdr": {"receive_cord_km": -1}}, "otdr.receive_cord_km"),
    ({"connectors": {"loss_db": 0.3, "reflectance_db": {"AKTAU": -52}}}, "connectors.reflectance_db"),
])
def test_wrong_realism_settings_are_refused_in_one_line(change, message):
    raw = copy.deepcopy(load_span(SHORT_SPAN).raw)
    for section, values in change.items():
        raw[section] = {**raw[section], **values} if section == "otdr" else values
    with pytest.raises(SpanFileError, match=message.replace(".", r"\.")):
        build_span(raw)


def test_ghost_geometry_matches_the_exfo_files_own_ghosts():
    """The EXFO MaxTester 730C file's event table lists three events beyond its end (3739.2 m,
    -17.2 dB) that its instrument treats as echoes: 3912.5, 7327.5 and 7501.8 m. The model's
    three-reflection echoes of its -34.8 dB connector (150.3 m), its end and one reflector
    before the file's 0 m (23.2 m before: the only figure fitted) fall within 1 m of all three."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = read_sor(SOR / "example2-exfo-maxtester730c.sor").events.events
    listed = [e.distance_m for e in table if e.distance_m > 3800.0]
    assert listed == [pytest.approx(3912.54, abs=0.01), pytest.approx(7327.50, abs=0.01),
                      pytest.approx(7501.78, abs=0.01)]
    found = [Reflector(-23.2, -24.0, 0.0, 0.0, "port"), Reflector(150.31, -34.8, 0.05, 0.7, "connector"),
             Reflector(3739.23, -17.2, 2.0, 2.0, "end")]
    echoes = [g.distance_m for g in ghosts(found, -79.4)]
    for d in listed:
        assert min(abs(d - g) for g in echoes) < 1.0, (d, echoes)
