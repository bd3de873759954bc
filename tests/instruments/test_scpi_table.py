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


# --- the table API the model trees are written in -------------------------------------------
from instruments.scpi_table import Choice, Number  # noqa: E402

WAVELENGTH = Number(suffixes=(("NM", 1e-9), ("UM", 1e-6), ("M", 1.0)), low=600e-9, high=1700e-9)
MODEL = CommandTable(
    Command("center", "[:SENSe]:WAVelength:CENTer", (WAVELENGTH,), readable=True, default=(1200e-9,),
            manual="test manual §1"),
    Command("start", ":INITiate", aliases=(":INITiate:IMMediate",)),
    Command("mode", ":INITiate:SMODe", (Choice(("SINGle", "REPeat"), numbers=((1, "SINGle"), (2, "REPeat")),
                                               reply="number"),), readable=True),
    Command("trace_x", ":TRACe[:DATA]:X?", (Choice(("TRA", "TRB")),)),
    Command("marker", ":CALCulate:MARKer<n>:X", (float,), readable=True),
    Command("attribute", ":TRACe:ATTRibute", (Choice(("TRA", "TRB")), Choice(("WRITe", "FIX"))),
            readable=True, keys=1),
    Command("format", ":FORMat:DATA", (Choice(("ASCii", "REAL")), Number(allowed=(32, 64), integer=True, omitted=64))),
)


@pytest.mark.parametrize("line", [":SENS:WAV:CENT 1550NM", "WAV:CENT 1.55E-6", "sense:wavelength:center 1550 nm",
                                  ":SENSE:WAVELENGTH:CENTER 1.55um"])
def test_optional_nodes_units_and_case(line):
    command, args = MODEL.parse(line)
    assert command.name == "center" and args[0] == pytest.approx(1.55e-6)


def test_a_readable_setting_has_its_query_form():
    assert MODEL.parse(":WAV:CENT?")[0].name == "center?"
    assert MODEL["center?"].render() == ":SENS:WAV:CENT?"
    assert MODEL["attribute?"].render("TRB") == ":TRAC:ATTR? TRB"
    assert MODEL.parse(":TRAC:ATTR? TRB") == (MODEL["attribute?"], ["TRB"])
    assert MODEL["center?"].derived and not MODEL["center"].derived
    assert [c.name for c in MODEL.declared()].count("center?") == 0


@pytest.mark.parametrize("line", [":INIT", ":INIT:IMM", "initiate:immediate"])
def test_aliases_and_optional_leaves(line):
    assert MODEL.parse(line)[0].name == "start"


def test_numeric_suffixes_default_to_one():
    assert MODEL.parse(":CALC:MARK3:X 5") == (MODEL["marker"], [3, 5.0])
    assert MODEL.parse(":CALC:MARK:X?") == (MODEL["marker?"], [1])
    assert MODEL["marker"].render(2, 1.5) == ":CALC:MARK2:X 1.5"


def test_choices_take_either_form_and_the_manual_numbers():
    assert MODEL.parse(":INIT:SMOD rep")[1] == ["REPeat"]
    assert MODEL.parse(":INIT:SMOD 1")[1] == ["SINGle"]
    assert MODEL.parse(":TRAC:DATA:X? trb")[1] == ["TRB"]


def test_an_omitted_trailing_parameter_takes_its_stated_value():
    assert MODEL.parse(":FORM:DATA REAL")[1] == ["REAL", 64]
    assert MODEL.parse(":FORM:DATA REAL,32")[1] == ["REAL", 32]


@pytest.mark.parametrize("line,code", [
    (":WAV:CENT 1800NM", -222), (":WAV:CENT 1550XX", -131), (":WAV:CENT abc", -104),
    (":INIT:SMOD FOO", -224), (":INIT:SMOD 7", -224), (":SENSE:WAVEL:CENT 1", -113),
    (":TRAC:X?", -109), (":TRAC:X? TRA,TRB", -108), (":FORM:DATA REAL,16", -222),
    (":INIT:SMOD", -109), (":WAV:CENT 1550NM,3", -108), (":TRAC:ATTR? TRC", -224)])
def test_range_type_and_header_errors_carry_their_codes(line, code):
    from instruments.scpi_params import ScpiError
    with pytest.raises(ScpiError) as err:
        MODEL.parse(line)
    assert err.value.code == code and str(err.value).startswith(f"{code},")


def test_an_unverified_command_is_one_without_a_manual_citation():
    assert MODEL["center"].verified and not MODEL["start"].verified
