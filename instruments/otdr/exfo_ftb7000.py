"""EXFO FTB-7000-class OTDR module (in an FTB-500/FTB-1 platform) driven over SCPI on a LAN socket.

Follows the FTB-7000 OTDR user guide, appendix "SCPI Command Reference", section
"Product-Specific Commands": settings in SI units (pulse width in s, range and resolution in m;
the wavelength with a unit suffix), traces addressed by index (``TRC1``, the first acquired
wavelength), the event table by ``:CALCulate[1..n]:EVENt?`` whose answer is a definite-length
block holding ``location (m), type, loss (dB), reflectance (dB), cumulative loss (dB)`` with
type 1 positive splice, 2 negative splice, 3 reflection, 4 end of analysis. The ``[1..n]``
capability suffix is left out, which the guide's "SCPI Command Structure" section defines as
the first capability. From the same guide's conventions (``:FORMat:DATA PACKed`` selects
binary transfers, ``:TRACe[:DATA]? TRC1`` answers a definite-length block): the trace block
holds one little-endian IEEE float32 per point, the level in dB (5·log10, 0 at the top of the
scale). Acquisition: ``:INITiate:IMMediate``, completion polled with ``:INITiate:STATe?``
(1 while acquiring), ``:ABORt``. The .sor hand-over ``:TRACe:SOR? TRC1`` (the Telcordia
SR-4731 file of the last acquisition as a definite-length block) is not taken from the guide
(which saves files with the MMEMory subsystem on the platform's disk): it is this harness's
plausible single-query equivalent, as is ``:SENSe:AVERage:ELAPsed?`` (averaging seconds done,
for the time left shown while the acquisition runs).
"""

from __future__ import annotations

import numpy as np

from instruments.errors import ProtocolError
from instruments.otdr.sor_handover import check_sor
from instruments.protocols import Otdr, OtdrSettings, OtdrTrace
from instruments.scpi_driver import ScpiDriver
from instruments.scpi_table import COMMON_COMMANDS, Command, CommandTable, Nanometres
from instruments.visa_session import ScpiSession

MODEL = "exfo-ftb7000"
TRACE = "TRC1"
"""Trace index of the (single-wavelength) acquisition the driver makes."""

EVENT_TYPES = {1: "positive splice", 2: "negative splice", 3: "reflection", 4: "end"}
"""``:CALCulate:EVENt?`` type codes (FTB-7000 SCPI reference)."""

COMMANDS = CommandTable(
    *COMMON_COMMANDS,
    Command("format", ":FORMat:DATA", (str,), doc="PACKed (binary blocks) or ASCii"),
    Command("wavelength", ":SENSe:WAVelength", (Nanometres,), doc="wavelength (nm, NM suffix)"),
    Command("pulse", ":SENSe:PULSe:WIDTh", (float,), doc="pulse width (s)"),
    Command("range", ":SENSe:RANGe", (float,), doc="distance range (m)"),
    Command("average_time", ":SENSe:AVERage:TIME", (float,), doc="averaging time (s)"),
    Command("resolution", ":SENSe:RESolution", (float,), doc="sample spacing (m)"),
    Command("ior", ":SENSe:FIBer:IOR", (float,), doc="group index of refraction"),
    Command("get_wavelength", ":SENSe:WAVelength?", doc="wavelength (m, NR3)"),
    Command("get_pulse", ":SENSe:PULSe:WIDTh?", doc="pulse width (s, NR3)"),
    Command("get_range", ":SENSe:RANGe?", doc="distance range (m, NR3)"),
    Command("get_average_time", ":SENSe:AVERage:TIME?", doc="averaging time (s, NR3)"),
    Command("get_resolution", ":SENSe:RESolution?", doc="sample spacing (m, NR3)"),
    Command("get_ior", ":SENSe:FIBer:IOR?", doc="group index of refraction (NR3)"),
    Command("start", ":INITiate:IMMediate", doc="start an averaged acquisition"),
    Command("abort", ":ABORt", doc="stop the acquisition, laser off"),
    Command("measuring", ":INITiate:STATe?", doc="1 while acquiring, 0 when done"),
    Command("elapsed", ":SENSe:AVERage:ELAPsed?", doc="averaging time done so far (s)"),
    Command("points", ":TRACe:POINts?", (str,), doc="number of points of trace TRCn"),
    Command("data", ":TRACe:DATA?", (str,), doc="block: <f4 levels (dB) of trace TRCn"),
    Command("event_count", ":CALCulate:EVENt:COUNt?", (str,), doc="events in TRCn's table"),
    Command("event", ":CALCulate:EVENt?", (str, int),
            doc="block: 'location m,type,loss dB,reflectance dB,cumulative dB' of event n"),
    Command("sor", ":TRACe:SOR?", (str,), doc="block: the SR-4731 .sor file of trace TRCn"),
)


def decode_trace_block(payload: bytes) -> np.ndarray:
    """Levels (dB, 0 at the top of scale, negative below) from a ``:TRACe:DATA?`` payload."""
    if len(payload) % 4:
        raise ProtocolError(f"FTB-7000 trace block of {len(payload)} bytes is not whole float32s")
    return np.frombuffer(bytes(payload), dtype="<f4").astype(np.float64)


def encode_trace_block(level_db: np.ndarray) -> bytes:
    """The inverse of :func:`decode_trace_block` (used by the simulator)."""
    return np.asarray(level_db, dtype="<f4").tobytes()


