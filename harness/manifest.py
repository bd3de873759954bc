"""``manifest.json``: the SHA-256 of every file of a run folder, and checking it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from harness.errors import StoreError

MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_files(run_dir: Path) -> list[Path]:
    """Every file of the run folder except the manifest and the signatures over it, sorted."""
    return sorted(p for p in run_dir.rglob("*") if p.is_file()
                  and p.relative_to(run_dir).as_posix() not in (MANIFEST, "signatures.json"))


def write_manifest(run_dir: Path) -> Path:
    """Hash every file of ``run_dir`` into ``manifest.json``."""
    files = {str(p.relative_to(run_dir)): sha256_file(p) for p in run_files(run_dir)}
    out = run_dir / MANIFEST
    out.write_text(json.dumps({"algorithm": "sha256", "files": files}, indent=2) + "\n")
    return out


def verify_manifest(run_dir: Path) -> list[str]:
    """Problems found (empty when every hash matches and no file is missing or extra)."""
    path = run_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text())
        listed = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise StoreError(f"{path}: missing or unreadable manifest") from None
    problems = []
    present = {str(p.relative_to(run_dir)) for p in run_files(run_dir)}
    for name, digest in sorted(listed.items()):
        if name not in present:
            problems.append(f"{name}: missing")
        elif sha256_file(run_dir / name) != digest:
            problems.append(f"{name}: changed (SHA-256 does not match the manifest)")
    for name in sorted(present - set(listed)):
        problems.append(f"{name}: not in the manifest")
    return problems
