"""Anritsu MT9083-class OTDR (ACCESS Master) driven over SCPI on a LAN socket.

Sources, command by command in :data:`COMMANDS` (``manual`` = the section checked):

- *MT9083 Series ACCESS Master Remote Control Operation Manual*, chapter 4 "OTDR Commands"
  (public copies: easymanua.ls "anritsu/mt9083-series" p. 76 = manual p. 4-24, and
  manualslib 1232044 p. 80). Read: §4.5.1 ``TRACe:PARameters?`` (reply
  ``<wave>, <range>, <pulse>, <avg>, <reso>, <ior>, <bsc>, <enh>``, comma *and space*
  separated; error -400 "Trace Not Ready"), §4.5.2 ``TRACe:ANALyze`` (an overlapped command;
  -200 "Test is Active" / "Trace Not Ready"), §4.5.3 ``TRACe:ANALyze?`` (0/1), §4.5.9
  ``TRACe:LOAD:DATA? [<start>[,<end>[,<space>]]]`` (km, km, points; a definite-length block:
  a big-endian unsigned 32-bit point count, then one big-endian unsigned 16-bit value per
  point). The level unit of those values (0.001 dB below the top of the scale, as here) is in
  the manual's §2.5 "Message Format - Binary Data", which we could not read: unverified.
- A third-party client that drives a real MT9083 (FOMS Submarine, a C# fibre-monitoring
  program on GitHub, port 2288) uses ``SOURce:WAVelength <nm>``, ``SOURce:RANge <km>`` (the client writes ``sour:ran``, so the
  short form is RAN; ``RANGe``, the usual SCPI spelling, is kept as an alias),
  ``SOURce:RESolution <0|1|2>`` (Low/High/Very High) with ``SOURce:RESolution:AVAilable?``,
  ``SOURce:PULSe <ns>`` with ``SOURce:PULSe:AVAilable?`` (lists written ``a, b, c``),
  ``SOURce:AVERage:TIMe <s>``, ``SENSe:FIBer:IOR``, ``SENSe:FIBer:BSC <dB>``, ``INITiate``
  then ``*WAI`` and ``SENSe:TRACe:READy?`` (1 when the trace is ready), and
  ``TRACe:LOAD:SOR?`` (the .sor file as a definite-length block). Those commands are real but
  their manual sections were not found: they stay *unverified* in the table. This replaces
  the harness's earlier guesses (``SENSe:PULSe``, ``SENSe:RANGe``, ``SENSe:AVERage:TIME``,
  ``SENSe:RESolution <m>``, ``SENSe:IOR``, ``STATus:MEASuring?``), which nothing supported.
- Not found anywhere, kept and marked unverified: ``ABORt``; the event table as
  ``TRACe:EVENt:COUNt?`` / ``TRACe:EVENt? <n>`` (``distance km,kind,loss dB,reflectance dB``;
  kind ``S`` non-reflective, ``R`` reflective, ``E`` fibre end; reflectance 0 when none);
  ``SENSe:AVERage:ELAPsed?`` (averaging seconds done, for progress only). The client cited
  reads the events from the .sor file's KeyEvents block instead, which :meth:`fetch_sor`
  allows too.

The sample spacing: ``SOURce:RESolution`` takes a level (0 Low, 1 High, 2 Very High), not a
spacing; the spacing that results is reported by ``TRACe:PARameters?`` ``<reso>`` (m) and the
driver builds the distance axis from it. Which level gives which spacing is the instrument's
business; :func:`sample_spacing_m` is this harness's model of it (the simulator's, and the
driver's choice of level), not the manual's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from instruments.errors import ProtocolError
from instruments.otdr.replies import fields, flag, integer, number
from instruments.otdr.sor_handover import check_sor
from instruments.protocols import Otdr, OtdrSettings, OtdrTrace
from instruments.scpi_driver import ScpiDriver
from instruments.scpi_table import (COMMON_COMMANDS, Command, CommandTable, Number, ScpiError,
                                    render_value)

MODEL = "anritsu-mt9083"

MANUAL = "MT9083 ACCESS Master Remote Control manual"
PULSES_NS = (3, 10, 20, 50, 100, 200, 500, 1000, 2000, 4000, 10000, 20000)
"""Pulse widths (ns) of the simulated module (an MT9083C2-class long-haul module)."""
WAVELENGTHS_NM = (1310, 1550, 1625)
RESOLUTION_LEVELS = ("Low", "High", "Very High")
MAX_POINTS = (2_500, 12_500, 50_000)
"""Most samples a trace may have at each resolution level (this harness's model)."""
SPACINGS_M = (0.05, 0.1, 0.2, 0.4, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
"""Sample spacings the simulated instrument uses (m)."""
CLIENT = "clients: FOMS Submarine (C# monitoring program driving a real MT9083)"
"""The citation of a command a third-party client sends to a real MT9083 (manual not found)."""
NOT_GIVEN = -1.0
"""The value the simulator's handler receives for an optional parameter left out."""


@dataclass(frozen=True)
class OptionalArgs(Command):
    """A command whose trailing parameters may be left out: a driver renders only the values
    it gives (``TRACe:LOAD:DATA?`` alone asks for the whole trace, §4.5.9)."""

    def render(self, *values: object) -> str:
        if len(values) > len(self.args):
            raise TypeError(f"{self.name} takes at most {len(self.args)} argument(s)")
        if not values:
            return self.short_header
        return self.short_header + " " + ",".join(
            render_value(kind, value) for kind, value in zip(self.args, values))


class LenientPathTable(CommandTable):
    """The MT9083's header resolution: the IEEE 488.2 path rule first (``SOUR:WAV?;RANG?``
    means ``SOUR:RANG?``), and a header that does not resolve under the path is tried from the
    root. Evidence: the FOMS client sends ``sour:wav 1550;*WAI;sour:ran 100`` and
    ``trac:anal;*WAI;trac:mdlo?`` to a real MT9083, which under the strict rule would be
    ``SOUR:SOUR:RAN`` and ``TRAC:TRAC:MDLO?`` (-113); the manual's text on this was not found."""

    def match(self, header: str) -> tuple[Command, list[int]]:
        text = header
        while True:
            try:
                return super().match(text)
            except ScpiError as exc:
                rest = text.lstrip(":").partition(":")[2]
                if exc.code != -113 or not rest:
                    raise ScpiError(-113, header) from None
                text = rest


COMMANDS = LenientPathTable(
    *COMMON_COMMANDS,
    Command("wavelength", ":SOURce:WAVelength",
            (Number(allowed=WAVELENGTHS_NM, integer=True, reply="{:d}", unit="nm",
                    suffixes=(("NM", 1.0),), default=1550),),
            readable=True, default=(1550,), manual=CLIENT, doc="source wavelength (nm)"),
    Command("range", ":SOURce:RANge",
            (Number(low=0.5, high=512.0, reply="{:.6f}", unit="km", suffixes=(("KM", 1.0),),
                    default=100.0),),
            readable=True, default=(100.0,), aliases=(":SOURce:RANGe",),
            manual=CLIENT, doc="distance range (km)"),
    Command("resolution", ":SOURce:RESolution",
            (Number(allowed=(0, 1, 2), integer=True, reply="{:d}", default=1),),
            readable=True, default=(1,),
            manual=CLIENT, doc="sampling resolution level: 0 Low, 1 High, 2 Very High"),
    Command("resolution_available", ":SOURce:RESolution:AVAilable?",
            manual=CLIENT, doc="levels the range allows, as 'a, b, c'"),
    Command("pulse", ":SOURce:PULSe",
            (Number(allowed=PULSES_NS, integer=True, reply="{:d}", unit="ns",
                    suffixes=(("NS", 1.0), ("US", 1e3)), default=1000),),
            readable=True, default=(1000,), manual=CLIENT, doc="pulse width (ns)"),
    Command("pulse_available", ":SOURce:PULSe:AVAilable?",
            manual=CLIENT, doc="pulse widths (ns) the range and resolution allow, as 'a, b, c'"),
    Command("average_time", ":SOURce:AVERage:TIMe",
            (Number(low=1, high=3600, integer=True, reply="{:d}", unit="s",
                    suffixes=(("S", 1.0),), default=30),),
            readable=True, default=(30,), manual=CLIENT, doc="averaging time (s)"),
    Command("ior", ":SENSe:FIBer:IOR",
            (Number(low=1.3, high=1.7, reply="{:.6f}", default=1.4677),),
            readable=True, default=(1.4677,), manual=CLIENT, doc="group index of refraction"),
    Command("backscatter", ":SENSe:FIBer:BSC",
            (Number(low=-90.0, high=-40.0, reply="{:.6f}", unit="dB", default=-81.5),),
            readable=True, default=(-81.5,),
            manual=CLIENT, doc="backscatter coefficient (dB, 1 ns pulse)"),
    Command("start", ":INITiate", manual=CLIENT,
            doc="start an averaged acquisition (overlapped)"),
    Command("abort", ":ABORt", doc="stop the acquisition, laser off (unverified: not found)"),
    Command("ready", ":SENSe:TRACe:READy?",
            manual=CLIENT, doc="1 when a completed trace is ready, 0 while acquiring or before"),
    Command("elapsed", ":SENSe:AVERage:ELAPsed?",
            doc="averaging time done so far (s), for progress (unverified: not found)"),
    Command("parameters", ":TRACe:PARameters?", manual=f"{MANUAL} §4.5.1 (p. 4-24)",
            doc="'wave nm, range km, pulse ns, averages, spacing m, IOR, backscatter dB, enh' "
                "of the last trace; -400 when there is none"),
    Command("analyze", ":TRACe:ANALyze", manual=f"{MANUAL} §4.5.2 (p. 4-24)",
            doc="run the event analysis of the last trace (overlapped)"),
    Command("analyzed", ":TRACe:ANALyze?", manual=f"{MANUAL} §4.5.3 (p. 4-24)",
            doc="1 when the last trace is analysed, 0 when not"),
    OptionalArgs("data", ":TRACe:LOAD:DATA?",
                 (Number(low=0.0, unit="km", omitted=NOT_GIVEN),
                  Number(low=0.0, unit="km", omitted=NOT_GIVEN),
                  Number(low=1, integer=True, omitted=NOT_GIVEN)),
                 manual=f"{MANUAL} §4.5.9 (manualslib p. 80)",
                 doc="block: >u4 count, then >u2 points (0.001 dB below top of scale: "
                     "unverified); optional <start> km, <end> km, <space> samples"),
    Command("sor", ":TRACe:LOAD:SOR?", manual=CLIENT,
            doc="block: the SR-4731 .sor file of the last trace"),
    Command("event_count", ":TRACe:EVENt:COUNt?",
            doc="number of events found (unverified: not found)"),
    Command("event", ":TRACe:EVENt?", (Number(low=1, integer=True),),
            doc="event n: 'distance km,kind S/R/E,loss dB,reflectance dB' (unverified)"),
)

EVENT_KINDS = {"S": "non-reflective", "R": "reflective", "E": "end"}
"""``TRACe:EVENt?`` kinds."""


def sample_spacing_m(range_km: float, level: int) -> float:
    """The sample spacing (m) a resolution level gives at a range: the finest of
    :data:`SPACINGS_M` keeping the trace within ``MAX_POINTS[level]`` samples (our model)."""
    need = range_km * 1000.0 / MAX_POINTS[level]
    return next((s for s in SPACINGS_M if s >= need * (1 - 1e-9)), SPACINGS_M[-1])


def resolution_level(range_km: float, resolution_m: float) -> int:
    """The level whose spacing at ``range_km`` is nearest ``resolution_m`` (ratio; finer wins
    a tie)."""
    return min(range(len(MAX_POINTS)),
               key=lambda lv: (abs(np.log(sample_spacing_m(range_km, lv) / resolution_m)), -lv))


def format_parameters(wavelength_nm: float, range_km: float, pulse_ns: float, averages: int,
                      spacing_m: float, ior: float, backscatter_db: float, enh: int) -> str:
    """A ``TRACe:PARameters?`` reply in the manual's format (§4.5.1 example:
    ``1310, 16.415554, 50, 6144, 0.656621, 1.467700, -78.500000, 1``)."""
    return (f"{wavelength_nm:.0f}, {range_km:.6f}, {pulse_ns:.0f}, {averages:d}, "
            f"{spacing_m:.6f}, {ior:.6f}, {backscatter_db:.6f}, {enh:d}")


def parse_parameters(reply: str) -> dict[str, float]:
    """A ``TRACe:PARameters?`` reply → wavelength_nm, range_km, pulse_ns, averages,
    spacing_m, ior, backscatter_db, enh (numbers in any form, ``,`` or ``, `` between)."""
    parts = fields(reply)
    names = ("wavelength_nm", "range_km", "pulse_ns", "averages", "spacing_m", "ior",
             "backscatter_db", "enh")
    if len(parts) != len(names):
        raise ProtocolError(f"MT9083 TRACe:PARameters? reply {reply[:80]!r} is not 8 values")
    return {name: number(part, f"TRACe:PARameters? {name}") for name, part in zip(names, parts)}


def encode_event(distance_m: float, kind: str, loss_db: float, reflectance_db: float | None) -> str:
    """One ``TRACe:EVENt?`` reply (used by the simulator)."""
    return f"{distance_m / 1000:.5f},{kind},{loss_db:.3f},{reflectance_db or 0.0:.1f}"


def decode_event(reply: str) -> dict[str, object]:
    """An event from a ``TRACe:EVENt?`` reply: distance_m (m), type, loss_db (dB),
    reflectance_db (dB, None when not reflective). Kind in either case, numbers in any form."""
    parts = fields(reply)
    if len(parts) != 4 or parts[1].upper() not in EVENT_KINDS:
        raise ProtocolError(f"MT9083 event reply {reply[:60]!r} is not 'km,S|R|E,loss,refl'")
    try:
        distance_km, loss, reflectance = (number(parts[i], "MT9083 event") for i in (0, 2, 3))
    except ProtocolError:
        raise ProtocolError(f"MT9083 event reply {reply[:60]!r} is not 'km,kind,loss,refl'") from None
    return {"distance_m": distance_km * 1000.0, "type": EVENT_KINDS[parts[1].upper()],
            "loss_db": loss, "reflectance_db": reflectance if reflectance < 0 else None}


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

    Completion is polled with ``SENSe:TRACe:READy?`` (1 = trace ready), after one look at the
    error queue (an ``INITiate`` the instrument refuses never makes a trace). The averaging is given
    ``1.5 x averaging_s`` instrument seconds (plus the driver's margin) before the driver sends
    ``:ABORt`` and raises :class:`InstrumentTimeout`.
    """

    COMMANDS = COMMANDS

    def select_port(self, port: int) -> None:
        self.send("route", port)
        self.check_errors(f"ROUTe:CLOSe {port}")
        self._port = port

    def configure(self, settings: OtdrSettings) -> None:
        """Send the settings in the order the instrument constrains them (the range limits
        the resolution levels, which limit the pulse widths) and check the error queue."""
        self.send("wavelength", settings.wavelength_nm)
        self.send("range", settings.range_km)
        self.send("resolution", resolution_level(settings.range_km, settings.resolution_m))
        self.send("pulse", settings.pulse_width_ns)
        self.send("average_time", settings.averaging_s)
        self.send("ior", settings.group_index)
        self.check_errors("configuring the acquisition")

    def measure(self, settings: OtdrSettings) -> OtdrTrace:
        self.configure(settings)
        checked = False

        def done() -> bool:
            nonlocal checked
            if not checked:  # a refused INIT (a live fibre) leaves READy? at 0 for ever
                checked = True
                self.check_errors("starting the acquisition")
            return flag(self.ask("ready"), "SENSe:TRACe:READy?")

        self.run_operation("start", done, self.deadline(settings.averaging_s * 1.5),
                           "OTDR averaging", "abort")
        self.check_errors("the acquisition")
        level = self.ask_block("data", decode=decode_trace_block)
        self.check_errors("fetching the trace")
        used = parse_parameters(self.ask("parameters"))
        spacing = used["spacing_m"]
        if not spacing > 0:
            raise ProtocolError(f"{self.name}: TRACe:PARameters? gives a sample spacing of "
                                f"{spacing!r} m")
        distance = np.arange(len(level), dtype=np.float64) * spacing
        return OtdrTrace(settings=replace(settings, resolution_m=spacing), distance_m=distance,
                         level_db=level, port=getattr(self, "_port", 0), idn=self.identify())

    def settings(self) -> OtdrSettings:
        """The acquisition settings the instrument holds, read back with each setting's query
        (the sample spacing as :func:`sample_spacing_m` models the resolution level)."""
        range_km = number(self.ask("range?"), "SOURce:RANGe?", "KM")
        level = integer(self.ask("resolution?"), "SOURce:RESolution?")
        if level >= len(MAX_POINTS):
            raise ProtocolError(f"{self.name}: resolution level {level} is not 0, 1 or 2")
        return OtdrSettings(
            wavelength_nm=number(self.ask("wavelength?"), "SOURce:WAVelength?", "NM"),
            pulse_width_ns=number(self.ask("pulse?"), "SOURce:PULSe?", "NS"),
            range_km=range_km,
            averaging_s=number(self.ask("average_time?"), "SOURce:AVERage:TIMe?", "S"),
            resolution_m=sample_spacing_m(range_km, level),
            group_index=number(self.ask("ior?"), "SENSe:FIBer:IOR?"))

    def fetch_sor(self) -> bytes:
        data = self.ask_block("sor", decode=check_sor)
        self.check_errors("fetching the .sor file")
        return data

    def events(self) -> list[dict[str, object]]:
        """Analyse (``TRACe:ANALyze`` is an overlapped command, §4.5.2: ``*OPC?`` waits for it,
        as the FOMS client's ``trac:anal;*WAI`` does) and read the event table."""
        self.send("analyze")
        if not flag(self.ask("operation_complete?"), "*OPC?"):
            raise ProtocolError(f"{self.name}: *OPC? after TRACe:ANALyze did not answer 1")
        self.check_errors("TRACe:ANALyze")
        count = integer(self.ask("event_count"), f"{self.name}: event count")
        return [decode_event(self.ask("event", n)) for n in range(1, count + 1)]
