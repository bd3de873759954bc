"""The analysis version: what makes two judgements of the same stored run comparable."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = (REPO / "harness" / "analysis", REPO / "test_plans" / "acceptance")


@lru_cache(maxsize=1)
def analysis_version() -> str:
    """First 12 hex digits of the SHA-256 over the analysis code and the acceptance plan (every
    ``*.py`` of :data:`SOURCES`, by relative path and content): it changes with any fix to
    either, and only then."""
    h = hashlib.sha256()
    for folder in SOURCES:
        for path in sorted(folder.rglob("*.py")):
            h.update(path.relative_to(REPO).as_posix().encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()[:12]
