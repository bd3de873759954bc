"""The Yokogawa AQ6370-family remote command tree, shared by the driver and the simulator.

Sources, and how far each was checked (the ``manual`` field of every command says which):

- The AQ6370C remote control user's manual (IM AQ6370C-17EN): only its section on data
  inquiry was found in the searchable public copies ("Data Inquiry": queries joined with ``;``
  are answered together from the output buffer; 30 s controller timeout recommended). The
  command chapters themselves were NOT found, so no AQ6370 command below is marked verified
  against the manual text.
- Third-party clients written from that manual by other people, read command by command:
  PyMeasure 0.16 ``pymeasure/instruments/yokogawa/aq6370series.py`` ("PM"), InstrumentKit 0.6
  ``instruments/yokogawa/yokogawa6370.py`` ("IK"), and public GitHub clients found by code
  search ("GH": a lab-automation ``ModelAQ6370`` class with the WDM ``:CALC:DATA?`` layouts and
  the ``:CALC:CAT?`` numbers; socket scripts logging in with ``open "anonymous"``; a C header
  with ``:TRAC:DATA:SNUM?``), and LabExT's ``OpticalSpectrumAnalyzerAQ6370C`` (ETH Zurich,
  "LX"), which gives the manual page of each command it uses (IM AQ6370C-17EN pp. 7-85 to
  7-88, quoted in the citations). A citation starting ``clients:`` names them; such a command
  is *client-checked*, not manual-verified (see :mod:`instruments.coverage`).
- A command with no citation is unverified: kept because the harness or a user needs it, its
  spelling and reply are our best reading and are listed in the README.

Units: wavelengths in m (suffixes NM, UM, M; the replies are in m), levels in dBm, level
differences in dB, times in s.
"""

from __future__ import annotations

from instruments.scpi_table import (COMMON_COMMANDS, Boolean, Choice, Command, CommandTable,
                                    Number)

PM = "PyMeasure 0.16 aq6370series"
IK = "InstrumentKit 0.6 yokogawa6370"
GH = "GitHub lab clients"
LX = "LabExT AQ6370C"


def page(p: str) -> str:
    """LabExT's reference to a page of the remote manual."""
    return f"{LX} (cites IM AQ6370C-17EN p.{p})"


def clients(*names: str) -> str:
    """A citation of third-party clients (client-checked, not manual-verified)."""
    return "clients: " + "; ".join(names)


TRACES = ("TRA", "TRB", "TRC", "TRD", "TRE", "TRF", "TRG")
TRACE = Choice(TRACES)
"""A trace name A–G (PM, IK)."""
WAVELENGTH_UNITS = (("NM", 1e-9), ("UM", 1e-6), ("M", 1.0), ("PM", 1e-12))


def wavelength(low_nm: float, high_nm: float, **kw: object) -> Number:
    """A wavelength parameter held in m, range in nm."""
    return Number(suffixes=WAVELENGTH_UNITS, low=low_nm * 1e-9, high=high_nm * 1e-9, unit="m",
                  **kw)  # type: ignore[arg-type]


RBW_NM = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
"""The resolution bandwidths of an AQ6370C/D (nm; PM's discrete set)."""
SWEEP_MODES = Choice(("SINGle", "REPeat", "AUTO", "SEGMent"),
                     numbers=((1, "SINGle"), (2, "REPeat"), (3, "AUTO"), (4, "SEGMent")),
                     reply="number")
"""``:INIT:SMOD``: PM and IK both read the query as 1 SINGLE, 2 REPEAT, 3 AUTO (PM: 4 SEGMENT)."""
SENSITIVITIES = Choice(("NHLD", "NAUT", "MID", "HIGH1", "HIGH2", "HIGH3", "NORMal"),
                       numbers=((0, "NHLD"), (1, "NAUT"), (2, "MID"), (3, "HIGH1"), (4, "HIGH2"),
                                (5, "HIGH3"), (6, "NORMal")), reply="number")
"""``:SENS:SENS``: PM's map NHLD 0, NAUT 1, MID 2, HIGH1 3, HIGH2 4, HIGH3 5, NORM 6."""
ATTRIBUTES = Choice(("WRITe", "FIX", "MAX", "MIN", "RAVG", "CALC"),
                    numbers=tuple(enumerate(("WRITe", "FIX", "MAX", "MIN", "RAVG", "CALC"))),
                    reply="number")
