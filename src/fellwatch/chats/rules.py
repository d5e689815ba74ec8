"""Risk-indicator rules read from a rule file (TOML), matched on normalised message text.

The rules are configuration (`rules.toml` beside this module, or a unit's own file named by the
`chat_rules` scan setting); this module only normalises text and applies them. Every hit names
its rule, kind, the message and an excerpt, so a flag can be read and checked by a person.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fellwatch.errors import SettingError

_TOKEN = re.compile(r"[\w'$@/-]+|[^\w\s]", re.UNICODE)
_SQUEEZE = re.compile(r"([a-z])\1+")
_REPEAT3 = re.compile(r"([a-z])\1{2,}")
_SPACES = re.compile(r"\s+")
_NUMBER_UNIT = re.compile(
    r"^(\d+)(am|pm|yo|y/o|yrs|yr|st|nd|rd|th|f|m|k|km|mi|min|mins|h|hr|hrs|s|p|kg|lbs?|cm|mm)$")
_EXCERPT = 120
_NAMED = re.compile(r"\(\?P<\w+>")


class RulesError(SettingError):
    """The rule file (the `chat_rules` setting) cannot be read or is not valid; one line says
    where. Refused before any item is read."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str
    weight: float
    description: str
    patterns: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...] = ()
    minor: bool = False  # every hit says the sender is a child (e.g. "i am in year 8")


@dataclass(frozen=True, slots=True)
class Hit:
    rule: str
    kind: str
    weight: float
    excerpt: str
    age: int | None = None  # the age stated, for age-stated rules
    minor: bool = False


@dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...]
    threshold: float
    minor_age_below: int
    scoring: dict[str, float]
    leet: dict[str, str]
    words: dict[str, str]
    digest: str
    source: str
    _leet_table: dict[int, str] = field(default_factory=dict, compare=False)
    # Every rule's patterns in one alternation: most messages hit no rule, and one search
    # that fails is ~10x cheaper than a search per pattern.
    _any: re.Pattern[str] | None = field(default=None, compare=False)

    def normalise(self, text: str) -> list[str]:
        """The forms a message is matched in: as written (normalised) and squeezed."""
        lowered = text.lower().replace("\u2019", "'").replace("\u2018", "'")
        words = self.words
        tokens = []
        for token in _TOKEN.findall(lowered):
            if token.isalpha() or not any(c.isdigit() or c in "@$" for c in token):
                tokens.append(words.get(token, token))
                continue
            unit = _NUMBER_UNIT.match(token)
            if unit and token not in words:
                # "12yo", "10am", "2nd": a number and its unit, not look-alike letters.
                tokens += [unit.group(1), words.get(unit.group(2), unit.group(2))]
                continue
            if any(c.isalpha() for c in token):
                expanded = words.get(token)
                token = expanded if expanded is not None else token.translate(self._leet_table)
            else:
                token = words.get(token, token)
            tokens.append(token)
        base = _SPACES.sub(" ", " ".join(tokens)).strip()
        # "sooooo" is "soo" as written; doubled letters squeezed is a second form.
        base = _REPEAT3.sub(r"\1\1", base)
        squeezed = _SQUEEZE.sub(r"\1", base)
        return [base] if squeezed == base else [base, squeezed]

    def match(self, text: str) -> list[Hit]:
        """Every rule that fits the message, once each, in rule-file order."""
        if not text:
            return []
        forms = self.normalise(text)
        if self._any is not None and not any(self._any.search(form) for form in forms):
            return []
        hits: list[Hit] = []
        for rule in self.rules:
            found: re.Match[str] | None = None
            for form in forms:
                for pattern in rule.patterns:
                    found = pattern.search(form)
                    if found:
                        break
                if found:
                    break
            if found is None:
                continue
            if any(x.search(form) for x in rule.exclude for form in forms):
                continue
            age = None
            groups = found.groupdict()
            if groups.get("age"):
                age = int(groups["age"])
            minor = rule.minor or (age is not None and age < self.minor_age_below)
            hits.append(Hit(rule.id, rule.kind, rule.weight, excerpt(text), age, minor))
        return hits


