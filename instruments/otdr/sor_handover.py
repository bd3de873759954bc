"""The .sor hand-over shared by the OTDR drivers: the instrument sends the Telcordia SR-4731
file of its last acquisition as a binary block; the driver checks it with the project's own
reader (:mod:`harness.sor.reader`) before handing the raw bytes on."""

from __future__ import annotations

import numpy as np

from harness.sor import SorError, SorRecord, read_sor
from instruments.errors import ProtocolError


def check_sor(payload: bytes | bytearray) -> bytes:
    """The payload as bytes if it parses as a .sor file; :class:`ProtocolError` otherwise (a
    checksum mismatch only warns, as the reader does)."""
    data = bytes(payload)
    try:
        read_sor(data)
    except SorError as exc:
        raise ProtocolError(f"the .sor file handed over is malformed: {exc}") from None
    return data


def sor_level_db(record: SorRecord) -> tuple[np.ndarray, np.ndarray]:
    """(distance m, level dB in the harness convention: higher = more power) of a record's
    trace. SR-4731 stores loss below a reference level, so the level is known up to that
    reference: this returns ``-loss`` (0 dB at the file's reference)."""
    return record.data.distance_m, -record.data.level_db
