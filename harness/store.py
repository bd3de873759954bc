"""The run record: one HDF5 file (``run.h5``) per run, written as the run goes.

Layout (schema ``caspian-harness/run/1``):
- root attributes: run identity and provenance (station, software version, times, file hashes);
- ``/instruments/<STATION>/<role>``: model, resource and ``*IDN?`` of every instrument used;
- ``/acquisitions/<nnnn>``: every trace or PM reading taken, datasets ``x`` and ``y`` with
  ``units`` and ``label`` attributes (PM readings add one dataset per value), and the request
  that produced it (attribute ``request``, canonical JSON) so replay can serve it again;
- ``/checks/<key>``: one group per check with its verdict, message and context;
  ``measurements/<name>`` scalar datasets with units, limits and verdict; ``traces/<name>``
  soft links to the acquisitions the check used, ``events`` compound datasets where analysed.

Each write opens, writes, flushes and closes the file, so a killed run leaves every completed
measurement on disk.
"""

from __future__ import annotations

import json
import math
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import h5py
import numpy as np

from harness.errors import StoreError

SCHEMA = "caspian-harness/run/1"
EVENT_DTYPE = np.dtype([("distance_m", "f8"), ("loss_db", "f8"), ("reflectance_db", "f8"),
                        ("type", "S16")])


def check_key(nodeid: str) -> str:
    """An HDF5-safe group name for a pytest node id."""
    name = nodeid.split("::", 1)[-1]
    return re.sub(r"[^A-Za-z0-9_.\-\[\]=+]", "_", name)


def canonical(request: dict[str, Any]) -> str:
    """The canonical JSON form of an acquisition request (sorted keys, floats as given)."""
    return json.dumps(request, sort_keys=True, separators=(",", ":"))


class RunStore:
    """Writer and reader of one run's ``run.h5``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _open(self, mode: str = "a") -> Iterator[h5py.File]:
        try:
            f = h5py.File(self.path, mode)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot open the run record: {exc}") from None
        try:
            yield f
            if mode != "r":
                f.flush()
        finally:
            f.close()

    def create(self, attrs: dict[str, Any]) -> None:
        """Start a new record with root attributes ``attrs``."""
        with self._open("w") as f:
            f.attrs["schema"] = SCHEMA
            for key, value in attrs.items():
                f.attrs[key] = value
            f.create_group("instruments")
            f.create_group("acquisitions")
            f.create_group("checks")

    def set_attrs(self, attrs: dict[str, Any], group: str = "/") -> None:
        with self._open() as f:
            for key, value in attrs.items():
                f[group].attrs[key] = value

    def add_instrument(self, station: str, role: str, attrs: dict[str, str]) -> None:
        with self._open() as f:
            g = f.require_group(f"instruments/{station}/{role}")
            for key, value in attrs.items():
                g.attrs[key] = value

    def add_acquisition(self, request: dict[str, Any], x: np.ndarray, y: np.ndarray,
                        x_units: tuple[str, str], y_units: tuple[str, str],
                        attrs: dict[str, Any], extra: dict[str, np.ndarray] | None = None) -> str:
        """Store one acquisition; returns its path in the file."""
        with self._open() as f:
            group = f["acquisitions"]
            path = f"acquisitions/{len(group):04d}"
            g = f.create_group(path)
            g.attrs["request"] = canonical(request)
            for key, value in attrs.items():
                g.attrs[key] = value
            for name, data, (units, label) in (("x", x, x_units), ("y", y, y_units)):
                ds = g.create_dataset(name, data=np.asarray(data, dtype=np.float64),
                                      compression="gzip", compression_opts=1, shuffle=True)
                ds.attrs["units"] = units
                ds.attrs["label"] = label
            for name, data in (extra or {}).items():
                g.create_dataset(name, data=np.asarray(data, dtype=np.float64))
            return "/" + path

    def write_check(self, key: str, attrs: dict[str, Any], measurements: list[Any],
                    traces: dict[str, str], events: dict[str, list[dict]]) -> None:
        """Store (or replace) the result of one check."""
        with self._open() as f:
            path = f"checks/{key}"
            if path in f:
                del f[path]
            g = f.create_group(path)
            for k, v in attrs.items():
                g.attrs[k] = v
            mg = g.create_group("measurements")
            for m in measurements:
                ds = mg.create_dataset(m.name, data=float(m.value))
                ds.attrs.update({"units": m.limit.units, "low": m.limit.low,
                                 "high": m.limit.high, "marginal_low": m.limit.marginal_low,
                                 "marginal_high": m.limit.marginal_high, "verdict": m.verdict,
                                 "description": m.description or m.limit.description,
                                 "limit": m.limit.name, "requirement": m.limit.requirement})
            tg = g.create_group("traces")
            for name, target in traces.items():
                tg[name] = h5py.SoftLink(target)
            for name, rows in events.items():
                data = np.array([(r["distance_m"], r["loss_db"],
                                  r["reflectance_db"] if r["reflectance_db"] is not None else math.nan,
                                  r["type"].encode()) for r in rows], dtype=EVENT_DTYPE)
                g.create_dataset(f"events/{name}", data=data)

    # --- reading -------------------------------------------------------------------------
    def read_attrs(self) -> dict[str, Any]:
        with self._open("r") as f:
            return {k: _py(v) for k, v in f.attrs.items()}

    def read_checks(self) -> dict[str, dict[str, Any]]:
        """Every check: its attributes and measurements (name → value, units, verdict)."""
        out = {}
        with self._open("r") as f:
            for key, g in f["checks"].items():
                row = {k: _py(v) for k, v in g.attrs.items()}
                row["measurements"] = {
                    name: {"value": float(ds[()]), **{k: _py(v) for k, v in ds.attrs.items()}}
                    for name, ds in g["measurements"].items()}
                out[key] = row
        return out

    def read_acquisitions(self) -> dict[str, dict[str, Any]]:
        """Every acquisition by its canonical request: attributes and arrays."""
        out = {}
        with self._open("r") as f:
            for name, g in f["acquisitions"].items():
                row = {k: _py(v) for k, v in g.attrs.items()}
                row["arrays"] = {k: np.asarray(ds[()]) for k, ds in g.items()}
                row["path"] = f"/acquisitions/{name}"
                out[row["request"]] = row
        return out

    def read_instruments(self) -> dict[str, dict[str, dict[str, Any]]]:
        with self._open("r") as f:
            return {station: {role: {k: _py(v) for k, v in g.attrs.items()}
                              for role, g in sg.items()}
                    for station, sg in f["instruments"].items()}


def _py(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value
