"""Anritsu MT9083-class OTDR (Access Master) driven over SCPI on a LAN socket.

Follows the MT9083 Series remote control manual, chapter 4 "OTDR Commands": trace fetched with
``TRACe:LOAD:DATA?`` as a binary block holding a big-endian unsigned 32-bit point count and then
one big-endian unsigned 16-bit value per point (section 4.5.9 and 2.5 "Binary Data"). The value
is the level in 0.001 dB below the top of the scale. Settings use the manual's SENSe/SOURce
subsystems; the 1xN optical switch in front of the OTDR (as in a remote fibre test unit) is
addressed with ``ROUTe:CLOSe``.
"""

from __future__ import annotations

import numpy as np

from instruments.errors import ProtocolError
from instruments.protocols import Otdr, OtdrSettings, OtdrTrace
from instruments.scpi_driver import ScpiDriver
from instruments.scpi_table import COMMON_COMMANDS, Command, CommandTable

MODEL = "anritsu-mt9083"

COMMANDS = CommandTable(
    *COMMON_COMMANDS,
    Command("wavelength", ":SOURce:WAVelength", (float,), doc="source wavelength (nm)"),
    Command("pulse", ":SENSe:PULSe", (float,), doc="pulse width (ns)"),
    Command("range", ":SENSe:RANGe", (float,), doc="distance range (km)"),
    Command("average_time", ":SENSe:AVERage:TIME", (float,), doc="averaging time (s)"),
    Command("resolution", ":SENSe:RESolution", (float,), doc="sample spacing (m)"),
    Command("ior", ":SENSe:IOR", (float,), doc="group index of refraction"),
    Command("start", ":INITiate", doc="start an averaged acquisition"),
    Command("abort", ":ABORt", doc="stop the acquisition, laser off"),
    Command("measuring", ":STATus:MEASuring?", doc="1 while acquiring, 0 when done"),
    Command("elapsed", ":SENSe:AVERage:ELAPsed?", doc="averaging time done so far (s)"),
    Command("parameters", ":TRACe:PARameter?",
            doc="wavelength nm,range km,pulse ns,averaging s,resolution m,IOR,points"),
    Command("data", ":TRACe:LOAD:DATA?", doc="binary block: >u4 count, then >u2 points (0.001 dB)"),
)


def decode_trace_block(payload: bytes) -> np.ndarray:
    """Levels (dB, 0 at the top of scale, negative below) from a ``TRACe:LOAD:DATA?`` payload."""
    if len(payload) < 4:
        raise ProtocolError("MT9083 trace block shorter than its 4-byte point count")
    count = int.from_bytes(payload[:4], "big")
    if len(payload) != 4 + 2 * count:
        raise ProtocolError(
            f"MT9083 trace block says {count} points but holds {(len(payload) - 4) // 2}"
        )
    raw = np.frombuffer(payload, dtype=">u2", offset=4)
    return raw.astype(np.float64) * -0.001


def encode_trace_block(level_db: np.ndarray) -> bytes:
    """The inverse of :func:`decode_trace_block` (used by the simulator)."""
    raw = np.clip(np.round(-np.asarray(level_db) * 1000.0), 0, 65535).astype(">u2")
    return len(raw).to_bytes(4, "big") + raw.tobytes()


class AnritsuMt9083(ScpiDriver, Otdr):
    """Driver for an MT9083-class OTDR. Units as in :class:`OtdrSettings`.

    The averaging is given ``1.5 x averaging_s`` instrument seconds (plus the driver's margin)
    before the driver sends ``:ABORt`` and raises :class:`InstrumentTimeout`.
    """

    COMMANDS = COMMANDS

    def select_port(self, port: int) -> None:
        self.send("route", port)
        self.check_errors(f"ROUTe:CLOSe {port}")
        self._port = port

    def measure(self, settings: OtdrSettings) -> OtdrTrace:
        self.send("wavelength", settings.wavelength_nm)
        self.send("pulse", settings.pulse_width_ns)
        self.send("range", settings.range_km)
        self.send("average_time", settings.averaging_s)
        self.send("resolution", settings.resolution_m)
        self.send("ior", settings.group_index)
        self.check_errors("configuring the acquisition")
        self.run_operation("start", lambda: self.ask("measuring") == "0",
                           self.deadline(settings.averaging_s * 1.5), "OTDR averaging", "abort")
        self.check_errors("the acquisition")
        level = self.ask_block("data", decode=decode_trace_block)
        self.check_errors("fetching the trace")
        spacing = settings.resolution_m
        distance = np.arange(len(level), dtype=np.float64) * spacing
        return OtdrTrace(settings=settings, distance_m=distance, level_db=level,
                         port=getattr(self, "_port", 0), idn=self.identify())
