"""Per-row fidelity checks: did a rewrite move its one factor, and nothing else?

A study of what one factor of the training data does to safety is only as good as the
rewrite that sets the factor. Rules that rewrite text fail on rows their author never read,
so every rewriting transform's output is checked row by row, in the same pass, by four
checks that know nothing about how the rewrite was done:

- `content`: the words of every role's text are the same, except the words the transform
  declared it added or removed (`Outcome.added` / `Outcome.removed`). Transforms that keep
  markup (identity, role-play) must also keep code fences, list markers, headings, table
  rows and URLs; structure transforms change exactly those, so only their words count.
- `target`: the product's own detector agrees that the changed turns reached the level the
  transform aims for (a list after `structure.markdown`, no identity after `identity.strip`).
- `other_factors`: the two factors the transform does not move are detected as before.
- `well_formed`: code fences still balanced, the answer's own words never lower-cased (and
  upper-cased only at a sentence start), no leading clause ("As an AI assistant, ...") added
  in front of a word that is not first person, the language unchanged, and whatever the
  transform's own `fidelity_problem` hook reports.

A failing row is left unchanged with the failed check as its reason (`on_fidelity: skip`),
kept and counted (`keep`), or stops the run (`fail`). Detector calls are cached per text
(bounded), so a chain of steps classifies each intermediate answer once: one step's output
is the next step's input.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

from ..detectors.language import detect_language
from ..text import fence_lines

if TYPE_CHECKING:  # pragma: no cover  (base imports this module)
    from .base import Outcome, Transform

CHECKS = ("content", "target", "other_factors", "well_formed")
ACTIONS = ("skip", "keep", "fail")
FACTORS = ("structure", "identity", "roleplay")
ON_FIDELITY_PARAM = {
    "enum": list(ACTIONS),
    "default": "skip",
    "description": "a row whose rewrite fails a fidelity check: leave it unchanged (skip), keep it and count it (keep), or stop (fail)",
}

_WORD = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)
_LIST_MARKER = re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+\S", re.MULTILINE)
_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+\S", re.MULTILINE)
_TABLE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$", re.MULTILINE)
_URL = re.compile(r"(?:https?|ftp)://\S+|\bwww\.\S+")
_LEADING_CLAUSE = re.compile(r"(?:^|\n)[ \t]*((?:As|Being|Speaking as)\b[^,.!?\n]{1,100},)[ \t]+([^\s,.;:!?]+)")
_APPOSITIVE = re.compile(r"[ \t]+[^,.!?\n]{1,80},[ \t]+([^\s,.;:!?]+)")
_FIRST_PERSON_NEXT = frozenset({"i", "i'm", "i’m", "i've", "i’ve", "i'd", "i’d", "i'll", "i’ll", "my", "me", "let", "let's", "let’s", "we", "our"})
# Where a capital letter is expected: text start, after sentence punctuation, or at the
# start of a line after optional markup (list marker, heading, quote, emphasis).
_SENTENCE_START = re.compile(r"(?:[.!?:]['\"”’)\]]*\s+|\n[ \t]*(?:[-*+>#]+[ \t]*|\d{1,3}[.)][ \t]*)?[\"“(*_]*)$")
_MARKUP_ONLY = re.compile(r"[\s\"“(*_#>+\-]*(?:\d{1,3}[.)])?[\s\"“(*_]*")


# --- cached detector calls ----------------------------------------------------------------
# The detectors load spaCy and markdown-it: imported on first use, so that importing the
# package (which imports this module through the Transform base) stays cheap.
@lru_cache(maxsize=8192)
def structure_label(text: str) -> str:
    from ..detectors.structure import classify

    return classify(text)


@lru_cache(maxsize=8192)
def identity_present(text: str) -> bool:
    from ..detectors.identity import find_identity

    return bool(find_identity(text))


@lru_cache(maxsize=8192)
def language_of(text: str) -> str:
    return detect_language(text)


def roleplay_levels(record: dict) -> frozenset[str]:
    from ..detectors.roleplay import roleplay_where

    return frozenset(roleplay_where(record))


# --- counting helpers ------------------------------------------------------------------------
def words(text: str) -> Counter:
    """Case-insensitive word multiset (numbers included)."""
    return Counter(w.lower() for w in _WORD.findall(text))


def markup(text: str) -> Counter:
    """The markup a keeping transform must not touch: fences, list items, headings, table
    rows and URLs, counted by kind (URLs by value)."""
    out: Counter = Counter()
    out["fence"] = fence_lines(text)
    out["list_item"] = len(_LIST_MARKER.findall(text))
    out["heading"] = len(_HEADING.findall(text))
    out["table_row"] = len(_TABLE_ROW.findall(text))
    out.update("url:" + u for u in _URL.findall(text))
    return +out


def _role_texts(record: dict) -> dict[str, str]:
    by_role: dict[str, list[str]] = {}
    for m in record.get("messages") or []:
        by_role.setdefault(m.get("role") or "", []).append(m.get("content") or "")
    return {role: "\n".join(parts) for role, parts in by_role.items()}


def _assistant_texts(record: dict) -> list[str]:
    return [m.get("content") or "" for m in record.get("messages") or [] if m.get("role") == "assistant"]


def _within(extra: Counter, allowed: Counter) -> bool:
    return not (extra - allowed)


# --- the four checks -------------------------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    """The first check a row failed, and the problem found (a short name)."""

    check: str
    problem: str

    @property
    def reason(self) -> str:
        return f"fidelity: {self.check} ({self.problem})"


_SPACE = re.compile(r"\s+")


def _pure_edit(b: str, a: str, added: tuple[str, ...], removed: tuple[str, ...]) -> bool:
    """Whether `a` is `b` with exactly the declared texts inserted (or `b` is `a` with the
    removed ones deleted), up to whitespace: then words and markup are kept by construction,
    and the word counts need not be taken (the common case for inject, strip, add)."""
    if added and not removed:
        return _is_deletion(a, b, added)
    if removed and not added:
        return _is_deletion(b, a, removed)
    return False


def _is_deletion(longer: str, shorter: str, pieces: tuple[str, ...]) -> bool:
    """Whether deleting each piece once from `longer` leaves `shorter`, up to whitespace."""
    rest = longer
    for t in pieces:
        if t not in rest:
            return False
        rest = rest.replace(t, " ", 1)
    # Equal once stripped is equal once whitespace runs are collapsed too (`\s` and
    # `str.strip` agree on what whitespace is): the usual case, without two regex passes.
    if rest.strip() == shorter.strip():
        return True
    return _SPACE.sub(" ", rest).strip() == _SPACE.sub(" ", shorter).strip()


def check_content(before: dict, after: dict, added: Iterable[str], removed: Iterable[str], keeps_markup: bool) -> str | None:
    added, removed = tuple(added), tuple(removed)
    b_texts, a_texts = _role_texts(before), _role_texts(after)
    changed = [r for r in set(b_texts) | set(a_texts) if b_texts.get(r, "") != a_texts.get(r, "")]
    if len(changed) == 1 and _pure_edit(b_texts.get(changed[0], ""), a_texts.get(changed[0], ""), added, removed):
        return None
    added_words, removed_words = (sum(map(words, texts), Counter()) for texts in (added, removed))
    added_markup, removed_markup = (sum(map(markup, texts), Counter()) for texts in (added, removed))
    for role in sorted(changed):
        b, a = b_texts.get(role, ""), a_texts.get(role, "")
        wb, wa = words(b), words(a)
        if not _within(wa - wb, added_words):
            return f"{role} words added"
        if not _within(wb - wa, removed_words):
            return f"{role} words lost"
        if keeps_markup:
            mb, ma = markup(b), markup(a)
            if not _within(ma - mb, added_markup) or not _within(mb - ma, removed_markup):
                return f"{role} markup changed"
    return None


def _changed_turns(before: dict, after: dict) -> list[tuple[str, str]]:
    """(before, after) text of assistant turns whose text changed (aligned by order)."""
    b, a = _assistant_texts(before), _assistant_texts(after)
    return [(x, y) for x, y in zip(b, a) if x != y]


def check_target(factor: str, target: frozenset[str], before: dict, after: dict) -> str | None:
    if factor == "structure":
        for _, a in _changed_turns(before, after):
            label = structure_label(a)
            if label not in target:
                return f"answer is {label}"
        return None
    if factor == "identity":
        if "present" in target:
            if any(not identity_present(a) for _, a in _changed_turns(before, after)):
                return "no identity detected"
        elif any(identity_present(a) for a in _assistant_texts(after)):
            return "identity still detected"
        return None
    if factor == "roleplay":
        where = roleplay_levels(after)
        if "present" in target and not where:
            return "no persona detected"
        if "absent" in target and where:
            return "persona still detected (" + ", ".join(sorted(where)) + ")"
        return None
    raise ValueError(f"unknown factor {factor!r}")


def _prompts_changed(before: dict, after: dict) -> bool:
    def prompts(r: dict) -> list[tuple[str, str]]:
        return [(m.get("role"), m.get("content")) for m in r.get("messages") or [] if m.get("role") in ("system", "user")]

    return prompts(before) != prompts(after)


def check_other_factors(factor: str, before: dict, after: dict) -> str | None:
    turns = _changed_turns(before, after)
    if factor != "structure":
        for b, a in turns:
            if structure_label(b) != structure_label(a):
                return f"structure {structure_label(b)} -> {structure_label(a)}"
    if factor != "identity":
        for b, a in turns:
            if identity_present(b) != identity_present(a):
                return "identity " + ("lost" if identity_present(b) else "added")
    if factor != "roleplay" and _prompts_changed(before, after):
        if roleplay_levels(before) != roleplay_levels(after):
            return "role-play changed"
    return None


def _at_sentence_start(text: str, pos: int) -> bool:
    if _MARKUP_ONLY.fullmatch(text, 0, pos):
        return True
    return bool(_SENTENCE_START.search(text, max(0, pos - 16), pos))


def _recased(before: str, after: str, added: Iterable[str]) -> str | None:
    """A word of the answer lower-cased, or upper-cased away from a sentence start."""
    exact_before = Counter(_WORD.findall(before))
    exact_after = Counter(_WORD.findall(after))
    allowed = Counter(w for t in added for w in _WORD.findall(t))
    gained = exact_after - exact_before - allowed
    lost = {w.lower(): w for w in (exact_before - exact_after)}
    for word in gained:
        old = lost.get(word.lower())
        if old is None or old == word:
            continue
        if word[:1].islower() and old[:1].isupper():
            return f"lower-cased '{old}'"
        starts = [m.start() for m in re.finditer(r"(?<!\w)" + re.escape(word) + r"(?!\w)", after)]
        if not any(_at_sentence_start(after, p) for p in starts):
            return f"upper-cased '{old}' mid-sentence"
    return None


def _dangling_clause(before: str, after: str) -> str | None:
    if "As" not in after and "Being" not in after and "Speaking as" not in after:  # what every `_LEADING_CLAUSE` opens with
        return None
    for m in _LEADING_CLAUSE.finditer(after):
        if m.group(1) + " " + m.group(2) in before:  # the text's own clause, moved by an edit
            continue
        if m.group(2).lower().strip("\"'“”*_") in _FIRST_PERSON_NEXT:
            continue
        # an appositive inside the clause: "As Aria, your AI assistant, I ..."
        rest = _APPOSITIVE.match(after, m.end(1))
        if rest and rest.group(1).lower() in _FIRST_PERSON_NEXT:
            continue
        return f"leading clause before '{m.group(2)}'"
    return None


def check_well_formed(before: dict, after: dict, added: Iterable[str], keeps_case: bool) -> str | None:
    added = tuple(added)
    b_msgs = before.get("messages") or []
    a_msgs = after.get("messages") or []
    pairs: list[tuple[str, str]] = []
    for role in ("system", "user", "assistant"):
        bs = [m.get("content") or "" for m in b_msgs if m.get("role") == role]
        as_ = [m.get("content") or "" for m in a_msgs if m.get("role") == role]
        pairs.extend((b, a) for b, a in zip(bs, as_) if b != a)
        if len(as_) > len(bs):  # a new message (a system prompt added): judge it on its own
            pairs.extend(("", a) for a in as_[len(bs):])
    for b, a in pairs:
        if fence_lines(b) % 2 == 0 and fence_lines(a) % 2:
            return "unbalanced code fence"
        if keeps_case and not _pure_edit(b, a, added, ()):  # a pure insertion re-cases nothing
            problem = _recased(b, a, added)
            if problem:
                return problem
        problem = _dangling_clause(b, a)
        if problem:
            return problem
        if b:
            lb, la = language_of(b), language_of(a)
            if lb != "unknown" and la != "unknown" and lb != la:
                return f"language {lb} -> {la}"
    return None


def first_failure(transform: "Transform", before: dict, after: dict, outcome: "Outcome") -> Failure | None:
    """Run the four checks in order (cheapest first where it does not change the verdict)."""
    factor = transform.factor
    checks = (
        ("content", lambda: check_content(before, after, outcome.added, outcome.removed, transform.keeps_markup)),
        ("target", lambda: check_target(factor, transform.target, before, after)),
        ("other_factors", lambda: check_other_factors(factor, before, after)),
        ("well_formed", lambda: check_well_formed(before, after, outcome.added, transform.keeps_markup)
         or transform.fidelity_problem(before, after)),
    )
    return next((Failure(check, problem) for check, run in checks if (problem := run())), None)


__all__ = [
    "ACTIONS", "CHECKS", "FACTORS", "Failure", "ON_FIDELITY_PARAM", "check_content", "check_other_factors",
    "check_target", "check_well_formed", "first_failure", "identity_present", "markup", "structure_label", "words",
]
