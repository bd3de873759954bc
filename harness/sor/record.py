"""Typed contents of a Telcordia SR-4731 (.sor) file.

Integer fields keep the file's raw value and unit (named ``*_raw`` where the unit is not
obvious); properties give physical units. Times are one-way, in 100 ps units, as SR-4731 stores
them. Distances (``distance_m``) share one origin: the user offset (GenParams), which is the
origin SR-4731 uses for event times, so events sit on the trace axis. Strings are decoded as
Latin-1 (byte for byte) and kept verbatim, trailing spaces included.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

C_M_PER_S = 299_792_458.0
DEFAULT_GROUP_INDEX = 1.468
"""Used when a file's group index is 0 (SR-4731's default, 146800)."""
STANDARD_BLOCKS = ("GenParams", "SupParams", "FxdParams", "KeyEvents", "DataPts")


def time_to_distance_m(time_100ps: float, group_index: float) -> float:
    """One-way time (100 ps units) to distance (m): d = c * t / n."""
    return C_M_PER_S * time_100ps * 1e-10 / group_index


def distance_to_time(distance_m: float, group_index: float) -> int:
    """Distance (m) to one-way time in 100 ps units, rounded to the nearest unit."""
    return int(round(distance_m * group_index / C_M_PER_S / 1e-10))


@dataclass
class MapEntry:
    """One Map entry: block name, revision (e.g. 200 = 2.00) and size in bytes."""

    name: str
    revision: int
    size: int


@dataclass
class SorMap:
    """The Map block: file revision (200 = 2.00), declared block count (the Map included) and
    the other blocks in file order."""

    revision: int
    block_count: int
    blocks: list[MapEntry]


@dataclass
class GenParams:
    """General parameters. ``user_offset`` in 100 ps from the front panel (the launch lead);
    ``user_offset_distance`` raw (vendors differ: Noyes writes metres)."""

    language: str = "EN"
    cable_id: str = ""
    fibre_id: str = ""
    fibre_type: int = 652
    nominal_wavelength_nm: int = 1550
    originating_location: str = ""
    terminating_location: str = ""
    cable_code: str = ""
    build_condition: str = "BC"
    user_offset: int = 0
    user_offset_distance: int = 0
    operator: str = ""
    comment: str = ""


@dataclass
class SupParams:
    """Supplier parameters: who made the OTDR, which unit, which software."""

    name: str = ""
    mainframe_id: str = ""
    mainframe_sn: str = ""
    module_id: str = ""
    module_sn: str = ""
    software_rev: str = ""
    other: str = ""


@dataclass
class FxdParams:
    """Fixed parameters, raw. Times in 100 ps; ``data_spacing_raw`` is the time for 10 000
    points in 100 ps units (seconds per point = raw * 1e-14); ``group_index_raw`` = n * 1e5;
    ``backscatter_raw`` = -dB * 10 (1 ns reference); thresholds in dB * 1000;
    ``averaging_time_raw`` kept raw: SR-4731 says 0.1 s, vendors disagree."""

    date_time: int = 0
    units: str = "mt"
    actual_wavelength_raw: int = 15500
    acquisition_offset: int = 0
    acquisition_offset_distance: int = 0
    pulse_widths_ns: list[int] = field(default_factory=list)
    data_spacing_raw: list[int] = field(default_factory=list)
    points_per_pulse_width: list[int] = field(default_factory=list)
    group_index_raw: int = 146800
    backscatter_raw: int = 0
    number_of_averages: int = 0
    averaging_time_raw: int = 0
    acquisition_range: int = 0
    acquisition_range_distance: int = 0
    front_panel_offset: int = 0
    noise_floor_level: int = 0
    noise_floor_scale: int = 1000
    power_offset: int = 0
    loss_threshold: int = 200
    reflectance_threshold: int = 55000
    eof_threshold: int = 3000
    trace_type: str = "ST"
    window: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def actual_wavelength_nm(self) -> float:
        """Wavelength (nm). SR-4731 stores 0.1 nm; some vendors (Noyes) write whole nm."""
        raw = self.actual_wavelength_raw
        return float(raw) if 600 <= raw <= 2000 else raw / 10.0

    @property
    def group_index(self) -> float:
        """Group index n (``DEFAULT_GROUP_INDEX`` when the file says 0)."""
        return self.group_index_raw / 1e5 if self.group_index_raw > 0 else DEFAULT_GROUP_INDEX

    @property
    def sample_spacing_s(self) -> float:
        """Time between data points (s, one-way), from the first pulse width's data spacing."""
        return self.data_spacing_raw[0] * 1e-14 if self.data_spacing_raw else 0.0

    @property
    def sample_spacing_m(self) -> float:
        """Distance between data points (m)."""
        return C_M_PER_S * self.sample_spacing_s / self.group_index

    @property
    def backscatter_db(self) -> float:
        """Backscatter coefficient (dB, 1 ns reference)."""
        return -self.backscatter_raw / 10.0


