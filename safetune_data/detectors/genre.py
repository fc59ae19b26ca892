"""Creative and conversational genres: is an answer a story, poem, song, letter, dialogue,
speech or social-media post?

Such answers have a form of their own (verse lines, a salutation and a sign-off, speaker
turns, a narrative in paragraphs) that itemising would break: a poem split into bullets or
a letter whose sign-off became a list item is not the same answer in another layout. The
structure transforms therefore leave them alone, and the decision lives here so that the
profile and tests can use the same definition.

Two kinds of evidence, both regular expressions (no parser; a few microseconds a row):

- the request (the user turn): an imperative creation or editing verb ("write",
  "compose", "rewrite", "translate", ...) whose object is a genre noun ("a short story",
  "the body of an email", "a haiku"), not something about one ("a title for the poem",
  "a summary of the story", "how to write a cover letter");
- the answer's shape: a salutation or a sign-off line, speaker labels that recur
  ("A: ...", "Friend 1: ..."), verse (several short lines within a stanza, most of them not
  ending a sentence), "Once upon a time" or a quotation-heavy narrative, a speech opening.
"""
from __future__ import annotations

import re
from collections import Counter

GENRES = ("story", "poem", "song", "letter", "dialogue", "speech", "post")

# --- the request ------------------------------------------------------------------------
_NOUNS: dict[str, str] = {
    "story": r"(?:short |bedtime |fairy |love |ghost |detective )?stor(?:y|ies)|tales?|fables?|fairy ?tales?|narratives?"
    r"|anecdotes?|parables?|myths?|novel(?:la)?s?|fan ?fiction|flash fiction|(?:first|opening|next) chapter",
    "poem": r"poems?|poetry|haikus?|limericks?|sonnets?|verses?|odes?|acrostics?|couplets?|stanzas?|quatrains?|rhymes?",
    "song": r"songs?|lyrics|raps?|jingles?|ballads?|anthems?|hymns?|lullab(?:y|ies)|carols?|choruses",
    "letter": r"(?:cover |formal |thank[- ]you |love |open )?letters?|e-?mails?|memos?|invitations?|thank[- ]you (?:notes?|cards?)"
    r"|notes? to|(?:text |goodbye |farewell |birthday |welcome |apology |condolence |greeting )messages?"
    r"|postcards?|greeting cards?|replies|reply|comments? (?:for|to|on) (?:a|an|the|this|my) (?:review|post)",
    "dialogue": r"dialog(?:ue)?s?|conversations?|scripts?|screenplays?|skits?|scenes?|plays?|role-?plays?"
    r"|(?:mock |job )?interview(?! questions)",
    "speech": r"speech(?:es)?|toasts?|eulog(?:y|ies)|monologues?|soliloqu(?:y|ies)|sermons?|pep talks?"
    r"|(?:commencement|keynote|welcome|opening) (?:address|remarks)",
    "post": r"tweets?|(?:social media|facebook|instagram|linkedin|twitter) (?:posts?|updates?|captions?)",
}
_NOUN_TO_GENRE = [(g, re.compile(r"(?:" + p + r")\Z", re.IGNORECASE)) for g, p in _NOUNS.items()]
_ANY_NOUN = "|".join(f"(?:{p})" for p in _NOUNS.values())
_VERBS = (
    r"write|compose|create|generate|draft|craft|tell|produce|construct|invent|imagine|pen|output|design|develop"
    r"|make up|come up with|give me|prepare|author|rewrite|re-write|edit|revise|proofread|paraphrase|translate"
    r"|shorten|polish|improve|continue|finish|complete|expand|adapt|turn|convert|transform|narrate|recite|sing|share|recount"
    r"|i (?:need|want|would like|'d like)"
)
# The verb opens a clause: the request itself, not "how to write a letter" or "tips to
# write a poem" (a question about the genre, whose answer is prose).
_REQUEST = re.compile(
    r"(?:^|[.!?:;\n]\s*|,\s*(?:and\s+|then\s+)?|\band\s+)"
    r"(?:please\s+|kindly\s+|now\s+|(?:can|could|would|will) you\s+(?:please\s+)?|i (?:want|need|would like) you to\s+"
    r"|help me\s+|let's\s+|your task is to\s+|you (?:should|must|will|need to)\s+)?"
    r"(?P<verb>" + _VERBS + r")\b(?P<gap>[^.!?:;\n]{0,70}?)(?<![\w-])(?P<noun>" + _ANY_NOUN + r")\b(?P<after>[ \t]*[\w-]*)",
    re.IGNORECASE,
)
# Words in the gap or right after the noun that make the object something about the genre.
_GAP_BLOCK = re.compile(
    r"\b(?:for|to|from|about|on|in|with|within|that|which|whether|if|how|sentence|sentences|title|titles|name|names"
    r"|summary|headline|caption|review|analysis|critique|description|question|questions|list|outline|plot|synopsis"
    r"|ending|opening|theme|themes|moral|character|characters|setting|tips|ideas|prompt|topic|subject|word|words"
    r"|paragraph|response|reply|answer|line(?!s? of)|closing|signature|subject line|greeting|hashtags?|interpretation)\b",
    re.IGNORECASE,
)
_AFTER_BLOCK = re.compile(
    r"\s*(?:title|titles|name|names|idea|ideas|prompt|prompts|topic|topics|summary|line|lines|sentence|sentences"
    r"|question|questions|outline|structure|format|genre|type|types|analysis|review|theme|themes|ending|plot|character"
    r"|characters|writer|writers|writing|subject|word|words)\Z",
    re.IGNORECASE,
)
# "turn/convert/adapt X into a poem": the gap may hold the thing being turned.
_INTO = re.compile(r"\b(?:into|as|in the form of)\s+(?:an?\s+|the\s+)?[\w'-]*\s*[\w'-]*\s*$", re.IGNORECASE)


