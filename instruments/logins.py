"""Logins named, never written: ``{user, password_env}`` entries and reading them.

A station file's instrument entry, its ``simulator.logins`` section, a span file's ``logins``
section and ``harness sim --login`` name the environment variable holding a password
(``password_env``), never the password, so no file copied into a run folder holds one. The
password read is a :class:`~instruments.secret.Secret` (shown as ``'***'``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from instruments.secret import Secret

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
SECRET_KEYS = ("password", "passwd", "pwd", "passphrase")
"""Keys a station or span file may not hold (a password written out in it)."""


def find_secret_key(data: Any, path: str = "") -> str:
    """The dotted path of the first key in ``data`` (any depth) that writes a password out, or
    an empty string."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            if str(key).strip().lower() in SECRET_KEYS:
                return here
            found = find_secret_key(value, here)
            if found:
                return found
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found = find_secret_key(value, f"{path}[{i}]")
            if found:
                return found
    return ""


def check_env_name(name: Any, where: str, error: type[Exception]) -> str:
    """``name`` if it is an environment variable name, else ``error`` naming ``where``."""
    if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
        raise error(f"{where}: expected the name of an environment variable (e.g. TL1_PASSWORD)")
    return name


def password_from_env(name: str, where: str, error: type[Exception],
                      environ: Mapping[str, str] = os.environ) -> Secret:
    """The password in environment variable ``name``; ``error`` (naming the variable, never a
    value) when it is not set."""
    value = environ.get(name)
    if value is None:
        raise error(f"{where}: environment variable {name} (password_env) is not set")
    return Secret(value)


def login_specs(data: Any, where: str, error: type[Exception]) -> dict[str, dict[str, str]]:
    """A ``logins`` section checked: ``{"STATION/role": {"user": ..., "password_env": VAR}}``."""
    if not isinstance(data, Mapping):
        raise error(f"{where}: expected a mapping of STATION/role to user and password_env")
    specs = {}
    for key, spec in data.items():
        here = f"{where}.{key}"
        if not isinstance(key, str) or key.count("/") != 1 or not isinstance(spec, Mapping):
            raise error(f"{here}: expected STATION/role: {{user: NAME, password_env: VARIABLE}}")
        unknown = sorted(str(k) for k in spec if k not in ("user", "password_env"))
        if unknown:
            raise error(f"{here}: unknown key {unknown[0]!r} (known: user, password_env)")
        user = spec.get("user", "")
        if not isinstance(user, str):
            raise error(f"{here}.user: expected a user name")
        specs[key] = {"user": user,
                      "password_env": check_env_name(spec.get("password_env"),
                                                     f"{here}.password_env", error)}
    return specs


def resolve_logins(specs: Mapping[str, Mapping[str, str]], where: str, error: type[Exception],
                   environ: Mapping[str, str] = os.environ) -> dict[str, tuple[str, Secret]]:
    """``{"STATION/role": (user, password)}`` with each password read from its variable."""
    return {key: (spec["user"], password_from_env(spec["password_env"], f"{where}.{key}", error,
                                                  environ))
            for key, spec in specs.items()}


def parse_login_option(text: str, error: type[Exception]) -> tuple[str, dict[str, str]]:
    """``STATION/role=USER:VARIABLE`` (``harness sim --login``) as a ``logins`` entry."""
    key, sep, rest = text.partition("=")
    user, colon, env = rest.rpartition(":")
    if not sep or not colon:
        raise error(f"--login {text[:80]!r}: expected STATION/role=USER:VARIABLE (the password "
                    "is read from environment variable VARIABLE, never given on the command line)")
    spec = login_specs({key.strip(): {"user": user, "password_env": env.strip()}}, "--login", error)
    return key.strip(), spec[key.strip()]
