"""What a transport tells an optional observer about each exchange (the I/O transcript's source).

The SCPI session (:mod:`instruments.visa_session`) and the TL1 console transport
(:mod:`instruments.transponder.tl1_transport`) call ``observer(event)`` with one
:class:`IoEvent` per exchange; the drivers never see it, and nothing here knows about files.
Credentials are masked before an event is made, so an observer never holds one:

- the TL1 login ``ACT-USER:[TID]:UID:CTAG::PID;`` (Telcordia GR-831: the PID is the password)
  keeps its user and loses its PID, in what is sent and in any echo received;
- on an SCPI socket, the line sent after a reply that starts with a credential prompt
  (:data:`CREDENTIAL_PROMPTS`: the Yokogawa AQ6370-family LAN login answers ``open "user"``
  with ``AUTHENTICATE CRAM-MD5.`` and the next line is the password) is shown as
  :data:`MASK`, in the event and in the error message of that exchange.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

MASK = "***"
"""What a credential is replaced with."""

CREDENTIAL_PROMPTS = ("AUTHENTICATE",)
"""Replies after which the next line an SCPI client sends is a password (AQ6370 LAN login)."""

_ACT_USER = re.compile("ACT-USER", re.IGNORECASE)


def mask_tl1_login(text: str) -> str:
    """Every ``ACT-USER`` message in ``text`` with what follows its fifth field (the PID) replaced
    by :data:`MASK`; a malformed one keeps only its verb, TID and UID."""
    out, pos = [], 0
    for m in _ACT_USER.finditer(text):
        if m.start() < pos:
            continue
        end = text.find(";", m.end())
        end = len(text) if end < 0 else end
        fields = text[m.start():end].split(":")
        keep = 5 if len(fields) >= 6 else 3
        masked = ":".join(fields[:keep] + ([MASK] if len(fields) > keep else []))
        out += [text[pos:m.start()], masked]
        pos = end
    out.append(text[pos:])
    return "".join(out)


@dataclass(frozen=True)
class IoEvent:
    """One exchange (or connection step) on an instrument's transport.

    op: ``open``, ``write``, ``query``, ``block``, ``reopen``, ``close`` (SCPI) or ``command``,
    ``autonomous``, ``reopen``, ``close`` (TL1); sent: the line sent (credentials masked);
    reply: the reply's bytes or their first bytes (a block: the first payload bytes);
    reply_len: the reply's full length (bytes; None when no reply); started: start time (s
    since the epoch); duration_s: wall seconds from sending to the end of the reply or the
    error; error: the failure (exception type and message), empty when none; retry: the
    transport knows this is a repeat of a failed exchange; note: anything else worth keeping.
    """

    op: str
    sent: str = ""
    reply: bytes | None = None
    reply_len: int | None = None
    started: float = 0.0
    duration_s: float = 0.0
    error: str = ""
    retry: bool = False
    note: str = ""


Observer = Callable[[IoEvent], None]
"""Called once per :class:`IoEvent`; must not raise (a transcript never breaks a run)."""

REPLY_HEAD = 256
"""Reply bytes a transport hands to its observer at most (the transcript keeps fewer)."""


def notify(observer: Observer | None, event: IoEvent) -> None:
    """Give ``event`` to ``observer``; an observer's own failure is swallowed."""
    if observer is None:
        return
    try:
        observer(event)
    except Exception:  # the transcript is a diagnostic; it must never end a measurement
        pass
