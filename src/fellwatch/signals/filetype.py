"""Content type from the bytes, never from the name (the name may lie)."""

from __future__ import annotations

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
