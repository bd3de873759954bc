"""Instrument models known to the harness: model name → kind, driver class, and how to open it.

Adding a model is adding one driver module and one entry in :data:`MODELS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import serial

from instruments.errors import InstrumentError
from instruments.osa.yokogawa_aq6370 import YokogawaAq6370
from instruments.otdr.anritsu_mt9083 import AnritsuMt9083
from instruments.protocols import Instrument
from instruments.transponder.tl1_gr831 import Tl1Gr831
from instruments.visa_session import ScpiSession


@dataclass(frozen=True)
class Model:
    """One supported model: its kind (``otdr``/``osa``/``transponder``), transport and opener."""

    name: str
    kind: str
    transport: str  # "visa" or "serial"
    open: Callable[..., Instrument]


def _open_visa(driver: type) -> Callable[..., Instrument]:
    def opener(resource: str, timeout_s: float = 10.0, **options: object) -> Instrument:
        session = ScpiSession(resource, timeout_s=timeout_s)
        try:
            return driver(session, **options)
        except BaseException:
            session.close()
            raise
    return opener


def _open_tl1(resource: str, timeout_s: float = 10.0, baud: int = 9600, parity: str = "N",
              rtscts: bool = False, xonxoff: bool = False, **options: object) -> Instrument:
    try:
        port = serial.serial_for_url(resource, baudrate=baud, parity=parity, rtscts=rtscts,
                                     xonxoff=xonxoff, timeout=0.2)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise InstrumentError(f"cannot open {resource}: {exc}") from None
    try:
        return Tl1Gr831(port, timeout_s=timeout_s, name=resource, **options)
    except BaseException:
        port.close()
        raise


MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        Model("anritsu-mt9083", "otdr", "visa", _open_visa(AnritsuMt9083)),
        Model("yokogawa-aq6370", "osa", "visa", _open_visa(YokogawaAq6370)),
        Model("gr831-tl1", "transponder", "serial", _open_tl1),
    )
}