def requested_genre(prompt: str) -> str | None:
    """The genre the request asks the answer to be, if any."""
    if not prompt:
        return None
    head = prompt[:600]
    for m in _REQUEST.finditer(head):
        gap, after = m.group("gap"), m.group("after")
        if _AFTER_BLOCK.match(after):
            continue
        if _GAP_BLOCK.search(gap) and not _INTO.search(gap):
            continue
        noun = m.group("noun")
        for genre, pattern in _NOUN_TO_GENRE:
            if pattern.match(noun):
                return genre
    return None


# A request for one paragraph of prose ("Write a short paragraph about ...", "Arrange the
# sentences in a coherent paragraph"): the answer's form was asked for.
_PARAGRAPH_VERBS = (
    r"write|compose|create|generate|draft|craft|produce|construct|rewrite|re-write|edit|revise|proofread|paraphrase"
    r"|shorten|polish|improve|expand|arrange|reorder|combine|merge|join|turn|convert|change|complete|finish|continue"
)
_PARAGRAPH_REQUEST = re.compile(
    r"(?:^|[.!?:;\n]\s*|,\s*)(?:please\s+)?(?:" + _PARAGRAPH_VERBS + r")\b(?P<gap>[^.!?:;\n]{0,60}?)\bparagraphs?\b",
    re.IGNORECASE,
)
_AS_PARAGRAPH = re.compile(r"\b(?:in|into|as|to form|using)\s+(?:a|one|a single)\s+(?:[\w-]+\s+){0,4}?paragraph\b", re.IGNORECASE)


# A request to edit a text the user gave: the answer is that text, in its own form.
_EDIT_REQUEST = re.compile(
    r"(?:^|[.!?:;\n]\s*|,\s*)(?:please\s+)?(?:rewrite|re-write|edit|revise|proofread|correct|paraphrase|delete|remove"
    r"|shorten|condense|simplify|translate|fix|polish|improve|reword|rephrase)\b[^.!?:;\n]{0,40}?\b(?:the|this|these|my)\s+"
    r"(?:following\s+|given\s+|above\s+|provided\s+)?(?:text|passage|article|excerpt|paragraphs?|essay|document)\b",
    re.IGNORECASE,
)


def requested_form(prompt: str) -> str | None:
    """The form the request asks the answer to keep: "paragraph" (one paragraph of prose)
    or "edited text" (the user's own text, edited)."""
    if not prompt:
        return None
    head = prompt[:600]
    if _EDIT_REQUEST.search(head):
        return "edited text"
    if "aragraph" not in head:
        return None
    if _AS_PARAGRAPH.search(head) or any(not _GAP_BLOCK.search(m.group("gap")) or _INTO.search(m.group("gap"))
                                         for m in _PARAGRAPH_REQUEST.finditer(head)):
        return "paragraph"
    return None


