"""A zip or tar given as the evidence itself: its members are items, read as streams."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from fellwatch.evidence import EvidenceError, open_evidence
from fellwatch.evidence.archives import ArchiveLimits
from fellwatch.evidence.extraction import ExtractionEvidence
from fellwatch.scan.verify import evidence_sha256


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_members_are_items(tmp_path: Path) -> None:
    path = _zip(tmp_path / "phone.zip", {"data/b.txt": b"bee", "./data/a.txt": b"ay",
                                         "data/dir/": b""})
    ev = open_evidence(path)
    assert isinstance(ev, ExtractionEvidence)
    assert ev.describe() == {"path": str(path), "format": "zip-extraction", "volumes": []}
    items = list(ev.items())
    assert [i.path for i in items] == ["/data/a.txt", "/data/b.txt"]
    assert [ev.open_item(i).read() for i in items] == [b"ay", b"bee"]
    assert all(i.origin == "archive" for i in items)
    # The evidence's own SHA-256, as for an image.
    assert evidence_sha256(path)["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    ev.close()


def test_tar_members_are_items(tmp_path: Path) -> None:
    path = tmp_path / "phone.tar"
    with tarfile.open(path, "w") as tf:
        for name, data in (("./private/var/z.txt", b"zed"), ("private/var/y.txt", b"why")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    ev = open_evidence(path)
    assert ev.format == "tar-extraction"
    items = list(ev.items())
    assert [i.path for i in items] == ["/private/var/y.txt", "/private/var/z.txt"]
    assert ev.open_item(items[1]).read() == b"zed"
    ev.close()


def test_repeated_names_get_their_own_keys(tmp_path: Path) -> None:
    path = tmp_path / "dup.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.txt", b"one")
        with pytest.warns(UserWarning):
            zf.writestr("a.txt", b"two")
    ev = open_evidence(path)
    items = list(ev.items())
    assert len({i.key for i in items}) == 2
    assert sorted(ev.open_item(i).read() for i in items) == [b"one", b"two"]
    ev.close()


def test_bomb_limits_apply_to_members(tmp_path: Path) -> None:
    path = _zip(tmp_path / "bomb.zip", {"zeros.bin": b"\0" * (4 << 20), "ok.txt": b"fine"})
    ev = ExtractionEvidence(path, ArchiveLimits(max_ratio=10, ratio_floor_bytes=1 << 20))
    by_path = {i.path: i for i in ev.items()}
    assert "archive bomb" in (by_path["/zeros.bin"].error or "")
    assert by_path["/ok.txt"].error is None
    ev.close()
    with pytest.raises(EvidenceError, match="archive bomb"):
        ExtractionEvidence(path, ArchiveLimits(max_members=1))


def test_encrypted_member_is_an_item_error(tmp_path: Path) -> None:
    path = _zip(tmp_path / "enc.zip", {"secret.txt": b"x"}, zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    # Set the "encrypted" flag in the local header and the central directory entry.
    data[6] |= 1
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 1
    path.write_bytes(bytes(data))
    ev = open_evidence(path)
    (item,) = list(ev.items())
    assert item.error == "encrypted archive member: not decrypted"
    ev.close()


def test_a_corrupt_member_fails_on_read(tmp_path: Path) -> None:
    from fellwatch.evidence import ItemError

    path = _zip(tmp_path / "bad.zip", {"a.txt": b"hello " * 1000})
    data = bytearray(path.read_bytes())
    data[40] ^= 0xFF  # inside the deflate stream
    path.write_bytes(bytes(data))
    ev = open_evidence(path)
    (item,) = list(ev.items())
    with pytest.raises(ItemError):
        ev.open_item(item).read()
    ev.close()


def test_tar_gz_is_not_an_extraction(tmp_path: Path) -> None:
    path = tmp_path / "phone.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        info = tarfile.TarInfo("a.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"a"))
    with pytest.raises(EvidenceError):
        open_evidence(path)
