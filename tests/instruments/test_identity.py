"""Each model recognises its own identity reply, from replies published by others (manuals,
third-party drivers) and from the simulators, and refuses the other models'."""

from __future__ import annotations

import pytest

from instruments.registry import MODELS

REAL_REPLIES = [
    # (model, reply, firmware field), from sources no one here wrote
    ("yokogawa-aq6370", "YOKOGAWA,AQ6370D,90Y403996,02.08", "02.08"),  # InstrumentKit Yokogawa6370
    ("yokogawa-aq6370", "YOKOGAWA,AQ6374,91V714535,01.03", "01.03"),  # a user's AQ6374 script
    ("exfo-ftb7000", "EXFO E.O. Engineering,,125-2A55,1.0.1.97", "1.0.1.97"),  # FTB-2 user guide
    ("exfo-ftb7000", "EXFO Inc.,FTB-500,125-2A55,1.0.1.97", "1.0.1.97"),
    ("gr831-tl1", "CIENA,5410,OPTICAL_SWITCH,4.4.0", "4.4.0"),  # a Ciena 5410 RTRV-NETYPE line
    # no published MT9083 *IDN? reply was found: this one follows IEEE 488.2 and Anritsu's
    # maker field as the MS9710C manual gives it
    ("anritsu-mt9083", "ANRITSU,MT9083A2,6200123456,1.00", "1.00"),
]


@pytest.mark.parametrize("model,reply,firmware", REAL_REPLIES)
def test_published_identity_replies_are_recognised(model, reply, firmware):
    identity = MODELS[model].identity
    assert identity.matches(reply)
    assert identity.fields(reply).firmware == firmware


@pytest.mark.parametrize("model,reply", [
    ("anritsu-mt9083", "YOKOGAWA,AQ6370D,90Y403996,02.08"),
    ("anritsu-mt9083", "ANRITSU,MS9710C,0,1.0"),  # an Anritsu OSA is not the OTDR
    ("anritsu-mt9083", "EXFO E.O. Engineering,,125-2A55,1.0.1.97"),
    ("yokogawa-aq6370", "ANRITSU,MT9083C2,6200000000,SIM-AKTAU"),
    ("yokogawa-aq6370", "YOKOGAWA,GX20,1,1"),
    ("exfo-ftb7000", "ANRITSU,MT9083C2,6200000000,SIM-AKTAU"),
    ("gr831-tl1", ""),
])
def test_other_identities_are_refused(model, reply):
    assert not MODELS[model].identity.matches(reply)


def test_every_simulated_instrument_is_recognised_as_its_model(stations):
    """The simulators' *IDN? replies (read through the drivers) match their own models only."""
    for key, model in (("AKTAU/otdr@anritsu-mt9083", "anritsu-mt9083"),
                       ("AKTAU/otdr@exfo-ftb7000", "exfo-ftb7000"),
                       ("AKTAU/osa", "yokogawa-aq6370")):
        inst = MODELS[model].open(stations.resources[key])
        try:
            reply = inst.identify()
        finally:
            inst.close()
        assert MODELS[model].identity.matches(reply), (model, reply)
        others = [m for m in MODELS if m not in (model, "gr831-tl1")]
        assert not any(MODELS[m].identity.matches(reply) for m in others), (model, reply)
