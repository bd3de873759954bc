"""Yokogawa AQ6370-class optical spectrum analyser over its LAN socket (port 10001).

The command tree, and what each command was checked against, is in
:mod:`instruments.osa.aq6370_commands`. The dialogue: the LAN login (``open "user"``,
answered ``AUTHENTICATE CRAM-MD5.``, then the password, answered ``ready`` — compared without
regard to case, PyMeasure expects ``READY``), ``:FORMat:DATA REAL,64`` after each (re)connect
(``*RST`` would bring back ASCII), single sweep ``:INITiate:SMODe SINGle`` + ``:INITiate``,
completion polled with ``:STATus:OPERation:EVENt?`` (bit 0 = sweep done; a deadline, then
``:ABORt``), resolution ``:SENSe:BANDwidth:RESolution``, traces as REAL,64 little-endian blocks
from ``:TRACe:X? TRA`` (wavelength in m) and ``:TRACe:Y? TRA`` (dBm).
WDM analysis of the last sweep: ``:CALCulate:CATegory WDM``, display type ABSolute,
``:CALCulate`` (execute) and ``*OPC?``, then ``:CALCulate:DATA?`` answers in ASCII
``<n>,<wl 1>,<level 1>,<offset wl 1>,<offset level 1>,<noise 1>,<snr 1>,...`` (wavelengths in m,
level in dBm in the resolution bandwidth at the channel peak, offsets from the first channel
in m and dB, noise in dBm in the noise bandwidth ``:CALCulate:PARameter:WDM:NBW``, default
0.1 nm, SNR in dB): the layout a public AQ6370 client parses (our earlier 4-column layout
was from memory and is gone).
Replies may end in CR LF (the LAN socket does) and numbers may carry ``+`` signs and any
exponent form; both are accepted.
A 1xN switch in front of the input is addressed with ``:ROUTe:CLOSe``.
"""

from __future__ import annotations

import numpy as np

from instruments.errors import InstrumentError, LoginRefused, ProtocolError
from instruments.osa.aq6370_commands import COMMANDS
from instruments.protocols import Osa, OsaSettings, Spectrum
from instruments.scpi_driver import ScpiDriver, parse_int
from instruments.scpi_table import Nanometres
from instruments.secret import Secret

MODEL = "yokogawa-aq6370"

__all__ = ["COMMANDS", "MODEL", "YokogawaAq6370", "format_wdm_table", "parse_wdm_table"]

WDM_FIELDS = ("center_nm", "power_dbm", "noise_dbm", "osnr_db")
"""One row of the WDM table: peak wavelength (nm), level (dBm in the RBW), noise (dBm in the
noise bandwidth), SNR (dB, level minus noise)."""
WDM_COLUMNS = 6
"""Values per channel in a display-type ABSolute WDM reply."""


def format_wdm_table(rows: list[dict[str, float]], spacing: bool = False) -> str:
    """The ``:CALCulate:DATA?`` reply of a WDM analysis (display type ABSolute): columns 3-4
    are the offset from the first channel, or with ``spacing`` the step from the previous one
    (wavelengths sent in m, as the AQ6370)."""
    values = [str(len(rows))]
    for i, r in enumerate(rows):
        ref = rows[i - 1] if spacing and i else (r if spacing else rows[0])
        values += [f"{r['center_nm'] * 1e-9:+.8E}", f"{r['power_dbm']:+.3f}",
                   f"{(r['center_nm'] - ref['center_nm']) * 1e-9:+.8E}",
                   f"{r['power_dbm'] - ref['power_dbm']:+.3f}",
                   f"{r['noise_dbm']:+.3f}", f"{r['osnr_db']:+.3f}"]
    return ",".join(values)


def parse_wdm_table(reply: str) -> list[dict[str, float]]:
    """Rows (see :data:`WDM_FIELDS`) from a ``:CALCulate:DATA?`` WDM reply; ProtocolError if malformed."""
    try:
        values = [float(v) for v in reply.strip().split(",")]
        count = int(values[0])
    except (ValueError, IndexError, OverflowError):
        raise ProtocolError(f"unreadable WDM analysis reply {reply[:60]!r}") from None
    if count < 0 or values[0] != count or len(values) != 1 + WDM_COLUMNS * count:
        raise ProtocolError(f"WDM analysis reply says {values[0]:g} channels but holds "
                            f"{len(values) - 1} values ({WDM_COLUMNS} per channel)")
    rows = []
    for k in range(count):
        wl_m, level, _, _, noise, snr = values[1 + WDM_COLUMNS * k:1 + WDM_COLUMNS * (k + 1)]
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
        reply = self.session.query(f'open "{user}"').strip()
        if reply.upper() != LOGIN_PROMPT.upper():
            raise InstrumentError(f"{self.name}: unexpected login prompt {reply!r}")
        reply = self.session.query(password or Secret("anonymous")).strip()
        if reply.upper() != LOGIN_READY.upper():
            raise LoginRefused(f"{self.name}: login as {user!r} refused: {reply[:40]!r}")

    def select_port(self, port: int) -> None:
        self.send("route", port)
        self.check_errors(f"ROUTe:CLOSe {port}")
        self._port = port

    def _sweep_done(self) -> bool:
        return parse_int(self.ask("operation_event"), f"{self.name}: event register") & 1 == 1

    def sweep(self, settings: OsaSettings) -> Spectrum:
        self.send("sweep_mode", "SINGle")
        self.send("start_wl", Nanometres(settings.start_nm))
        self.send("stop_wl", Nanometres(settings.stop_nm))
        self.send("rbw", Nanometres(settings.rbw_nm))
        self.send("points", settings.points)
        self.check_errors("configuring the sweep")
        self.ask("operation_event")  # reading the event register clears it
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
        self.send("wdm_display", "ABSolute")
        self.send("calculate")
        self.ask("operation_complete?")  # the analysis may be overlapped; wait for it
        self.check_errors("WDM analysis")
        return parse_wdm_table(self.ask("calc_data"))
