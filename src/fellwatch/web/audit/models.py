"""The audit log: append-only, each entry holds the hash of the one before it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import models

GENESIS = "0" * 64


class AppendOnlyError(RuntimeError):
    """An audit entry or custody entry was about to be changed or deleted."""


class AuditEntry(models.Model):
    seq = models.BigAutoField(primary_key=True)
    at = models.DateTimeField()
    username = models.CharField(max_length=150, blank=True)
    # login, login-failed, logout, view, create, change, denied
    action = models.CharField(max_length=32)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    path = models.CharField(max_length=500, blank=True)
    ip = models.CharField(max_length=64, blank=True)
    detail = models.TextField(blank=True)  # canonical JSON
    # The acting officer's unit: a unit's auditors read their own unit's entries only.
    unit = models.CharField(max_length=120, blank=True, db_index=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.seq} {self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action}"

    def payload(self) -> dict[str, Any]:
        """What the hash covers: every field but the hash itself."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "username": self.username,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "path": self.path,
            "ip": self.ip,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
            # Added later: in the hash only when set, so entries written before still verify.
            **({"unit": self.unit} if self.unit else {}),
        }

    @property
    def what(self) -> str:
        """What the entry touched, in the unit's words, with any change from what to what."""
        try:
            detail = json.loads(self.detail or "{}")
        except ValueError:
            detail = {}
        text = str(detail.get("what") or f"{self.object_type} {self.object_id}".strip())
        changes = detail.get("changes") or {}
        if changes:
            text += ": " + "; ".join(f"{name} {old!r} → {new!r}"
                                     for name, (old, new) in sorted(changes.items()))
        if detail.get("void_reason"):
            text += f" (void: {detail['void_reason']})"
        return text

    def compute_hash(self) -> str:
        blob = json.dumps(self.payload(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries are append-only")


class AuditHead(models.Model):
    """One row: the last entry's number and hash. Locking it serialises writers, so two
    concurrent requests on PostgreSQL cannot both chain onto the same entry."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS)


class AuditCheckpoint(models.Model):
    """One row: the last entry the chain was verified up to. A page that shows the verdict
    checks only the entries after it (incremental); `fellwatch audit verify` walks everything.
    An entry changed before the checkpoint is found by the full walk (and by nothing cheaper:
    on PostgreSQL a trigger refuses such a change in the first place)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS)
    verified_at = models.DateTimeField(null=True)
