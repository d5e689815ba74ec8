"""Conversation scores from their indicators: explainable sums, configured in the rule file.

Each kind of indicator counts once at its highest weight, repeats add a little (capped), an
indicator in a child's own message weighs less (the adult's side sending them is what the
rules look for), and a conversation with an account that stated an age under 18 gains the
`minor_contact` indicator. Everything that adds to a score is listed as an indicator.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fellwatch.chats.rules import Hit, Rules


@dataclass(frozen=True, slots=True)
class Indicator:
    hit: Hit
    message_id: str
    time: str | None
    sender: str

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.hit.rule, "kind": self.hit.kind, "message_id": self.message_id,
            "time": self.time, "sender": self.sender, "excerpt": self.hit.excerpt,
        }
        if self.hit.age is not None:
            out["age"] = self.hit.age
        return out


@dataclass
class Tally:
    """What one conversation accumulates while its messages stream past."""

    evidence: int
    source_key: str
    app: str
    conversation: str
    account: str = ""
    messages: int = 0
    first: str | None = None
    last: str | None = None
    participants: set[str] = field(default_factory=set)
    indicators: list[Indicator] = field(default_factory=list)

    def add(self, time: str | None, sender: str, recipients: Iterable[str],
            account: str) -> None:
        self.messages += 1
        if time is not None:
            self.first = time if self.first is None else min(self.first, time)
            self.last = time if self.last is None else max(self.last, time)
        self.participants.add(sender)
        self.participants.update(recipients)
        if account and not self.account:
            self.account = account


def score(tally: Tally, minors: set[str], rules: Rules) -> tuple[float, list[dict[str, Any]]]:
    """The conversation's score and its indicators (as findings JSON), in message order."""
    conf = rules.scoring
    children = tally.participants & minors
    by_kind: dict[str, list[float]] = {}
    for indicator in tally.indicators:
        weight = indicator.hit.weight
        if indicator.sender in children and indicator.hit.kind != "age":
            weight *= conf["child_side"]
        by_kind.setdefault(indicator.hit.kind, []).append(weight)
    total = 0.0
    for weights in by_kind.values():
        total += max(weights) + min(conf["repeat"] * (len(weights) - 1), conf["repeat_cap"])
    listed = [i.to_json() for i in tally.indicators]
    if children:
        total += conf["minor_contact"]
        listed.append({
            "rule": "minor-contact", "kind": "age", "message_id": None, "time": None,
            "sender": None, "excerpt": "", "participants": sorted(children),
        })
    return round(total, 2), listed


def score_messages(
    messages: Iterable[tuple[str, str, tuple[str, ...], str]], rules: Rules,
) -> tuple[float, list[dict[str, Any]]]:
    """Score one conversation given as (message id, sender, recipients, text) tuples: the
    same scoring as a scan, with the minors stated inside this conversation only (for the
    labelled-set measurement and tests)."""
    tally = Tally(0, "", "", "")
    minors: set[str] = set()
    for message_id, sender, recipients, text in messages:
        tally.add(None, sender, recipients, "")
        for hit in rules.match(text):
            tally.indicators.append(Indicator(hit, message_id, None, sender))
            if hit.minor:
                minors.add(sender)
    return score(tally, minors, rules)
