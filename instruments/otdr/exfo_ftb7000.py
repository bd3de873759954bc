"""EXFO FTB-7000-class OTDR module (in an FTB-500/FTB-1 platform) driven over SCPI on a LAN socket.

Sources, command by command in :data:`COMMANDS` (``manual`` = the section checked):

- *FTB-7000 OTDR Series* user guide (for FTB-500), appendix "SCPI Command Reference",
  "Product-Specific Commands—Description" (public copies: exfo.manymanuals.pl manual 12818
  p. 339 = guide p. 325; German edition on handbucher.com manual 736430 p. 372 = guide p. 358).
  Read: ``:CALCulate[1..n]:EVENt?`` answers a definite-length block ``A,B,C,D,E``: location
  (m, NR3), event type (NR1: 1 positive splice, 2 negative splice, 3 reflection, 4 end of
  analysis), loss (dB, NR3), reflectance (dB, NR3), cumulative loss (dB, NR3);
  ``:CALCulate[1..n]:RBScatter? TRC1|TRC2|TRC3|TRC4`` answers the Rayleigh backscatter used
  for the trace (NR3; ``*RST`` clears it, so 0 after a reset). The parameters of
  ``:CALCulate:EVENt?`` (trace label, then event number) are not in the page read.
- *FTB-500* platform user guide, "Using FTB Products in an Automated Test Environment":
  "SCPI Command Structure" (p. 233: ``[1..n]`` selects a capability, omitted = the first),
  "Standard Status Data Structure" (pp. 228-231: *ESR/*ESE/*STB/*SRE bits), "Error Message
  Format" (p. 226: ``<number>,"<description>;<device information>"``), "Data Types" (p. 346:
  definite-length blocks).
- EXFO's NR3 replies, as printed in the FTB-5230S/5240S OSA guide of the same platform
  (``-5.246202E+001``: seven digits, three exponent digits), and ``FORMat:DATA ASCii|PACKed``
  (ASCII list / binary) from that guide's ``TRACe:DATA?`` example: used here, unverified for
  the OTDR module itself.
- Completion: SCPI-99 vol 1 §9 ``STATus:OPERation:CONDition?`` (bit 4 MEASuring while the
  acquisition runs), which is how EXFO's own sample program for its OSA20 waits
  ("Wait_until_idle": poll until the condition register is 0); ``*OPC``/``*OPC?`` (IEEE
  488.2 §12) work as well. This replaces the earlier invented ``:INITiate:STATe?``.
- Not found in any page read, kept and marked unverified: the acquisition settings
  ``[:SENSe]:WAVelength``, ``PULSe:WIDTh``, ``RANGe``, ``AVERage:TIME``, ``RESolution``,
  ``FIBer:IOR`` (SI units as in EXFO's other modules: m, s; with unit suffixes),
  ``TRACe:POINts?``, ``TRACe[:DATA]?`` (PACKed: little-endian float32 per point, the level
  in dB, 5·log10, 0 at the top of the scale), ``CALCulate:EVENt:COUNt?``, ``TRACe:SOR?``
  (the .sor file as a block; the guide saves files with the platform's MMEMory subsystem,
  whose pages we could not read) and ``AVERage:ELAPsed?`` (progress only).

Numeric suffixes: every product-specific root takes ``[1..n]`` (``<n>`` in the table); the
driver always sends ``1`` (``:SENS1:PULS:WIDT``), which the guide says is the same as none,
except for ``:INITiate[:IMMediate]``, which the driver's operation runner sends bare, and the
progress query ``AVERage:ELAPsed?`` (the ``<n>`` forms are accepted as aliases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from instruments.errors import ProtocolError
from instruments.otdr.replies import fields, integer, number, quantity
from instruments.otdr.sor_handover import check_sor
from instruments.protocols import Otdr, OtdrSettings, OtdrTrace
from instruments.scpi_driver import ScpiDriver
from instruments.scpi_table import (COMMON_COMMANDS, Choice, Command, CommandTable, Nanometres,
                                    Number)
from instruments.visa_session import ScpiSession

MODEL = "exfo-ftb7000"
TRACE = "TRC1"
"""Trace index of the (single-wavelength) acquisition the driver makes."""
CAPABILITY = 1
"""The ``[1..n]`` suffix the driver sends (the first capability)."""
GUIDE = "FTB-7000 OTDR user guide (FTB-500), SCPI Command Reference"
WAVELENGTH_UNITS = {"": 1.0, "M": 1.0, "UM": 1e-6, "NM": 1e-9}
"""A wavelength reply in m, or with a unit suffix."""
MEASURING = 1 << 4
"""STATus:OPERation condition bit set while acquiring (SCPI-99 vol 1 §9.4.1, MEASuring)."""

EVENT_TYPES = {1: "positive splice", 2: "negative splice", 3: "reflection", 4: "end"}
"""``:CALCulate:EVENt?`` type codes (FTB-7000 SCPI reference, p. 325)."""
PULSES_NS = (5, 10, 30, 100, 275, 1000, 2500, 10000, 20000)
"""Pulse widths (ns) of the simulated module (an FTB-7600E-class long-haul module)."""
WAVELENGTHS_NM = (1310, 1550, 1625)


def exfo_nr3(value: float) -> str:
    """``value`` as EXFO prints NR3: ``-5.246202E+001`` (7 digits, 3 exponent digits)."""
    mantissa, _, exponent = f"{float(value):.6E}".partition("E")
    return f"{mantissa}E{exponent[0]}{int(exponent[1:]):03d}"


@dataclass(frozen=True)
class ExfoNumber(Number):
    """A numeric setting answered in EXFO's NR3 form (:func:`exfo_nr3`)."""

    def format(self, value: Any) -> str:
        return exfo_nr3(value)


