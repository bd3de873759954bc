"""Yokogawa AQ6370-class optical spectrum analyser over its LAN socket (port 10001).

Follows the AQ6370 series remote control manual: the LAN login handshake (``open "user"``,
answered ``AUTHENTICATE CRAM-MD5.``, then the password, answered ``ready``), single sweep
``:INITiate:SMODe SINGle`` + ``:INITiate``, completion polled with ``:STATus:OPERation:EVENt?``
(bit 0 = sweep done), resolution ``:SENSe:BANDwidth:RESolution``, and traces as REAL,64
binary blocks from ``:TRACe:X? TRA`` (wavelength in m) and ``:TRACe:Y? TRA`` (dBm).
WDM analysis of the last sweep: ``:CALCulate:CATegory WDM``, ``:CALCulate`` (execute), then
``:CALCulate:DATA?`` answers in ASCII ``<n>,<wl 1>,<level 1>,<noise 1>,<snr 1>,...,<snr n>``
(wavelength in m, level in dBm in the resolution bandwidth at the channel peak, noise in dBm in
the noise bandwidth ``:CALCulate:PARameter:WDM:NBW``, default 0.1 nm, SNR in dB).
A 1xN switch in front of the input is addressed with ``:ROUTe:CLOSe``.
"""

from __future__ import annotations

import numpy as np

from instruments.errors import InstrumentError, LoginRefused, ProtocolError
from instruments.protocols import Osa, OsaSettings, Spectrum
from instruments.scpi_driver import ScpiDriver
from instruments.scpi_table import COMMON_COMMANDS, Command, CommandTable, Nanometres
from instruments.secret import Secret

MODEL = "yokogawa-aq6370"

COMMANDS = CommandTable(
    *COMMON_COMMANDS,
    Command("sweep_mode", ":INITiate:SMODe", (str,), doc="SINGle | REPeat | AUTO"),
    Command("start_wl", ":SENSe:WAVelength:STARt", (Nanometres,), doc="sweep start (nm)"),
    Command("stop_wl", ":SENSe:WAVelength:STOP", (Nanometres,), doc="sweep stop (nm)"),
    Command("rbw", ":SENSe:BANDwidth:RESolution", (Nanometres,), doc="resolution bandwidth (nm)"),
    Command("points", ":SENSe:SWEep:POINts", (int,), doc="sampling points"),
    Command("format", ":FORMat:DATA", (str, int), doc="REAL,64 = float64 little-endian blocks"),
    Command("start", ":INITiate", doc="start a sweep"),
    Command("abort", ":ABORt", doc="stop the sweep"),
    Command("event", ":STATus:OPERation:EVENt?", doc="operation event register; bit 0 sweep done "
            "(reading clears it)", repeatable=False),
    Command("trace_x", ":TRACe:X?", (str,), doc="wavelength axis (m) of trace TRA..TRG"),
    Command("trace_y", ":TRACe:Y?", (str,), doc="level axis (dBm) of trace TRA..TRG"),
    Command("category", ":CALCulate:CATegory", (str,), doc="analysis kind: WDM | DFBLD | ..."),
    Command("calculate", ":CALCulate", doc="run the selected analysis on the active trace"),
    Command("calc_data", ":CALCulate:DATA?", doc="analysis result; WDM: n, then wavelength (m), "
            "level (dBm), noise (dBm in NBW), SNR (dB) per channel"),
)

WDM_FIELDS = ("center_nm", "power_dbm", "noise_dbm", "osnr_db")
"""One row of the WDM table: peak wavelength (nm), level (dBm in the RBW), noise (dBm in the
noise bandwidth), SNR (dB, level minus noise)."""


def format_wdm_table(rows: list[dict[str, float]]) -> str:
    """The ``:CALCulate:DATA?`` reply of a WDM analysis (wavelengths sent in m, as the AQ6370)."""
    values = [str(len(rows))]
    for r in rows:
        values += [f"{r['center_nm'] * 1e-9:+.8E}", f"{r['power_dbm']:+.3f}",
                   f"{r['noise_dbm']:+.3f}", f"{r['osnr_db']:+.3f}"]
    return ",".join(values)


