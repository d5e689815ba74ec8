"""Indicator rules: text-speak, variants and case; look-alikes excluded; the rule file is
configuration (a test-only word list stands in for the unit's sexual-content list)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fellwatch.chats.rules import RulesError, load_rules
from fellwatch.chats.scoring import score_messages

RULES = load_rules()


def _rules(text: str) -> list[str]:
    return [h.rule for h in RULES.match(text)]


@pytest.mark.parametrize(("text", "rule"), [
    ("asl?", "age-asked"), ("ASL", "age-asked"), ("how old r u", "age-asked"),
    ("What year are you in at school", "age-asked"), ("wat year r u in", "age-asked"),
    ("i'm 12", "age-stated"), ("im 12", "age-stated"), ("I AM 14 YEARS OLD", "age-stated"),
    ("13yo", "age-stated"), ("im in year 8", "school-year-stated"),
    ("this stays between us", "secrecy"), ("wipe our messages", "secrecy"),
    ("delete our msgs", "secrecy"), ("its our lil secret", "secrecy"),
    ("s3cr3t... 0ur little s3cr3t", "secrecy"), ("DONT TELL UR MUM", "secrecy"),
    ("add me on snap", "platform-move"), ("whats ur snapchat", "platform-move"),
    ("send me a pic", "image-request"), ("pleeease send pics", "image-request"),
    ("i'll buy you a phone", "gifts"), ("i can get u robux", "gifts"),
    ("let's meet at the park", "meeting"), ("lets meeeet", "meeting"),
    ("you're so mature for your age", "flattery-isolation"),
    ("they dont get u", "flattery-isolation"),
])
def test_indicator_phrases_and_their_variants(text: str, rule: str) -> None:
    assert rule in _rules(text)


@pytest.mark.parametrize("text", [
    "i'm 12 minutes away", "I am 5 mins late", "Your code is 493021. Don't share it with anyone",
    "Never tell anyone your PIN", "don't tell dad, it's a surprise party",
    "send me a pic of the timetable", "training: let's meet at the park at 10am",
    "meet at the club at 9 for the match", "my son is 12 and wants to join", "u12s kick off at 11",
    "see you at the gate", "i'm in line at the shop",
])
def test_look_alikes_are_not_indicators(text: str) -> None:
    assert _rules(text) == []


def test_a_hit_names_the_rule_and_an_excerpt_and_the_age() -> None:
    (hit,) = RULES.match("ok so basically im 13 and   bored")
    assert (hit.rule, hit.kind, hit.age, hit.minor) == ("age-stated", "age", 13, True)
    assert hit.excerpt == "ok so basically im 13 and bored"
    (adult,) = RULES.match("i am 34 years old")
    assert (adult.age, adult.minor) == (34, False)
    long = RULES.match("asl? " + "x" * 500)[0]
    assert len(long.excerpt) == 120


def test_the_child_side_weighs_less_and_minor_contact_counts() -> None:
    adult, child = "adult", "child"
    asked = [("1", adult, (child,), "asl?"), ("2", child, (adult,), "im 12"),
             ("3", adult, (child,), "this stays between us")]
    value, indicators = score_messages(asked, RULES)
    # age 2.0 (kinds count once) + 0.25 repeat + secrecy 3.0 + minor contact 3.0
    assert value == 8.25
    assert indicators[-1]["rule"] == "minor-contact"
    assert indicators[-1]["participants"] == [child]
    reversed_ = [("1", child, (adult,), "im 12"), ("2", child, (adult,), "this stays between us")]
    value, _ = score_messages(reversed_, RULES)
    assert value == 1.0 + 1.5 + 3.0  # the child's own secrecy message weighs half


def test_a_unit_rule_file_with_its_own_word_list(tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("pineapple\nblue tangerine\n", encoding="utf-8")  # test-only tokens
    (tmp_path / "rules.toml").write_text(
        'threshold = 2.0\n[[rule]]\nid = "sexual-content"\nkind = "sexual"\nweight = 3.0\n'
        'words = ["kumquat"]\nwords_file = "words.txt"\n', encoding="utf-8")
    rules = load_rules(tmp_path / "rules.toml")
    assert rules.threshold == 2.0
    for text in ("PINEAPPLE", "a blue tangerine?", "kumquat"):
        assert [h.rule for h in rules.match(text)] == ["sexual-content"]
    assert rules.match("apple") == []
    assert rules.digest != load_rules().digest


def test_the_built_in_list_ships_no_words() -> None:
    assert "sexual-content" not in [r.id for r in RULES.rules]  # configured off until a unit
    # adds its own list


@pytest.mark.parametrize(("body", "message"), [
    ('[[rule]]\nid = "x"\nkind = "k"\nweight = 1\npatterns = ["("]\n', "bad pattern"),
    ('[[rule]]\nid = "x"\n', "needs id, kind and weight"),
    ("not = [toml", "not valid TOML"),
    ('[[rule]]\nid="a"\nkind="k"\nweight=1\npatterns=["a"]\n'
     '[[rule]]\nid="a"\nkind="k"\nweight=1\npatterns=["b"]\n', "duplicate id"),
])
def test_bad_rule_files_are_named(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(RulesError, match=message):
        load_rules(path)
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "missing.toml")
