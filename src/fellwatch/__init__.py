"""Fellwatch: triage of seized-device evidence for known material, by hash, never by looking."""

__version__ = "0.3.0"
TOOL_NAME = "fellwatch"
