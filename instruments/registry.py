"""Instrument models known to the harness: model name → kind, driver class, and how to open it.

Adding a model is adding one driver module and one entry in :data:`MODELS`. Opening takes the
instrument's lock (:mod:`instruments.lock`) first, so two processes never drive one instrument,
then asks the instrument who it is: an instrument that does not answer fails here, with its
lock released, not at its first use. The driver's ``close`` releases the lock.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

import serial

from instruments.errors import InstrumentError
from instruments.lock import ResourceLock
from instruments.osa.yokogawa_aq6370 import YokogawaAq6370
from instruments.otdr.anritsu_mt9083 import AnritsuMt9083
from instruments.otdr.exfo_ftb7000 import ExfoFtb7000
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
    options: frozenset[str] = field(default=frozenset())
    """The option names a station file may give this model (transport and driver settings)."""


_NOT_OPTIONS = {"self", "resource", "session", "port", "name", "lock"}


def _option_names(opener: Callable[..., object], driver: type) -> frozenset[str]:
    """Keyword parameters of the opener and of every ``__init__`` along the driver's classes:
    what a station file's instrument entry may set."""
    names: set[str] = set()
    for f in [opener] + [c.__init__ for c in driver.__mro__ if "__init__" in vars(c)]:
        try:
            params = inspect.signature(f).parameters.values()
        except (TypeError, ValueError):
            continue
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return frozenset(names - _NOT_OPTIONS)


def _model(name: str, kind: str, transport: str, opener: Callable[..., Instrument],
           driver: type) -> Model:
    return Model(name, kind, transport, opener, _option_names(opener, driver))


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
        _model("anritsu-mt9083", "otdr", "visa", _open_visa(AnritsuMt9083), AnritsuMt9083),
        _model("exfo-ftb7000", "otdr", "visa", _open_visa(ExfoFtb7000), ExfoFtb7000),
        _model("yokogawa-aq6370", "osa", "visa", _open_visa(YokogawaAq6370), YokogawaAq6370),
        _model("gr831-tl1", "transponder", "serial", _open_tl1, Tl1Gr831),
    )
}
