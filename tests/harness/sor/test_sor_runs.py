"""``sor import`` (files into a new run folder) and ``sor export`` (a stored trace to .sor):
round trips of the real vectors through run.h5, and a trace the harness stored in a run the
way the recording OTDR stores it, read back by the independent parser otdrs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import warnings

import h5py
import numpy as np
import pytest

from harness.errors import StoreError
from harness.manifest import verify_manifest, write_manifest
from harness.sor import SorWarning, read_sor, write_sor
from harness.sor.runs import export_sor, import_sor, user_offset_m
from harness.store import RunStore
from instruments.protocols import OtdrSettings
from instruments.sim.otdr_physics import otdr_trace
from instruments.sim.span import load_span

def _read(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SorWarning)
        return read_sor(data)


@pytest.fixture
def imported(tmp_path, vectors):
    files = []
    for key, data in vectors.items():
        path = tmp_path / f"{key}.sor"
        path.write_bytes(data)
        files.append(path)
    run_dir, warned = import_sor(files, tmp_path / "results", "imp")
    return run_dir, files, warned


def test_import_makes_a_verifiable_run_with_the_files_as_acquisitions(imported):
    run_dir, files, warned = imported
    assert verify_manifest(run_dir) == []
    assert any("exfo.sor: Cksum" in w for w in warned)  # the EXFO file's known CRC quirk
    store = RunStore(run_dir / "run.h5")
    attrs = store.read_attrs()
    assert attrs["kind"] == "sor-import" and attrs["overall_verdict"] == "skipped"
    listed = {row["file"].rsplit("/", 1)[-1] for row in json.loads(attrs["imported_files"])}
    assert listed == {f.name for f in files}
    checks = store.read_checks()
    assert {c["verdict"] for c in checks.values()} == {"skipped"}
    with h5py.File(run_dir / "run.h5") as f:
        for path in files:
            original = _read(path.read_bytes())
            check = f[f"checks/sor_import[{path.name}]"]
            acq = check[f"traces/{path.stem}"]
            assert acq["x"].attrs["units"] == "m" and acq["y"].attrs["units"] == "dB"
            assert acq.attrs["source_file"] == path.name
            assert acq.attrs["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            # x from the OTDR port, y in the harness convention (higher = more power)
            np.testing.assert_allclose(acq["x"][()], original.data.distance_m
                                       + user_offset_m(original))
            np.testing.assert_array_equal(acq["y"][()], -original.data.level_db)
            events = check[f"events/{path.stem}"][()]
            assert len(events) == len(original.events.events)
            assert events["loss_db"] == pytest.approx([e.loss_db for e in original.events.events])


def test_import_export_round_trip_keeps_every_field_and_vendor_block(imported, tmp_path):
    run_dir, files, _ = imported
    for path in files:
        record, what = export_sor(run_dir, path.name)
        assert path.name in what
        original, again = _read(path.read_bytes()), _read(write_sor(record))
        for name in ("general", "supplier", "fixed", "events", "data", "vendor_blocks",
                     "block_extra", "format_version"):
            assert getattr(again, name) == getattr(original, name), name
        assert again.checksum_ok is True
        assert [b.name for b in again.map.blocks] == [b.name for b in original.map.blocks]


def test_import_never_overwrites_a_run_and_reads_every_file_first(imported, tmp_path, vectors):
    run_dir, files, _ = imported
    before = (run_dir / "manifest.json").read_bytes()
    with pytest.raises(StoreError, match="exists already"):
        import_sor(files, run_dir.parent, "imp")
    assert (run_dir / "manifest.json").read_bytes() == before and verify_manifest(run_dir) == []
    bad = tmp_path / "cut.sor"
    bad.write_bytes(vectors["noyes"][:3000])
    with pytest.raises(Exception, match=r"^cut\.sor: \w+: .* at byte \d+"):
        import_sor([files[0], bad], tmp_path / "results", "second")
    assert not (tmp_path / "results" / "second").exists()


@pytest.fixture
def measured_run(tmp_path):
    """A finished run holding two simulated OTDR traces of one fibre, stored by RunStore with
    the attributes the recording OTDR writes, a splice check linking both and a section check
    holding AKTAU's event table."""
    span = load_span()
    settings = OtdrSettings(range_km=100.0, resolution_m=8.0)
    run_dir = tmp_path / "run"
    store = RunStore(run_dir / "run.h5")
    store.create({"run_id": "run", "operator": "Ayşe Quliyeva", "route": "AKTAU – SUMGAIT",
                  "started_utc": "2026-11-21T08:00:00+00:00", "overall_verdict": "pass"})
    paths = {}
    for station, other in (("AKTAU", "SUMGAIT"), ("SUMGAIT", "AKTAU")):
        level = otdr_trace(span, "FP1-F1", station, settings)
        x = np.arange(level.size) * settings.resolution_m
        attrs = {"kind": "otdr", "station": station, "port": 1, "fibre": "FP1-F1",
                 "direction": f"{station}→{other}",
                 "instrument_idn": f"ANRITSU,MT9083C2,62000000{len(paths)},SIM-{station}",
                 **dataclasses.asdict(settings)}
        request = {"kind": "otdr", "station": station, "port": 1, **dataclasses.asdict(settings)}
        paths[station] = (store.add_acquisition(request, x, level, ("m", "Distance"),
                                                ("dB", "Level"), attrs), x, level)
    events = [{"distance_m": 31016.0, "loss_db": 0.21, "reflectance_db": None,
               "type": "non-reflective"},
              {"distance_m": 60000.0, "loss_db": float("nan"), "reflectance_db": -45.0,
               "type": "end"}]
    store.write_check("test_section_attenuation[AKTAU-FP1-F1-1550nm]",
                      {"verdict": "pass", "station": "AKTAU"}, [],
                      {"otdr_AKTAU_p1_1550nm": paths["AKTAU"][0]}, {"AKTAU": events})
    store.write_check("test_splice_loss[FP1-F1-1550nm]", {"verdict": "pass"}, [],
                      {f"otdr_{s}_p1_1550nm": p[0] for s, p in paths.items()}, {})
    store.consolidate()
    write_manifest(run_dir)
    return run_dir, paths


