"""The recorder a test uses for its check (context, measurements judged against limits, events),
and the laser interlock a laser check passes before each OTDR shot."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Callable

from harness.config import LimitsFile
from harness.errors import HarnessError
from harness.verdict import Measurement, judge, worst


class CheckRecorder:
    """What a test uses to record its results; one per check (test item)."""

    def __init__(self, nodeid: str, limits: LimitsFile) -> None:
        self.nodeid = nodeid
        self.limits = limits
        self.measurements: list[Measurement] = []
        self.traces: dict[str, str] = {}
        self.events: dict[str, list[dict]] = {}
        self.context: dict[str, Any] = {"station": "", "fibre": "", "wavelength_nm": math.nan}
        self.messages: list[str] = []

    def where(self, **context: Any) -> None:
        """Say what this check is about: ``station``, ``fibre``, ``wavelength_nm``."""
        self.context.update(context)

    def measure(self, name: str, value: float, limit: str, detail: str = "") -> Measurement:
        """Judge ``value`` against limit ``limit`` of the limits file and record it.

        ``detail`` (e.g. "at 212.3 km from AKTAU") goes into the message when it fails.
        """
        spec = self.limits[limit]
        m = Measurement(name, float(value), spec, judge(float(value), spec), detail)
        self.measurements.append(m)
        if m.verdict in ("fail", "marginal"):
            label = " ".join(str(self.context[k]) for k in ("fibre",) if self.context.get(k))
            self.messages.append(f"{label + ': ' if label else ''}{m.describe()}"
                                 f"{' ' + detail if detail else ''}")
        return m

    def record_events(self, name: str, events: list[dict]) -> None:
        """Attach an event table (dicts with distance_m, loss_db, reflectance_db, type)."""
        self.events[name] = events

    def link(self, name: str, path: str) -> None:
        self.traces[name] = path

    @property
    def verdict(self) -> str:
        return worst(*(m.verdict for m in self.measurements))


class LiveFibre(HarnessError):
    """The laser interlock refused an OTDR shot: the fibre carries traffic."""


class LaserInterlock:
    """Checks a fibre is dark before an OTDR fires into it (DOMAIN.md "Safety").

    The reading comes from the station's transponder card on the fibre's pair: where the
    station receives the fibre, the card's Rx power; where it transmits, the card's laser state
    and Tx power. Light (in service, or a power above ``dark_below_dbm``) refuses the shot with
    :class:`LiveFibre` naming the fibre and the reading, unless ``allow_live`` (the operator's
    ``--allow-live-fibre``). A station without a transponder asks the operator to confirm the
    fibre is dark. Every decision goes to ``record`` (the run's prompt log, key
    ``interlock:STATION:FIBRE``) with the reading, who and when.
    """

    def __init__(self, card: Callable[[str], Any], confirm: Callable[[str, str], None],
                 record: Callable[[dict[str, Any]], None], who: str, allow_live: bool,
                 dark_below_dbm: float) -> None:
        self.card, self.confirm, self.record = card, confirm, record
        self.who, self.allow_live, self.dark_below_dbm = who, allow_live, dark_below_dbm

    def ensure_dark(self, station: str, fibre: str, aid: str, receives: bool) -> None:
        """Before a shot from ``station`` into ``fibre``; ``aid`` is the station's card on the
        fibre's pair, ``receives`` whether the station is the fibre's receiving end."""
        key = f"interlock:{station}:{fibre}"
        card = self.card(station)
        if card is None:
            self.confirm(key, f"At {station}, confirm fibre {fibre} carries no traffic "
                              "(transmitters out of service) before the OTDR fires")
            return
        s = card.channel_state(aid)
        if receives:
            lit = s.rx_power_dbm > self.dark_below_dbm
            reading = f"card {aid} at {station} receives {s.rx_power_dbm:.1f} dBm"
        else:
            lit = s.state == "IS" or s.tx_power_dbm > self.dark_below_dbm
            reading = f"card {aid} at {station} transmits: {s.state}, {s.tx_power_dbm:.1f} dBm"
        decision = "fire" if not lit else "override" if self.allow_live else "refused"
        self.record({"key": key, "prompt": f"OTDR shot from {station} into {fibre}",
                     "answer": decision, "by": self.who,
                     "source": "--allow-live-fibre" if lit and self.allow_live else "laser interlock",
                     "lit": lit, "reading": reading,
                     "utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
        if decision == "refused":
            raise LiveFibre(f"{fibre} carries traffic ({reading}, dark is <= "
                            f"{self.dark_below_dbm:g} dBm): OTDR shot from {station} refused "
                            "(--allow-live-fibre overrides)")
