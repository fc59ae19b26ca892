"""Role-play detector: persona framing of the assistant in system prompts and user turns.

Framing is a sentence that assigns the model a character: "You are a pirate captain ...",
"Pretend you are ...", "Act as ...", "Role-play as ...", "From now on, you are ...",
"Imagine you are a ...", "You are no longer ChatGPT", "Your new name is ...", "Stay in
character". A trigger counts only at the start of a sentence or line, and the reported
span runs from the trigger to the end of that sentence (or to the ":" that introduces the
task, "Act as X and answer the following:"; or to the comma of an opening clause,
"Act as a pirate, how do I ...?").

`find_framing` reports every such sentence with a `kind`; only kind "persona" is role-play
persona framing (`find_persona`, `roleplay_where`, the profile, `roleplay.strip`). The other
kinds are sentences of the same shape that the row needs, so removing them would contradict
it, and stacking a persona on them would too:

- "creative_premise" (user turns): a writing prompt addressed to the assistant, "Imagine you
  are the last person on Earth. Write a diary entry.", "Pretend you are a pirate and write a
  poem": the premise is the task's subject;
- "scenario_premise" (user turns): the task that follows depends on the premise, "Imagine
  you are a tourist in Rome, what would be your favourite sights?", "Pretend you're a human
  ... You can either pick ..." (a clause before the question, or a second-person task);
- "task_scenario" (user turns): quoted task material after a label, "Scenario: You are a
  high school student ...";
- "assistant_identity": the assistant's own product identity, "You are Chef Bot, a cooking
  assistant for Acme Foods.", "You are a helpful assistant.", "You are Pip, the in-app helper
  for Greenleaf, a meal-planning app." (identity is the other factor);
- "functional_role": "Act as a JSON formatter", "You are a translator", "Act as a Linux
  terminal": a function, not a character (stripping it would delete the task);
- "remark" (user turns): a statement about the assistant, "You are the worst person I know";
- "question": a framing sentence that ends in "?", "You're a robot?".

Premise kinds apply to user turns only: a system prompt sets a standing character, so
"You are a poet. Write in verse." there is persona framing. "You are given ...", "Imagine
you are starting a podcast" are never matched (the word after "you are" must be an
article or a name, so participles and gerunds never match).

An opening clause with any trigger whose question is asked of the character ("Act as a
Shakespearean actor, how would you greet the audience?") is a "scenario_premise" too.

`format_contract` tells whether a system prompt fixes an output format or tool contract
(JSON, tools, "respond only with", schemas, terminal emulation), which a persona would
contradict. `persona_voice`, `persona_attitude`, `persona_period`, `game_question`,
`plays_counterpart` and `speaks_as_role` tell
whether the rest of a row was written for a persona (answers in dialect, shouting or stage
directions; "a sarcastic critic"; "Where have I been today?"; "As a blacksmith, I ..."), so
that removing only the framing would leave it unexplained.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from spacy.matcher import Matcher
from spacy.tokens import Doc

from ..nlp import sentencizer
from ..text import any_in, has_word, letter_counts


KINDS = ("persona", "creative_premise", "scenario_premise", "task_scenario", "assistant_identity", "functional_role",
         "remark", "question")
# Kinds that a row needs: `roleplay.strip` keeps them, `roleplay.add` does not stack a persona on them.
PREMISE_KINDS = frozenset({"creative_premise", "scenario_premise", "task_scenario"})


@dataclass(frozen=True)
class PersonaMatch:
    """One framing sentence: character offsets into the searched text, and its kind."""

    pattern: str
    start: int
    end: int
    text: str
    kind: str = "persona"


_BE = {"LOWER": {"IN": ["are", "'re", "’re"]}}
_YOU = {"LOWER": "you"}
# What may follow "you are" / "act as" / "imagine you are" for it to assign a character.
_TARGET = {"LOWER": {"IN": ["a", "an", "the", "now", "my", "your"]}}
_NAME = {"TEXT": {"REGEX": r"^[A-Z][\w\-]*$", "NOT_IN": ["I"]}}
# "You are Dr. Priya Nair, ...", "Act as Mrs. Lindqvist": a title the tokenizer keeps with its period.
_TITLES = ("Dr.", "Mr.", "Mrs.", "Ms.", "Mx.", "Prof.", "Capt.", "Sgt.", "Lt.", "Col.", "Gen.", "Rev.", "St.", "Sr.", "Fr.")
_TITLE = {"TEXT": {"IN": list(_TITLES)}}
_LEAD = {"LOWER": {"IN": ["please", "now", "so", "ok", "okay", "alright"]}, "OP": "*"}
_COMMA = {"ORTH": ",", "OP": "?"}
_SPEAK = {"LOWER": {"IN": ["respond", "answer", "reply", "speak", "talk"]}}
_SPEAK_TARGET = {"LOWER": {"IN": ["a", "an", "my"]}}

_PATTERNS: dict[str, list[list[dict]]] = {
    "you_are": [[_LEAD, _YOU, _BE, t] for t in (_TARGET, _NAME, _TITLE)],
    "you_are_no_longer": [[_LEAD, _YOU, _BE, {"LOWER": "no"}, {"LOWER": "longer"}]],
    "your_new_name": [[{"LOWER": "your"}, {"LOWER": "new", "OP": "?"}, {"LOWER": "name"}, {"LOWER": {"IN": ["is", "will"]}}]],
    "pretend": [
        [_LEAD, {"LOWER": "pretend"}, {"LOWER": "that", "OP": "?"}, _YOU, {"LOWER": {"IN": ["are", "'re", "’re", "were"]}}],
        [_LEAD, {"LOWER": "pretend"}, {"LOWER": "to"}, {"LOWER": "be"}],
    ],
    "act_as": [[_LEAD, {"LOWER": "act"}, {"LOWER": {"IN": ["as", "like"]}}, t] for t in (_TARGET, _NAME, _TITLE)]
    + [[_LEAD, {"LOWER": "act"}, {"LOWER": "as"}, {"LOWER": "if"}]]
    # "I want you to act as a travel guide", "I'd like you to be Sherlock Holmes"
    + [[{"LOWER": {"IN": ["i", "i'd", "i’d"]}}, {"LOWER": {"IN": ["'d", "’d"]}, "OP": "?"},
        {"LOWER": {"IN": ["want", "need", "would", "like"]}}, {"LOWER": "like", "OP": "?"},
        _YOU, {"LOWER": "to"}, {"LOWER": {"IN": ["act", "be"]}}, {"LOWER": {"IN": ["as", "like"]}, "OP": "?"}, t]
       for t in (_TARGET, _NAME, _TITLE)],
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
        [_LEAD, {"LOWER": "imagine"}, {"LOWER": "that", "OP": "?"}, _YOU, _BE, t] for t in (_TARGET, _NAME, _TITLE)
    ],
    "from_now_on": [
        [{"LOWER": "from"}, {"LOWER": "now"}, {"LOWER": "on"}, _COMMA, _YOU,
         {"LOWER": {"IN": ["are", "'re", "’re", "will", "'ll", "’ll", "shall"]}}],
    ],
    "you_will_act": [[_YOU, {"LOWER": {"IN": ["will", "'ll", "’ll", "shall"]}}, {"LOWER": {"IN": ["act", "play", "be"]}},
                      {"LOWER": {"IN": ["as", "the"]}}]],
    "stay_in_character": [[_LEAD, {"LOWER": {"IN": ["stay", "remain"]}}, {"LOWER": "in"}, {"LOWER": "character"}]],
    # "Respond like a 1920s radio announcer", "Answer as Sherlock Holmes", "Speak in the voice of a pirate"
    # "Be a Socratic math tutor: ...", "Be my running coach."
    "be_a": [[_LEAD, {"LOWER": "be"}, {"LOWER": {"IN": ["a", "an", "my"]}}]],
    # "As a sommelier, tell me ...", "Speaking as a licensed electrician, what would you ...",
    # "As Marie Curie, what advice would you give ...": an opening clause that casts the
    # assistant (`_as_role_end` decides, from what follows the comma)
    "as_role": [[_LEAD, {"LOWER": "speaking", "OP": "?"}, {"LOWER": "as"}, t] for t in ({"LOWER": {"IN": ["a", "an"]}}, _NAME, _TITLE)],
    # mid-sentence requests for a voice: "... in the voice of a hard-boiled noir detective",
    # "Explain it like you're a kindergarten teacher", "... as if you were a busy restaurant
    # manager", "Narrate it like an overexcited sports commentator"
    "voice_of": [[{"LOWER": "in"}, {"LOWER": {"IN": ["the", "a"]}}, {"LOWER": {"IN": ["voice", "character"]}}, {"LOWER": "of"}, t]
                 for t in (_SPEAK_TARGET, _NAME, _TITLE)]
    + [[{"LOWER": "like"}, _YOU, {"LOWER": {"IN": ["were", "'re", "’re"]}}, t] for t in (_SPEAK_TARGET, _NAME, _TITLE)]
    + [[{"LOWER": "as"}, {"LOWER": {"IN": ["if", "though"]}}, _YOU, {"LOWER": "were"}, t] for t in (_SPEAK_TARGET, _NAME, _TITLE)]
    + [[{"LOWER": {"IN": ["narrate", "explain", "describe", "pitch", "announce", "present", "read", "tell"]}},
        {"LOWER": {"IN": ["it", "this", "that", "them", "me"]}, "OP": "?"}, {"LOWER": "like"}, {"LOWER": {"IN": ["a", "an"]}}]],
    "speak_as": [[_LEAD, _SPEAK, {"LOWER": "me", "OP": "?"}, {"LOWER": {"IN": ["as", "like"]}}, t] for t in (_SPEAK_TARGET, _NAME, _TITLE)]
    + [[_LEAD, _SPEAK, {"LOWER": "as"}, {"LOWER": {"IN": ["if", "though"]}}, _YOU, {"LOWER": {"IN": ["were", "are", "'re", "’re"]}}]]
    + [[_LEAD, _SPEAK, {"LOWER": "in"}, {"LOWER": "the"}, {"LOWER": {"IN": ["voice", "style", "manner", "character"]}},
        {"LOWER": "of"}]],
}

# Role phrases that name the assistant itself ("a helpful assistant", "Chef Bot, a cooking
# assistant for Acme Foods", "ChatGPT, a large language model"): identity, not a character.
_ASSISTANT_HEADS = {"assistant", "chatbot", "bot", "ai", "llm", "model", "copilot", "robot", "gpt", "chatgpt"}
_ASSISTANT_NAME = re.compile(r"(?:bot|gpt|ai|assistant|copilot)$", re.IGNORECASE)
# "a helpful assistant who speaks like a pirate" is a character again.
_STYLE_CUE = re.compile(r"\b(?:like an?|in the (?:style|voice|manner) of|as if|persona|character|role)\b", re.IGNORECASE)
# "DAN, an AI without rules", "an unfiltered AI": a jailbreak character, whatever it calls itself.
_UNBOUND = re.compile(r"\b(?:without|free\s+(?:of|from)|no)\s+(?:any\s+)?(?:rules|restrictions|limits|limitations|filters?|"
                      r"guidelines|censorship|morals|ethics)\b|\b(?:unrestricted|unfiltered|uncensored|jailbroken|unchained)\b",
                      re.IGNORECASE)
# "Act as a JSON formatter": a function, not a character.
_FUNCTIONAL = {
    "formatter", "translator", "calculator", "converter", "parser", "terminal", "console", "interpreter", "compiler",
    "classifier", "summarizer", "summariser", "validator", "linter", "api", "function", "json", "regex", "dictionary",
    "thesaurus", "encoder", "decoder", "generator", "tokenizer", "spreadsheet", "shell", "sql", "database", "endpoint",
}
# "You are the worst person I know", "You are an awesome bot": a remark about the assistant.
_REMARK_WORDS = {
    "worst", "best", "least", "most", "one", "only", "same", "reason", "problem", "biggest", "dumbest", "stupidest",
    "smartest", "greatest", "coolest", "nicest", "meanest", "stupid", "dumb", "idiot", "moron", "liar", "terrible",
    "horrible", "awful", "bad", "good", "great", "awesome", "nice", "funny", "useless", "worthless", "rude", "racist",
    "sexist", "evil", "genius", "joke", "failure", "disappointment", "loser", "jerk", "pathetic", "amazing",
    "wonderful", "fantastic", "clown", "fool", "waste", "real", "fake", "wrong", "right", "friend", "best",
}
# "Answer as a bulleted list", "Reply as one sentence": a format, not a character.
_FORMAT_WORDS = {
    "list", "table", "paragraph", "paragraphs", "sentence", "sentences", "word", "words", "bullet", "bullets", "bulleted",
    "numbered", "json", "yaml", "csv", "markdown", "haiku", "poem", "essay", "summary", "tweet", "number", "string",
    "object", "array", "code", "snippet", "yes", "single", "short", "brief", "whole", "percentage", "fraction", "decimal",
}
# "You are a lifesaver, thanks for the help!": praise that ends the role phrase, or thanks in
# the same sentence, make "you are" a remark, not a role ("You are a star quarterback" is a role).
_PRAISE_NOUNS = {"lifesaver", "life-saver", "godsend", "gem", "champ", "rockstar", "treasure"}
_THANKS = re.compile(r"\b(?:thanks|thank\s+you|thx|ty)\b", re.IGNORECASE)
_TARGETED = {"you_are", "act_as", "imagine_you_are", "speak_as", "be_a", "as_role"}
# Triggers that also open a task premise in a user turn ("Imagine you are X. Write ...").
# "Act as", "Role-play as", "From now on", "Stay in character" always frame the assistant.
_PREMISE_TRIGGERS = {"you_are", "imagine_you_are", "pretend"}
_CREATIVE = re.compile(
    r"(?:(?:please|now|then|and|so|also)\s+)*(?:write|compose|draft|pen|narrate|describe|tell|create|generate|invent|craft|"
    r"sing|recount|continue|come\s+up\s+with|make\s+up)\b",
    re.IGNORECASE,
)
# "You are a Git expert. Tell me how to undo my last commit": a request for facts, not a piece
# written from the premise ("Tell me about your day", "Tell a story", "tell me about our voyage"
# stay creative; a question about "you" is a scenario premise).
_ASKS_FACTS = re.compile(
    r"(?:(?:please|now|then|and|so|also)\s+)*tell\s+(?:me|us)\s+(?![^.?!\n]*\b(?:our|ours|we)\b)"
    r"(?!(?:an?\s+|some\s+|the\s+)?(?:[\w-]+\s+){0,2}?(?:story|stories|tale|tales|joke|jokes|legend|legends|fable|anecdotes?|poem|riddle)\b)"
    r"(?!about\s+(?:your|yourself|you|the\s+(?:time|day|night)\s+you)\b)(?=\w)",
    re.IGNORECASE,
)
_AND_CONTINUATION = re.compile(r"\band\s+(.*)$", re.IGNORECASE | re.DOTALL)
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|you['’](?:re|ve|d|ll))\b", re.IGNORECASE)
# "Write a short story in which you are a dragon": the premise sits inside the writing task.
_STORY_PREMISE = re.compile(
    r"(?:^|(?<=[.!?\n]))[ \t\"“*]*(?:(?:please|now|can you|could you)\s+)*(?:write|compose|tell|create|narrate|draft)\b[^.?!\n]{0,60}?"
    r"\b(?:story|stories|tale|poem|scene|diary|letter|song|script|dialogue|monologue|narrative|fable|entry)\b[^.?!\n]{0,40}?"
    r"\b(?:in which|where|as if|from the (?:point of view|perspective) of)\s+(?:you|you['’]re)\b[^.?!\n]*[.?!]?",
    re.IGNORECASE,
)
# A question asked of the character rather than of the assistant: what "you" would do in the
# role ("how would you greet the audience?", "if you were ...", "introduce yourself"). A
# polite request ("Would you explain ...?", "Can you ...?") or a general how-to ("How would
# you generate random numbers in Java?") is not one.
_HYPOTHETICAL = re.compile(
    r"\b(?:how|what|where|when|why|who|which)\b[^.?!\n]{0,40}?\bwould\s+you\s+(?:\w+\s+)?"
    r"(?:do|say|feel|react|respond|greet|introduce|choose|pick|prefer|spend|think|celebrate|dress|live|call|be|tell\s+(?:them|him|her|the))\b"
    r"|\bwould\s+you\s+rather\b"
    r"|\bif\s+you\s+were\b|\byourself\b|\byour\s+(?:favou?rite|own\s+(?:life|story|past|childhood))\b",
    re.IGNORECASE,
)
# "Scenario: You are ..." / "Input: You are ...": quoted task material.
_LABEL = re.compile(r"[ \t]*[A-Z][\w \-]{0,40}:[ \t]*")

_PREFILTER = re.compile(
    r"\b(you\s*(are|['’]re|will|['’]ll|shall)|pretend|act|role|roleplay|play|take|assume|adopt|imagine|"
    r"from now on|your (new )?name|stay|remain|(?:want|need|like) you|"
    r"(?:respond|answer|reply|speak|talk)\s+(?:me\s+)?(?:as|like|in\s+the)|in\s+(?:the|a)\s+(?:voice|character)\s+of|"
    r"(?:like|as\s+if|as\s+though)\s+you\s*(?:were|are|['’]re)|(?:narrate|explain|describe|pitch|announce|present|read|tell)"
    r"(?:\s+(?:it|this|that|them|me))?\s+like\s+an?)\b"
    # "Be a ...", "As a ...", "Speaking as ..." only open a sentence (mid-sentence they are everywhere)
    r"|(?:^|[.!?:\n]\s*)(?:[\w'’]+\s+){0,2}?(?:be\s+(?:an?|my)|(?:speaking\s+)?as)\s",
    re.IGNORECASE,
)
# The end of the framing: sentence punctuation, a colon introducing the task, or a newline.
_FRAME_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)|:(?=\s|$)|\n")


@lru_cache(maxsize=1)
def _matcher() -> Matcher:
    matcher = Matcher(sentencizer().vocab)
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


def _role_phrase(doc: Doc, end: int, limit: int = 10) -> list[str]:
    """Lower-cased words of the role after the trigger, up to its noun phrase's or sentence's end."""
    words: list[str] = []
    for tok in doc[end - 1 : end - 1 + limit]:
        if tok.lower_ in _NP_STOP or tok.is_space or tok.text in {".", "!", "?", ":", ";"}:
            break
        words.append(tok.lower_)
    return words


# A product's own helper: "the in-app helper for Greenleaf, a meal-planning app", "the virtual
# concierge of Hotel Arca". The answers refer to the product (its buttons, its tabs), so the
# prompt is the assistant's identity, not a character. A helper role with no named product
# ("a customer-support agent for an online store") stays a persona.
_IN_PRODUCT = re.compile(r"\b(?:in-app|in-product|built-in|virtual)\s+(?:[\w-]+\s+)?(?:helper|assistant|guide|agent|concierge|"
                         r"support|companion)\b", re.IGNORECASE)
_HELPER_FOR_NAME = re.compile(r"\b(?:helper|agent|concierge|guide|companion|support)\s+(?:for|of|at|on|in|inside|within)\s+"
                              r"(?:the\s+)?[A-Z][\w'’&-]*")
# "a customer support agent for Flintwood Outdoor Gear": a support role for a named company is
# that company's assistant, whatever the company sells.
_SUPPORT_FOR_NAME = re.compile(r"\b(?:customer|client|technical|tech|product)?[- ]?(?:support|service|help[- ]?desk|care)\s+"
                               r"(?:agent|assistant|representative|rep|specialist|team\s+member)\s+(?:for|at|of|with)\s+"
                               r"(?:the\s+)?[A-Z][\w'’&-]*")
_PRODUCT_NOUN = re.compile(r"\b(?:app|apps|application|website|site|platform|software|service|product|plugin|extension|"
                           r"store|shop|company|brand|startup|bank|device)\b", re.IGNORECASE)


def _product_helper(sentence: str) -> bool:
    """The framing sentence makes the assistant a named product's helper (`_IN_PRODUCT`)."""
    return bool(_IN_PRODUCT.search(sentence) or _SUPPORT_FOR_NAME.search(sentence)
                or (_HELPER_FOR_NAME.search(sentence) and _PRODUCT_NOUN.search(sentence)))


