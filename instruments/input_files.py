"""Reading a file an engineer hands over (station, span, limits, route, .sor, OSA CSV) without
trusting its size: at most ``max_bytes`` are read, and every failure is one line of the
caller's own error type."""

from __future__ import annotations

import os
from pathlib import Path


def read_input_file(path: str | os.PathLike[str], max_bytes: int,
                    error: type[Exception], what: str = "an input file") -> bytes:
    """The bytes of ``path``; raises ``error`` naming the path when it cannot be read, is not a
    valid file name, or holds more than ``max_bytes`` bytes (then it is ``what`` it is not)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError:  # e.g. a NUL byte in the path
        raise error(f"{path!r}: not a valid file name") from None
    if len(data) > max_bytes:
        raise error(f"{path}: larger than {max_bytes // (1024 * 1024)} MiB, not {what}")
    return data
