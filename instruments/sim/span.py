"""The span file: a physical description of the submarine span, loaded into a typed, seeded model.

Distances are from the first station (km); losses in dB; reflectances in dB (negative). Every
random draw comes from the span's seed, so the same file gives the same span, event for event.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

DEFAULT_SPAN = Path(__file__).with_name("spans") / "aktau_sumgait.yaml"
FAULT_TYPES = ("break", "splice", "bend", "connector", "channel", "laser")


class SpanFileError(ValueError):
    """A span file (or a fault given on the command line) is wrong; the message names the field."""


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
        loss = _at_wavelength(self.loss_db, wavelength_nm)
        return loss + self.asymmetry_db / 2 if first_station else loss - self.asymmetry_db / 2


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

    def total_loss_db(self, wavelength_nm: float) -> float:
        """True end-to-end loss (dB) at ``wavelength_nm``, connectors included."""
        length = self.length_km
        a = _at_wavelength(self.attenuation_db_per_km, wavelength_nm)
        return a * length + sum(_at_wavelength(e.loss_db, wavelength_nm) for e in self.events)

    length_km: float = 0.0


def _at_wavelength(table: dict[float, float], wavelength_nm: float) -> float:
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

    def section(self, key: str) -> dict[str, Any]:
        return self.raw[key]

    def fibre(self, name: str) -> Fibre:
        if name not in self.fibres:
            raise SpanFileError(f"no fibre {name!r} on span {self.name}")
        return self.fibres[name]


def _number_table(value: Any, where: str) -> dict[float, float]:
    if isinstance(value, (int, float)):
        return {1550.0: float(value), 1625.0: float(value)}
    if isinstance(value, dict) and value:
        try:
            return {float(k): float(v) for k, v in value.items()}
        except (TypeError, ValueError):
            pass
    raise SpanFileError(f"{where}: expected a number or a wavelength→number mapping")


def _require(data: dict, key: str, where: str) -> Any:
    if key not in data:
        raise SpanFileError(f"{where}.{key}: missing")
    return data[key]


def load_span(path: Path = DEFAULT_SPAN, faults: list[dict] | None = None,
              seed: int | None = None) -> Span:
    """Load a span file, add ``faults`` (same form as the file's), and build the fibres."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpanFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError:
        raise SpanFileError(f"{path}: not valid YAML") from None
    if not isinstance(raw, dict):
        raise SpanFileError(f"{path}: expected a mapping")
    raw = dict(raw)
    raw["faults"] = list(raw.get("faults") or []) + list(faults or [])
    if seed is not None:
        raw["seed"] = seed
    return build_span(raw, str(path))


def build_span(raw: dict[str, Any], where: str = "span") -> Span:
    """Build the fibres of a span from its settings (see the default span file for the keys)."""
    try:
        stations = [str(s) for s in _require(raw, "stations", where)]
        length = float(_require(raw, "length_km", where))
        pairs = int(_require(raw, "fibre_pairs", where))
        seed = int(raw.get("seed", 1))
        time_scale = float(raw.get("time_scale", 0.001))
    except (TypeError, ValueError):
        raise SpanFileError(f"{where}: stations, length_km, fibre_pairs, seed: wrong type") from None
    if len(stations) != 2 or not 1.0 <= length <= 1000.0 or not 1 <= pairs <= 64:
        raise SpanFileError(f"{where}: need 2 stations, 1-1000 km and 1-64 fibre pairs")
    if time_scale <= 0:
        raise SpanFileError(f"{where}.time_scale: must be > 0")
    fibre = _require(raw, "fibre", where)
    att = _number_table(_require(fibre, "attenuation_db_per_km", f"{where}.fibre"),
                        f"{where}.fibre.attenuation_db_per_km")
    spread = float(fibre.get("attenuation_spread_db_per_km", 0.0))
    splices = _require(raw, "splices", where)
    rng = np.random.default_rng(stable_seed(seed, "splice-positions"))
    lo, hi = (float(v) for v in splices["spacing_km"])
    positions = []
    x = float(rng.uniform(lo, hi))
    while x < length - lo / 2:
        positions.append(round(x, 3))
        x += float(rng.uniform(lo, hi))
    conn = raw.get("connectors", {"loss_db": 0.25, "reflectance_db": -55.0})
    fibres: dict[str, Fibre] = {}
    for pair in range(1, pairs + 1):
        for f in (1, 2):
            name = f"FP{pair}-F{f}"
            frng = np.random.default_rng(stable_seed(seed, name))
            a = {wl: v + float(frng.normal(0.0, spread)) for wl, v in att.items()}
            events = [Event(0.0, "connector", {1550.0: float(conn["loss_db"])},
                            reflectance_db=float(conn["reflectance_db"]), label=f"ODF {stations[0]}")]
            for j in raw.get("joints") or []:
                events.append(Event(float(j["distance_km"]), "joint",
                                    _number_table(j["loss_db"], f"{where}.joints"),
                                    asymmetry_db=float(frng.uniform(-0.02, 0.02)),
                                    label="beach joint"))
            s_lo, s_hi = (float(v) for v in splices["loss_db"])
            asym = float(splices.get("asymmetry_db", 0.0))
            for p in positions:
                events.append(Event(p, "splice", {1550.0: float(frng.uniform(s_lo, s_hi))},
                                    asymmetry_db=float(frng.uniform(-asym, asym)),
                                    label="factory splice"))
            events.append(Event(length, "connector", {1550.0: float(conn["loss_db"])},
                                reflectance_db=float(conn["reflectance_db"]),
                                label=f"ODF {stations[1]}"))
            fibres[name] = Fibre(name, pair, a, events, length_km=length)
    for index, fault in enumerate(raw.get("faults") or []):
        _apply_fault(fibres, fault, f"{where}: faults[{index}]", length, stations)
    for fb in fibres.values():
        fb.events.sort(key=lambda e: e.position_km)
    return Span(raw, str(raw.get("name", "span")), stations, length, seed, time_scale, fibres)


def _apply_fault(fibres: dict[str, Fibre], fault: Any, where: str, length: float,
                 stations: list[str]) -> None:
    if not isinstance(fault, dict):
        raise SpanFileError(f"{where}: expected a mapping")
    kind = fault.get("type")
    if kind not in FAULT_TYPES:
        raise SpanFileError(f"{where}.type: {kind!r} is not one of {', '.join(FAULT_TYPES)}")
    name = fault.get("fibre")
    if name not in fibres:
        raise SpanFileError(f"{where}.fibre: {name!r} is not a fibre of this span")
    fb = fibres[name]

    def distance() -> float:
        try:
            d = float(fault["distance_km"])
        except (KeyError, TypeError, ValueError):
            raise SpanFileError(f"{where}.distance_km: missing or not a number") from None
        if not 0.0 < d < length:
            raise SpanFileError(f"{where}.distance_km: {d} is not inside the {length} km span")
        return d

    if kind == "break":
        fb.break_km = distance()
        fb.break_reflectance_db = float(fault.get("reflectance_db", -30.0))
    elif kind in ("splice", "bend"):
        loss = _number_table(fault.get("loss_db", 0.5), f"{where}.loss_db")
        fb.events.append(Event(distance(), kind, loss, label=f"injected {kind}"))
    elif kind == "connector":
        station = fault.get("station", stations[0])
        if station not in stations:
            raise SpanFileError(f"{where}.station: {station!r} is not one of {stations}")
        fb.connector_reflectance_db[station] = float(fault.get("reflectance_db", -32.0))
    elif kind == "channel":
        fb.osnr_penalty_db = float(fault.get("osnr_penalty_db", 6.0))
    elif kind == "laser":
        fb.laser_failed = True
