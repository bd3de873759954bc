"""Signing a run: several signatures; any changed byte or manifest breaks verification."""

import json

import pytest

from harness.errors import ConfigError, HarnessError
from harness.manifest import verify_manifest, write_manifest
from harness.signing import keygen, read_signatures, sign, verify_signatures


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


# --- who may sign: the signers file (issue 14) -----------------------------------------------
import hashlib  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402

import yaml  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

from harness.cli import main  # noqa: E402
from harness.signing import fingerprint, key_file_fingerprint, load_signers  # noqa: E402

CONTRACTOR = ("A. Contractor", "contractor")
OWNER = ("O. Engineer", "owner's engineer")


@pytest.fixture
def keys(tmp_path):
    """Key pairs of the two listed signers, and a signers file naming them (keys by path)."""
    kdir = tmp_path / "keys"
    kdir.mkdir()
    c, _ = keygen(kdir / "contractor")
    o, _ = keygen(kdir / "owner")
    signers = tmp_path / "signers.yaml"
    signers.write_text(yaml.safe_dump({"signers": [
        {"name": CONTRACTOR[0], "role": CONTRACTOR[1], "public_key": "keys/contractor.pub"},
        {"name": OWNER[0], "role": OWNER[1], "public_key": "keys/owner.pub"}]}))
    return {"contractor": c, "owner": o, "signers": signers}


