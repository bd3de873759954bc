"""Fixtures of the transponder tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def lit(span):
    """FP1-F1 (AKTAU → SUMGAIT) carries traffic for the test; the span's state is put back."""
    before = dict(span.in_service)
    span.set_in_service("FP1-F1", True)
    yield span
    span.in_service.clear()
    span.in_service.update(before)
