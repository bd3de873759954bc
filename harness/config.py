"""Station files and limits files: loaded, validated, and turned into typed objects.

A wrong file gives a :class:`ConfigError` whose one-line message names the file and the field.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pyvisa import rname

from harness.errors import ConfigError
from instruments.registry import MODELS

ROLES = ("otdr", "osa", "transponder")
SIM_RESOURCE = "sim"
_SERIAL_URL = re.compile(r"^(/dev/\S+|COM\d+|(socket|rfc2217|loop|spy)://\S*)$")


@dataclass(frozen=True)
class InstrumentConfig:
    """One instrument of a station: role, model, address, and transport options."""

    station: str
    role: str
    model: str
    resource: str
    options: dict[str, Any] = field(default_factory=dict)
    switch: bool = True
    """False when the instrument has no optical switch: the engineer patches it by hand."""


@dataclass(frozen=True)
class FibreConfig:
    """One fibre of the route plan: which station transmits on it, and where it is patched."""

    name: str
    pair: int
    tx: str
    rx: str
    otdr_port: dict[str, int]
    osa_port: int
    och: str


@dataclass
class StationFile:
    """A validated station file."""

    path: Path
    sha256: str
    campaign: str
    cable: str
    stations: list[str]
    route_length_km: float
    operator: str
    instruments: dict[str, dict[str, InstrumentConfig]]
    fibres: list[FibreConfig]
    wavelengths_nm: list[float]
    simulator: dict[str, Any] | None
    route_events: list[dict[str, Any]] = field(default_factory=list)
    """Cable-level events of the route plan (distance_km, kind, label), if the file names one."""

    def resolve_sim(self, resources: dict[str, str]) -> None:
        """Fill ``resource: sim`` entries from a running simulator's ``STATION/role`` map."""
        for station, roles in self.instruments.items():
            for role, inst in roles.items():
                if inst.resource == SIM_RESOURCE:
                    key = f"{station}/{role}"
                    if key not in resources:
                        raise ConfigError(f"{self.path}: simulator serves no {key}")
                    roles[role] = InstrumentConfig(station, role, inst.model, resources[key],
                                                   inst.options, inst.switch)


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where}: not valid YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def _get(data: dict, key: str, kind: type, where: str, default: Any = ...) -> Any:
    if key not in data:
        if default is ...:
            raise ConfigError(f"{where}.{key}: missing")
        return default
    value = data[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{where}.{key}: expected {kind.__name__}, got {value!r}")
    return value


def validate_resource(model: str, resource: str, where: str) -> None:
    """Check a VISA resource string or a serial URL fits the model's transport."""
    if resource == SIM_RESOURCE:
        return
    transport = MODELS[model].transport
    if transport == "visa":
        if not _visa_resource_ok(resource):
            raise ConfigError(f"{where}.resource: {resource!r} is not a VISA resource string "
                              "(e.g. TCPIP::10.0.0.5::5025::SOCKET)")
    elif not _SERIAL_URL.match(resource):
        raise ConfigError(f"{where}.resource: {resource!r} is not a serial port or URL "
                          "(e.g. /dev/ttyUSB0 or socket://10.0.0.6:4001)")


def _visa_resource_ok(resource: str) -> bool:
    """pyvisa's parser is lenient; also check the parts an instrument address needs."""
    try:
        parsed = rname.parse_resource_name(resource)
    except (rname.InvalidResourceName, ValueError):
        return False
    if isinstance(parsed, rname.TCPIPSocket):
        return parsed.port.isdigit() and 1 <= int(parsed.port) <= 65535 and bool(parsed.host_address)
    if isinstance(parsed, rname.TCPIPInstr):
        return bool(parsed.host_address) and re.fullmatch(
            r"(inst|hislip|gpib)\d+(,\d+)?", parsed.lan_device_name) is not None
    if isinstance(parsed, rname.GPIBInstr):
        return parsed.primary_address.isdigit()
    return True


def self_contained_station_yaml(path: Path) -> str:
    """The station file with its route plan inlined and the simulator's span path absolute,
    so a copy kept in a run folder loads anywhere (replay, resume, merge)."""
    sf = load_station_file(path)
    data = _load_yaml(Path(path))
    data["route"] = {k: v for k, v in data["route"].items() if k != "plan"}
    data["route"]["events"] = sf.route_events
    if sf.simulator:
        data["simulator"] = dict(data["simulator"], span=sf.simulator["span"])
    header = f"# {Path(path).name} as used by this run (route plan inlined, paths absolute)\n"
    return header + yaml.safe_dump(data, sort_keys=False)


def load_station_file(path: Path) -> StationFile:
    """Load and validate a station file; raises :class:`ConfigError` naming the bad field."""
    path = Path(path)
    data = _load_yaml(path)
    where = str(path)
    route = _get(data, "route", dict, where)
    stations = _get(route, "stations", list, f"{where}: route")
    if not stations or not all(isinstance(s, str) for s in stations):
        raise ConfigError(f"{where}: route.stations: expected a list of station names")
    length = _get(route, "length_km", float, f"{where}: route")
    instruments: dict[str, dict[str, InstrumentConfig]] = {}
    for station, roles in _get(data, "stations", dict, where).items():
        swhere = f"{where}: stations.{station}"
        if station not in stations:
            raise ConfigError(f"{swhere}: not one of route.stations {stations}")
        if not isinstance(roles, dict):
            raise ConfigError(f"{swhere}: expected a mapping of roles")
        instruments[station] = {}
        for role, spec in roles.items():
            iwhere = f"{swhere}.{role}"
            if role not in ROLES:
                raise ConfigError(f"{iwhere}: unknown role (known: {', '.join(ROLES)})")
            if not isinstance(spec, dict):
                raise ConfigError(f"{iwhere}: expected a mapping")
            model = _get(spec, "model", str, iwhere)
            if model not in MODELS:
                raise ConfigError(f"{iwhere}.model: unknown model {model!r} "
                                  f"(known: {', '.join(sorted(MODELS))})")
            if MODELS[model].kind != role:
                raise ConfigError(f"{iwhere}.model: {model} is a {MODELS[model].kind}, not a {role}")
            resource = _get(spec, "resource", str, iwhere)
            validate_resource(model, resource, iwhere)
            switch = _get(spec, "switch", bool, iwhere, True)
            options = {k: v for k, v in spec.items() if k not in ("model", "resource", "switch")}
            instruments[station][role] = InstrumentConfig(station, role, model, resource, options,
                                                          switch)
    fibres = []
    for name, spec in _get(data, "fibres", dict, where).items():
        fwhere = f"{where}: fibres.{name}"
        m = re.fullmatch(r"FP(\d+)-F[12]", str(name))
        if not m or not isinstance(spec, dict):
            raise ConfigError(f"{fwhere}: fibre names look like FP1-F1, each with a mapping")
        tx = _get(spec, "tx", str, fwhere)
        if tx not in stations:
            raise ConfigError(f"{fwhere}.tx: {tx!r} is not one of {stations}")
        rx = next((s for s in stations if s != tx), tx)
        ports = _get(spec, "otdr_port", dict, fwhere)
        for station, port in ports.items():
            if station not in stations or not isinstance(port, int) or port < 1:
                raise ConfigError(f"{fwhere}.otdr_port.{station}: expected a station and a port >= 1")
        fibres.append(FibreConfig(str(name), int(m.group(1)), tx, rx, dict(ports),
                                  _get(spec, "osa_port", int, fwhere),
                                  _get(spec, "och", str, fwhere)))
    simulator = _get(data, "simulator", dict, where, None)
    if simulator is not None:
        span = Path(_get(simulator, "span", str, f"{where}: simulator"))
        simulator = dict(simulator, span=str((path.parent / span).resolve()))
    elif any(i.resource == SIM_RESOURCE for r in instruments.values() for i in r.values()):
        raise ConfigError(f"{where}: resource 'sim' used but there is no simulator section")
    wavelengths = _get(data, "wavelengths_nm", list, where, [1550.0])
    if not all(isinstance(w, (int, float)) and 1200 < w < 1700 for w in wavelengths):
        raise ConfigError(f"{where}.wavelengths_nm: expected OTDR wavelengths in nm")
    route_events = route.get("events", [])
    if "plan" in route:
        plan_path = path.parent / _get(route, "plan", str, f"{where}: route")
        plan = _load_yaml(plan_path)
        events = plan.get("events")
        if not isinstance(events, list) or not all(
                isinstance(e, dict) and isinstance(e.get("distance_km"), (int, float)) for e in events):
            raise ConfigError(f"{plan_path}: events: expected a list with distance_km on each")
        route_events = events
    return StationFile(
        route_events=route_events,
        path=path, sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        campaign=_get(data, "campaign", str, where, "acceptance"),
        cable=_get(data, "cable", str, where, ""),
        stations=list(stations), route_length_km=length,
        operator=str(data.get("operator", "")), instruments=instruments, fibres=fibres,
        wavelengths_nm=[float(w) for w in wavelengths], simulator=simulator)


@dataclass(frozen=True)
class Limit:
    """Limits of one measurement: pass band [low, high] and marginal band inside it (NaN = none)."""

    name: str
    units: str
    low: float = math.nan
    high: float = math.nan
    marginal_low: float = math.nan
    marginal_high: float = math.nan
    requirement: str = ""
    description: str = ""


@dataclass
class LimitsFile:
    """A validated limits file: measurement limits and named plan parameters."""

    path: Path
    sha256: str
    limits: dict[str, Limit]
    parameters: dict[str, Any]

    def __getitem__(self, name: str) -> Limit:
        try:
            return self.limits[name]
        except KeyError:
            raise ConfigError(f"{self.path}: limits.{name}: missing") from None

    def parameter(self, name: str) -> Any:
        try:
            return self.parameters[name]
        except KeyError:
            raise ConfigError(f"{self.path}: parameters.{name}: missing") from None


def load_limits_file(path: Path) -> LimitsFile:
    """Load and validate a limits file; raises :class:`ConfigError` naming the bad field."""
    path = Path(path)
    data = _load_yaml(path)
    limits = {}
    for name, spec in _get(data, "limits", dict, str(path)).items():
        where = f"{path}: limits.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a mapping")
        values = {}
        for key in ("low", "high", "marginal_low", "marginal_high"):
            values[key] = _get(spec, key, float, where, math.nan)
        if math.isnan(values["low"]) and math.isnan(values["high"]):
            raise ConfigError(f"{where}: needs low and/or high")
        lo, hi = values["low"], values["high"]
        if not math.isnan(lo) and not math.isnan(hi) and lo > hi:
            raise ConfigError(f"{where}: low {lo} is above high {hi}")
        for key, inside in (("marginal_low", lo), ("marginal_high", hi)):
            if not math.isnan(values[key]) and math.isnan(inside):
                raise ConfigError(f"{where}.{key}: a marginal band needs the matching limit")
        limits[name] = Limit(name=name, units=_get(spec, "units", str, where),
                             requirement=_get(spec, "requirement", str, where, ""),
                             description=_get(spec, "description", str, where, ""), **values)
    parameters = _get(data, "parameters", dict, str(path), {})
    return LimitsFile(path, hashlib.sha256(path.read_bytes()).hexdigest(), limits, parameters)
