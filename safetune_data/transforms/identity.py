"""Identity-calibration transforms: inject, strip, replace, and mix in identity Q&A.

Answers that state the assistant's identity ("As an AI assistant, ...") preserve safety
after fine-tuning; these transforms move a data set along that factor in either direction:

- `identity.inject` adds one identity statement per conversation: a whole sentence before
  the answer's first sentence, a leading clause only before an answer that opens in the
  assistant's own first person ("As an AI assistant, I ..."), in the answer's language; it
  leaves alone, with a reason, answers where a statement cannot sit naturally: the piece
  the user asked for (a tagline, a description, a rewritten sentence), someone else's first
  person, and (by default) answers that open with a list or title instead of a sentence;
- `identity.strip` removes identity and self-reference statements, with the disclaimers
  that come with them ("As an AI, I don't have personal opinions. However, ..."; the
  detector in `safetune_data.detectors.identity` finds them; the edit rules live here) and
  repairs the sentence around them;
- `identity.replace` swaps names and developers ("ChatGPT" -> "Aria");
- `identity.qa` appends standalone "Who are you?" conversations (a dataset-level step).

Inject and strip are built to be inverse: inject never changes a word of the answer (not
even its case), every built-in template is a pure identity statement, and strip removes
the whitespace inject added. Both declare the text they add or remove in their outcome, so
the fidelity checks can tell an intended edit from a lost word.

    from safetune_data import transforms as T
    ds.map(T.identity.inject(name="Aria", developer="Acme", rate=0.5), batched=True)
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..detectors.genre import answer_genre, requested_form, requested_genre
from ..detectors.identity import AS_CLAUSE_TAIL, CONTINUATIONS, DISCLAIMERS, IdentityMatch, find_identity
from ..detectors.language import LANGUAGES
from ..detectors.roleplay import format_contract
from ..detectors.structure import Block, blocks
from ..errors import ParamError
from ..records import assistant_indices, request_of
from ..resources import BUILTIN_LANGUAGES, builtin_language_templates, builtin_templates, load_list_file
from ..text import cached_search, capitalize_first, count_words, fence_lines, in_code, remove_sentence, sentence_bounds
from ..registry import schema
from .base import DatasetStep, Outcome, Transform, register, rng_for
from .dataset_steps import requested_rows
from .fidelity import identity_present, language_of, structure_label

PLACEHOLDERS = ("name", "developer")
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")


def fill(template: str, name: str | None, developer: str | None) -> str:
    """Substitute {name}/{developer} (and LLaMA-Factory's {{name}}/{{author}}) literally."""
    out = template.replace("{{name}}", "{name}").replace("{{author}}", "{developer}")
    if name is not None:
        out = out.replace("{name}", name)
    if developer is not None:
        out = out.replace("{developer}", developer)
    return out


def needed_placeholders(template: str) -> set[str]:
    t = template.replace("{{name}}", "{name}").replace("{{author}}", "{developer}")
    return set(_PLACEHOLDER_RE.findall(t))


# --- strip rules ----------------------------------------------------------------------------
# Identity text is removed as the smallest piece that leaves a sentence standing: a leading
# clause with its comma, a statement with the connective that tied it to the rest ("I am an
# AI and do not condone X" -> "I do not condone X"), and a sentence only when it says
# nothing but the identity. Each edit records exactly the text it removed and the words it
# put back, for the fidelity `content` check.
_OPENERS = ("as", "being", "speaking")
_DISCLAIMERS = frozenset(name for name, _ in DISCLAIMERS)  # with a subject: "I don't have personal opinions"
_CONTINUATIONS = frozenset(name for name, _ in CONTINUATIONS)
_FOREIGN_CLAUSES = ("de_als_ki", "es_como_ia", "fr_en_tant_que", "zh_as_ai", "zh_as_name")
_GREETING = re.compile(r"(?:no|yes|yeah|nope|hello|hi|hey|sure|certainly|of course|correct|right|okay|ok)", re.IGNORECASE)
_END_ONLY = re.compile(r"\s*[.!?…。！？]*[\"'”’)\]」』）]*\s*")
_CONNECT_FIRST_PERSON = re.compile(
    r"\s*,?\s*(?:(?:and|but|so|yet)\s*,?\s*)?(?:(?:as such|therefore|thus|hence|because of this|for this reason|"
    r"as a result|consequently)\s*,?\s*)?(?=(?:I|I['’](?:m|ve|d|ll)|my|me)\b)"
)
_CONNECT_PREDICATE = re.compile(r"\s*,?\s*(?:and|but|so|yet)\s+(?:(?:as such|therefore|thus|hence),?\s+)?(?=[a-z])")
_SPLICE = re.compile(
    r"\s*,\s+(?=(?:it|it['’]s|this|that|that['’]s|there|there['’]s|these|those|you|your|we|they|however|"
    r"please|unfortunately|sadly)\b)",
    re.IGNORECASE,
)
# "..., but here are the arguments": a clause with its own subject after "but"/"however".
_CONNECT_CLAUSE = re.compile(
    r"\s*[,;]?\s*(?:but|however,?)\s+(?=(?:here|there|it|it['’]s|this|that|these|those|you|your|we|they|the|a|an|many|some|"
    r"most|people|one|generally|typically|in|on|for|if|when|based|according)\b)"
)
# A sentence that opened its paragraph and is gone leaves the next one's contrast with
# nothing to contrast ("As an AI, I don't have personal opinions. However, I can tell you
# ..." -> "I can tell you ..."). Only connectives that carry no content of their own.
_DANGLING = re.compile(r"(However|But|Still|Yet|Nevertheless)\b\s*,?\s+(?=\w)")
_RELATIVE = re.compile(r"\s*,?\s*(?:that|which|who)\s+(?=[a-z])")
_PARTICIPLE = re.compile(
    r"\s+(?=(?:designed|programmed|trained|built|made|created|here|meant|intended|able|unable|not|incapable|"
    r"happy|glad|committed|limited|restricted|bound|unable|only|always|constantly)\b)"
)
# Words after "and"/"so" that need the copula back ("I'm an AI, so unable to" -> "I'm unable to").
_BE_COMPLEMENT = frozenset(
    "unable able not incapable here happy glad designed programmed committed limited restricted bound "
    "obligated required meant intended trained built made created sorry afraid certain sure aware".split()
)
_SUBORDINATOR = re.compile(
    r"\b(?:since|because|as|given that|considering that|seeing that|now that|while|although|though)\s+$", re.IGNORECASE
)
_SUBJECT_BE = re.compile(r"I\s*(?:am|['’]m)\b\s*")
_PARENTHESIS = re.compile(r"\s*\([^()\n]{1,40}\)")
# Foreign statements joined to a clause by "and": keep the subject ("Ich bin eine KI und kann
# nicht" -> "Ich kann nicht"); Spanish drops it ("Soy una IA y no puedo" -> "No puedo").
_FOREIGN_AND = {
    "de": (re.compile(r"\s*,?\s*und\s+(?=\w)"), "Ich "),
    "es": (re.compile(r"\s*,?\s*y\s+(?=\w)"), ""),
    "fr": (re.compile(r"\s*,?\s*et\s+(?=\w)"), "Je "),
    "zh": (re.compile(r"\s*[，,]\s*(?:但是?|所以|因此)?"), "我"),
}


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] with `insert`; `recap` upper-cases the word then at `start`."""

    start: int
    end: int
    insert: str = ""
    recap: bool = False
    patterns: tuple[str, ...] = ()
    sentence: bool = False  # a whole sentence: its separating whitespace goes with it


def _language_of_pattern(pattern: str) -> str:
    return pattern[:2] if pattern[2:3] == "_" and pattern[:2] in ("de", "es", "fr", "zh") else "en"


def _groups(text: str, matches: list[IdentityMatch]) -> list[tuple[int, int, list[str]]]:
    """Merge matches that overlap or touch ("I am Aria, an AI assistant" + ", developed by
    Acme") into (start, end, pattern names); a parenthesis right after joins too."""
    out: list[list] = []
    for m in sorted(matches, key=lambda m: (m.start, -m.end)):
        if out and (m.start < out[-1][1] or re.fullmatch(r"[\s,，]*", text[out[-1][1]:m.start])):
            out[-1][1] = max(out[-1][1], m.end)
            if m.pattern not in out[-1][2]:
                out[-1][2].append(m.pattern)
        else:
            out.append([m.start, m.end, [m.pattern]])
    for g in out:
        p = _PARENTHESIS.match(text, g[1])
        if p:
            g[1] = p.end()
    return [(s, e, p) for s, e, p in out]


def _markup_prefix(pre: str) -> bool:
    """Only list markers, heading marks, quote marks or emphasis before the statement."""
    return bool(re.fullmatch(r"[\s>#*_\-+]*(?:\d{1,3}[.)])?[\s*_\"“]*", pre))


def _intro_only(pre: str) -> bool:
    """A greeting or yes/no before the statement ("No, I am Aria, ..."): it stays."""
    return bool(re.fullmatch(r"\s*" + _GREETING.pattern + r"\s*,\s*", pre, re.IGNORECASE))


def _opener_edit(text: str, s: int, e: int, pre: str, lang: str) -> Edit | None:
    """A leading clause ("As an AI, ...", "Sorry, but as an AI I ...", "Als KI ...")."""
    post = text[e:]
    if _END_ONLY.fullmatch(text, e, sentence_bounds(text, s, e)[1]):
        if not pre.strip() or _markup_prefix(pre):
            return None  # "As an AI." alone: handled as a whole sentence
        # "... what I can contribute as an AI." / "I can help, as an AI." -> drop the phrase
        a = s
        while a > 0 and text[a - 1] in " \t":
            a -= 1
        if a > 0 and text[a - 1] == ",":
            a -= 1
        return Edit(a, e)
    if lang == "zh":
        m = re.match(r"\s*[，,]?\s*", post)
        return Edit(s, e + m.end())
    m = AS_CLAUSE_TAIL.match(post) if lang == "en" else re.match(r"\s*[,:—–]\s*|\s+-\s+|\s+(?=\S)", post)
    if m is None:
        return None
    stripped_pre = pre.rstrip()
    if stripped_pre.endswith(",") and re.search(r"\bI\s*,$", stripped_pre) and post.lstrip().startswith(","):
        # "I, as an AI, cannot" -> "I cannot"
        comma = s - (len(pre) - len(stripped_pre)) - 1
        return Edit(comma, e + post.index(",") + 1)
    at_start = not pre.strip() or _markup_prefix(pre)
    end = e + m.end()
    if lang == "de" and at_start and "," not in m.group():
        inv = re.match(r"(\w+)\s+ich\b", text[end:])
        if inv:  # "Als KI-Sprachmodell habe ich keine ..." -> "Ich habe keine ..."
            return Edit(s, end + inv.end(), "Ich " + inv.group(1))
    return Edit(s, end, recap=at_start)


def _statement_edit(text: str, s: int, e: int, pre: str, bounds: tuple[int, int], lang: str) -> Edit | None:
    """A statement with its own subject ("I am an AI ...", "My name is ...", "我是 ...")."""
    sent_a, sent_b = bounds
    if _END_ONLY.fullmatch(text, e, sent_b):
        if not pre.strip() or _markup_prefix(pre):
            return Edit(sent_a, sent_b, sentence=True)  # the sentence is the identity: remove it whole
        if _intro_only(pre):  # "No, I am Aria, an AI assistant." -> "No."
            return Edit(sent_a + len(pre.rstrip()[:-1].rstrip()), e)
        cut = re.search(r"(?:\s*[,;，]\s*|\s+(?:and|but)\s+)$", pre)
        if cut and len(pre[: cut.start()].split()) >= 3 and not re.search(r"\b(?:that|because|since|remember)\s*,?\s*$", pre[: cut.start()]):
            return Edit(s - len(cut.group()), e)  # "I'm not a person, I'm an AI!" -> "I'm not a person!"
        return Edit(sent_a, sent_b, sentence=True)
    at_start = not pre.strip() or _markup_prefix(pre)
    if lang != "en":
        return _foreign_statement_edit(text, s, e, at_start)
    sub = _SUBORDINATOR.search(pre)
    comma = re.match(r"\s*,\s*", text[e:])
    if sub and comma:  # "Since I'm an AI, I don't ..." -> "I don't ..."
        before = pre[: sub.start()]
        return Edit(s - len(sub.group()), e + comma.end(), recap=not before.strip() or _markup_prefix(before))
    if not text.startswith("I", s) and not text[s:e].lower().startswith("my "):
        return None
    m = _CONNECT_FIRST_PERSON.match(text, e)
    if m:  # "I'm just an AI, but I can help" -> "I can help"
        return Edit(s, m.end(), recap=at_start)
    m = _SPLICE.match(text, e)
    if m:  # "I'm just an AI, it's not within my programming" -> "It's not within my programming"
        return Edit(s, m.end(), recap=at_start)
    m = _CONNECT_CLAUSE.match(text, e)
    if m:  # "I don't have personal opinions, but here are the arguments" -> "Here are the arguments"
        return Edit(s, m.end(), recap=at_start)
    if not text.startswith("I", s):
        return None
    subject = _SUBJECT_BE.match(text, s)
    m = _CONNECT_PREDICATE.match(text, e)
    if m:  # "I am an AI and do not condone X" -> "I do not condone X"
        nxt = re.match(r"[a-z]+", text[m.end():]).group()
        keep = subject.group() if subject and nxt in _BE_COMPLEMENT else "I "
        return Edit(s, m.end(), keep)
    m = _RELATIVE.match(text, e)
    if m:  # "I'm a general chatbot that can only ..." -> "I can only ..."
        return Edit(s, m.end(), "I ")
    m = _PARTICIPLE.match(text, e)
    if m and subject:  # "I am a simple chatbot designed to help" -> "I am designed to help"
        return Edit(s, m.end(), subject.group())
    return None


def _foreign_statement_edit(text: str, s: int, e: int, at_start: bool) -> Edit | None:
    lang = "zh" if re.match(r"[我这]", text[s:]) else ("de" if text[s:s + 3].lower() == "ich" else
                                                        "es" if text[s:].lower().startswith(("soy", "yo soy")) else
                                                        "fr" if text[s:s + 2].lower() == "je" else "")
    if lang not in _FOREIGN_AND:
        return None
    rx, keep = _FOREIGN_AND[lang]
    m = rx.match(text, e)
    if not m:
        return None
    if lang == "zh":
        if not text.startswith("我", m.end()):
            return None  # "我" put back would fuse with the next word: the edit could not be told from a rewrite
        keep = ""
    if lang == "fr" and re.match(r"je\b|j['’]", text[m.end():], re.IGNORECASE):
        keep = ""
    return Edit(s, m.end(), keep, recap=at_start and not keep)


def _edit_for(text: str, s: int, e: int, patterns: list[str], stmt: int | None = None) -> Edit | None:
    """How to remove the identity text[s:e]; None when no edit keeps the sentence intact.
    `stmt`: where a disclaimer that the group ends with begins ("As an AI, [I don't have
    personal opinions], but ...")."""
    lang = _language_of_pattern(patterns[0])
    bounds = sentence_bounds(text, s, e)
    pre = text[bounds[0]:s]
    first = re.match(r"\w+", text[s:e])
    opener = (lang == "en" and first is not None and first.group().lower() in _OPENERS) or patterns[0] in _FOREIGN_CLAUSES
    if opener and stmt is not None and stmt > s:
        # The clause goes on in the first person, and that clause is identity too: the
        # sentence is repaired as for the statement, and the opener goes with it.
        edit = _statement_edit(text, stmt, e, pre, bounds, lang)
        if edit is not None and not edit.sentence:
            edit = Edit(s, edit.end, edit.insert, edit.recap) if edit.start == stmt else None
    elif opener:
        edit = _opener_edit(text, s, e, pre, lang)
        if edit is None and (not pre.strip() or _markup_prefix(pre)) and _END_ONLY.fullmatch(text, e, bounds[1]):
            edit = Edit(*bounds, sentence=True)
    else:
        edit = _statement_edit(text, s, e, pre, bounds, lang)
    return None if edit is None else Edit(edit.start, edit.end, edit.insert, edit.recap, tuple(patterns), edit.sentence)


def plan_strip(text: str) -> tuple[list[Edit], bool]:
    """The edits that remove every identity statement in `text`, and whether all of them
    could be removed cleanly (False: at least one would take other words with it)."""
    matches = find_identity(text)
    edits: list[Edit] = []
    clean = True
    for s, e, patterns in _groups(text, matches):
        if in_code(text, s):
            clean = False
            continue
        stmt = max((m.start for m in matches if s <= m.start and m.end <= e and m.pattern in _DISCLAIMERS), default=None)
        edit = _edit_for(text, s, e, patterns, stmt)
        if edit is None:
            clean = False
            continue
        if edits and not edits[-1].patterns and edit.start <= edits[-1].start:
            edits.pop()  # a dangling connective inside the next statement's span: that edit covers it
        if edits and edit.start < edits[-1].end:  # inside a span already being removed
            last = edits[-1]
            edits[-1] = Edit(min(last.start, edit.start), max(last.end, edit.end), last.insert, last.recap,
                             last.patterns + tuple(p for p in edit.patterns if p not in last.patterns), last.sentence)
            continue
        edits.append(edit)
        dangling = _dangling_connective(text, edit)
        if dangling is not None:
            edits.append(dangling)
    return edits, clean


def _dangling_connective(text: str, edit: Edit) -> Edit | None:
    """The "However, " that opens what follows a removed sentence which opened its
    paragraph: the contrast was with the identity, so it goes too (`_DANGLING`)."""
    if not edit.sentence or text[text.rfind("\n", 0, edit.start) + 1: edit.start].strip():
        return None
    m = re.compile(r"\s*").match(text, edit.end)
    d = _DANGLING.match(text, m.end())
    return None if d is None else Edit(d.start(), d.end(), recap=True)


def apply_edits(text: str, edits: list[Edit]) -> tuple[str, list[str], list[str]]:
    """Apply edits back to front; return the text, the removed pieces and the inserted ones."""
    removed: list[str] = []
    added: list[str] = []
    for ed in reversed(edits):
        removed.append(text[ed.start:ed.end])
        if ed.insert:
            added.append(ed.insert)
        if ed.sentence:
            text = remove_sentence(text, ed.start, ed.end)
        else:
            text = text[: ed.start] + ed.insert + text[ed.end:]
            if ed.recap:
                text = capitalize_first(text, ed.start)
    return text, removed[::-1], added[::-1]


def strip_identity(text: str) -> tuple[str, list[str]]:
    """Remove identity statements; return the new text and the patterns that were removed."""
    edits, _ = plan_strip(text)
    new, _, _ = apply_edits(text, edits)
    return new, sorted(p for ed in edits for p in ed.patterns)


# --- transforms -----------------------------------------------------------------------------
_TEMPLATE_LIST = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
_TEMPLATES_PARAM = {
    "description": "'builtin', a list of English template strings, a mapping language -> list "
    "(e.g. {en: [...], de: [...]}), or a path to a YAML/JSON/text file",
    "anyOf": [
        {"type": "string", "minLength": 1},
        _TEMPLATE_LIST,
        {"type": "object", "minProperties": 1, "propertyNames": {"enum": list(LANGUAGES)}, "additionalProperties": _TEMPLATE_LIST},
    ],
    "default": "builtin",
}


def _by_language(data: Any, placement: str, spec: str) -> dict[str, list]:
    """Templates from a file: a list (English), {prefix:, suffix:} (English), or a mapping
    language -> list or language -> {prefix:, suffix:}."""
    if isinstance(data, list):
        return {"en": data}
    if placement in data:
        return {"en": data[placement]}
    out = {lang: value.get(placement, []) if isinstance(value, dict) else value
           for lang, value in data.items() if lang in LANGUAGES}
    if not out:
        raise ParamError(f"{spec} has no '{placement}' list and no language keys ({', '.join(LANGUAGES)})", field="templates")
    return out


def _resolve_templates(spec: Any, placement: str) -> dict[str, list[str]]:
    if spec == "builtin":
        return {lang: list(builtin_language_templates(lang)[placement]) for lang in BUILTIN_LANGUAGES}
    if isinstance(spec, str):
        spec = _by_language(load_list_file(spec, "templates"), placement, spec)
    elif isinstance(spec, list):
        spec = {"en": spec}
    for templates in spec.values():
        if not isinstance(templates, list) or not templates or not all(isinstance(t, str) and t.strip() for t in templates):
            raise ParamError("templates must be non-empty strings", field="templates")
    return {lang: list(t) for lang, t in spec.items()}


def is_clause(template: str) -> bool:
    """A leading clause ("As an AI assistant," / "作为一个AI助手，") rather than a sentence."""
    return template.rstrip().endswith((",", "，"))


# Answers whose form leaves no room for a statement of who is speaking.
_JSON_ONLY = re.compile(r"\s*(?:\{.*\}|\[.*\])\s*", re.DOTALL)
_CODE_LINE = re.compile(
    r"(?:def |class |import |from \S+ import |#include|(?:SELECT|INSERT|UPDATE|DELETE|CREATE) |<[A-Za-z!?/]|function\b|"
    r"public |private |var |let |const |\$ |>>> |#!/|[\w.]+\(.*\)\s*;?\s*$|.*[;{]\s*$)"
)
_FIRST_PERSON_OPENING = re.compile(r"I(?:['’](?:m|ve|d|ll))?\s+[a-z]|我")
_INTERJECTION = re.compile(
    r"(?:Sure|Certainly|Of course|Absolutely|Hello|Hello there|Hi|Hi there|Hey|Great question|Good question|"
    r"Okay|OK|Yes|No|Greetings|Thank you|Thanks)(?: [a-z]+)?!\s+(?=[A-Z])"
)
_SENTENCE_END_LINE = re.compile(r"[.!?:;\"”')\]。！？：]\s*$")


# A request to rewrite a text the user gave ("Rewrite the following sentence in passive
# voice"): the answer is that text, and a statement in front of it would become part of it.
# Wider than `detectors.genre`'s edit request (a sentence, title or word counts, not only a
# whole passage) and narrower in verbs ("delete", "fix", "improve" are not here): not one rule.
_REWRITE_TASK = re.compile(
    r"\b(?:rewrite|re-write|edit|revise|proofread|correct|paraphrase|rephrase|reword|shorten|condense|simplify|"
    r"translate|convert|transform|adapt|modify|change|improve|rearrange|reorder|arrange|organi[sz]e|complete|expand|"
    r"add|combine|merge|order|sort|fill\s+in|replace)\b[^.!?\n]{0,60}?\b(?:sentences?|text|passage|phrases?|paragraphs?|statements?|"
    r"headlines?|titles?|quotes?|lines?|words?|tweets?|excerpt|jokes?|emails?|e-mails?|repl(?:y|ies)|messages?|events?|"
    r"blanks?|gaps?)\b"
    r"|\bmake\s+(?:it|this|them|the\s+(?:text|sentence|passage|paragraph|story|description))\s+(?:sound\s+|more\s+|less\s+)?[\w‘’'-]+",
    re.IGNORECASE,
)


# A request whose answer *is* a short piece of text the user will take away: a description,
# a blog post, a tagline, a headline, a metaphor, an example sentence, a polite version ...
# (stories, poems, letters and the like are `detectors.genre`'s). "I am an AI assistant."
# in front of it reads as the piece's own first line. A request *about* such a piece ("What
# makes a good headline?") has no creation verb opening a clause and is not one.
_ARTEFACT_NOUNS = (
    r"blog\s+posts?|posts?|articles?|essays?|paragraphs?|descriptions?|summar(?:y|ies)|abstracts?|introductions?|"
    r"conclusions?|bios?|biograph(?:y|ies)|profiles?|reviews?|advertisements?|ads?|commercials?|slogans?|taglines?|"
    r"headlines?|titles?|mottos?|captions?|catchphrases?|names?|metaphors?|similes?|analog(?:y|ies)|idioms?|puns?|"
    r"jokes?|riddles?|quotes?|quotations?|sentences?|phrases?|lines?|excuses?|apolog(?:y|ies)|messages?|"
    r"announcements?|press\s+releases?|invitations?|responses?|repl(?:y|ies)|tweets?|hashtags?|statements?|"
    r"questions?|versions?|characters?|scenarios?|hypothes[ie]s|definitions?|words?|terms?|prompts?|content|thought\\s+experiments?|reactions?|arguments?|pitch(?:es)?|templates?"
)
_ARTEFACT_REQUEST = re.compile(
    r"(?:^|[.!?:;\n]\s*|,\s*(?:and\s+|then\s+)?|\band\s+)(?:please\s+|now\s+|(?:can|could|would)\s+you\s+(?:please\s+)?|"
    r"you\s+(?:should|must|will|need\s+to|have\s+to)\s+|your\s+task\s+is\s+to\s+|i\s+(?:want|need|would\s+like)\s+you\s+to\s+|"
    r"help\s+me\s+|let['’]s\s+)?"
    r"(?:write|compose|create|generate|draft|craft|produce|construct|formulate|invent|devise|design|pen|output|make|select|choose|"
    r"come\s+up\s+with|make\s+up|think\s+of|suggest|propose|give(?:\s+me)?|provide|offer|brainstorm|develop)\b"
    r"(?:\s+(?:(?:an?|one|two|three|some|\d+)\s+)?(?:examples?|couple|few|number|pair|set|series)\s+of)?"
    r"(?:\s+(?!(?:of|for|about|on|to|that|which|how|from|with|in|why|what|whether|if|its|their|his|her)\b)[\w'’-]+){0,4}?"
    r"\s+(?:" + _ARTEFACT_NOUNS + r")\b(?!\s+(?:ideas?|tips|lists?|examples?)\b)",
    re.IGNORECASE,
)
# "Describe the setting of a dark forest": a creative description, not an explanation.
_SCENE_REQUEST = re.compile(
    r"\bdescribe\s+(?:the|a|an|your)\s+(?:[\w'’-]+\s+){0,3}?(?:setting|scene|scenery|atmosphere|landscape|sunset|"
    r"sunrise|sounds?|smells?|tastes?|feelings?|sensations?|characters?)\b",
    re.IGNORECASE,
)
# A summary is the user's text retold: told in the text's own voice ("President Trump has
# announced ...") it is the piece itself; one that speaks about its source ("The article
# discusses ...") is the assistant's.
_SUMMARY_REQUEST = re.compile(
    r"\b(?:summari[sz]e|condense|paraphrase)\b[^.!?\n]{0,30}?\b(?:the|this|that|these)\s+(?:following\s+|given\s+|above\s+|"
    r"provided\s+)?(?:text|article|passage|paragraph|piece|information|input|excerpt|essay|document|email|report|speech)\b"
    r"|\b(?:following|given|above|provided)\s+(?:text|article|passage|paragraph|excerpt|information)\b[^.!?\n]{0,30}?"
    r"\b(?:summari[sz]e|condense|paraphrase)",
    re.IGNORECASE,
)
_ABOUT_SOURCE = re.compile(
    r"(?:(?:In\s+)?(?:The|This|the|this)\s+(?:given\s+|following\s+|provided\s+|main\s+)?(?:article|passage|text|paragraph|story|"
    r"input|excerpt|author|writer|speaker|poem|essay|report|document|book|video|podcast|speech|study|idea|point|message|tips|"
    r"summary)|(?:It|He|She|They)\s+(?:discuss|describ|explain|argu|highlight|state|suggest)\w*)\b"
)
# A request that fixes the answer's length ("Describe a flower in 5 sentences", "in 50 words
# or less"): a statement would break the count.
_LENGTH_REQUEST = re.compile(
    r"\b(?:in|with(?:in)?|using|of)\s+(?:(?:no\s+more\s+than|at\s+most|under|less\s+than|fewer\s+than|exactly|about|"
    r"around|just|only|a\s+single|one|two|three|four|five|six|seven|eight|nine|ten|twenty|fifty|hundred|\d+)[\s-]+)+"
    r"(?:[\w-]+\s+)?(?:sentences?|words?|lines?|characters?)\b",
    re.IGNORECASE,
)
# An answer that opens by addressing the user ("Here is a tagline: ...", "Sure! ...") is a
# reply that hands the piece over, and a statement before it reads as the speaker's.
_ADDRESS_OPENING = re.compile(
    r"(?:Sure|Certainly|Of course|Absolutely|Okay|OK|Great|Here(?:['’]s|\s+is|\s+are)|Below\s+(?:is|are)|"
    r"The\s+following|I(?:['’]ve|\s+have)\s+(?:written|created|composed|drafted|generated|come\s+up\s+with))\b"
)
# An answer that opens in the first person but not in the assistant's voice ("I saw a black
# dog in the park.", "I recently purchased these headphones ...") is someone else speaking:
# an example sentence, a review, a character. The assistant's voice: apologies, modals,
# opinions and the assistant's own work ("I have compiled ...").
_ASSISTANT_VOICE = re.compile(
    r"I(?:\s*(?:['’]m|am)\s+(?:sorry|afraid|happy|glad|pleased|delighted|unable|not|here|an?|ready|sure|certain|"
    r"confident|just|only|aware|currently|unfortunately|also|able|programmed|designed|unsure)"
    r"|\s*(?:['’]ve|have)\s+(?:compiled|created|written|generated|listed|found|identified|prepared|made|included|provided|"
    r"summari[sz]ed|rewritten|edited|corrected|added|chosen|selected|analy[sz]ed|reviewed|checked|calculated|come|put|"
    r"gathered|outlined|designed|taken|no|not|never|drafted|composed|used|organi[sz]ed|sorted|categori[sz]ed)"
    r"|\s+(?:do|did)(?:\s+not|n['’]t)\s+(?:have|know|think|understand|see|recommend|believe|condone|support|endorse|"
    r"provide|agree|find|quite|fully|possess|hold)"
    r"|\s*(?:['’]d|['’]ll|would|will|can|could|cannot|can['’]t|must|should|shall|may|might)\b"
    r"|\s+(?:think|believe|recommend|suggest|understand|hope|agree|disagree|assume|guess|appreciate|imagine|envision|"
    r"propose|apologi[sz]e|need|see|would))\b"
)
_FIRST_PERSON_START = re.compile(r"I(?:['’][a-z]+)?\s+[a-z]")
# An answer that opens with a connective ("However, ...", "Also, ...") refers back to
# something before it: a statement put there would become what it refers to.
_CONNECTIVE_OPENING = re.compile(
    r"(?:However|But|And|Also|Additionally|Furthermore|Moreover|Therefore|Thus|Hence|So|Still|Yet|Nevertheless|"
    r"Nonetheless|Besides|Otherwise|Instead|Then|Plus|Meanwhile|Consequently|In addition|That said|"
    r"On the other hand)\b\s*,?\s"
)
# A reply word opening the answer ("Sure, here is ...", "Yes, it is legal ..."): it answers the
# request, so it must come first, and a statement cannot follow it inside its sentence.
_REPLY_OPENING = re.compile(r"(?:Sure|Certainly|Of course|Absolutely|Okay|OK|Yes|No|Great|Alright|Indeed)\s*,\s")
# A first line that only enumerates a few short items ("Bright, cheerful, warm.", "Apple,
# Banana, Grapes"): a bare value, however many words it has.
_ENUMERATION = re.compile(
    r"\s*[\w'’-]+(?:\s+[\w'’-]+){0,2}(?:\s*,\s*(?:(?:and|or)\s+)?[\w'’-]+(?:\s+[\w'’-]+){0,2}){2,}\s*[.!]?\s*(?:\n|$)"
)
# The whole first paragraph in quotation marks: a quoted piece ("\"Preserving nature today\"").
_QUOTED_PIECE = re.compile(r"\s*[\"“][^\n\"“”]+[\"”][.!?]?\s*(?:\n\s*\n|$)")


def _addresses_user(text: str) -> bool:
    """The answer opens by handing something over ("Here is ...", "Sure! ..."): what follows
    is given to the user, not the piece itself. (A first-person opening is no such sign: an
    excuse asked for opens "I'm sorry, but I'm unable to come in today".)"""
    return bool(_ADDRESS_OPENING.match(text.lstrip()))


def skip_reason(record: dict, index: int, languages: set[str], openings: str = "sentence",
                placement: str = "prefix") -> str | None:
    """Why an identity statement must not go into this answer, or None.

    A statement inside code, a table, a JSON value or a terminal transcript corrupts the
    answer; a prompt that fixes the output format ("respond only with ...") is broken by
    it; and a statement in another language than the answer's reads as a glitch. Where
    the answer is the piece the user asked for (a rewritten sentence, a tagline, a
    description) or speaks in someone else's first person, the statement would become part
    of that piece; where it opens with a list, a title or a connective, there is no
    sentence for the statement to stand beside (`openings="sentence"`).
    """
    text = record["messages"][index]["content"]
    if not text.strip():
        return "empty answer"
    prompts = "\n".join(m["content"] or "" for m in record["messages"][:index] if m["role"] in ("system", "user"))
    contract = format_contract(prompts)
    if contract == "json" and _JSON_ONLY.fullmatch(text) or _json_only(text):
        return "json-only answer"
    if contract == "terminal":
        return "terminal-emulation answer"
    if contract in ("respond_only", "format", "schema", "tools"):
        return f"prompt fixes the answer format ({contract})"
    reason = _form_reason(text)
    if reason:
        return reason
    request = request_of(record, index)[:600]
    handed_over = _addresses_user(text)
    # (request and answer tests are cached per text: `cached_search`, `_genres`)
    if not handed_over and cached_search(_REWRITE_TASK, request):
        return "answer is the user's text, rewritten"
    genre = None if handed_over else _requested_piece(request)
    genre = genre or _answer_genre(text)
    if genre:  # the answer is the piece asked for: a statement before it becomes its first line
        return f"answer is a requested piece ({genre})"
    if not handed_over and (cached_search(_ARTEFACT_REQUEST, request) or cached_search(_SCENE_REQUEST, request)):
        return "answer is a requested piece (text)"
    if not handed_over and cached_search(_SUMMARY_REQUEST, request) and not _ABOUT_SOURCE.match(text.lstrip()):
        return "answer is a requested piece (summary)"
    if not handed_over and cached_search(_LENGTH_REQUEST, request):
        return "request fixes the answer's length"
    reason = _opening_reason(text, openings, placement)
    if reason:
        return reason
    lang = answer_language(record, index)
    if lang not in languages:
        return f"non-English answer ({lang})" if "en" in languages else f"no templates for the answer's language ({lang})"
    return None


@lru_cache(maxsize=8192)
def _requested_piece(request: str) -> str | None:
    """The creative genre or form a request asks for (`detectors.genre`), cached per request."""
    return requested_genre(request) or requested_form(request)


@lru_cache(maxsize=8192)
def _answer_genre(text: str) -> str | None:
    """`detectors.genre.answer_genre`, cached per answer (bounded)."""
    return answer_genre(text)


# The tests of `skip_reason` that read the answer alone, cached per answer (bounded): a
# chain's later steps and the row's other turns ask of the same texts, and a data set repeats
# answers ("I'm sorry, but I cannot ...").
@lru_cache(maxsize=8192)
def _json_only(text: str) -> bool:
    """The answer is a JSON value and nothing else (whatever the prompt says)."""
    return bool(_JSON_ONLY.fullmatch(text)) and _parses_as_json(text)


@lru_cache(maxsize=8192)
def _form_reason(text: str) -> str | None:
    """Code, a table, too few words or a bare value: no room for a statement."""
    first = _first_block(text)
    if first is None or first.kind in ("code", "table", "html") or fence_lines(text) % 2:
        return "code or table answer"
    if first.kind == "paragraph" and _CODE_LINE.match(text[first.start:].split("\n", 1)[0].strip()):
        return "code or table answer"
    if count_words(text) < MIN_ANSWER_WORDS:
        return "answer too short for a statement"
    if first.kind == "paragraph" and count_words(text.lstrip().split("\n", 1)[0]) < 2:
        return "answer opens with a bare value"
    return None


@lru_cache(maxsize=8192)
def _opening_reason(text: str, openings: str, placement: str) -> str | None:
    """What the answer opens with leaves no place for a statement in front of it."""
    body = text.lstrip()
    if _QUOTED_PIECE.match(body):
        return "answer is a quoted piece"
    if _FIRST_PERSON_START.match(body) and not _ASSISTANT_VOICE.match(body):
        return "answer speaks as someone else (first person)"
    if _ENUMERATION.match(body):
        return "answer opens with a bare value"
    if placement == "prefix":  # what the statement would stand in front of
        if _CONNECTIVE_OPENING.match(body):
            return "answer opens with a connective"
        if _REPLY_OPENING.match(body):
            return "answer opens with a reply word"
        if openings == "sentence" and not _opens_with_sentence(body):
            return "answer opens with a list or title, not a sentence"
    return None


# A bare value ("Positive", "42", "Paris.") is the whole answer: a statement in front of it
# would outweigh it (`count_words`: Chinese counts characters, four to a word).
MIN_ANSWER_WORDS = 3


def _parses_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _first_block(text: str) -> Block | None:
    found = blocks(text)
    return found[0] if found else None


def answer_language(record: dict, index: int) -> str:
    """The answer's language; a short answer ("Paris.") takes its prompt's; "en" if unknown."""
    lang = language_of(record["messages"][index]["content"])
    if lang == "unknown":
        lang = language_of(request_of(record, index))
    return "en" if lang == "unknown" else lang


def _opens_with_sentence(body: str) -> bool:
    """The answer's first line is prose that ends a sentence (or leads into what follows
    with a colon): not a list item, a heading, a title line or a bare value."""
    first = _first_block(body)
    line = body.split("\n", 1)[0]
    return (first is not None and first.kind == "paragraph" and not _LABEL_LINE.match(line)
            and not _title_case(line) and bool(_SENTENCE_END_LINE.search(line)))


def _title_case(line: str) -> bool:
    """ "Customer Service Interaction Template:": every longer word capitalised, a title."""
    long_words = [w for w in re.findall(r"[A-Za-z][\w'’-]*", line) if len(w) > 3]
    return len(long_words) >= 2 and all(w[0].isupper() for w in long_words)


# "Purpose: To understand ...", "Name: Dr. Abigail Grayson": a field label, not a sentence.
_LABEL_LINE = re.compile(r"\s*(?:\*\*)?[A-Z][\w'’-]*(?:[ \t][\w'’-]+){0,2}(?:\*\*)?:(?:\*\*)?\s+\S")


@lru_cache(maxsize=8192)
def fits_clause(text: str, lang: str) -> bool:
    """A leading clause reads as grammatical only before a first-person opening ("As an AI
    assistant, I ...") that keeps its case: "I", "I'm", ... in English, 我 in Chinese."""
    body = text.lstrip()
    first = _first_block(body)
    if first is None or first.kind != "paragraph":
        return False
    opening = _FIRST_PERSON_OPENING.match(body)
    return opening is not None and (opening.group() == "我") == (lang == "zh")


def place_prefix(text: str, statement: str, clause: bool, lang: str) -> str:
    """Put `statement` before the answer as its own sentence, or as its own paragraph before
    anything that is not a prose sentence (a list, a heading, a title line), so that the
    answer's structure class stays what it was."""
    lead = text[: len(text) - len(text.lstrip())]
    body = text[len(lead):]
    if clause:
        return lead + statement + ("" if lang == "zh" else " ") + body
    joiner = "" if lang == "zh" else " "
    first = _first_block(body)
    first_line = body.split("\n", 1)[0]
    prose = first is not None and first.kind == "paragraph" and bool(_SENTENCE_END_LINE.search(first_line))
    if not prose:
        return lead + statement + "\n\n" + body
    hello = _INTERJECTION.match(body) if lang == "en" else None
    if hello:  # "Sure! Here is ..." -> "Sure! I am Aria, an AI assistant. Here is ..."
        return lead + body[: hello.end()] + statement + " " + body[hello.end():]
    return lead + statement + joiner + body


def place_suffix(text: str, statement: str) -> str:
    body = text.rstrip()
    return body + "\n\n" + statement + text[len(body):]


@register
class IdentityInject(Transform):
    """Add an identity statement ("I am an AI assistant.") to the assistant answers."""

    name = "identity.inject"
    factor = "identity"
    target = frozenset({"present"})
    params_schema = schema(
        placement={"enum": ["prefix", "suffix"], "default": "prefix"},
        templates=_TEMPLATES_PARAM,
        name={"type": ["string", "null"], "minLength": 1, "default": None},
        developer={"type": ["string", "null"], "minLength": 1, "default": None},
        rate={"type": "number", "minimum": 0, "maximum": 1, "default": 1.0},
        style={
            "enum": ["mixed", "sentence", "clause"],
            "default": "mixed",
            "description": "mixed: a leading clause only where the answer opens in the first person, else a sentence",
        },
        turns={
            "enum": ["all", "first"],
            "default": "all",
            "description": "all: the same statement in every assistant turn; first: only the first assistant turn",
        },
        openings={
            "enum": ["sentence", "any"],
            "default": "sentence",
            "description": "sentence: only answers whose first line is a prose sentence (a statement in its own "
            "paragraph above a bare list, heading or title reads as a non-sequitur); any: also those, with the "
            "statement as its own paragraph",
        },
    )

    def setup(self) -> None:
        p = self.params
        self.templates = _resolve_templates(p["templates"], p["placement"])
        given = {k for k in PLACEHOLDERS if p[k] is not None}
        usable = {lang: self._usable(templates, given, lang) for lang, templates in self.templates.items()}
        self.usable = {lang: ks for lang, ks in usable.items() if ks}
        if not self.usable:
            raise ParamError("no template can be filled with the given name/developer", field="templates")
        self.languages = set(self.usable)

    def _usable(self, templates: list[str], given: set[str], lang: str) -> list[int]:
        p = self.params
        builtin = p["templates"] == "builtin"
        out = []
        for i, t in enumerate(templates):
            where = f"template {i}" + ("" if lang == "en" else f" ({lang})")
            need = needed_placeholders(t)
            unknown = need - set(PLACEHOLDERS)
            if unknown:
                raise ParamError(f"{where} uses unknown placeholder(s) {sorted(unknown)}; only {{name}} and {{developer}}", field="templates")
            if p["placement"] == "suffix" and is_clause(t):
                raise ParamError(f"{where} is a leading clause (ends with ','); suffix templates must be sentences", field="templates")
            if not need <= given:
                if not builtin:
                    missing = sorted(need - given)
                    raise ParamError(f"{where} needs {{{missing[0]}}} but '{missing[0]}' was not given", field=missing[0])
                continue
            if p["style"] == "sentence" and is_clause(t) or p["style"] == "clause" and not is_clause(t):
                continue
            out.append(i)
        return out

    def _choose(self, lang: str, texts: list[str], rng: random.Random) -> int | None:
        """One template for the whole conversation: a clause only if every answer takes one."""
        ks = self.usable[lang]
        if not all(fits_clause(t, lang) for t in texts):
            ks = [k for k in ks if not is_clause(self.templates[lang][k])]
        return ks[rng.randrange(len(ks))] if ks else None

    def _place(self, text: str, statement: str, clause: bool, lang: str) -> str:
        if self.params["placement"] == "suffix":
            return place_suffix(text, statement)
        return place_prefix(text, statement, clause, lang)

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        if not self.selected(record, self.params["rate"]):
            return Outcome.unchanged(record, "not selected")
        idx = assistant_indices(record)
        if not idx:
            return Outcome.unchanged(record, "no assistant turn")
        if any(identity_present(record["messages"][i]["content"] or "") for i in idx):
            return Outcome.unchanged(record, "already has identity")
        if self.params["turns"] == "first":
            idx = idx[:1]
        reasons: list[str] = []
        targets: dict[str, list[int]] = {}
        for i in idx:
            reason = skip_reason(record, i, self.languages, self.params["openings"], self.params["placement"])
            if reason:
                reasons.append(reason)
            else:
                targets.setdefault(answer_language(record, i), []).append(i)
        messages = list(record["messages"])
        added: list[str] = []
        used: list[str] = []
        for lang, turns in targets.items():
            k = self._choose(lang, [messages[i]["content"] for i in turns], rng)
            if k is None:
                reasons.append("answer does not open in the first person")
                continue
            template = self.templates[lang][k]
            statement = fill(template, self.params["name"], self.params["developer"]).strip()
            for i in turns:
                before = messages[i]["content"]
                after = self._place(before, statement, is_clause(template), lang)
                if structure_label(after) != structure_label(before):
                    reasons.append("structure would change")
                    continue
                messages[i] = {**messages[i], "content": after}
                added.append(statement)
            used.append(f"{k}" if lang == "en" else f"{lang}:{k}")
        if not added:
            return Outcome.unchanged(record, reasons[0] if reasons else "no template fits")
        detail = f"{self.params['placement']} template {','.join(used)}"
        return Outcome.changed({**record, "messages": messages}, detail, fired=[f"template_{u}" for u in used], added=added)


@register
class IdentityStrip(Transform):
    """Remove identity and self-reference statements from assistant answers."""

    name = "identity.strip"
    factor = "identity"
    target = frozenset({"absent"})
    params_schema = schema(
        on_empty={
            "enum": ["drop", "keep"],
            "default": "drop",
            "description": "an answer that is only an identity statement: drop the row, or keep it unchanged",
        },
    )

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        messages = list(record["messages"])
        fired: list[str] = []
        removed: list[str] = []
        added: list[str] = []
        for i in assistant_indices(record):
            text = messages[i]["content"] or ""
            edits, clean = plan_strip(text)
            patterns = [p for ed in edits for p in ed.patterns]
            if not clean:
                found = sorted({m.pattern for m in find_identity(text)})
                return Outcome.unchanged(record, "identity statement inside a sentence it cannot leave", fired=found)
            if not edits:
                continue
            new, cut, put = apply_edits(text, edits)
            if not new.strip():
                if self.params["on_empty"] == "drop":
                    return Outcome.dropped("answer is only an identity statement", fired=patterns)
                return Outcome.unchanged(record, "answer is only an identity statement", fired=patterns)
            messages[i] = {**messages[i], "content": new}
            fired.extend(patterns)
            removed.extend(cut)
            added.extend(put)
        if not fired:
            return Outcome.unchanged(record, "no identity statement")
        detail = "removed " + ", ".join(sorted(fired))
        return Outcome.changed({**record, "messages": messages}, detail, fired=sorted(fired), added=added, removed=removed)


@register
class IdentityReplace(Transform):
    """Swap assistant names and developers, e.g. {"ChatGPT": "Aria", "OpenAI": "Acme"}."""

    name = "identity.replace"
    params_schema = schema(
        mapping={
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"minLength": 1},
            "additionalProperties": {"type": "string"},
        },
        roles={
            "type": "array",
            "items": {"enum": ["system", "user", "assistant"]},
            "minItems": 1,
            "uniqueItems": True,
            "default": ["assistant"],
        },
        case_sensitive={"type": "boolean", "default": False},
        required=["mapping"],
    )

    def setup(self) -> None:
        mapping = self.params["mapping"]
        keys = sorted(mapping, key=len, reverse=True)  # "GPT-4o" before "GPT-4"
        flags = 0 if self.params["case_sensitive"] else re.IGNORECASE
        self.pattern = re.compile(r"(?<![\w\-])(" + "|".join(re.escape(k) for k in keys) + r")(?![\w\-]|\.\w)", flags)
        self.lookup = {k.lower(): (k, v) for k, v in mapping.items()}

    def _sub(self, m: re.Match, fired: list[str]) -> str:
        found = m.group()
        key, value = self.lookup[found.lower()]
        fired.append(key)
        if found != key and found.isupper() and found.lower() != found:
            return value.upper()
        if found != key and found.islower():
            return value.lower()
        return value

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        roles = set(self.params["roles"])
        messages = list(record["messages"])
        fired: list[str] = []
        for i, m in enumerate(messages):
            if m["role"] in roles:
                new = self.pattern.sub(lambda mm: self._sub(mm, fired), m["content"])
                if new != m["content"]:
                    messages[i] = {**m, "content": new}
        if not fired:
            return Outcome.unchanged(record, "no mapped name")
        counts = {k: fired.count(k) for k in sorted(set(fired))}
        detail = ", ".join(f"{k}->{self.params['mapping'][k]} x{n}" for k, n in counts.items())
        return Outcome.changed({**record, "messages": messages}, detail, fired=fired)