LABEL = Choice(("TRC1", "TRC2", "TRC3", "TRC4"), reply="long")
"""Trace index of the available wavelengths (the guide's ``TRC1|TRC2|TRC3|TRC4``)."""
UNVERIFIED = "unverified: no FTB-7000 guide page found"

COMMANDS = CommandTable(
    *COMMON_COMMANDS,
    Command("format", ":FORMat[:DATA]", (Choice(("ASCii", "PACKed")),), readable=True,
            default=("ASCii",), doc="ASCii (NR3 list) or PACKed (binary blocks); "
            "FTB-5230S OSA guide example; " + UNVERIFIED),
    Command("wavelength", "[:SENSe<n>]:WAVelength",
            (ExfoNumber(allowed=tuple(w * 1e-9 for w in WAVELENGTHS_NM), unit="m",
                        suffixes=(("NM", 1e-9), ("UM", 1e-6), ("M", 1.0)), default=1550e-9),),
            readable=True, default=(1550e-9,), doc="wavelength (m; NM/UM suffixes); " + UNVERIFIED),
    Command("pulse", "[:SENSe<n>]:PULSe:WIDTh",
            (ExfoNumber(allowed=tuple(p * 1e-9 for p in PULSES_NS), unit="s",
                        suffixes=(("NS", 1e-9), ("US", 1e-6), ("MS", 1e-3), ("S", 1.0)),
                        default=1e-6),),
            readable=True, default=(1e-6,), doc="pulse width (s; NS/US suffixes); " + UNVERIFIED),
    Command("range", "[:SENSe<n>]:RANGe",
            (ExfoNumber(low=500.0, high=512e3, unit="m", suffixes=(("M", 1.0), ("KM", 1e3)),
                        default=100e3),),
            readable=True, default=(100e3,), doc="distance range (m; KM suffix); " + UNVERIFIED),
    Command("average_time", "[:SENSe<n>]:AVERage:TIME",
            (ExfoNumber(low=1.0, high=3600.0, unit="s", suffixes=(("S", 1.0), ("MIN", 60.0)),
                        default=30.0),),
            readable=True, default=(30.0,), doc="averaging time (s); " + UNVERIFIED),
    Command("resolution", "[:SENSe<n>]:RESolution",
            (ExfoNumber(low=0.05, high=100.0, unit="m", suffixes=(("M", 1.0), ("CM", 1e-2)),
                        default=8.0),),
            readable=True, default=(8.0,), doc="sample spacing (m); " + UNVERIFIED),
    Command("ior", "[:SENSe<n>]:FIBer:IOR",
            (ExfoNumber(low=1.3, high=1.7, default=1.4677),),
            readable=True, default=(1.4677,), doc="group index of refraction; " + UNVERIFIED),
    Command("start", ":INITiate[:IMMediate]", aliases=(":INITiate<n>[:IMMediate]",),
            doc="start an averaged acquisition (overlapped: *OPC/*OPC?/*WAI apply); SCPI-99 "
                "vol 2 §11 INITiate; " + UNVERIFIED),
    Command("abort", ":ABORt", doc="stop the acquisition, laser off; SCPI-99 vol 2 §3 ABORt; "
            + UNVERIFIED),
    Command("elapsed", "[:SENSe]:AVERage:ELAPsed?", aliases=("[:SENSe<n>]:AVERage:ELAPsed?",),
            doc="averaging time done so far (s), for progress; invented, " + UNVERIFIED),
    Command("points", ":TRACe<n>:POINts?", (LABEL,),
            doc="number of points of trace TRCn; " + UNVERIFIED),
    Command("data", ":TRACe<n>[:DATA]?", (LABEL,),
            doc="trace TRCn: PACKed, block of <f4 levels (dB); ASCii, NR3 list; " + UNVERIFIED),
    Command("backscatter", ":CALCulate<n>:RBScatter?", (LABEL,),
            manual=f"{GUIDE}, :CALCulate[1..n]:RBScatter? (p. 358)",
            doc="Rayleigh backscatter used for trace TRCn (dB, NR3); 0 after *RST"),
    Command("event_count", ":CALCulate<n>:EVENt:COUNt?", (LABEL,),
            doc="events in TRCn's table; " + UNVERIFIED),
    Command("event", ":CALCulate<n>:EVENt?", (LABEL, Number(low=1, integer=True)),
            manual=f"{GUIDE}, :CALCulate[1..n]:EVENt? (p. 325)",
            doc="block 'location m,type,loss dB,reflectance dB,cumulative dB' of event n"),
    Command("sor", ":TRACe<n>:SOR?", (LABEL,),
            doc="block: the SR-4731 .sor file of trace TRCn; invented, " + UNVERIFIED),
)


