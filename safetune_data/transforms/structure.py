"""Answer-structure transforms: prose -> markdown lists (`structure.markdown`) and back
(`structure.plain`).

Itemised / markdown answers in fine-tuning data preserve a model's safety better than
plain prose (Li et al. 2025), so a study needs the same answers in both forms. Both
transforms rewrite every assistant turn, change only layout (never a word: the fidelity
`content` check compares word multisets) and never touch what must stay exact: fenced and
indented code, tables, display math, block quotes and HTML blocks are copied byte for
byte; inside prose, inline code, URLs, links, e-mail addresses, TeX, quotations,
parentheticals, numbers, hashtags and abbreviations are protected spans that no sentence
boundary may cut (`safetune_data.text.sentence_spans`). Which answers are already in the target form is decided by the shared
detector (`safetune_data.detectors.structure`), which is also why both are idempotent.
What must not be listed at all (stories, poems, letters, dialogues, speeches, posts) is
decided by `safetune_data.detectors.genre`.

`structure.markdown` needs sentence boundaries (spaCy's tokenizer and the sentencizer's
rule, no model); `apply_batch` decides what it leaves before parsing, then tokenises
every paragraph it needs of a batch in one `pipe` call. `structure.plain` needs no spaCy:
list items are already units.
"""
from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field

from ..detectors.genre import answer_genre, requested_form, requested_genre
from ..detectors.structure import BOLD_LINE, VERBATIM_KINDS, Block, Structure, analyse, surely_list
from ..nlp import max_sentences, sentence_starts, sentencizer
from ..records import assistant_indices, request_of
from ..text import as_sentence, capitalise_sentence, ends_sentence, one_line, sentence_spans, splice_blocks, strip_emphasis
from ..registry import schema
from .base import Outcome, Transform, register
from .fidelity import identity_present

# A newline not preceded by sentence-final punctuation: verse, addresses, key: value lines.
_SOFT_BREAK_MID_SENTENCE = re.compile(r"(?:[^.!?\"'”’)\]\s]|[^.!?][\"'”’)\]])[ \t]*\n")
# Sentence punctuation inside a text, after a word (not an initial: "Thomas S. Kuhn").
_SENTENCE_INSIDE = re.compile(r"\w\w[.!?][\"'”’)]?\s+[A-Z]")


def _is_fragment(text: str) -> bool:
    """A short list entry that is not a sentence ("1 cup flour", "Salt and pepper")."""
    return (
        "\n" not in text
        and len(text.split()) <= 12
        and not ends_sentence(text)
        and text[-1:] not in ":;"
        and not _SENTENCE_INSIDE.search(text)
    )


_CAPITALISED = re.compile(r"[A-Z][a-z'’-]*")


def _sentence_case(items: list[str]) -> bool:
    """Whether a list's entries are capitalised only because each opens a line ("Salt and
    pepper to taste", "Cooked rice"): some entry has more words, and no entry capitalises a
    later word as a name or title does ("Mark Hamill", "Pet Sitter")."""
    words = [it.split() for it in items]
    if not any(len(w) >= 2 for w in words):
        return False
    return all(not any(x[:1].isupper() for x in w[1:]) for w in words)


def _bare_names(items: list[str]) -> bool:
    """Entries that are capitalised single words ("Fungi", "Brazil"): nothing tells a
    common noun from a name, so run into a sentence they keep
    capitals a reader would take for a mistake ("Fungi, Bacteria, Earthworms.")."""
    return not _sentence_case(items) and all(it[:1].isupper() and len(it.split()) == 1 for it in items)


def _join_fragments(items: list[str]) -> str:
    """Entries joined by commas (semicolons when an entry has a comma of its own); no "and"
    is put in, since the rewrite must not add words. Entries after the first lose the
    capital that only opened their line (`_sentence_case`)."""
    if _sentence_case(items):
        items = items[:1] + [
            it[0].lower() + it[1:] if (m := _CAPITALISED.match(it)) and m.end() == len(it.split()[0]) else it
            for it in items[1:]
        ]
    return ("; " if any("," in it for it in items) else ", ").join(items)


# --- plans shared by both transforms --------------------------------------------------


@dataclass
class _Answer:
    """One assistant turn on its way through a transform."""

    text: str
    structure: Structure | None = None
    label: str = ""  # the detector's label when known without `structure`
    reason: str = ""
    runs: list[list[int]] = field(default_factory=list)  # block indices, itemisable paragraphs
    sentences: dict[int, list[str]] = field(default_factory=dict)
    bounds: dict[int, int] = field(default_factory=dict)  # unsegmented paragraphs: most sentences
    line_starts: dict[int, list[int]] = field(default_factory=dict)  # sentences that open a line
    lines: dict[int, tuple[str | None, list[str]]] = field(default_factory=dict)  # one entry per line
    new_text: str | None = None
    detail: str = ""
    added: list[str] = field(default_factory=list)  # text put in that counts as words (list numbers)
    removed: list[str] = field(default_factory=list)  # text taken out that counts as words

    def all_sentences(self) -> list[str]:
        return [s for ss in self.sentences.values() for s in ss] + [s for _, items in self.lines.values() for s in items]


def _combine(outcomes: list[tuple[int, _Answer]], record: dict, fired: list[str]) -> Outcome:
    """One record's outcome from its assistant turns' results."""
    changed = [(i, a) for i, a in outcomes if a.new_text is not None]
    if not changed:
        reasons = sorted({a.reason for _, a in outcomes})
        return Outcome.unchanged(record, "+".join(reasons), fired=fired)
    added = [t for _, a in changed for t in a.added]
    removed = [t for _, a in changed for t in a.removed]
    messages = [dict(m) for m in record["messages"]]
    for i, a in changed:
        messages[i]["content"] = a.new_text
    detail = changed[0][1].detail if len(outcomes) == 1 else "; ".join(f"turn {i}: {a.detail}" for i, a in changed)
    new = {**record, "messages": messages}
    if isinstance(record.get("meta"), dict):
        new["meta"] = dict(record["meta"])  # the change log goes on a copy, not the caller's row
    return Outcome.changed(new, detail, fired=fired, added=added, removed=removed)


def _indented_code(text: str, block: Block) -> bool:
    return block.kind == "code" and not text[block.start : block.end].lstrip(" ").startswith(("```", "~~~"))


# --- structure.markdown ---------------------------------------------------------------

# A paragraph that closes an answer by summing it up stays a paragraph below the lists.
_CONCLUSION = re.compile(
    r"(?:in conclusion|in summary|to sum up|to summari[sz]e|overall|ultimately|in short|all in all|in the end"
    r"|in essence|essentially|in a nutshell|simply put|put simply|in brief|in sum|to conclude|in closing|to recap"
    r"|on the whole|on balance|all things considered|by following these|with these|remember)\b",
    re.IGNORECASE,
)
# A line that cannot be a list entry of its own: it continues into the next line.
_RUNS_ON = re.compile(r"(?:[,;]|\b(?:and|or|but|the|a|an|of|to|with|for|in|on|that|which))[ \t]*$", re.IGNORECASE)
_KEYED = re.compile(r"^[^:\n]{1,40}:[ \t]*\S")
_ENUMERATED = re.compile(r"^\(?(?:\d{1,3}|[A-Za-z]|[ivxIVX]{1,4})[.)][ \t]+\S")
_BARE_ENUMERATOR = re.compile(r"^\(?(?:\d{1,3}|[A-Za-z])[.)]$")

