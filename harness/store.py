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

While a run goes on, nothing is written to ``run.h5``: each step goes to its own durable file
under ``steps/`` (see :mod:`harness.steps`), and :meth:`RunStore.consolidate` assembles
``run.h5`` from the journalled steps, atomically, when the run ends (or when a killed run is
finished or resumed).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import h5py
import numpy as np

from harness.errors import StoreError
from harness.steps import Journal, atomic_write

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
    """Writer (step files) and reader (``run.h5``) of one run's record."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.steps = self.path.parent / "steps"
        self.journal = Journal(self.steps)
        self._acquisitions: int | None = None
        """Acquisitions journalled so far: counted from the journal once, then kept, so a long
        run does not re-read its whole journal at every step."""

    @contextmanager
    def _open(self, mode: str = "r", path: Path | None = None) -> Iterator[h5py.File]:
        target = path or self.path
        try:
            f = h5py.File(target, mode)
        except OSError as exc:
            raise StoreError(f"{target}: cannot open the run record: {exc}") from None
        try:
            yield f
        finally:
            f.close()

    # --- writing: one durable step file per step ---------------------------------------------
    def _write_json(self, name: str, data: dict[str, Any]) -> None:
        path = self.steps / name
        digest = atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, sort_keys=True)))
        self.journal.append(name, digest)

    def _read_json(self, name: str) -> dict[str, Any]:
        path = self.steps / name
        try:
            return json.loads(path.read_text()) if path.exists() else {}
        except ValueError:
            raise StoreError(f"{path}: unreadable step file") from None

    def create(self, attrs: dict[str, Any]) -> None:
        """Start a new record with root attributes ``attrs``."""
        try:
            self.steps.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.steps}: cannot create: {exc.strerror or exc}") from None
        self._write_json("run.json", {"schema": SCHEMA, **attrs})

    def set_attrs(self, attrs: dict[str, Any]) -> None:
        self._write_json("run.json", {**self._read_json("run.json"), **attrs})

    def add_instrument(self, station: str, role: str, attrs: dict[str, str]) -> None:
        data = self._read_json("instruments.json")
        data.setdefault(station, {})[role] = attrs
        self._write_json("instruments.json", data)

    def add_prompt(self, entry: dict[str, Any]) -> None:
        """Record an operator prompt and its answer (who, how, when)."""
        data = self._read_json("prompts.json")
        data.setdefault("prompts", []).append(entry)
        self._write_json("prompts.json", data)

    def add_acquisition(self, request: dict[str, Any], x: np.ndarray, y: np.ndarray,
                        x_units: tuple[str, str], y_units: tuple[str, str],
                        attrs: dict[str, Any], extra: dict[str, np.ndarray] | None = None) -> str:
        """Store one acquisition durably; returns its path in the consolidated record.
        ``extra`` datasets are stored as float64, except uint8 arrays (bytes), kept as such."""
        if self._acquisitions is None:
            self._acquisitions = sum(1 for n in self.journal.entries() if n.startswith("acq-"))
        index = self._acquisitions
        name = f"acq-{index:04d}.h5"

        def write(tmp: Path) -> None:
            with self._open("w", tmp) as f:
                f.attrs["request"] = canonical(request)
                for key, value in attrs.items():
                    f.attrs[key] = value
                for ds_name, data, (units, label) in (("x", x, x_units), ("y", y, y_units)):
                    ds = f.create_dataset(ds_name, data=np.asarray(data, dtype=np.float64),
                                          compression="gzip", compression_opts=1, shuffle=True)
                    ds.attrs["units"] = units
                    ds.attrs["label"] = label
                for ds_name, data in (extra or {}).items():
                    arr = np.asarray(data)  # uint8 (opaque bytes, e.g. .sor vendor blocks) kept
                    f.create_dataset(ds_name, data=arr if arr.dtype == np.uint8
                                     else arr.astype(np.float64))
        self.journal.append(name, atomic_write(self.steps / name, write), request=canonical(request))
        self._acquisitions = index + 1
        return f"/acquisitions/{index:04d}"

    def write_check(self, key: str, attrs: dict[str, Any], measurements: list[Any],
                    traces: dict[str, str], events: dict[str, list[dict]]) -> None:
        """Store (or replace) the result of one check durably."""
        name = f"check-{hashlib.sha1(key.encode()).hexdigest()[:16]}.h5"

        def write(tmp: Path) -> None:
            with self._open("w", tmp) as f:
                f.attrs["key"] = key
                _write_check_group(f.create_group("check"), attrs, measurements, traces, events)
        self.journal.append(name, atomic_write(self.steps / name, write), check=key,
                            verdict=attrs.get("verdict", ""))

    def consolidate(self) -> Path:
        """Assemble ``run.h5`` from the journalled step files (atomically); returns its path."""
        good = self.journal.verified()
        run_attrs = self._read_json("run.json")

        def write(tmp: Path) -> None:
            with self._open("w", tmp) as out:
                for key, value in run_attrs.items():
                    out.attrs[key] = value
                inst = out.create_group("instruments")
                for station, roles in self._read_json("instruments.json").items():
                    for role, values in roles.items():
                        g = inst.require_group(f"{station}/{role}")
                        for k, v in values.items():
                            g.attrs[k] = v
                rows = self._read_json("prompts.json").get("prompts", [])
                out.create_dataset("prompts", data=[json.dumps(r, sort_keys=True) for r in rows],
                                   dtype=h5py.string_dtype())
                acq = out.create_group("acquisitions")
                checks = out.create_group("checks")
                for name in sorted(good):
                    if name.startswith("acq-"):
                        with self._open("r", self.steps / name) as src:
                            g = acq.create_group(name[4:8])
                            _copy(src, g)
                    elif name.startswith("check-"):
                        with self._open("r", self.steps / name) as src:
                            src.copy(src["check"], checks, name=str(src.attrs["key"]))
        atomic_write(self.path, write)
        return self.path

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
        """Every acquisition of the consolidated record by its canonical request."""
        out = {}
        with self._open("r") as f:
            for name, g in f["acquisitions"].items():
                row = _acquisition_row(g, f"/acquisitions/{name}")
                out[row["request"]] = row
        return out

    def read_step_acquisitions(self) -> dict[str, dict[str, Any]]:
        """Every verified acquisition step of a run in progress (or killed), by request."""
        out = {}
        for name in sorted(self.journal.verified()):
            if name.startswith("acq-"):
                with self._open("r", self.steps / name) as f:
                    row = _acquisition_row(f, f"/acquisitions/{name[4:8]}")
                out[row["request"]] = row
        return out

    def run_attrs(self) -> dict[str, Any]:
        """The root attributes written so far (readable while the run goes on or after a kill)."""
        return self._read_json("run.json")

    def read_prompts(self) -> list[dict[str, Any]]:
        """The operator prompts and answers of a consolidated record, in the order asked."""
        with self._open("r") as f:
            if "prompts" not in f:
                return []
            return [json.loads(_py(v)) for v in f["prompts"][()]]

    def read_instruments(self) -> dict[str, dict[str, dict[str, Any]]]:
        with self._open("r") as f:
            return {station: {role: {k: _py(v) for k, v in g.attrs.items()}
                              for role, g in sg.items()}
                    for station, sg in f["instruments"].items()}


def _acquisition_row(g: h5py.Group, path: str) -> dict[str, Any]:
    row = {k: _py(v) for k, v in g.attrs.items()}
    row["arrays"] = {k: np.asarray(ds[()]) for k, ds in g.items()}
    row["path"] = path
    return row


def _py(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _copy(src: h5py.File, dst: h5py.Group) -> None:
    for k, v in src.attrs.items():
        dst.attrs[k] = v
    for name in src:
        src.copy(src[name], dst, name=name)


def _write_check_group(g: h5py.Group, attrs: dict[str, Any], measurements: list[Any],
                       traces: dict[str, str], events: dict[str, list[dict]]) -> None:
    for k, v in attrs.items():
        g.attrs[k] = v
    mg = g.create_group("measurements")
    for m in measurements:
        ds = mg.create_dataset(m.name, data=float(m.value))
        ds.attrs.update({"units": m.limit.units, "low": m.limit.low, "high": m.limit.high,
                         "marginal_low": m.limit.marginal_low,
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
