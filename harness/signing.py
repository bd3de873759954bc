"""Ed25519 signatures over a run's ``manifest.json`` (several signers may sign one run).

``signatures.json`` holds one entry per signature: signer, role, when, the raw public key and
the signature over the manifest's exact bytes, all base64. Because the manifest holds the
SHA-256 of every other file, a valid signature vouches for every byte of the run folder.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from harness.errors import HarnessError
from harness.manifest import MANIFEST

SIGNATURES = "signatures.json"


def keygen(out: Path) -> tuple[Path, Path]:
    """Write a new key pair: ``out`` (private, PEM, mode 0600) and ``out.pub`` (public, PEM)."""
    out = Path(out)
    if out.exists():
        raise HarnessError(f"{out}: exists already; not overwriting a key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    pub = out.with_name(out.name + ".pub")
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    return out, pub


def _load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise HarnessError(f"{path}: not a readable Ed25519 private key ({exc})") from None
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
        assert isinstance(entries, list)
        return entries
    except (ValueError, AssertionError):
        raise HarnessError(f"{path}: unreadable signature list") from None


def sign(run_dir: Path, key_path: Path, signer: str, role: str = "") -> dict:
    """Add a signature by ``signer`` over the run's manifest; returns the entry."""
    key = _load_private(key_path)
    message = _manifest_bytes(run_dir)
    raw_pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    entry = {"signer": signer, "role": role,
             "signed_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
             "public_key": base64.b64encode(raw_pub).decode(),
             "signature": base64.b64encode(key.sign(message)).decode()}
    entries = read_signatures(run_dir) + [entry]
    (Path(run_dir) / SIGNATURES).write_text(json.dumps(entries, indent=2) + "\n")
    return entry


def verify_signatures(run_dir: Path) -> list[str]:
    """Problems with the signatures (empty when every one verifies over the current manifest)."""
    message = _manifest_bytes(run_dir)
    problems = []
    for i, entry in enumerate(read_signatures(run_dir)):
        who = entry.get("signer", f"signature {i + 1}")
        try:
            pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public_key"]))
            pub.verify(base64.b64decode(entry["signature"]), message)
        except (KeyError, ValueError, InvalidSignature):
            problems.append(f"{SIGNATURES}: signature of {who} does not match manifest.json")
    return problems
