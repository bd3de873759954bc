"""Durable step files: how a run's measurements reach the disk while the run goes on.

HDF5 is not crash-safe when written in place, so nothing is. Each completed step (an
acquisition, a check's result, the run's attributes) is written to its own file in
``steps/``: to a temporary name, fsync'd, renamed atomically, the folder fsync'd, and then its
SHA-256 appended (and fsync'd) to ``steps/journal.jsonl``. A killed run leaves at most the step
in flight unfinished; every journalled step opens and matches its hash.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[Path], None]) -> str:
    """Create ``path`` through ``write(tmp_path)``, durably and atomically; returns its SHA-256."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    with open(tmp, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)
    return digest


class Journal:
    """``steps/journal.jsonl``: one line per completed step file, with its hash."""

    def __init__(self, steps_dir: Path) -> None:
        self.path = steps_dir / "journal.jsonl"

    def append(self, name: str, digest: str, **info: Any) -> None:
        line = json.dumps({"file": name, "sha256": digest, **info}, sort_keys=True) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def entries(self) -> dict[str, dict[str, Any]]:
        """The latest entry for each step file; a torn last line (a crash mid-write) is ignored."""
        out: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return out
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                out[entry["file"]] = entry
            except (ValueError, KeyError, TypeError):
                continue
        return out

    def verified(self) -> dict[str, dict[str, Any]]:
        """Entries whose file exists and still has the journalled hash."""
        good = {}
        for name, entry in self.entries().items():
            path = self.path.parent / name
            try:
                if hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]:
                    good[name] = entry
            except OSError:
                continue
        return good
