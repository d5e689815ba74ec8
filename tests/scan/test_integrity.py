"""Evidence hashed once and remembered, checked by identity after the scan, an E01's acquisition
hash checked; scan folders signed and checked offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from fellwatch.errors import ExitCode
from fellwatch.scan.job import scan
from fellwatch.scan.pipeline import _after_scan
from fellwatch.scan.verify import EvidenceHashCache, acquisition_check, hash_evidence
from fellwatch.settings import ScanSettings

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "src" / "fellwatch" / "demo" / "demo.E01"


def _fellwatch(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fellwatch", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "FELLWATCH_DATA_DIR": str(data)},
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip


def _corrupt(path: Path, at: float) -> None:
    with path.open("r+b") as fh:
        fh.seek(int(path.stat().st_size * at))
        data = fh.read(64)
        fh.seek(int(path.stat().st_size * at))
        fh.write(bytes(b ^ 0x5A for b in data))


def test_second_scan_remembers_the_hash_and_findings_stay_identical(tmp_path: Path) -> None:
    evidence = tmp_path / "demo.E01"
    shutil.copy2(DEMO, evidence)
    first = scan([str(evidence)], tmp_path / "a", ScanSettings(workers=1), progress=False)
    second = scan([str(evidence)], tmp_path / "b", ScanSettings(workers=1), progress=False)
    assert first.run["evidence_hashes"][0]["sha256"] == "computed in this run"
    assert second.run["evidence_hashes"][0]["sha256"].startswith("remembered from ")
    assert first.findings_path.read_bytes() == second.findings_path.read_bytes()
    entry = first.findings["evidence"][0]
    assert entry["after_check"] == "identity unchanged"
    assert entry["sha256"] == entry["sha256_after"]
    assert entry["acquisition_hash"]["verdict"] == "matches"
    # Any write changes the identity: the next scan hashes again.
    os.utime(evidence)
    third = scan([str(evidence)], tmp_path / "c", ScanSettings(workers=1), progress=False)
    assert third.run["evidence_hashes"][0]["sha256"] == "computed in this run"


def test_a_change_after_hashing_is_hashed_again_and_shown(tmp_path: Path) -> None:
    evidence = tmp_path / "disk.raw"
    evidence.write_bytes(b"\0" * 4096)
    known = hash_evidence(evidence, "raw", None)
    evidence.write_bytes(b"\1" * 4096)  # as if written during the scan
    after = _after_scan(evidence, known)
    assert after["after_check"] == "identity changed: hashed again"
    assert after["sha256_after"] != known.sha256


def test_acquisition_hash_of_a_corrupted_e01_differs(tmp_path: Path) -> None:
    copy = tmp_path / "demo.E01"
    shutil.copy2(DEMO, copy)
    assert acquisition_check(copy, "ewf")["verdict"] == "matches"  # type: ignore[index]
    _corrupt(copy, 0.5)
    result = acquisition_check(copy, "ewf")
    assert result is not None and result["verdict"] == "differs"
    assert result["stored"]["md5"] == "ec357d2ae1bf72c13bf1b6d367fa8989"
    assert acquisition_check(copy, "raw") is None  # a raw image stores no hash of its own


def test_evidence_verify_command(tmp_path: Path) -> None:
    data = tmp_path / "data"
    copy = tmp_path / "demo.E01"
    shutil.copy2(DEMO, copy)
    done = _fellwatch(data, "evidence", "verify", str(copy))
    assert done.returncode == 0, done.stderr
    assert "remembered      none" in done.stdout and "acquisition     matches" in done.stdout
    done = _fellwatch(data, "evidence", "verify", str(copy))
    assert done.returncode == 0 and "remembered      same as hashed on" in done.stdout
    _corrupt(copy, 0.3)
    done = _fellwatch(data, "evidence", "verify", str(copy))
    assert done.returncode == ExitCode.INCOMPLETE
    assert "acquisition hash check says differs" in done.stderr
    cache = EvidenceHashCache(data / "evidence-hashes.sqlite")
    assert oct(cache.path.stat().st_mode & 0o777) == "0o600"
    cache.close()


def test_signed_manifest_names_what_changed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = tmp_path / "out"
    unsigned = _fellwatch(data, "scan", str(DEMO), "--out", str(out), "--quiet")
    assert unsigned.returncode == 0, unsigned.stderr
    assert "manifest.json is not signed" in unsigned.stderr
    assert _fellwatch(data, "verify", str(out)).returncode == ExitCode.INCOMPLETE
    keys = _fellwatch(data, "keys", "init")
    assert keys.returncode == 0, keys.stderr
    assert oct((data / "keys" / "unit-ed25519.pem").stat().st_mode & 0o777) == "0o600"
    assert _fellwatch(data, "keys", "init").returncode == ExitCode.INPUT  # one key, kept
    signed = _fellwatch(data, "scan", str(DEMO), "--out", str(out), "--quiet")
    assert signed.returncode == 0 and "not signed" not in signed.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {"findings.json", "inventory.csv", "report.html",
                                      "run.json"}  # fmt: skip
    assert manifest["evidence"][0]["sha256"] == json.loads(
        (out / "findings.json").read_text())["evidence"][0]["sha256"]  # fmt: skip
    public = str(data / "keys" / "unit-ed25519.pub.pem")
    ok = _fellwatch(data, "verify", str(out), "--key", public)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "every file is as signed" in ok.stdout
    # A changed file, a removed one and an added one are each named.
    with (out / "inventory.csv").open("a") as fh:
        fh.write("x\n")
    (out / "run.json").unlink()
    (out / "extra.txt").write_text("not from the scan")
    bad = _fellwatch(data, "verify", str(out), "--key", public)
    assert bad.returncode == ExitCode.INCOMPLETE
    assert "changed         inventory.csv" in bad.stdout
    assert "missing         run.json" in bad.stdout
    assert "not listed      extra.txt" in bad.stdout
    # A manifest edited to match is caught by the signature.
    manifest["files"]["inventory.csv"]["sha256"] = "0" * 64
    (out / "manifest.json").write_text(json.dumps(manifest))
    forged = _fellwatch(data, "verify", str(out), "--key", public)
    assert forged.returncode == ExitCode.INCOMPLETE
    assert "the signature does not hold" in forged.stderr


def test_signature_by_another_key_is_refused(tmp_path: Path) -> None:
    unit, other = tmp_path / "unit", tmp_path / "other"
    assert _fellwatch(unit, "keys", "init").returncode == 0
    assert _fellwatch(other, "keys", "init").returncode == 0
    out = tmp_path / "out"
    assert _fellwatch(unit, "scan", str(DEMO), "--out", str(out), "--quiet").returncode == 0
    wrong = _fellwatch(unit, "verify", str(out), "--key", str(other / "keys" /
                                                             "unit-ed25519.pub.pem"))
    assert wrong.returncode == ExitCode.INCOMPLETE and "signed by another key" in wrong.stderr
