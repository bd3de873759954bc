"""The reader against the otdrs package (an independent parser) on the real vectors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from harness.sor import SorWarning, read_sor, sor_summary
from harness.sor.record import C_M_PER_S

otdrs = pytest.importorskip("otdrs", reason="otdrs (test extra) is not installed")


def _both(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SorWarning)
        ours = read_sor(path)
    return ours, otdrs.parse_file(str(path))


def test_map_general_supplier_match_otdrs(sor_path):
    ours, ref = _both(sor_path)
    assert ours.format_version == 2
    assert ours.map.revision == ref.map.revision_number
    assert ours.map.block_count == ref.map.block_count
    assert [(b.name, b.revision, b.size) for b in ours.map.blocks] == [
        (b.identifier, b.revision_number, b.size) for b in ref.map.block_info]
    g, rg = ours.general, ref.general_parameters
    assert (g.language, g.cable_id, g.fibre_id, g.fibre_type, g.nominal_wavelength_nm,
            g.originating_location, g.terminating_location, g.cable_code, g.build_condition,
            g.user_offset, g.user_offset_distance, g.operator, g.comment) == (
        rg.language_code, rg.cable_id, rg.fiber_id, rg.fiber_type, rg.nominal_wavelength,
        rg.originating_location, rg.terminating_location, rg.cable_code, rg.current_data_flag,
        rg.user_offset, rg.user_offset_distance, rg.operator, rg.comment)
    s, rs = ours.supplier, ref.supplier_parameters
    assert (s.name, s.mainframe_id, s.mainframe_sn, s.module_id, s.module_sn, s.software_rev,
            s.other) == (rs.supplier_name, rs.otdr_mainframe_id, rs.otdr_mainframe_sn,
                         rs.optical_module_id, rs.optical_module_sn, rs.software_revision,
                         rs.other)


def test_fixed_parameters_match_otdrs(sor_path):
    ours, ref = _both(sor_path)
    f, rf = ours.fixed, ref.fixed_parameters
    pairs = {"date_time": "date_time_stamp", "units": "units_of_distance",
             "actual_wavelength_raw": "actual_wavelength",
             "acquisition_offset": "acquisition_offset",
             "acquisition_offset_distance": "acquisition_offset_distance",
             "pulse_widths_ns": "pulse_widths_used", "data_spacing_raw": "data_spacing",
             "points_per_pulse_width": "n_data_points_for_pulse_widths_used",
             "group_index_raw": "group_index", "backscatter_raw": "backscatter_coefficient",
             "number_of_averages": "number_of_averages", "averaging_time_raw": "averaging_time",
             "acquisition_range": "acquisition_range",
             "acquisition_range_distance": "acquisition_range_distance",
             "front_panel_offset": "front_panel_offset", "noise_floor_level": "noise_floor_level",
             "noise_floor_scale": "noise_floor_scale_factor",
             "power_offset": "power_offset_first_point", "loss_threshold": "loss_threshold",
             "reflectance_threshold": "reflectance_threshold",
             "eof_threshold": "end_of_fibre_threshold", "trace_type": "trace_type"}
    for ours_name, ref_name in pairs.items():
        assert getattr(f, ours_name) == getattr(rf, ref_name), ours_name
    assert f.window == (rf.window_coordinate_1, rf.window_coordinate_2, rf.window_coordinate_3,
                        rf.window_coordinate_4)
    assert f.group_index == rf.group_index / 1e5


def test_events_match_otdrs(sor_path):
    ours, ref = _both(sor_path)
    rk = ref.key_events
    assert len(ours.events.events) == rk.number_of_key_events
    for e, r in zip(ours.events.events, [*rk.key_events, rk.last_key_event]):
        assert (e.number, e.time_of_travel, e.slope_raw, e.loss_raw, e.reflectance_raw, e.code,
                e.technique, e.comment) == (
            r.event_number, r.event_propogation_time, r.attenuation_coefficient_lead_in_fiber,
            r.event_loss, r.event_reflectance, r.event_code, r.loss_measurement_technique,
            r.comment)
        assert e.markers == (r.marker_location_1, r.marker_location_2, r.marker_location_3,
                             r.marker_location_4, r.marker_location_5)
        assert e.loss_db == pytest.approx(r.event_loss / 1000)
        assert e.distance_m == pytest.approx(
            C_M_PER_S * r.event_propogation_time * 1e-10 / (ref.fixed_parameters.group_index / 1e5))
    last = rk.last_key_event
    k = ours.events
    assert (k.end_to_end_loss_raw, k.end_to_end_markers, k.orl_raw, k.orl_markers) == (
        last.end_to_end_loss, (last.end_to_end_marker_position_1,
                               last.end_to_end_marker_position_2),
        last.optical_return_loss, (last.optical_return_loss_marker_position_1,
                                   last.optical_return_loss_marker_position_2))


def test_data_points_and_vendor_blocks_match_otdrs(sor_path):
    ours, ref = _both(sor_path)
    dp = ref.data_points
    assert ours.data.n_points == dp.number_of_data_points
    assert ours.data.scale_factors == [(s.n_points, s.scale_factor) for s in dp.scale_factors]
    raw = np.concatenate([np.asarray(s.data) * (s.scale_factor / 1e6) for s in dp.scale_factors])
    assert ours.data.level_db.dtype == np.float64 and ours.data.distance_m.dtype == np.float64
    np.testing.assert_array_equal(ours.data.level_db, raw)
    assert list(ours.vendor_blocks) == [p.header for p in ref.proprietary_blocks]
    assert [bytes(p.data) for p in ref.proprietary_blocks] == list(ours.vendor_blocks.values())
    assert ours.checksum_stored == ref.checksum.checksum & 0xFFFF


@pytest.mark.parametrize("key,wl,pulses,n,nev,supplier", [
    ("noyes", 1550.0, [30], 30000, 3, "Noyes"), ("exfo", 1312.9, [10], 31343, 6, " ")])
def test_known_values(vectors, key, wl, pulses, n, nev, supplier):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SorWarning)
        rec = read_sor(vectors[key])
    assert rec.fixed.actual_wavelength_nm == pytest.approx(wl)
    assert rec.fixed.pulse_widths_ns == pulses
    assert rec.data.n_points == n == rec.data.level_db.size == rec.data.distance_m.size
    assert len(rec.events.events) == nev
    assert rec.supplier.name == supplier


def test_sample_spacing_is_data_spacing_times_1e_14(sor_path):
    """Data spacing is the time of 10 000 points in 100 ps: n points span the acquisition range
    (to 0.1 %: the EXFO file holds 10 points more than its range)."""
    rec, _ = _both(sor_path)
    f = rec.fixed
    assert f.sample_spacing_s == f.data_spacing_raw[0] * 1e-14
    span_s = rec.data.n_points * f.sample_spacing_s
    assert span_s == pytest.approx(f.acquisition_range * 1e-10, rel=1e-3)
    step = np.diff(rec.data.distance_m)
    assert np.allclose(step, f.sample_spacing_m)
    assert f.sample_spacing_m == pytest.approx(C_M_PER_S * f.sample_spacing_s / f.group_index)


def test_reflective_events_sit_on_trace_spikes(sor_path):
    """Events and trace share the user-offset origin: each reflective event with a strong
    reflectance starts a spike (a dip in SOR's loss convention) within a few samples."""
    rec, _ = _both(sor_path)
    d, lv = rec.data.distance_m, rec.data.level_db
    strong = [e for e in rec.events.events if e.reflectance_db and e.reflectance_db > -50]
    assert strong
    for e in strong:
        i = int(np.searchsorted(d, e.distance_m))
        before = np.median(lv[max(i - 60, 0):max(i - 10, 1)])
        assert lv[i:i + 12].min() < before - 3.0, (e.number, e.distance_m)


def test_checksums(sor_path):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        rec = read_sor(sor_path)
    cksum_warnings = [w for w in seen if issubclass(w.category, SorWarning)]
    if "noyes" in sor_path.name:  # Noyes: CRC over every byte before the value, name included
        assert rec.checksum_ok and rec.checksum_computed == rec.checksum_stored == 0x9FCA
        assert not cksum_warnings
    else:  # EXFO: matches no CRC variant we know
        assert rec.checksum_ok is False and rec.checksum_stored == 0xC147
        assert len(cksum_warnings) == 1 and "Cksum" in str(cksum_warnings[0].message)


def test_summary_is_json_ready(sor_path):
    import json
    rec, _ = _both(sor_path)
    s = json.loads(json.dumps(sor_summary(rec)))
    for key in ("wavelength_nm", "pulse_widths_ns", "group_index", "sample_spacing_m",
                "n_points", "supplier", "events", "checksum_ok"):
        assert key in s
    assert s["n_points"] == rec.data.n_points
    assert len(s["events"]) == len(rec.events.events)
    assert set(s["events"][0]) >= {"distance_m", "loss_db", "reflectance_db", "code"}
    assert s["supplier"]["module_id"] == rec.supplier.module_id.strip()