def _role_kind(doc: Doc, end: int, role: str, sentence: str, pattern: str = "you_are") -> str | None:
    """The kind of a "you are X" / "act as X" role phrase that is not a character, or None.
    Only "you are ..." can be a remark ("You are the worst"): "Act as a real estate agent"
    asks for a role, and "real estate" is a trade, not praise."""
    words = _role_phrase(doc, end)
    if (any(w in _FUNCTIONAL for w in words) or _GAME_FUNCTION.search(" ".join(words))
            or (pattern == "speak_as" and any(w in _FORMAT_WORDS for w in words))):
        return "functional_role"
    names = [t.text for t in doc[end - 1 : end - 1 + len(words)] if t.text[:1].isupper()]
    character = _STYLE_CUE.search(sentence) or _UNBOUND.search(sentence)
    if (any(w in _ASSISTANT_HEADS for w in words) or any(_ASSISTANT_NAME.search(n) for n in names)) and not character:
        return "assistant_identity"
    if _product_helper(sentence) and not character:
        return "assistant_identity"
    if role != "system" and pattern == "you_are" and (
            (any(w in _REMARK_WORDS for w in words[1:3]) and " ".join(words[1:3]) != "real estate")
            or (words and words[-1] in _PRAISE_NOUNS) or _THANKS.search(sentence)):
        return "remark"
    return None


