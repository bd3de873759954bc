"""The SCPI drivers through pyvisa-sim: each driver's YAML dialogue (next to its module) opened
with ``pyvisa.ResourceManager("<file>.yaml@sim")`` and handed to the real driver class. Fast
checks of the dialogue, settings and error queue with no simulator process or socket."""

from pathlib import Path

import numpy as np
import pyvisa
import pytest

import instruments
from instruments.errors import InstrumentError
from instruments.osa.yokogawa_aq6370 import YokogawaAq6370
from instruments.otdr.anritsu_mt9083 import AnritsuMt9083
from instruments.otdr.exfo_ftb7000 import ExfoFtb7000
from instruments.protocols import OtdrSettings
from instruments.visa_session import ScpiSession

PACKAGE = Path(instruments.__file__).parent


def open_sim(driver: type, yaml_name: str, resource: str):
    """``driver`` on the pyvisa-sim resource described by ``instruments/<yaml_name>``."""
    rm = pyvisa.ResourceManager(f"{PACKAGE / yaml_name}@sim")
    inst = rm.open_resource(resource)
    return driver(ScpiSession(resource, timeout_s=1.0, opened=inst), resource)


@pytest.fixture
def mt9083():
    otdr = open_sim(AnritsuMt9083, "otdr/anritsu_mt9083.yaml", "TCPIP::localhost::5025::SOCKET")
    yield otdr
    otdr.close()


@pytest.fixture
def ftb7000():
    otdr = open_sim(ExfoFtb7000, "otdr/exfo_ftb7000.yaml", "TCPIP::localhost::5025::SOCKET")
    yield otdr
    otdr.close()


def test_mt9083_measures_through_its_dialogue(mt9083):
    assert mt9083.identify() == "ANRITSU,MT9083C2,6200009999,YAML-SIM"
    mt9083.select_port(3)
    trace = mt9083.measure(OtdrSettings(wavelength_nm=1625.0, pulse_width_ns=10000.0))
    np.testing.assert_allclose(trace.level_db, [-2.827, -4.128, -4.129])
    np.testing.assert_allclose(trace.distance_m, [0.0, 8.0, 16.0])
    assert trace.port == 3


def test_mt9083_setting_it_refuses_shows_in_the_error_queue(mt9083):
    with pytest.raises(InstrumentError, match="configuring the acquisition: -222 Data out of range"):
        mt9083.measure(OtdrSettings(pulse_width_ns=7.0))
    with pytest.raises(InstrumentError, match="ROUTe:CLOSe 9: -222"):
        mt9083.select_port(9)


def test_mt9083_settings_round_trip_and_events_are_parsed(mt9083):
    wanted = OtdrSettings(1625.0, 10000.0, 200.0, 60.0, 4.0, 1.4681)
    mt9083.configure(wanted)
    assert mt9083.settings() == wanted
    events = mt9083.events()
    assert [(e["distance_m"], e["type"], e["reflectance_db"]) for e in events] == [
        (1800.0, "non-reflective", None), (380000.0, "end", -45.0)]


def test_ftb7000_settings_round_trip_in_si_units(ftb7000):
    assert ftb7000.identify().startswith("EXFO,FTB-7600E")
    wanted = OtdrSettings(wavelength_nm=1625.0, pulse_width_ns=10000.0, range_km=200.0,
                          averaging_s=60.0, resolution_m=4.0, group_index=1.4681)
    ftb7000.configure(wanted)
    assert ftb7000.settings() == wanted


def test_ftb7000_setting_it_refuses_shows_in_the_error_queue(ftb7000):
    ftb7000.configure(OtdrSettings(pulse_width_ns=10000.0))
    with pytest.raises(InstrumentError, match="configuring the acquisition: -222 Data out of range"):
        ftb7000.configure(OtdrSettings(pulse_width_ns=50000.0))
    assert ftb7000.settings().pulse_width_ns == 10000.0  # the refused value did not take


def test_ftb7000_event_table_from_blocks(ftb7000):
    events = ftb7000.events()
    assert [(e["distance_m"], e["type"]) for e in events] == [
        (0.0, "reflection"), (1900.0, "positive splice"), (267100.0, "end")]
    assert events[0]["reflectance_db"] == -55.0 and events[-1]["cumulative_loss_db"] == 43.055


def test_aq6370_logs_in_sets_its_format_and_switches():
    osa = open_sim(YokogawaAq6370, "osa/yokogawa_aq6370.yaml", "TCPIP::localhost::10001::SOCKET")
    try:
        assert osa.identify() == "YOKOGAWA,AQ6370D,91M999999,YAML-SIM"
        osa.select_port(4)
        with pytest.raises(InstrumentError, match="ROUTe:CLOSe 5: -222"):
            osa.select_port(5)
    finally:
        osa.close()