"""``:TRAC:ATTR:TRx``: PM reads the query as 0 WRITE, 1 FIX, 2 MAX, 3 MIN, 4 RAVG, 5 CALC."""
CATEGORIES = Choice(
    ("SWTHresh", "SWENvelope", "SWRMs", "SWPKrms", "NOTCh", "DFBLd", "FPLD", "LED", "SMSR",
     "POWer", "PMD", "WDM", "NF", "FILPk", "FILBtm", "WFPeak", "WFBtm", "COLor"),
    numbers=tuple(enumerate(
        ("SWTHresh", "SWENvelope", "SWRMs", "SWPKrms", "NOTCh", "DFBLd", "FPLD", "LED", "SMSR",
         "POWer", "PMD", "WDM", "NF", "FILPk", "FILBtm", "WFPeak", "WFBtm", "COLor"))),
    reply="number")
"""``:CALC:CAT``: GH reads the query as 5 DFBLD, 6 FPLD, 11 WDM; the other names and numbers
are our reading of the AQ6370 analysis list (unverified)."""
FORMATS = (Choice(("ASCii", "REAL")), Number(allowed=(32, 64), integer=True, omitted=64,
                                             reply="{}"))
"""``:FORM:DATA ASCii|REAL[,64]|REAL,32`` (PM, IK; GH's C header)."""
DB = Number(suffixes=(("DB", 1.0),), low=-999.0, high=99.0, reply="{:.2f}", unit="dB")
SAMPLE = Number(low=1, high=200001, integer=True, omitted=0, reply="{}")
"""A 1-based sample number of ``:TRAC:X?``/``:TRAC:Y?`` (PM's ``TRA,first,last``); 0 = all."""


def _trace_commands() -> list[Command]:
    """Per-trace write mode and display: PM and GH put the trace in the header
    (``:TRACe:ATTRibute:TRA WRITE``), not in a parameter."""
    out = []
    for name in TRACES:
        out += [
            Command(f"attribute_{name.lower()}", f":TRACe:ATTRibute:{name}", (ATTRIBUTES,),
                    readable=True, default=("WRITe" if name == "TRA" else "FIX",),
                    doc=f"write mode of trace {name[-1]}: WRITe, FIX, MAX, MIN, RAVG, CALC",
                    manual=clients(PM, LX, GH + " C header :TRAC:ATTR:")),
            Command(f"display_{name.lower()}", f":TRACe:STATe:{name}", (Boolean(),),
                    readable=True, default=(name == "TRA",), doc=f"trace {name[-1]} displayed",
                    manual=clients(LX + " :TRAC:STATE:TRx ON", GH + " C header :TRAC:STAT:")),
        ]
    return out