def test_export_of_a_measured_trace_carries_the_run_provenance(measured_run):
    otdrs = pytest.importorskip("otdrs")
    run_dir, paths = measured_run
    record, _ = export_sor(run_dir, "splice", "AKTAU")
    data = write_sor(record)
    ours = _read(data)
    _, x, level = paths["AKTAU"]
    # the trace: SOR keeps 0.001 dB steps below a 0 dB reference
    assert ours.data.n_points == x.size
    np.testing.assert_allclose(ours.data.distance_m, x, atol=1e-3)
    reference = max(0.0, math.ceil(level.max()))  # SOR's 0 dB: the top of the scale
    np.testing.assert_allclose(-ours.data.level_db, level - reference, atol=6e-4)
    g, s = ours.general, ours.supplier
    assert (g.fibre_id, g.originating_location, g.terminating_location) == ("FP1-F1", "AKTAU",
                                                                           "SUMGAIT")
    assert g.operator == "Ayse Quliyeva" and g.cable_id == "AKTAU - SUMGAIT"  # Latin-1
    assert "run run check test_splice_loss[FP1-F1-1550nm]" in g.comment
    assert "run.h5 sha256" in g.comment
    assert (s.name, s.mainframe_id, s.software_rev) == ("ANRITSU", "MT9083C2", "SIM-AKTAU")
    # the event table of the section check that used the same acquisition
    assert [(round(e.distance_m), e.loss_db, e.code[:2]) for e in ours.events.events] == [
        (31016, 0.21, "0F"), (60000, 0.0, "1E")]
    assert ours.fixed.date_time == 1_795_248_000
    theirs = otdrs.parse_bytes(data)
    assert theirs.general_parameters.fiber_id == "FP1-F1"
    assert theirs.supplier_parameters.supplier_name == "ANRITSU"
    assert theirs.fixed_parameters.actual_wavelength == 15500
    k = theirs.key_events
    assert [e.event_loss for e in [*k.key_events, k.last_key_event]] == [210, 0]
    raw = np.concatenate([np.asarray(sf.data) for sf in theirs.data_points.scale_factors])
    scale = theirs.data_points.scale_factors[0].scale_factor
    np.testing.assert_allclose(raw * scale / 1e6, ours.data.level_db, atol=1e-9)


def test_export_chooses_with_clear_errors(measured_run):
    run_dir, _ = measured_run
    with pytest.raises(StoreError, match=r"2 checks; choose one with --check .*: 1 test_section"):
        export_sor(run_dir, None)
    with pytest.raises(StoreError, match=r"no single check matches 'FP9'"):
        export_sor(run_dir, "FP9")
    with pytest.raises(StoreError, match=r"check test_splice_loss\[FP1-F1-1550nm\]: 2 traces; "
                                         r"choose one with --trace .*: 1 otdr_AKTAU_p1_1550nm, "
                                         r"2 otdr_SUMGAIT_p1_1550nm"):
        export_sor(run_dir, "2")
    record, what = export_sor(run_dir, "2", "2")
    assert "otdr_SUMGAIT_p1_1550nm" in what and record.general.originating_location == "SUMGAIT"
    assert record.events.events == []  # no one-trace event table for SUMGAIT's trace


def test_export_refuses_a_changed_run_unless_trusted(measured_run):
    run_dir, _ = measured_run
    (run_dir / "extra.txt").write_text("tampered")
    with pytest.raises(StoreError, match="refusing to export.*extra.txt"):
        export_sor(run_dir, "section")
    assert export_sor(run_dir, "section", trust=True)[0].general.fibre_id == "FP1-F1"
