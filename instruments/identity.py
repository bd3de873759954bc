"""How a model recognises its own identity reply (``*IDN?`` or TL1 ``RTRV-NETYPE``).

Each model's registry entry (:mod:`instruments.registry`) holds one :class:`Identity`: the
maker and model patterns its identity reply must match, with where they come from. The
preflight (``harness check``, and ``harness run`` before any run folder exists) compares the
reply of the instrument at the station file's address with the model the file names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class IdentityFields:
    """An identity reply split into its fields (empty when absent)."""

    maker: str
    model: str
    serial: str
    firmware: str


@dataclass(frozen=True)
class Identity:
    """The identity reply a model gives.

    query: what asks it (``*IDN?``, or ``RTRV-NETYPE`` after the TL1 login); maker, model:
    regular expressions (case-insensitive, matched at the start of the field) for the first
    and second comma-separated fields; an empty pattern accepts any value; layout: the
    fields' names in order (IEEE 488.2 ``*IDN?``: maker, model, serial, firmware;
    ``RTRV-NETYPE`` as vendors answer it: vendor, model, NE type, software release);
    expected: how an engineer would recognise it (for messages); source: where the patterns
    come from.
    """

    query: str
    maker: str
    model: str
    expected: str
    source: str
    layout: tuple[str, ...] = ("maker", "model", "serial", "firmware")

    def fields(self, reply: str) -> IdentityFields:
        """The reply's maker, model, serial (or NE type) and firmware (software release)."""
        parts = [p.strip().strip('"') for p in reply.strip().split(",")]
        named = dict(zip(self.layout, parts))
        firmware = named.get("firmware") or (parts[-1] if len(parts) >= len(self.layout) else "")
        serial = named.get("serial", "") or named.get("netype", "")
        return IdentityFields(named.get("maker", ""), named.get("model", ""), serial, firmware)

    def matches(self, reply: str) -> bool:
        """Whether ``reply`` is this model's identity."""
        f = self.fields(reply)
        if not f.maker and not f.model:
            return False
        return all(re.match(pattern, value, re.IGNORECASE) is not None
                   for pattern, value in ((self.maker, f.maker), (self.model, f.model))
                   if pattern)
