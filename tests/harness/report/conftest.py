"""A realistic run folder for the report tests, written with h5py in the run.h5 schema.

``make_run(run_dir, ...)`` writes ``run.h5`` (schema caspian-harness/run/1) for the
Aktau–Sumgait span: two stations with OTDR, OSA and transponder; per fibre and wavelength one
OTDR trace from each station (50 000 points, 8 m spacing, backscatter + splices + noise, with
an event table); section attenuation, two-direction splice loss and end-to-end loss checks;
one OSA sweep (40 DWDM channels) and one PM series (96 bins) per received fibre; plus an
error and a skipped check. ``fail_splice`` puts a 0.52 dB splice on FP2-F1 at 212.3 km.

``links=True`` stores traces as the harness's store does (``/acquisitions`` groups, soft
links from the checks, event tables on the check); ``links=False`` holds each trace group
inside its first check (with its ``events`` dataset) and hard-links it from the others.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from harness.analysis.osa import find_channels
from harness.store import EVENT_DTYPE, check_key

STATIONS = ["AKTAU", "SUMGAIT"]
SPAN_KM = 380.0
ALL_FIBRES = [f"FP{p}-F{f}" for p in range(1, 5) for f in (1, 2)]
WAVELENGTHS = (1550.0, 1625.0)
ATTENUATION = {1550.0: 0.162, 1625.0: 0.181}
SPLICES_KM = (2.1, 42.0, 86.5, 128.7, 171.2, 212.3, 255.8, 297.4, 339.9, 377.8)
START_UNIX = 1_795_248_000.0  # 2026-11-21 08:00 UTC
NAN = math.nan


def _limit(units, low=NAN, high=NAN, mlow=NAN, mhigh=NAN):
    return {"units": units, "low": low, "high": high, "marginal_low": mlow, "marginal_high": mhigh}


LIMITS = {
    "attenuation_1550": _limit("dB/km", high=0.170, mhigh=0.167),
    "attenuation_1625": _limit("dB/km", high=0.200, mhigh=0.195),
    "splice": _limit("dB", high=0.10, mhigh=0.09),
    "e2e_1550": _limit("dB", high=64.0, mhigh=63.0),
    "e2e_1625": _limit("dB", high=72.0, mhigh=71.0),
    "osnr": _limit("dB (0.1 nm)", low=14.0, mlow=15.0),
    "q_margin": _limit("dB", low=3.0, mlow=3.5),
}


def judge(value, lim):
    if not math.isfinite(value):
        return "fail"
    if (math.isfinite(lim["low"]) and value < lim["low"]) or (math.isfinite(lim["high"]) and value > lim["high"]):
        return "fail"
    if (math.isfinite(lim["marginal_low"]) and value < lim["marginal_low"]) or (
            math.isfinite(lim["marginal_high"]) and value > lim["marginal_high"]):
        return "marginal"
    return "pass"


WORST = ("pass", "skipped", "marginal", "fail", "error")


def splice_losses(fibre: str, wl: float, fail_splice: bool) -> list[float]:
    """True loss of each splice (dB) on one fibre: small, repeatable, one bad one if asked."""
    seed = sum(map(ord, fibre)) + int(wl)
    rng = np.random.default_rng(seed)
    losses = list(rng.uniform(0.02, 0.07, len(SPLICES_KM)))
    if fail_splice and fibre == "FP2-F1":
        losses[SPLICES_KM.index(212.3)] = 0.52 if wl == 1550.0 else 0.61
    return losses


def otdr_shot(rng, fibre: str, wl: float, reverse: bool, fail_splice: bool, points: int):
    """(x m, y dB, events) of one OTDR shot from AKTAU (reverse=False) or SUMGAIT."""
    x = np.arange(points, dtype=np.float64) * (400_000.0 / points)
    atten = ATTENUATION[wl] + (0.002 if fibre.endswith("F2") else 0.0)
    L = SPAN_KM * 1000.0
    y0, floor = -3.0, -53.0
    level = y0 - atten * x / 1000.0
    losses = splice_losses(fibre, wl, fail_splice)
    events = [(0.0, 0.25, -52.3, "reflective")]
    asym = np.random.default_rng(len(fibre) + int(wl) + reverse).uniform(-0.03, 0.03, len(losses))
    for km, loss, a in zip(SPLICES_KM, losses, asym):
        pos = (L - km * 1000.0) if reverse else km * 1000.0
        seen = loss + (a if not reverse else -a)
        level = np.where(x > pos, level - seen, level)
        if y0 - atten * pos / 1000.0 > floor + 9.0:  # above the noise: the analysis finds it
            events.append((pos, round(seen + rng.normal(0, 0.004), 4), NAN, "non-reflective"))
    level = np.where(x > L, -90.0, level)
    p = 10 ** (level / 5.0) + rng.normal(0.0, 10 ** (floor / 5.0), points)
    y = 5.0 * np.log10(np.maximum(np.abs(p), 10 ** (-65.535 / 5)))
    # launch: saturated front-end then the dead zone
    dz = x < 2000.0
    y[dz] = np.maximum(y[dz], y0 + 9.0 * np.exp(-x[dz] / 400.0))
    events.sort()
    return x, np.round(y, 3), events


def osa_sweep(fibre: str, station: str, noisy: bool):
    wl = np.linspace(1528.0, 1568.0, 20001)
    f = 299_792_458.0 / wl / 1000.0
    rng = np.random.default_rng(sum(map(ord, fibre + station)))
    floor_dbm = (-25.4 if noisy else -27.3) - 0.04 * (wl - 1528.0)
    lin = 10 ** (floor_dbm / 10.0)
    for n in range(40):
        fc = 192.1 + 0.1 * n
        peak = -13.8 + rng.normal(0, 0.15)
        lin = lin + 10 ** (peak / 10.0) * np.exp(-0.5 * ((f - fc - rng.normal(0, 2e-4)) / 0.0105) ** 2)
    y = 10 * np.log10(lin) + rng.normal(0, 0.05, wl.size)
    return wl, y


def pm_series(fibre: str, bins: int):
    rng = np.random.default_rng(sum(map(ord, fibre)) + 7)
    t = START_UNIX + 900.0 * np.arange(bins)
    q = 10.9 + 0.05 * np.sin(np.arange(bins) / 9.0) + rng.normal(0, 0.02, bins)
    extra = {
        "q_db": q, "rx_power_dbm": -12.0 + rng.normal(0, 0.03, bins),
        "tx_power_dbm": np.full(bins, 1.0), "osnr_db": 16.6 + rng.normal(0, 0.05, bins),
        "pre_fec_ber": 1.8e-4 * 10 ** rng.normal(0, 0.02, bins),
        "uncorrected_blocks": np.zeros(bins), "cd_ps_nm": 7985 + rng.normal(0, 2, bins),
        "dgd_ps": np.abs(0.8 + rng.normal(0, 0.1, bins)), "freq_offset_mhz": rng.normal(-50, 3, bins),
    }
    return t, q, extra


def _xy(g, x, y, xu, xl, yu, yl):
    for name, data, units, label in (("x", x, xu, xl), ("y", y, yu, yl)):
        ds = g.create_dataset(name, data=np.asarray(data, dtype=np.float64))
        ds.attrs["units"] = units
        ds.attrs["label"] = label


def _events_array(events):
    return np.array([(d, loss, refl, kind.encode()) for d, loss, refl, kind in events], dtype=EVENT_DTYPE)


class _Writer:
    def __init__(self, f: h5py.File, links: bool):
        self.f, self.links = f, links
        self.checks = f.create_group("checks")
        self.acq = f.create_group("acquisitions") if links else None
        self.stored: dict[str, str] = {}  # trace id -> path of the stored group
        self.verdicts: list[str] = []
        self.n = 0

    def check(self, nodeid, title, requirement, station, fibre, wl, measurements, verdict=None,
              message="", traces=(), events=None):
        g = self.checks.create_group(check_key(nodeid))
        verdicts = []
        mg = g.create_group("measurements")
        for name, value, lim, description in measurements:
            ds = mg.create_dataset(name, data=float(value))
            v = judge(value, lim)
            verdicts.append(v)
            ds.attrs.update({**{k: lim[k] for k in ("units", "low", "high", "marginal_low", "marginal_high")},
                             "verdict": v, "description": description})
        if verdict is None:
            verdict = max(verdicts, key=WORST.index, default="pass")
        self.verdicts.append(verdict)
        if not message and verdict in ("fail", "marginal"):
            message = "; ".join(f"{fibre}: {name} = {value:.3f} {lim['units']}: {judge(value, lim)} {d}"
                                for name, value, lim, d in measurements if judge(value, lim) != "pass")
        self.n += 1
        g.attrs.update({"nodeid": nodeid, "title": title, "requirement": requirement,
                        "station": station, "fibre": fibre, "wavelength_nm": wl, "verdict": verdict,
                        "message": message, "started_utc": f"2026-11-21T08:{self.n // 60 % 60:02d}:{self.n % 60:02d}+00:00",
                        "duration_s": 12.5})
        tg = g.create_group("traces")
        for name, (tid, make) in traces:
            if tid in self.stored:
                target = self.stored[tid]
            else:
                attrs, x, y, units, evs, extra = make()
                if self.links:
                    tgt = self.acq.create_group(f"{len(self.acq):04d}")
                else:
                    tgt = tg.create_group(name)
                tgt.attrs.update(attrs)
                _xy(tgt, x, y, *units)
                for k, v in extra.items():
                    tgt.create_dataset(k, data=v)
                if evs is not None:
                    if self.links:
                        g.require_group("events").create_dataset(attrs["station"], data=_events_array(evs))
                    else:
                        tgt.create_dataset("events", data=_events_array(evs))
                self.stored[tid] = target = tgt.name
                if not self.links:
                    continue
            if self.links:
                tg[name] = h5py.SoftLink(target)
            else:
                tg[name] = self.f[target]  # hard link: the same group, no copy
        for name, evs in (events or {}).items():
            g.require_group("events").create_dataset(name, data=_events_array(evs))


def make_run(run_dir: Path, *, fibres=None, fail_splice=True, error_check=True, links=False,
             points=50_000, pm_bins=96, run_id="20261121T080000Z", replay_of=None,
             extra_files=True) -> Path:
    """Write a realistic run folder (run.h5, inputs/, junit.xml, summary.json); returns it."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    fibres = list(fibres or ALL_FIBRES)
    rng = np.random.default_rng(20261121)
    if extra_files:
        (run_dir / "inputs").mkdir(exist_ok=True)
        (run_dir / "inputs" / "station.yaml").write_text("campaign: Trans-Caspian acceptance\n")
        (run_dir / "inputs" / "limits.yaml").write_text("limits: {}\n")
        (run_dir / "junit.xml").write_text('<?xml version="1.0"?><testsuites/>\n')
    import hashlib

    def sha(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "0" * 64

    with h5py.File(run_dir / "run.h5", "w") as f:
        f.attrs.update({
            "schema": "caspian-harness/run/1", "run_id": run_id,
            "campaign": "Trans-Caspian acceptance, phase 2 (lit capacity)",
            "cable": "Trans-Caspian submarine fibre cable", "route": "Aktau (KZ) – Sumgait (AZ)",
            "span_length_km": SPAN_KM, "stations": json.dumps(STATIONS),
            "operator": "A. Nurlanov <a.nurlanov@example.kz> #1 $x$ *bold*",
            "station_file": "/srv/caspian/stations/aktau-sumgait.yaml",
            "station_file_sha256": sha(run_dir / "inputs" / "station.yaml"),
            "limits_file": "/srv/caspian/limits/contract-2026.yaml",
            "limits_file_sha256": sha(run_dir / "inputs" / "limits.yaml"),
            "software_version": "0.1.0", "started_utc": "2026-11-21T08:00:00+00:00",
            "finished_utc": "2026-11-22T08:42:17+00:00", "overall_verdict": "pass",
        })
        if replay_of:
            f.attrs["replay_of"] = replay_of
        models = {"otdr": ("anritsu-mt9083", "ANRITSU,MT9083C2,62000{n},v2.13"),
                  "osa": ("yokogawa-aq6370", "YOKOGAWA,AQ6370D,91M0{n},02.08"),
                  "transponder": ("gr831-tl1", "ACME,COHERENT-SHELF,{s},R7.1")}
        for i, s in enumerate(STATIONS):
            for j, (role, (model, idn)) in enumerate(models.items()):
                g = f.require_group(f"instruments/{s}/{role}")
                g.attrs.update({"model": model, "resource": (f"ASRL/dev/ttyUSB{i}::INSTR" if role == "transponder"
                                                             else f"TCPIP::10.{20 + i}.1.{11 + j}::5000{j}::SOCKET"),
                                "idn": idn.format(n=f"{i:04d}{j}", s=s)})
        w = _Writer(f, links)

        def otdr_trace(station, fibre, wl):
            reverse = station != STATIONS[0]
            other = STATIONS[1] if not reverse else STATIONS[0]

            def make():
                x, y, evs = otdr_shot(rng, fibre, wl, reverse, fail_splice, points)
                attrs = {"kind": "otdr", "station": station, "fibre": fibre,
                         "direction": f"{station}→{other}", "wavelength_nm": wl,
                         "pulse_width_ns": 20000.0, "averaging_s": 180.0,
                         "instrument_idn": f"ANRITSU,MT9083C2,6200{STATIONS.index(station)},v2.13"}
                return attrs, x, y, ("m", "Distance", "dB", "Level (5·log10)"), evs, {}
            return f"otdr-{station}-{fibre}-{wl}", make

        # --- OTDR checks --------------------------------------------------------------------------
        for fibre in fibres:
            for wl in WAVELENGTHS:
                for station in STATIONS:
                    atten = ATTENUATION[wl] + (0.002 if fibre.endswith("F2") else 0.0)
                    atten = round(atten + 0.0007 * STATIONS.index(station), 4)
                    w.check(f"acceptance/test_otdr.py::test_section_attenuation[{station}-{fibre}-{wl:.0f}nm]",
                            "Section attenuation (LSA)", "ACC-3", station, fibre, wl,
                            [("attenuation", atten, LIMITS[f"attenuation_{wl:.0f}"],
                              f"over 0-{(50 - 9) / atten:.1f} km from {station}")],
                            traces=[(f"otdr_{station}_p1_{wl:.0f}nm", otdr_trace(station, fibre, wl))])
                names = [(f"otdr_{s}_p1_{wl:.0f}nm", otdr_trace(s, fibre, wl)) for s in STATIONS]
                losses = splice_losses(fibre, wl, fail_splice)
                worst = int(np.argmax(losses))
                bidir = [(km * 1000.0, round(loss, 4), NAN, "non-reflective")
                         for km, loss in zip(SPLICES_KM, losses) if 121.0 < km < 259.0]
                w.check(f"acceptance/test_otdr.py::test_splice_loss[{fibre}-{wl:.0f}nm]",
                        "Splice loss, two-direction average", "ACC-2", "", fibre, wl,
                        [("worst_splice_loss", round(losses[worst], 4), LIMITS["splice"],
                          f"at {SPLICES_KM[worst]:.2f} km from AKTAU (2 directions)")],
                        traces=names, events={"bidirectional": bidir} if links else None)
                e2e = round(SPAN_KM * ATTENUATION[wl] + sum(losses) + 0.5, 2)
                w.check(f"acceptance/test_otdr.py::test_end_to_end_loss[{fibre}-{wl:.0f}nm]",
                        "End-to-end loss, stitched bidirectional", "ACC-4", "", fibre, wl,
                        [("end_to_end_loss", e2e, LIMITS[f"e2e_{wl:.0f}"], "stitched at 190.4 km")],
                        traces=names)

        # --- OSA and transponder checks --------------------------------------------------------
        for i, fibre in enumerate(fibres):
            tx = STATIONS[i % 2]
            rx = STATIONS[(i + 1) % 2]
            noisy = fibre == "FP3-F1"
            wl, p = osa_sweep(fibre, rx, noisy)
            channels = find_channels(wl, p, rbw_nm=0.1, spacing_ghz=100.0)
            osnr = min(c.osnr_db for c in channels if c.osnr_db is not None)

            def make_osa(wl=wl, p=p, rx=rx, tx=tx, fibre=fibre):
                attrs = {"kind": "osa", "station": rx, "fibre": fibre, "direction": f"{tx}→{rx}",
                         "wavelength_nm": NAN, "rbw_nm": 0.1, "pulse_width_ns": NAN, "averaging_s": NAN,
                         "instrument_idn": f"YOKOGAWA,AQ6370D,91M0{STATIONS.index(rx)},02.08"}
                return attrs, wl, p, ("nm", "Wavelength", "dBm", "Power in RBW"), None, {}
            w.check(f"acceptance/test_osa.py::test_osnr[{rx}-{fibre}]", "Channel OSNR (0.1 nm)", "ACC-8",
                    rx, fibre, NAN, [("min_osnr", round(osnr, 3), LIMITS["osnr"],
                                      f"{len(channels)} channels measured at {rx}")],
                    traces=[(f"osa_{rx}_p1", (f"osa-{fibre}", make_osa))])
            t, q, extra = pm_series(fibre, pm_bins)

            def make_pm(t=t, q=q, extra=extra, rx=rx, tx=tx, fibre=fibre):
                attrs = {"kind": "pm", "station": rx, "fibre": fibre, "direction": f"{tx}→{rx}",
                         "wavelength_nm": NAN, "pulse_width_ns": NAN, "averaging_s": NAN,
                         "aid": f"OCH-1-{fibre[2]}-1", "alarms": "[]",
                         "instrument_idn": f"ACME,COHERENT-SHELF,{rx},R7.1"}
                return attrs, t, q, ("s", "Bin start (Unix time)", "dB", "Q"), None, extra
            w.check(f"acceptance/test_transponder.py::test_q_margin[{rx}-{fibre}]", "Q margin", "ACC-9",
                    rx, fibre, NAN, [("q_margin", round(float(q.min()) - 6.3, 3), LIMITS["q_margin"],
                                      f"card OCH-1-{fibre[2]}-1 at {rx}")],
                    traces=[(f"pm_{rx}_OCH", (f"pm-{fibre}", make_pm))])
        if error_check:
            w.check("acceptance/test_pmd.py::test_pmd[FP3-F2]", "PMD, mean DGD", "ACC-6", "AKTAU",
                    "FP3-F2", 1550.0, [], verdict="error",
                    message="InstrumentError: AKTAU otdr: no reply to TRAC:ANAL within 30 s")
            w.check("acceptance/test_cd.py::test_cd[FP1-F1]", "Chromatic dispersion", "ACC-7", "SUMGAIT",
                    "FP1-F1", NAN, [], verdict="skipped", message="no CD analyser configured at SUMGAIT")
        worst = max(w.verdicts, key=WORST.index, default="pass")
        f.attrs["overall_verdict"] = {"marginal": "pass", "skipped": "pass"}.get(worst, worst)
    if extra_files:
        (run_dir / "summary.json").write_text(json.dumps({"run_id": run_id}) + "\n")
    return run_dir


@pytest.fixture(scope="session")
def make_run_dir():
    """The run-folder maker (see :func:`make_run`)."""
    return make_run


@pytest.fixture(scope="session")
def full_run(tmp_path_factory):
    """A full failing run: 8 fibres, 2 wavelengths, 32 OTDR + 8 OSA + 8 PM traces."""
    return make_run(tmp_path_factory.mktemp("runs") / "full")