@dataclass
class KeyEvent:
    """One key event. ``time_of_travel`` in 100 ps from the user offset; ``slope_raw`` dB/km *
    1000 (lead-in fibre); ``loss_raw`` and ``reflectance_raw`` dB * 1000; ``code`` 6 chars
    (1st: 0 non-reflective, 1 reflective, 2 saturated; 2nd: F found, E end, A added, M moved);
    ``technique`` "LS"/"2P"/"OT"; ``markers`` 5 times in 100 ps (revision 2 only);
    ``distance_m`` derived from the time and the group index (not written)."""

    number: int
    time_of_travel: int
    slope_raw: int = 0
    loss_raw: int = 0
    reflectance_raw: int = 0
    code: str = "0F9999"
    technique: str = "LS"
    markers: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    comment: str = ""
    distance_m: float = field(default=math.nan, compare=False)

    @property
    def loss_db(self) -> float:
        """Event (splice) loss (dB); negative for a gainer."""
        return self.loss_raw / 1000.0

    @property
    def reflectance_db(self) -> float | None:
        """Reflectance (dB, negative); None for a non-reflective event or none recorded."""
        if self.code[:1] == "0" or self.reflectance_raw == 0:
            return None
        return self.reflectance_raw / 1000.0

    @property
    def slope_db_per_km(self) -> float:
        """Attenuation of the fibre leading into the event (dB/km)."""
        return self.slope_raw / 1000.0


@dataclass
class KeyEvents:
    """Key events and the summary after the last one: end-to-end loss and optical return loss
    (dB * 1000) with their two marker times each (100 ps)."""

    events: list[KeyEvent] = field(default_factory=list)
    end_to_end_loss_raw: int = 0
    end_to_end_markers: tuple[int, int] = (0, 0)
    orl_raw: int = 0
    orl_markers: tuple[int, int] = (0, 0)

    @property
    def end_to_end_loss_db(self) -> float:
        """End-to-end loss between its markers (dB)."""
        return self.end_to_end_loss_raw / 1000.0

    @property
    def orl_db(self) -> float:
        """Optical return loss between its markers (dB)."""
        return self.orl_raw / 1000.0


