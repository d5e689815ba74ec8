"""File type from the bytes, libmagic's second opinion, and names that lie."""

from __future__ import annotations

import io

import pytest

from fellwatch.signals import base as signal_base
from fellwatch.signals.filetype import (
    FiletypeSignal,
    extension_mismatch,
    identify,
    magic_type,
    sniff,
)
from tests.carving import samples


@pytest.fixture(scope="module")
def blobs() -> dict[str, bytes]:
    return {
        "image/jpeg": samples.jpeg(1),
        "image/png": samples.png(2),
        "image/gif": samples.gif(3),
        "image/webp": samples.webp(4),
        "image/bmp": samples.bmp(5),
        "video/mp4": samples.video("mp4", seconds=1),
        "video/x-msvideo": samples.video("avi", seconds=1),
    }


def test_ours_and_libmagic_agree_on_real_samples(blobs: dict[str, bytes]) -> None:
    for content_type, blob in blobs.items():
        found = identify(blob[:8192])
        assert sniff(blob) == content_type == found.content_type
        assert found.agree, (content_type, found.libmagic)


def test_libmagic_fills_in_when_ours_knows_nothing() -> None:
    # A PDF is not ours to sniff; libmagic names it but it stays octet-stream for us (not media).
    found = identify(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    assert found.libmagic == "application/pdf"
    assert found.content_type == "application/octet-stream" and not found.agree
    assert magic_type(b"hello world\n") == "text/plain"


def test_filetype_signal_records_both_opinions(blobs: dict[str, bytes]) -> None:
    signal = signal_base.registered()["filetype"]
    assert isinstance(signal, FiletypeSignal) and signal.applies_to("anything/at-all")
    result = signal.compute(io.BytesIO(blobs["image/png"]), "image/png")
    assert result == {"content_type": "image/png", "libmagic": "image/png", "agree": True}


@pytest.mark.parametrize(
    ("name", "content_type", "mismatch"),
    [
        ("holiday.jpg", "image/jpeg", False),
        ("HOLIDAY.JPEG", "image/jpeg", False),
        ("holiday.png", "image/jpeg", True),
        ("system32.dll", "image/jpeg", True),
        ("notes.txt", "video/mp4", True),
        ("report.pdf", "application/zip", True),
        ("clip.mov", "video/mp4", False),
        ("clip.mp4", "video/quicktime", False),
        ("clip.avi", "video/mp4", True),
        ("cache.dat", "image/jpeg", False),  # generic name: proves nothing
        ("f_000123", "image/png", False),  # no extension (browser caches)
        ("holiday.jpg", "application/octet-stream", False),  # unknown content
        ("letter.docx", "application/zip", False),
        ("dir.d/file", "image/png", False),
        ("notes.txt", "application/octet-stream", False),
    ],
)
def test_extension_mismatch(name: str, content_type: str, mismatch: bool) -> None:
    assert extension_mismatch(name, content_type) is mismatch


@pytest.mark.parametrize(
    ("head", "asked"),
    [
        (b"plain text, a log line\n" * 50, False),
        ("UTF-8 text: caf\u00e9 \u00fcber\n".encode() * 40, False),
        (b"", False),
        (b"\x7fELF\x02\x01\x01" + bytes(200), False),
        (b"SQLite format 3\x00" + bytes(200), False),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', True),
        (b"P6\n4 4\n255\n" + bytes(48), True),  # netpbm: text that is a picture
        (b"\x00\x00\x01\x00\x01\x00\x10\x10" + bytes(200), True),  # ICO: not ours to sniff
        (bytes(range(256)) * 4, True),  # unknown binary
    ],
)
def test_libmagic_is_asked_only_where_it_can_matter(head: bytes, asked: bool) -> None:
    found = identify(head, always=False)
    assert (found.libmagic is not None) == asked
    if not asked:
        assert found.agree is None and found.content_type == "application/octet-stream"


def test_libmagic_is_always_asked_on_media(blobs: dict[str, bytes]) -> None:
    for content_type, blob in blobs.items():
        found = identify(blob[:8192], always=False)
        assert found.libmagic is not None and found.content_type == content_type


def test_a_picture_only_libmagic_knows_is_still_named() -> None:
    icon = b"\x00\x00\x01\x00\x01\x00\x10\x10\x00\x00\x01\x00 \x00h\x04\x00\x00\x16\x00\x00\x00"
    found = identify(icon + bytes(2000), always=False)
    assert found.content_type == "image/vnd.microsoft.icon"
