"""Writing and verifying the hash-chained audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from fellwatch.web.audit.models import GENESIS, AuditEntry, AuditHead


def _client_ip(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))


def record(
    action: str,
    *,
    request: HttpRequest | None = None,
    username: str | None = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry, chained onto the last, inside the caller's transaction if there is one
    (the entry then goes or stays with what it records; no savepoint, so no gap either)."""
    if username is None:
        user = getattr(request, "user", None)
        username = user.get_username() if user is not None and user.is_authenticated else ""
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or str(obj.pk)
    with transaction.atomic(savepoint=False):
        head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
        entry = AuditEntry(
            seq=head.last_seq + 1,
            at=timezone.now(),
            username=username,
            action=action,
            object_type=object_type,
            object_id=object_id,
            path=request.get_full_path()[:500] if request is not None else "",
            ip=_client_ip(request),
            detail=json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), default=str),
            prev_hash=head.last_hash,
        )
        entry.hash = entry.compute_hash()
        entry.save(force_insert=True)
        AuditHead.objects.filter(id=1).update(last_seq=entry.seq, last_hash=entry.hash)
    return entry


@dataclass(frozen=True)
class Verdict:
    entries: int
    broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify() -> Verdict:
    """Walk the chain from the start; name the first entry that does not hold."""
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected_seq:
            return Verdict(count, expected_seq, f"entry #{expected_seq} is missing")
        if entry.prev_hash != prev_hash:
            return Verdict(count, entry.seq, "does not hold the previous entry's hash")
        if entry.compute_hash() != entry.hash:
            return Verdict(count, entry.seq, "its content does not match its hash")
        prev_hash = entry.hash
        expected_seq += 1
        count += 1
    head = AuditHead.objects.filter(id=1).first()
    if head is not None and head.last_seq != count:
        return Verdict(count, count + 1, f"entries after #{count} are missing")
    return Verdict(count)
