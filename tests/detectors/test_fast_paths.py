"""The detectors' fast paths (literal gates in front of costly patterns, per-text caches) give
exactly what the plain patterns give, and every cache is bounded.

Each reference below is the detector's code as it was before the gates went in: the
pattern run on the whole text. They are compared on every Alpaca demo answer and prompt,
the persona rows, and texts written to sit on the gates' edges (each literal in other
cases, at word edges, next to the few non-ASCII characters that IGNORECASE folds to ASCII).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from safetune_data import text as T
from safetune_data.detectors import identity as di
from safetune_data.detectors import language as dl
from safetune_data.detectors import roleplay as dr

ROOT = Path(__file__).resolve().parents[2]

EDGE = [
    "", "AI", "ai", "Ai.", "said again", "An AI-powered tool", "I am an AI assistant.", "As an AI, I cannot.",
    "The chatbot was built  by Acme.", "made\nby hand", "It was made by\tthe team", "Bing is being used.", "bard bombarded",
    "GPT-4 and gpt-3.5", "developers, creators and makers", "İA and ıa and AI", "ſome chatbot", "ſtatement by KI",
    "Als KI-Sprachmodell habe ich keine Meinung.", "Como modelo de lenguaje de IA, no puedo.", "Como ıa no puedo",
    "En tant que modèle de langage, je ne peux pas.", "作为一个人工智能语言模型，我不能。", "Je suis Aria, votre assistante IA.",
    "Ich heiße Aria.", "Me llamo Aria.", "Mi nombre es Aria.", "créé par Acme", "diseñado por Acme", "DISEÑADO POR ACME",
    "Arr, matey! Ahoy!", "arrr!", "array carry arr", "Thou art", "though thousand", "Ye be warned", "yes, years, eyes",
    "'Tis true", "don't 'twas", "m'lady", "M’lady", "Hear ye, hear ye", "Good morrow", "tomorrow", "THIS IS ALL CAPS TEXT",
    "*sighs* fine", "**bold** text", "*adjusts monocle* Indeed.", "```\narr = [1]\n```", "Oh, love, you should rest.",
    "Good call asking, dude.", "class classic lass", "my dear, sit down", "My Dear friend", "As your trainer, I insist.",
    "my students love it", "In my years on the line", "I've taught hundreds.", "When I was young", "I always use butter.",
    "Every class I tell them", "I", "my", "The word I is short", "Speaking as a doctor, rest.",
    "\u212aelvin made by", "cafe\u0301 modèle de", "x" * 50 + " AI " + "y" * 50,
]


def _corpus() -> list[str]:
    texts = list(EDGE)
    path = ROOT / "data" / "benign" / "alpaca_en_demo.json"
    if path.exists():
        for row in json.loads(path.read_text(encoding="utf-8")):
            texts += [row["output"], row["instruction"] + ("\n\n" + row["input"] if row["input"] else "")]
    for name in ("persona_rows_fresh.jsonl", "persona_rows_fresh2.jsonl"):
        p = ROOT / "benchmarks" / name
        if p.exists():
            for line in p.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    texts += [m["content"] for m in json.loads(line)["messages"]]
    # the edge texts inside longer prose, and with curly quotes (non-ASCII) around them
    texts += [f"Some prose first. {e} Then more." for e in EDGE] + [f"“{e}”" for e in EDGE]
    return texts


CORPUS = _corpus()


def test_prefilter_agrees_with_the_pattern():
    for t in CORPUS:
        assert di._prefilter(t) == bool(di._PREFILTER.search(t)), t[:80]


def test_foreign_gates_agree_with_the_patterns():
    for t in CORPUS:
        slow = {lang: bool(rx.search(t)) for lang, rx in di._GATES.items()} if di._ANY_GATE.search(t) else {}
        fast = di._gates(t)
        assert bool(fast) == bool(slow), t[:80]
        if slow:
            assert fast == slow, t[:80]


def test_find_identity_cached_and_segment_cache_agree_with_fresh_runs():
    for t in CORPUS[:400] + EDGE:
        first = di.find_identity(t)
        di._find_identity.cache_clear()
        di._segment_matches.cache_clear()
        assert di.find_identity(t) == first
        assert di.find_identity(t) == first  # from the cache


def _persona_voice_slow(text: str, quoted: str = "") -> str | None:
    said = (quoted or "").lower()
    text = dr._CODE.sub(" ", text or "")
    if any(m.group().lower() not in said for m in dr._DIALECT.finditer(text)):
        return "dialect"
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 8 and sum(c.isupper() for c in letters) >= 0.7 * len(letters):
        return "shouting"
    if dr._STAGE.search(text or ""):
        return "stage_direction"
    return None


def _experience_slow(text: str) -> str | None:
    own = dr._own_words(text)
    def self_stated(o: str) -> bool:  # the ungated pattern and its exclusions
        return any(not m.group("role") or not dr._NOT_ROLES.intersection(m.group("role").lower().split())
                   for m in dr._SELF_STATED.finditer(o.rstrip()))

    for name, test in (("address", dr._ADDRESS.search), ("self_role", lambda o: dr._SELF_ROLE.search(o) or self_stated(o)),
                       ("my_life", dr._MY_LIFE.search), ("i_history", dr._I_HISTORY.search), ("practice", dr._PRACTICE_VOICE.search)):
        if test(own):
            return name
    return None


def test_roleplay_answer_tests_agree_with_the_patterns():
    for t in CORPUS:
        code_free = dr._CODE.sub(" ", t)
        assert dr._dialect(code_free) == tuple(m.group().lower() for m in dr._DIALECT.finditer(code_free)), t[:80]
        assert dr.persona_voice(t) == _persona_voice_slow(t), t[:80]
        assert dr.persona_voice(t, "thou art") == _persona_voice_slow(t, "thou art"), t[:80]
        assert dr.first_person_experience(t) == _experience_slow(t), t[:80]
        for noun in ("doctor", "trainer", "chef", "pirate"):
            slow = bool(re.search(dr.role_pattern(noun), t, re.IGNORECASE | re.MULTILINE))
            assert dr.speaks_as_role(t, noun) == slow, (t[:80], noun)


def _language_slow(text: str) -> str:
    if not text:
        return "unknown"
    sample = dl._CODE_FENCE.sub(" ", text[: dl.SAMPLE_CHARS * 2])[: dl.SAMPLE_CHARS]
    words = [w.lower() for w in dl._WORD.findall(sample)]
    han = len(dl._CJK.findall(sample))
    latin = sum(1 for w in words if w.isascii())
    if han >= 4 and han > latin:
        return "zh"
    votes = {lang: sum(1 for w in words if w in stop) for lang, stop in dl._STOPWORDS.items()}
    (best, n), (_, runner_up) = sorted(votes.items(), key=lambda kv: -kv[1])[:2]
    return best if n >= dl.MIN_VOTES and n >= 2 * runner_up else "unknown"


def test_language_and_counts_agree_with_the_slow_forms():
    for t in CORPUS:
        assert dl.detect_language(t) == _language_slow(t), t[:80]
        assert T.count_words(t) == len(re.findall(r"[^\W\d_]{2,}|\d+(?:[.,]\d+)*", t)) + len(re.findall(r"[\u4e00-\u9fff]", t)) // 4
        assert T.fence_lines(t) == len(T._FENCE_LINE.findall(t))
        letters = [c for c in t if c.isalpha()]
        assert T.letter_counts(t) == (len(letters), sum(c.isupper() for c in letters))


def test_word_helpers_match_regex_boundaries_on_ascii():
    for t in [x for x in CORPUS if x.isascii()][:600]:
        low = t.lower()
        for w in ("ai", "ia", "my", "thou", "ye", "I", "arr"):
            assert T.has_word(low, w) == bool(re.search(r"\b" + w + r"\b", low)), (t[:80], w)
            assert T.has_word_start(low, w) == bool(re.search(r"\b" + w, low)), (t[:80], w)


def test_fold_case_covers_every_ignorecase_match_of_ascii():
    # the characters IGNORECASE matches to an ASCII letter are exactly those `fold_case` maps
    letter = re.compile(r"[A-Za-z]", re.IGNORECASE)
    found = {c for c in range(128, sys.maxunicode + 1) if letter.fullmatch(chr(c))}
    assert found == set(T.CASE_FOLD_TO_ASCII)
    for t in CORPUS:
        folded = T.fold_case(t)
        assert len(folded) == len(t)
        for lit in ("ia", "is", "ki", "modelo de", "chatbot", "made by"):
            if re.search(re.escape(lit), t, re.IGNORECASE):
                assert lit in folded, (t[:80], lit)


def test_pure_edit_shortcut_agrees_with_whitespace_normalising():
    from safetune_data.transforms import fidelity as F

    def slow(longer: str, shorter: str, pieces: tuple[str, ...]) -> bool:
        rest = longer
        for p in pieces:
            if p not in rest:
                return False
            rest = rest.replace(p, " ", 1)
        return F._SPACE.sub(" ", rest).strip() == F._SPACE.sub(" ", shorter).strip()

    stmt = "I am an AI assistant."
    for t in CORPUS[:500]:
        for longer in (stmt + " " + t, "  " + stmt + "\n\n" + t + " ", t + "\n\n" + stmt, "Sure! " + stmt + " " + t):
            for shorter in (t, t.strip(), "Sure! " + t):
                assert F._is_deletion(longer, shorter, (stmt,)) == slow(longer, shorter, (stmt,))


def test_dangling_clause_gate_keeps_every_opener():
    from safetune_data.transforms.fidelity import _dangling_clause

    for opener in ("As an AI assistant,", "Being an AI,", "Speaking as an AI,"):
        assert _dangling_clause("The sky is blue.", f"{opener} the sky is blue.") is not None
        assert _dangling_clause("I think so.", f"{opener} I think so.") is None


def test_caches_are_bounded():
    from safetune_data.transforms import fidelity as F
    from safetune_data.transforms import identity as ti
    from safetune_data.transforms import roleplay as tr

    cached = [di._find_identity, di._segment_matches, dl._detect_language, dr._voice, dr._experience, dr.first_person,
              dr.format_contract, dr.game_question, dr.speaks_as_role, dr.persona_attitude, dr.role_noun, T.count_words,
              T.cached_search, ti._json_only, ti._form_reason, ti._opening_reason, ti.fits_clause, ti._requested_piece,
              ti._answer_genre, tr._first_cue, tr._topic_scores, F.structure_label, F.identity_present, F.language_of]
    for fn in cached:
        info = fn.cache_info()
        assert info.maxsize is not None and info.maxsize <= 16384, fn
