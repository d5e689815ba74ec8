"""Signals: what is computed from an item's bytes (digests, file type, PDQ, vPDQ, EXIF)."""