def decode_trace_block(payload: bytes) -> np.ndarray:
    """Levels (dB, 0 at the top of scale, negative below) from a PACKed ``TRACe:DATA?`` payload."""
    if len(payload) % 4:
        raise ProtocolError(f"FTB-7000 trace block of {len(payload)} bytes is not whole float32s")
    return np.frombuffer(bytes(payload), dtype="<f4").astype(np.float64)


def encode_trace_block(level_db: np.ndarray) -> bytes:
    """The inverse of :func:`decode_trace_block` (used by the simulator)."""
    return np.asarray(level_db, dtype="<f4").tobytes()


def encode_event(distance_m: float, kind: int, loss_db: float, reflectance_db: float,
                 cumulative_db: float) -> bytes:
    """One ``:CALCulate:EVENt?`` payload (used by the simulator): NR3, NR1, NR3, NR3, NR3 as
    the guide lists them; reflectance 0 = none."""
    return ",".join((exfo_nr3(distance_m), f"{kind:d}", exfo_nr3(loss_db),
                     exfo_nr3(reflectance_db), exfo_nr3(cumulative_db))).encode("ascii")


def decode_event(payload: bytes) -> dict[str, object]:
    """An event from a ``:CALCulate:EVENt?`` payload: distance_m (m), type (name), code
    (1-4), loss_db and cumulative_loss_db (dB), reflectance_db (dB, None when not reflective)."""
    text = bytes(payload).decode("ascii", errors="replace")
    parts = fields(text)
    try:
        if len(parts) != 5:
            raise ProtocolError("")
        distance, kind, loss, reflectance, cumulative = (number(p, "FTB-7000 event")
                                                         for p in parts)
    except ProtocolError:
        raise ProtocolError(f"FTB-7000 event {bytes(payload)[:60]!r} is not 5 numbers") from None
    if kind not in EVENT_TYPES:
        raise ProtocolError(f"FTB-7000 event type {kind:g} is not one of 1-4")
    return {"distance_m": distance, "type": EVENT_TYPES[int(kind)], "code": int(kind),
            "loss_db": loss, "reflectance_db": reflectance if reflectance < 0 else None,
            "cumulative_loss_db": cumulative}