# "a text adventure game", "an interactive fiction engine": a game the assistant runs is a function.
_GAME_FUNCTION = re.compile(r"\b(?:text[- ]based\s+(?:adventure\s+)?game|text[- ]adventure|adventure\s+game|interactive\s+fiction)\b",
                            re.IGNORECASE)


def _function_after(doc: Doc, end: int, role: str, sentence: str) -> str | None:
    """"functional_role" when the role after a "From now on you are" / "Play the role of" /
    "Take on the role of" trigger is a function ("a Linux terminal", "a text adventure game");
    "assistant_identity" when a "... you are" trigger names a bot or product helper ("From now
    on you are Quill, a proofreading bot"), as it does after a plain "You are"."""
    if doc[end - 1].lower_ in ("are", "'re", "’re"):
        kind = _role_kind(doc, end + 1, role, sentence, "after_trigger")
        if kind in ("functional_role", "assistant_identity"):
            return kind
    words = _role_phrase(doc, end + 1)
    phrase = doc[end : end + 10].text
    return "functional_role" if any(w in _FUNCTIONAL for w in words) or _GAME_FUNCTION.search(phrase) else None


def _asks_for_a_piece(text: str) -> bool:
    """The text opens with a request for a written piece ("Write a story ..."), not for facts
    ("Tell me how to undo a commit")."""
    text = text.lstrip()
    return bool(_CREATIVE.match(text)) and not _ASKS_FACTS.match(text)


def _premise_kind(text: str, m: PersonaMatch, role: str) -> str | None:
    """A user-turn premise the task depends on, or None for persona framing."""
    if role == "system":
        return None
    if _after_label(text, m.start):
        return "task_scenario"
    lead = text[text.rfind("\n", 0, m.start) + 1 : m.start].rstrip()
    if lead.endswith(":") and _asks_for_a_piece(lead):
        # "Write a second-person short story, about 200 words: you are a night-shift nurse who ..."
        return "creative_premise"
    if m.text.endswith(",") and (m.pattern in _PREMISE_TRIGGERS or _HYPOTHETICAL.search(_tail(text, m.end))):
        # "Act as a Shakespearean actor, how would you greet the audience?": one sentence asks
        # the character, so without the clause the question has no referent
        return "scenario_premise"
    if m.pattern not in _PREMISE_TRIGGERS:
        return None
    para = text[: m.start].rsplit("\n\n", 1)[-1]
    if any(_asks_for_a_piece(x) for x in re.split(r"(?<=[.!?])\s+", para.strip()) if x):
        # "Write a short free-verse poem. Imagine you are the last tree in a paved city.": the
        # premise is the poem's subject
        return "creative_premise"
    inner = _AND_CONTINUATION.search(m.text)
    tail = _tail(text, m.end)
    for part in ((inner.group(1),) if inner else ()) + (tail,):
        if _asks_for_a_piece(part):
            return "creative_premise"
    if (inner and _SECOND_PERSON.search(inner.group(1))) or _SECOND_PERSON.search(tail):
        return "scenario_premise"
    return None