def encode_event(distance_m: float, kind: int, loss_db: float, reflectance_db: float,
                 cumulative_db: float) -> bytes:
    """One ``:CALCulate:EVENt?`` payload (used by the simulator); reflectance 0 = none."""
    return (f"{distance_m:.7E},{kind:d},{loss_db:.4E},{reflectance_db:.3E},"
            f"{cumulative_db:.4E}").encode("ascii")


def decode_event(payload: bytes) -> dict[str, object]:
    """An event from a ``:CALCulate:EVENt?`` payload: distance_m (m), type (name), code
    (1-4), loss_db and cumulative_loss_db (dB), reflectance_db (dB, None when not reflective)."""
    parts = bytes(payload).decode("ascii", errors="replace").split(",")
    try:
        distance, kind, loss, reflectance, cumulative = (float(p) for p in parts)
    except ValueError:
        raise ProtocolError(f"FTB-7000 event {bytes(payload)[:60]!r} is not 5 numbers") from None
    if int(kind) not in EVENT_TYPES:
        raise ProtocolError(f"FTB-7000 event type {kind:g} is not one of 1-4")
    return {"distance_m": distance, "type": EVENT_TYPES[int(kind)], "code": int(kind),
            "loss_db": loss, "reflectance_db": reflectance if reflectance < 0 else None,
            "cumulative_loss_db": cumulative}


def nr3(value: float) -> str:
    """A number as SCPI <NR3> (``2.000000E-05``), as the driver sends SI values."""
    return f"{value:.6E}"


def _number(reply: str, what: str) -> float:
    try:
        return float(Nanometres(reply)) if what == "wavelength" else float(reply)
    except ValueError:
        raise ProtocolError(f"FTB-7000 {what} reply {reply[:40]!r} is not a number") from None


class ExfoFtb7000(ScpiDriver, Otdr):
    """Driver for an FTB-7000-class OTDR. Units as in :class:`OtdrSettings`.

    Binary transfers are selected on every connection (``:FORMat:DATA PACKed``). The averaging
    is given ``1.5 x averaging_s`` instrument seconds (plus the driver's margin) before the
    driver sends ``:ABORt`` and raises :class:`InstrumentTimeout`.
    """

    COMMANDS = COMMANDS

    def __init__(self, session: ScpiSession, name: str = "", **options: float) -> None:
        super().__init__(session, name, **options)
        self.on_connect()

    def on_connect(self) -> None:
        """Binary (PACKed) block transfers, per connection."""
        self.send("format", "PACKED")
        self.check_errors("FORMat:DATA PACKED")

    def select_port(self, port: int) -> None:
        self.send("route", port)
        self.check_errors(f"ROUTe:CLOSe {port}")
        self._port = port

    def configure(self, settings: OtdrSettings) -> None:
        """Send the acquisition settings (SI units on the wire) and check the error queue."""
        self.send("wavelength", Nanometres(settings.wavelength_nm))
        self.send("pulse", nr3(settings.pulse_width_ns * 1e-9))
        self.send("range", nr3(settings.range_km * 1000.0))
        self.send("average_time", nr3(settings.averaging_s))
        self.send("resolution", nr3(settings.resolution_m))
        self.send("ior", nr3(settings.group_index))
        self.check_errors("configuring the acquisition")

    def settings(self) -> OtdrSettings:
        """The acquisition settings the instrument holds, read back (units of OtdrSettings)."""
        value = {name: _number(self.ask("get_" + name), name) for name in
                 ("wavelength", "pulse", "range", "average_time", "resolution", "ior")}
        return OtdrSettings(wavelength_nm=round(value["wavelength"], 3),
                            pulse_width_ns=round(value["pulse"] * 1e9, 3),
                            range_km=value["range"] / 1000.0, averaging_s=value["average_time"],
                            resolution_m=value["resolution"], group_index=value["ior"])

    def measure(self, settings: OtdrSettings) -> OtdrTrace:
        self.configure(settings)
        self.run_operation("start", lambda: self.ask("measuring") == "0",
                           self.deadline(settings.averaging_s * 1.5), "OTDR averaging", "abort")
        self.check_errors("the acquisition")
        points = self.ask("points", TRACE)
        level = self.ask_block("data", TRACE, decode=decode_trace_block)
        self.check_errors("fetching the trace")
        if not points.strip().isdigit() or int(points) != len(level):
            raise ProtocolError(f"{self.name}: trace block holds {len(level)} points, "
                                f":TRAC:POIN? says {points!r}")
        distance = np.arange(len(level), dtype=np.float64) * settings.resolution_m
        return OtdrTrace(settings=settings, distance_m=distance, level_db=level,
                         port=getattr(self, "_port", 0), idn=self.identify())

    def fetch_sor(self) -> bytes:
        data = self.ask_block("sor", TRACE, decode=check_sor)
        self.check_errors("fetching the .sor file")
        return data

    def events(self) -> list[dict[str, object]]:
        reply = self.ask("event_count", TRACE)
        if not reply.strip().isdigit():
            raise ProtocolError(f"{self.name}: event count {reply!r} is not a number")
        found = [self.ask_block("event", TRACE, n, decode=decode_event)
                 for n in range(1, int(reply) + 1)]
        self.check_errors("reading the event table")
        return found
