"""The store: one schema for scans and their item records; SQLite by default."""