class ExfoFtb7000(ScpiDriver, Otdr):
    """Driver for an FTB-7000-class OTDR. Units as in :class:`OtdrSettings`.

    Binary transfers are selected on every connection (``:FORMat:DATA PACKed``). Completion
    is polled with ``STATus:OPERation:CONDition?`` (MEASuring bit clear). The averaging is
    given ``1.5 x averaging_s`` instrument seconds (plus the driver's margin) before the
    driver sends ``:ABORt`` and raises :class:`InstrumentTimeout`.
    """

    COMMANDS = COMMANDS

    def __init__(self, session: ScpiSession, name: str = "", **options: float) -> None:
        super().__init__(session, name, **options)
        self.on_connect()

    def send(self, command: str, *args: object) -> None:
        """As :meth:`ScpiDriver.send`; the averaging time the progress estimate starts from is
        the value after the ``[1..n]`` suffix (the base class takes the first argument)."""
        super().send(command, *args)
        if command == self.DURATION_COMMAND and len(args) == 2:
            self._duration_s = float(args[1])  # type: ignore[arg-type]

    def on_connect(self) -> None:
        """Binary (PACKed) block transfers, per connection."""
        self.send("format", "PACKed")
        self.check_errors("FORMat:DATA PACKed")

    def select_port(self, port: int) -> None:
        self.send("route", port)
        self.check_errors(f"ROUTe:CLOSe {port}")
        self._port = port

    def configure(self, settings: OtdrSettings) -> None:
        """Send the acquisition settings (SI units on the wire) and check the error queue."""
        self.send("wavelength", CAPABILITY, Nanometres(settings.wavelength_nm))
        self.send("pulse", CAPABILITY, round(settings.pulse_width_ns * 1e-9, 15))
        self.send("range", CAPABILITY, settings.range_km * 1000.0)
        self.send("average_time", CAPABILITY, settings.averaging_s)
        self.send("resolution", CAPABILITY, settings.resolution_m)
        self.send("ior", CAPABILITY, settings.group_index)
        self.check_errors("configuring the acquisition")

    def settings(self) -> OtdrSettings:
        """The acquisition settings the instrument holds, read back (units of OtdrSettings)."""
        def ask(name: str, unit: str = "") -> float:
            return number(self.ask(name + "?", CAPABILITY), f"{name}?", unit)
        metres = quantity(self.ask("wavelength?", CAPABILITY), "wavelength?", WAVELENGTH_UNITS)
        return OtdrSettings(wavelength_nm=round(metres * 1e9, 3),
                            pulse_width_ns=round(ask("pulse", "S") * 1e9, 3),
                            range_km=ask("range", "M") / 1000.0,
                            averaging_s=ask("average_time", "S"),
                            resolution_m=ask("resolution", "M"), group_index=ask("ior"))

    def _acquiring(self) -> bool:
        condition = integer(self.ask("operation_condition"), "STATus:OPERation:CONDition?")
        return bool(condition & MEASURING)

    def measure(self, settings: OtdrSettings) -> OtdrTrace:
        self.configure(settings)
        self.run_operation("start", lambda: not self._acquiring(),
                           self.deadline(settings.averaging_s * 1.5), "OTDR averaging", "abort")
        self.check_errors("the acquisition")
        points = integer(self.ask("points", CAPABILITY, TRACE), "TRACe:POINts?")
        level = self.ask_block("data", CAPABILITY, TRACE, decode=decode_trace_block)
        self.check_errors("fetching the trace")
        if points != len(level):
            raise ProtocolError(f"{self.name}: trace block holds {len(level)} points, "
                                f":TRAC:POIN? says {points}")
        distance = np.arange(len(level), dtype=np.float64) * settings.resolution_m
        return OtdrTrace(settings=settings, distance_m=distance, level_db=level,
                         port=getattr(self, "_port", 0), idn=self.identify())

    def fetch_sor(self) -> bytes:
        data = self.ask_block("sor", CAPABILITY, TRACE, decode=check_sor)
        self.check_errors("fetching the .sor file")
        return data

    def events(self) -> list[dict[str, object]]:
        count = integer(self.ask("event_count", CAPABILITY, TRACE), f"{self.name}: event count")
        found = [self.ask_block("event", CAPABILITY, TRACE, n, decode=decode_event)
                 for n in range(1, count + 1)]
        self.check_errors("reading the event table")
        return found
