"""Station files and limits files: loaded, validated, and turned into typed objects.

A wrong file gives a :class:`ConfigError` whose one-line message names the file and the field.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import reprlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pyvisa import rname

from harness.errors import ConfigError
from instruments.logins import check_env_name, find_secret_key, login_specs
from instruments.registry import MODELS
from instruments.safe_yaml import load_yaml_file

ROLES = ("otdr", "osa", "transponder")
SIM_RESOURCE = "sim"
_SERIAL_URL = re.compile(r"^(/dev/\S+|COM\d+|(socket|rfc2217|loop|spy)://\S*)$")
_LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(load):
    """A loader whose ConfigError is one line even when a key from the file holds a line
    break (field names are quoted into messages as they are): control characters escaped."""
    @functools.wraps(load)
    def wrapper(path: Path):
        try:
            return load(path)
        except ConfigError as exc:
            text = _LINE_BREAKING.sub(lambda m: repr(m.group())[1:-1], str(exc))
            raise ConfigError(text) from None
    return wrapper


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
    password_env: str = ""
    """Environment variable holding the instrument's login password (see harness.credentials)."""


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
    credentials: Path | None = None
    """Credentials file the station file names (``credentials: PATH``), absolute."""

    def resolve_sim(self, resources: dict[str, str]) -> None:
        """Fill ``resource: sim`` entries from a running simulator's ``STATION/role`` map; where
        the simulator serves several models of a role (``STATION/role@model``), the file's."""
        for station, roles in self.instruments.items():
            for role, inst in roles.items():
                if inst.resource == SIM_RESOURCE:
                    key = f"{station}/{role}"
                    if any(k.startswith(key + "@") for k in resources):
                        key = f"{key}@{inst.model}"
                    if key not in resources:
                        raise ConfigError(f"{self.path}: simulator serves no {key}")
                    roles[role] = replace(inst, resource=resources[key])


_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict, _REPR.maxlevel = 60, 60, 4, 4, 2
_short = _REPR.repr
"""A bounded repr for error messages (a value from a file may be huge)."""


def _load_yaml(path: Path) -> dict[str, Any]:
    data = load_yaml_file(path, ConfigError)
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
        raise ConfigError(f"{where}.{key}: expected {kind.__name__}, got {_short(value)}")
    return value


def _path_field(data: dict, key: str, where: str) -> Path:
    """A file name field (relative to the file it is in)."""
    value = _get(data, key, str, where)
    if not value or "\0" in value:
        raise ConfigError(f"{where}.{key}: expected a file name, got {_short(value)}")
    return Path(value)


def _route_events(events: Any, where: str) -> list[dict[str, Any]]:
    """Route plan events: a list of mappings, each with a finite distance_km."""
    if not isinstance(events, list) or not all(
            isinstance(e, dict) and isinstance(e.get("distance_km"), (int, float))
            and not isinstance(e.get("distance_km"), bool) and math.isfinite(e["distance_km"])
            for e in events):
        raise ConfigError(f"{where}: events: expected a list with distance_km on each")
    return events


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
    if sf.credentials:
        data["credentials"] = str(sf.credentials)
    header = f"# {Path(path).name} as used by this run (route plan inlined, paths absolute)\n"
    return header + yaml.safe_dump(data, sort_keys=False)


@_one_line
def load_station_file(path: Path) -> StationFile:
    """Load and validate a station file; raises :class:`ConfigError` naming the bad field."""
    path = Path(path)
    data = _load_yaml(path)
    where = str(path)
    secret = find_secret_key(data)
    if secret:
        raise ConfigError(f"{where}: {secret}: a password does not belong in a station file (it "
                          "is copied into the run folder): use password_env: VARIABLE or a "
                          "credentials file (credentials: PATH, or --credentials FILE)")
    route = _get(data, "route", dict, where)
    stations = _get(route, "stations", list, f"{where}: route")
    if not stations or not all(isinstance(s, str) for s in stations):
        raise ConfigError(f"{where}: route.stations: expected a list of station names")
    length = _get(route, "length_km", float, f"{where}: route")
    if not (math.isfinite(length) and length > 0):
        raise ConfigError(f"{where}: route.length_km: expected a length > 0 km, got {length}")
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
            options = {k: v for k, v in spec.items()
                       if k not in ("model", "resource", "switch", "password_env")}
            password_env = ""
            if "password_env" in spec:
                if "password" not in MODELS[model].options:
                    raise ConfigError(f"{iwhere}.password_env: {model} has no login")
                password_env = check_env_name(spec["password_env"], f"{iwhere}.password_env",
                                              ConfigError)
            unknown = sorted(str(k) for k in options if k not in MODELS[model].options)
            if unknown:
                raise ConfigError(f"{iwhere}: unknown option {_short(unknown[0])} for {model} "
                                  f"(known: {', '.join(sorted(MODELS[model].options))})")
            instruments[station][role] = InstrumentConfig(station, role, model, resource, options,
                                                          switch, password_env)
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
            if (station not in stations or not isinstance(port, int) or isinstance(port, bool)
                    or port < 1):
                raise ConfigError(f"{fwhere}.otdr_port.{station}: expected a station and a port >= 1")
        osa_port = _get(spec, "osa_port", int, fwhere)
        if osa_port < 1:
            raise ConfigError(f"{fwhere}.osa_port: expected a port >= 1, got {osa_port}")
        fibres.append(FibreConfig(str(name), int(m.group(1)), tx, rx, dict(ports), osa_port,
                                  _get(spec, "och", str, fwhere)))
    simulator = _get(data, "simulator", dict, where, None)
    if simulator is not None:
        span = _path_field(simulator, "span", f"{where}: simulator")
        simulator = dict(simulator, span=str((path.parent / span).resolve()))
        if "logins" in simulator:
            login_specs(simulator["logins"], f"{where}: simulator.logins", ConfigError)
    elif any(i.resource == SIM_RESOURCE for r in instruments.values() for i in r.values()):
        raise ConfigError(f"{where}: resource 'sim' used but there is no simulator section")
    wavelengths = _get(data, "wavelengths_nm", list, where, [1550.0])
    if not all(isinstance(w, (int, float)) and 1200 < w < 1700 for w in wavelengths):
        raise ConfigError(f"{where}.wavelengths_nm: expected OTDR wavelengths in nm")
    route_events = _route_events(route.get("events", []), f"{where}: route")
    if "plan" in route:
        plan_path = path.parent / _path_field(route, "plan", f"{where}: route")
        route_events = _route_events(_load_yaml(plan_path).get("events"), str(plan_path))
    credentials = None
    if "credentials" in data:
        credentials = (path.parent / _path_field(data, "credentials", where)).resolve()
    return StationFile(
        route_events=route_events, credentials=credentials,
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


@_one_line
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
