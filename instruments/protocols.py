"""What a test plan may ask of an instrument, with units. Test plans import only this module.

Each protocol is an abstract class; a driver per instrument model implements it, and so do the
replay instruments that serve stored data. Results are plain dataclasses of NumPy arrays and
floats, so the harness can store them and serve them back unchanged.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np

from instruments.errors import InstrumentError

from instruments.errors import InstrumentError


@dataclass(frozen=True)
class OtdrSettings:
    """OTDR acquisition settings.

    wavelength_nm: source wavelength (nm); pulse_width_ns: pulse width (ns); range_km: distance
    range (km); averaging_s: averaging time (s); resolution_m: sample spacing (m);
    group_index: group index of refraction used to turn time into distance.
    """

    wavelength_nm: float = 1550.0
    pulse_width_ns: float = 20000.0
    range_km: float = 400.0
    averaging_s: float = 180.0
    resolution_m: float = 8.0
    group_index: float = 1.4677


@dataclass
class OtdrTrace:
    """One OTDR acquisition: level (dB, 5·log10 of backscattered power, higher = more power)
    against one-way distance from the OTDR port (m)."""

    settings: OtdrSettings
    distance_m: np.ndarray
    level_db: np.ndarray
    port: int = 0
    idn: str = ""


@dataclass(frozen=True)
class OsaSettings:
    """OSA sweep settings: start/stop wavelength (nm), resolution bandwidth (nm), points."""

    start_nm: float = 1528.0
    stop_nm: float = 1568.0
    rbw_nm: float = 0.1
    points: int = 20001


@dataclass
class Spectrum:
    """One OSA sweep: power (dBm in the resolution bandwidth) against wavelength (nm, vacuum)."""

    settings: OsaSettings
    wavelength_nm: np.ndarray
    power_dbm: np.ndarray
    port: int = 0
    idn: str = ""


PM_FIELDS: dict[str, str] = {
    "rx_power_dbm": "dBm",
    "tx_power_dbm": "dBm",
    "osnr_db": "dB (12.5 GHz)",
    "q_db": "dB",
    "pre_fec_ber": "1",
    "uncorrected_blocks": "blocks",
    "cd_ps_nm": "ps/nm",
    "dgd_ps": "ps",
    "freq_offset_mhz": "MHz",
    "errored_seconds": "s",
}
"""Performance-monitoring values a coherent transponder reports, with their units."""


@dataclass
class PmBin:
    """One performance-monitoring bin of one optical channel (values in :data:`PM_FIELDS` units).

    A value the card could not measure (e.g. under loss of signal) is NaN.
    """

    aid: str
    period: str
    start_s: float
    values: dict[str, float] = field(default_factory=dict)
    alarms: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChannelState:
    """One card: its transmitter's primary state (``IS`` in service, laser on; ``OOS`` out of
    service, laser off), the power it transmits and the power it receives (dBm)."""

    aid: str
    state: str
    tx_power_dbm: float
    rx_power_dbm: float


class HistoryShort(InstrumentError):
    """A card holds fewer complete PM bins than were asked for (it has not carried a signal
    for long enough yet)."""


@dataclass(frozen=True)
class Alarm:
    """An alarm raised by a transponder: access identifier, condition (e.g. LOS), severity."""

    aid: str
    condition: str
    severity: str
    description: str = ""


class Instrument(abc.ABC):
    """Common to every instrument: identity, self-test, error queue, closing the session."""

    @abc.abstractmethod
    def identify(self) -> str:
        """The instrument's identity string (``*IDN?`` or its equivalent)."""

    def self_test(self) -> None:
        """Run the instrument's own self-test (``*TST?`` or its equivalent); raises
        InstrumentError naming the result when it does not pass."""
        raise InstrumentError(f"{type(self).__name__}: no self-test")

    @abc.abstractmethod
    def close(self) -> None:
        """Release the session and any lock on the instrument."""

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Otdr(Instrument):
    """An optical time-domain reflectometer, optionally behind a 1xN optical switch."""

    @abc.abstractmethod
    def select_port(self, port: int) -> None:
        """Connect the OTDR to switch port ``port`` (1-based)."""

    @abc.abstractmethod
    def measure(self, settings: OtdrSettings) -> OtdrTrace:
        """Configure, fire, wait for the averaging to finish, and fetch the trace."""

    def fetch_sor(self) -> bytes:
        """The Telcordia SR-4731 (.sor) file of the last acquisition, as the instrument hands it
        over (raw bytes, checked to parse). Models that cannot hand one over raise."""
        raise InstrumentError(f"{type(self).__name__}: this OTDR cannot hand over a .sor file")

    def events(self) -> list[dict[str, object]]:
        """The instrument's own event table of the last acquisition: one dict per event with
        distance_m (m), loss_db (dB), reflectance_db (dB, None if not reflective) and type."""
        raise InstrumentError(f"{type(self).__name__}: this OTDR does not expose its event table")


class Osa(Instrument):
    """An optical spectrum analyser, optionally behind a 1xN optical switch."""

    @abc.abstractmethod
    def select_port(self, port: int) -> None:
        """Connect the OSA input to switch port ``port`` (1-based)."""

    @abc.abstractmethod
    def sweep(self, settings: OsaSettings) -> Spectrum:
        """Configure, run one sweep, wait for it, and fetch the trace."""

    @abc.abstractmethod
    def wdm_table(self) -> list[dict[str, float]]:
        """The instrument's own WDM analysis of the last sweep, one dict per channel found:
        ``center_nm`` peak wavelength (nm), ``power_dbm`` peak level (dBm in the resolution
        bandwidth), ``noise_dbm`` noise (dBm in the instrument's noise bandwidth, 0.1 nm by
        default), ``osnr_db`` the instrument's SNR (dB, level minus noise)."""


class Transponder(Instrument):
    """A shelf of coherent transponder cards behind one management console."""

    @abc.abstractmethod
    def read_pm(self, aid: str) -> PmBin:
        """The current 15-minute PM bin of optical channel ``aid``."""

    @abc.abstractmethod
    def alarms(self) -> list[Alarm]:
        """Every standing alarm on the shelf."""

    @abc.abstractmethod
    def channel_state(self, aid: str) -> ChannelState:
        """The transmitter of channel ``aid``: in or out of service, and its Tx power."""

    @abc.abstractmethod
    def set_in_service(self, aid: str, on: bool) -> None:
        """Put channel ``aid``'s transmitter in service (laser on) or out of service."""

    @abc.abstractmethod
    def read_pm_history(self, aid: str, bins: int) -> list[PmBin]:
        """The ``bins`` most recent complete 15-minute PM bins of channel ``aid``, oldest
        first. Raises :class:`HistoryShort` when the card holds fewer."""
