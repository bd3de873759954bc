"""The event analysis on real instrument files (tests/data/sor), against the instrument's
own key events: a Noyes OFL280 (1550 nm, 30 ns, 500 m launch cable, user offset at its end)
and an EXFO MaxTester 730C (1310 nm, 10 ns). The comparison table is printed (pytest -s);
the assertions are deliberately loose: two analyses of one trace, not a reference and a copy.

Distances here are from the OTDR port: SR-4731 event times (and the reader's trace axis) start
at the user offset, which is added back.
"""

import warnings
from pathlib import Path

import pytest

from harness.analysis.otdr import analyse_otdr, pulse_length_m

DATA = Path(__file__).resolve().parents[2] / "data" / "sor"
FILES = {"example1-noyes-ofl280.sor": 0.4, "example2-exfo-maxtester730c.sor": 0.4}

sor = pytest.importorskip("harness.sor")


def _load(name):
    path = DATA / name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the EXFO file's checksum does not match (a known quirk)
        record = sor.read_sor(path)
    offset = float(record.general.user_offset_distance)
    fx = record.fixed
    result = analyse_otdr(record.data.distance_m + offset, -record.data.level_db,
                          pulse_width_ns=fx.pulse_widths_ns[0], group_index=fx.group_index,
                          wavelength_nm=fx.actual_wavelength_nm,
                          threshold_db=fx.loss_threshold / 1000.0 or 0.05,
                          backscatter_db=fx.backscatter_db)
    return record, offset, result


@pytest.mark.parametrize("name", sorted(FILES))
def test_events_agree_with_the_instruments_key_events(name):
    record, offset, result = _load(name)
    fx = record.fixed
    tol = max(3 * pulse_length_m(fx.pulse_widths_ns[0], fx.group_index), 5.0)
    theirs = [(e.distance_m + offset, e) for e in record.events.events]
    end_theirs = next(x for x, e in theirs if e.code[1] == "E")
    mine = [e for e in result.events]
    print(f"\n{name}: {fx.actual_wavelength_nm:.0f} nm, {fx.pulse_widths_ns[0]} ns; "
          f"distances from the OTDR port (user offset {offset:.0f} m)")
    print("  instrument                              | this analysis")
    matched = 0
    for x, e in theirs:
        if x > end_theirs + tol:
            print(f"  {x:9.2f} m {e.code} {e.loss_db:+.3f} dB R {e.reflectance_db}  | after the fibre's end: "
                  f"not analysed (noise)")
            continue
        if x < tol and offset == 0:
            print(f"  {x:9.2f} m {e.code} R {e.reflectance_db}  | the launch (dead zone, not an event)")
            continue
        near = [m for m in mine if abs(m.distance_m - x) <= tol]
        if not near:
            print(f"  {x:9.2f} m {e.code} {e.loss_db:+.3f} dB  | not found")
            continue
        m = min(near, key=lambda m: abs(m.distance_m - x))
        matched += 1
        r = f"{m.reflectance_db:.1f}" if m.reflectance_db is not None else "-"
        print(f"  {x:9.2f} m {e.code} {e.loss_db:+.3f} dB R {e.reflectance_db} | {m.distance_m:9.2f} m "
              f"{m.type} {m.loss_db:+.3f} dB R {r} (Δx {m.distance_m - x:+.2f} m)")
        assert abs(m.distance_m - x) <= tol
        if e.code[1] == "E":
            assert m.type == "end"
        elif e.code[0] == "1":
            assert m.type == "reflective" and abs(m.reflectance_db - e.reflectance_db) < 2.0
        if m.type != "end":
            assert abs(m.loss_db - e.loss_db) < FILES[name]
    extra = [m for m in mine if all(abs(m.distance_m - x) > tol for x, _ in theirs)]
    print(f"  matched {matched}; events only here: {[(round(m.distance_m, 1), m.type) for m in extra]}")
    print(f"  attenuation {result.attenuation_db_per_km:.3f} dB/km; end-to-end (from the port) "
          f"{result.end_to_end_loss_db:.3f} dB, the instrument's {record.events.end_to_end_loss_db:.3f} dB "
          f"(from the user offset); ORL {result.orl_db} ({result.orl_note or 'ok'}), "
          f"the instrument's {record.events.orl_db:.2f} dB; noise scale {result.noise_scale:.2f}")
    assert not extra
    assert result.end_m == pytest.approx(end_theirs, abs=tol)
