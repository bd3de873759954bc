import pytest

from instruments.errors import ProtocolError
from instruments.scpi_table import Command, CommandTable, Nanometres

TABLE = CommandTable(
    Command("wavelength", ":SENSe:WAVelength", (float,)),
    Command("wavelength_q", ":SENSe:WAVelength?"),
    Command("span", ":SENSe:WAVelength:SPAN", (Nanometres,)),
    Command("idn", "*IDN?"),
    Command("port", ":ROUTe:CLOSe", (int,)),
)


def test_render_uses_the_short_form():
    assert TABLE["wavelength"].render(1550.0) == ":SENS:WAV 1550"
    assert TABLE["wavelength"].render(1550.5) == ":SENS:WAV 1550.5"
    assert TABLE["span"].render(Nanometres(40)) == ":SENS:WAV:SPAN 40.0000NM"


@pytest.mark.parametrize("line", [":SENS:WAV 1550", "SENSE:WAVELENGTH 1550", ":sens:wavelength 1550.0"])
def test_parse_accepts_short_long_and_any_case(line):
    command, args = TABLE.parse(line)
    assert command.name == "wavelength" and args == [1550.0]


def test_query_and_command_are_distinct():
    assert TABLE.parse(":SENS:WAV?")[0].name == "wavelength_q"
    assert TABLE.parse("*idn?")[0].name == "idn"


def test_wavelength_units_are_understood():
    assert float(TABLE.parse(":SENS:WAV:SPAN 1.5E-9")[1][0]) == pytest.approx(1.5)
    assert float(TABLE.parse(":SENS:WAV:SPAN 2UM")[1][0]) == pytest.approx(2000.0)


@pytest.mark.parametrize("line,code", [(":SENS:WAVE 1", "-113"), (":SENS:WAV abc", "-104"),
                                       (":SENS:WAV", "-109"), (":SENS:WAVX 1", "-113"),
                                       (":ROUT:CLOS inf", "-104"), (":ROUT:CLOS nan", "-104")])
def test_bad_lines_give_scpi_error_codes(line, code):
    with pytest.raises(ProtocolError, match=code):
        TABLE.parse(line)