COMMANDS = CommandTable(
    *COMMON_COMMANDS,
    Command("trigger", "*TRG", doc="one single sweep with the current settings",
            manual=clients(PM) + "; IEEE 488.2-1992 §10.37 *TRG"),
    # --- sweep ---------------------------------------------------------------------------------
    Command("sweep_mode", ":INITiate:SMODe", (SWEEP_MODES,), readable=True, default=("SINGle",),
            doc="sweep mode of :INITiate: SINGle 1, REPeat 2, AUTO 3, SEGMent 4 (query: number)",
            manual=clients(PM, IK, LX)),
    Command("start", ":INITiate", aliases=(":INITiate:IMMediate",),
            doc="start a sweep in the current mode (overlapped: *OPC/*OPC?/*WAI wait for it)",
            manual=clients(PM + " :INITiate:IMMediate", IK + " :init", LX + " :INIT",
                           GH + " :INIT:SMOD x;:INIT")),
    Command("abort", ":ABORt", doc="stop the sweep", manual=clients(PM, GH)),
    Command("center", "[:SENSe]:WAVelength:CENTer", (wavelength(600, 1700),), readable=True,
            doc="centre wavelength (m; NM/UM suffixes); moves start and stop, span kept",
            manual=clients(page("7-87"), PM, IK, GH)),
    Command("span", "[:SENSe]:WAVelength:SPAN", (wavelength(0, 1100),), readable=True,
            doc="wavelength span (m); moves start and stop about the centre",
            manual=clients(page("7-87"), PM, IK, GH)),
    Command("start_wl", "[:SENSe]:WAVelength:STARt", (wavelength(50, 1700),), readable=True,
            default=(700e-9,), doc="sweep start wavelength (m; *RST value unverified)",
            manual=clients(page("7-88"), PM, IK, GH)),
    Command("stop_wl", "[:SENSe]:WAVelength:STOP", (wavelength(600, 2250),), readable=True,
            default=(1700e-9,), doc="sweep stop wavelength (m; *RST value unverified)",
            manual=clients(page("7-88"), PM, IK, GH)),
    Command("rbw", "[:SENSe]:BANDwidth[:RESolution]", (wavelength(0.02, 2.0, allowed=tuple(
        r * 1e-9 for r in RBW_NM)),), readable=True, default=(0.1e-9,),
            aliases=("[:SENSe]:BWIDth[:RESolution]",),
            doc="resolution bandwidth (m): 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2 nm",
            manual=clients(page("7-85") + " :SENS:BAND:RES", IK + " :SENS:BAND:RES",
                           PM + " :SENSe:BWIDth:RESolution",
                           GH + " :SENS:BWID:RES")),
    Command("sensitivity", "[:SENSe]:SENSe", (SENSITIVITIES,), readable=True,
            default=("MID",), doc="sensitivity NHLD NAUT MID HIGH1 HIGH2 HIGH3 NORMal "
            "(query: number 0-6)", manual=clients(page("7-85"), PM, GH)),
    Command("points", "[:SENSe]:SWEep:POINts", (Number(low=101, high=50001, integer=True,
                                                      reply="{}"),),
            readable=True, default=(1001,), doc="sampling points",
            manual=clients(page("7-86"), PM, IK)),
    Command("points_auto", "[:SENSe]:SWEep:POINts:AUTO", (Boolean(),), readable=True,
            default=(False,), doc="sampling points set by the instrument", manual=clients(PM)),
    Command("speed", "[:SENSe]:SWEep:SPEed", (Number(allowed=(0, 1), integer=True, reply="{}"),),
            readable=True, default=(0,), doc="sweep speed: 0 standard, 1 double",
            manual=clients(PM, GH)),
    Command("interval", "[:SENSe]:SWEep:TIME:INTerval",
            (Number(low=0, high=99999, integer=True, reply="{}"),), readable=True, default=(0,),
            doc="time between repeat sweeps (s)", manual=clients(PM)),
    Command("average", "[:SENSe]:AVERage:COUNt", (Number(low=1, high=999, integer=True,
                                                        reply="{}"),),
            readable=True, default=(1,), doc="averaging times per point (unverified spelling)"),
    # --- traces --------------------------------------------------------------------------------
    Command("active_trace", ":TRACe:ACTive", (TRACE,), readable=True, default=("TRA",),
            doc="the active trace (query: TRA..TRG)", manual=clients(IK, PM, LX, GH)),
    *_trace_commands(),
    Command("trace_x", ":TRACe:X?", (TRACE, SAMPLE, SAMPLE), aliases=(":TRACe:DATA:X?",),
            doc="wavelength axis (m) of a trace, optionally samples first..last (1-based), in "
            "the :FORMat:DATA format", manual=clients(PM, IK, LX + " :TRAC:DATA:X?",
                                                      GH + " :TRAC:DATA:X?")),
    Command("trace_y", ":TRACe:Y?", (TRACE, SAMPLE, SAMPLE), aliases=(":TRACe:DATA:Y?",),
            doc="level axis (dBm) of a trace, as trace_x", manual=clients(PM, IK,
                                                                          GH + " :TRAC:DATA:Y?")),
    Command("trace_points", ":TRACe[:DATA]:SNUMber?", (TRACE,),
            doc="number of samples of a trace", manual=clients(PM, GH + " :TRAC:DATA:SNUM?")),
    Command("trace_copy", ":TRACe:COPY", (TRACE, TRACE), doc="copy trace 1 into trace 2",
            manual=clients(PM)),
    Command("trace_delete", ":TRACe:DELete", (TRACE,), doc="clear a trace", manual=clients(PM)),
    Command("trace_delete_all", ":TRACe:DELete:ALL", doc="clear every trace",
            manual=clients(PM)),
    Command("format", ":FORMat:DATA", FORMATS, readable=True, default=("ASCii", 64),
            aliases=(":FORMat",), doc="trace data format: ASCii (after *RST), REAL[,64] "
            "(little-endian float64 blocks), REAL,32", manual=clients(PM, IK, LX, GH)),
    # --- display scale and peak search ---------------------------------------------------------
    Command("ref_level", ":DISPlay:TRACe:Y1[:SCALe]:RLEVel", (Number(
        suffixes=(("DBM", 1.0),), low=-90.0, high=30.0, unit="dBm"),), readable=True,
            default=(-10.0,), aliases=(":DISPlay:WINDow:TRACe:Y1[:SCALe]:RLEVel",),
            doc="reference level of the main level scale (dBm; *RST value unverified)",
            manual=clients(PM + " :DISPlay:TRACe:Y1:SCALe:RLEVel", GH + " :DISPLAY:TRACE:Y1:RLEVEL")),
    Command("ref_position", ":DISPlay:TRACe:Y1[:SCALe]:RPOSition", (Number(
        low=0, high=12, integer=True, reply="{}"),), readable=True, default=(8,),
            doc="division of the reference level (*RST value unverified)",
            manual=clients(PM + " :DISPlay:TRACe:Y1:RPOSition")),
    Command("peak_to_ref", ":CALCulate:MARKer:MAXimum:SRLevel",
            doc="reference level := peak level of the active trace",
            manual=clients(PM, GH + " :CALC:MARK:MAX:SRL")),
    Command("peak_to_center", ":CALCulate:MARKer:MAXimum:SCENter",
            doc="centre wavelength := peak wavelength of the active trace",
            manual=clients(GH + " :CALC:MARK:MAX:SCEN")),
    Command("auto_center", ":CALCulate:MARKer:MAXimum:SCENter:AUTO", (Boolean(),),
            readable=True, default=(False,), doc="peak to centre after every sweep",
            manual=clients(PM + " :calc:mark:max:scenter:auto")),
    Command("auto_ref", ":CALCulate:MARKer:MAXimum:SRLevel:AUTO", (Boolean(),), readable=True,
            default=(False,), doc="peak to reference level after every sweep",
            manual=clients(GH + " :CALC:MARK:MAX:SRL:AUTO")),
    # --- analysis ------------------------------------------------------------------------------
    Command("category", ":CALCulate:CATegory", (CATEGORIES,), readable=True, default=("WDM",),
            doc="analysis kind (query: number; WDM 11)", manual=clients(GH)),
    Command("calculate", ":CALCulate", aliases=(":CALCulate:IMMediate",),
            doc="run the selected analysis on the active trace", manual=clients(PM, GH)),
    Command("auto_analysis", ":CALCulate:AUTO", (Boolean(),), readable=True, default=(False,),
            doc="analyse after every sweep", manual=clients(GH)),
    Command("calc_data", ":CALCulate:DATA?", doc="analysis result; WDM with display type "
            "ABSolute: n, then per channel wavelength (m), level (dBm), offset or spacing "
            "wavelength (m), offset or level difference (dB), noise (dBm in NBW), SNR (dB)",
            manual=clients(GH + " ModelAQ6370.format_data", PM)),
    Command("wdm_display", ":CALCulate:PARameter:WDM:DTYPe", (Choice(
        ("ABSolute", "RELative", "MDRift", "GDRift"),
        numbers=tuple(enumerate(("ABSolute", "RELative", "MDRift", "GDRift"))),
        reply="number"),), readable=True, default=("ABSolute",),
            doc="WDM table display type (query: 0-3)", manual=clients(GH)),
    Command("wdm_relation", ":CALCulate:PARameter:WDM:RELation", (Choice(
        ("OFFSet", "SPACing"), numbers=((0, "OFFSet"), (1, "SPACing")), reply="number"),),
            readable=True, default=("OFFSet",),
            doc="WDM table columns 3-4: offset from the reference channel or spacing to the "
            "previous one (query: 0-1)", manual=clients(GH)),
    Command("wdm_nbw", ":CALCulate:PARameter:WDM:NBW", (wavelength(0.01, 1.0),), readable=True,
            default=(0.1e-9,), doc="noise bandwidth of the SNR (m)", manual=clients(GH)),
    Command("wdm_mdiff", ":CALCulate:PARameter:WDM:MDIFf", (Number(
        suffixes=(("DB", 1.0),), low=0.01, high=50.0, reply="{:.2f}", unit="dB"),),
            readable=True, default=(6.0,), doc="least peak-to-bottom difference of a channel "
            "(dB; *RST value unverified)", manual=clients(GH)),
    Command("wdm_threshold", ":CALCulate:PARameter:WDM:TH", (Number(
        suffixes=(("DB", 1.0),), low=0.1, high=99.0, reply="{:.2f}", unit="dB"),),
            readable=True, default=(20.0,), doc="channels within this of the highest (dB; "
            "*RST value unverified)", manual=clients(GH)),
    Command("wdm_mask", ":CALCulate:PARameter:WDM:DMASk", (DB,), readable=True,
            default=(-999.0,), doc="channels below this level are ignored (dBm; -999 = off)",
            manual=clients(GH + " :CALCulate:PARameter:WDM:DMASk -999DB")),
)
"""The AQ6370 tree: IEEE 488.2/SCPI common commands, then the model's own."""
