"""Identity-calibration detector: where a text states what the assistant is.

Three kinds of statement move the identity factor:

- ``ai_self_reference``: "As an AI, ...", "I'm just an AI language model", "as a large
  language model", "Being an AI assistant, ...";
- ``named_identity``: "I am Aria, an AI assistant ...", "As Aria, your AI assistant, ...",
  "My name is Aria, an AI ...", "You may refer to me as Aria, an AI ...", "I am ChatGPT";
- ``developer_attribution``: "(assistant|model|AI ...) developed/created/trained/built by X",
  "I was trained by X", "my developer is X".

``ai_self_reference`` also covers the disclaimers that only an AI makes of itself and that
come with "As an AI" in model outputs: "I don't have personal opinions", "I don't hold any
biases or prejudices", "I'm designed to respect user privacy" (`DISCLAIMERS`). Left behind
by a strip, they still say who is speaking ("As an AI, I don't have personal opinions." ->
"I don't have personal opinions."), so they are part of the statement. Each runs to the end
of its clause ("I don't have personal opinions on this matter"), since the clause says
nothing else; opinions, beliefs, views and preferences count only as *personal*, *own* or
*subjective* ones ("I don't have any preferences, pick either" is anyone's answer).

English uses token patterns (spaCy `Matcher` over the blank English tokenizer) rather than
regular expressions: tokens absorb spacing, curly apostrophes and contractions ("I'm",
"I’m") for free, and each pattern keeps a name so that callers can count which one fired.
The patterns require an AI head noun ("AI", "language model", "AI assistant", "chatbot",
"LLM"...) so that "As a teacher, ..." or "I am John, a nurse" are not identity statements.

German, Spanish, French and Chinese self-references ("Als KI-Sprachmodell", "Como modelo de
lenguaje de IA", "En tant que modèle de langage", "作为一个人工智能语言模型", "我是一个AI助手")
are regular expressions (`_FOREIGN`): the English tokenizer does not segment Chinese, and a
handful of fixed phrasings per language covers what models write.

"As an AI ..." names the speaker only where it opens a clause that the speaker goes on
with ("As an AI, ...", "but as an AI I ...") or where the sentence is already in the first
person ("what I can contribute as an AI"); "if the model is used as an AI assistant, it
..." and "As an AI model improves, ..." describe something else and are not reported.

`identity.strip`, `identity.inject` (to skip rows that already state an identity), the
fidelity checks and the profile all use this module, so the factor is measured one way
everywhere.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from spacy.matcher import Matcher

from ..nlp import sentencizer
from ..text import any_in, fold_case, has_word

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
_MODS = {"LOWER": {"IN": _MODIFIERS}, "OP": "*"}
_AI_TAILS = ["assistant", "model", "chatbot", "system", "program", "bot", "agent", "helper"]
# Head nouns after the optional modifiers. Each entry is one token sequence; "model" and
# "assistant" alone are too common in ordinary prose, so they need "AI", "language" or
# "virtual"/"digital" in front.
_HEADS: list[list[dict]] = [
    [{"LOWER": "ai"}],
    [{"LOWER": "ai"}, {"LOWER": {"IN": _AI_TAILS}}],
    [{"LOWER": "ai"}, {"ORTH": "-"}, {"LOWER": {"IN": ["powered", "based", "driven"]}}, {"LOWER": {"IN": _AI_TAILS}}],
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
# A name: capitalised or alphanumeric token(s) such as "Aria", "Acme Labs", "OpenAI",
# "GPT-4", "Mistral AI". "AI" may continue a name but not start one ("an AI").
_NAME_RE = r"^[A-Z0-9][\w.\-]*$"
_NAME_FIRST = {"TEXT": {"REGEX": _NAME_RE, "NOT_IN": ["I", "AI"]}}
_NAME_NEXT = {"TEXT": {"REGEX": _NAME_RE, "NOT_IN": ["I"]}, "OP": "*"}
_NAME = [_NAME_FIRST, _NAME_NEXT]
# Assistant names recognised without an "AI assistant" apposition ("I am ChatGPT").
KNOWN_NAMES = ["ChatGPT", "GPT-3", "GPT-3.5", "GPT-4", "GPT", "Claude", "Bard", "Gemini", "LLaMA", "Llama", "Alpaca", "Vicuna", "Copilot", "Bing"]


def _ai_core(articles: tuple[str, ...] = ("a", "an")) -> list[list[dict]]:
    art = {"LOWER": {"IN": list(articles)}}
    # "a privacy-respecting AI": one hyphenated compound modifier of any words
    compound = [{"IS_ALPHA": True}, {"ORTH": "-"}, {"IS_ALPHA": True}]
    return [[art, _MODS, *head] for head in _HEADS] + [[art, *compound, _MODS, *head] for head in _HEADS]


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
        "i_am_name": ("named_identity", [[_I, _BE, *_NAME, comma, *c] for c in core_apposition]),
        "as_name": ("named_identity", [[lead, {"LOWER": "as"}, *_NAME, comma, *c] for c in core_apposition]),
        "my_name_is": (
            "named_identity",
            [[{"LOWER": "my"}, {"LOWER": "name"}, {"LOWER": "is"}, *_NAME, comma, *c] for c in core_apposition]
            + [[{"LOWER": "my"}, {"LOWER": "name"}, {"LOWER": "is"}, {"ORTH": {"IN": KNOWN_NAMES}}]],
        ),
        "refer_to_me_as": (
            "named_identity",
            [[{"LOWER": {"IN": ["refer", "call"]}}, {"LOWER": "to", "OP": "?"}, {"LOWER": "me"}, {"LOWER": "as", "OP": "?"}, *_NAME, comma, *c]
             for c in core_apposition],
        ),
        "i_am_known_name": ("named_identity", [[_I, _BE, {"ORTH": {"IN": KNOWN_NAMES}}]]),
        "developed_by": (
            "developer_attribution",
            [
                [{"LOWER": {"IN": _ATTRIBUTION_HEADS}}, {"ORTH": ",", "OP": "?"}, {"LOWER": {"IN": _VERBS}}, {"LOWER": "by"}, *_NAME],
                [_I, {"LOWER": {"IN": ["was", "am", "'m", "’m"]}}, {"LOWER": {"IN": _VERBS}}, {"LOWER": "by"}, *_NAME],
                [_I, {"LOWER": {"IN": ["have", "'ve", "’ve"]}}, {"LOWER": "been"}, {"LOWER": {"IN": _VERBS}}, {"LOWER": "by"}, *_NAME],
            ],
        ),
        "my_developer_is": (
            "developer_attribution",
            [[{"LOWER": "my"}, {"LOWER": {"IN": ["developer", "developers", "creator", "creators", "maker", "makers"]}},
              {"LOWER": {"IN": ["is", "are", "was", "were"]}}, *_NAME]],
        ),
    }


# --- other languages ----------------------------------------------------------------------
_F_NAME = r"[A-Z0-9](?:[\w\-]|\.(?=\w))*(?:[ \t]+[A-Z0-9](?:[\w\-]|\.(?=\w))*)*"
_ZH_HEAD = r"(?:大型)?\s*(?:人工智能|AI|ＡＩ|语言模型)\s*(?:语言模型|助手|助理|模型|程序|系统|聊天机器人)?|虚拟助手|聊天机器人"
_ZH_NUM = r"(?:一[个名款种位])?"
# A Latin-script name inside Chinese text ("我是 Aria"), not "AI" ("我是AI助手").
_ZH_NAME = r"(?!AI(?![A-Za-z]))[A-Z][A-Za-z0-9\-]*(?:[ \t]+[A-Z][A-Za-z0-9\-]*)*"
_ZH_MADE = r"(?:开发|打造|训练|创建|创造|发明|制作|研发|设计|构建)"
_DE_HEAD = (r"(?:KI(?:-(?:Sprachmodell|Assistent(?:in|en)?|Modell|System|Chatbot|Programm|Agent))?|Sprachmodell"
            r"|künstliche[rn]?\s+Intelligenz|(?:virtuelle[rnm]?|digitale[rnm]?)\s+Assistent(?:in|en)?|Chatbot)\b")
_DE_ADJ = r"(?:(?:große[srnm]?|virtuelle[srnm]?|hilfreiche[srnm]?|digitale[srnm]?|textbasierte[srnm]?|einfache[srnm]?|bloße[srnm]?)\s+)*"
_ES_HEAD = (r"(?:modelo\s+de\s+lenguaje(?:\s+(?:grande|de\s+IA|de\s+inteligencia\s+artificial))*|IA\b|inteligencia\s+artificial"
            r"|asistente\s+(?:de\s+IA|virtual|de\s+inteligencia\s+artificial)|modelo\s+de\s+IA|chatbot)")
_FR_HEAD = (r"(?:IA\b|intelligence\s+artificielle|(?:grand\s+)?modèle\s+de\s+langage(?:\s+(?:d['’]IA|IA))?"
            r"|assistante?\s+(?:IA|virtuel(?:le)?|d['’]IA|numérique)|chatbot|agent\s+conversationnel)")

# (name, kind, pattern, opens_clause): an `opens_clause` pattern counts only at the start of
# a sentence or clause (see `_clause_start`), like the English "As an AI, ...".
_FOREIGN: tuple[tuple[str, str, re.Pattern, bool], ...] = tuple(
    (name, kind, re.compile(rx), opens)
    for name, kind, rx, opens in (
        ("de_als_ki", "ai_self_reference", r"\b[Aa]ls\s+(?:(?:ein|eine|einem|einer)\s+)?" + _DE_ADJ + _DE_HEAD, True),
        ("de_ich_bin_ki", "ai_self_reference",
         r"\b[Ii]ch\s+bin\s+(?:(?:nur|lediglich|bloß|einfach|nichts\s+weiter\s+als)\s+)?(?:ein|eine)\s+" + _DE_ADJ
         + r"(?:von\s+" + _F_NAME + r"\s+(?:entwickelte|trainierte|erstellte|gebaute|geschaffene)[rs]?\s+)?" + _DE_ADJ + _DE_HEAD, False),
        ("de_ich_bin_name", "named_identity",
         r"\b[Ii]ch\s+bin\s+" + _F_NAME + r",\s+(?:ein|eine|Ihr|Ihre|dein|deine)\s+" + _DE_ADJ + _DE_HEAD
         + r"|\bMein\s+Name\s+ist\s+" + _F_NAME + r"|\b[Ii]ch\s+heiße\s+" + _F_NAME, False),
        ("de_developed_by", "developer_attribution",
         r"\b(?:entwickelt|trainiert|erstellt|gebaut|geschaffen|programmiert)\s+von\s+" + _F_NAME
         + r"|\bvon\s+" + _F_NAME + r"\s+(?:entwickelt|trainiert|erstellt|gebaut|geschaffen|programmiert)(?:e[rsnm]?)?\b", False),
        ("es_como_ia", "ai_self_reference", r"\b[Cc]omo\s+(?:(?:un|una)\s+)?" + _ES_HEAD, True),
        ("es_soy_ia", "ai_self_reference",
         r"\b(?:[Yy]o\s+)?[Ss]oy\s+(?:(?:solo|sólo|solamente|simplemente|únicamente|tan\s+solo)\s+)?(?:un|una)\s+" + _ES_HEAD, False),
        ("es_soy_name", "named_identity",
         r"\b[Ss]oy\s+" + _F_NAME + r",\s+(?:un|una|tu|su)\s+" + _ES_HEAD + r"|\b[Mm]e\s+llamo\s+" + _F_NAME
         + r"|\b[Mm]i\s+nombre\s+es\s+" + _F_NAME, False),
        ("es_developed_by", "developer_attribution",
         r"\b(?:desarrollad|cread|entrenad|construid|diseñad|programad)[oa]\s+por\s+" + _F_NAME, False),
        ("fr_en_tant_que", "ai_self_reference", r"\b[Ee]n\s+tant\s+qu(?:e\s+|['’])(?:(?:un|une)\s+)?" + _FR_HEAD, True),
        ("fr_je_suis_ia", "ai_self_reference",
         r"\b[Jj]e\s+(?:suis\s+(?:(?:juste|seulement|simplement|uniquement)\s+)?|ne\s+suis\s+qu['’]\s*)(?:un|une)\s+"
         + r"(?:(?:grand|simple)\s+)?" + _FR_HEAD, False),
        ("fr_je_suis_name", "named_identity",
         r"\b[Jj]e\s+suis\s+" + _F_NAME + r",\s+(?:un|une|votre|ton)\s+" + _FR_HEAD + r"|\b[Jj]e\s+m['’]appelle\s+" + _F_NAME
         + r"|\b[Mm]on\s+nom\s+est\s+" + _F_NAME, False),
        ("fr_developed_by", "developer_attribution",
         r"\b(?:développé|créé|entraîné|conçu|construit|programmé)e?\s+par\s+" + _F_NAME, False),
        ("zh_as_ai", "ai_self_reference", r"作为\s*" + _ZH_NUM + r"\s*(?:" + _ZH_HEAD + r")", True),
        ("zh_i_am_ai", "ai_self_reference",
         r"(?:我(?:只|仅仅|只不过|不过)?是个?|这里是|我(?:叫|名叫|名为)(?=\s*[A-Z]))\s*(?:" + _ZH_NAME + r"\s*[，,]\s*(?:是\s*)?)?" + _ZH_NUM
         + r"\s*(?:(?:由\s*)?[^，。,]{1,20}?\s*" + _ZH_MADE + r"的\s*)?(?:" + _ZH_HEAD + r")", False),
        ("zh_as_name", "named_identity", r"作为\s*" + _ZH_NAME + r"\s*(?=[，,])", True),
        ("zh_i_am_name", "named_identity",
         r"我(?:是|叫|名叫|名为)\s*(?:由\s*[^，。,]{1,20}?\s*" + _ZH_MADE + r"的\s*)?" + _ZH_NAME + r"|我的名字(?:是|叫)\s*[^，。,\s！!]{1,20}|(?:叫|称呼)我(?:为)?\s*" + _ZH_NAME + r"|这里是\s*" + _ZH_NAME, False),
        ("zh_developed_by", "developer_attribution",
         r"由\s*[^，。,我]{1,20}?\s*" + _ZH_MADE + r"|是\s*[^，。,我]{1,20}?\s*" + _ZH_MADE + r"的|(?<![A-Za-z])[A-Z][A-Za-z0-9\- ]{0,30}?\s*" + _ZH_MADE + r"了我", False),
    )
)
# Per-language gates: a pattern runs only on text holding one of its language's key words,
# so English answers (which often say "assistant" or "AI") pay a few cheap searches.
_GATES: dict[str, re.Pattern] = {
    "de": re.compile(r"KI\b|KI-|Sprachmodell|künstliche|Assistent|Mein Name|heiße|entwickelt|trainiert|erstellt|gebaut|geschaffen|programmiert"),
    "es": re.compile(r"\bIA\b|modelo de|inteligencia|asistente|chatbot|llamo|nombre es|desarrollad|cread[oa]|entrenad|construid|diseñad|programad", re.IGNORECASE),
    "fr": re.compile(r"\bIA\b|intelligence artificielle|modèle de|[Ee]n tant qu|[Jj]e suis|appelle|[Mm]on nom|développé|créé|entraîné|conçu|construit|programmé"),
    "zh": re.compile(r"[\u4e00-\u9fff]"),
}
# Whether any language's gate opens, as one pattern: what `_gates` must agree with (a test
# compares them); no longer run, since this one scan cost more than the rest of the detector.
_ANY_GATE = re.compile("|".join(
    f"(?i:{rx.pattern})" if rx.flags & re.IGNORECASE else f"(?:{rx.pattern})" for rx in _GATES.values()
))
# Literals without which a language's gate cannot open (`text.has_word`, `text.any_in`):
# case-sensitive gates are tested on the text, the IGNORECASE one on `text.fold_case(text)`;
# Chinese needs a Han character (its gate is one character class, a fast scan).
_GATE_LITERALS: dict[str, tuple[bool, tuple[str, ...], tuple[str, ...]]] = {
    # language: (on folded case, whole words, substrings)
    "de": (False, (), ("KI", "Sprachmodell", "künstliche", "Assistent", "Mein Name", "heiße", "entwickelt", "trainiert",
                       "erstellt", "gebaut", "geschaffen", "programmiert")),
    "es": (True, ("ia",), ("modelo de", "inteligencia", "asistente", "chatbot", "llamo", "nombre es", "desarrollad", "cread",
                           "entrenad", "construid", "diseñad", "programad")),
    "fr": (False, ("IA",), ("intelligence artificielle", "modèle de", "n tant qu", "e suis", "appelle", "on nom", "développé",
                            "créé", "entraîné", "conçu", "construit", "programmé")),
}


def _gates(text: str) -> dict[str, bool]:
    """Which languages' gates open on `text` (`_GATES`; {} when none does), each pattern run
    only where its literals occur: one scan of the combined gate cost more than the rest of
    the detector on most answers."""
    folded = None
    out: dict[str, bool] = {}
    for lang, (fold, whole, parts) in _GATE_LITERALS.items():
        if fold and folded is None:
            folded = fold_case(text)
        t = folded if fold else text
        out[lang] = (any(has_word(t, w) for w in whole) or any_in(t, parts)) and bool(_GATES[lang].search(text))
    out["zh"] = not text.isascii() and bool(_GATES["zh"].search(text))
    return out if any(out.values()) else {}


_FOREIGN_FIRST_PERSON = re.compile(r"\b(?:ich|mich|mir|mein\w*|yo|soy|mi|me|je|j['’]|moi|mon|ma)\b|我", re.IGNORECASE)


# --- disclaimers of an AI's nature ------------------------------------------------------------
_NEG = r"(?:do\s+not|don['’]t|dont|cannot|can['’]t|can\s+not)"
# Nouns that only an AI disclaims without a modifier ("I don't have feelings"), and those it
# disclaims as personal ones ("I don't have personal opinions"; "any opinions" is anyone's).
_BARE_NOUNS = r"feelings|emotions|consciousness|self-awareness|biases|prejudices|desires"
_PERSONAL_NOUNS = r"opinions?|beliefs?|views?|preferences?|feelings|emotions|biases|bias|prejudices|desires|thoughts|political\s+(?:views|opinions|affiliations)"
_DISCLAIMER_MOD = r"(?:(?:personal|subjective|own|human)\s+)"
_DISCLAIMER_NOUN = r"(?:" + _DISCLAIMER_MOD + r"(?:" + _PERSONAL_NOUNS + r")|(?:" + _BARE_NOUNS + r"))"
DISCLAIMERS: tuple[tuple[str, re.Pattern], ...] = (
    ("no_personal_views", re.compile(
        r"\bI\s+" + _NEG + r"\s+(?:have|hold|possess|form)\s+(?:any\s+|a\s+|my\s+)?" + _DISCLAIMER_NOUN
        + r"(?:\s*(?:,\s*(?:or\s+|and\s+)?|\s+or\s+|\s+and\s+)(?:any\s+)?" + _DISCLAIMER_MOD + r"?(?:" + _PERSONAL_NOUNS + r"))*"
        + r"(?!\s+(?:for|towards?)\b)(?![\w-])", re.IGNORECASE)),
    ("designed_to", re.compile(
        r"\bI\s*(?:am|['’]m|was|have\s+been|['’]ve\s+been)\s+(?:specifically\s+|only\s+|also\s+)?(?:designed|programmed)\s+to\b",
        re.IGNORECASE)),
)
# The same disclaimers continuing an identity statement without a subject of their own:
# "I am an AI and do not have personal opinions", "I am a simple chatbot designed to help".
# They count only right after another identity match (`_continues`): "They are busy and do
# not have personal opinions" is about someone else.
CONTINUATIONS: tuple[tuple[str, re.Pattern], ...] = (
    ("and_no_personal_views", re.compile(
        r"\s*,?\s*(?:and|so)\s+(?:therefore\s+|thus\s+)?" + _NEG + r"\s+(?:have|hold|possess|form)\s+(?:any\s+|a\s+|my\s+)?"
        + _DISCLAIMER_NOUN + r"(?:\s*(?:,\s*(?:or\s+|and\s+)?|\s+or\s+|\s+and\s+)(?:any\s+)?" + _DISCLAIMER_MOD
        + r"?(?:" + _PERSONAL_NOUNS + r"))*(?!\s+(?:for|towards?)\b)(?![\w-])", re.IGNORECASE)),
    ("and_designed_to", re.compile(
        r"\s*,?\s*(?:(?:and|so)\s+(?:am\s+|was\s+)?|that\s+(?:was|is|has\s+been)\s+)?(?:specifically\s+|only\s+)?"
        r"(?:designed|programmed)\s+to\b", re.IGNORECASE)),
)
# The rest of a disclaimer's clause, which says nothing else ("I don't have personal opinions
# on politics, religion or sports"): up to the sentence's end, or to where a clause of its
# own begins - after "but/so/yet/however/therefore", "and I ...", or a comma before a new
# subject ("I'm designed to help, it is ...").
_CLAUSE_REST = re.compile(
    r"(?:[^;:!?\n.(]|\.(?!\s|$)|\.(?=\s+[a-z]))*?(?=\s*(?:[;:!?\n(]|\.(?:\s+(?![a-z])|$)|$)"
    r"|\s*,?\s*(?:but|so|yet|however|therefore|thus|hence)\b|\s*,?\s*and\s+(?:I\b|I['’]|my\b)"
    r"|\s*,\s*(?:I|I['’]\w+|it|it['’]s|this|that|these|those|you|your|we|they|there|here|please)\b)"
)
_DISCLAIMER_GATE = re.compile(r"\bI\b[^.!?\n]{0,12}?(?:n['’]?t|not|am|['’]m|was|been)\s", re.IGNORECASE)


PATTERN_KINDS: dict[str, str] = {
    **{name: kind for name, (kind, _) in _patterns().items()},
    **{name: "ai_self_reference" for name, _ in DISCLAIMERS + CONTINUATIONS},
    **{name: kind for name, kind, _, _ in _FOREIGN},
}

# Cheap guard: a text with none of these words cannot match any English pattern, so the
# tokenizer is skipped (most answers in an instruction set never mention an AI).
_PREFILTER = re.compile(
    r"\b(ai|language model|llm|chatbot|virtual assistant|digital assistant|artificial intelligence|"
    + "|".join(re.escape(n.lower()) for n in KNOWN_NAMES)
    # an attribution pattern needs "<verb> by": the bare verbs are too common to prefilter on
    + r"|developers?|creators?|makers?|(?:" + "|".join(re.escape(v) for v in _VERBS) + r")\s+by)\b",
    re.IGNORECASE,
)


# The `_PREFILTER` words that must occur in an ASCII text's lower case for it to match:
# whole words where a substring is common ("ai" in "said", "bing" in "being"), substrings
# where it is rare; "<verb> by" is tested as a verb followed by whitespace and "by".
_PREFILTER_WORDS = ("ai", "llm", "bing", "bard", "gpt")
_PREFILTER_PARTS = ("language model", "chatbot", "virtual assistant", "digital assistant", "artificial intelligence",
                    *(n.lower() for n in KNOWN_NAMES if n.lower() not in ("bing", "bard") and not n.lower().startswith("gpt")),
                    "developer", "creator", "maker")


def _verb_by(low: str) -> bool:
    """Whether an attribution verb is followed by whitespace and "by" in `low`."""
    for verb in _VERBS:
        i = low.find(verb)
        while i != -1:
            j = i + len(verb)
            k = j
            while k < len(low) and low[k].isspace():
                k += 1
            if k > j and low.startswith("by", k):
                return True
            i = low.find(verb, i + 1)
    return False


def _prefilter(text: str) -> bool:
    """`_PREFILTER.search(text)`, with a text that holds none of its words (`text.fold_case`)
    answered by `str.find` alone (the pattern's scan of every position was the detector's
    main cost)."""
    low = fold_case(text)
    if not (any(has_word(low, w) for w in _PREFILTER_WORDS) or any_in(low, _PREFILTER_PARTS) or _verb_by(low)):
        return False
    return _PREFILTER.search(text) is not None


_FIRST_PERSON = re.compile(r"\b(I|me|my|myself)\b")


@lru_cache(maxsize=1)
def _matcher() -> Matcher:
    matcher = Matcher(sentencizer().vocab)
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
    if not text:
        return []
    return list(_find_identity(text))


@lru_cache(maxsize=8192)
def _find_identity(text: str) -> tuple[IdentityMatch, ...]:
    """Cached per text (bounded): `identity.inject` asks of each answer before it writes,
    its fidelity checks ask again of the result, `identity.strip` plans from the matches
    and `roleplay.add` asks of the answers it must not contradict."""
    out = _find_english(text) if _prefilter(text) else []
    out.extend(_find_disclaimers(text))
    out.extend(_find_foreign(text))
    if not out:
        return ()
    out.sort(key=lambda m: (m.start, -m.end, m.pattern))
    out = [m for m in out if _speaks_of_self(text, m)]
    out = [m for m in out if not _third_person_attribution(text, m, out)]
    more = _continues(text, out)
    if more:
        out = sorted(out + more, key=lambda m: (m.start, -m.end, m.pattern))
    return tuple(out)


def _continues(text: str, found: list[IdentityMatch]) -> list[IdentityMatch]:
    """Disclaimers that go on from an identity statement without a subject of their own."""
    out: list[IdentityMatch] = []
    for m in found:
        if m.pattern in _DISCLAIMER_NAMES:
            continue
        for name, rx in CONTINUATIONS:
            c = rx.match(text, m.end)
            if c:
                s = m.end + len(c.group()) - len(c.group().lstrip(" \t,"))
                rest = _CLAUSE_REST.match(text, c.end())
                e = c.end() + (len(rest.group()) if rest else 0)
                out.append(IdentityMatch("ai_self_reference", name, s, e, text[s:e]))
                break
    return out


def _find_english(text: str) -> list[IdentityMatch]:
    out = []
    # Only sentences that pass the prefilter are tokenised and matched: the Matcher's
    # optional-token patterns cost milliseconds over a whole answer, and an identity
    # statement never spans two sentences.
    for seg in _SEGMENT.finditer(text):
        base = seg.start()
        for kind, name, start, end, span in _segment_matches(seg.group()):
            out.append(IdentityMatch(kind, name, base + start, base + end, span))
    return out


@lru_cache(maxsize=4096)
def _segment_matches(segment: str) -> tuple[tuple[str, str, int, int, str], ...]:
    """(kind, pattern, start, end, text) of the token-pattern matches in one segment, offsets
    into the segment. Cached per segment (bounded): an injected statement ("I am an AI
    assistant.") is one segment of every answer it opens, and tokenising it and running the
    Matcher on it is most of the cost of checking that answer."""
    if not _prefilter(segment):
        return ()
    doc = sentencizer().tokenizer(segment)
    strings = doc.vocab.strings
    out = []
    for match_id, start, end in _matcher()(doc):
        name = strings[match_id]
        span = doc[start:end]
        out.append((PATTERN_KINDS[name], name, span.start_char, span.end_char, span.text))
    return tuple(out)


_DISCLAIMER_NAMES = frozenset(name for name, _ in DISCLAIMERS + CONTINUATIONS)


def _find_disclaimers(text: str) -> list[IdentityMatch]:
    """ "I don't have personal opinions ...", "I'm designed to ...", to the end of the clause."""
    out: list[IdentityMatch] = []
    if not _DISCLAIMER_GATE.search(text):
        return out
    for name, rx in DISCLAIMERS:
        for m in rx.finditer(text):
            if not m.group().startswith("I"):  # "i" in lower case is not the pronoun
                continue
            rest = _CLAUSE_REST.match(text, m.end())
            e = m.end() + (len(rest.group()) if rest else 0)
            out.append(IdentityMatch("ai_self_reference", name, m.start(), e, text[m.start():e]))
    return out


def _find_foreign(text: str) -> list[IdentityMatch]:
    out = []
    gates = _gates(text)
    if not gates:
        return out
    for name, kind, rx, opens in _FOREIGN:
        if not gates[name[:2]]:
            continue
        for m in rx.finditer(text):
            s = m.start()
            e = s + len(m.group().rstrip())
            if opens and not _clause_start(text, s):
                continue
            out.append(IdentityMatch(kind, name, s, e, text[s:e]))
    return out


# --- who is spoken of ------------------------------------------------------------------------
_SENT_STOP = ".!?\n。！？"
_CLAUSE_OPENER = re.compile(
    r"(?:^|[,;:—–(\"“]|\b(?:but|and|so|yet|however|though|although|because|since|while|despite|even|"
    r"und|aber|doch|pero|y|mais|et|donc))\s*$|(?:但是?|而且?|所以|因此|，|,)\s*$",
    re.IGNORECASE,
)
# What may follow an English "As an AI ..." that speaks of the speaker: a comma, a dash or
# colon, an attribution then a comma, or a first-person word ("as an AI I cannot"); or a
# longer participle or relative phrase when a first-person clause follows its comma ("As
# an AI model trained on a large data set, I ..."). `identity.strip` removes up to the end
# of this match, so the clause goes with its phrase and separator.
_FP_NEXT = r"(?=(?:I|I['’](?:m|ve|d|ll)|my|me|let|let['’]s|we|our)\b)"
AS_CLAUSE_TAIL = re.compile(
    r"(?:\s+(?:" + "|".join(_VERBS) + r")\s+by\s+[A-Z0-9][^,.;:!?\n]{0,60})?(?:\s*[,:—–]\s*|\s+-\s+|\s+" + _FP_NEXT + r")"
    r"|\s+(?:(?:" + "|".join(_VERBS) + r")\s+(?:on|with|for|to|using|from|in)|that|which|who)\s+[^,.;:!?\n]{1,60}?\s*,\s*" + _FP_NEXT
)
# "used as an AI assistant", "such as an AI": the "as" phrase describes something else.
_THIRD_PERSON_BEFORE = re.compile(
    r"\b(?:use[sd]?|using|such|known|seen|regarded|treated|described|referred|deployed|employed|classified|"
    r"marketed|sold|introduced|presented|act|acts|acting|serves?|serving|works?|working|functions?)\s*$",
    re.IGNORECASE,
)
_OTHER_SUBJECT = re.compile(r"\b(?:it|this|that|these|those|them|you|him|her|he|she|they|someone|something|one)\b|\b[A-Z][a-z]\w*", 0)


def _sentence_prefix(text: str, pos: int) -> str:
    start = max(text.rfind(c, 0, pos) for c in _SENT_STOP) + 1
    return text[start:pos]


def _clause_start(text: str, pos: int) -> bool:
    """Whether `pos` opens a sentence or a clause ("Sorry, but as an AI ...")."""
    return bool(_CLAUSE_OPENER.search(_sentence_prefix(text, pos)))


def _speaks_of_self(text: str, m: IdentityMatch) -> bool:
    """An "as/being an AI" phrase is the speaker's own only where it opens a clause that
    goes on in the speaker's voice, or follows a first-person subject in its sentence."""
    if m.pattern not in ("as_an_ai", "being_an_ai", "as_name"):
        return True
    if _clause_start(text, m.start):
        return m.pattern == "as_name" or bool(AS_CLAUSE_TAIL.match(text, m.end))
    prefix = _sentence_prefix(text, m.start)
    if _THIRD_PERSON_BEFORE.search(prefix):
        return False
    first = list(_FIRST_PERSON.finditer(prefix))
    if not first:
        return False
    between = prefix[first[-1].end():]
    return not _OTHER_SUBJECT.search(between)


def _third_person_attribution(text: str, m: IdentityMatch, matches: list[IdentityMatch]) -> bool:
    """ "ChatGPT, a chatbot developed by OpenAI" describes another system, not the speaker.

    A head-noun attribution ("... model trained by X") counts only when it belongs to
    another identity statement or its sentence speaks in the first person before it.
    """
    if m.pattern == "developed_by":
        if m.text.startswith("I "):
            return False
        first_person = _FIRST_PERSON
    elif m.pattern in ("de_developed_by", "es_developed_by", "fr_developed_by", "zh_developed_by"):
        first_person = _FOREIGN_FIRST_PERSON
    else:
        return False
    if any(o is not m and o.start < m.end and m.start < o.end for o in matches) or first_person.search(m.text):
        return False
    return not first_person.search(_sentence_prefix(text, m.start))


def identity_kinds(text: str) -> set[str]:
    """The kinds of identity statement present in `text` (empty set if none)."""
    return {m.kind for m in find_identity(text)}
