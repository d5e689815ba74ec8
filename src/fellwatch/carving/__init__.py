"""Carving: pictures and videos recovered from unallocated and unpartitioned byte ranges."""
