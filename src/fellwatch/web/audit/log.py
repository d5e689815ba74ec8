"""Writing and verifying the hash-chained audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from fellwatch.web.audit.models import GENESIS, AuditCheckpoint, AuditEntry, AuditHead


def _client_ip(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))


def _unit_of(request: HttpRequest | None, username: str) -> str:
    """The acting officer's unit name ("" for nobody known: a failed log-in as a stranger)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        if not username:
            return ""
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(username=username).select_related(
            "officer__unit").first()
        if user is None:
            return ""
    try:
        return str(user.officer.unit.name)
    except ObjectDoesNotExist:  # a user without an officer record (a bare superuser)
        return ""


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
        # Name what was touched ("exhibit JE/1 custody: moved"), not only "custodyentry 31".
        label = getattr(obj, "audit_label", None)
        if callable(label) and not (detail or {}).get("what"):
            detail = {**(detail or {}), "what": label()}
    unit = _unit_of(request, username)
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
            unit=unit,
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


def verify(full: bool = True) -> Verdict:
    """Walk the chain; name the first entry that does not hold.

    `full`: from the first entry (`fellwatch audit verify`). Otherwise from the checkpoint,
    the last entry a walk found intact, so a page showing the verdict costs the entries added
    since, not the whole log. Either way the checkpoint moves to the end of an intact walk.
    """
    checkpoint = AuditCheckpoint.objects.filter(id=1).first()
    prev_hash, start = GENESIS, 0
    if not full and checkpoint is not None:
        prev_hash, start = checkpoint.hash, checkpoint.seq
    expected_seq = start + 1
    count = start
    # The head first: entries appended while we walk are the next walk's, not "missing".
    head = AuditHead.objects.filter(id=1).first()
    last = head.last_seq if head is not None else None
    entries = AuditEntry.objects.filter(seq__gt=start)
    if last is not None:
        entries = entries.filter(seq__lte=last)
    for entry in entries.order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected_seq:
            return Verdict(count, expected_seq, f"entry #{expected_seq} is missing")
        if entry.prev_hash != prev_hash:
            return Verdict(count, entry.seq, "does not hold the previous entry's hash")
        if entry.compute_hash() != entry.hash:
            return Verdict(count, entry.seq, "its content does not match its hash")
        prev_hash = entry.hash
        expected_seq += 1
        count += 1
    if last is not None and last != count:
        return Verdict(count, count + 1, f"entries after #{count} are missing")
    AuditCheckpoint.objects.update_or_create(
        id=1, defaults={"seq": count, "hash": prev_hash, "verified_at": timezone.now()})
    return Verdict(count)
