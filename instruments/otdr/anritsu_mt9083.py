"""Anritsu MT9083-class OTDR (Access Master) driven over SCPI on a LAN socket.

Follows the MT9083 Series remote control manual, chapter 4 "OTDR Commands": trace fetched with
``TRACe:LOAD:DATA?`` as a binary block holding a big-endian unsigned 32-bit point count and then
one big-endian unsigned 16-bit value per point (section 4.5.9 and 2.5 "Binary Data"). The value
is the level in 0.001 dB below the top of the scale. Settings use the manual's SENSe/SOURce
subsystems; the 1xN optical switch in front of the OTDR (as in a remote fibre test unit) is
addressed with ``ROUTe:CLOSe``.

Not from the manual (plausible equivalents in its style, named so here): ``TRACe:LOAD:SOR?``
hands over the last acquisition as a Telcordia SR-4731 .sor file in a binary block, and the
event table follows ``TRACe:ANALyze`` as ``TRACe:EVENt:COUNt?`` and ``TRACe:EVENt? n``
(``distance km,kind,loss dB,reflectance dB``; kind ``S`` non-reflective, ``R`` reflective,
``E`` fibre end; reflectance 0 when none).
"""

from __future__ import annotations

import numpy as np

from instruments.errors import ProtocolError
from instruments.otdr.sor_handover import check_sor
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
    Command("sor", ":TRACe:LOAD:SOR?", doc="binary block: the SR-4731 .sor file of the last trace"),
    Command("analyze", ":TRACe:ANALyze", doc="run the event analysis of the last trace"),
    Command("event_count", ":TRACe:EVENt:COUNt?", doc="number of events found"),
    Command("event", ":TRACe:EVENt?", (int,),
            doc="event n: distance km,kind S/R/E,loss dB,reflectance dB (0 = none)"),
)

EVENT_KINDS = {"S": "non-reflective", "R": "reflective", "E": "end"}
"""``TRACe:EVENt?`` kinds."""


def encode_event(distance_m: float, kind: str, loss_db: float, reflectance_db: float | None) -> str:
    """One ``TRACe:EVENt?`` reply (used by the simulator)."""
    return f"{distance_m / 1000:.5f},{kind},{loss_db:.3f},{reflectance_db or 0.0:.1f}"


def decode_event(reply: str) -> dict[str, object]:
    """An event from a ``TRACe:EVENt?`` reply: distance_m (m), type, loss_db (dB),
    reflectance_db (dB, None when not reflective)."""
    parts = [p.strip() for p in reply.split(",")]
    try:
        distance_km, kind, loss, reflectance = float(parts[0]), parts[1], float(parts[2]), \
            float(parts[3])
    except (ValueError, IndexError):
        raise ProtocolError(f"MT9083 event reply {reply[:60]!r} is not 'km,kind,loss,refl'") from None
    if len(parts) != 4 or kind not in EVENT_KINDS:
        raise ProtocolError(f"MT9083 event reply {reply[:60]!r} is not 'km,S|R|E,loss,refl'")
    return {"distance_m": distance_km * 1000.0, "type": EVENT_KINDS[kind], "loss_db": loss,
            "reflectance_db": reflectance if reflectance < 0 else None}


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

    def settings(self) -> OtdrSettings:
        """The acquisition settings the instrument holds, read back with ``TRACe:PARameter?``."""
        reply = self.ask("parameters")
        try:
            wl, rng, pulse, avg, res, ior, _points = (float(v) for v in reply.split(","))
        except ValueError:
            raise ProtocolError(f"{self.name}: TRACe:PARameter? reply {reply[:80]!r} is not "
                                "7 numbers") from None
        return OtdrSettings(wavelength_nm=wl, pulse_width_ns=pulse, range_km=rng, averaging_s=avg,
                            resolution_m=res, group_index=ior)

    def fetch_sor(self) -> bytes:
        data = self.ask_block("sor", decode=check_sor)
        self.check_errors("fetching the .sor file")
        return data

    def events(self) -> list[dict[str, object]]:
        self.send("analyze")
        self.check_errors("TRACe:ANALyze")
        reply = self.ask("event_count")
        if not reply.strip().isdigit():
            raise ProtocolError(f"{self.name}: event count {reply!r} is not a number")
        return [decode_event(self.ask("event", n)) for n in range(1, int(reply) + 1)]
