"""Binary layout of SR-4731 blocks, shared by the reader and the writer (little-endian).

Field specs list ``(attribute, kind)``: ``"z"`` a NUL-terminated string, ``"2s"`` two fixed
characters, otherwise a :mod:`struct` code. Signedness follows the otdrs parser, so values any
real file holds survive a read and a write unchanged.
"""

from __future__ import annotations

import struct

import anycrc

MAP_HEAD = struct.Struct("<HIH")  # revision, map size (bytes), block count (Map included)
MAP_ENTRY = struct.Struct("<HI")  # after the entry's name: revision, block size (bytes)

GEN_V2 = (("language", "2s"), ("cable_id", "z"), ("fibre_id", "z"), ("fibre_type", "H"),
          ("nominal_wavelength_nm", "H"), ("originating_location", "z"),
          ("terminating_location", "z"), ("cable_code", "z"), ("build_condition", "2s"),
          ("user_offset", "i"), ("user_offset_distance", "i"), ("operator", "z"),
          ("comment", "z"))
GEN_V1 = tuple(f for f in GEN_V2 if f[0] not in ("fibre_type", "user_offset_distance"))
SUP = tuple((name, "z") for name in ("name", "mainframe_id", "mainframe_sn", "module_id",
                                     "module_sn", "software_rev", "other"))

# FxdParams: head, then per pulse width three arrays (H widths, I spacings, I point counts), tail
FXD_HEAD_V2 = struct.Struct("<I2sHiiH")
FXD_HEAD_V2_FIELDS = ("date_time", "units", "actual_wavelength_raw", "acquisition_offset",
                      "acquisition_offset_distance")
FXD_TAIL_V2 = struct.Struct("<IHIHIiiHhHHHH2s4i")
FXD_TAIL_V2_FIELDS = ("group_index_raw", "backscatter_raw", "number_of_averages",
                      "averaging_time_raw", "acquisition_range", "acquisition_range_distance",
                      "front_panel_offset", "noise_floor_level", "noise_floor_scale",
                      "power_offset", "loss_threshold", "reflectance_threshold",
                      "eof_threshold", "trace_type")  # then the 4 window coordinates
FXD_HEAD_V1 = struct.Struct("<I2sHiH")
FXD_HEAD_V1_FIELDS = ("date_time", "units", "actual_wavelength_raw", "acquisition_offset")
FXD_TAIL_V1 = struct.Struct("<IHIIiHhHHHH")
FXD_TAIL_V1_FIELDS = ("group_index_raw", "backscatter_raw", "number_of_averages",
                      "acquisition_range", "front_panel_offset", "noise_floor_level",
                      "noise_floor_scale", "power_offset", "loss_threshold",
                      "reflectance_threshold", "eof_threshold")

# KeyEvents: count (H); per event the struct then a comment string; then the summary
# number, time, slope, loss, reflectance, code, method, then (revision 2) 5 markers
EVENT_V2 = struct.Struct("<Hihhi6s2s5i")
EVENT_V1 = struct.Struct("<Hihhi6s2s")
EVENTS_SUMMARY = struct.Struct("<iiiHii")  # e2e loss, 2 markers, ORL, 2 markers

DATA_HEAD = struct.Struct("<IH")  # number of points, number of scale factors
DATA_SEGMENT = struct.Struct("<IH")  # points with this scale factor, scale factor * 1000
U16 = struct.Struct("<H")
SCALARS = {code: struct.Struct("<" + code) for code in ("H", "h", "i", "I", "2s")}


_CRC16 = anycrc.Model("CRC16-IBM-3740")
"""CRC-16/CCITT-FALSE, a.k.a. CRC-16/IBM-3740: the same CRC as ``binascii.crc_hqx(data, 0xFFFF)``
(a byte-at-a-time table, ~2.5 ns/byte) computed word-wise in C, ~20 times faster: the CRC was
two thirds of a parse (bench/bench_sor.py)."""


def crc16(data: bytes | memoryview, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR); pass a
    previous result as ``crc`` to continue over more bytes."""
    return _CRC16.calc(data, crc)
