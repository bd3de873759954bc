"""Writer: round trips of the real vectors, CRC, files built from synthetic traces, revision 1."""

from __future__ import annotations

import binascii
import dataclasses
import struct
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.sor import (SorError, SorWarning, SupParams, read_sor, record_from_trace, save_sor,
                         write_sor)
from harness.sor.layout import crc16


def _quiet_read(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SorWarning)
        return read_sor(data)


def _clean_read(data):
    """Read, failing on any SorWarning (a written file must verify)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SorWarning)
        return read_sor(data)


def _no_checksum(rec):
    return dataclasses.replace(rec, checksum_stored=None, checksum_computed=None,
                               checksum_ok=None)


def test_crc_catalogue_value():
    assert crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE check value


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(data=st.binary(max_size=3000), cut=st.integers(0, 3000))
def test_crc_equals_crc_hqx_and_continues(data, cut):
    """The fast CRC is binascii.crc_hqx's CRC (CCITT, init 0xFFFF), continued over a split."""
    assert crc16(data) == binascii.crc_hqx(data, 0xFFFF)
    assert crc16(memoryview(data)[cut:], crc16(data[:cut])) == crc16(data)


def test_real_files_round_trip_byte_for_byte(sor_path):
    original = sor_path.read_bytes()
    rec = _quiet_read(original)
    written = write_sor(rec)
    assert written[:-2] == original[:-2]  # everything but the Cksum value
    assert struct.unpack("<H", written[-2:])[0] == crc16(written[:-2])
    if "noyes" in sor_path.name:
        assert written == original  # its stored CRC was right


def test_real_files_read_write_read_keeps_every_field(sor_path):
    rec = _quiet_read(sor_path)
    again = _clean_read(write_sor(rec))
    assert _no_checksum(again) == _no_checksum(rec)
    assert again.checksum_ok is True
    assert list(again.vendor_blocks) == list(rec.vendor_blocks)
    for name, body in rec.vendor_blocks.items():
        assert again.vendor_blocks[name] == body
    for a, b in zip(again.events.events, rec.events.events):
        assert a.distance_m == b.distance_m


def test_save_sor_then_read_path(sor_path, tmp_path):
    rec = _quiet_read(sor_path)
    out = tmp_path / "copy.sor"
    save_sor(rec, out)
    assert _no_checksum(_clean_read(out)) == _no_checksum(rec)


def test_pyotdr_agrees_with_the_written_checksum(sor_path, tmp_path):
    pyotdr = pytest.importorskip("pyotdr", reason="pyotdr (bench extra) is not installed")
    import logging
    logging.getLogger("pyotdr").setLevel(logging.CRITICAL)
    out = tmp_path / "copy.sor"
    save_sor(_quiet_read(sor_path), out)
    status, results, _ = pyotdr.sorparse(str(out))
    assert status == "ok" and results["Cksum"]["match"] is True


def _synthetic(n=20000, step=2.5, deep=False):
    rng = np.random.default_rng(7)
    d = 100.0 + np.arange(n) * step
    level = -3.0 - 0.2 * (d - d[0]) / 1000.0 + rng.normal(0, 0.01, n)
    level[d >= 12_000.0] -= 0.35
    level[d >= 30_000.0] -= 0.8
    if deep:
        level[d >= 45_000.0] -= 70.0  # below 65.535 dB: needs a scale factor > 1000
    events = [{"distance_m": 12_000.0, "loss_db": 0.35, "reflectance_db": None, "code": "0F9999"},
              {"distance_m": 30_000.0, "loss_db": 0.8, "reflectance_db": -45.5,
               "code": "reflective"},
              {"distance_m": 45_000.0, "loss_db": 0.0, "reflectance_db": -14.2, "code": "end"}]
    return d, level, events


def _from_trace(d, level, events):
    return record_from_trace(d, level, wavelength_nm=1550.12, pulse_width_ns=1000,
                             group_index=1.4682, averaging_s=60.0, events=events,
                             supplier=SupParams(name="Caspian", module_id="MT9083",
                                                software_rev="1.0"),
                             end_to_end_loss_db=10.2, orl_db=33.1, date_time=1_700_000_000)


def test_written_trace_reads_back(tmp_path):
    d, level, events = _synthetic()
    rec = _from_trace(d, level, events)
    np.testing.assert_allclose(rec.data.distance_m, d, atol=0.03)
    np.testing.assert_allclose(rec.data.level_db, -level, atol=0.0005 + 1e-12)
    got = [(round(e.distance_m, 1), e.loss_db, e.reflectance_db, e.code)
           for e in rec.events.events]
    assert got == [(12000.0, 0.35, None, "0F9999"), (30000.0, 0.8, -45.5, "1F9999"),
                   (45000.0, 0.0, -14.2, "1E9999")]
    assert rec.fixed.actual_wavelength_nm == pytest.approx(1550.1)
    assert rec.fixed.averaging_time_raw == 600 and rec.checksum_ok