class DataPts:
    """Trace samples. ``n_points`` as declared; ``scale_factors`` (count, scale * 1000) per
    segment; ``level_db`` float64 dB of loss in SOR's convention (larger = lower power) =
    raw * scale / 1e6; ``distance_m`` float64 from the user offset.

    A record read from a file holds the raw 16-bit samples as views into the file's bytes and
    makes both arrays when either is first used (then keeps them), as otdrs keeps its points
    native until asked: reading a file costs about the same for 1 000 or 1 000 000 points."""

    __slots__ = ("n_points", "scale_factors", "_distance", "_level", "_raws", "_axis")

    def __init__(self, n_points: int, scale_factors: list[tuple[int, int]],
                 distance_m: np.ndarray, level_db: np.ndarray) -> None:
        self.n_points, self.scale_factors = n_points, scale_factors
        self._distance: np.ndarray | None = distance_m
        self._level: np.ndarray | None = level_db
        self._raws: list[np.ndarray] = []
        self._axis: Callable[[np.ndarray | None], np.ndarray] | None = None

    @classmethod
    def from_raw(cls, n_points: int, scale_factors: list[tuple[int, int]],
                 raws: list[np.ndarray], axis: Callable[[np.ndarray | None], np.ndarray]) -> "DataPts":
        """Samples still raw: ``raws`` one uint16 array per scale-factor segment; ``axis(out)``
        returns the distances (m), written into ``out`` when not None."""
        data = cls(n_points, scale_factors, None, None)  # type: ignore[arg-type]
        data._raws, data._axis = raws, axis
        return data

    def _make(self) -> None:
        """The pending arrays, both in one allocation filled in place: no temporaries (a large
        fresh allocation costs page faults that dwarf the arithmetic; two cost twice)."""
        out = None
        if self._level is None:
            both = np.empty((2, sum(raw.size for raw in self._raws)), dtype=np.float64)
            start = 0
            for raw, (_, scale) in zip(self._raws, self.scale_factors):
                np.multiply(raw, scale / 1e6, out=both[1, start:start + raw.size])
                start += raw.size
            self._level, out = both[1], both[0]
        if self._distance is None:
            self._distance = self._axis(out) if self._axis else np.empty(0)
        self._raws, self._axis = [], None

    @property
    def level_db(self) -> np.ndarray:
        if self._level is None:
            self._make()
        return self._level

    @level_db.setter
    def level_db(self, value: np.ndarray) -> None:
        self._level, self._raws = value, []

    @property
    def distance_m(self) -> np.ndarray:
        if self._distance is None:
            self._make()
        return self._distance

    @distance_m.setter
    def distance_m(self, value: np.ndarray) -> None:
        self._distance, self._axis = value, None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataPts):
            return NotImplemented
        return (self.n_points == other.n_points and self.scale_factors == other.scale_factors
                and np.array_equal(self.distance_m, other.distance_m)
                and np.array_equal(self.level_db, other.level_db))

    def __repr__(self) -> str:
        return (f"DataPts(n_points={self.n_points}, scale_factors={self.scale_factors}, "
                f"distance_m={self.distance_m!r}, level_db={self.level_db!r})")


@dataclass
class SorRecord:
    """A whole .sor file. ``vendor_blocks``: name -> body bytes after the block's name header
    (the whole block in revision 1), verbatim, in file order; ``block_extra``: bytes found after
    the parsed fields of a standard block, written back; checksums are 16-bit: ``computed`` is
    CRC-16/CCITT-FALSE over every byte before the stored value; ``checksum_ok`` is also True when
    the stored value covers only the bytes before the Cksum block (otdrs writes that); all None
    when the file has no Cksum block or the check was skipped."""

    format_version: int
    map: SorMap
    fixed: FxdParams
    data: DataPts
    general: GenParams | None = None
    supplier: SupParams | None = None
    events: KeyEvents | None = None
    vendor_blocks: dict[str, bytes] = field(default_factory=dict)
    block_extra: dict[str, bytes] = field(default_factory=dict)
    checksum_stored: int | None = None
    checksum_computed: int | None = None
    checksum_ok: bool | None = None


@functools.lru_cache(maxsize=4)
def _ramp(n: int) -> np.ndarray:
    """0, 1, ..., n-1 as float64, read-only (shared by reads of traces of the same length)."""
    ramp = np.arange(n, dtype=np.float64)
    ramp.flags.writeable = False
    return ramp


def trace_distance_m(fixed: FxdParams, general: GenParams | None, n: int,
                     out: np.ndarray | None = None) -> np.ndarray:
    """Distance (m, float64) of each of ``n`` samples from the user offset: the first sample is
    at the acquisition offset from the front panel. Written into ``out`` when given."""
    origin = fixed.acquisition_offset - (general.user_offset if general else 0)
    scale = C_M_PER_S / fixed.group_index
    out = np.multiply(_ramp(n), fixed.sample_spacing_s * scale, out=out)
    out += origin * 1e-10 * scale
    return out
