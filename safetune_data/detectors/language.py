"""Which language an answer is written in: en, de, es, fr, it, pt, zh, or unknown.

The transforms need one decision per answer ("may an English identity statement go here?",
"did a rewrite change the language?"), thousands of times per second, on text that is
often half code or numbers. A stopword vote does that in microseconds and is right on
prose of a sentence or more; a statistical identifier (fastText, CLD3) would add a model
download for no gain on these seven languages. Text with too few words to vote is
"unknown", and callers treat "unknown" as "do not know, do not refuse".
"""
from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

LANGUAGES = ("en", "de", "es", "fr", "it", "pt", "zh")

# Frequent function words that are rare in the other languages (shared ones such as
# "a", "de", "la", "en", "die" in English text are left out or kept only where they vote
# for one language far more often than for the others).
_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and is are was were of to in that it for with as on this be have has not you "
        "your they their which from or by an can will would there what when how also".split()
    ),
    "de": frozenset(
        "der die das und ist nicht sie ich mit auf für ein eine einen dem den des zu sich "
        "auch werden wird sind kann oder wie aber bei nach aus wenn noch über".split()
    ),
    "es": frozenset(
        "el los las del que es y una para por con se su al como más pero sus está son "
        "puede también hay muy esto este esta sobre entre".split()
    ),
    "fr": frozenset(
        "le les des et est une pour dans que qui sur pas avec ce cette sont au aux du "
        "vous nous il elle ne plus peut être mais ou comme leur".split()
    ),
    # Italian and Portuguese have no built-in identity templates; they are told apart so that
    # an answer in either is not "unknown" (which callers read as "may be English")
    "it": frozenset(
        "della delle degli dei gli nel nella nei alla alle anche questo questa sono essere per più molto "
        "hanno perché sul dal dalla ci cosa solo tutto".split()
    ),
    "pt": frozenset(
        "não uma com os do da dos das em ao mais seu sua você isso isto também muito mas pelo pela "
        "são foi ele ela tem às".split()
    ),
}
# Function words Spanish shares with Portuguese: they sit in the Spanish list, and go to
# Portuguese when its own words outvote Spanish's own ("a gente escreveria no Brasil" would
# otherwise tie on "que", "para", "por").
_IBERIAN_SHARED = frozenset("que para por se como".split())
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CODE_FENCE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
MIN_VOTES = 3
SAMPLE_CHARS = 2000


def detect_language(text: str) -> str:
    """The language of `text` by stopword vote over its first 2,000 characters of prose.

    Chinese wins when Han characters outnumber Latin words; otherwise the language with
    most stopword hits, if it has at least `MIN_VOTES` of them and twice the runner-up.
    Cached per text (bounded): the transforms and their fidelity checks ask of the same
    answers and prompts again and again.
    """
    if not text:
        return "unknown"
    return _detect_language(text)


@lru_cache(maxsize=8192)
def _detect_language(text: str) -> str:
    sample = text[: SAMPLE_CHARS * 2]
    if "```" in sample:
        sample = _CODE_FENCE.sub(" ", sample)
    sample = sample[:SAMPLE_CHARS]
    if sample.isascii():
        # the same words, counted in C: lower-casing ASCII moves no word boundary, and
        # ASCII text has no Han characters and only ASCII words
        counts = Counter(_WORD.findall(sample.lower()))
        votes = {lang: sum(counts[w] for w in stop.intersection(counts)) for lang, stop in _STOPWORDS.items()}
        shared = sum(counts[w] for w in _IBERIAN_SHARED.intersection(counts))
    else:
        words = [w.lower() for w in _WORD.findall(sample)]
        han = len(_CJK.findall(sample))
        latin = sum(1 for w in words if w.isascii())
        if han >= 4 and han > latin:
            return "zh"
        votes = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOPWORDS.items()}
        shared = sum(1 for w in words if w in _IBERIAN_SHARED)
    if shared and votes["pt"] > votes["es"] - shared:
        votes["es"] -= shared
        votes["pt"] += shared
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    (best, n), (_, runner_up) = ranked[0], ranked[1]
    if n >= MIN_VOTES and n >= 2 * runner_up:
        return best
    return "unknown"


__all__ = ["LANGUAGES", "MIN_VOTES", "detect_language"]