def test_written_trace_is_read_by_otdrs():
    otdrs = pytest.importorskip("otdrs", reason="otdrs (test extra) is not installed")
    d, level, events = _synthetic()
    data = write_sor(_from_trace(d, level, events))
    ref = otdrs.parse_bytes(data)
    f = ref.fixed_parameters
    assert (f.actual_wavelength, f.pulse_widths_used, f.group_index, f.units_of_distance) == (
        15501, [1000], 146820, "mt")
    assert f.n_data_points_for_pulse_widths_used == [d.size]
    spacing_m = 299_792_458.0 * f.data_spacing[0] * 1e-14 / 1.4682
    assert spacing_m == pytest.approx(2.5, rel=1e-6)
    assert ref.supplier_parameters.supplier_name == "Caspian"
    assert ref.supplier_parameters.optical_module_id == "MT9083"
    dp = ref.data_points
    assert dp.number_of_data_points == d.size and dp.scale_factors[0].scale_factor == 1000
    np.testing.assert_array_equal(np.asarray(dp.scale_factors[0].data),
                                  np.rint(-level * 1000).astype(int))
    ke = ref.key_events
    evs = [*ke.key_events, ke.last_key_event]
    assert [e.event_loss for e in evs] == [350, 800, 0]
    assert [e.event_reflectance for e in evs] == [0, -45500, -14200]
    assert [e.event_code for e in evs] == ["0F9999", "1F9999", "1E9999"]
    times = np.array([e.event_propogation_time for e in evs]) * 1e-10
    np.testing.assert_allclose(299_792_458.0 * times / 1.4682, [12000, 30000, 45000], atol=0.02)
    assert (ke.last_key_event.end_to_end_loss, ke.last_key_event.optical_return_loss) == (
        10200, 33100)


def test_deep_trace_uses_a_larger_scale_factor():
    d, level, events = _synthetic(deep=True)
    rec = _from_trace(d, level, events)
    (count, scale), = rec.data.scale_factors
    assert count == d.size and scale > 1000
    np.testing.assert_allclose(rec.data.level_db, -level, atol=scale / 2e6 + 1e-9)


def test_written_crc_verifies():
    data = write_sor(_from_trace(*_synthetic()))
    assert data[-8:-2] == b"Cksum\0"
    assert struct.unpack("<H", data[-2:])[0] == crc16(data[:-2])
    corrupted = bytearray(data)
    corrupted[-100] ^= 0x01  # a data point
    with pytest.warns(SorWarning, match="Cksum"):
        assert read_sor(bytes(corrupted)).checksum_ok is False


@pytest.mark.parametrize("change,match", [
    (lambda r: setattr(r.general, "operator", "Ильхам"), "not Latin-1"),
    (lambda r: setattr(r.general, "language", "ENG"), "longer than 2"),
    (lambda r: setattr(r.events.events[0], "loss_raw", 40_000), "KeyEvents"),
    (lambda r: setattr(r.fixed, "pulse_widths_ns", [10, 100]), "FxdParams"),
    (lambda r: r.vendor_blocks.update({"DataPts": b"x"}), "DataPts"),
    (lambda r: setattr(r.data, "level_db", r.data.level_db[:-1]), "DataPts"),
])
def test_writer_refuses_records_that_do_not_fit(change, match):
    rec = _from_trace(*_synthetic())
    change(rec)
    with pytest.raises(SorError, match=match):
        write_sor(rec)


def test_record_from_trace_refuses_bad_input():
    d, level, events = _synthetic()
    with pytest.raises(SorError, match="evenly spaced"):
        _from_trace(np.r_[d[:-1], d[-1] + 5.0], level, events)
    with pytest.raises(SorError, match="distance_m"):
        _from_trace(d, level, [{"loss_db": 0.1}])


def test_revision_1_file(sor_path, to_revision1):
    rec = _quiet_read(sor_path)
    v1 = _clean_read(to_revision1(rec))
    assert v1.format_version == 1 and v1.map.revision == 100
    assert v1.supplier == rec.supplier
    g = dataclasses.replace(rec.general, fibre_type=652, user_offset_distance=0)
    assert dataclasses.replace(v1.general, fibre_type=652) == g
    f = rec.fixed
    assert (v1.fixed.actual_wavelength_raw, v1.fixed.pulse_widths_ns, v1.fixed.group_index_raw,
            v1.fixed.data_spacing_raw) == (f.actual_wavelength_raw, f.pulse_widths_ns,
                                           f.group_index_raw, f.data_spacing_raw)
    assert [(e.time_of_travel, e.loss_raw, e.reflectance_raw, e.code) for e in v1.events.events] \
        == [(e.time_of_travel, e.loss_raw, e.reflectance_raw, e.code) for e in rec.events.events]
    assert v1.data == rec.data
    assert v1.vendor_blocks == rec.vendor_blocks
    again = _clean_read(write_sor(v1))  # written back as revision 2
    assert again.format_version == 2 and again.data == rec.data


def test_several_scale_factors_and_block_extra_round_trip():
    d, level, events = _synthetic()
    rec = _from_trace(d, level, events)
    rec.data.scale_factors = [(5000, 1000), (d.size - 5000, 2000)]
    rec.block_extra["SupParams"] = b"\x01\x02vendor tail"
    again = _clean_read(write_sor(rec))
    assert again.data.scale_factors == rec.data.scale_factors
    assert again.block_extra == {"SupParams": b"\x01\x02vendor tail"}
    assert again.supplier == rec.supplier
    np.testing.assert_allclose(again.data.level_db[:5000], -level[:5000], atol=0.0005 + 1e-12)
    # quantised twice: 1 mdB steps when built, then 2 mdB steps
    np.testing.assert_allclose(again.data.level_db[5000:], -level[5000:], atol=0.0015 + 1e-12)
    assert write_sor(again) == write_sor(_clean_read(write_sor(again)))