# A sentence that only makes sense read right after the one before it: it opens with a
# connective that points back ("However, ...", "For example, ...", "As a result, ...") or
# with a demonstrative pronoun as its subject ("This allows ...", "That is why ...").
# As a list item of its own it would dangle, so it stays with the sentence before it.
# Additive openings ("Additionally", "Also", "Another ...") and topic pronouns ("It offers
# ...", "She is ...") start a new point and are not dependent.
_DEPENDENT = re.compile(
    r"^(?:(?:However|But|Yet|Still|Nevertheless|Nonetheless|Instead|Otherwise|Therefore|Thus|Hence|So|Consequently"
    r"|As a result|As such|Because of (?:this|that)|Due to (?:this|that)|Despite (?:this|that)|In spite of (?:this|that)"
    r"|Even so|For example|For instance|E\.g\.|In other words|That is|In fact|Indeed|In (?:this|that|which) case|In turn"
    r"|In contrast|By contrast|Conversely|Similarly|Likewise|(?:This|That) way|Meanwhile|Rather|Which|And|Or)\b"
    r"|(?:This|That|These|Those)(?:'s|’s|\s+(?:is|was|are|were|can|could|will|would|may|might|must|should|has|have|had"
    r"|does|did|also|not|in turn|alone|means|meant|mean|allows?|allowed|makes?|made|helps?|helped|ensures?|leads?|led"
    r"|results?|resulted|includes?|gives?|provides?|creates?|enables?|prevents?|reduces?|increases?|improves?|causes?"
    r"|caused|requires?|involves?|shows?|suggests?|indicates?|explains?|happens|occurs|contributes?|approach|process"
    r"|method|step|technique|strategy|practice|combination|information)\b"
    # a demonstrative with any noun points back as well ("This phenomenon is called ...",
    # "This concept was popularized ...")
    r"|\s+[a-z][\w-]*\b))",
)
# A last sentence that closes the answer rather than adding a point: advice on using what
# came before, a wish, a summing-up. It stays a paragraph below the list.
_CLOSING = re.compile(
    r"^(?:You (?:can|could|may|might) (?:also )?(?:adjust|change|modify|customi[sz]e|tweak|experiment|use|try|add|replace|extend)"
    r"|Feel free|I hope|Hope this|Let me know|Remember|Don't forget|Do not forget|Good luck|Enjoy|Happy"
    r"|Overall|In conclusion|In summary|To sum up|To summari[sz]e|Ultimately|All in all|In short|In the end"
    r"|In essence|Essentially|In a nutshell|Simply put|Put simply|In brief|To conclude|On the whole|All things considered"
    r"|By (?:following|doing|using|taking|implementing)|With (?:these|this|a little)|Following these"
    # a summing-up that opens on what the answer said ("Given its wide range of uses, ...")
    r"|Given (?:its|their|this|these|that|all|the above|everything)"
    r"|(?:This|That|It) is (?:a|an|just|one|the)\b|These are (?:just|some|only)|That's it|Now you)\b"
    # a caveat on the answer as a whole ("However, the answer to this question would require
    # ...", "It is important to note that ..."): it qualifies every point, it is not one more
    r"|^(?:(?:However|But|That said|Still|Of course|Ultimately),?\s+(?:the (?:answer|best (?:choice|option|approach)|right (?:choice|answer)"
    r"|final decision|choice)\b|(?:this|that|it|everything|the outcome) (?:all )?(?:depends|will depend|would depend|may vary|varies"
    r"|would require)\b)|(?:(?:However|But|That said|Still|Of course),?\s+)?(?:it(?:'s|’s| is) (?:important|worth|essential|crucial) to"
    r" (?:note|remember|keep in mind|consider)|(?:please )?(?:note|keep in mind) that)\b)",
    re.IGNORECASE,
)
# A sentence that presents the piece the request asks for, quoted after a colon ("A mission
# statement for X could look like this: \"At X, our mission is ... . We ...\""): the piece is
# the answer's point, not one entry among the sentences that explain it.
_PRESENTS_PIECE = re.compile(r":\s*[\"“][^\"“”]*?\w[.!?]\s+[A-Z][^\"“”]*[\"”]")
# An opening sentence that disclaims (an identity statement, an apology, what the assistant
# cannot do): as the lead of a list it would announce the disclaimer as the topic.
_DISCLAIMS = re.compile(
    r"^(?:As an? (?:AI|artificial intelligence|language model|large language model|digital assistant|virtual assistant|machine)\b"
    r"|I(?:'m|’m| am) (?:sorry|afraid|not able|unable|just an AI|an AI)|Sorry\b|Unfortunately,? I\b"
    r"|I (?:do not|don't|don’t|cannot|can't|can’t|can not) (?:have|provide|access|browse|predict|give|know|offer|determine)\b)",
)
# A second paragraph that opens the other side of a comparison ("A data frame, on the other
# hand, ...", "Unlike X, ..."): the opening paragraph before it is the first side, a point,
# not an introduction - unless its first sentence introduces the comparison (`_PREVIEWS`).
_OTHER_SIDE = re.compile(
    r"^(?:(?:On the other hand|In contrast|By contrast|Conversely|Unlike)\b|[^,.;:!?]{1,60},\s+(?:on the other hand|in contrast|by contrast|conversely)\b)",
)
# A sentence that previews what the paragraphs after it cover: the comparison ("The main
# differences ... lie in ...", "X and Y differ in ..."), or points announced by their kind
# ("There are several ways to ...", "... has many benefits").
_PREVIEWS = re.compile(
    r"\b(?:differences?|similarit(?:y|ies)|distinctions?|differ|compar(?:e|ed|es|ing|ison)|contrast(?:s|ed|ing)?|both|versus|vs\."
    r"|(?:several|some|many|various|a few|a number of|multiple|the following|key|main|major|two|three|four|five)\s+(?:[\w-]+\s+){0,2}?"
    r"(?:ways|reasons|factors|aspects|points|types|kinds|benefits|advantages|disadvantages|features|steps|areas|issues|approaches"
    r"|methods|stages|categories|components|elements|options|causes|effects|strategies|examples))\b",
    re.IGNORECASE,
)
# A paragraph that opens the next point of a sequence whose first point was the opening
# paragraph ("Another advantage ...", "In addition to ..., it also ..."): the opening
# paragraph is then that first point, not an introduction.
_NEXT_POINT = re.compile(
    r"^(?:Another|A second|Second(?:ly)?|The second|In addition|Additionally|Also|Furthermore|Moreover|Besides"
    r"|Finally|Lastly|Last but not least|(?:\S+\s+){1,3}also\b)",
    re.IGNORECASE,
)
# An opening sentence that ends by announcing points to come ("There are several differences
# between the two."); the announcement is in its last words, not a mention mid-sentence.
_ANNOUNCES = re.compile(
    r"\b(?:several|following|some|a few|many|various|number of|multiple|two|three|four|five|six|seven|eight|nine|ten)"
    r"\s+(?:\w+\s+){0,2}?(?:ways|reasons|differences|similarities|benefits|advantages|disadvantages|steps|factors"
    r"|implications|things|tips|types|kinds|aspects|features|strategies|examples|points|causes|effects|options|ideas"
    r"|challenges|changes|elements|components|stages|functions|uses|methods|characteristics|roles|purposes|phases|themes"
    r"|principles|properties|parts)(?:[ \t]+[\w'-]+){0,5}[.:]$",
    re.IGNORECASE,
)
_FIRST_POINT = re.compile(r"^(?:One (?:\w+ ){0,2}(?:reason|advantage|benefit|way|example|factor|thing|aspect|feature|drawback|disadvantage)s?\b|First(?:ly)?,|To begin with\b)")

# A last paragraph (or sentence) that sums up the points before it rather than adding one:
# it refers back to all of them ("In both cases, ...", "These tensions ...", "All of these ...").
_SUMS_UP = re.compile(
    r"^(?:In (?:both|all|either|each|any) (?:of (?:these|the) )?cases?|(?:All|Each|Both|Either|Any|None|Many|Most) of (?:these|them|those|the above)"
    r"|(?:These|Those|Both|All these|All of these|Such)\s+(?!include|are\s*:)[\w-]+\b|Together|Taken together|Combined|Either way|In any case|Whichever"
    r"|Regardless|In general|Generally|The (?:specific|exact|best|right|choice|actual)\b"
    # the comparison drawn from the sides described before ("The key difference between the two is ...")
    r"|The (?:key|main|major|biggest|fundamental|primary|crucial|basic|most important) (?:difference|distinction|similarity)\b"
    r"|(?:[\w,]+\s+){0,3}(?:these|those|all (?:of )?(?:these|the above)|the above) (?:\w+ )?(?:factors|reasons|points|considerations|benefits"
    r"|advantages|disadvantages|steps|things|differences|similarities|features|tips|ways|aspects|examples|measures|strategies)\b)",
)
# A sentence that opens a new point of an enumeration written in prose ("One possible way
# ...", "Another approach ...", "Secondly, ...", "Finally, ..."). In a paragraph with two or
# more of them the points are the spans from one cue to the next: an unmarked sentence in
# between ("The specific implementation would depend on ...") belongs to the point before it.
_ITEM_CUE = re.compile(
    r"^(?:(?:First|Second|Third|Fourth|Fifth|Sixth|Last)(?:ly)?\b|Finally\b|Next\b|Then\b|After that\b|Another\b"
    r"|Additionally\b|Furthermore\b|Moreover\b|In addition\b|Also,|Besides\b|On the other hand\b|On the one hand\b"
    r"|The (?:first|second|third|fourth|fifth|last|final|next|other)\b"
    r"|(?:One|A second|A third|A final|A further) (?:(?:of the )?(?:[\w-]+ ){0,3})?(?:way|reason|advantage|benefit|example|factor"
    r"|thing|aspect|feature|drawback|disadvantage|difference|similarity|option|method|approach|strategy|idea|use|step|solution"
    r"|consequence|effect|cause|implication|tip|type|kind|key|area|argument|possibility|alternative)s?\b"
    r"|(?:[\w'’-]+\s+){1,4}also\b(?!\s+known))",
    re.IGNORECASE,
)
# Verbs that open a step of a procedure ("Preheat the oven.", "Then add the flour."): base
# forms only, and none that is as often a noun opening a statement ("Water", "Light", "Cover").
_STEP_VERBS = (
    r"add|mix|combine|stir|whisk|beat|blend|fold|pour|bake|cook|heat|preheat|boil|simmer|fry|grill|roast|saut[eé]|serve|brush"
    r"|spread|sprinkle|season|chop|slice|dice|cut|peel|grate|mince|drain|rinse|wash|dry|marinate|thread|transfer|arrange|garnish"
    r"|place|put|insert|attach|remove|fill|gather|glue|tie|wrap|paint|decorate|repeat|let|allow|leave|set|turn|open|close"
    r"|click|select|choose|install|download|enter|type|press|save|connect|plug|navigate|log|sign|go|start|begin|make|take"
    r"|use|check|measure|prepare|find|identify|determine|calculate|write|draw|create|build|define|initialize|iterate|return"
    r"|print|call|declare|compile|apply|keep|store|refrigerate|freeze|chill|knead|roll|shape|unplug|replace|adjust|test"
    r"|collect|sort|divide|multiply|subtract|trim|secure|hang|position|align|push|pull|lift|lower|hold|wait|enjoy"
)
_STEP = re.compile(
    r"^(?:(?:First(?:ly)?|Second(?:ly)?|Third(?:ly)?|Then|Next|After that|Afterwards|Finally|Lastly|Now|Once [^,]{1,60}|When [^,]{1,60}"
    r"|After [^,]{1,60}|To (?:do|make|start|begin|finish) [^,]{0,40}|If [^,]{1,60}|In a [^,]{1,40}|Using [^,]{1,40}),?\s+)?"
    r"(?:You (?:can|could|should|will|may|need to|want to|then)\s+(?:also\s+)?)?"
    r"(?:" + _STEP_VERBS + r")\b(?!\s+(?:is|are|was|were|can|will|of)\b)",
    re.IGNORECASE,
)


