"""Instrument models known to the harness: model name → kind, driver class, and how to open it.

Adding a model is adding one driver module and one entry in :data:`MODELS`. Opening takes the
instrument's lock (:mod:`instruments.lock`) first, so two processes never drive one instrument,
then asks the instrument who it is: an instrument that does not answer fails here, with its
lock released, not at its first use. The driver's ``close`` releases the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import serial

from instruments.errors import InstrumentError
from instruments.lock import ResourceLock
from instruments.osa.yokogawa_aq6370 import YokogawaAq6370
from instruments.otdr.anritsu_mt9083 import AnritsuMt9083
from instruments.protocols import Instrument
from instruments.transponder.tl1_gr831 import Tl1Gr831
from instruments.visa_session import CHUNK_SIZE, ScpiSession


@dataclass(frozen=True)
class Model:
    """One supported model: its kind (``otdr``/``osa``/``transponder``), transport and opener."""

    name: str
    kind: str
    transport: str  # "visa" or "serial"
    open: Callable[..., Instrument]


def _open_visa(driver: type) -> Callable[..., Instrument]:
    def opener(resource: str, timeout_s: float = 10.0, chunk_size: int = CHUNK_SIZE,
               **options: object) -> Instrument:
        """timeout_s: per-read timeout (s); chunk_size: block read size (bytes); other options
        go to the driver (e.g. ``retries``, ``time_scale``, ``margin_s``, login)."""
        lock = ResourceLock(resource).acquire()
        try:
            session = ScpiSession(resource, timeout_s=timeout_s, chunk_size=chunk_size, lock=lock)
        except BaseException:
            lock.release()
            raise
        try:
            instrument = driver(session, **options)
            instrument.identify()
            return instrument
        except BaseException:
            session.close()
            raise
    return opener


def _open_tl1(resource: str, timeout_s: float = 10.0, baud: int = 9600, parity: str = "N",
              rtscts: bool = False, xonxoff: bool = False, bytesize: int = 8,
              stopbits: float = 1, **options: object) -> Instrument:
    """Serial settings from the station options: baud (bit/s), parity N/E/O/M/S, data bits,
    stop bits, RTS/CTS and XON/XOFF flow control; ``timeout_s`` per response (s)."""
    lock = ResourceLock(resource).acquire()
    try:
        port = serial.serial_for_url(resource, baudrate=baud, parity=parity, rtscts=rtscts,
                                     xonxoff=xonxoff, bytesize=bytesize, stopbits=stopbits,
                                     timeout=0.2)
    except (serial.SerialException, OSError, ValueError) as exc:
        lock.release()
        raise InstrumentError(f"cannot open {resource}: {exc}") from None
    try:
        card = Tl1Gr831(port, timeout_s=timeout_s, name=resource, lock=lock, **options)
        card.identify()
        return card
    except BaseException:
        port.close()
        lock.release()
        raise


MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        Model("anritsu-mt9083", "otdr", "visa", _open_visa(AnritsuMt9083)),
        Model("yokogawa-aq6370", "osa", "visa", _open_visa(YokogawaAq6370)),
        Model("gr831-tl1", "transponder", "serial", _open_tl1),
    )
}
