"""Content type from the bytes, never from the name (the name may lie)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar

from fellwatch.signals.base import register

# (offset, magic, content type); the first that fits wins, so longer, more specific magics first.
_MAGICS: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"BM", "image/bmp"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"PK\x05\x06", "application/zip"),
    (0, b"\x1f\x8b", "application/gzip"),
    (257, b"ustar", "application/x-tar"),
    (0, b"\x1aE\xdf\xa3", "video/x-matroska"),
)


def sniff(head: bytes) -> str:
    """The content type of an item from its first bytes (at least 512 for tar)."""
    if head[:4] == b"RIFF" and len(head) >= 12:
        riff = head[8:12]
        if riff == b"WEBP":
            return "image/webp"
        if riff == b"AVI ":
            return "video/x-msvideo"
    if head[4:8] == b"ftyp" and len(head) >= 12:
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"hevc", b"avif"):
            return "image/avif" if brand == b"avif" else "image/heic"
        if brand.startswith(b"qt"):
            return "video/quicktime"
        return "video/mp4"
    for offset, magic, content_type in _MAGICS:
        if head[offset : offset + len(magic)] == magic:
            # "BM" alone is weak: check the BMP header's reserved fields are zero.
            if content_type == "image/bmp" and (len(head) < 10 or head[6:10] != b"\0\0\0\0"):
                continue
            return content_type
    return "application/octet-stream"


def is_picture(content_type: str) -> bool:
    return content_type.startswith("image/")


def is_video(content_type: str) -> bool:
    return content_type.startswith("video/")


def is_archive(content_type: str) -> bool:
    return content_type in ("application/zip", "application/gzip", "application/x-tar")


# --- libmagic as a second opinion, and names that lie -------------------------------------

_SECOND_OPINION_BYTES = 8192
_magic_lock = threading.Lock()
_magic: Any = None


def magic_type(head: bytes) -> str:
    """libmagic's MIME type of the same first bytes (python-magic). A second opinion only:
    our own sniff decides, libmagic is recorded beside it and fills in when ours knows nothing.
    """
    global _magic
    with _magic_lock:  # one libmagic handle per process; it is not thread-safe
        if _magic is None:
            import magic

            _magic = magic.Magic(mime=True)
        try:
            return str(_magic.from_buffer(head[:_SECOND_OPINION_BYTES]))
        except Exception as exc:  # libmagic errors on odd input are not ours to crash on
            return f"error: {exc}"


# Types that are the same thing under two names (libmagic's word vs ours).
_ALIASES: dict[str, str] = {
    "image/x-ms-bmp": "image/bmp",
    "image/x-bmp": "image/bmp",
    "video/avi": "video/x-msvideo",
    "video/msvideo": "video/x-msvideo",
    "application/x-gzip": "application/gzip",
    "image/heif": "image/heic",
    "video/webm": "video/x-matroska",
    "video/3gpp": "video/mp4",
}


def same_type(a: str, b: str) -> bool:
    return _ALIASES.get(a, a) == _ALIASES.get(b, b)


@dataclass(frozen=True, slots=True)
class FileType:
    content_type: str  # ours, from the magics above (or libmagic's when ours knows nothing)
    libmagic: str | None  # None: not asked (our sniff was sure the item is not media)
    agree: bool | None


def identify(head: bytes, always: bool = True) -> FileType:
    """Our type and libmagic's. With `always=False` libmagic is asked only where it can change
    or check something that matters (see `wants_second_opinion`): it costs 0.3-2 ms on content
    that matches none of its rules (most small files), against ~1 µs for our own sniff."""
    ours = sniff(head)
    if not always and not wants_second_opinion(head, ours):
        return FileType(ours, None, None)
    theirs = magic_type(head)
    content_type = ours
    if ours == "application/octet-stream" and theirs.startswith(("image/", "video/")):
        content_type = _ALIASES.get(theirs, theirs)
    return FileType(content_type, theirs, same_type(ours, theirs))


# Content whose first bytes say plainly it is not a picture or video: executables, databases,
# documents, audio, archives we do not open. libmagic would name them, but nothing the scan
# decides (review, PDQ, archive expansion) could change.
_NOT_MEDIA_MAGICS = (
    b"\x7fELF", b"MZ", b"SQLite format 3\x00", b"%PDF-", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"dex\n", b"bplist00",
    b"ID3", b"fLaC", b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"BZh", b"\xfd7zXZ\x00",
)  # fmt: skip
# Text that libmagic may call a picture: SVG/XML/HTML, netpbm, XPM, XBM, FITS, xfig.
_PICTURE_TEXT = (b"<", b"P1", b"P2", b"P3", b"P4", b"P5", b"P6", b"P7", b"/* XPM", b"#define",
                 b"SIMPLE  =", b"#FIG")
_TEXT_CONTROLS = bytes(range(32)).translate(None, b"\t\n\r\f\x1b")


def wants_second_opinion(head: bytes, ours: str) -> bool:
    """Whether libmagic's opinion is worth asking for these first bytes.

    Yes when ours names a type that matters (a picture, video or archive: a disagreement is
    worth showing, and libmagic answers those in ~15 µs) or when ours knows nothing and the
    bytes might still be a picture or video libmagic knows (ICO, PSD, JPEG 2000, SVG…). No for
    content plainly not media: empty, plain text, or a known non-media signature.
    """
    if ours != "application/octet-stream":
        return True
    if not head or head.startswith(_NOT_MEDIA_MAGICS):
        return False
    return not _plain_text(head)


def _plain_text(head: bytes) -> bool:
    if head.translate(None, _TEXT_CONTROLS) != head:
        return False  # NUL or other control bytes: binary (or UTF-16, which libmagic reads)
    if not head.isascii():
        # UTF-8, allowing a character cut at the end of the head.
        for cut in range(4):
            try:
                head[: len(head) - cut].decode("utf-8")
                break
            except UnicodeDecodeError:
                continue
        else:
            return False
    start = head.lstrip(b" \t\r\n\f")
    if start.startswith(b"\xef\xbb\xbf"):
        start = start[3:].lstrip()
    return not start.startswith(_PICTURE_TEXT)


_P = "image/"
_BY_EXTENSION: dict[str, frozenset[str]] = {
    ext: frozenset(types)
    for exts, types in (
        (("jpg", "jpeg", "jpe", "jfif"), ["image/jpeg"]),
        (("png",), ["image/png"]),
        (("gif",), ["image/gif"]),
        (("bmp", "dib"), ["image/bmp"]),
        (("tif", "tiff"), ["image/tiff"]),
        (("webp",), ["image/webp"]),
        (("heic", "heif"), ["image/heic"]),
        (("avif",), ["image/avif"]),
        (("mp4", "m4v", "m4a", "3gp", "3g2"), ["video/mp4", "video/quicktime"]),
        (("mov", "qt"), ["video/quicktime", "video/mp4"]),
        (("avi",), ["video/x-msvideo"]),
        (("mkv", "webm", "mka"), ["video/x-matroska"]),
        (("zip", "docx", "xlsx", "pptx", "odt", "ods", "jar", "apk", "epub"),
         ["application/zip"]),
        (("gz", "tgz"), ["application/gzip"]),
        (("tar",), ["application/x-tar"]),
    )
    for ext in exts
}
# Extensions of known non-media kinds: a picture, video or archive under one of these names has
# been renamed to hide it. Generic names (.dat, .tmp, .bin, none) prove nothing either way.
_NOT_MEDIA = frozenset(
    [
        "txt", "log", "ini", "cfg", "conf", "xml", "json", "csv", "htm", "html", "js", "css", "exe",
        "dll", "sys", "drv", "ocx", "com", "msi", "lnk", "doc", "xls", "ppt", "rtf", "pdf", "mp3",
        "wav", "wma", "flac", "ogg", "db", "sqlite", "mdb", "pst", "eml",
    ]
)


def extension_mismatch(name: str, content_type: str) -> bool:
    """Whether the file name's extension claims a different kind of content than the bytes.

    False when there is nothing to compare: no extension, a generic one (.dat, .tmp), or content
    we could not identify (application/octet-stream).
    """
    _, dot, ext = name.rpartition(".")
    ext = ext.lower()
    if not dot or not ext or "/" in ext or content_type == "application/octet-stream":
        return False
    expected = _BY_EXTENSION.get(ext)
    if expected is not None:
        return not any(same_type(content_type, t) for t in expected)
    if ext in _NOT_MEDIA:
        return content_type.startswith((_P, "video/")) or is_archive(content_type)
    return False


class FiletypeSignal:
    """Records libmagic's opinion beside ours, so a disagreement is visible in the findings.

    `libmagic` and `agree` are null where libmagic was not asked (`wants_second_opinion`).
    """

    name: ClassVar[str] = "filetype"
    head_only: ClassVar[bool] = True

    def applies_to(self, content_type: str) -> bool:
        return True

    def compute(self, content: BinaryIO, content_type: str) -> dict[str, Any] | None:
        found = identify(content.read(_SECOND_OPINION_BYTES), always=False)
        return {"content_type": found.content_type, "libmagic": found.libmagic,
                "agree": found.agree}


register(FiletypeSignal())
