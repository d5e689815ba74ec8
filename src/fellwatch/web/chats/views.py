"""The chat pages of a case: an exhibit's conversations (flagged first), one conversation as a
thread with its indicators highlighted, a contact across the case's exhibits, and the way from a
contact to a safeguarding record.

An attachment is shown as the review gallery shows its finding: the gallery's blurred
thumbnail, the gallery's audited reveal of that one item, a link to the finding. This app
makes no picture of its own (one way to blur on the server, one reveal audit).

Every page is a case page: `case_view` decides who may see it (a refusal is logged and
answered 404), and every view of a conversation or contact is in the audit log.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from fellwatch.chats.base import OWNER
from fellwatch.web.audit.log import record
from fellwatch.web.chats.reading import (
    account,
    age_band,
    attachment_findings,
    chats_of,
    pseudonym,
    stated_age,
    thread,
)
from fellwatch.web.records.access import can_write, case_view, child_of, role_of
from fellwatch.web.records.models import Case, Exhibit, IdentifiedHow


def _ctx(request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
    return {"can_write": can_write(request.user), "role": role_of(request.user), **kwargs}


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


@case_view()
@require_GET
def conversations(request: HttpRequest, case: Case, exhibit_id: int,
                  scan_id: int) -> HttpResponse:
    exhibit: Exhibit = child_of(request, case.exhibits.all(), "exhibit", exhibit_id)
    scan = child_of(request, exhibit.scans.all(), "scan", scan_id)
    record("view", request=request, obj=scan, detail={"case": case.pk, "page": "conversations"})
    with chats_of(scan) as store:
        listed = store.conversations(with_rank=True) if store is not None else []
    # Flagged first, then the rest, each in rank order (highest score first).
    listed.sort(key=lambda c: (not c["flagged"], c["rank"]))
    return render(request, "chats/conversations.html", _ctx(
        request, case=case, exhibit=exhibit, scan=scan, conversations=listed,
        has_chats=store is not None))


def _safeguarding_url(case: Case, exhibit: Exhibit, scan: Any, conversation: dict[str, Any],
                      contact: str) -> str:
    rules = sorted({i["rule"] for i in conversation["indicators"]})
    source = (f"Lead from {conversation['app']} conversation {conversation['conversation']} "
              f"(exhibit {exhibit.reference}, scan {scan.pk}, database "
              f"{conversation['source']['path']}); contact {pseudonym(contact)}; score "
              f"{conversation['score']}; indicators: {', '.join(rules) or 'none'}")
    query = urlencode({
        "reference": pseudonym(contact),
        "identified_how": IdentifiedHow.ONLINE_CONTACT,
        "age_band": age_band(stated_age(conversation, contact)),
        "outcome": source,
    })
    return reverse("safeguarding-new", kwargs={"case_id": case.pk}) + "?" + query


@case_view()
@require_GET
def conversation(request: HttpRequest, case: Case, exhibit_id: int,
                 scan_id: int) -> HttpResponse:
    exhibit: Exhibit = child_of(request, case.exhibits.all(), "exhibit", exhibit_id)
    scan = child_of(request, exhibit.scans.all(), "scan", scan_id)
    rank = _int(request.GET.get("rank"))
    with chats_of(scan) as store:
        found = store.conversation(rank) if store is not None else None
        messages = thread(store, found) if store is not None and found is not None else []
    shown = attachment_findings(scan, found["evidence_index"], messages) if found else []
    record("view", request=request, obj=scan, detail={
        "case": case.pk, "page": "conversation", "rank": rank,
        "conversation": found["conversation"] if found else None,
        "app": found["app"] if found else None,
        # The findings whose blurred thumbnails the thread shows (a reveal is audited apart).
        "attachments": shown})
    contacts = []
    if found is not None:
        for contact in found["participants"]:
            if contact == OWNER:
                continue
            contacts.append({
                "id": contact, "pseudonym": pseudonym(contact),
                "age": stated_age(found, contact),
                "safeguarding": _safeguarding_url(case, exhibit, scan, found, contact),
                "across": reverse("chat-contacts", kwargs={"case_id": case.pk}) + "?" +
                urlencode({"id": contact}),
            })
    return render(request, "chats/conversation.html", _ctx(
        request, case=case, exhibit=exhibit, scan=scan, conversation=found,
        messages=messages, contacts=contacts, rank=rank))


@case_view()
@require_GET
def contacts(request: HttpRequest, case: Case) -> HttpResponse:
    """One contact (?id=) across every exhibit of the case, or every contact seen."""
    wanted = request.GET.get("id") or None
    record("view", request=request, obj=case, detail={"page": "contacts", "contact": wanted})
    seen: dict[str, dict[str, Any]] = {}
    rows = []
    for exhibit in case.exhibits.all():
        for scan in exhibit.scans.all():
            with chats_of(scan) as store:
                if store is None:
                    continue
                for c in store.conversations(with_rank=True):
                    accounts = {account(p) for p in c["participants"]}
                    for contact in accounts:
                        entry = seen.setdefault(contact, {
                            "id": contact, "pseudonym": pseudonym(contact), "exhibits": set(),
                            "conversations": 0, "flagged": 0})
                        entry["exhibits"].add(exhibit.reference)
                        entry["conversations"] += 1
                        entry["flagged"] += bool(c["flagged"])
                    if wanted is not None and wanted in accounts:
                        rows.append({
                            "exhibit": exhibit, "scan": scan, "conversation": c,
                            "url": reverse("chat-conversation", kwargs={
                                "case_id": case.pk, "exhibit_id": exhibit.pk,
                                "scan_id": scan.pk}) + f"?rank={c['rank']}",
                            "safeguarding": _safeguarding_url(case, exhibit, scan, c, wanted),
                        })
    index = sorted(seen.values(), key=lambda e: (-len(e["exhibits"]), -e["flagged"], e["id"]))
    for entry in index:
        entry["exhibits"] = sorted(entry["exhibits"])
        entry["url"] = reverse("chat-contacts", kwargs={"case_id": case.pk}) + "?" + urlencode(
            {"id": entry["id"]})
    return render(request, "chats/contacts.html", _ctx(
        request, case=case, wanted=wanted, rows=rows, index=index,
        exhibits=sorted({r["exhibit"].reference for r in rows})))
