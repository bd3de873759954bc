"""AQ6370-family OSA CSV files for tests, laid out as the Yokogawa user's manuals show them:
IM AQ6370B-01EN §8.3 (one trace, ``70BCSV``) and IM AQ6370D-01EN §8.4 p. 8-27 (all traces,
``70BCSVG``). No instrument-written file is in the repository (none with a licence to copy was
found): these are written from the manuals' layout, field by field, with CRLF line ends."""

from __future__ import annotations

import numpy as np

AQ_CONDITIONS = [("CTRWL", "1548.000000"), ("SPAN", " 40.000000"), ("START WL", "1528.000000"),
                 ("STOP WL", "1568.000000"), ("WLFREQ", " 0"), ("REFL", "-10.0"),
                 ("LSCL", "10.0"), ("RESLN", "{rbw}"), ("AVG", " 1"), ("SMPLAUTO", " 0"),
                 ("SMPL", " {n}"), ("SMPLINTVL", "0.002"), ("HIGH 1", None), ("MEAS", None),
                 ("LSUNT", "0"), ("NMSKV", '"OFF"'), ("RESCOR", "0"), ("RESPARM", "10372"),
                 ("FREQPARM", "10372")]


def aq_conditions(rbw: float, n: int, wlfreq: int = 0) -> list[str]:
    rows = []
    for key, value in AQ_CONDITIONS:
        if key == "WLFREQ":
            value = f" {wlfreq}"
        rows.append(f'"{key}"' if value is None else f'"{key}",{value.format(rbw=rbw, n=n)}')
    return rows


def aq6370_trace_file(wl: np.ndarray, p: np.ndarray, rbw: float = 0.1, wlfreq: int = 0) -> bytes:
    """A one-trace AQ6370 CSV file (70BCSV) as the AQ6370B manual lays it out."""
    conditions = aq_conditions(rbw, len(wl), wlfreq)
    lines = ["70BCSV", "// AQ6370B OPTICAL SPECTRUM ANALYZER //", str(len(conditions)),
             *conditions, "[TRACE DATA]", *(f"{w:.4f}, {v:.3f}" for w, v in zip(wl, p))]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def aq6370_all_traces_file(traces: dict[str, tuple[np.ndarray, np.ndarray, float, str]],
                           active: str | None = None) -> bytes:
    """An all-traces AQ6370 CSV file (70BCSVG) as the AQ6370D manual lays it out: ``traces``
    maps a saved trace's letter to (wavelength nm, level, RESLN nm, "LOG"|"LIN")."""
    lines = ["70BCSVG", "//AQ6370D OPTICAL SPECTRUM ANALYZER //", "[MEAS SETTING]",
             *aq_conditions(0.5, 1001), "[TRACE SETTING]"]
    if active:
        lines.append(f'"ACTIVE TRACE","{active}"')
    for t in "ABCDEFG":
        lines.append(f'"TRACE {t}","{"WRITE" if t in traces else "BLANK"}",'
                     f'{1 if t in traces else 0}')
    for t, (wl, _, rbw, _) in traces.items():
        lines += [f"[TRACE {t}]", *aq_conditions(rbw, len(wl))]
    lines.append("[TRACE DATA]")
    lines.append(",".join(f"Tr{t}(WL),Tr{t}(LEVEL)[{scale}]"
                          for t, (_, _, _, scale) in traces.items()))
    longest = max(len(wl) for wl, *_ in traces.values())
    for i in range(longest):
        cells = []
        for wl, p, _, scale in traces.values():
            fmt = "{:.3E}" if scale == "LIN" else "{:.3f}"
            cells += [f"{wl[i]:.4f}", fmt.format(p[i])] if i < len(wl) else ["", ""]
        lines.append(",".join(cells))
    return ("\r\n".join(lines) + "\r\n").encode("ascii")