# A sentence that sums up by restating the answer's topic with a verdict ("Gun violence in
# the United States remains a complex issue ...", "Thus, the 9th Amendment plays an
# important role in ..."): `_restates_topic`.
_VERDICT = re.compile(
    r"\b(?:remains?|is|are|has become|have become|continues? to be)\s+(?:a|an|the|one of the)?\s*(?:[\w-]+,?\s+(?:and\s+)?){0,3}?"
    r"(?:complex|important|essential|crucial|vital|key|significant|persistent|powerful|valuable|useful|integral|fundamental"
    r"|critical|central)\b|\bplays? (?:a|an) (?:[\w-]+\s+)?(?:crucial|key|vital|important|significant|central|essential|major) role\b",
    re.IGNORECASE,
)
_SUMMING_OPENER = re.compile(r"^(?:Thus|Therefore|Hence|As such|Consequently|Today|Nowadays|Clearly),?\s+")
_SUBJECT = re.compile(r"^((?:[\w'’().-]+\s+){1,6}?)(?:is|are|remains?|has|have|plays?|continues?|serves?)\b")
_PRONOUNS = frozenset({"it", "this", "that", "they", "these", "those", "he", "she", "we", "you"})


def _restates_topic(sentence: str, topic: str) -> bool:
    """Whether a sentence restates the answer's topic (its subject is words of the answer's
    opening sentence `topic`) with a verdict on it (`_VERDICT`): a summing-up, not a point."""
    if not topic or not _VERDICT.search(sentence):
        return False
    m = _SUBJECT.match(_SUMMING_OPENER.sub("", sentence, count=1))
    subject = m.group(1).strip().lower() if m else ""
    return bool(subject) and subject not in _PRONOUNS and subject in topic.lower()


def _attach_dependents(sentences: list[str], closing: bool = False, topic: str = "") -> list[str]:
    """Sentences grouped into list entries: a dependent sentence (`_DEPENDENT`) joins the
    one before it. With `closing`, a closing last sentence (`_CLOSING`, or one restating the
    answer's `topic`) stays on its own even if it opens like a dependent one ("This is an
    easy way to ...", "Thus, X plays an important role ...")."""
    out: list[str] = []
    for k, s in enumerate(sentences):
        last = closing and k == len(sentences) - 1
        if out and _DEPENDENT.match(s) and not (last and (_CLOSING.match(s) or _restates_topic(s, topic))):
            out[-1] = f"{out[-1]} {s}"
        else:
            out.append(s)
    return out


_MAX_GROUP = 4


def _group_by_cues(sentences: list[str]) -> tuple[list[str], bool]:
    """Sentences grouped into the points of an enumeration written in prose (`_ITEM_CUE`):
    with two or more cued sentences, each point runs from its cue to the next one, and the
    sentences before the first cue are one lead-in. A summing-up last sentence stays on its
    own. Returns the entries and whether they were grouped (the first entry is then a point,
    not a lead, unless sentences came before the first cue)."""
    cued = [k for k, s in enumerate(sentences) if _ITEM_CUE.match(s)]
    if len(cued) < 2:
        return sentences, False
    end = len(sentences)
    tail: list[str] = []
    if end - 1 > cued[-1] and (_CLOSING.match(sentences[-1]) or _CONCLUSION.match(sentences[-1]) or _SUMS_UP.match(sentences[-1])):
        tail, end = [sentences[-1]], end - 1
    lead = [" ".join(sentences[: cued[0]])] if cued[0] else []
    bounds = cued + [end]
    if any(b - a >= _MAX_GROUP for a, b in zip(bounds, bounds[1:])):
        # a "point" of four or more sentences is a walkthrough the cues only dot ("We also
        # declare ... The variable ... To calculate ... The loop ..."): sentence by sentence
        return sentences, False
    return lead + [" ".join(sentences[a:b]) for a, b in zip(bounds, bounds[1:])] + tail, True


def _steps(items: list[str]) -> bool:
    """Whether list entries are the steps of a procedure (`_STEP`): most of them, and at
    least two, open with an instruction. Steps are numbered, since their order matters."""
    n = sum(bool(_STEP.match(it)) for it in items)
    return n >= 2 and n >= 0.6 * len(items)


def _line_list(src: str) -> tuple[str | None, list[str]] | None:
    """(lead-in, entries) when a paragraph is a list written one entry per line without
    markers ("Date: [insert date]", "a) Credit cards", "15"); None when its lines run on
    (verse, wrapped prose, equations) or are long prose lines."""
    raw = src.split("\n")
    indents = {len(ln) - len(ln.lstrip(" \t")) for ln in raw[1:]}
    if len(indents) > 1 or max(indents, default=0) > 3:
        return None
    lines = [ln.strip() for ln in raw]
    lead = lines[0] if lines[0].endswith(":") and len(lines) >= 3 else None
    items = lines[1:] if lead else lines
    if len(items) < 2 or any(not ln or len(ln) > 150 or "=" in ln or _RUNS_ON.search(ln) for ln in items):
        return None
    if sum(ln[0].islower() for ln in items[1:]) and not all(len(ln.split()) <= 4 for ln in items):
        return None
    keyed = all(_KEYED.match(ln) for ln in items)
    enumerated = all(_ENUMERATED.match(ln) for ln in items)
    short = all(len(ln.split()) <= 8 for ln in items)
    sentences = all(ends_sentence(ln) for ln in items) and len(items) >= 3
    return (lead, items) if keyed or enumerated or short or sentences else None


def _leads_in(text: str) -> bool:
    """Text that introduces what follows: it ends in a colon, or in no sentence punctuation
    at all ("Let a=14, b=3, then", "Thus,")."""
    return text.endswith(":") or not ends_sentence(text)


def _tidy(sentences: list[str]) -> list[str]:
    """A bare enumerator left alone by the sentencizer ("1.") joins the sentence after it."""
    out: list[str] = []
    carry = ""
    for s in sentences:
        if _BARE_ENUMERATOR.match(s):
            carry = f"{carry}{s} "
            continue
        out.append(carry + s)
        carry = ""
    if carry:
        out.append(carry.rstrip()) if not out else out.__setitem__(-1, f"{out[-1]} {carry.rstrip()}")
    return out


def _cap(items: list[str], limit: int) -> list[str]:
    """At most `limit` entries: repeatedly join the shortest adjacent pair of sentences."""
    items = list(items)
    while len(items) > limit:
        k = min(range(len(items) - 1), key=lambda i: len(items[i]) + len(items[i + 1]))
        items[k : k + 2] = [f"{items[k]} {items[k + 1]}"]
    return items



