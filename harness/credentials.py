"""Instrument logins for a run: ``password_env`` in the station file, or a credentials file.

A station file never holds a password (:func:`harness.config.load_station_file` refuses one).
An instrument entry names the environment variable holding its password
(``password_env: TL1_PASSWORD``, with ``user:`` beside it), or a credentials file gives it. The
credentials file (``--credentials FILE``, or ``credentials: PATH`` in the station file, relative
to it) is YAML, readable by its owner only (mode 0600, as ssh wants of a private key), kept
outside the run folder, and maps an instrument, ``STATION/role`` or its resource string, to
``{user: NAME, password: PASSWORD}``. Passwords come back as :class:`~instruments.secret.Secret`.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from harness.config import StationFile
from harness.errors import ConfigError
from instruments.logins import password_from_env, resolve_logins
from instruments.safe_yaml import load_yaml_file
from instruments.secret import Secret

Login = tuple[str, Secret]


def check_private_file(path: Path, what: str) -> None:
    """Refuse ``path`` if its group or others may read or write it (ssh's rule for a key)."""
    try:
        mode = stat.S_IMODE(Path(path).stat().st_mode)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    if mode & 0o077:
        raise ConfigError(f"{path}: permissions {mode:04o} for {what} {path} are too open: it must "
                          f"be readable by its owner only (chmod 600 {path})")


def load_credentials(path: Path, run_dir: Path | None = None) -> dict[str, Login]:
    """The credentials file: ``{instrument: (user, password)}`` (instrument = ``STATION/role``
    or a resource string). Refused when readable by others or inside ``run_dir``."""
    path = Path(path)
    if run_dir is not None and Path(run_dir).resolve() in path.resolve().parents:
        raise ConfigError(f"{path}: a credentials file must not be inside the run folder "
                          f"{run_dir} (everything there is handed over with the report)")
    check_private_file(path, "credentials file")
    data = load_yaml_file(path, ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of instruments (STATION/role or resource) "
                          "to {user: NAME, password: PASSWORD}")
    logins = {}
    for key, spec in data.items():
        # the message names the key, never the value (it may hold the password)
        if not isinstance(spec, dict) or not isinstance(spec.get("password"), str) \
                or not isinstance(spec.get("user", ""), str):
            raise ConfigError(f"{path}: {str(key)[:80]}: expected {{user: NAME, password: PASSWORD}}")
        logins[str(key)] = (spec.get("user", ""), Secret(spec["password"]))
    return logins


def credentials_path(station: StationFile, given: Path | None) -> Path | None:
    """The credentials file of a run: ``--credentials`` if given, else the station file's."""
    return Path(given) if given else station.credentials


def instrument_logins(station: StationFile, credentials: Path | None = None,
                      run_dir: Path | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """Driver options ``{"user": ..., "password": Secret}`` for each instrument with a login:
    its ``password_env`` first, else the credentials file's entry for ``STATION/role`` or its
    resource. Raises ConfigError (naming a variable or instrument, never a password)."""
    path = credentials_path(station, credentials)
    from_file = load_credentials(path, run_dir) if path else {}
    logins: dict[tuple[str, str], dict[str, Any]] = {}
    for name, roles in station.instruments.items():
        for role, inst in roles.items():
            where = f"{station.path}: stations.{name}.{role}"
            if inst.password_env:
                password = password_from_env(inst.password_env, where, ConfigError)
                logins[(name, role)] = {"password": password}
                continue
            entry = from_file.get(f"{name}/{role}") or from_file.get(inst.resource)
            if entry:
                user, password = entry
                logins[(name, role)] = ({"user": user} if user else {}) | {"password": password}
    return logins


def simulator_logins(station: StationFile) -> dict[str, Login]:
    """The logins the station file's simulator is told to expect (``simulator.logins``)."""
    specs = (station.simulator or {}).get("logins") or {}
    return resolve_logins(specs, f"{station.path}: simulator.logins", ConfigError)


def all_secrets(logins: dict[Any, dict[str, Any]], extra: dict[str, Login] | None = None) -> set[str]:
    """Every password of ``logins`` (and ``extra``), for scrubbing text that leaves the run."""
    found = {str(o["password"]) for o in logins.values() if o.get("password")}
    return found | {str(p) for _, p in (extra or {}).values() if p}
