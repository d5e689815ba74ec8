"""File names as evidence: kept as raw bytes, shown escaped, never dropped.

A name that is not valid UTF-8 (a Latin-1 name on a FAT stick, a broken NTFS name) is shown with
each undecodable byte as `\\xNN`, and a literal backslash as `\\\\`, so the shown form maps back
to exactly one byte string. Control characters are escaped too so a hostile name cannot
rewrite a terminal or a CSV row.
"""

from __future__ import annotations


def display_name(raw: bytes | str) -> str:
    """The escaped, printable form of a name given as raw bytes (or an already decoded str)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    out: list[str] = []
    text = raw.decode("utf-8", "surrogateescape")
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte carried by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
