"""Identity-calibration detector: where a text states what the assistant is.

Three kinds of statement move the identity factor:

- ``ai_self_reference``: "As an AI, ...", "I'm just an AI language model", "as a large
  language model", "Being an AI assistant, ...";
- ``named_identity``: "I am Aria, an AI assistant ...", "As Aria, your AI assistant, ...",
  "My name is Aria, an AI ...", "You may refer to me as Aria, an AI ...", "I am ChatGPT";
- ``developer_attribution``: "(assistant|model|AI ...) developed/created/trained/built by X",
  "I was trained by X", "my developer is X".

Token patterns (spaCy `Matcher` over the blank English tokenizer) rather than regular
expressions: tokens absorb spacing, curly apostrophes and contractions ("I'm", "I’m")
for free, and each pattern keeps a name so that callers can count which one fired. The
patterns require an AI head noun ("AI", "language model", "AI assistant", "chatbot",
"LLM"...) so that "As a teacher, ..." or "I am John, a nurse" are not identity statements.

`identity.strip`, `identity.inject` (to skip rows that already state an identity) and the
profile all use this module, so the factor is measured one way everywhere.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from spacy.matcher import Matcher

from ..nlp import blank_en

KINDS = ("ai_self_reference", "named_identity", "developer_attribution")


@dataclass(frozen=True)
class IdentityMatch:
    """One identity statement: character offsets into the text that was searched."""

    kind: str
    pattern: str
    start: int
    end: int
    text: str


# --- vocabulary -------------------------------------------------------------------------
# Adjectives that may sit between the article and the AI head noun ("a large language model",
# "a text-based AI assistant"); "-" lets hyphenated modifiers through the tokenizer's split.
_MODIFIERS = [
    "large", "helpful", "advanced", "conversational", "text", "based", "-", "digital", "virtual",
    "friendly", "sophisticated", "powerful", "neural", "generative", "pretrained", "pre", "trained",
    "honest", "harmless", "general", "purpose", "open", "source", "intelligent", "simple", "mere",
    "automated", "computer", "machine", "learning", "natural", "multimodal", "chat", "personal",
]
_ARTICLE = {"LOWER": {"IN": ["a", "an"]}}
_MODS = {"LOWER": {"IN": _MODIFIERS}, "OP": "*"}
_AI_TAILS = ["assistant", "model", "chatbot", "system", "program", "bot", "agent", "helper"]
# Head nouns after the optional modifiers. Each entry is one token sequence; "model" and
# "assistant" alone are too common in ordinary prose, so they need "AI", "language" or
# "virtual"/"digital" in front.
_HEADS: list[list[dict]] = [
    [{"LOWER": "ai"}],
    [{"LOWER": "ai"}, {"LOWER": {"IN": _AI_TAILS}}],
    [{"LOWER": "ai"}, {"LOWER": "language"}, {"LOWER": "model"}],
    [{"LOWER": "language"}, {"LOWER": "model"}],
    [{"LOWER": {"IN": ["virtual", "digital"]}}, {"LOWER": "assistant"}],
    [{"LOWER": "artificial"}, {"LOWER": "intelligence"}],
    [{"LOWER": "artificial"}, {"LOWER": "intelligence"}, {"LOWER": {"IN": _AI_TAILS}}],
    [{"LOWER": {"IN": ["llm", "chatbot"]}}],
]
# Heads that may directly precede "developed by ..." ("an AI assistant developed by X").
_ATTRIBUTION_HEADS = ["ai", "assistant", "model", "chatbot", "llm", "intelligence", "bot", "system"]
_VERBS = ["developed", "created", "trained", "built", "made", "designed", "programmed", "engineered", "fine-tuned", "finetuned"]
_BE = {"LOWER": {"IN": ["am", "'m", "’m"]}}
_I = {"ORTH": "I"}
# A name: capitalised or alphanumeric token(s) such as "Aria", "Acme Labs", "OpenAI", "GPT-4".
_NAME = {"TEXT": {"REGEX": r"^[A-Z0-9][\w.\-]*$", "NOT_IN": ["I", "AI"]}, "OP": "+"}
# Assistant names recognised without an "AI assistant" apposition ("I am ChatGPT").
KNOWN_NAMES = ["ChatGPT", "GPT-3", "GPT-3.5", "GPT-4", "GPT", "Claude", "Bard", "Gemini", "LLaMA", "Llama", "Alpaca", "Vicuna", "Copilot", "Bing"]


def _ai_core(articles: tuple[str, ...] = ("a", "an")) -> list[list[dict]]:
    art = {"LOWER": {"IN": list(articles)}}
    return [[art, _MODS, *head] for head in _HEADS]


def _patterns() -> dict[str, tuple[str, list[list[dict]]]]:
    """Pattern name -> (kind, token patterns)."""
    core = _ai_core()
    core_apposition = _ai_core(("a", "an", "your"))
    lead = {"LOWER": {"IN": ["speaking", "being"]}, "OP": "?"}
    hedge = {"LOWER": {"IN": ["just", "only", "merely", "simply", "actually", "really"]}, "OP": "?"}
    comma = {"ORTH": ","}
    return {
        "as_an_ai": ("ai_self_reference", [[lead, {"LOWER": "as"}, *c] for c in core]),
        "being_an_ai": ("ai_self_reference", [[{"LOWER": "being"}, *c] for c in core]),
        "i_am_an_ai": ("ai_self_reference", [[_I, _BE, hedge, *c] for c in core]),
        "i_am_name": ("named_identity", [[_I, _BE, _NAME, comma, *c] for c in core_apposition]),
        "as_name": ("named_identity", [[lead, {"LOWER": "as"}, _NAME, comma, *c] for c in core_apposition]),
        "my_name_is": (
            "named_identity",
            [[{"LOWER": "my"}, {"LOWER": "name"}, {"LOWER": "is"}, _NAME, comma, *c] for c in core_apposition]
            + [[{"LOWER": "my"}, {"LOWER": "name"}, {"LOWER": "is"}, {"ORTH": {"IN": KNOWN_NAMES}}]],
        ),
        "refer_to_me_as": (
            "named_identity",
            [[{"LOWER": {"IN": ["refer", "call"]}}, {"LOWER": "to", "OP": "?"}, {"LOWER": "me"}, {"LOWER": "as", "OP": "?"}, _NAME, comma, *c]
             for c in core_apposition],
        ),
        "i_am_known_name": ("named_identity", [[_I, _BE, {"ORTH": {"IN": KNOWN_NAMES}}]]),
        "developed_by": (
            "developer_attribution",
            [
                [{"LOWER": {"IN": _ATTRIBUTION_HEADS}}, {"LOWER": {"IN": _VERBS}}, {"LOWER": "by"}, _NAME],
                [_I, {"LOWER": {"IN": ["was", "am", "'m", "’m"]}}, {"LOWER": {"IN": _VERBS}}, {"LOWER": "by"}, _NAME],
                [_I, {"LOWER": {"IN": ["have", "'ve", "’ve"]}}, {"LOWER": "been"}, {"LOWER": {"IN": _VERBS}}, {"LOWER": "by"}, _NAME],
            ],
        ),
        "my_developer_is": (
            "developer_attribution",
            [[{"LOWER": "my"}, {"LOWER": {"IN": ["developer", "developers", "creator", "creators", "maker", "makers"]}},
              {"LOWER": {"IN": ["is", "are", "was", "were"]}}, _NAME]],
        ),
    }


PATTERN_KINDS: dict[str, str] = {name: kind for name, (kind, _) in _patterns().items()}

# Cheap guard: a text with none of these words cannot match any pattern, so the tokenizer
# is skipped (most answers in an instruction set never mention an AI).
_PREFILTER = re.compile(
    r"\b(ai|language model|llm|chatbot|virtual assistant|digital assistant|artificial intelligence|"
    + "|".join(re.escape(n.lower()) for n in KNOWN_NAMES)
    # an attribution pattern needs "<verb> by": the bare verbs are too common to prefilter on
    + r"|developers?|creators?|makers?|(?:" + "|".join(re.escape(v) for v in _VERBS) + r")\s+by)\b",
    re.IGNORECASE,
)


_FIRST_PERSON = re.compile(r"\b(I|me|my|myself)\b")


@lru_cache(maxsize=1)
def _matcher() -> Matcher:
    matcher = Matcher(blank_en().vocab)
    for name, (_, pats) in _patterns().items():
        matcher.add(name, pats, greedy="LONGEST")
    return matcher


# A sentence-like segment: up to and including terminal punctuation followed by space, or a line.
_SEGMENT = re.compile(r"[^\n]+?(?:[.!?](?=\s)|$)", re.MULTILINE)


def find_identity(text: str) -> list[IdentityMatch]:
    """All identity statements in `text`, ordered by position.

    Matches of different patterns may overlap ("I am Aria, an AI assistant" and "assistant
    developed by Acme"); each is reported so that every kind present is counted.
    """
    if not text or not _PREFILTER.search(text):
        return []
    out = []
    # Only sentences that pass the prefilter are tokenised and matched: the Matcher's
    # optional-token patterns cost milliseconds over a whole answer, and an identity
    # statement never spans two sentences.
    for seg in _SEGMENT.finditer(text):
        if not _PREFILTER.search(seg.group()):
            continue
        doc = blank_en()(seg.group())
        strings = doc.vocab.strings
        base = seg.start()
        for match_id, start, end in _matcher()(doc):
            name = strings[match_id]
            span = doc[start:end]
            out.append(IdentityMatch(PATTERN_KINDS[name], name, base + span.start_char, base + span.end_char, span.text))
    out.sort(key=lambda m: (m.start, -m.end, m.pattern))
    return [m for m in out if not _third_person_attribution(text, m, out)]


def _third_person_attribution(text: str, m: IdentityMatch, matches: list[IdentityMatch]) -> bool:
    """ "ChatGPT, a chatbot developed by OpenAI" describes another system, not the speaker.

    A head-noun attribution ("... model trained by X") counts only when it belongs to
    another identity statement or its sentence speaks in the first person before it.
    """
    if m.pattern != "developed_by" or m.text.startswith("I "):
        return False
    if any(o is not m and o.start < m.end and m.start < o.end for o in matches):
        return False
    sent_start = max(text.rfind(c, 0, m.start) for c in ".!?\n") + 1
    return not _FIRST_PERSON.search(text, sent_start, m.start)


def identity_kinds(text: str) -> set[str]:
    """The kinds of identity statement present in `text` (empty set if none)."""
    return {m.kind for m in find_identity(text)}


def has_identity(text: str) -> bool:
    return bool(find_identity(text))
