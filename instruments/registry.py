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
from instruments.identity import Identity
from instruments.io_observer import Observer
from instruments.lock import ResourceLock
from instruments.osa.yokogawa_aq6370 import YokogawaAq6370
from instruments.otdr.anritsu_mt9083 import AnritsuMt9083
from instruments.otdr.exfo_ftb7000 import ExfoFtb7000
from instruments.protocols import Instrument
from instruments.transponder.tl1_gr831 import Tl1Gr831
from instruments.transponder.tl1_transport import ObservedPort
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
    identity: Identity | None = None
    """How the model's identity reply looks (checked by the preflight before a run)."""


_NOT_OPTIONS = {"self", "resource", "session", "port", "name", "lock", "observer"}


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
           driver: type, identity: Identity) -> Model:
    return Model(name, kind, transport, opener, _option_names(opener, driver), identity)


def _open_visa(driver: type) -> Callable[..., Instrument]:
    def opener(resource: str, timeout_s: float = 10.0, chunk_size: int = CHUNK_SIZE,
               observer: Observer | None = None, **options: object) -> Instrument:
        """timeout_s: per-read timeout (s); chunk_size: block read size (bytes); observer: told
        of every exchange (the run's I/O transcript); other options go to the driver (e.g.
        ``retries``, ``time_scale``, ``margin_s``, login)."""
        lock = ResourceLock(resource).acquire()
        try:
            session = ScpiSession(resource, timeout_s=timeout_s, chunk_size=chunk_size, lock=lock,
                                  observer=observer)
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
              stopbits: float = 1, observer: Observer | None = None,
              **options: object) -> Instrument:
    """Serial settings from the station options: baud (bit/s), parity N/E/O/M/S, data bits,
    stop bits, RTS/CTS and XON/XOFF flow control; ``timeout_s`` per response (s); observer:
    told of every command and response (the run's I/O transcript)."""
    lock = ResourceLock(resource).acquire()
    try:
        port = ObservedPort.connect(resource, observer, baudrate=baud, parity=parity,
                                    rtscts=rtscts, xonxoff=xonxoff, bytesize=bytesize,
                                    stopbits=stopbits, timeout=0.2)
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


IDN_488 = "IEEE 488.2-1992 10.14: *IDN? answers maker,model,serial,firmware"

MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        _model("anritsu-mt9083", "otdr", "visa", _open_visa(AnritsuMt9083), AnritsuMt9083,
               Identity("*IDN?", r"ANRITSU$", r"MT9083", "ANRITSU,MT9083...",
                        f"{IDN_488}; Anritsu's remote manuals (e.g. MS9710C, *IDN?) give the "
                        "maker as ANRITSU; no MT9083 *IDN? example was found, the model field "
                        "is taken to start with the series name (MT9083A2/B2/C2)")),
        _model("exfo-ftb7000", "otdr", "visa", _open_visa(ExfoFtb7000), ExfoFtb7000,
               Identity("*IDN?", r"EXFO\b", "", "EXFO ... (the FTB platform's identity)",
                        f"{IDN_488}; EXFO's FTB-2 and FTB-1v2 user guides show the platform "
                        "answering *IDN? itself ('EXFO E.O. Engineering,,125-2A55,1.0.1.97', "
                        "'EXFO Inc.,125-2A55,...'): the model field is empty or the platform, "
                        "never the OTDR module, so only the maker is checked")),
        _model("yokogawa-aq6370", "osa", "visa", _open_visa(YokogawaAq6370), YokogawaAq6370,
               Identity("*IDN?", r"YOKOGAWA$", r"AQ637\d", "YOKOGAWA,AQ637x...",
                        f"{IDN_488}; samples 'YOKOGAWA,AQ6370D,90Y403996,02.08' (InstrumentKit's "
                        "Yokogawa6370 driver) and 'YOKOGAWA,AQ6374,91V714535,01.03' (a user's "
                        "script); the AQ6370 remote commands are shared by AQ6370C/D/E, "
                        "AQ6373, AQ6374, AQ6375")),
        _model("gr831-tl1", "transponder", "serial", _open_tl1, Tl1Gr831,
               Identity("RTRV-NETYPE", "", "", "a TL1 NE answering VENDOR,MODEL,TYPE,RELEASE",
                        "RTRV-NETYPE as vendors answer it (e.g. Ciena 5410: "
                        "'\"CIENA,5410,OPTICAL_SWITCH,4.4.0\"'); the shelf model is any TL1 NE, "
                        "so any vendor and model is accepted",
                        layout=("maker", "model", "netype", "firmware"))),
    )
}