def verify(run_dir, capsys, *extra):
    code = main(["verify", str(run_dir), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_untouched_run_signed_by_every_role_passes(run_dir, keys, capsys):
    sign(run_dir, keys["contractor"], *CONTRACTOR)
    sign(run_dir, keys["owner"], *OWNER)
    code, out, err = verify(run_dir, capsys, "--signers", str(keys["signers"]))
    assert code == 0 and err == "", err
    assert "every role signed: contractor, owner's engineer" in out
    owner_print = key_file_fingerprint(keys["owner"].with_name("owner.pub"))
    assert f"signed by O. Engineer (owner's engineer) at " in out and owner_print in out


def test_the_forgery_of_issue_14_fails_verify_with_signers(run_dir, keys, tmp_path, capsys):
    sign(run_dir, keys["contractor"], *CONTRACTOR)
    sign(run_dir, keys["owner"], *OWNER)
    # 1. change one byte of run.h5; 2. rewrite its SHA-256 in the manifest; 3. delete the
    # signatures; 4. sign with a fresh key under the owner's engineer's name
    data = bytearray((run_dir / "run.h5").read_bytes())
    data[500] ^= 0x01
    (run_dir / "run.h5").write_bytes(bytes(data))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["files"]["run.h5"] = hashlib.sha256(bytes(data)).hexdigest()
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (run_dir / "signatures.json").unlink()
    forged, forged_pub = keygen(tmp_path / "fresh")
    sign(run_dir, forged, *OWNER)
    assert verify_manifest(run_dir) == [] and verify_signatures(run_dir) == []  # self-consistent

    code, out, err = verify(run_dir, capsys, "--signers", str(keys["signers"]))
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 3, err  # the forged signature counts for no role
    assert lines[0].endswith(f"signatures.json: signature of O. Engineer (owner's engineer): "
                             f"unknown key {key_file_fingerprint(forged_pub)}, not in the signers file")
    assert lines[1].endswith("missing role: no valid signature as contractor (may sign: A. Contractor)")
    assert lines[2].endswith("missing role: no valid signature as owner's engineer (may sign: "
                             "O. Engineer)")
    # without a signers file the integrity holds, and the output says signatures were not checked
    code, out, err = verify(run_dir, capsys)
    assert code == 0 and "signatures were NOT checked against a signers file" in out
    assert "signatures valid" not in out


def test_a_run_signed_by_one_of_two_roles_fails(run_dir, keys, capsys):
    sign(run_dir, keys["contractor"], *CONTRACTOR)
    code, _, err = verify(run_dir, capsys, "--signers", str(keys["signers"]))
    assert code == 1
    assert err.strip().splitlines() == [
        f"{run_dir}: missing role: no valid signature as owner's engineer (may sign: O. Engineer)"]


def test_a_listed_key_under_another_name_or_role_is_a_mismatch(run_dir, keys, capsys):
    sign(run_dir, keys["contractor"], *OWNER)  # the contractor's key, signing as the owner
    sign(run_dir, keys["owner"], "O. Engineer", "contractor")
    code, _, err = verify(run_dir, capsys, "--signers", str(keys["signers"]))
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 4, err
    assert "is A. Contractor (contractor) in the signers file: name or role mismatch" in lines[0]
    assert "is O. Engineer (owner's engineer) in the signers file: name or role mismatch" in lines[1]
    assert "missing role: no valid signature as contractor" in lines[2]
    assert "missing role: no valid signature as owner's engineer" in lines[3]


def test_a_changed_file_is_a_problem_line_even_when_signed(run_dir, keys, capsys):
    sign(run_dir, keys["contractor"], *CONTRACTOR)
    sign(run_dir, keys["owner"], *OWNER)
    (run_dir / "inputs" / "limits.yaml").write_text("limits: {x: 1}\n")
    code, _, err = verify(run_dir, capsys, "--signers", str(keys["signers"]))
    assert code == 1
    assert err.strip().splitlines() == [
        f"{run_dir}: inputs/limits.yaml: changed (SHA-256 does not match the manifest)"]


def test_an_unsigned_run_never_reads_as_validly_signed(run_dir, keys, capsys):
    code, out, err = verify(run_dir, capsys)
    assert code == 0 and "not signed" in out and "valid" not in out
    code, out, err = verify(run_dir, capsys, "--signers", str(keys["signers"]))
    assert code == 1 and len(err.strip().splitlines()) == 2 and "missing role" in err


def test_signers_file_takes_pem_text_and_checks_a_given_fingerprint(keys, tmp_path):
    pem = keys["owner"].with_name("owner.pub").read_text()
    path = tmp_path / "inline.yaml"
    path.write_text(yaml.safe_dump({"signers": [{"name": "O", "role": "r", "public_key": pem}]}))
    [signer] = load_signers(path)
    assert signer.fingerprint == key_file_fingerprint(keys["owner"].with_name("owner.pub"))
    path.write_text(yaml.safe_dump({"signers": [
        {"name": "O", "role": "r", "public_key": pem, "fingerprint": "SHA256:wrong"}]}))
    with pytest.raises(ConfigError, match="is not the fingerprint of its public_key"):
        load_signers(path)


@pytest.mark.parametrize("text, message", [
    ("signers: []\n", "expected 'signers:'"),
    ("signers: [{name: A, role: r}]\n", "public_key: missing"),
    ("signers: [{name: A, role: r, public_key: nowhere.pub}]\n", "cannot read"),
])
def test_a_wrong_signers_file_is_one_line_and_exit_2(run_dir, tmp_path, capsys, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code, _, err = verify(run_dir, capsys, "--signers", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="OpenSSH's ssh-keygen not installed")
def test_fingerprint_is_the_one_openssh_prints(keys, tmp_path):
    """OpenSSH's own ssh-keygen -lf, on the key written in OpenSSH's format, agrees."""
    pub = serialization.load_pem_public_key(keys["owner"].with_name("owner.pub").read_bytes())
    openssh = tmp_path / "owner.openssh.pub"
    openssh.write_bytes(pub.public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH))
    out = subprocess.run(["ssh-keygen", "-lf", str(openssh)], capture_output=True, text=True,
                         check=True).stdout
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert out.split()[1] == fingerprint(raw) == key_file_fingerprint(
        keys["owner"].with_name("owner.pub"))


# --- keys: passphrase and file permissions ---------------------------------------------------
def test_passphrase_protected_key_signs_only_with_its_passphrase(run_dir, tmp_path, capsys,
                                                                 monkeypatch):
    monkeypatch.setenv("SIGN_PASS", "correct horse")
    assert main(["keygen", "--out", str(tmp_path / "k"), "--passphrase-env", "SIGN_PASS"]) == 0
    pem = (tmp_path / "k").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY") and b"correct horse" not in pem
    capsys.readouterr()
    args = ["sign", str(run_dir), "--key", str(tmp_path / "k"), "--signer", "A", "--role", "r",
            "--passphrase-env", "SIGN_PASS"]
    assert main(args) == 0 and "with key SHA256:" in capsys.readouterr().out
    monkeypatch.setenv("SIGN_PASS", "wrong horse")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == f"harness: error: {tmp_path / 'k'}: wrong passphrase\n"
    assert "horse" not in err
    assert len(read_signatures(run_dir)) == 1


def test_keygen_asks_twice_on_a_terminal_and_refuses_a_mismatch(tmp_path, capsys, monkeypatch):
    import getpass

    answers = iter(["one", "two"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt: next(answers))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    assert main(["keygen", "--out", str(tmp_path / "k")]) == 2
    assert "the passphrases differ" in capsys.readouterr().err and not (tmp_path / "k").exists()


def test_a_private_key_readable_by_others_is_refused_with_the_reason(run_dir, tmp_path, capsys):
    key, _ = keygen(tmp_path / "k")
    key.chmod(0o644)
    code = main(["sign", str(run_dir), "--key", str(key), "--signer", "A"])
    assert code == 2
    assert capsys.readouterr().err == (
        f"harness: error: permissions 0644 for {key} are too open: a private key must be "
        f"readable by its owner only (chmod 600 {key})\n")
    assert read_signatures(run_dir) == []


def test_report_is_not_rebuilt_over_signatures(run_dir, keys, capsys):
    sign(run_dir, keys["contractor"], *CONTRACTOR)
    before = (run_dir / "manifest.json").read_bytes()
    assert main(["report", str(run_dir)]) == 2
    assert "rebuilding the report would void every signature" in capsys.readouterr().err
    assert (run_dir / "manifest.json").read_bytes() == before and verify_signatures(run_dir) == []
