"""A scan folder's manifest: what a third party needs to check the outputs, offline.

`DIR/manifest.json` lists the SHA-256 of every output file, the tool and its version, and the
evidence hashes; `DIR/manifest.sig` is the unit's Ed25519 signature of the manifest's exact
bytes. `fellwatch keys init` makes the unit's key pair in the data directory; `fellwatch verify
DIR` checks the signature and every file, offline, and names any file that changed, is missing
or was added. The scan store (`scan.sqlite`, the working database a resumed scan goes on
from) is not an output and is not listed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fellwatch import TOOL_NAME, __version__
from fellwatch.errors import FellwatchError, IncompleteError, OutputError

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PRIVATE_KEY = "unit-ed25519.pem"
PUBLIC_KEY = "unit-ed25519.pub.pem"
_NOT_OUTPUTS = (MANIFEST, SIGNATURE)
_WORKING = ("scan.sqlite", "scan.sqlite-wal", "scan.sqlite-shm", "scan.sqlite-journal")


class SigningKeyError(FellwatchError):
    """The unit's key cannot be made or read."""


def keys_dir() -> Path:
    from fellwatch.settings import data_dir

    return data_dir() / "keys"


def init_keys(directory: Path | None = None) -> tuple[Path, str]:
    """Make the unit's Ed25519 key pair (refusing to overwrite one). Returns the public key's
    path and fingerprint."""
    directory = directory or keys_dir()
    private = directory / PRIVATE_KEY
    if private.exists():
        raise SigningKeyError(f"{private} exists already; the unit keeps one key (move it first)")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    private.touch(mode=0o600)
    private.write_bytes(pem)
    public = directory / PUBLIC_KEY
    public.write_bytes(_public_pem(key.public_key()))
    return public, fingerprint(key.public_key())


def load_private_key(directory: Path | None = None) -> Ed25519PrivateKey | None:
    path = (directory or keys_dir()) / PRIVATE_KEY
    if not path.exists():
        return None
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, OSError) as exc:
        raise SigningKeyError(f"{path}: not a readable private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: not an Ed25519 key")
    return key


def _public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _outputs(out_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in out_dir.rglob("*")
        if p.is_file() and p.name not in _NOT_OUTPUTS and p.name not in _WORKING
    )


def write_manifest(
    out_dir: Path, evidence: list[dict[str, Any]], key: Ed25519PrivateKey | None
) -> bool:
    """Write `manifest.json` (and `manifest.sig` when the unit has a key). True if signed."""
    files = {
        p.relative_to(out_dir).as_posix(): {"sha256": _sha256(p), "size": p.stat().st_size}
        for p in _outputs(out_dir)
    }
    manifest: dict[str, Any] = {
        "tool": {"name": TOOL_NAME, "version": __version__},
        "evidence": [
            {k: e.get(k) for k in ("path", "sha256", "acquisition_hash") if k in e}
            for e in evidence
        ],
        "files": files,
    }
    if key is not None:
        manifest["public_key"] = {
            "fingerprint": fingerprint(key.public_key()),
            "pem": _public_pem(key.public_key()).decode("ascii"),
        }
    blob = (json.dumps(manifest, sort_keys=True, indent=1) + "\n").encode("utf-8")
    try:
        (out_dir / MANIFEST).write_bytes(blob)
        signature = out_dir / SIGNATURE
        if key is None:
            signature.unlink(missing_ok=True)
            return False
        signature.write_text(base64.b64encode(key.sign(blob)).decode("ascii") + "\n")
    except OSError as exc:
        raise OutputError(f"cannot write the manifest in {out_dir}: {exc.strerror}") from exc
    return True


@dataclass
class Verdict:
    signed_by: str | None
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.added)


def verify_dir(out_dir: Path, public_key: Path | None = None) -> Verdict:
    """Check the manifest's signature and every file it lists.

    With `public_key` the signature must be by that key (a third party pins the unit's key);
    without, by the key the manifest names (it proves the files are as signed, and the
    fingerprint says by whom). Raises IncompleteError when the signature does not hold or
    the manifest is unsigned and a key was given.
    """
    path = out_dir / MANIFEST
    try:
        blob = path.read_bytes()
        manifest = json.loads(blob)
    except OSError as exc:
        raise IncompleteError(f"{path}: cannot be read ({exc.strerror})") from exc
    except ValueError as exc:
        raise IncompleteError(f"{path}: not JSON ({exc})") from exc
    signed_by = _check_signature(out_dir, blob, manifest, public_key)
    listed: dict[str, Any] = manifest.get("files", {})
    verdict = Verdict(signed_by=signed_by, files=len(listed))
    present = {p.relative_to(out_dir).as_posix(): p for p in _outputs(out_dir)}
    for name, entry in sorted(listed.items()):
        file = present.get(name)
        if file is None:
            verdict.missing.append(name)
        elif _sha256(file) != entry["sha256"]:
            verdict.changed.append(name)
    verdict.added = sorted(set(present) - set(listed))
    return verdict


def _check_signature(
    out_dir: Path, blob: bytes, manifest: dict[str, Any], pinned: Path | None
) -> str | None:
    sig_path = out_dir / SIGNATURE
    if not sig_path.exists():
        if pinned is not None:
            raise IncompleteError(f"{out_dir}: the manifest is not signed")
        return None
    try:
        if pinned is not None:
            key = serialization.load_pem_public_key(pinned.read_bytes())
        else:
            key = serialization.load_pem_public_key(manifest["public_key"]["pem"].encode())
    except (KeyError, ValueError, OSError) as exc:
        raise IncompleteError(f"cannot read the public key to check against: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise IncompleteError("the public key is not an Ed25519 key")
    try:
        key.verify(base64.b64decode(sig_path.read_text().strip()), blob)
    except (InvalidSignature, ValueError) as exc:
        raise IncompleteError(
            f"{out_dir / MANIFEST}: the signature does not hold (the manifest was changed, or "
            f"signed by another key than {fingerprint(key)})"
        ) from exc
    return fingerprint(key)
