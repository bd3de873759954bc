"""Signing a run: several signatures; any changed byte or manifest breaks verification."""

import json

import pytest

from harness.errors import HarnessError
from harness.manifest import verify_manifest, write_manifest
from harness.signing import keygen, sign, verify_signatures


@pytest.fixture
def run_dir(tmp_path):
    run = tmp_path / "run"
    (run / "inputs").mkdir(parents=True)
    (run / "run.h5").write_bytes(b"\x89HDF" + bytes(range(256)) * 40)
    (run / "inputs" / "limits.yaml").write_text("limits: {}\n")
    write_manifest(run)
    return run


def test_two_signers_verify_and_a_changed_byte_is_named(run_dir, tmp_path):
    a, _ = keygen(tmp_path / "contractor")
    b, b_pub = keygen(tmp_path / "owner")
    assert (a.stat().st_mode & 0o777) == 0o600 and b_pub.read_bytes().startswith(b"-----BEGIN PUBLIC KEY")
    sign(run_dir, a, "A. Contractor", "contractor")
    sign(run_dir, b, "O. Engineer", "owner's engineer")
    assert verify_manifest(run_dir) == [] and verify_signatures(run_dir) == []
    data = bytearray((run_dir / "run.h5").read_bytes())
    data[1000] ^= 0x80
    (run_dir / "run.h5").write_bytes(bytes(data))
    assert verify_manifest(run_dir) == ["run.h5: changed (SHA-256 does not match the manifest)"]


def test_a_rewritten_manifest_breaks_every_signature(run_dir, tmp_path):
    key, _ = keygen(tmp_path / "k")
    sign(run_dir, key, "A")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["files"]["run.h5"] = "0" * 64
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    assert verify_signatures(run_dir) == ["signatures.json: signature of A does not match manifest.json"]


def test_added_or_missing_files_are_reported(run_dir):
    (run_dir / "extra.txt").write_text("x")
    (run_dir / "inputs" / "limits.yaml").unlink()
    assert verify_manifest(run_dir) == ["inputs/limits.yaml: missing", "extra.txt: not in the manifest"]


def test_keygen_refuses_to_overwrite(tmp_path):
    keygen(tmp_path / "k")
    with pytest.raises(HarnessError, match="exists already"):
        keygen(tmp_path / "k")
