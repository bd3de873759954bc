"""Ed25519 signatures over a run's ``manifest.json`` (several signers may sign one run), and
checking them against a signers file: who may sign a campaign.

``signatures.json`` holds one entry per signature: signer, role, when, the raw public key and
the signature over the manifest's exact bytes, all base64. Because the manifest holds the
SHA-256 of every other file, a valid signature vouches for every byte of the run folder.

A valid signature alone proves nothing about *who* signed: anyone can make a key and sign
under any name. The signers file (:func:`load_signers`) lists the people who may sign, each
with a role and public key; :func:`check_signers` accepts a run only when every signature's
key is listed under the same name and role and every role listed has signed.

Key fingerprints (:func:`fingerprint`) are OpenSSH's: ``SHA256:`` and the unpadded base64 of
the SHA-256 of the key's OpenSSH wire form (``string "ssh-ed25519", string key``), so
``ssh-keygen -lf`` on the same key prints the same text.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from harness.errors import ConfigError, HarnessError
from harness.manifest import MANIFEST
from instruments.safe_yaml import load_yaml_file

SIGNATURES = "signatures.json"

Passphrase = Callable[[], bytes]
"""Asked only when the private key is encrypted: returns its passphrase."""


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(raw_public_key: bytes | str) -> str:
    """OpenSSH's fingerprint of a raw 32-byte Ed25519 public key (bytes, or base64 as in
    signatures.json): ``SHA256:<base64>``."""
    if isinstance(raw_public_key, str):
        raw_public_key = base64.b64decode(raw_public_key)
    blob = b"".join(len(part).to_bytes(4, "big") + part
                    for part in (b"ssh-ed25519", bytes(raw_public_key)))
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def keygen(out: Path, passphrase: bytes | None = None) -> tuple[Path, Path]:
    """Write a new key pair: ``out`` (private, PKCS#8 PEM, mode 0600, encrypted with
    ``passphrase`` when one is given) and ``out.pub`` (public, PEM)."""
    out = Path(out)
    if out.exists():
        raise HarnessError(f"{out}: exists already; not overwriting a key")
    key = Ed25519PrivateKey.generate()
    protect = (serialization.BestAvailableEncryption(passphrase) if passphrase
               else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, protect)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    pub = out.with_name(out.name + ".pub")
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    return out, pub


def load_private(path: Path, passphrase: Passphrase | None = None) -> Ed25519PrivateKey:
    """The private key at ``path``. Refused, as ssh refuses it, when group or others may read
    or write the file; ``passphrase()`` is asked only when the key is encrypted."""
    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        data = path.read_bytes()
    except OSError as exc:
        raise HarnessError(f"{path}: cannot read the private key: {exc.strerror or exc}") from None
    if mode & 0o077:
        raise HarnessError(f"permissions {mode:04o} for {path} are too open: a private key must be "
                           f"readable by its owner only (chmod 600 {path})")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # encrypted: needs its passphrase
        if passphrase is None:
            raise HarnessError(f"{path}: the key is protected by a passphrase") from None
        try:
            key = serialization.load_pem_private_key(data, password=passphrase())
        except ValueError:
            raise HarnessError(f"{path}: wrong passphrase") from None
    except ValueError:
        raise HarnessError(f"{path}: not a readable Ed25519 private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise HarnessError(f"{path}: not an Ed25519 key")
    return key


def _manifest_bytes(run_dir: Path) -> bytes:
    try:
        return (Path(run_dir) / MANIFEST).read_bytes()
    except OSError:
        raise HarnessError(f"{run_dir}: no manifest.json to sign (run 'harness report' first)") from None


def read_signatures(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / SIGNATURES
    if not path.exists():
        return []
    try:
        entries = json.loads(path.read_text())
        assert isinstance(entries, list) and all(isinstance(e, dict) for e in entries)
        return entries
    except (ValueError, AssertionError):
        raise HarnessError(f"{path}: unreadable signature list") from None


def sign(run_dir: Path, key_path: Path, signer: str, role: str = "",
         passphrase: Passphrase | None = None) -> dict:
    """Add a signature by ``signer`` over the run's manifest; returns the entry."""
    key = load_private(key_path, passphrase)
    message = _manifest_bytes(run_dir)
    raw_pub = _raw(key.public_key())
    entry = {"signer": signer, "role": role,
             "signed_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
             "public_key": base64.b64encode(raw_pub).decode(),
             "signature": base64.b64encode(key.sign(message)).decode()}
    entries = read_signatures(run_dir) + [entry]
    (Path(run_dir) / SIGNATURES).write_text(json.dumps(entries, indent=2) + "\n")
    return entry


def _entry_key(entry: dict) -> bytes | None:
    try:
        raw = base64.b64decode(entry["public_key"], validate=True)
        return raw if len(raw) == 32 else None
    except (KeyError, TypeError, ValueError):
        return None


def signature_problem(entry: dict, message: bytes) -> str:
    """Why one signature entry does not verify over ``message`` (empty when it does)."""
    raw = _entry_key(entry)
    try:
        if raw is None:
            return "no readable Ed25519 public key"
        Ed25519PublicKey.from_public_bytes(raw).verify(
            base64.b64decode(entry["signature"], validate=True), message)
        return ""
    except (KeyError, TypeError, ValueError, InvalidSignature):
        return "does not match manifest.json"


def _who(entry: dict, i: int) -> str:
    return f"{entry.get('signer') or f'signature {i + 1}'!s}"