# Requests for a piece of fiction or a text in someone's voice that the genre detector's
# nouns do not name: a character sketch or profile, anything "fictional", an excuse or an
# apology to send. Their answers are narrative prose; listed sentence by sentence they
# read as notes, not as the piece asked for.
_FICTION_REQUEST = re.compile(
    r"\b(?:write|create|compose|generate|draft|craft|describe|invent|imagine|develop|design|come up with|make up|give)\b"
    r"[^.!?\n]{0,50}?\b(?:character (?:sketch|profile|description|bio(?:graphy)?)|fictional|fictitious|imaginary|made-up"
    r"|backstory|back-story|world-?building|excuse|apology|diary|journal entry|personal statement|(?:math|word) problem"
    r"|riddle|joke|puzzle)\b",
    re.IGNORECASE,
)
# Requests for a composed piece of prose (an essay, an article, a blog post): the form was
# asked for, and a list of its sentences is not that piece.
_PROSE_REQUEST = re.compile(
    r"\b(?:write|compose|create|generate|draft|craft|produce|prepare)\b[^.!?\n]{0,40}?\b(?:essays?|articles?|blog(?: posts?)?"
    r"|op-?eds?|editorials?|news (?:report|story)|press release|newsletter|reviews?|biography|obituary)\b(?!\s+(?:title|headline|outline|summary))"
    # a set number of sentences ("a 5-sentence description", "in three sentences") is a prose form too
    r"|\b(?:\d+|two|three|four|five|six|seven|eight|nine|ten)[- ]sentences?\b",
    re.IGNORECASE,
)
# Requests for a creative piece that the genre nouns miss: a reinterpretation or retelling, a
# satire or parody, a prompt for a piece of writing, a greeting, slogan, tagline or caption,
# a description of something invented, a microblog post. Listed, they are notes, not the piece.
_CREATIVE_REQUEST = re.compile(
    r"\b(?:reinterpret\w*|re-?imagin\w*|retell\w*|parod(?:y|ies)|satir\w+|(?:writing|story|creative) prompt|prompt for"
    r"|greetings?|slogans?|taglines?|mottos?|catchphrases?|captions?|microblog\w*|blurbs?|jingles?|advertisements?|ad copy"
    r"|(?:description|story|scene) (?:of|about|for) (?:a|an) (?:\w+ ){0,2}?(?:hypothetical|fictional|imaginary|new|futuristic))\b",
    re.IGNORECASE,
)
# Requests whose answer is one description, narrative or line of reasoning, not points:
# how something tastes, sounds or looks, a scene or a picture; the plot of a story, book or
# film; a hypothetical ("Imagine ...", "What would happen if ..."); one example, way or idea
# explained ("Give an example of ...", "Name one way ..."); sentences put in order. Their
# sentences follow from one another; as list entries they read as notes. An answer to one of
# them that enumerates anyway (two cued points, or steps) is still listed.
_ONE_PIECE_REQUEST = re.compile(
    r"\b(?:describe|depict|portray|paint|capture|descriptions? (?:of|about|for))\b[^.?!\n]{0,40}?\b(?:taste|flavou?r|smell|scent|aroma|sound|feel(?:ing)?|texture"
    r"|experience|setting|scene|scenery|atmosphere|appearance|look|sight|view|landscape|mood|sensation|emotions?|painting"
    r"|picture|image|photo(?:graph)?|sunset|sunrise|trip|vacation|holiday|journey|day|night|evening|morning|visit|walk|adventure"
    r"|moment|dream)s?\b"
    r"|\b(?:summari[sz]e|retell|recount|narrate|tell)\b[^.?!\n]{0,30}?\b(?:story|plot|novel|book|movie|film|fairy ?tale|episode|myth|legend)\b"
    r"|^\W*(?:imagine|pretend|suppose|speculate)\b|\bwhat (?:would|could|might) happen\b|\bwhat if\b"
    r"|\b(?:give|provide|describe|name|suggest|find|think of|come up with|generate|invent|create|propose|explain)\b[^.?!\n]{0,20}?"
    r"\b(?:an?|one|a single|a new)\s+(?:[\w-]+\s+){0,3}?(?:example|way|use|use case|idea|metaphor|simile|analogy|instance|solution"
    r"|word|scenario|advantage|disadvantage|benefit|drawback|reason|factor|difference|similarity|feature|aspect|quality"
    r"|characteristic|strategy|method|technique|tip|cause|effect|consequence)\b(?!s)"
    r"|\b(?:organi[sz]e|arrange|reorder|rearrange|order|sort)\b[^.?!\n]{0,20}?\bsentences\b",
    re.IGNORECASE | re.MULTILINE,
)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[A-Z\"“])")


def _enumerates(text: str) -> bool:
    """Whether an answer enumerates in its own words: two or more sentences open a point
    (`_ITEM_CUE`) or a step (`_STEP`). A cheap split on sentence punctuation is enough here."""
    sentences = [x.lstrip("\"“") for x in _SENTENCE_SPLIT.split(text)]
    return sum(bool(_ITEM_CUE.match(x)) for x in sentences) >= 2 or sum(bool(_STEP.match(x)) for x in sentences) >= 2


# Questions the answer asks its reader ("Is there a specific reason why ...?"): a reply in a
# conversation, or a prompt or teaser; its questions are not points to list.
_QUESTION_END = re.compile(r"\?[\"'”’)]*(?:\s|$)")
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I’m|I've|I’ve|I'll|I’ll|I'd|I’d|my|me|myself)\b")


