"""The span file: a physical description of the submarine span, loaded into a typed, seeded model.

Distances are from the first station (km); losses in dB; reflectances in dB (negative). Every
random draw comes from the span's seed, so the same file gives the same span, event for event.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from instruments.safe_yaml import load_yaml_file
from instruments.sim.span_file import DEFAULT_SPAN, SpanFileError  # noqa: F401 (this module's too)
FAULT_TYPES = ("break", "splice", "bend", "connector", "channel", "laser")


@dataclass(frozen=True)
class Event:
    """One event on a fibre, as the physics sees it.

    position_km from the first station; loss_db[wavelength] true loss; asymmetry_db is added to
    the loss seen from the first station and subtracted from the loss seen from the second;
    reflectance_db is None for a non-reflective event.
    """

    position_km: float
    kind: str
    loss_db: dict[float, float]
    asymmetry_db: float = 0.0
    reflectance_db: float | None = None
    label: str = ""

    def loss_seen_from(self, first_station: bool, wavelength_nm: float) -> float:
        loss = at_wavelength(self.loss_db, wavelength_nm)
        return loss + self.asymmetry_db / 2 if first_station else loss - self.asymmetry_db / 2


@dataclass(frozen=True)
class Ropa:
    """A remote optically pumped amplifier on a fibre, pumped from its receiving station.

    position_km from the first station; gain_db net signal gain when pumped (dB);
    noise_figure_db (dB). Its unpumped insertion loss at the OTDR wavelengths is an Event of
    kind "ropa" on the same fibre.
    """

    position_km: float
    gain_db: float
    noise_figure_db: float


@dataclass
class Fibre:
    """One fibre: name (FPn-F1 carries first→second station traffic), attenuation and events."""

    name: str
    pair: int
    attenuation_db_per_km: dict[float, float]
    events: list[Event]
    break_km: float | None = None
    break_reflectance_db: float = -30.0
    osnr_penalty_db: float = 0.0
    laser_failed: bool = False
    connector_reflectance_db: dict[str, float] = field(default_factory=dict)
    ropa: Ropa | None = None

    def total_loss_db(self, wavelength_nm: float) -> float:
        """True end-to-end loss (dB) at ``wavelength_nm``, connectors included."""
        length = self.length_km
        a = at_wavelength(self.attenuation_db_per_km, wavelength_nm)
        return a * length + sum(at_wavelength(e.loss_db, wavelength_nm) for e in self.events)

    length_km: float = 0.0


def at_wavelength(table: dict[float, float], wavelength_nm: float) -> float:
    """A per-wavelength value (e.g. dB/km) at ``wavelength_nm`` (nm): the table's entry, or
    linear interpolation between its wavelengths (held constant beyond them)."""
    if wavelength_nm in table:
        return table[wavelength_nm]
    keys = sorted(table)
    return float(np.interp(wavelength_nm, keys, [table[k] for k in keys]))


def stable_seed(*parts: object) -> int:
    """A seed that depends only on ``parts`` (not on Python's hash randomisation)."""
    return zlib.crc32(repr(parts).encode())


@dataclass
class Span:
    """A loaded span: its file's settings (``raw``) and the fibres built from them."""

    raw: dict[str, Any]
    name: str
    stations: list[str]
    length_km: float
    seed: int
    time_scale: float
    fibres: dict[str, Fibre]
    in_service: dict[str, float | None] = field(default_factory=dict)
    """The lit/dark state shared by every simulated instrument of the span: fibre name → the
    ``time.monotonic()`` at which its transmitter was put in service (0.0: from the start), or
    None when out of service; a fibre not listed carries its traffic. The simulated shelves set
    their transmitters at start-up (span file ``transponder.in_service``) and on ``ED-OCH ...
    PST=IS``/``OOS``; the OTDRs' live-fibre check and the receiving cards' PM read it."""

    def section(self, key: str) -> dict[str, Any]:
        return self.raw[key]

    def transmitter(self, fibre: str) -> str:
        """The station whose transmitter feeds ``fibre`` (FPn-F1: the first station)."""
        return self.stations[0] if self.fibre(fibre).name.endswith("-F1") else self.stations[1]

    def partner(self, fibre: str) -> str:
        """The other fibre of ``fibre``'s pair (the opposite direction)."""
        name = self.fibre(fibre).name
        return name[:-1] + ("2" if name.endswith("1") else "1")

    def set_in_service(self, fibre: str, on: bool) -> None:
        """Put the transmitter feeding ``fibre`` in service (laser on) or out of service."""
        if on != self.is_in_service(fibre):
            self.in_service[self.fibre(fibre).name] = time.monotonic() if on else None

    def is_in_service(self, fibre: str) -> bool:
        return self.in_service.get(fibre, 0.0) is not None

    def lit_since(self, fibre: str) -> float | None:
        """``time.monotonic()`` since which ``fibre`` carries light at its receiving end
        (0.0 if since the start), or None while it is dark there."""
        f = self.fibre(fibre)
        if not self.is_in_service(fibre) or f.laser_failed or f.break_km is not None:
            return None
        return self.in_service.get(fibre) or 0.0

    def light_arrives(self, fibre: str, station: str) -> bool:
        """Whether traffic light on ``fibre`` reaches ``station`` (its receiving end)."""
        return station != self.transmitter(fibre) and self.lit_since(fibre) is not None

    def fibre(self, name: str) -> Fibre:
        if name not in self.fibres:
            raise SpanFileError(f"no fibre {name!r} on span {self.name}")
        return self.fibres[name]


def _number(value: Any, where: str, lo: float = -1e6, hi: float = 1e6) -> float:
    """``value`` as a float in [lo, hi]; anything else (text, NaN, infinity, a list) is refused."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and lo <= value <= hi:
        return float(value)
    raise SpanFileError(f"{where}: expected a number from {lo:g} to {hi:g}, got {str(value)[:40]!r}")


def _mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise SpanFileError(f"{where}: expected a mapping")
    return value


def _number_table(value: Any, where: str) -> dict[float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {1550.0: _number(value, where), 1625.0: _number(value, where)}
    if isinstance(value, dict) and value:
        return {_number(_numeric_key(k), f"{where} wavelength", 800.0, 1700.0):
                _number(v, f"{where}[{k!r}]") for k, v in value.items()}
    raise SpanFileError(f"{where}: expected a number or a wavelength→number mapping")


def _numeric_key(key: Any) -> Any:
    """A mapping key as a number when it is one written as text (JSON keys, e.g. ``"1550"``)."""
    if isinstance(key, str):
        try:
            return float(key)
        except ValueError:
            pass
    return key


PHYSICS = {
    "fibre": {"dispersion_ps_nm_km": (0.0, 100.0), "pmd_ps_per_sqrt_km": (0.0, 10.0),
              "attenuation_spread_db_per_km": (0.0, 0.1, 0.0), "group_index": (1.0, 2.0, 1.468)},
    "otdr": {"dynamic_range_db": (1.0, 100.0), "dynamic_range_1625_offset_db": (-20.0, 20.0, 0.0),
             "end_reflectance_db": (-100.0, 0.0, -45.0), "launch_cord_km": (0.0, 50.0, 1.0),
             "receive_cord_km": (0.0, 50.0, 1.0), "front_panel_reflectance_db": (-100.0, 0.0, -45.0)},
    "dwdm": {"channels": (1, 2000), "spacing_ghz": (6.25, 1000.0), "first_thz": (180.0, 200.0),
             "baud_gbd": (0.1, 200.0), "rolloff": (0.0, 1.0), "rx_channel_power_dbm": (-60.0, 30.0),
             "power_ripple_db": (0.0, 20.0, 0.0), "osnr_design_db": (-10.0, 60.0),
             "osnr_tilt_db": (-20.0, 20.0, 0.0), "osnr_ripple_db": (0.0, 20.0, 0.0),
             "receiver_noise_figure_db": (0.0, 20.0, 5.0)},
    "transponder": {"channel_thz": (180.0, 200.0), "implementation_penalty_db": (0.0, 20.0),
                    "fec_threshold_ber": (1e-9, 0.5), "rx_power_dbm": (-60.0, 30.0),
                    "tx_power_dbm": (-30.0, 30.0)},
}
"""Numbers the physics modules read from each section: key → (low, high[, default])."""
RECEIVER = {"response_ns": (0.0, 1e5), "tail_fraction": (0.0, 0.1), "tail_ns": (0.0, 1e6),
            "saturation_db_1ns": (0.0, 100.0), "overload_hold_ns": (0.0, 1e5)}
"""The OTDR receiver's figures (span file ``otdr.receiver``, see otdr_receiver.Receiver)."""


def _check_physics(raw: dict[str, Any], where: str) -> None:
    """Refuse at load time what the physics would otherwise trip over at the first query."""
    for name, keys in PHYSICS.items():
        section = _mapping(_require(raw, name, where), f"{where}.{name}")
        for key, (lo, hi, *default) in keys.items():
            if default and key not in section:
                continue
            _number(_require(section, key, f"{where}.{name}"), f"{where}.{name}.{key}", lo, hi)
    receiver = raw["otdr"].get("receiver")
    if receiver is not None:
        for key, value in _mapping(receiver, f"{where}.otdr.receiver").items():
            if key not in RECEIVER:
                raise SpanFileError(f"{where}.otdr.receiver.{key}: unknown (one of {', '.join(RECEIVER)})")
            _number(value, f"{where}.otdr.receiver.{key}", *RECEIVER[key])
    if not isinstance(raw["otdr"].get("ghosts", True), bool):
        raise SpanFileError(f"{where}.otdr.ghosts: expected true or false")
    if "backscatter_db_1ns" in raw["fibre"]:
        _number_table(raw["fibre"]["backscatter_db_1ns"], f"{where}.fibre.backscatter_db_1ns")


def _require(data: dict, key: str, where: str) -> Any:
    if key not in data:
        raise SpanFileError(f"{where}.{key}: missing")
    return data[key]


def load_span(path: Path = DEFAULT_SPAN, faults: list[dict] | None = None,
              seed: int | None = None) -> Span:
    """Load a span file, add ``faults`` (same form as the file's), and build the fibres."""
    path = Path(path)
    raw = load_yaml_file(path, SpanFileError)
    if not isinstance(raw, dict):
        raise SpanFileError(f"{path}: expected a mapping")
    raw = dict(raw)
    if not isinstance(raw.get("faults") or [], list):
        raise SpanFileError(f"{path}.faults: expected a list")
    raw["faults"] = list(raw.get("faults") or []) + list(faults or [])
    if seed is not None:
        raw["seed"] = seed
    return build_span(raw, str(path))


def build_span(raw: dict[str, Any], where: str = "span") -> Span:
    """Build the fibres of a span from its settings (see the default span file for the keys)."""
    stations = _require(raw, "stations", where)
    if not isinstance(stations, list) or len(stations) != 2 or not all(
            isinstance(s, str) and s for s in stations) or stations[0] == stations[1]:
        raise SpanFileError(f"{where}.stations: expected the names of the 2 stations")
    length = _number(_require(raw, "length_km", where), f"{where}.length_km", 1.0, 1000.0)
    pairs = int(_number(_require(raw, "fibre_pairs", where), f"{where}.fibre_pairs", 1, 64))
    seed = raw.get("seed", 1)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise SpanFileError(f"{where}.seed: expected an integer")
    time_scale = _number(raw.get("time_scale", 0.001), f"{where}.time_scale", 1e-9, 1e3)
    if time_scale <= 0:
        raise SpanFileError(f"{where}.time_scale: must be > 0")
    _check_physics(raw, where)
    fibre = raw["fibre"]
    att = _number_table(_require(fibre, "attenuation_db_per_km", f"{where}.fibre"),
                        f"{where}.fibre.attenuation_db_per_km")
    spread = float(fibre.get("attenuation_spread_db_per_km", 0.0))
    splices = _mapping(_require(raw, "splices", where), f"{where}.splices")
    rng = np.random.default_rng(stable_seed(seed, "splice-positions"))
    lo, hi = _pair(_require(splices, "spacing_km", f"{where}.splices"), f"{where}.splices.spacing_km",
                   0.5, 1000.0)
    positions = []
    x = float(rng.uniform(lo, hi))
    while x < length - lo / 2:
        positions.append(round(x, 3))
        x += float(rng.uniform(lo, hi))
    conn = _mapping(raw.get("connectors", {"loss_db": 0.25, "reflectance_db": -55.0}),
                    f"{where}.connectors")
    conn_loss = _number(_require(conn, "loss_db", f"{where}.connectors"),
                        f"{where}.connectors.loss_db", 0.0, 20.0)
    odf_reflectance = _per_station(_require(conn, "reflectance_db", f"{where}.connectors"),
                                   f"{where}.connectors.reflectance_db", stations)
    joints = raw.get("joints") or []
    if not isinstance(joints, list):
        raise SpanFileError(f"{where}.joints: expected a list")
    for index, j in enumerate(joints):
        jwhere = f"{where}.joints[{index}]"
        _number(_require(_mapping(j, jwhere), "distance_km", jwhere), f"{jwhere}.distance_km",
                0.0, length)
        _number_table(_require(j, "loss_db", jwhere), f"{jwhere}.loss_db")
    s_lo, s_hi = _pair(_require(splices, "loss_db", f"{where}.splices"), f"{where}.splices.loss_db",
                       -1.0, 20.0)
    asym = _number(splices.get("asymmetry_db", 0.0), f"{where}.splices.asymmetry_db", 0.0, 5.0)
    fibres: dict[str, Fibre] = {}
    for pair in range(1, pairs + 1):
        for f in (1, 2):
            name = f"FP{pair}-F{f}"
            frng = np.random.default_rng(stable_seed(seed, name))
            a = {wl: v + float(frng.normal(0.0, spread)) for wl, v in att.items()}
            events = [Event(0.0, "connector", {1550.0: conn_loss},
                            reflectance_db=odf_reflectance[stations[0]], label=f"ODF {stations[0]}")]
            for j in joints:
                events.append(Event(float(j["distance_km"]), "joint",
                                    _number_table(j["loss_db"], f"{where}.joints"),
                                    asymmetry_db=float(frng.uniform(-0.02, 0.02)),
                                    label=str(j.get("label", "beach joint"))))
            for p in positions:
                events.append(Event(p, "splice", {1550.0: float(frng.uniform(s_lo, s_hi))},
                                    asymmetry_db=float(frng.uniform(-asym, asym)),
                                    label="factory splice"))
            events.append(Event(length, "connector", {1550.0: conn_loss},
                                reflectance_db=odf_reflectance[stations[1]],
                                label=f"ODF {stations[1]}"))
            fibres[name] = Fibre(name, pair, a, events, length_km=length)
    for index, fault in enumerate(raw.get("faults") or []):
        _apply_fault(fibres, fault, f"{where}: faults[{index}]", length, stations)
    _add_ropa(fibres, raw.get("ropa"), f"{where}.ropa", length, stations)
    for fb in fibres.values():
        fb.events.sort(key=lambda e: e.position_km)
    return Span(raw, str(raw.get("name", "span")), stations, length, seed, time_scale, fibres)


def _per_station(value: Any, where: str, stations: list[str]) -> dict[str, float]:
    """A reflectance (dB) for every station: one number for both, or ``{STATION: dB}`` (e.g. a
    UPC ODF at one end, ~-50 dB, and an APC one at the other, <= -60 dB)."""
    if isinstance(value, dict):
        unknown = set(value) - set(stations)
        if unknown or set(value) != set(stations):
            raise SpanFileError(f"{where}: expected a value for each of {stations}, got "
                                f"{sorted(map(str, value))}")
        return {st: _number(value[st], f"{where}.{st}", -100.0, 0.0) for st in stations}
    return dict.fromkeys(stations, _number(value, where, -100.0, 0.0))


def _add_ropa(fibres: dict[str, Fibre], ropa: Any, where: str, length: float,
              stations: list[str]) -> None:
    """Splice a ROPA into every fibre received at ``pumped_from`` (when ``enabled``)."""
    if ropa is None or not _mapping(ropa, where).get("enabled", False):
        return
    pumped_from = ropa.get("pumped_from", stations[1])
    if pumped_from not in stations:
        raise SpanFileError(f"{where}.pumped_from: {pumped_from!r} is not one of {stations}")
    position = _number(_require(ropa, "distance_km", where), f"{where}.distance_km", 0.0, length)
    amp = Ropa(position, _number(ropa.get("gain_db", 15.0), f"{where}.gain_db", 0.0, 40.0),
               _number(ropa.get("noise_figure_db", 6.0), f"{where}.noise_figure_db", 3.0, 20.0))
    loss = _number_table(ropa.get("otdr_loss_db", {1550: 1.2, 1625: 0.5}), f"{where}.otdr_loss_db")
    suffix = "-F1" if pumped_from == stations[1] else "-F2"
    for fb in fibres.values():
        if fb.name.endswith(suffix):
            fb.ropa = amp
            fb.events.append(Event(position, "ropa", loss, label="ROPA"))


def _pair(value: Any, where: str, lo: float, hi: float) -> tuple[float, float]:
    """``[low, high]``: two numbers in [lo, hi], the first not above the second."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise SpanFileError(f"{where}: expected [low, high]")
    a, b = (_number(v, where, lo, hi) for v in value)
    if a > b:
        raise SpanFileError(f"{where}: low {a:g} is above high {b:g}")
    return a, b


def _apply_fault(fibres: dict[str, Fibre], fault: Any, where: str, length: float,
                 stations: list[str]) -> None:
    if not isinstance(fault, dict):
        raise SpanFileError(f"{where}: expected a mapping")
    kind = fault.get("type")
    if not isinstance(kind, str) or kind not in FAULT_TYPES:
        raise SpanFileError(f"{where}.type: {kind!r} is not one of {', '.join(FAULT_TYPES)}")
    name = fault.get("fibre")
    if not isinstance(name, str) or name not in fibres:
        raise SpanFileError(f"{where}.fibre: {name!r} is not a fibre of this span")
    fb = fibres[name]

    def distance() -> float:
        d = fault.get("distance_km")
        if isinstance(d, str):  # from the command line (--fault ...,distance_km=212)
            try:
                d = float(d)
            except ValueError:
                pass
        if not isinstance(d, (int, float)) or isinstance(d, bool) or math.isnan(d):
            raise SpanFileError(f"{where}.distance_km: missing or not a number")
        if not 0.0 < d < length:
            raise SpanFileError(f"{where}.distance_km: {d} is not inside the {length} km span")
        return d

    if kind == "break":
        fb.break_km = distance()
        fb.break_reflectance_db = _fault_number(fault, "reflectance_db", -30.0, where, -100.0, 0.0)
    elif kind in ("splice", "bend"):
        loss = _number_table(fault.get("loss_db", 0.5), f"{where}.loss_db")
        fb.events.append(Event(distance(), kind, loss, label=f"injected {kind}"))
    elif kind == "connector":
        station = fault.get("station", stations[0])
        if not isinstance(station, str) or station not in stations:
            raise SpanFileError(f"{where}.station: {station!r} is not one of {stations}")
        fb.connector_reflectance_db[station] = _fault_number(fault, "reflectance_db", -32.0,
                                                             where, -100.0, 0.0)
    elif kind == "channel":
        fb.osnr_penalty_db = _fault_number(fault, "osnr_penalty_db", 6.0, where, 0.0, 60.0)
    elif kind == "laser":
        fb.laser_failed = True


def _fault_number(fault: dict, key: str, default: float, where: str, lo: float, hi: float) -> float:
    """A fault's number (a string from the command line is converted) in [lo, hi]."""
    value = fault.get(key, default)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    return _number(value, f"{where}.{key}", lo, hi)
