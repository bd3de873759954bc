"""Shared steps of the acceptance plan: how checks are parametrised and how traces are taken.

Parametrisation comes from the station file: one OTDR check per station x fibre x wavelength,
one bidirectional check per fibre x wavelength (needs both stations), one OSA and one
transponder check per received fibre. Test code holds no limits: they come from the limits file.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness.analysis.otdr import OtdrAnalysis, analyse_otdr
from harness.plugin import SESSION
from instruments.protocols import OsaSettings, OtdrSettings, OtdrTrace


@dataclass(frozen=True)
class Shot:
    """One OTDR direction: the station that fires, the fibre, the wavelength (nm)."""

    station: str
    fibre: str
    wavelength_nm: float

    def __str__(self) -> str:
        return f"{self.station}-{self.fibre}-{self.wavelength_nm:.0f}nm"


@dataclass(frozen=True)
class FibreWavelength:
    fibre: str
    wavelength_nm: float

    def __str__(self) -> str:
        return f"{self.fibre}-{self.wavelength_nm:.0f}nm"


@dataclass(frozen=True)
class Received:
    """A fibre as seen at its receiving station."""

    station: str
    fibre: str

    def __str__(self) -> str:
        return f"{self.station}-{self.fibre}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    session = metafunc.config.stash.get(SESSION, None)
    if session is None:
        return
    sf = session.station_file
    have = {s: set(roles) for s, roles in sf.instruments.items()}
    params: dict[str, list] = {
        "shot": [Shot(s, f.name, wl) for s in sf.stations if "otdr" in have.get(s, ())
                 for f in sf.fibres for wl in sf.wavelengths_nm],
        "station_fibre": [Received(s, f.name) for s in sf.stations if "otdr" in have.get(s, ())
                          for f in sf.fibres],
        "fibre_wl": [FibreWavelength(f.name, wl) for f in sf.fibres for wl in sf.wavelengths_nm
                     if all("otdr" in have.get(s, ()) for s in sf.stations)],
        "received_osa": [Received(f.rx, f.name) for f in sf.fibres if "osa" in have.get(f.rx, ())],
        "received_tp": [Received(f.rx, f.name) for f in sf.fibres
                        if "transponder" in have.get(f.rx, ())],
    }
    why = {"shot": "no OTDR in this station file",
           "station_fibre": "no OTDR in this station file",
           "fibre_wl": "needs the OTDRs of both stations: run each station, then 'harness merge'",
           "received_osa": "no OSA at a receiving station in this station file",
           "received_tp": "no transponder at a receiving station in this station file"}
    for name, values in params.items():
        if name in metafunc.fixturenames:
            if not values:
                values = [pytest.param(None, marks=pytest.mark.skip(reason=why[name]), id="none")]
            metafunc.parametrize(name, values, ids=str)


@pytest.fixture(scope="session")
def otdr_settings(limits):
    p = limits.parameter("otdr")
    return lambda wavelength_nm: OtdrSettings(
        wavelength_nm=wavelength_nm, pulse_width_ns=float(p["pulse_width_ns"]),
        range_km=float(p["range_km"]), averaging_s=float(p["averaging_s"]),
        resolution_m=float(p["resolution_m"]), group_index=float(p["group_index"]))


@pytest.fixture(scope="session")
def launch_cord_m(limits) -> float:
    """The launch cord between OTDR and ODF (m): analyses measure from the ODF (distance 0),
    the cord lies at negative distances."""
    return float(limits.parameter("otdr").get("launch_cord_m", 0.0))


@pytest.fixture(scope="session")
def osa_settings(limits) -> OsaSettings:
    p = limits.parameter("osa")
    return OsaSettings(start_nm=float(p["start_nm"]), stop_nm=float(p["stop_nm"]),
                       rbw_nm=float(p["rbw_nm"]), points=int(p["points"]))


@pytest.fixture(scope="session")
def fibres(station):
    return {f.name: f for f in station.fibres}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Laser checks first: the OTDR fires into dark fibre, then traffic is brought up (the
    ``traffic`` fixture) for the OSA and transponder checks. Otherwise file order."""
    items.sort(key=lambda item: item.get_closest_marker("laser") is None)


@pytest.fixture(scope="session")
def fired() -> set:
    """The shots taken in this run: (station, fibre, settings); a repeat reuses the trace."""
    return set()


@pytest.fixture
def shoot(instruments, fibres, otdr_settings, interlock, fired, launch_cord_m, request):
    """Take (or reuse from this run) the trace of ``fibre`` from ``station`` at a wavelength,
    after the laser interlock has found the fibre dark (or been overridden)."""
    session = request.config.stash[SESSION]

    def shoot(station: str, fibre: str, wavelength_nm: float,
              settings: OtdrSettings | None = None) -> tuple[OtdrTrace, OtdrAnalysis]:
        settings = settings or otdr_settings(wavelength_nm)
        if (station, fibre, settings) not in fired:
            interlock.ensure_dark(station, fibre, session.card_on_pair(station, fibre),
                                  receives=fibres[fibre].rx == station)
        otdr = instruments.otdr(station)
        otdr.select_port(fibres[fibre].otdr_port[station])
        trace = otdr.measure(settings)
        fired.add((station, fibre, settings))
        return trace, analyse_trace(trace, launch_cord_m)
    return shoot


@pytest.fixture(scope="session")
def analyse():
    """:func:`analyse_trace`, for checks that look at a trace from another origin."""
    return analyse_trace


def analyse_trace(trace: OtdrTrace, origin_m: float = 0.0) -> OtdrAnalysis:
    """The analysis of ``trace`` with distances from ``origin_m`` (m from the OTDR port: the
    launch cord's length puts 0 at the ODF; 0 keeps the port, launch cord in view)."""
    s = trace.settings
    return analyse_otdr(trace.distance_m - origin_m, trace.level_db,
                        pulse_width_ns=s.pulse_width_ns, group_index=s.group_index,
                        wavelength_nm=s.wavelength_nm)
