"""A password that never shows itself: :class:`Secret`, a ``str`` whose ``repr`` is ``'***'``.

An instrument password is handed to a driver as a :class:`Secret`. It is sent as it is (it is
a ``str``), but wherever it is *shown* by ``repr`` it reads ``'***'``: pytest's traceback,
which prints the arguments of every function on the way down (``password = '***'``) into the
terminal and ``junit.xml``; a ``dataclass`` or ``dict`` repr; ``{line!r}`` in an error message
of the SCPI session. Text made from it (``f"{secret}"``, ``secret + "\\n"``) is a plain ``str``:
code that builds a command line from it must not put that line in a message.
"""

from __future__ import annotations

REDACTED = "***"


class Secret(str):
    """A secret string: equal to and sent as its value, shown as ``'***'`` by ``repr``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(REDACTED)

    def __reduce__(self):  # pickled (e.g. to another process) it stays a Secret
        return (Secret, (str(self),))


def redact(text: str, secrets: "list[str] | tuple[str, ...] | set[str]") -> str:
    """``text`` with every occurrence of each non-empty secret replaced by ``***``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(str.__str__(secret), REDACTED)
    return text