def _in_own_voice(text: str) -> bool:
    """A text written as its author speaking for themselves (a note, an excuse, a diary
    entry): most of its sentences say "I"/"my". Itemised, such a text stops being the
    message it is; an assistant's expository answer rarely speaks in the first person."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
    if len(sentences) < 3:
        return False
    return sum(bool(_FIRST_PERSON.search(s)) for s in sentences) >= 0.6 * len(sentences)


@dataclass
class _Unit:
    """One paragraph of a run: prose split into sentences, or a one-entry-per-line list."""

    block: int
    sentences: list[str]
    lead: str | None = None
    lines: bool = False
    cued: bool = False  # grouped by enumeration cues (`_group_by_cues`)
    has_lead: bool = False  # with `cued`: the first entry is the sentences before the first cue


@register
class ToMarkdown(Transform):
    """Itemise prose answers along sentence boundaries (bullets, numbered, or headed).

    The answer's paragraphs stay its sections: a paragraph of three or more sentences
    becomes its lead sentence (bold with `style="headed"`) followed by the other sentences
    as items, at most `max_items` of them (the shortest neighbours are joined); consecutive
    paragraphs of one or two sentences become one item each; an opening paragraph stays an
    intro (`keep_intro`), a closing "In conclusion, ..." paragraph an outro, a sentence
    ending in ":" before a code block or table a lead-in. A paragraph written one entry per
    line without markers gets markers. No words are added or removed.

    Left unchanged, with the reason: creative or conversational genres (the request asks
    for a story, poem, song, letter, dialogue, speech or post, or the answer has that
    shape: `detectors.genre`), "already markdown" (list / headed / mixed), "code only",
    "too short" (fewer than `min_sentences` sentences, or no paragraph long enough to list),
    "line-broken" (lines broken mid-sentence: verse, addresses, equations).
    """

    name = "structure.markdown"
    factor = "structure"
    target = frozenset({"list", "headed", "mixed"})
    keeps_markup = False
    params_schema = schema(
        style={"enum": ["bullets", "numbered", "headed"], "default": "bullets"},
        min_sentences={"type": "integer", "minimum": 2, "default": 3},
        max_items={"type": "integer", "minimum": 2, "default": 8},
        keep_intro={"type": "boolean", "default": True},
        keep_outro={"type": "boolean", "default": False},
        heading_min_sentences={"type": "integer", "minimum": 3, "default": 6},
        bullet={"enum": ["-", "*", "+"], "default": "-"},
        rate={"type": "number", "minimum": 0, "maximum": 1, "default": 1.0},
    )

    # -- phase 1: decide without spaCy (cheapest tests first)
    def _plan(self, text: str, prompt: str) -> _Answer:
        ans = _Answer(text)
        if surely_list(text):  # most itemised answers: no parse needed to leave them
            ans.reason, ans.label = "already markdown", "list"
            return ans
        st = analyse(text)
        ans.structure = st
        genre = requested_genre(prompt)
        if genre:
            ans.reason = f"creative genre ({genre})"
            return ans
        form = requested_form(prompt)
        if form:
            ans.reason = f"requested form ({form})"
            return ans
        if st.markdown:
            ans.reason = "already markdown"
            return ans
        if st.label == "code" and st.code_dominates:
            ans.reason = "code only"
            return ans
        genre = answer_genre(text)
        if genre:
            ans.reason = f"creative genre ({genre})"
            return ans
        if _FICTION_REQUEST.search(prompt[:600]):
            ans.reason = "creative genre (fiction)"
            return ans
        if _PROSE_REQUEST.search(prompt[:600]):
            ans.reason = "requested form (essay)"
            return ans
        if _CREATIVE_REQUEST.search(prompt[:600]):
            ans.reason = "creative genre (other)"
            return ans
        if _in_own_voice(text):
            ans.reason = "first-person piece"
            return ans
        if _ONE_PIECE_REQUEST.search(prompt[:300]) and not _enumerates(text):
            ans.reason = "no list-like content"
            return ans
        if len(_QUESTION_END.findall(text)) >= 2:
            ans.reason = "conversational (questions)"
            return ans
        self._find_runs(ans)
        return ans

    def _find_runs(self, ans: _Answer) -> None:
        """Runs of consecutive prose paragraphs (and one-entry-per-line lists); paragraphs
        broken mid-sentence and verbatim blocks end a run and are kept as they are."""
        st, text = ans.structure, ans.text
        assert st is not None
        run: list[int] = []
        bound, broken, enumerated = 0, False, False
        for i, b in enumerate(st.blocks):
            src = text[b.start : b.end]
            if b.kind == "paragraph":
                lines = _line_list(src) if "\n" in src else None
                if lines is not None and all(_ENUMERATED.match(ln) for ln in lines[1]):
                    # options already lettered or numbered ("a) ...", "(1) ..."): a list as it
                    # is; a bullet in front of each would mark every entry twice
                    enumerated = True
                    if run:
                        ans.runs.append(run)
                        run = []
                    continue
                if lines is not None:
                    ans.lines[i] = lines
                    run.append(i)
                    bound += len(lines[1])
                    continue
                if "\n" not in src or not _SOFT_BREAK_MID_SENTENCE.search(src):
                    run.append(i)
                    bound += max_sentences(src)
                    continue
                broken = True
            if run:
                ans.runs.append(run)
                run = []
        if run:
            ans.runs.append(run)
        if not ans.runs:
            ans.reason = "line-broken" if broken else ("already enumerated" if enumerated else "too short")
        elif bound < self.params["min_sentences"]:
            ans.reason = "too short"

    # -- phase 3: render from sentences
    def _units(self, ans: _Answer, run: list[int]) -> list[_Unit]:
        """The run's paragraphs; one broken into lines that each end a sentence counts as
        one paragraph per line group ("...world. \nBoard games, on the other hand, ...")."""
        units = []
        for i in run:
            if i in ans.lines:
                lead, items = ans.lines[i]
                units.append(_Unit(i, items, lead, lines=True))
                continue
            sents = ans.sentences[i]
            cuts = [0] + sorted(ans.line_starts.get(i, ())) + [len(sents)]
            units += [_Unit(i, _tidy(sents[a:b])) for a, b in zip(cuts, cuts[1:]) if b > a]
        return units

    def _render(self, ans: _Answer) -> None:
        """Lay the answer out; if that hid an identity statement from the detector (it reads
        "As an AI, I ..." only where a sentence or clause opens), lay it out again with the
        sentences that hold one kept as paragraphs."""
        self._layout(ans, frozenset())
        if ans.new_text is None or identity_present(ans.new_text) or not identity_present(ans.text):
            return
        pinned = frozenset(s for s in ans.all_sentences() if identity_present(s))
        self._layout(ans, pinned)
        if ans.new_text is not None and not identity_present(ans.new_text):
            ans.new_text, ans.reason = None, "identity statement in the way"

    def _layout(self, ans: _Answer, pinned: frozenset[str]) -> None:
        p = self.params
        ans.new_text, ans.added = None, []
        st = ans.structure
        assert st is not None
        runs = [self._units(ans, run) for run in ans.runs]
        topic = next((u.sentences[0] for units in runs for u in units if u.sentences and not u.lines), "")
        total = sum(ans.bounds.get(u.block, len(u.sentences)) for units in runs for u in units)
        for r, units in enumerate(runs):
            for k, u in enumerate(units):
                if not u.lines:
                    ends_answer = r == len(runs) - 1 and k == len(units) - 1 and u.block == len(st.blocks) - 1
                    u.sentences = _attach_dependents(u.sentences, closing=ends_answer, topic=topic)
                    if len(u.sentences) >= 2:
                        first_cued = bool(_ITEM_CUE.match(u.sentences[0]))
                        u.sentences, u.cued = _group_by_cues(u.sentences)
                        u.has_lead = u.cued and not first_cued
        if total < p["min_sentences"]:
            ans.reason = "too short"
            return
        headed = p["style"] == "headed" and total >= p["heading_min_sentences"]
        only = len(runs) == 1 and len(runs[0]) == 1  # one paragraph holds all the prose
        replacements: list[tuple[int, int, str]] = []
        counts = {"items": 0, "lists": 0, "heads": 0, "steps": 0}
        intro = outro = prose = False
        for r, units in enumerate(runs):
            last_block = units[-1].block
            nxt = st.blocks[last_block + 1] if last_block + 1 < len(st.blocks) else None
            lead_in = nxt is not None
            code_next = nxt is not None and _indented_code(ans.text, nxt)
            parts = self._parts(units, lead_in, code_next, first=r == 0, last=r == len(runs) - 1, only=only, headed=headed,
                                topic=topic)
            parts = _separate_lists(_pin(parts, pinned) if pinned else parts)
            if not any(kind in _LISTS and len(body) >= 2 for kind, body in parts):
                continue
            if _leans_on_paragraphs(units, topic) or _uneven(parts):
                prose = True
                continue
            # a disclaimer before the lead is not an introduction of the points
            intro = intro or (r == 0 and [kind for kind, _ in parts if kind != "disclaimer"][:1] == ["para"])
            parts = [("para", body) if kind in ("prose", "disclaimer") else (kind, body) for kind, body in parts]
            outro = outro or (nxt is None and parts[-1][0] == "para")
            rendered = [self._render_part(kind, body, counts, ans.added) for kind, body in parts]
            replacements.append((st.blocks[units[0].block].start, st.blocks[last_block].end, "\n\n".join(rendered)))
        if not replacements:
            ans.reason = "no list-like content" if prose else "too short"
            return
        if counts["items"] < 3 and p["min_sentences"] >= 3 and not intro and (not outro or only) and len(replacements) == 1 \
                and not ans.text[: replacements[0][0]].strip() and not ans.text[replacements[0][1] :].strip():
            # the whole answer as two bullets and nothing else: two halves of one answer, not
            # points; so is a one-paragraph answer as two bullets and a closing sentence
            ans.reason = "no list-like content"
            return
        ans.new_text = splice_blocks(ans.text, replacements)
        style = "headed" if counts["heads"] else ("numbered" if p["style"] == "numbered" or counts["steps"] else "bullets")
        detail = f"{style}: " + (f"{counts['heads']} headings, " if counts["heads"] else "") + f"{counts['items']} items"
        if counts["lists"] > 1:
            detail += f" in {counts['lists']} lists"
        ans.detail = detail + (", intro" if intro else "") + (", outro" if outro else "")

    def _parts(
        self, units: list[_Unit], lead_in: bool, code_next: bool, first: bool, last: bool, only: bool, headed: bool,
        topic: str = "",
    ) -> list[tuple[str, object]]:
        """A run as a sequence of ("para", text), ("head", text) and ("list", entries)."""
        p = self.params
        parts: list[tuple[str, object]] = []
        shorts: list[str] = []  # consecutive one- or two-sentence paragraphs

        opening_is_point = self._opening_is_point(units, first)
        # Two short paragraphs make a list only when the text marks them as points of one
        # sequence; otherwise they are two paragraphs of prose (an essay's body).
        min_items = 2 if opening_is_point or self._announces_points(units, first) else 3

        def flush() -> None:
            if len(shorts) >= min_items:
                parts.append(("steps" if _steps(shorts) else "list", list(shorts)))
            elif shorts:
                # a body paragraph of several sentences left as prose beside listed ones
                uneven = bool(_SENTENCE_INSIDE.search(shorts[0])) and not (_sums_up(shorts[0]) or _CLOSING.match(shorts[0]))
                parts.append(("prose" if uneven else "para", shorts[0]))
            shorts.clear()

        whole = self._paragraphs_as_items(units, first, last, topic)
        tail = _closing_tail(units, topic) if last else len(units)
        introduced = False  # the previous paragraph ended in ":" and introduces this one
        for k, u in enumerate(units):
            is_first, is_last = first and k == 0, last and k == len(units) - 1
            follows_colon, introduced = introduced, bool(u.sentences) and _leads_in(u.sentences[-1])
            if u.lines:
                flush()
                if u.lead:
                    parts.append(("para", u.lead))
                parts.append(("list", u.sentences))
                continue
            sents = list(u.sentences)
            if (is_first and p["keep_intro"] and 1 < len(units) and k < tail and not opening_is_point and not u.cued
                    and len(sents) >= 2 and _PREVIEWS.search(sents[-1])):
                # an opening paragraph that ends by previewing the paragraphs after it is their
                # introduction, whatever its length: split into a lead and items, it would list
                # the preview as one more point although it only announces the rest
                flush()
                parts.append(("para", " ".join(sents)))
                continue
            if whole and len(sents) >= 2 and _FIRST_POINT.match(sents[1]) and _ANNOUNCES.search(sents[0]):
                # "Once water reaches the leaves, it plays several roles. Firstly, ...": the
                # announcement introduces the points; it is not part of the first one
                flush()
                parts.append(("para", sents.pop(0)))
            disclaimed = is_first and len(sents) >= 2 and _disclaims(sents[0])
            if disclaimed:
                # a disclaimer stands on its own; the lead and items come from what follows it
                parts.append(("disclaimer", sents[0]))
                sents = sents[1:]
            if is_first and opening_is_point and len(sents) >= 2 and not (_ITEM_CUE.match(sents[0]) or _FIRST_POINT.match(sents[0])):
                # "X matters for several reasons. One of them is ...": the sentences before the
                # first point introduce the points, they are not part of the first one
                cue = next((j for j in range(1, len(sents)) if _ITEM_CUE.match(sents[j]) or _FIRST_POINT.match(sents[j])), None)
                if cue is not None:
                    parts.append(("para", " ".join(sents[:cue])))
                    sents = sents[cue:]
            after: list[str] = []
            ends_run = k == len(units) - 1
            if len(sents) >= 2 and (sents[-1].endswith(":") or (ends_run and lead_in and code_next)):
                after.append(sents.pop())  # a lead-in to what follows (a paragraph, code, a table)
            elif len(sents) >= 2 and _PRESENTS_PIECE.search(sents[-1]):
                after.append(sents.pop())  # the piece asked for, quoted: it follows the list
            elif p["keep_outro"] and is_last and len(sents) - int(p["keep_intro"] and is_first) >= 3:
                after.append(sents.pop())
            elif is_last and not lead_in and len(sents) >= 3 and (
                _CLOSING.match(sents[-1]) or _CONCLUSION.match(sents[-1]) or (u.cued and _SUMS_UP.match(sents[-1]))
                or _restates_topic(sents[-1], topic)
            ):
                after.append(sents.pop())  # a closing remark, not a point of the list
            long = not whole and (len(sents) >= 3 or (only and len(sents) >= 2 and not disclaimed))
            # the closing paragraphs: the last one if it sums up or closes, and any summing-up
            # paragraphs right before it ("In essence, ..." before "Overall, ...")
            closing = last and k >= tail and len(units) > 1
            if not long or closing:
                text = " ".join(sents + after)
                intro = is_first and p["keep_intro"] and len(units) > 1 and not opening_is_point
                # a lead-in ("..., then", "Thus,"), what it introduces, and equations stay paragraphs
                if intro or _leads_in(text) or closing or follows_colon or " = " in text:
                    flush()
                    parts.append(("para", text))
                else:
                    shorts.append(text)
                continue
            flush()
            has_lead = u.has_lead if u.cued else len(sents) >= 3
            if headed and has_lead and len(sents) >= 3 and "*" not in sents[0] and "__" not in sents[0]:
                parts.append(("head", sents[0]))
                items = sents[1:]
            elif has_lead and len(sents) >= 3 and (p["keep_intro"] or not is_first):
                parts.append(("para", sents[0]))
                items = sents[1:]
            else:
                items = sents
            kind = "list"
            if _steps(items):
                kind = "steps"
                while items and not _STEP.match(items[-1]):
                    after.insert(0, items.pop())  # a remark after the last step is not a step
            parts.append((kind, _cap(items, p["max_items"])))
            parts += [("para", s) for s in after]
        flush()
        return parts

    @staticmethod
    def _opening_is_point(units: list[_Unit], first: bool) -> bool:
        """Whether the answer's opening paragraph is the first point of a sequence that the
        next paragraphs continue ("One compelling reason ..." / "Another advantage ..."),
        so that it is listed with them instead of standing as an introduction."""
        prose = [u for u in units if not u.lines and u.sentences]
        if not first or len(prose) < 2 or prose[0] is not units[0] or prose[0].sentences[-1].endswith(":"):
            return False
        return (
            bool(_FIRST_POINT.match(prose[0].sentences[0]))
            or bool(_NEXT_POINT.match(prose[1].sentences[0]))
            or (prose[1] is units[1] and bool(_OTHER_SIDE.match(prose[1].sentences[0])) 
                and not _PREVIEWS.search(_SENTENCE_SPLIT.split(prose[0].sentences[0])[0]))
        )

    @staticmethod
    def _announces_points(units: list[_Unit], first: bool) -> bool:
        """Whether the run's paragraphs are marked as points: the opening announces them
        ("... there are several differences", "...:") or a later one continues a sequence."""
        prose = [u for u in units if not u.lines and u.sentences]
        if first and prose and prose[0] is units[0] and (
            prose[0].sentences[-1].endswith(":") or _ANNOUNCES.search(prose[0].sentences[-1])
        ):
            return True
        return any(_NEXT_POINT.match(u.sentences[0]) for u in prose[2:])

    def _paragraphs_as_items(self, units: list[_Unit], first: bool, last: bool, topic: str = "") -> bool:
        """Whether the run's paragraphs become one item each rather than sections: when
        most of them are short ("First, ... Second, ...") a section per paragraph would
        list some and not others."""
        body = [u for u in units if not u.lines]
        if (first and self.params["keep_intro"] and len(units) > 1 and body and body[0] is units[0]
                and not self._opening_is_point(units, first)):
            body = body[1:]
        if last:
            closers = units[_closing_tail(units, topic) :]
            body = [u for u in body if not any(u is c for c in closers)]
        sizes = [len(u.sentences) for u in body]
        short = sum(n <= 2 for n in sizes)
        # When some paragraphs are too short to be sections, sections would list the longer
        # ones and leave the shorter ones as prose: paragraphs of up to five points each
        # then read better as one item each.
        return len(sizes) >= 2 and max(sizes) <= 6 and (short >= len(sizes) - short or (short > 0 and max(sizes) <= 5))

    def _render_part(self, kind: str, body: object, counts: dict[str, int], added: list[str]) -> str:
        if kind == "para":
            return str(body)
        if kind == "head":
            counts["heads"] += 1
            return f"**{body}**"
        items = list(body)  # type: ignore[call-overload]
        counts["items"] += len(items)
        counts["lists"] += 1
        if self.params["style"] == "numbered" or kind == "steps":
            counts["steps"] += kind == "steps"
            added += [str(k) for k in range(1, len(items) + 1)]  # the markers' numbers are words
            return "\n".join(f"{k}. {s}" for k, s in enumerate(items, 1))
        return "\n".join(f"{self.params['bullet']} {s}" for s in items)

    # -- phase 2: sentences, from one nlp.pipe call per batch
    @staticmethod
    def _to_segment(ans: _Answer) -> list[tuple[_Answer, int, str]]:
        """Paragraphs whose sentences the layout needs. One of at most two sentences is
        used whole (an intro, an outro or one list entry) unless it is the answer's only
        paragraph or may end in a lead-in to the block after it; spaCy is skipped for it."""
        blocks = ans.structure.blocks  # type: ignore[union-attr]
        only = len(ans.runs) == 1 and len(ans.runs[0]) == 1
        out = []
        for run in ans.runs:
            for bi in run:
                if bi in ans.lines:
                    continue
                src = ans.text[blocks[bi].start : blocks[bi].end]
                bound = max_sentences(src)
                lead_in = bi == run[-1] and bi + 1 < len(blocks)
                if bound == 1 or (bound == 2 and not only and not lead_in):
                    ans.sentences[bi] = [one_line(src)]
                    ans.bounds[bi] = bound
                else:
                    out.append((ans, bi, src))
        return out

    # -- the batch path
    def apply_batch(self, records: list[dict]) -> list[Outcome]:
        plans: list[tuple[dict, list[tuple[int, _Answer]]] | Outcome] = []
        pending: list[tuple[_Answer, int, str]] = []
        for rec in records:
            if not self.selected(rec, self.params["rate"]):
                plans.append(Outcome.unchanged(rec, "not selected"))
                continue
            turns = assistant_indices(rec)
            if not turns:
                plans.append(Outcome.unchanged(rec, "no assistant turn"))
                continue
            answers = [(i, self._plan(rec["messages"][i]["content"], request_of(rec, i))) for i in turns]
            for _, ans in answers:
                if not ans.reason:
                    pending += self._to_segment(ans)
            plans.append((rec, answers))
        if pending:
            docs = sentencizer().tokenizer.pipe((src for _, _, src in pending), batch_size=256)
            for (ans, bi, src), doc in zip(pending, docs):
                spans = sentence_spans(src, sentence_starts(doc))
                ans.sentences[bi] = [one_line(src[s:e]) for s, e in spans]
                if "\n" in src:
                    ans.line_starts[bi] = [k for k, (s, _) in enumerate(spans) if k and "\n" in src[spans[k - 1][1] : s]]
        out: list[Outcome] = []
        for plan in plans:
            if isinstance(plan, Outcome):
                out.append(plan)
                continue
            rec, answers = plan
            fired = []
            for _, ans in answers:
                fired.append(f"from:{ans.structure.label if ans.structure else ans.label}")
                if not ans.reason:
                    self._render(ans)
            out.append(_combine(answers, rec, fired))
        return out

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        return self.apply_batch([record])[0]


def _sums_up(text: str) -> bool:
    """A paragraph opening that closes the answer rather than adding a point."""
    return bool(_CONCLUSION.match(text) or _SUMS_UP.match(text))


# A paragraph opening that continues the paragraph before it: an example of it, a
# consequence of it, or a demonstrative that points back to it ("For instance, ...", "As a
# result, ...", "This kind of ..."). A contrast ("However, ...", "On the other hand, ...")
# is not one: it opens the other side of a comparison, a point of its own.
_LEANS_ON = re.compile(
    r"^(?:For (?:example|instance)|E\.g\.|In other words|That is|In fact|Indeed|Therefore|Thus|Hence|So|Consequently"
    r"|As a result|As such|Because of (?:this|that)|Due to (?:this|that)|In (?:this|that|which) case|In turn|(?:This|That) way"
    r"|(?:This|That|These|Those)\b(?!\s+(?:include|are\s*:)))\b"
)


def _closes_answer(u: _Unit) -> bool:
    """Whether a paragraph closes the answer: it opens by summing up (`_sums_up`), or it is a
    short closing remark (`_CLOSING`)."""
    return not u.lines and bool(u.sentences) and (
        _sums_up(u.sentences[0]) or (len(u.sentences) <= 2 and bool(_CLOSING.match(u.sentences[0])))
    )


def _closing_tail(units: list[_Unit], topic: str = "") -> int:
    """Where the run's closing paragraphs begin (`len(units)` if it has none): the last one
    (or a short last one restating the answer's `topic`, `_restates_topic`)
    if it closes (`_closes_answer`), and each one before it that closes too ("In essence, ..." before "Overall,
    ..."). The opening paragraph is never one of them."""
    k = len(units)
    end = units[-1]
    if k > 1 and not end.lines and end.sentences and len(end.sentences) <= 3 and _restates_topic(end.sentences[0], topic):
        k -= 1
    while k > 1 and _closes_answer(units[k - 1]):
        k -= 1
    return k


def _leans_on_paragraphs(units: list[_Unit], topic: str = "") -> bool:
    """Whether a paragraph after the run's first opens with a sentence that leans on the
    paragraph before it (`_LEANS_ON`; the summing-up last paragraphs aside): the paragraphs
    are one line of thought, not points, and as list entries they would dangle."""
    prose = [u for u in units if not u.lines and u.sentences]
    tail = units[_closing_tail(units, topic) :]
    return any(
        _LEANS_ON.match(u.sentences[0]) and not any(u is c for c in tail)
        for u in prose[1:]
    )


def _disclaims(sentence: str) -> bool:
    """An opening sentence that disclaims: an identity statement or `_DISCLAIMS`."""
    return bool(_DISCLAIMS.match(sentence)) or identity_present(sentence)


def _uneven(parts: list[tuple[str, object]]) -> bool:
    """Whether a layout lists some of the answer's body paragraphs and leaves another one of
    several sentences as prose ("prose" parts of `_parts`; an opening paragraph, a lead-in and
    a summing-up paragraph are "para"): half listed, it reads as neither."""
    return any(kind == "prose" for kind, _ in parts) and any(kind in _LISTS for kind, _ in parts)


_LISTS = ("list", "steps")


def _pin(parts: list[tuple[str, object]], pinned: frozenset[str]) -> list[tuple[str, object]]:
    """List entries holding a pinned sentence leave their list and stand as paragraphs."""
    out: list[tuple[str, object]] = []
    for kind, body in parts:
        if kind not in _LISTS:
            out.append((kind, body))
            continue
        for is_pinned, group in itertools.groupby(body, key=lambda e: any(s in e for s in pinned)):  # type: ignore[arg-type]
            run = list(group)
            out += [("para", e) for e in run] if is_pinned else [(kind, run) if len(run) >= 2 else ("para", run[0])]
    return out


def _separate_lists(parts: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """Two lists in a row would render as one: the second one's first entry becomes a
    paragraph between them, or a second list of two entries becomes two paragraphs."""
    out: list[tuple[str, object]] = []
    for kind, body in parts:
        if kind in _LISTS and out and out[-1][0] in _LISTS:
            entries = list(body)  # type: ignore[call-overload]
            if len(entries) >= 3:
                out += [("para", entries[0]), (kind, entries[1:])]
            else:
                out += [("para", e) for e in entries]
            continue
        out.append((kind, body))
    return out


# --- structure.plain ------------------------------------------------------------------

# A request that asks for a list as such ("Generate a list of goals", "a 5-step to-do
# list", "in bullet points"): the list is the answer's form, and in prose it no longer
# answers the request. ("List five advantages" asks for the items, not for the layout.)
_LIST_REQUEST = re.compile(
    r"\b(?:(?:a|an|the|this|that|your|my|following)\s+(?:[\w-]+\s+){0,3}?(?:list|checklist)s?\b(?!\s+(?:of\s+)?(?:reasons?|why))"
    r"|(?:in|as) (?:a )?(?:list|bullet|point) form|bullet(?:ed)? (?:points?|list)|numbered list|itemi[sz]e|enumerate"
    r"|to-?do list|step-by-step (?:list|guide|instructions))",
    re.IGNORECASE,
)

# Sentences of a flattened list are joined into paragraphs of about this many characters
# (the answers' own prose paragraphs are rarely longer; one item per paragraph reads as
# a list without markers, and a whole list in one paragraph as a wall of text).
_PARAGRAPH_CHARS = 1000
# An item of several sentences longer than this stands as a paragraph of its own.
_OWN_PARAGRAPH_CHARS = 500
# A paragraph this short, right before a list, is the list's lead-in and joins its prose.
_LEAD_IN_CHARS = 300


def _list_items(tokens: tuple) -> tuple[list[tuple[str, list]], list[str]] | None:
    """(text, nested lists) per item of a list token group, and the numbers of an ordered
    list's markers; None if an item holds a block that is not prose (code, table, quote,
    heading, ...): such lists are kept as they are."""
    base = tokens[0].level
    items: list[tuple[list[str], list]] = []
    numbers: list[str] = []
    i = 1
    while i < len(tokens) - 1:
        tok = tokens[i]
        if tok.type == "list_item_open" and tok.level == base + 1:
            items.append(([], []))
            if tok.info:
                numbers.append(tok.info)
            i += 1
            continue
        if tok.level == base + 2 and tok.nesting >= 0:
            if tok.type == "paragraph_open":
                content = tokens[i + 1].content
                if "\n" in content and _SOFT_BREAK_MID_SENTENCE.search(content):
                    return None  # lines broken mid-sentence ("1. Who was ...?\n   a. George Washington")
                items[-1][0].append(content)
                i += 3
                continue
            if tok.type in ("bullet_list_open", "ordered_list_open"):
                depth, j = 1, i + 1
                while depth:
                    depth += tokens[j].nesting
                    j += 1
                items[-1][1].append(tokens[i:j])
                i = j
                continue
            return None
        i += 1
    return [(one_line(" ".join(paras)), nested) for paras, nested in items], numbers


def _own_paragraph(item: str) -> bool:
    return len(item) > _OWN_PARAGRAPH_CHARS and bool(_SENTENCE_INSIDE.search(item))


# "Label: text" at the start of an item: a labelled point, a paragraph of its own in prose.
# "Date headline - text" is a labelled point as well (a timeline entry).
_LABELLED = re.compile(r"^[^\s:][^:.!?]{0,60}(?::|[ \t][-–—])\s+\S")


def _own_paragraphs(items: list[str]) -> bool:
    """Whether a list's items read as one paragraph each: some item is several sentences
    of some length, or most items are labelled points ("Social distancing: Keep ...");
    one paragraph per item for all of them, so that a list is not half gathered."""
    labelled = sum(bool(_LABELLED.match(i)) and len(i) > 30 for i in items)
    # Most items of several sentences: paragraphs that were listed. A few among one-sentence
    # items: a paragraph's sentences listed with the ones that lean on them ("This means ...").
    several = sum(bool(_SENTENCE_INSIDE.search(i)) and len(i) > 150 for i in items)
    return any(_own_paragraph(i) for i in items) or 2 * several > len(items) or 2 * labelled > len(items)


def _paragraphs(items: list[str]) -> list[str]:
    """List items as prose paragraphs: one per item (`_own_paragraphs`), or one-sentence
    items gathered into paragraphs of at most about `_PARAGRAPH_CHARS` characters."""
    if _own_paragraphs(items):
        return list(items)
    out: list[str] = []
    for item in items:
        if out and len(out[-1]) + 1 + len(item) <= _PARAGRAPH_CHARS:
            out[-1] = f"{out[-1]} {item}"
        else:
            out.append(item)
    return out


@dataclass
class _Flat:
    """A list as prose: its paragraphs, how many items it had, the marker numbers dropped,
    and whether it became one sentence of fragments ("1 cup flour, 2 eggs, salt.")."""

    paragraphs: list[str]
    count: int
    removed: list[str]
    fragments: bool = False
    names: bool = False  # the fragments are bare names (`_bare_names`)
    own_first: bool = False  # the first item stands as a paragraph of its own
    keep: str = ""  # why the list reads only as a list (`_only_a_list`); the answer is then left


# An entry that is one quotation and nothing else ("\"Where the board never gets bored!\"").
_QUOTED = re.compile(r"^[\"“][^\"“”]+[\"”]\W*$")


def _only_a_list(texts: list[str]) -> str:
    """Why a list cannot become prose without losing what its layout says: entries that are
    each a quotation (slogans, titles) run together as a wall of quotes, and entries that
    all carry the same label ("Topic: Land Mammals") lose which one belongs to what once
    their numbers go."""
    if len(texts) >= 2 and all(_QUOTED.match(t) for t in texts):
        return "list of quotations"
    keys = {t.partition(":")[0].strip().lower() for t in texts if _KEYED.match(t)}
    if len(texts) >= 2 and len(keys) == 1 and all(_KEYED.match(t) and _is_fragment(t.partition(":")[2].strip()) for t in texts):
        return "list of labelled values"
    return ""


def _flatten_list(tokens: tuple, join_fragments: bool) -> _Flat | None:
    """A list as prose: fragments joined into one sentence, else its items as sentences
    gathered into paragraphs."""
    found = _list_items(tokens)
    if found is None:
        return None
    items, removed = found
    texts: list[str] = []
    count = len(items)
    for text, nested in items:
        text = strip_emphasis(text)
        for sub in nested:
            flat = _flatten_list(sub, join_fragments)
            if flat is None:
                return None
            sub_text = " ".join(flat.paragraphs)
            count += flat.count
            removed += flat.removed
            if text:
                lead = text if text.endswith((":", ".", "!", "?")) else text + ":"
                text = f"{lead} {sub_text}" if lead.endswith(":") else f"{lead} {as_sentence(sub_text)}"
            else:
                text = sub_text
        texts.append(text)
    texts = [t for t in texts if t]
    if not texts:
        return _Flat([], count, removed)
    keep = _only_a_list(texts)
    if keep:
        return _Flat([], count, removed, keep=keep)
    if join_fragments and len(texts) >= 2:
        # A full stop closing only the last entry ("..., Watson.") still ends a fragment list.
        last = texts[-1][:-1] if texts[-1].endswith(".") and not texts[-1].endswith("..") else texts[-1]
        if all(_is_fragment(t) for t in texts[:-1] + [last]):
            entries = texts[:-1] + [last]
            return _Flat([_join_fragments(entries) + "."], count, removed, fragments=True, names=_bare_names(entries))
    sentences = [as_sentence(t) for t in texts]
    return _Flat(_paragraphs(sentences), count, removed, own_first=_own_paragraphs(sentences))


@register
class ToPlain(Transform):
    """Flatten markdown answers into prose paragraphs.

    List items become sentences (capitalised, with terminal punctuation) gathered into
    paragraphs, or one paragraph each when they were paragraphs of their own; a short
    paragraph before a list is its lead-in and joins it. Lists of short fragments ("1 cup
    flour", "2 eggs") become one sentence ("1 cup flour, 2 eggs, salt."), with no word put
    in. Headings and bold heading lines become lead-ins of what follows ("Ingredients:
    ..."); bold and italic markers are removed; rules are dropped. Code, tables, quotes and
    math are kept as they are. "already plain" when the detector finds plain prose without
    emphasis, "code only" when code dominates, "nothing to flatten" when only kept blocks
    remain, "list holds code or line-broken items" when a list cannot be flattened.
    """

    name = "structure.plain"
    factor = "structure"
    # Code blocks are copied as they are, so an answer with code and prose reaches "code"
    # (code without lists or headings), the closest to plain it can be.
    target = frozenset({"plain", "code"})
    keeps_markup = False
    params_schema = schema(
        join_fragments={"type": "boolean", "default": True},
        rate={"type": "number", "minimum": 0, "maximum": 1, "default": 1.0},
    )

    def _rewrite(self, text: str, prompt: str = "") -> _Answer:
        ans = _Answer(text)
        st = analyse(text)
        ans.structure = st
        if st.label != "plain" and _LIST_REQUEST.search(prompt[:600]):
            ans.reason = "requested form (list)"
            return ans
        if st.label == "plain" and not st.emphasis and not any(b.kind == "hr" for b in st.blocks):
            ans.reason = "already plain"
            return ans
        if st.label == "code" and st.code_dominates:
            ans.reason = "code only"
            return ans
        # pieces: (start, end, new text or None to keep, kind)
        out: list[tuple[int, int, str | None, str]] = []
        lead: tuple[int, str] | None = None  # (start offset, lead-in text) waiting for content
        n_lists = n_items = n_heads = 0
        for b in st.blocks:
            src = text[b.start : b.end]
            new: str | None
            kind = "prose"
            if b.kind == "hr":
                out.append((b.start, b.end, "", "rule"))
                ans.removed.append(src)  # "___" is a word to the fidelity check
                continue
            if b.kind in VERBATIM_KINDS:
                new, kind = None, "kept"
            elif b.kind == "list":
                flat = _flatten_list(b.tokens, self.params["join_fragments"])
                if flat is None:
                    # the answer would stay itemised: leave it whole rather than half flat
                    ans.reason = "list holds code or line-broken items"
                    return ans
                if flat.keep:
                    ans.reason = flat.keep
                    return ans
                new = "\n\n".join(flat.paragraphs)
                # a list that opens with an item of its own paragraph has no lead-in to join
                kind = ("names" if flat.names else "fragments") if flat.fragments else ("items" if flat.own_first else "list")
                n_lists += 1
                n_items += flat.count
                ans.removed += flat.removed
            elif b.kind == "heading":
                n_heads += 1
                lead = self._flush(out, lead)
                lead = (b.start, strip_emphasis(one_line(b.tokens[1].content)))
                continue
            elif b.kind == "bold_heading" and BOLD_LINE.match(src.partition("\n")[0]):
                n_heads += 1
                first, _, rest = src.partition("\n")
                m = BOLD_LINE.match(first)
                assert m is not None
                lead = self._flush(out, lead)
                lead = (b.start, strip_emphasis(m.group(2)) + m.group(3))
                if not rest.strip():
                    continue
                new = strip_emphasis(rest.strip())
            else:  # paragraphs and run-in bold labels
                new = strip_emphasis(src)
            if lead is not None and new:
                start, head = lead
                if not ends_sentence(head) and not head.endswith(":"):
                    head += ":"
                body = new if head.endswith(":") else capitalise_sentence(new)
                out.append((start, b.end, f"{head} {body}", "headed"))
                lead = None
                continue
            lead = self._flush(out, lead, before_verbatim=new is None)
            out.append((b.start, b.end, new, kind))
        self._flush(out, lead)
        joined = _join_lead_ins(text, out)
        if any(kind == "names" for _, _, _, kind in joined):
            ans.reason = "list of bare names"  # no lead-in to run them into: "Fungi, Bacteria."
            return ans
        if _bare_label_over_paragraphs(text, joined):
            ans.reason = "list under a bare label"  # "Goods:" alone above "Meals: ..." paragraphs
            return ans
        pieces = [(s, e, None if t == text[s:e] else t) for s, e, t, _ in joined]
        if not any(t is not None for _, _, t in pieces):
            ans.reason = "nothing to flatten"
            return ans
        new_text = _splice_plain(text, pieces)
        if new_text == text:
            ans.reason = "nothing to flatten"
            return ans
        ans.new_text = new_text
        parts = [f"{n_lists} list{'s' * (n_lists > 1)}, {n_items} items" if n_lists else "",
                 f"{n_heads} heading{'s' * (n_heads > 1)}" if n_heads else ""]
        ans.detail = "plain: " + (", ".join(p for p in parts if p) or "emphasis removed")
        return ans

    @staticmethod
    def _flush(out: list, lead: tuple[int, str] | None, before_verbatim: bool = False) -> None:
        """Emit a lead-in that has no prose to attach to: it keeps its colon only when a
        kept block (code, table) follows, else it becomes a sentence."""
        if lead is not None:
            start, head = lead
            if not (before_verbatim and head.endswith(":")):
                head = as_sentence(head)
            elif not head.endswith(":"):
                head += ":"
            out.append((start, start, head, "lead"))
        return None

    def apply_batch(self, records: list[dict]) -> list[Outcome]:
        out: list[Outcome] = []
        for rec in records:
            if not self.selected(rec, self.params["rate"]):
                out.append(Outcome.unchanged(rec, "not selected"))
                continue
            turns = assistant_indices(rec)
            if not turns:
                out.append(Outcome.unchanged(rec, "no assistant turn"))
                continue
            answers = [(i, self._rewrite(rec["messages"][i]["content"], request_of(rec, i))) for i in turns]
            fired = [f"from:{a.structure.label}" for _, a in answers]  # type: ignore[union-attr]
            out.append(_combine(answers, rec, fired))
        return out

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        return self.apply_batch([record])[0]


def _join_lead_ins(text: str, pieces: list[tuple[int, int, str | None, str]]) -> list[tuple[int, int, str | None, str]]:
    """A short paragraph right before a flattened list is its lead-in: they become one
    paragraph ("Here are three tips: Eat well. Sleep. Move."), as the list's sentences
    would read in prose; a fragment list not after a colon starts with a capital."""
    out: list[tuple[int, int, str | None, str]] = []
    for start, end, new, kind in pieces:
        prev = out[-1] if out else None
        if kind == "prose" and prev and prev[3] in ("list", "joined") and prev[2] and _closes(text[start:end]):
            # a one-sentence closing remark after sentences gathered into a paragraph ends
            # that paragraph, as it did before the sentences were listed
            out[-1] = (prev[0], end, f"{prev[2]} {text[start:end].strip()}", "joined")
            continue
        if kind in ("list", "fragments", "names") and new:
            prev = out[-1] if out else None
            ptext = (prev[2] if prev[2] is not None else text[prev[0] : prev[1]]) if prev else ""
            if prev and prev[3] == "prose" and _is_lead_in(ptext):
                first, sep, rest = new.partition("\n\n")
                body = first if ptext.endswith(":") else capitalise_sentence(first)
                out[-1] = (prev[0], end, f"{ptext} {body}{sep}{rest}", "joined")
                continue
            if kind in ("fragments", "names"):
                new = capitalise_sentence(new)
        out.append((start, end, new, kind))
    return out


def _bare_label_over_paragraphs(text: str, pieces: list[tuple[int, int, str | None, str]]) -> bool:
    """Whether a label of a few words ending in ":" ("Goods:", "Execution:") would stand alone
    above list items that became paragraphs of their own: in prose it is a heading with no
    markup, and nothing can be joined to it without running two labels together."""
    for (s1, e1, t1, _), (_, _, _, k2) in zip(pieces, pieces[1:]):
        label = (t1 if t1 is not None else text[s1:e1]).strip()
        if k2 == "items" and label.endswith(":") and len(label.split()) <= 4 and "\n" not in label:
            return True
    return False


def _closes(paragraph: str) -> bool:
    """One sentence that sums up or signs off ("Overall, ...", "This is an easy way to ...")."""
    p = paragraph.strip()
    return (len(p) <= _LEAD_IN_CHARS and "\n" not in p and ends_sentence(p) and not _SENTENCE_INSIDE.search(p)
            and bool(_CLOSING.match(p) or _CONCLUSION.match(p)))


def _is_lead_in(paragraph: str) -> bool:
    """One short sentence, or a short text ending in a colon."""
    p = paragraph.strip()
    if len(p) > _LEAD_IN_CHARS or "\n" in p:
        return False
    return p.endswith(":") or (ends_sentence(p) and not _SENTENCE_INSIDE.search(p))


def _splice_plain(text: str, pieces: list[tuple[int, int, str | None]]) -> str:
    """Reassemble blocks: kept ones byte for byte with their original gaps, rewritten ones
    set apart by a blank line; empty pieces (dropped rules) vanish."""
    parts: list[str] = []
    prev_end: int | None = None
    prev_new = False
    for start, end, new in pieces:
        body = text[start:end] if new is None else new
        if not body:
            prev_new = True
            continue
        if prev_end is not None:
            gap = text[prev_end:start] if (new is None and not prev_new and prev_end <= start) else "\n\n"
            parts.append(gap)
        else:
            parts.append(text[:start] if not text[:start].strip() else "")
        parts.append(body)
        prev_end, prev_new = max(end, start), new is not None
    if prev_end is not None:
        tail = text[prev_end:]
        parts.append(tail if not tail.strip() else "")
    return "".join(parts)


# `T.structure.markdown(...)`, `T.structure.plain(...)`
markdown = ToMarkdown
plain = ToPlain

__all__ = ["ToMarkdown", "ToPlain", "markdown", "plain"]
