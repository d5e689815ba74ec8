"""Realistic hash-set files built from benign data, written into a test's tmp_path.

Every digest here is the digest of a harmless byte string (`benign(n)`), so the sets are
synthetic; the files copy the shape of real exports: a UTF-8 BOM, upper-case hex, booleans and
numbers as strings, null categories, PhotoDNA and PDQ alternative hashes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

BOM = "\ufeff"
VICS13 = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"
VICS20_MEDIA = (
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"
)
VICS20_CASES = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases"


def benign(n: int) -> bytes:
    return f"benign sample file number {n}\n".encode()


def md5(n: int) -> str:
    return hashlib.md5(benign(n)).hexdigest()


def sha1(n: int) -> str:
    return hashlib.sha1(benign(n)).hexdigest()


def sha256(n: int) -> str:
    return hashlib.sha256(benign(n)).hexdigest()


def pdq(n: int) -> str:
    """A made-up 256-bit perceptual hash (two SHA-256s folded), stable per n."""
    return hashlib.sha256(b"pdq" + benign(n)).hexdigest()


def record(n: int) -> dict[str, Any]:
    """An item record as the scan builds it, for benign file n."""
    return {"md5": md5(n), "sha1": sha1(n), "sha256": sha256(n), "content_type": "image/jpeg"}


def vics_media(n: int, category: Any, *, version: str = "1.3", pdq_hash: bool = False) -> dict:
    media: dict[str, Any] = {
        "MediaID": str(n) if version == "2.0" else n,
        "Category": category,
        "MD5": md5(n).upper(),
        "SHA1": sha1(n).upper(),
        "MediaSize": str(len(benign(n))),
        "DateUpdated": "2023-06-07T02:31:49.8300Z",
        "IsPrecategorized": "true",
        "IsDistributed": "false",
        "MediaFiles": [{"FileName": f"IMG_{n:04d}.JPG", "FilePath": "C:\\Users\\x\\Pictures"}],
    }
    if version == "1.3":
        media["odata.id"] = f"http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml/Media({n})"
    if version == "2.0":
        media["SHA256"] = sha256(n).upper()
    alternatives = [{"HashName": "PhotoDNA", "HashValue": "AAECAwQFBgcICQoLDA0ODxAREhM="}]
    if pdq_hash:
        alternatives.append({"HashName": "PDQ", "HashValue": pdq(n).upper()})
    media["AlternativeHashes"] = alternatives
    return media


def write_vics13(path: Path, media: list[dict]) -> Path:
    doc = {"odata.metadata": VICS13, "value": media}
    path.write_text(BOM + json.dumps(doc, indent=2), encoding="utf-8")
    return path


def write_vics20_media(path: Path, media: list[dict]) -> Path:
    doc = {"@odata.context": VICS20_MEDIA, "value": media}
    path.write_text(BOM + json.dumps(doc), encoding="utf-8")
    return path


def write_vics20_cases(path: Path, media: list[dict]) -> Path:
    case = {
        "CaseID": "4dbd6d0b-5a56-4c83-9b5e-0b8f4d2f1a77",
        "CaseNumber": "OP-TEST-1",
        "ContactOrganization": "Test unit",
        "Media": media,
        "SourceApplicationName": "Fellwatch tests",
        "SourceApplicationVersion": "0.1",
    }
    doc = {"@odata.context": VICS20_CASES, "value": [case]}
    path.write_text(BOM + json.dumps(doc, indent=1), encoding="utf-8")
    return path


def write_hashdeep(path: Path, numbers: list[int], columns: str = "size,md5,sha256") -> Path:
    lines = [
        "%%%% HASHDEEP-1.0",
        f"%%%% {columns},filename",
        "## Invoked from: /home/examiner",
        "## $ hashdeep -r known",
        "##",
    ]
    for n in numbers:
        values = {
            "size": str(len(benign(n))),
            "md5": md5(n),
            "sha1": sha1(n),
            "sha256": sha256(n),
            "tiger": "0" * 48,
            "whirlpool": "0" * 128,
        }
        fields = [values[c] for c in columns.split(",")]
        lines.append(",".join([*fields, f"/known/dir, with comma/file{n}.txt"]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_nsrl(path: Path, numbers: list[int], *, minimal: bool = False) -> Path:
    """An RDSv3-shaped database: the full layout's FILE view over a table, or the minimal
    layout's DISTINCT_HASH table, upper-case hex as NIST ships it."""
    conn = sqlite3.connect(path)
    with conn:
        if minimal:
            conn.execute("CREATE TABLE DISTINCT_HASH (sha256 TEXT, sha1 TEXT, md5 TEXT)")
            conn.executemany(
                "INSERT INTO DISTINCT_HASH VALUES (?, ?, ?)",
                [(sha256(n).upper(), sha1(n).upper(), md5(n).upper()) for n in numbers],
            )
        else:
            conn.execute(
                "CREATE TABLE FILE_TABLE (sha256 TEXT, sha1 TEXT, md5 TEXT, crc32 TEXT,"
                " file_name TEXT, file_size INTEGER, package_id INTEGER)"
            )
            conn.execute("CREATE VIEW FILE AS SELECT * FROM FILE_TABLE")
            conn.execute("CREATE TABLE PKG (package_id INTEGER, name TEXT)")
            rows = [
                (
                    sha256(n).upper(),
                    sha1(n).upper(),
                    md5(n).upper(),
                    "00000000",
                    f"file{n}.dll",
                    len(benign(n)),
                    1,
                )
                for n in numbers
            ]
            conn.executemany("INSERT INTO FILE_TABLE VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.close()
    return path