def parse_wdm_table(reply: str) -> list[dict[str, float]]:
    """Rows (see :data:`WDM_FIELDS`) from a ``:CALCulate:DATA?`` WDM reply; ProtocolError if malformed."""
    try:
        values = [float(v) for v in reply.strip().split(",")]
        count = int(values[0])
    except (ValueError, IndexError):
        raise ProtocolError(f"unreadable WDM analysis reply {reply[:60]!r}") from None
    if count < 0 or len(values) != 1 + 4 * count:
        raise ProtocolError(f"WDM analysis reply says {count} channels but holds {len(values) - 1} values")
    rows = []
    for k in range(count):
        wl_m, level, noise, snr = values[1 + 4 * k:5 + 4 * k]
        rows.append(dict(zip(WDM_FIELDS, (wl_m * 1e9, level, noise, snr))))
    return rows

LOGIN_PROMPT = "AUTHENTICATE CRAM-MD5."
LOGIN_READY = "ready"

SWEEP_S_PER_POINT = 0.005
"""Slowest sweep the plan uses (instrument seconds per sampling point), for the sweep deadline."""
MIN_SWEEP_S = 90.0
"""Sweep deadline floor (instrument seconds)."""


def _float64(payload: bytes) -> np.ndarray:
    """A REAL,64 block payload as little-endian float64 values."""
    if len(payload) % 8:
        raise ProtocolError(f"REAL,64 block of {len(payload)} bytes is not a whole number of values")
    return np.frombuffer(payload, dtype="<f8")


class YokogawaAq6370(ScpiDriver, Osa):
    """Driver for an AQ6370-class OSA. Units as in :class:`OsaSettings`.

    Each (re)connection logs in and sets REAL,64; a sweep is given
    ``max(MIN_SWEEP_S, SWEEP_S_PER_POINT x points)`` instrument seconds (plus the driver's margin)
    before ``:ABORt`` and :class:`InstrumentTimeout`.
    """

    COMMANDS = COMMANDS

    def __init__(self, session, name: str = "", user: str = "anonymous", password: str = "",
                 **options: float) -> None:
        super().__init__(session, name, **options)
        self._credentials = (user, Secret(password))  # shown as '***' in any repr
        self.on_connect()

    def on_connect(self) -> None:
        """LAN login (per connection) and the binary format."""
        self._login(*self._credentials)
        self.send("format", "REAL", 64)
        self.check_errors("FORMat:DATA REAL,64")

    def _login(self, user: str, password: str) -> None:
        reply = self.session.query(f'open "{user}"')
        if reply != LOGIN_PROMPT:
            raise InstrumentError(f"{self.name}: unexpected login prompt {reply!r}")
        reply = self.session.query(password or Secret("anonymous"))
        if reply != LOGIN_READY:
            raise LoginRefused(f"{self.name}: login as {user!r} refused: {reply[:40]!r}")

    def select_port(self, port: int) -> None:
        self.send("route", port)
        self.check_errors(f"ROUTe:CLOSe {port}")
        self._port = port

    def _sweep_done(self) -> bool:
        reply = self.ask("event")
        try:
            return int(reply) & 1 == 1
        except ValueError:
            raise ProtocolError(f"{self.name}: unreadable event register {reply!r}") from None

    def sweep(self, settings: OsaSettings) -> Spectrum:
        self.send("sweep_mode", "SINGle")
        self.send("start_wl", Nanometres(settings.start_nm))
        self.send("stop_wl", Nanometres(settings.stop_nm))
        self.send("rbw", Nanometres(settings.rbw_nm))
        self.send("points", settings.points)
        self.check_errors("configuring the sweep")
        self.ask("event")  # reading the event register clears it
        expected_s = max(MIN_SWEEP_S, SWEEP_S_PER_POINT * settings.points)
        self.run_operation("start", self._sweep_done, self.deadline(expected_s), "OSA sweep", "abort")
        x = self.ask_block("trace_x", "TRA", decode=_float64)
        y = self.ask_block("trace_y", "TRA", decode=_float64)
        self.check_errors("fetching the trace")
        if len(x) != len(y):
            raise InstrumentError(f"{self.name}: X has {len(x)} points, Y has {len(y)}")
        return Spectrum(settings=settings, wavelength_nm=x * 1e9, power_dbm=y.copy(),
                        port=getattr(self, "_port", 0), idn=self.identify())

    def wdm_table(self) -> list[dict[str, float]]:
        self.send("category", "WDM")
        self.send("calculate")
        self.check_errors("WDM analysis")
        return parse_wdm_table(self.ask("calc_data"))
