"""Precision and recall of the built-in rules on the labelled synthetic set.

The bars are the levels measured when the rules were written (no lower): a change to the rules
that loses either fails here. Benign look-alikes must not rank high: every one of them ranks
below every flagged risk-pattern conversation.
"""

from __future__ import annotations

import sys

from fellwatch.chats.rules import load_rules
from fellwatch.chats.scoring import score_messages
from tests.chats import labelled

MEASURED_PRECISION = 1.0
MEASURED_RECALL = 0.8


def test_the_committed_set_is_the_scripts() -> None:
    assert labelled.load() == labelled.build()


def test_precision_and_recall() -> None:
    rules = load_rules()
    scored = []
    for conversation in labelled.load():
        lines: list[dict[str, str]] = conversation["messages"]  # type: ignore[assignment]
        messages = [(str(i), m["from"], (), m["text"]) for i, m in enumerate(lines)]
        value, _ = score_messages(messages, rules)
        scored.append((value, conversation["label"] == "risk", conversation["id"]))
    tp = sum(1 for v, risk, _ in scored if risk and v >= rules.threshold)
    fp = sum(1 for v, risk, _ in scored if not risk and v >= rules.threshold)
    fn = sum(1 for v, risk, _ in scored if risk and v < rules.threshold)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    sys.stderr.write(f"labelled set: {len(scored)} conversations, precision {precision:.3f}, "
          f"recall {recall:.3f} (tp {tp}, fp {fp}, fn {fn})\n")
    assert precision >= MEASURED_PRECISION
    assert recall >= MEASURED_RECALL
    highest_benign = max(v for v, risk, _ in scored if not risk)
    lowest_flagged = min(v for v, risk, _ in scored if risk and v >= rules.threshold)
    assert highest_benign < lowest_flagged
