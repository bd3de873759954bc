"""Simulated Yokogawa AQ6370-class OSA serving the span model, on the shared SCPI engine.

The command tree is :data:`instruments.osa.aq6370_commands.COMMANDS` (see there for what was
checked against what); the engine (:mod:`instruments.sim.scpi_engine`) gives the IEEE 488.2 /
SCPI behaviour. This module adds what is the AQ6370's own:

- the LAN login (:func:`lan_login`): ``open "<user>"`` → ``AUTHENTICATE CRAM-MD5.``, then the
  password line → ``ready`` (for ``anonymous`` any password, an empty line too, as the public
  clients send); ``CLOSE`` ends the session;
- replies end with CR LF on the LAN socket (PyMeasure's AQ6370 series sets a ``\\r\\n`` read
  termination for TCPIP, LF for GPIB; GitHub socket clients read CR LF too);
- the sweep is an overlapped operation: condition bit 0 of ``:STATus:OPERation`` is 0 while
  sweeping and 1 once done (PyMeasure polls ``:STAT:OPER:COND?`` bit 0), so the event register
  latches bit 0 when a sweep completes; REPeat/AUTO sweep again until ``:ABORt``; a ``busy``
  fault means a sweep never completes;
- traces A–G keep their data per write mode (WRITe replaced by each sweep, FIX kept, MAX/MIN
  held, RAVG a running average in dB); ``:TRAC:X?``/``:TRAC:Y?`` answer in the
  ``:FORMat:DATA`` format (ASCII after ``*RST``; REAL,64/REAL,32 little-endian blocks);
- WDM analysis (:func:`wdm_analysis`) of the active trace, answered in the layout GitHub's
  AQ6370 client parses for display type ABSolute (offset or spacing columns).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.ndimage import minimum_filter1d

from instruments.errors import ProtocolError
from instruments.ieee488 import encode_block
from instruments.osa.aq6370_commands import COMMANDS
from instruments.osa.yokogawa_aq6370 import LOGIN_PROMPT, LOGIN_READY, format_wdm_table
from instruments.protocols import OsaSettings
from instruments.scpi_params import ScpiError
from instruments.sim.faults import InstrumentFaults
from instruments.sim.scpi_server import SimStationInstrument
from instruments.sim.span import Span
from instruments.sim.osa_physics import osa_spectrum

SWEEP_S_PER_KPOINT = 0.05
"""Simulated sweep time (instrument seconds per 1000 points)."""
FLOOR_WINDOW_NM = 1.0
"""WDM analysis: the local floor is the lowest level within this window (nm)."""
NOISE_HALF_WIDTH_NM = 0.02
"""WDM analysis: the noise is averaged over ± this (nm) around each noise point."""
SWEEP_DONE = 1
"""``:STATus:OPERation`` bit 0: 1 = no sweep running (PyMeasure's ``sweep_complete``)."""


def wdm_analysis(wl_nm: np.ndarray, level_dbm: np.ndarray, rbw_nm: float, nbw_nm: float = 0.1,
                 mdiff_db: float = 6.0) -> list[dict[str, float]]:
    """The WDM table of one trace (wavelength nm, level dBm in ``rbw_nm``).

    A channel is a run of samples more than ``mdiff_db`` above the local floor; its
    wavelength is the centre of its -3 dB points, its level the peak level (dBm in the RBW, not
    the integrated channel power); the noise is read half-way to each neighbouring channel (as
    far out on the other side for the first and last), the two readings averaged in dB and
    scaled to ``nbw_nm``; SNR = level - noise. Units as in
    :data:`~instruments.osa.yokogawa_aq6370.WDM_FIELDS`.
    """
    step = float(wl_nm[1] - wl_nm[0]) if len(wl_nm) > 1 else 1.0
    floor = minimum_filter1d(level_dbm, max(int(FLOOR_WINDOW_NM / step), 3), mode="nearest")
    above = np.concatenate([[False], level_dbm > floor + mdiff_db, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    peaks = []
    for lo, hi in zip(edges[::2], edges[1::2]):
        k = lo + int(np.argmax(level_dbm[lo:hi]))
        top = np.flatnonzero(level_dbm[lo:hi] >= level_dbm[k] - 3.0) + lo
        peaks.append((0.5 * (wl_nm[top[0]] + wl_nm[top[-1]]), float(level_dbm[k])))
    gaps = np.diff([c for c, _ in peaks])
    rows = []
    for i, (centre, level) in enumerate(peaks):
        before = gaps[i - 1] if i > 0 else (gaps[0] if len(gaps) else 1.0)
        after = gaps[i] if i < len(gaps) else (gaps[-1] if len(gaps) else 1.0)
        noise = [_mean_dbm(wl_nm, level_dbm, x) for x in (centre - before / 2.0, centre + after / 2.0)]
        noise_nbw = float(np.mean(noise)) + 10.0 * math.log10(nbw_nm / rbw_nm)
        rows.append({"center_nm": float(centre), "power_dbm": level, "noise_dbm": noise_nbw,
                     "osnr_db": level - noise_nbw})
    return rows


def _mean_dbm(wl_nm: np.ndarray, level_dbm: np.ndarray, at_nm: float) -> float:
    near = np.abs(wl_nm - at_nm) <= NOISE_HALF_WIDTH_NM
    if not near.any():
        near = np.abs(wl_nm - at_nm) == np.abs(wl_nm - at_nm).min()
    return float(10.0 * np.log10(np.mean(10.0 ** (level_dbm[near] / 10.0))))


def lan_login(line: str, session: dict[str, Any],
              expected: tuple[str, str] | None = None) -> bytes | None:
    """The AQ6370 LAN login, one line at a time: the reply (no terminator) while logging in,
    None once logged in (the line is a command). ``expected``: the (user, password) to demand;
    None accepts any (``anonymous`` takes any password, as the public clients assume). A refused
    login answers ``error`` and waits for a new ``open``: the AQ6370 remote manual's wording for
    a refusal was not found here (the driver takes anything but ``ready`` as a refusal)."""
    state = session.get("login", "user")
    if state == "ready":
        if line.strip().upper() == "CLOSE":
            session["login"] = "user"
            return b""
        return None
    if state == "user":
        if not line.strip().lower().startswith("open "):
            return b"ERROR: login required"
        session["login"], session["user"] = "password", line.strip()[5:].strip().strip('"')
        return LOGIN_PROMPT.encode()
    given = (session.pop("user", ""), line.strip().removeprefix('"').removesuffix('"'))
    if expected is not None and given != tuple(expected):
        session["login"] = "user"
        return b"error"
    session["login"] = "ready"
    return LOGIN_READY.encode()


class SimAq6370(SimStationInstrument):
    """An AQ6370-class OSA at ``station``; switch port n sees the spectrum of ``ports[n]``."""

    COMMANDS = COMMANDS
    TERMINATOR = b"\r\n"
    expected_login: tuple[str, str] | None = None
    """(user, password) the LAN login must give; None accepts any (as "anonymous" does)."""

    def __init__(self, span: Span, station: str, ports: dict[int, str], serial: str = "91M000001",
                 faults: InstrumentFaults | None = None) -> None:
        super().__init__(span, station, ports, faults)
        self.IDN = f"YOKOGAWA,AQ6370D,{serial},SIM-{station}"
        self.traces: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        """Trace name → (wavelength m, level dBm)."""
        self._analysis: list[dict[str, float]] | None = None
        self.status.operation.condition = SWEEP_DONE

    # --- the LAN socket ----------------------------------------------------------------------
    def handle(self, line: str, session: dict[str, Any]) -> bytes | None:
        reply = lan_login(line, session, self.expected_login)
        if reply is None:
            return super().handle(line, session)
        return reply + self.TERMINATOR if reply else None

    def on_reset(self) -> None:
        self.traces.clear()
        self._analysis = None
        self.status.operation.condition |= SWEEP_DONE

    # --- sweep settings: start/stop are held, centre/span follow -----------------------------
    def get_center(self) -> tuple[float]:
        return (0.5 * (self.value("start_wl") + self.value("stop_wl")),)

    def get_span(self) -> tuple[float]:
        return (self.value("stop_wl") - self.value("start_wl"),)

    def do_center(self, centre_m: float) -> None:
        self._move(centre_m, self.get_span()[0])

    def do_span(self, span_m: float) -> None:
        self._move(self.get_center()[0], span_m)

    def _move(self, centre_m: float, span_m: float) -> None:
        start, stop = centre_m - span_m / 2.0, centre_m + span_m / 2.0
        for name, value in (("start_wl", start), ("stop_wl", stop)):
            self.COMMANDS[name].args[0].parse(f"{value!r}")  # -222 when it leaves the range
        self.set_value("start_wl", start)
        self.set_value("stop_wl", stop)

    def settings(self) -> OsaSettings:
        """The sweep settings now in force, in the units of :class:`OsaSettings`."""
        return OsaSettings(start_nm=self.value("start_wl") * 1e9, stop_nm=self.value("stop_wl") * 1e9,
                           rbw_nm=round(self.value("rbw") * 1e9, 6), points=self.value("points"))

    # --- sweeps ------------------------------------------------------------------------------
    def do_start(self) -> None:
        self._sweep(self.value("sweep_mode") in ("REPeat", "AUTO"))

    def do_trigger(self) -> None:
        self._sweep(False)

    def _sweep(self, again: bool) -> None:
        settings = self.settings()
        if settings.stop_nm <= settings.start_nm:
            raise ScpiError(-221, "start >= stop")
        spectrum = osa_spectrum(self.span, self.ports[self.port], settings)
        duration = SWEEP_S_PER_KPOINT * settings.points / 1000.0 * self.span.time_scale
        self._analysis = None
        self.status.operation.set_condition(SWEEP_DONE, False)

        def done() -> None:
            self._store(spectrum)
            self.status.operation.set_condition(SWEEP_DONE, True)
            if self.value("auto_center"):
                self.do_peak_to_center()
            if self.value("auto_ref"):
                self.do_peak_to_ref()
            if self.value("auto_analysis"):
                self._analyse()
            if again:
                self._sweep(True)

        self.start_operation("sweep", duration, done, lambda: not self.faults.busy)

    def _store(self, spectrum: tuple[np.ndarray, np.ndarray]) -> None:
        x_m, y = spectrum[0] * 1e-9, spectrum[1]
        for name in self.traces.keys() | {"TRA", "TRB", "TRC", "TRD", "TRE", "TRF", "TRG"}:
            mode = self.value("attribute_" + name.lower())
            old = self.traces.get(name)
            same = old is not None and len(old[1]) == len(y)
            if mode == "WRITe" or (mode in ("MAX", "MIN", "RAVG") and not same):
                self.traces[name] = (x_m, y.copy())
            elif mode in ("MAX", "MIN", "RAVG") and old is not None:
                pick = {"MAX": np.maximum, "MIN": np.minimum}.get(mode)
                self.traces[name] = (x_m, pick(old[1], y) if pick else 0.5 * (old[1] + y))

    def do_abort(self) -> None:
        self.status.cancel("sweep")
        self.status.operation.condition |= SWEEP_DONE

    # --- traces ------------------------------------------------------------------------------
    def _trace(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in self.traces:
            raise ProtocolError(f'-230,"Data corrupt or stale;trace {name} holds no sweep"')
        return self.traces[name]

    def _encode(self, values: np.ndarray, first: int, last: int) -> bytes:
        if first or last:
            if not 1 <= first <= (last or len(values)) <= len(values):
                raise ScpiError(-222, f"samples {first}..{last} of {len(values)}")
            values = values[first - 1:last or len(values)]
        kind, bits = self.setting("format")
        if kind == "ASCii":
            return ",".join(f"{v:+.8E}" for v in values).encode("ascii")
        return encode_block(np.asarray(values, dtype="<f8" if bits == 64 else "<f4").tobytes())

    def do_trace_x(self, name: str, first: int = 0, last: int = 0) -> bytes:
        return self._encode(self._trace(name)[0], first, last)

    def do_trace_y(self, name: str, first: int = 0, last: int = 0) -> bytes:
        return self._encode(self._trace(name)[1], first, last)

    def do_trace_points(self, name: str) -> str:
        return str(len(self.traces[name][0])) if name in self.traces else "0"

    def do_trace_copy(self, source: str, target: str) -> None:
        self.traces[target] = self._trace(source)

    def do_trace_delete(self, name: str) -> None:
        self.traces.pop(name, None)

    def do_trace_delete_all(self) -> None:
        self.traces.clear()

    def get_format(self) -> str:
        kind, bits = self.setting("format")
        return "ASCII" if kind == "ASCii" else f"REAL,{bits}"

    # --- peak search -------------------------------------------------------------------------
    def _peak(self) -> tuple[float, float]:
        """(wavelength m, level dBm) of the highest sample of the active trace."""
        x_m, y = self._trace(self.value("active_trace"))
        k = int(np.argmax(y))
        return float(x_m[k]), float(y[k])

    def do_peak_to_ref(self) -> None:
        self.set_value("ref_level", min(max(round(self._peak()[1], 1), -90.0), 30.0))

    def do_peak_to_center(self) -> None:
        self._move(self._peak()[0], self.get_span()[0])

    # --- analysis ----------------------------------------------------------------------------
    def do_calculate(self) -> None:
        if self.value("category") != "WDM":
            raise ScpiError(-200, f"{self.value('category')} analysis is not simulated (WDM is)")
        self._analyse()

    def _analyse(self) -> None:
        if self.value("active_trace") not in self.traces:
            raise ProtocolError('-230,"Data corrupt or stale;no sweep to analyse"')
        x_m, y = self.traces[self.value("active_trace")]
        rows = wdm_analysis(x_m * 1e9, y, rbw_nm=self.settings().rbw_nm,
                            nbw_nm=self.value("wdm_nbw") * 1e9, mdiff_db=self.value("wdm_mdiff"))
        if rows:
            top = max(r["power_dbm"] for r in rows)
            rows = [r for r in rows if r["power_dbm"] >= top - self.value("wdm_threshold")
                    and r["power_dbm"] >= self.value("wdm_mask")]
        self._analysis = rows

    def do_calc_data(self) -> str:
        if self._analysis is None:
            raise ProtocolError('-230,"Data corrupt or stale;no analysis"')
        if self.value("wdm_display") != "ABSolute":
            raise ScpiError(-200, f"display type {self.value('wdm_display')} is not simulated")
        return format_wdm_table(self._analysis, spacing=self.value("wdm_relation") == "SPACing")