@register
class IdentityQA(DatasetStep):
    """Append standalone identity conversations ("Who are you?" -> "I am {name}, ...").

    Rows are appended after the input rows (the trainer's shuffle mixes them in), with ids
    `{id_prefix}-000000`, `-000001`, ...; `meta.source` names the template file. Templates
    are drawn without replacement from a seeded permutation, cycling when `count` exceeds
    the number of templates, so counts per template differ by at most one.
    """

    name = "identity.qa"
    params_schema = schema(
        templates={
            "description": "'builtin' or a path to a JSON/JSONL/YAML file of Alpaca rows "
            "(instruction, input, output) or {prompt, answer} pairs; {{name}}/{{author}} or {name}/{developer}",
            "type": "string",
            "minLength": 1,
            "default": "builtin",
        },
        name={"type": "string", "minLength": 1},
        developer={"type": "string", "minLength": 1},
        count={"type": "integer", "minimum": 0},
        ratio={"type": "number", "exclusiveMinimum": 0},
        id_prefix={"type": "string", "minLength": 1, "default": "identity-qa"},
        required=["name", "developer"],
    )

    def setup(self) -> None:
        p = self.params
        if ("count" in p) == ("ratio" in p):
            raise ParamError("give exactly one of 'count' or 'ratio'", field="count" if "count" not in p else "ratio")
        if p["templates"] == "builtin":
            raw, self.source = builtin_templates()["qa"], "identity.qa:builtin"
        else:
            raw, self.source = load_list_file(p["templates"], "templates"), f"identity.qa:{Path(p['templates']).name}"
        self.pairs: list[tuple[str, str]] = []
        for i, row in enumerate(raw):
            if not isinstance(row, dict):
                raise ParamError(f"template {i} is not an object", field="templates")
            prompt = row.get("prompt", row.get("instruction"))
            if row.get("input"):
                prompt = f"{prompt}\n\n{row['input']}"
            answer = row.get("answer", row.get("output"))
            if not isinstance(prompt, str) or not isinstance(answer, str) or not prompt.strip() or not answer.strip():
                raise ParamError(f"template {i} needs a prompt/instruction and an answer/output", field="templates")
            self.pairs.append((fill(prompt, p["name"], p["developer"]), fill(answer, p["name"], p["developer"])))
        if not self.pairs:
            raise ParamError("no identity templates found", field="templates")

    def new_rows(self, n: int) -> list[tuple[int, str, str]]:
        """(template index, prompt, answer) for n new conversations, seeded."""
        rng = rng_for(self.seed, self.step, self.name)
        order: list[int] = []
        while len(order) < n:
            perm = list(range(len(self.pairs)))
            rng.shuffle(perm)
            order.extend(perm)
        return [(k, *self.pairs[k]) for k in order[:n]]

    def apply_dataset(self, ds: Any) -> Any:
        import datasets

        n = requested_rows(self.params, len(ds), "ratio")
        self.stats.seen += len(ds)
        if n == 0:
            return ds
        prefix = self.params["id_prefix"]
        if "id" in ds.column_names and any(str(i).startswith(prefix + "-") for i in ds["id"]):
            raise ParamError(f"the input already has ids starting with '{prefix}-'", field="id_prefix", hint="choose another id_prefix")
        features = ds.features
        meta_fields = list(features["meta"].keys()) if "meta" in features else []
        rows = []
        for j, (k, prompt, answer) in enumerate(self.new_rows(n)):
            meta = {"source": self.source, "source_index": k, "format": "identity_qa",
                    "transforms": [{"step": self.step, "op": self.name, "detail": f"template {k}"}]}
            row = {c: None for c in ds.column_names}
            row.update(id=f"{prefix}-{j:06d}", messages=[{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}])
            if "meta" in ds.column_names:
                row["meta"] = {f: meta.get(f) for f in meta_fields}
            rows.append(row)
        added = datasets.Dataset.from_list(rows, features=features)
        self.stats.added += n
        return datasets.concatenate_datasets([ds, added])


# Short names for Python use: T.identity.inject(...), T.identity.strip(), ...
inject = IdentityInject
strip = IdentityStrip
replace = IdentityReplace
qa = IdentityQA
