"""The run record reaches the disk step by step; a torn or altered step is not trusted."""

import h5py
import numpy as np
import pytest

from harness.config import Limit
from harness.store import RunStore
from harness.verdict import Measurement


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "run.h5")
    s.create({"run_id": "t", "overall_verdict": "error"})
    return s


def add(store, i):
    return store.add_acquisition({"kind": "otdr", "port": i}, np.arange(4.0), np.arange(4.0) * -i,
                                 ("m", "Distance"), ("dB", "Level"), {"kind": "otdr"})


def test_steps_are_files_before_the_record_exists(store):
    assert add(store, 1) == "/acquisitions/0000" and add(store, 2) == "/acquisitions/0001"
    assert not store.path.exists()
    with h5py.File(store.steps / "acq-0001.h5", "r") as f:  # a completed step opens on its own
        np.testing.assert_array_equal(f["y"][()], [0, -2, -4, -6])


def test_consolidated_record_links_checks_to_acquisitions(store):
    path = add(store, 3)
    limit = Limit("x", "dB", high=1.0)
    store.write_check("test_x[a]", {"verdict": "pass"}, [Measurement("v", 0.5, limit, "pass")],
                      {"trace": path}, {})
    store.set_attrs({"overall_verdict": "pass"})
    store.consolidate()
    with h5py.File(store.path, "r") as f:
        assert f.attrs["overall_verdict"] == "pass" and f.attrs["schema"].startswith("caspian")
        check = f["checks/test_x[a]"]
        np.testing.assert_array_equal(check["traces/trace/y"][()], [0, -3, -6, -9])
        assert check["measurements/v"].attrs["units"] == "dB"


def test_a_step_whose_bytes_changed_is_left_out(store):
    add(store, 1)
    add(store, 2)
    data = bytearray((store.steps / "acq-0000.h5").read_bytes())
    data[-10] ^= 0xFF
    (store.steps / "acq-0000.h5").write_bytes(bytes(data))
    assert set(store.journal.verified()) == {"run.json", "acq-0001.h5"}


def test_a_torn_journal_line_is_ignored(store):
    add(store, 1)
    with open(store.journal.path, "a") as f:
        f.write('{"file": "acq-0001.h5", "sha2')
    assert "acq-0000.h5" in store.journal.entries() and "acq-0001.h5" not in store.journal.entries()


def test_prompts_are_kept_in_the_record_in_order(store):
    store.add_prompt({"key": "patch:AKTAU:otdr:FP1-F1", "answer": "yes", "by": "E. Engineer"})
    store.add_prompt({"key": "patch:AKTAU:otdr:FP1-F2", "answer": "done", "by": "E. Engineer"})
    store.consolidate()
    assert [(p["key"], p["answer"]) for p in store.read_prompts()] == [
        ("patch:AKTAU:otdr:FP1-F1", "yes"), ("patch:AKTAU:otdr:FP1-F2", "done")]
