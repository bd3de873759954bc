"""TL1 message grammar (Telcordia GR-831), shared by the transponder driver and the simulated agent.

Input:  ``VERB-MOD1-MOD2:TID:AID:CTAG::params;``
Output: ``\\r\\n\\n   SID YY-MM-DD HH:MM:SS\\r\\nM  CTAG COMPLD\\r\\n   "line"\\r\\n;``
Autonomous: the same header, then ``*C ATAG REPT ALM OCH`` (or ``**``, ``*``, ``A``) instead of
``M  CTAG ...``. A ``DENY`` carries a four-letter error code on the line after it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from instruments.errors import ProtocolError

TERMINATOR = "\r\n;"
MAX_MESSAGE_CHARS = 1 << 20


@dataclass(frozen=True)
class Tl1Command:
    """A parsed TL1 input message."""

    verb: str
    tid: str
    aid: str
    ctag: str
    params: tuple[str, ...] = ()


@dataclass
class Tl1Message:
    """A parsed TL1 output message: a response (``kind == "M"``) or an autonomous message."""

    kind: str
    tag: str
    completion: str
    sid: str
    lines: list[str] = field(default_factory=list)
    error_code: str = ""


def format_command(verb: str, tid: str, aid: str, ctag: str, params: str = "") -> str:
    """The text a client sends for one command."""
    return f"{verb}:{tid}:{aid}:{ctag}::{params};"


_COMMAND = re.compile(r"^\s*([A-Z0-9-]+):([^:;]*):([^:;]*):([^:;]*)(?::[^:;]*)?(?::([^;]*))?;\s*$",
                      re.IGNORECASE)


def parse_command(text: str) -> Tl1Command:
    """Parse one input message; raises :class:`ProtocolError` (GR-831 code IISP) if malformed."""
    m = _COMMAND.match(text)
    if not m:
        raise ProtocolError(f"IISP input syntax error: {text.strip()[:80]!r}")
    verb, tid, aid, ctag, params = m.groups()
    parts = tuple(p.strip() for p in (params or "").split(",")) if params else ()
    return Tl1Command(verb.upper(), tid, aid, ctag, parts)


def _header(sid: str, when: float) -> str:
    stamp = time.strftime("%y-%m-%d %H:%M:%S", time.gmtime(when))
    return f"\r\n\n   {sid} {stamp}"


def format_response(sid: str, ctag: str, lines: list[str], *, deny: str = "",
                    when: float | None = None) -> str:
    """A COMPLD response quoting ``lines``, or a DENY with error code ``deny``."""
    head = _header(sid, time.time() if when is None else when)
    if deny:
        return f"{head}\r\nM  {ctag} DENY\r\n   {deny}{TERMINATOR}"
    body = "".join(f'\r\n   "{line}"' for line in lines)
    return f"{head}\r\nM  {ctag} COMPLD{body}{TERMINATOR}"


def format_autonomous(sid: str, atag: str, code: str, verb: str, lines: list[str],
                      when: float | None = None) -> str:
    """An autonomous message (e.g. ``*C 12 REPT ALM OCH``) quoting ``lines``."""
    head = _header(sid, time.time() if when is None else when)
    body = "".join(f'\r\n   "{line}"' for line in lines)
    return f"{head}\r\n{code} {atag} {verb}{body}{TERMINATOR}"


_RESPONSE_ID = re.compile(r"^M\s+(\S+)\s+(COMPLD|DENY|PRTL|DELAY|RTRV)\s*$")
_AUTO_ID = re.compile(r"^(\*C|\*\*|\*|A)\s+(\S+)\s+(.+?)\s*$")


def parse_message(text: str) -> Tl1Message:
    """Parse one output message (without its ``;``); raises :class:`ProtocolError` if malformed."""
    rows = [r for r in text.replace("\r", "").split("\n") if r.strip()]
    if len(rows) < 2:
        raise ProtocolError(f"TL1 message too short: {text.strip()[:80]!r}")
    sid = rows[0].strip().split(" ")[0]
    m = _RESPONSE_ID.match(rows[1].strip())
    if m:
        msg = Tl1Message("M", m.group(1), m.group(2), sid)
    else:
        a = _AUTO_ID.match(rows[1].strip())
        if not a:
            raise ProtocolError(f"TL1 message has no response or autonomous id: {rows[1]!r}")
        msg = Tl1Message(a.group(1), a.group(2), a.group(3), sid)
    for row in rows[2:]:
        body = row.strip()
        if body.startswith('"') and body.endswith('"') and len(body) >= 2:
            msg.lines.append(body[1:-1])
        elif msg.completion == "DENY" and not msg.error_code and not body.startswith("/*"):
            msg.error_code = body.split()[0]
    return msg


HEADER_START = "\r\n\n"
"""How every output message begins (and nothing inside one repeats)."""


def split_messages(buffer: str) -> tuple[list[str], str]:
    """Split a receive buffer into complete messages and the incomplete rest.

    The remains of a message cut short (a dropped console, a lost character) are discarded:
    a complete message is taken from the last header start before its terminator.
    """
    if len(buffer) > MAX_MESSAGE_CHARS:
        raise ProtocolError("TL1 receive buffer overflow: no message terminator")
    parts = buffer.split(TERMINATOR)
    done = [p[max(p.rfind(HEADER_START), 0):] for p in parts[:-1]]
    return [p for p in done if p.strip()], parts[-1]


@dataclass(frozen=True)
class PmLine:
    """One line of an ``RTRV-PM`` response: ``index`` 0 is the current (partial) bin, k the
    bin k periods ago; ``validity`` ``COMPL`` for a complete bin, ``PRTL`` for a partial one."""

    aid: str
    montype: str
    value: float
    validity: str
    period: str
    index: int = 0


def parse_pm_line(line: str) -> PmLine:
    """``AID:MONTYPE,MONVAL,VLDTY,LOCN,DIRN,TMPER,MONDAT,MONTM[,INDEX]`` → :class:`PmLine`."""
    aid, _, rest = line.partition(":")
    fields = rest.split(",")
    if len(fields) < 6:
        raise ProtocolError(f"TL1 PM line has too few fields: {line!r}")
    try:
        value = float(fields[1])
        index = int(fields[8]) if len(fields) > 8 and fields[8] else 0
    except ValueError:
        raise ProtocolError(f"TL1 PM value or index is not a number: {line!r}") from None
    return PmLine(aid, fields[0], value, fields[2], fields[5], index)


def format_pm_line(aid: str, montype: str, value: float, period: str = "15-MIN",
                   when: float | None = None, index: int = 0) -> str:
    """One RTRV-PM line (bin ``index`` periods ago, 0 = current); the inverse of
    :func:`parse_pm_line`."""
    t = time.gmtime(time.time() if when is None else when)
    validity = "COMPL" if index > 0 else "PRTL"
    return (f"{aid}:{montype},{value:.6g},{validity},NEND,RCV,{period},"
            f"{time.strftime('%m-%d', t)},{time.strftime('%H-%M', t)},{index}")


def parse_index(text: str) -> range:
    """The ``INDEX`` parameter of ``RTRV-PM``: ``k`` or a TL1 range ``a&&b`` (empty: 0)."""
    lo, sep, hi = (text or "0").partition("&&")
    try:
        first, last = int(lo), int(hi if sep else lo)
    except ValueError:
        raise ProtocolError(f"IDNV PM index is not a number or a range a&&b: {text!r}") from None
    if first < 0 or last < first:
        raise ProtocolError(f"IDNV PM index range {text!r} is empty or negative")
    return range(first, last + 1)


def format_attr_line(aid: str, attrs: dict[str, str]) -> str:
    """An entity retrieval line (``RTRV-OCH``): ``AID::KEY=VALUE,KEY=VALUE``."""
    return f"{aid}::" + ",".join(f"{k}={v}" for k, v in attrs.items())


def parse_attr_line(line: str) -> tuple[str, dict[str, str]]:
    """The inverse of :func:`format_attr_line`."""
    aid, sep, rest = line.partition("::")
    if not sep:
        raise ProtocolError(f"TL1 entity line has no '::': {line!r}")
    attrs = {}
    for part in filter(None, rest.split(",")):
        key, eq, value = part.partition("=")
        if not eq:
            raise ProtocolError(f"TL1 entity line field is not KEY=VALUE: {line!r}")
        attrs[key.strip()] = value.strip()
    return aid, attrs


def parse_alarm_line(line: str) -> tuple[str, str, str, str]:
    """``AID,TYPE:NTFCNCDE,CONDTYPE,SRVEFF,...:\\"descr\\"`` → (aid, condition, severity, descr)."""
    head, _, rest = line.partition(":")
    fields = rest.split(",")
    if len(fields) < 3:
        raise ProtocolError(f"TL1 alarm line has too few fields: {line!r}")
    descr = ""
    if '\\"' in line:
        descr = line.split('\\"')[1]
    return head.split(",")[0], fields[1], fields[0], descr


def format_alarm_line(aid: str, condition: str, severity: str, description: str,
                      when: float | None = None) -> str:
    """One RTRV-ALM line; the inverse of :func:`parse_alarm_line`."""
    t = time.gmtime(time.time() if when is None else when)
    return (f"{aid},OCH:{severity},{condition},SA,{time.strftime('%m-%d', t)},"
            f"{time.strftime('%H-%M-%S', t)},NEND,RCV:\\\"{description}\\\"")