def verify_signatures(run_dir: Path) -> list[str]:
    """Problems with the signatures (empty when every one verifies over the current manifest)."""
    message = _manifest_bytes(run_dir)
    problems = []
    for i, entry in enumerate(read_signatures(run_dir)):
        why = signature_problem(entry, message)
        if why:
            problems.append(f"{SIGNATURES}: signature of {_who(entry, i)} {why}")
    return problems


def describe_signatures(run_dir: Path) -> list[str]:
    """One line per signature: who, as what, when, the key's fingerprint, valid or not."""
    message = _manifest_bytes(run_dir)
    lines = []
    for i, entry in enumerate(read_signatures(run_dir)):
        raw = _entry_key(entry)
        print_ = fingerprint(raw) if raw else "unreadable key"
        state = signature_problem(entry, message) or "valid"
        lines.append(f"signed by {_who(entry, i)} ({entry.get('role') or 'no role'}) at "
                     f"{entry.get('signed_utc', '?')}, key {print_}: signature {state}")
    return lines


# --- the signers file ----------------------------------------------------------------------
@dataclass(frozen=True)
class Signer:
    """One person who may sign: name, role, and raw Ed25519 public key (32 bytes)."""

    name: str
    role: str
    public_key: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)


def _public_key(text: str, base: Path, where: str) -> bytes:
    """Raw key from PEM text, or from a PEM file named relative to the signers file."""
    if "-----BEGIN" in text:
        pem = text.encode()
    else:
        path = base / text
        try:
            pem = path.read_bytes()[:64 * 1024]
        except OSError as exc:
            raise ConfigError(f"{where}.public_key: cannot read {path}: {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise ConfigError(f"{where}.public_key: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{where}.public_key: not an Ed25519 key")
    return _raw(key)


def key_file_fingerprint(path: Path) -> str:
    """Fingerprint of the public key in a PEM file (the ``PATH.pub`` keygen writes)."""
    return fingerprint(_public_key(Path(path).name, Path(path).parent, str(path)))


def signers_yaml(signers: list[Signer]) -> str:
    """A self-contained signers file (keys as PEM text), as kept in a run's inputs."""
    import yaml

    entries = [{"name": s.name, "role": s.role, "fingerprint": s.fingerprint,
                "public_key": Ed25519PublicKey.from_public_bytes(s.public_key).public_bytes(
                    serialization.Encoding.PEM,
                    serialization.PublicFormat.SubjectPublicKeyInfo).decode()} for s in signers]
    return ("# who may sign this run (harness verify RUN --signers FILE checks a signature against "
            "the owner's own copy, not this one)\n" + yaml.safe_dump({"signers": entries},
                                                                   sort_keys=False))


def load_signers(path: Path) -> list[Signer]:
    """The signers file: ``signers:`` a list of ``{name, role, public_key}``, public_key being
    PEM text or the path (relative to this file) of the ``PATH.pub`` that keygen writes."""
    path = Path(path)
    data = load_yaml_file(path, ConfigError)
    entries = data.get("signers") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: expected 'signers:', a list of {{name, role, public_key}}")
    signers: list[Signer] = []
    for i, spec in enumerate(entries):
        where = f"{path}: signers[{i}]"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a mapping with name, role and public_key")
        for key in ("name", "role", "public_key"):
            if not isinstance(spec.get(key), str) or not spec[key].strip():
                raise ConfigError(f"{where}.{key}: missing or not text")
        unknown = sorted(str(k) for k in spec if k not in ("name", "role", "public_key",
                                                            "fingerprint"))
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0][:40]!r} (name, role, public_key)")
        signer = Signer(spec["name"].strip(), spec["role"].strip(),
                        _public_key(spec["public_key"], path.parent, where))
        if spec.get("fingerprint", signer.fingerprint) != signer.fingerprint:
            raise ConfigError(f"{where}.fingerprint: {str(spec['fingerprint'])[:60]} is not the "
                              f"fingerprint of its public_key ({signer.fingerprint})")
        twin = next((s for s in signers if s.public_key == signer.public_key), None)
        if twin:
            raise ConfigError(f"{where}: key {signer.fingerprint} is listed already for "
                              f"{twin.name} ({twin.role})")
        signers.append(signer)
    return signers


def check_signers(run_dir: Path, signers: list[Signer]) -> list[str]:
    """Problems of the run's signatures against the signers file, one line each: a signature
    that does not verify, a key not in the file, a name or role other than the file gives for
    the key, a role of the file that no valid listed signature covers."""
    message = _manifest_bytes(run_dir)
    by_key = {s.public_key: s for s in signers}
    problems, signed_roles = [], set()
    for i, entry in enumerate(read_signatures(run_dir)):
        who, role = _who(entry, i), str(entry.get("role", ""))
        raw = _entry_key(entry)
        why = signature_problem(entry, message)
        if why:
            problems.append(f"{SIGNATURES}: signature of {who} {why}")
            continue
        listed = by_key.get(raw)
        if listed is None:
            problems.append(f"{SIGNATURES}: signature of {who} ({role or 'no role'}): unknown key "
                            f"{fingerprint(raw)}, not in the signers file")
        elif (listed.name, listed.role) != (who, role):
            problems.append(f"{SIGNATURES}: signature of {who} ({role or 'no role'}): key "
                            f"{fingerprint(raw)} is {listed.name} ({listed.role}) in the signers "
                            "file: name or role mismatch")
        else:
            signed_roles.add(listed.role)
    for role in dict.fromkeys(s.role for s in signers):
        if role not in signed_roles:
            names = ", ".join(s.name for s in signers if s.role == role)
            problems.append(f"missing role: no valid signature as {role} (may sign: {names})")
    return problems