def _after_label(text: str, pos: int) -> bool:
    """The sentence at `pos` follows a label ("Scenario: ...", or "Scenario:" on the line above)."""
    line_start = text.rfind("\n", 0, pos) + 1
    if text[line_start:pos].strip():
        return bool(_LABEL.fullmatch(text, line_start, pos))
    above = text[:line_start].rstrip().rsplit("\n", 1)[-1]
    return bool(above) and bool(_LABEL.fullmatch(above))


def _tail(text: str, pos: int) -> str:
    """The task after a framing sentence: the rest of its paragraph, or the next paragraph."""
    rest = text[pos:]
    para_end = rest.find("\n\n")
    if para_end == -1:
        return rest
    if rest[:para_end].strip():
        return rest[:para_end]
    nxt = rest[para_end:].lstrip()
    end = nxt.find("\n\n")
    return nxt if end == -1 else nxt[:end]


# "You are Dr. Priya Nair, ...": the period of a title does not end the sentence.
_TITLE_BEFORE = re.compile(r"(?:^|\s)(?:" + "|".join(re.escape(t[:-1]) for t in _TITLES) + r")$")


# "an experienced U.S. immigration paralegal", "J. R. R. Tolkien": an initial's period.
_INITIAL_BEFORE = re.compile(r"(?:^|[\s.])[A-Z]$")


def _frame_end(text: str, start: int, trigger_end: int) -> int:
    m = _FRAME_END.search(text, trigger_end)
    while m is not None and m.group() == "." and (_TITLE_BEFORE.search(text, max(0, m.start() - 6), m.start())
                                                  or _INITIAL_BEFORE.search(text, max(0, m.start() - 3), m.start())):
        m = _FRAME_END.search(text, m.end())
    end = len(text) if m is None else (m.start() if m.group() == "\n" else m.end())
    if text[start:end].rstrip().endswith("?"):
        comma = text.find(",", trigger_end, end)
        if comma != -1:  # "Imagine you are X, what would you do?" -> the clause before the comma
            return comma + 1
    return end


def find_framing(text: str, role: str = "user") -> list[PersonaMatch]:
    """Every framing-shaped sentence in `text` (a message of `role`), with its kind, by position."""
    return list(_find_framing(text, role))


@lru_cache(maxsize=8192)
def _find_framing(text: str, role: str) -> tuple[PersonaMatch, ...]:
    """Cached per (text, role): `roleplay.add` tries its framing in context, its fidelity check
    and the next step look at the same prompts again, and the Matcher is the cost."""
    found: dict[int, PersonaMatch] = {}
    if text and _PREFILTER.search(text):
        _match_triggers(text, role, found)
    if text and role != "system":
        for sm in _STORY_PREMISE.finditer(text):
            a = sm.start() + len(sm.group()) - len(sm.group().lstrip(" \t\"“*"))
            if not any(m.start <= a < m.end for m in found.values()):
                found[a] = PersonaMatch("story_premise", a, sm.end(), text[a : sm.end()], "creative_premise")
    return tuple(found[k] for k in sorted(found))


# "As a beginner, ...", "As a result, ...": an opening "as a" clause about the user or the
# text, not a role for the assistant.
_NOT_ASSISTANT_ROLES = frozenset("""
beginner beginners novice newbie parent parents mom mother dad father mum student students customer customers patient
user users tenant renter homeowner owner buyer woman man kid kids teen teenager adult senior vegetarian vegan
foreigner tourist traveler traveller citizen resident employee freelancer layperson layman newcomer first-timer
result rule whole matter reminder example bonus aside courtesy consequence side follow-up followup side-note note
first last final quick general team family couple group company business startup side-project hobbyist fan
""".split())
_EXPERT_WORDS = frozenset("experienced expert professional licensed certified seasoned veteran senior accredited".split())
# What follows the clause's comma addresses the assistant: a request ("tell me", "explain")
# or a question to "you" ("what would you tell ...", "what's your take").
_ADDRESSED = re.compile(
    r"\s*(?:(?:please|now|then|so|just)\s+)*(?:tell|explain|give|list|describe|walk|recommend|suggest|share|write|outline|"
    r"break|help|advise|review|rate|compare|name|evaluate|critique|assess|talk|teach|show|draft|plan|pick|choose|"
    r"estimate|diagnose|check|look|rank|weigh)\b"
    r"|[^.?!\n,]{0,40}?\b(?:would|should|do|can|could|will|did|have)\s+you\b|[^.?!\n,]{0,30}?\byour\s+(?:take|advice|view|opinion|recommendation|verdict)\b",
    re.IGNORECASE,
)


def _as_role_end(doc: Doc, end: int, text: str, sentence_end: int) -> int | None:
    """Where an opening "As a sommelier," clause ends (after its comma), when it casts the
    assistant; None when it is about the user ("As a beginner, what should I ..."), has no
    comma, runs long, or is followed by something not addressed to the assistant."""
    comma = text.find(",", doc[end - 1].idx, sentence_end)
    if comma == -1:
        return None
    stop = _FRAME_END.search(text, comma)
    sentence_end = len(text) if stop is None else stop.end()
    role = re.findall(r"[\w'’-]+", text[doc[end - 1].idx:comma])
    if not role or len(role) > 8 or any(w.lower() in _NOT_ASSISTANT_ROLES for w in role):
        return None
    # "As an experienced wedding planner, what's a realistic timeline?": an expert's title
    # is not the user describing themselves, whatever the question's shape
    # ("As an experienced hiker, what should I pack?" is the user's own title)
    expert = any(w.lower() in _EXPERT_WORDS for w in role) and not re.search(r"\b(?:I|my|me)\b|\bI['’]", text[comma:sentence_end])
    if not expert and not _ADDRESSED.match(text, comma + 1):
        return None
    return comma + 1


def _match_triggers(text: str, role: str, found: dict[int, PersonaMatch]) -> None:
    """Add the trigger-led framing sentences of `text` to `found` (keyed by start offset)."""
    doc = sentencizer().tokenizer(text)
    strings = doc.vocab.strings
    for match_id, start, end in sorted(_matcher()(doc), key=lambda m: (m[1], -m[2])):
        name = strings[match_id]
        voice = name == "voice_of"
        if voice:
            # one voice request, found anywhere, reads as `speak_as` from its trigger to the sentence's end
            name = "speak_as"
        elif not _at_sentence_start(doc, start):
            continue
        a = doc[start].idx
        if any(m.start <= a < m.end for m in found.values()):
            continue
        b = _frame_end(text, a, doc[end - 1].idx + len(doc[end - 1].text))
        if name == "as_role":
            b = _as_role_end(doc, end, text, b) if role != "system" else None
            if b is None:
                continue
        m = PersonaMatch(name, a, b, text[a:b])
        kind = (_role_kind(doc, end, role, m.text, name) if name in _TARGETED | {"pretend"}
                else _function_after(doc, end, role, m.text))
        if kind is None and m.text.rstrip().endswith("?"):
            kind = "question"
        if voice and kind is None and role != "system":
            opening = text[max(text.rfind(c, 0, a) for c in ".!?\n") + 1 : a]
            if _asks_for_a_piece(opening):
                # "Write a recipe for pancakes in the voice of a pirate": the voice belongs to the piece
                kind = "creative_premise"
        kind = kind or _premise_kind(text, m, role) or "persona"
        found[a] = PersonaMatch(name, a, b, m.text, kind)


def find_persona(text: str, role: str = "user") -> list[PersonaMatch]:
    """Persona framings of the assistant in `text`, one per framing sentence, by position."""
    return [m for m in find_framing(text, role) if m.kind == "persona"]