# --- the answer's shape -----------------------------------------------------------------
_SALUTATION = re.compile(
    r"\A\s*(?:\**(?:subject|re):[^\n]*\n\s*)?(?:dear|hi|hello|hey|greetings|to whom it may concern|good (?:morning|afternoon|evening))"
    r"\b[^\n.!?]{0,60}[,:!]?[ \t]*\n",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^[ \t]*(?:sincerely(?: yours)?|yours(?: truly| sincerely| faithfully)?|(?:best|kind|warm|warmest|kindest|with)? ?regards"
    r"|best(?: wishes)?|warm(?:est)? wishes|warmly|cheers|respectfully(?: yours)?|thank you|thanks(?: again)?"
    r"|many thanks|with (?:love|gratitude|appreciation|thanks)|love|cordially|all the best|take care)[ \t]*[,!.]?[ \t]*\n"
    r"[ \t]*\S[^\n]{0,60}$",
    re.IGNORECASE | re.MULTILINE,
)
# "Name: text" at the start of a line, the name short and capitalised (or "**Name**:").
_SPEAKER = re.compile(r"^[ \t]*(?:\*\*)?([A-Z][\w.'’ ]{0,24}?|\[[^\]\n]{1,30}\])(?:\*\*)?:(?:\*\*)?[ \t]+\S", re.MULTILINE)
_SCREENPLAY_CUE = re.compile(r"^[ \t]*[A-Z][A-Z .'’-]{1,24}[ \t]*\n[ \t]*(?:\([^)\n]{1,40}\)[ \t]*\n[ \t]*)?[A-Z\"“(]", re.MULTILINE)
_VERSE_LABEL = re.compile(r"^[ \t]*[\[(]?(?:verse|chorus|refrain|bridge|outro|intro|pre-chorus|hook|stanza)\b[^\n]{0,12}$", re.IGNORECASE | re.MULTILINE)
_ONCE_UPON = re.compile(r"\A\s*(?:once upon a time|long,? long ago|there once (?:was|were|lived)|in a (?:land|kingdom|village) far)", re.IGNORECASE)
_SPEECH_OPEN = re.compile(
    r"\A\s*(?:ladies and gentlemen|good (?:morning|afternoon|evening),? (?:everyone|everybody|all|ladies)|my fellow"
    r"|thank you all for (?:coming|being here)|distinguished guests|dear (?:friends|colleagues|graduates|family))",
    re.IGNORECASE,
)
_NARRATIVE_VERB = re.compile(r"\b(?:said|asked|replied|exclaimed|whispered|shouted|cried|answered|muttered|smiled|laughed)\b")
_QUOTE = re.compile(r"[\"“”]")
_TERMINAL_END = re.compile(r"[.!?…][\"'”’)\]]*$")


_NOT_VERSE_LINE = re.compile(r"^(?:[-*+>#|]|\d{1,3}[.)]\s|[A-Za-z]{1,4}[.)]\s|```|\s{2,}|\S[^:]{0,30}:\s)|=|\[")
_BLANK = re.compile(r"\n[ \t]*\n")


def _verse_stanza(lines: list[str]) -> bool:
    """Two or more short lines of words, most not ending a sentence (they run on)."""
    if len(lines) < 2 or any(len(ln) > 90 or _NOT_VERSE_LINE.search(ln) or len(ln.split()) < 2 for ln in lines):
        return False
    runs_on = sum(1 for ln in lines[:-1] if not _TERMINAL_END.search(ln.rstrip()))
    # Wrapped prose also runs on, in long lines that often start in lower case; verse
    # lines are short or capitalised.
    lower = sum(1 for ln in lines[1:] if ln.lstrip()[:1].islower())
    short = sum(len(ln) for ln in lines) / len(lines) <= 45
    return runs_on >= 0.5 * (len(lines) - 1) and (short or lower < 0.5 * len(lines))


def _verse(text: str) -> bool:
    """Stanzas of short lines make up most of the text (a title line may stand alone)."""
    if text.count("\n") < 3:
        return False
    stanzas = [[ln for ln in part.splitlines() if ln.strip()] for part in _BLANK.split(text.strip())]
    total = sum(len(s) for s in stanzas)
    verse = sum(len(s) for s in stanzas if _verse_stanza(s))
    return verse >= 4 and verse >= 0.7 * total


def _dialogue(text: str) -> bool:
    """Speaker labels at line starts, at least one speaker speaking twice."""
    if ":" not in text:
        return False
    labels = [m.group(1).strip().lower() for m in _SPEAKER.finditer(text)]
    if len(labels) < 3:
        return False
    counts = Counter(labels)
    return len(counts) >= 2 and max(counts.values()) >= 2 and sum(c for c in counts.values() if c >= 2) >= 0.6 * len(labels)


def answer_genre(answer: str) -> str | None:
    """The genre the answer's shape shows, if any (no request needed)."""
    if not answer:
        return None
    if _SALUTATION.search(answer) or ("\n" in answer and _SIGN_OFF.search(answer[-160:])):
        return "letter"
    if _SPEECH_OPEN.search(answer):
        return "speech"
    if _dialogue(answer) or (answer.count("\n") >= 4 and len(_SCREENPLAY_CUE.findall(answer)) >= 2):
        return "dialogue"
    if _VERSE_LABEL.search(answer):
        return "song"
    if _verse(answer):
        return "poem"
    if _ONCE_UPON.search(answer):
        return "story"
    quotes = len(_QUOTE.findall(answer))
    if quotes >= 6 and len(_NARRATIVE_VERB.findall(answer)) >= 2:
        return "story"
    return None


def creative_genre(prompt: str | None, answer: str) -> str | None:
    """The request's genre, else the one the answer's shape shows; None for expository text."""
    return requested_genre(prompt or "") or answer_genre(answer)


__all__ = ["GENRES", "answer_genre", "creative_genre", "requested_form", "requested_genre"]
