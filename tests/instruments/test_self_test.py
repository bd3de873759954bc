"""Every model's self-test through its real transport against the simulators, and a failing
``*TST?`` byte for byte."""

import pytest

from instruments.errors import InstrumentError
from instruments.otdr.anritsu_mt9083 import AnritsuMt9083
from instruments.registry import MODELS
from instruments.visa_session import ScpiSession
from protocol_double import ExpectedProtocol


@pytest.mark.parametrize("key,model", [("AKTAU/otdr@anritsu-mt9083", "anritsu-mt9083"),
                                       ("SUMGAIT/otdr@exfo-ftb7000", "exfo-ftb7000"),
                                       ("AKTAU/osa", "yokogawa-aq6370")])
def test_scpi_models_pass_their_self_test(stations, key, model):
    with MODELS[model].open(stations.resources[key]) as inst:
        inst.self_test()


def test_transponder_shelf_passes_its_self_test_with_lines_down(stations):
    # the shelves start dark: LOS on the lines is not an equipment fault
    with MODELS["gr831-tl1"].open(stations.resources["AKTAU/transponder"], tid="AKTAU-TP1") as tp:
        assert any(a.condition == "LOS" for a in tp.alarms())
        tp.self_test()


def test_a_failed_self_test_raises_with_the_result_and_the_error_queue():
    proto = ExpectedProtocol([
        (b"*TST?\n", b"4\n"), (b":SYST:ERR?\n", b'-330,"Self-test failed;laser bias"\n'),
        (b":SYST:ERR?\n", b'0,"No error"\n')])
    driver = AnritsuMt9083(ScpiSession("TEST", opened=proto))
    with pytest.raises(InstrumentError, match=r"\*TST\? returned 4.*laser bias"):
        driver.self_test()
    proto.assert_done()