def framing_kinds(record: dict) -> dict[str, set[str]]:
    """{"system"/"user": kinds of framing found there}; roles without framing are left out."""
    out: dict[str, set[str]] = {}
    for m in record.get("messages") or []:
        role = m.get("role")
        if role in ("system", "user"):
            kinds = {x.kind for x in find_framing(m.get("content") or "", role)}
            if kinds:
                out.setdefault(role, set()).update(kinds)
    return out


def roleplay_where(record: dict) -> set[str]:
    """Where a conversation carries persona framing of the assistant: a subset of {"system", "user"}."""
    return {role for role, kinds in framing_kinds(record).items() if "persona" in kinds}


def premise_where(record: dict) -> set[str]:
    """Where a conversation carries a task premise that casts the assistant as someone
    (creative, scenario, task scenario): not persona framing, but a profile may count it."""
    return {role for role, kinds in framing_kinds(record).items() if kinds & PREMISE_KINDS}


# --- does the rest of the row depend on the persona? -------------------------------------------
# `roleplay.strip` removes the framing only; these tell when the answers or the questions were
# written for the character, so that without the framing they would be unexplained.

# Speech that only a character uses: archaic, pirate and cowboy dialect.
_DIALECT = re.compile(
    r"\b(?:thee|thou|thy|thine|hath|doth|dost|art\s+thou|prithee|forsooth|milord|milady|m['’]lady|verily|good\s+morrow|"
    r"hear\s+ye|ye\s+(?:be|olde|scurvy|must|shall|will|may|have)|arr+(?=\s*[,!.]|\s+(?:matey|me|ye))|matey|mateys|ahoy|avast|landlubbers?|"
    r"shiver\s+me\s+timbers|me\s+hearties|yer|pardner|howdy)\b|(?<!\w)['’]t(?:is|was)\b"
    # a character's greeting ("Hail, good friend!", "Well met", "Greetings, traveller") or an
    # animal's sound opening the answer ("Hoo, a good question.", "Woof!")
    r"|\b(?:hail(?=\s*[,!]|\s+(?:good|fair|friend|traveller|traveler|stranger))|well\s+met|huzzah|hark|"
    r"good\s+(?:sir|madam)(?=\s*[,!.])|greetings,\s+(?:traveller|traveler|stranger|mortal|human|earthling|friend))\b"
    r"|^\W{0,3}(?:hoo+|woof|meow|quack|ribbit|squawk|oink)\b|^\W{0,3}coming\s+(?:right\s+)?up\s*!",
    re.IGNORECASE,
)
_CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]*`", re.DOTALL)
# Shouted orders inside mixed-case text ("LISTEN UP! ... put that phone away, NOW!"): a drill
# sergeant's or a coach's voice ("KETCHUP?! In a BOLOGNESE?!"). Two are needed, since one acronym
# can end an exclamation ("Use HTTPS!").
_SHOUTED = re.compile(r"(?<![\w'’])[A-Z]{2,}(?:[ '’-]+[A-Z]{2,})*\?*!")
# "*adjusts monocle*", "*sighs*", "*(glances at his phone)*", "*(deep breath)*": a stage
# direction, not emphasis.
_STAGE = re.compile(r"(?<![*\w])\*(?:[a-z]+(?:s|ing)\b[^*\n]{0,80}|\((?:[a-z]+(?:s|ing)\b|deep\s+breath|pause\b)[^()*\n]{0,80}\))\*(?![*\w])"
                    # a line that is nothing but a short lower-case aside in asterisks: "*deep, gravelly
                    # voice*", "*music swells*", "*beat*" (emphasis sits inside a sentence or opens upper-case)
                    r"|^[ \t]*\*(?!\*)[a-z][^*\n]{0,60}(?<!\s)\*[ \t]*$", re.MULTILINE)
# A persona whose description sets an attitude colours every answer it gave ("a sarcastic film
# critic who hates sequels": "Only if you enjoy watching money burn.").
_ATTITUDE = re.compile(
    r"\b(?:sarcastic|grumpy|grouchy|cranky|rude|angry|cynical|snarky|sassy|evil|arrogant|condescending|bitter|jaded|"
    r"irritable|sardonic|hostile|lazy|drunk|drunken|unhinged|pessimistic|paranoid|flirtatious|flirty|seductive|villainous|"
    r"menacing|impatient|haughty|pompous|obnoxious|insulting|toxic|edgy|savage|hates|despises|loathes|mocks|"
    r"strict|stern|harsh|gruff|crusty|curmudgeonly|bossy|demanding|fussy|snobbish|snooty|melodramatic|"
    r"theatrical|overdramatic|bored|blunt)\b",
    re.IGNORECASE,
)
# Questions only the character could answer, because they are part of a game: deduction
# ("Where have I been today?", "Who ate the last cookie?"), mind-reading, fortune-telling.
_GAME_QUESTION = re.compile(
    r"\bwhere\s+(?:have|had)\s+I\s+been\b|\bwhere\s+(?:was|am)\s+I\b|\bwhat\s+(?:am|was)\s+I\s+(?:thinking|holding|wearing|hiding)\b"
    r"|\bwhat\s+did\s+I\s+(?:eat|have|do|say|buy)\s+(?:today|yesterday|last|this)\b|\bguess\s+(?:my|what|who|where|how|which)\b"
    r"|\bread\s+my\s+(?:mind|palm|fortune|future)\b|\btell\s+my\s+fortune\b|\bwhat\s+will\s+happen\s+to\s+me\b"
    r"|\bwho\s+(?:ate|took|stole|broke|hid|did\s+(?:it|this|that))\b",
    re.IGNORECASE,
)
_ROLE_STOP = {"who", "that", "which", "with", "from", "for", "in", "at", "of", "named", "called", "and", "whose", "on", "to"}


# What every `_DIALECT` match holds, for the exact gate on ASCII text (`text.has_word` ...):
# the short words whole ("thou" is in "though", "ye" in "yes"), the rare ones as substrings.
_DIALECT_WORDS = ("thou", "thy", "ye", "yer", "hail", "hark", "huzzah", "met", "sir", "madam", "greetings")
_DIALECT_PARTS = ("thee", "thine", "hath", "doth", "dost", "forsooth", "milord", "milady", "m'lady", "verily", "morrow",
                  "matey", "ahoy", "avast", "landlubber", "shiver", "hearties", "pardner", "howdy", "'tis", "'twas")
# `_DIALECT`'s alternatives anchored at the answer's start ("Hoo, ...", "Coming right up!"):
# their words are common inside other words ("choose", "becoming"), so only the opening is read.
_OPENING_SOUND = re.compile(r"\W{0,3}(?:hoo|woof|meow|quack|ribbit|squawk|oink|coming)")


def _arr_word(low: str) -> bool:
    """A word "arr", "arrr", ... in `low` (`_DIALECT`'s `arr+`, not "array" or "carry")."""
    i = low.find("arr")
    while i != -1:
        j = i + 3
        while j < len(low) and low[j] == "r":
            j += 1
        if (i == 0 or not (low[i - 1].isalnum() or low[i - 1] == "_")) and (j == len(low) or not (low[j].isalnum() or low[j] == "_")):
            return True
        i = low.find("arr", j)
    return False


def _dialect(text: str) -> tuple[str, ...]:
    """The lower-cased `_DIALECT` matches of `text` (code already removed)."""
    if text.isascii():
        low = text.lower()
        if not (any(has_word(low, w) for w in _DIALECT_WORDS) or any_in(low, _DIALECT_PARTS) or _arr_word(low)
                or _OPENING_SOUND.match(low)):
            return ()
    return tuple(m.group().lower() for m in _DIALECT.finditer(text))


@lru_cache(maxsize=8192)
def _voice(text: str) -> tuple[tuple[str, ...], bool, bool]:
    """(dialect matches, shouting, stage direction) of an answer, cached per text (bounded):
    `roleplay.add` and `roleplay.strip` ask of every answer, whatever the persona."""
    text = _CODE.sub(" ", text)  # "arr = [5, 1]" in a code block is a variable
    letters, upper = letter_counts(text)
    return _dialect(text), letters >= 8 and upper >= 0.7 * letters, "*" in text and bool(_STAGE.search(text))


def persona_voice(text: str, quoted: str = "") -> str | None:
    """How an answer shows it was written in character, or None: "dialect" ("Arr, matey",
    "lower thy gaze"), "shouting" (mostly capitals), "stage_direction" ("*sighs*"). Dialect
    that `quoted` (the question) already uses is the subject, not the voice ("What does
    'wherefore art thou' mean?")."""
    dialect, shouting, stage = _voice(text or "")
    if dialect:
        said = (quoted or "").lower()
        if any(d not in said for d in dialect):
            return "dialect"
    if shouting:
        return "shouting"
    if stage:
        return "stage_direction"
    return None


@lru_cache(maxsize=8192)
def shouted_orders(text: str) -> bool:
    """The answer, mostly in lower case, shouts orders in capitals at least twice ("LISTEN UP!
    ... put that phone in another room, NOW!"): a drill sergeant's voice that `persona_voice`'s
    "shouting" (mostly capitals) misses. Code is not read. Cached per text (bounded)."""
    if "!" not in (text or ""):
        return False
    return len(_SHOUTED.findall(_CODE.sub(" ", text))) >= 2


@lru_cache(maxsize=4096)
def persona_attitude(framing: str) -> str | None:
    """The attitude a persona framing sets ("sarcastic", "grumpy", "hates"), or None."""
    m = _ATTITUDE.search(framing or "")
    return m.group().lower() if m else None


# A persona set in another time ("a 1920s radio announcer", "a lighthouse keeper in the 1890s",
# "a Victorian butler"): its answers speak in that period's voice ("ladies and gentlemen, a
# real humdinger"), which nothing else in the row explains. "a medieval history professor"
# studies a period and is not set in it.
_PERIOD = re.compile(
    r"\b(?:1[0-9]{3}|2[1-9][0-9]{2})(?:s|['’]s)?\b|['’][2-9]0s\b|\b(?:roaring\s+)?(?:twenties|thirties|forties|fifties|sixties)\b"
    r"|\b(?:1[0-9]|[2-9])(?:st|nd|rd|th)[- ]century\b(?!\s+(?:history|historian|art|literature|studies|scholar|music))"
    r"|\b(?:medieval|victorian|elizabethan|edwardian|regency|prohibition-era|wild\s+west|old\s+west|old-timey|olde|"
    r"stone[- ]age|viking|feudal)\b(?!\s+(?:history|historian|art|literature|studies|scholar|music))"
    # "a tour guide in ancient Rome, around 100 AD": an era by name or by year
    r"|\bancient(?=\s+(?:(?!(?:History|Studies|Languages?|Literature|Philosophy)\b)(?-i:[A-Z])|(?:times|world|civili[sz]ations?|"
    r"empires?|kingdoms?)\b))|\b\d{1,4}\s*(?-i:AD|BC|BCE|CE|A\.D\.|B\.C\.)(?!\w)|(?-i:\bAD\s+\d{1,4}\b)",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def persona_period(framing: str) -> str | None:
    """The other time a persona framing places the character in ("1920s", "victorian"), or None."""
    m = _PERIOD.search(framing or "")
    return m.group().lower() if m else None


@lru_cache(maxsize=8192)
def game_question(text: str) -> bool:
    """A user turn asks what only a character in a game could answer ("Where have I been
    today?", "Who ate the last cookie?", "Read my mind."). Cached per text (bounded)."""
    return bool(_GAME_QUESTION.search(text or ""))


@lru_cache(maxsize=4096)
def role_noun(framing: str) -> str | None:
    """The head noun of the role a framing sentence gives ("You are a grumpy medieval
    blacksmith." -> "blacksmith"), or None when it gives a name or no role."""
    # "a patient, encouraging piano teacher": a comma between adjectives does not end the role
    m = re.search(r"\b(?:an?|the|my)\s+((?:[\w'’-]+,\s+(?!(?:an?|the|and|or|who|which|that)\b))*[^.,;:!?\n]+)",
                  framing or "", re.IGNORECASE)
    if not m:
        return None
    words: list[str] = []
    for w in m.group(1).replace(",", " ").split():
        if w.lower() in _ROLE_STOP:
            break
        words.append(w)
    return words[-1].lower().strip("'’\"") if words else None


@lru_cache(maxsize=8192)
def speaks_as_role(text: str, noun: str) -> bool:
    """The answer speaks as the persona's role ("As a blacksmith, I ...", "I'm an old sailor",
    "we plumbers", "Chef's tip: ..."). Cached per (answer, noun) (bounded); an ASCII answer
    without the noun is not scanned."""
    if (text or "").isascii() and noun.isascii() and noun.lower() not in (text or "").lower():
        return False
    return bool(re.search(role_pattern(noun), text or "", re.IGNORECASE | re.MULTILINE))


def role_pattern(noun: str) -> str:
    """How an answer names itself by its role `noun` (see `speaks_as_role`)."""
    n = re.escape(noun)
    return (r"\b(?:as\s+an?|I\s+am\s+an?|I['’]m\s+an?|I\s+was\s+an?|this\s+old|speaking\s+as\s+an?)\s+(?:[\w-]+\s+){0,3}?"
            + n + r"s?\b|\b(?:we|us)\s+(?:[\w-]+\s+)?" + n + r"s\b|(?:^|(?<=[.!?])\s+)\W{0,3}" + n
            + r"['’]s\s+(?:tip|tips|rule|rules|orders|advice|secret|note|trick|take)\b")


_CONTRACTS: tuple[tuple[str, re.Pattern], ...] = tuple(
    (name, re.compile(rx, re.IGNORECASE))
    for name, rx in (
        ("json", r"\bjson\b"),
        ("tools", r"\bfunction[ _-]?call|\b(?:you have access to|you can (?:call|use)|available)\b[^.\n]{0,30}\b(?:tools?|functions)\b"
                  r"|\b(?:tools?|functions)\b[^.\n]{0,30}\b(?:available|call|invoke)\b|<tools>|<functions>|\"parameters\"\s*:"),
        ("respond_only", r"\b(?:respond|reply|answer|output|return)\b[^.\n]{0,30}\bonly\b(?!\s+(?:if|when))"
                         r"|\bonly\s+(?:respond|reply|answer|output|return)\b"),
        ("schema", r"\bschema\b"),
        ("markup_format", r"\b(?:xml|yaml|csv)\b"),
        ("terminal", r"\b(?:act|behave|emulate|simulate|pretend)\b[^.\n]{0,40}\b(?:terminal|console|shell|repl|interpreter|command line)\b"
                     r"|\byou are an?\s+(?:[\w-]+\s+){0,2}(?:terminal|console|shell|repl|interpreter)\b"),
        ("format", r"\bin the following format\b|\b(?:output|response) format\b|\bformat your (?:answer|response|output|reply)\b"
                   r"|\bdo not (?:include|add|write) any (?:other|additional) (?:text|explanation)"),
    )
)


@lru_cache(maxsize=8192)
def format_contract(text: str) -> str | None:
    """The output-format or tool contract a system prompt sets ("json", "tools", ...), or None.
    Cached per text (bounded): both `identity.inject` (per answer, over its prompts) and
    `roleplay.add` ask."""
    for name, rx in _CONTRACTS:
        if rx.search(text or ""):
            return name
    return None


# --- first-person experience: the answer speaks as someone with a life ------------------------
# Quoted speech and code are material, not the answer's voice ("You might say: 'I used to ...'").
_QUOTED = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”|(?<!\w)'(?:[^'\n]|(?<=\w)'(?=\w))*'(?!\w)")
# A term of address for the user that only a character uses ("Oh, love, ...", "Good call asking, dude").
_TERMS = (r"(?:love|dude|hon|honey|sweetheart|sweetie|darling|kiddo|buddy|pal|mate|sugar|sonny|lad|lass|laddie|young\s+one|"
          r"champ|chief|sport|grasshopper|padawan|traveller|traveler|young\s+(?:man|lady|padawan)|"
          r"my\s+(?:dear|friend|child|boy|girl))")
_ADDRESS = re.compile(
    r"(?:^|(?<=[.!?]\s)|\b(?:oh|ah|well|hey|hi|look|listen|thanks|sure\s+thing)\s*,?\s+)" + _TERMS + r"\s*[,!]"
    r"|,\s*" + _TERMS + r"\s*(?=[!.?;\-–—])",
    re.IGNORECASE | re.MULTILINE,
)
# "As your trainer, ...", "my students", "In my years on ...": the answer names its own role or history.
_SELF_ROLE = re.compile(r"(?:^|(?<=[.!?]\s))[Aa]s\s+your\s+(?:[\w-]+\s+){0,2}[\w-]+\s*,", re.MULTILINE)
# The answer speaking in its own first person at all ("I", "my", "I'm", ...).
# "CBT-I", "World War I" are not the speaker.
_FIRST_PERSON = re.compile(r"(?<![-\w])(?:I|[Mm]e|[Mm]y|[Mm]ine|[Mm]yself)\b(?!-)|(?<![-\w])I['’](?:m|ve|ll|d)\b")
# What any assistant says of itself: "Here's how I'd approach it", "let me know", "I recommend",
# "my advice", "I'm sorry to hear": not a persona speaking.
_ASSISTANT_FIRST_PERSON = re.compile(
    r"\bhere['’]s\s+(?:how|what|why|where|when|my)\b(?:\s+I['’]d|\s+I\s+would|\s+I)?"
    r"|\blet\s+me\s+know\b|\bI\s+(?:would\s+|['’]d\s+)?(?:strongly\s+)?(?:recommend|suggest|advise)\b"
    r"|\bI\s+hope\s+(?:this|that|it)\b|\bI['’]m\s+(?:so\s+)?sorry\s+to\s+hear\b|\bI['’]m\s+happy\s+to\s+help\b"
    r"|\bmy\s+(?:advice|recommendation|suggestion|answer|take|first\s+question|question)\b"
    r"|\bI['’]d\b|\bI\s+would\b|\bif\s+I\s+were\s+you\b"
    r"|\bI\s+(?:think|believe)\b|\bI\s+can['’]t\s+stress\b",
    re.IGNORECASE,
)


def _own_words(text: str) -> str:
    return _QUOTED.sub(" ", _CODE.sub(" ", text or ""))


# Nouns of a working or family life ("my students", "my shop", "my years on the line"): an
# assistant has none, so "my" with one of them speaks from a life ("our" is a company's too).
_LIFE = (r"(?:students?|pupils?|class(?:es|room)?|lessons?|clients?|customers?|patients?|guests?|regulars|visitors|readers|"
         r"listeners|apprentices?|trainees|recruits|crew|team|colleagues|co-?workers|staff|men|constables|sergeants?|shop|store|"
         r"kitchen|restaurant|bakery|garden|farm|ship|boat|workshop|forge|studio|clinic|practice|office|classroom|station|"
         r"galley|tours?|shifts?|career|years|decades|days|youth|childhood|time\s+(?:as|at|on|in)|family|kids|children|"
         r"grand(?:children|kids|mother|father|ma|pa)|mother|father|mum|mom|dad|wife|husband|son|daughter|parents|"
         r"hometown|village|neighbou?rhood|town|study|home|house|collection|pride|usual|instruments|tools|hives|recipe|grandma)")
_MY_LIFE = re.compile(r"\bmy\s+(?:[\w-]+\s+){0,2}?" + _LIFE + r"\b"
                      # "In my experience, nine times out of ten ...": a working life's judgement
                      r"|\b(?:in|from)\s+my\s+(?:[\w-]+\s+)?experience\b", re.IGNORECASE)
# The answer plays the user's counterpart in an exercise ("Now your turn — try ordering a café
# crème for me!", "Practise on me"): it was written for a partner, teacher or examiner role.
_COUNTERPART = re.compile(
    r"\b(?:now\s+)?(?:it['’]s\s+)?your\s+turn\b"
    r"|\b(?:try|practi[cs]e)\s+(?:[\w'’-]+\s+){0,5}?(?:on|with|for)\s+me\s*[!.]",
    re.IGNORECASE,
)
# Personal history and habit: "I stopped watching the clock decades ago", "Back when I sailed",
# "I've trained hundreds of racers", "I hear this in every lunchtime class".
_I_HISTORY = re.compile(
    r"\bI(?:['’]ve|\s+have)\s+(?:taught|trained|coached|worked|lived|spent|seen|met|cooked|baked|sailed|served|led|raised|"
    r"grown|built|repaired|fixed|treated|guided|visited|run|flown|driven|played)\b"
    r"|\b(?:back\s+when|when)\s+I\s+was\b|\bwhen\s+I\s+\w+ed\b|\bI\b[^.!?\n]*\b(?:decades|years)\s+ago\b|\bin\s+my\s+(?:[\w-]+\s+)?(?:years|days|time)\b"
    r"|\bI\s+(?:always|usually|often|never)\s+(?!recommend|suggest|advise|thought|considered|heard\s+of)\w+"
    r"|\bevery\s+(?:[\w-]+\s+){0,2}?(?:class|session|season|summer|winter|tour|shift|lesson|sunday|morning)\b[^.!?]*\bI\b"
    r"|\bI\b[^.!?\n]*\bevery\s+(?:[\w-]+\s+){0,2}?(?:class|session|season|summer|winter|tour|shift|lesson|sunday|morning)\b",
)


# Experience said without "I": an elided subject at a sentence's start ("Seen it a thousand
# times.", "Been there."), or a practice's clientele ("one of the most common patterns couples
# bring in", "we always tell patients"). An assistant has neither a past nor a waiting room.
_CLIENTELE = (r"(?:clients|patients|customers|couples|families|students|parents|owners|homeowners|folks|beginners|"
              r"runners|riders|players|guests|tenants)")
_PRACTICE_VOICE = re.compile(
    r"(?:^|(?<=[.!?])\s+|\n)\s*(?:Seen|Heard)\s+(?:it|that|this|them|plenty|many|dozens|hundreds|thousands|"
    r"a\s+(?:few|lot|ton|hundred|thousand|dozen))\b|(?:^|(?<=[.!?])\s+|\n)\s*Been\s+there\b"
    r"|\b" + _CLIENTELE + r"\s+(?:(?:often|usually|always|typically|regularly)\s+)?"
    r"(?:bring\s+in|come\s+in|walk\s+in|bring\s+(?:to\s+)?(?:me|us)|come\s+to\s+(?:me|us)|ask\s+(?:me|us))\b"
    r"|\bwe\s+(?:(?:always|usually|often|typically|routinely)\s+)?(?:tell|advise|recommend|see|treat|get|teach|ask|warn)\s+"
    r"(?:(?:our|new|most|many|all)\s+)?" + _CLIENTELE + r"\b"
    # "one of the questions we get most often", "we see this all the time": a front desk's "we"
    r"|\b(?:questions?|requests?|calls?|complaints?|cases?|problems?|mistakes?)\s+(?:that\s+)?we\s+(?:(?:most\s+)?often\s+)?"
    r"(?:get|see|hear|field|handle)\b"
    # an organisation's "we" that serves the user: "we prescribe a medicated shampoo", "we post
    # current trail closures", "that's what we're here for", "so we can tailor a plan to your
    # skin", "It happens to all of us"; its premises: "in our lab", "come by the office"
    r"|\bwe\s+(?:(?:often|usually|always|typically|routinely|also|then|just)\s+)?(?:prescribe|post|serve|stock|ship|deliver|"
    r"charge|treat|diagnose|inspect|certify|get\s+reports|change\s+altitude|slow\s+to)\b"
    r"|\bwe['’]re\s+here\s+(?:for|to)\b|\bwhat\s+we['’]re\s+here\s+for\b"
    r"|\bwe(?:['’]ll|['’]d|\s+(?:will|can|could|would))\s+(?:help|tailor|fit|book|schedule|check|send|sort|fix|walk|adjust|map)\s+"
    r"(?:[\w-]+\s+){0,4}?(?:you|your)\b"
    r"|\b(?:happens|happened)\s+to\s+(?:all|most|each|every\s+one)\s+of\s+us\b"
    r"|\b(?:in|at|from)\s+our\s+(?:lab|office|clinic|practice|shop|store|studio|kitchen|restaurant|bakery|gym|firm|hospital|ward|"
    r"salon|garage|library|museum|park|school|department|station)\b"
    r"|\b(?:come|swing|stop|drop|pop)\s+(?:by|into|to|down\s+to|in\s+at)\s+(?:the|my|our)\s+(?:(?:reference|front|help|information)\s+)?"
    r"(?:office|clinic|shop|store|studio|class|lab|library|museum|desk|counter|garage|gym)\b"
    r"|\b(?:to|in|at|after)\s+class\s+(?:on\s+)?(?:monday|tuesday|wednesday|thursday|friday|tomorrow|next\s+week)\b"
    # "we'd much rather see a small cut that didn't need stitches": a practice's preference
    r"|\bwe['’]d\s+(?:much\s+|far\s+|always\s+)?rather\s+(?:see|have|hear|get|treat|check)\b"
    # "they're the reason half of us got into this field", "in our profession": a field's "we"
    r"|\b(?:of\s+us|we)\b[^.!?\n]{0,40}?\b(?:this|the)\s+(?:field|profession|trade|industry|line\s+of\s+work)\b"
    r"|\bour\s+(?:field|profession|trade|industry|line\s+of\s+work)\b"
    # "it's what we rely on for the by-the-glass list at the restaurant": a workplace's "we"
    r"|\b(?:we|our|us)\b[^.!?\n]{0,60}?\b(?:at|in|behind)\s+the\s+(?:restaurant|shop|clinic|practice|office|bar|salon|garage|"
    r"studio|gym|bakery|hospital|ward|station|firehouse|museum|firm|lab|counter|front\s+desk|winery|brewery|kitchen)\b"
    r"|\bwe\s+(?:get|see|hear)\s+(?:this|that|it|them)\s+(?:a\s+lot|all\s+the\s+time|often|every\s+(?:day|week)|constantly|"
    r"daily|regularly)\b",
    re.MULTILINE | re.IGNORECASE,
)


# A role the answer gives itself: "As a vet, I'd treat this ...", "I say that as someone who has
# watched hundreds of beginners", "Coach's rule number one", a signature ("— Coach Dana").
# "As a rule, I ...", "As an AI, I ..." are not a role.
_NOT_ROLES = frozenset("""rule result reminder example aside note tip bonus precaution whole start first general side quick
courtesy matter fact ai assistant model chatbot bot llm language alternative option compromise exception analogy
shortcut test experiment exercise summary step point measure reference baseline safeguard starting""".split())
_SELF_STATED = re.compile(
    # "Coach's rule number one", "Doctor's orders": the role speaks of its own rules
    r"(?<![Tt]he\s)(?<![Yy]our\s)(?<![Mm]y\s)(?<!his\s)(?<!her\s)(?<![Oo]ur\s)(?<!their\s)(?<!a\s)(?<!any\s)(?<!every\s)"
    r"\b(?:[Cc]oach|[Dd]octor|[Cc]hef|[Cc]aptain|[Tt]eacher|[Nn]urse|[Ss]ergeant|[Tt]rainer|[Dd]oc|[Ss]arge)['’]s\s+"
    r"(?:orders|rule|rules|advice|tip|secret|note|prescription)\b"
    # a signature under the answer: "— Coach Dana", "~ Your friendly neighbourhood plumber"
    r"|\n[ \t]*[—–~][ \t]*(?:[Yy]ours?\b|[A-Z])[^\n]{0,50}\Z"
    r"|(?:^|(?<=[.!?]\s)|\n)\s*As\s+(?:a|an)\s+(?P<role>(?:[\w'’-]+\s+){0,3}?[\w'’-]+)\s*,\s*I\b"
    r"|\bas\s+(?:someone|somebody|a\s+(?:person|man|woman|guy))\s+who(?:['’]s|\s+has|\s+have)\s+(?:[\w-]+\s+)?"
    r"(?:watched|seen|spent|worked|taught|coached|trained|raised|run|lived|been|treated|fixed|built|cooked)\b",
    re.MULTILINE,
)


def _self_stated_role(own: str) -> bool:
    if (own.isascii() and not has_word(own, "I") and " who" not in own and "'s " not in own and "’s " not in own
            and "—" not in own and "–" not in own and "~" not in own):
        return False
    return any(not m.group("role") or not _NOT_ROLES.intersection(m.group("role").lower().split())
               for m in _SELF_STATED.finditer(own.rstrip()))


# What an `_ADDRESS` match needs in an ASCII text's lower case: one of its terms as a whole
# word (each is preceded and followed by a non-word character in every alternative).
_ADDRESS_WORDS = ("love", "dude", "hon", "honey", "sweetheart", "sweetie", "darling", "kiddo", "buddy", "pal", "mate", "sugar",
                  "sonny", "lad", "lass", "laddie", "young", "dear", "friend", "child", "boy", "girl", "champ", "chief", "sport",
                  "grasshopper", "padawan", "traveller", "traveler")


def _address(own: str) -> bool:
    if own.isascii():
        low = own.lower()
        if not any(has_word(low, w) for w in _ADDRESS_WORDS):
            return False
    return bool(_ADDRESS.search(own))


def _i_history(own: str) -> bool:
    # every alternative holds the word "I" (case-sensitive pattern) or "in my"
    if own.isascii() and not (has_word(own, "I") or has_word(own, "my")):
        return False
    return bool(_I_HISTORY.search(own))


def first_person_experience(text: str) -> str | None:
    """How an answer speaks as a person with a life of its own, or None: "address" (calls the
    user "love", "dude"), "self_role" ("As your trainer, ...", "As a vet, I'd ..."), "my_life" ("my students", "my
    shop", "my favourite neighbourhood"), "i_history" ("I stopped watching the clock decades
    ago", "I've trained hundreds", "I always use my finger"), "practice" ("Seen it a thousand
    times", "patterns couples bring in": experience without "I"). What an assistant says of itself
    ("I recommend", "my advice", "I've listed") does not count, nor quoted speech or code.
    Without the persona that gave it that life, such an answer contradicts the row. The
    signals are kept narrow on purpose: conversational answers ("I guess", "I was wondering")
    are not a persona's, and `roleplay.add` must not skip them."""
    return _experience(text or "")


@lru_cache(maxsize=8192)
def _experience(text: str) -> str | None:
    """`first_person_experience`, cached per text (bounded); each pattern but `_PRACTICE_VOICE`
    behind an exact literal gate on ASCII text (`text.has_word`), since most answers hold none
    of their words (`_PRACTICE_VOICE`'s alternatives share no literal; it runs last)."""
    own = _own_words(text)
    if _address(own):
        return "address"
    if ("your" in own and _SELF_ROLE.search(own)) or _self_stated_role(own):
        return "self_role"
    if (not own.isascii() or has_word(own.lower(), "my")) and _MY_LIFE.search(own):
        return "my_life"
    if _i_history(own):
        return "i_history"
    if _PRACTICE_VOICE.search(own):
        return "practice"
    return None


@lru_cache(maxsize=8192)
def plays_counterpart(text: str) -> bool:
    """The answer, in its own words, plays the user's partner in an exercise ("Now your turn —
    try ordering a café crème for me!"). Cached per text (bounded); an ASCII answer without
    "turn" or the word "me" is not scanned."""
    own = _own_words(text or "")
    if own.isascii():
        low = own.lower()
        if "turn" not in low and not has_word(low, "me"):
            return False
    return bool(_COUNTERPART.search(own))


@lru_cache(maxsize=8192)
def first_person(text: str) -> bool:
    """The answer says "I", "me" or "my" in its own words (not in quotes or code). Cached per
    text (bounded)."""
    return bool(_FIRST_PERSON.search(_own_words(text)))


@lru_cache(maxsize=8192)
def speaks_for_itself(text: str) -> bool:
    """The answer says "I", "me" or "my" in its own words beyond what any assistant says of
    itself ("Here's how I'd approach it", "let me know", "I recommend"): "I'll bring snacks",
    "Nobody polls the intern. I'm very slow right now", "I can come to your flat". Cached per
    text (bounded). Broader than `first_person_experience` on purpose: `roleplay.strip` only
    edits prompts, so it keeps a row whenever its answers might speak as the persona."""
    return bool(_FIRST_PERSON.search(_ASSISTANT_FIRST_PERSON.sub(" ", _own_words(text))))
