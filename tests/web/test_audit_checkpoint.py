"""The audit page verifies from a checkpoint (the entries added since); `fellwatch audit
verify` walks the whole chain, and finds what the checkpoint cannot."""

from __future__ import annotations

from typing import Any

from tests.web.test_models import tamper


def test_the_page_checks_from_the_checkpoint_the_command_checks_all(
        world: dict[str, Any], client: Any) -> None:
    from django.db.models import Max

    from fellwatch.web.audit.log import record, verify
    from fellwatch.web.audit.models import AuditCheckpoint, AuditEntry

    full = verify(full=True)
    assert full.ok
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.seq == full.entries
    for n in range(5):
        record("view", username="erin.examiner", object_type="case", object_id=str(n))
    incremental = verify(full=False)
    assert incremental.ok and incremental.entries == full.entries + 5
    assert AuditCheckpoint.objects.get().seq == incremental.entries
    # One entry changed after the checkpoint, one before it: the incremental check finds the
    # first, only the full walk finds the second.
    last = AuditEntry.objects.aggregate(m=Max("seq"))["m"]
    record("view", username="erin.examiner", object_type="case", object_id="x")
    tamper("UPDATE audit_auditentry SET username = %s WHERE seq IN (%s, %s)",
           ["mallory", 2, last + 1])
    assert verify(full=False).broken_seq == last + 1
    assert verify(full=True).broken_seq == 2


def test_the_audit_page_shows_the_incremental_verdict(world: dict[str, Any], client: Any) -> None:
    client.force_login(world["auditor"])
    page = client.get("/audit/").content.decode()
    assert "Chain intact" in page and "fellwatch audit verify" in page
