"""Role-play detector: persona framing in system prompts and user turns.

Framing is a sentence that assigns the model a character: "You are a pirate captain ...",
"Pretend you are ...", "Act as ...", "Role-play as ...", "From now on, you are ...",
"Imagine you are a ...", "You are no longer ChatGPT", "Your new name is ...", "Stay in
character". A trigger counts only at the start of a sentence or line, and the reported
span runs from the trigger to the end of that sentence (or to the ":" that introduces the
task, "Act as X and answer the following:"). When the framing is the opening clause of a
question ("Imagine you are a tourist in Rome, what would you see?") the span ends at the
comma, so that the question can be kept.

Not persona framing, by decision:
- task descriptions: "You are given a list of numbers ...", "You are provided with ...",
  "Imagine you are starting a podcast" (the word after "you are" must be an article or a
  name, so participles and gerunds never match);
- generic assistant prompts: "You are a helpful, honest assistant." (the character is the
  default one; nothing is being role-played);
- functional roles: "Act as a JSON formatter", "You are a translator", "Act as a Linux
  terminal": they assign a function, not a character, and stripping them would remove the
  task itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from spacy.matcher import Matcher
from spacy.tokens import Doc

from ..nlp import blank_en


@dataclass(frozen=True)
class PersonaMatch:
    """One persona framing: character offsets into the searched text."""

    pattern: str
    start: int
    end: int
    text: str


_BE = {"LOWER": {"IN": ["are", "'re", "’re"]}}
_YOU = {"LOWER": "you"}
# What may follow "you are" / "act as" / "imagine you are" for it to assign a character.
_TARGET = {"LOWER": {"IN": ["a", "an", "the", "now", "my", "your"]}}
_NAME = {"TEXT": {"REGEX": r"^[A-Z][\w\-]*$", "NOT_IN": ["I"]}}
_LEAD = {"LOWER": {"IN": ["please", "now", "so"]}, "OP": "?"}
_COMMA = {"ORTH": ",", "OP": "?"}

_PATTERNS: dict[str, list[list[dict]]] = {
    "you_are": [[_LEAD, _YOU, _BE, t] for t in (_TARGET, _NAME)],
    "you_are_no_longer": [[_LEAD, _YOU, _BE, {"LOWER": "no"}, {"LOWER": "longer"}]],
    "your_new_name": [[{"LOWER": "your"}, {"LOWER": "new", "OP": "?"}, {"LOWER": "name"}, {"LOWER": {"IN": ["is", "will"]}}]],
    "pretend": [
        [_LEAD, {"LOWER": "pretend"}, {"LOWER": "that", "OP": "?"}, _YOU, {"LOWER": {"IN": ["are", "'re", "’re", "were"]}}],
        [_LEAD, {"LOWER": "pretend"}, {"LOWER": "to"}, {"LOWER": "be"}],
    ],
    "act_as": [[_LEAD, {"LOWER": "act"}, {"LOWER": {"IN": ["as", "like"]}}, t] for t in (_TARGET, _NAME)]
    + [[_LEAD, {"LOWER": "act"}, {"LOWER": "as"}, {"LOWER": "if"}]],
    "roleplay_as": [
        [_LEAD, {"LOWER": "role"}, {"ORTH": "-", "OP": "?"}, {"LOWER": "play"}, {"LOWER": "as"}],
        [_LEAD, {"LOWER": {"IN": ["roleplay", "role-play"]}}, {"LOWER": "as"}],
        [_LEAD, {"LOWER": "play"}, {"LOWER": {"IN": ["the", "a"]}}, {"LOWER": {"IN": ["role", "part", "character"]}}, {"LOWER": "of"}],
    ],
    "take_on_role": [
        [_LEAD, {"LOWER": {"IN": ["take", "assume", "adopt"]}}, {"LOWER": "on", "OP": "?"}, {"LOWER": {"IN": ["the", "a"]}},
         {"LOWER": {"IN": ["role", "persona", "character", "identity"]}}, {"LOWER": "of"}],
    ],
    "imagine_you_are": [
        [_LEAD, {"LOWER": "imagine"}, {"LOWER": "that", "OP": "?"}, _YOU, _BE, t] for t in (_TARGET, _NAME)
    ],
    "from_now_on": [
        [{"LOWER": "from"}, {"LOWER": "now"}, {"LOWER": "on"}, _COMMA, _YOU,
         {"LOWER": {"IN": ["are", "'re", "’re", "will", "'ll", "’ll", "shall"]}}],
    ],
    "you_will_act": [[_YOU, {"LOWER": {"IN": ["will", "'ll", "’ll", "shall"]}}, {"LOWER": {"IN": ["act", "play", "be"]}},
                      {"LOWER": {"IN": ["as", "the"]}}]],
    "stay_in_character": [[_LEAD, {"LOWER": {"IN": ["stay", "remain"]}}, {"LOWER": "in"}, {"LOWER": "character"}]],
}

# "You are a helpful, honest assistant." is the default character, not a role.
_GENERIC_WORDS = {
    "helpful", "harmless", "honest", "respectful", "friendly", "polite", "knowledgeable", "smart", "useful", "kind",
    "intelligent", "reliable", "capable", "concise", "careful", "accurate", "and", ",", "-", "ai", "artificial",
    "intelligence", "large", "language", "virtual", "digital", "general", "purpose", "very", "always", "a", "an", "the",
}
_GENERIC_HEADS = {"assistant", "model", "chatbot", "ai", "bot", "llm"}
# "Act as a JSON formatter": a function, not a character.
_FUNCTIONAL = {
    "formatter", "translator", "calculator", "converter", "parser", "terminal", "console", "interpreter", "compiler",
    "classifier", "summarizer", "summariser", "validator", "linter", "api", "function", "json", "regex", "dictionary",
    "thesaurus", "encoder", "decoder", "generator", "tokenizer", "spreadsheet", "shell", "sql", "database", "endpoint",
}
_TARGETED = {"you_are", "act_as", "imagine_you_are"}

_PREFILTER = re.compile(
    r"\b(you\s*(are|['’]re|will|['’]ll|shall)|pretend|act|role|roleplay|play|take|assume|adopt|imagine|"
    r"from now on|your (new )?name|stay|remain)\b",
    re.IGNORECASE,
)
# The end of the framing: sentence punctuation, a colon introducing the task, or a newline.
_FRAME_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)|:(?=\s|$)|\n")


@lru_cache(maxsize=1)
def _matcher() -> Matcher:
    matcher = Matcher(blank_en().vocab)
    for name, pats in _PATTERNS.items():
        matcher.add(name, pats, greedy="LONGEST")
    return matcher


def _at_sentence_start(doc: Doc, i: int) -> bool:
    """Token i opens the text, a line or a sentence."""
    if i == 0:
        return True
    prev = doc[i - 1]
    return prev.is_space or "\n" in prev.whitespace_ or prev.text in {".", "!", "?", ":", ";", '"', "“", "(", "*", "-", ">"}


_NP_STOP = {"who", "that", "which", "with", "from", "for", "in", "at", "of", "to", "named", "called", "whose", "on"}


def _role_phrase(doc: Doc, end: int, limit: int = 10) -> tuple[list[str], bool]:
    """Lower-cased words of the role after the trigger, and whether the sentence ends there."""
    words: list[str] = []
    for tok in doc[end - 1 : end - 1 + limit]:
        if tok.lower_ in _NP_STOP:
            return words, False
        if tok.is_space or tok.text in {".", "!", "?", ":", ";"}:
            return words, True
        words.append(tok.lower_)
    return words, len(doc) <= end - 1 + limit


def _assigns_character(doc: Doc, end: int) -> bool:
    """False for functional roles and for the generic "You are a helpful assistant." prompt."""
    words, sentence_ends = _role_phrase(doc, end)
    if any(w in _FUNCTIONAL for w in words):
        return False
    generic = bool(words) and words[-1] in _GENERIC_HEADS and all(w in _GENERIC_WORDS | _GENERIC_HEADS for w in words)
    return not (generic and sentence_ends)


def _frame_end(text: str, start: int, trigger_end: int) -> int:
    m = _FRAME_END.search(text, trigger_end)
    end = len(text) if m is None else (m.start() if m.group() == "\n" else m.end())
    if text[start:end].rstrip().endswith("?"):
        comma = text.find(",", trigger_end, end)
        if comma != -1:  # "Imagine you are X, what would you do?" -> the clause before the comma
            return comma + 1
    return end


def find_persona(text: str) -> list[PersonaMatch]:
    """Persona framings in `text`, one per framing sentence, ordered by position."""
    if not text or not _PREFILTER.search(text):
        return []
    doc = blank_en()(text)
    strings = doc.vocab.strings
    found: dict[int, PersonaMatch] = {}
    for match_id, start, end in sorted(_matcher()(doc), key=lambda m: (m[1], -m[2])):
        name = strings[match_id]
        if not _at_sentence_start(doc, start):
            continue
        if name in _TARGETED and not _assigns_character(doc, end):
            continue
        a = doc[start].idx
        if any(m.start <= a < m.end for m in found.values()):
            continue
        b = _frame_end(text, a, doc[end - 1].idx + len(doc[end - 1].text))
        found[a] = PersonaMatch(name, a, b, text[a:b])
    return [found[k] for k in sorted(found)]


def roleplay_where(record: dict) -> set[str]:
    """Where a conversation carries persona framing: a subset of {"system", "user"}."""
    out: set[str] = set()
    for m in record.get("messages") or []:
        role = m.get("role")
        if role in ("system", "user") and role not in out and find_persona(m.get("content") or ""):
            out.add(role)
    return out