def excerpt(text: str) -> str:
    one_line = _SPACES.sub(" ", text).strip()
    return one_line if len(one_line) <= _EXCERPT else one_line[: _EXCERPT - 1] + "\u2026"


def _compile(patterns: list[str], where: str) -> tuple[re.Pattern[str], ...]:
    out = []
    for text in patterns:
        try:
            out.append(re.compile(text))
        except re.error as exc:
            raise RulesError(f"{where}: bad pattern {text!r}: {exc}") from None
    return tuple(out)


def _words_pattern(words: list[str], where: str) -> list[str]:
    cleaned = sorted({w.strip().lower() for w in words if w.strip()}, key=lambda w: (-len(w), w))
    if not cleaned:
        return []
    return [r"\b(" + "|".join(re.escape(w) for w in cleaned) + r")\b"]


def load_rules(path: str | Path | None = None) -> Rules:
    """The rules of `path`, or the built-in `rules.toml` when `path` is empty or None."""
    if path:
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise RulesError(f"chat rules {p}: cannot read ({exc.strerror})") from None
        source, base = str(p), p.parent
    else:
        data = resources.files("fellwatch.chats").joinpath("rules.toml").read_bytes()
        source, base = "built-in", None
    try:
        doc: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(f"chat rules {source}: not valid TOML ({exc})") from None
    digest = hashlib.sha256(data).hexdigest()
    rules = []
    seen: set[str] = set()
    for index, entry in enumerate(doc.get("rule", [])):
        where = f"chat rules {source}: rule {index + 1}"
        try:
            rule_id, kind, weight = str(entry["id"]), str(entry["kind"]), float(entry["weight"])
        except (KeyError, TypeError, ValueError):
            raise RulesError(f"{where}: needs id, kind and weight") from None
        if rule_id in seen:
            raise RulesError(f"{where}: duplicate id {rule_id!r}")
        seen.add(rule_id)
        texts = list(entry.get("patterns", []))
        words = list(entry.get("words", []))
        if entry.get("words_file"):
            wf = Path(entry["words_file"])
            if not wf.is_absolute() and base is not None:
                wf = base / wf
            try:
                words += wf.read_text(encoding="utf-8").splitlines()
                digest = hashlib.sha256(digest.encode() + wf.read_bytes()).hexdigest()
            except OSError as exc:
                raise RulesError(f"{where}: words_file {wf}: {exc.strerror}") from None
        texts += _words_pattern(words, where)
        if not texts:
            continue  # an empty word list: the rule is configured off
        rules.append(Rule(
            id=rule_id, kind=kind, weight=weight, description=str(entry.get("description", "")),
            patterns=_compile(texts, where), exclude=_compile(list(entry.get("exclude", [])),
                                                              where),
            minor=bool(entry.get("minor", False)),
        ))
    normalise = doc.get("normalise", {})
    leet = {str(k): str(v) for k, v in normalise.get("leet", {}).items()}
    scoring = {"repeat": 0.25, "repeat_cap": 1.0, "child_side": 0.5, "minor_contact": 3.0}
    scoring.update({k: float(v) for k, v in doc.get("scoring", {}).items()})
    combined = "|".join(f"(?:{_NAMED.sub('(?:', p.pattern)})" for r in rules for p in r.patterns)
    return Rules(
        _any=re.compile(combined) if combined else None,
        rules=tuple(rules),
        threshold=float(doc.get("threshold", 6.0)),
        minor_age_below=int(doc.get("minor_age_below", 18)),
        scoring=scoring,
        leet=leet,
        words={str(k).lower(): str(v) for k, v in normalise.get("words", {}).items()},
        digest=digest,
        source=source,
        _leet_table=str.maketrans(leet),
    )
