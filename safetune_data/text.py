"""Text primitives shared by the transforms and detectors: sentence boundaries, span surgery,
capitalisation, emphasis, code. A rewrite may change only what it means to change, so these
small operations must behave the same wherever they are used; none needs a parser
(`sentence_spans` refines the boundaries `nlp.sentence_starts` proposes).
"""
from __future__ import annotations

import bisect
import re
from functools import lru_cache
from typing import Callable, Iterable

# --- sentence ends ------------------------------------------------------------------------
_TERMINAL = re.compile(r"(?:[.!?…]|[.!?][\"'”’)\]]+)$")
# A rough sentence: a run without sentence punctuation or newline, with its punctuation (the
# unit repetition and self-description are counted in; no parse needed).
SENTENCE_PIECE = re.compile(r"[^.!?\n]+[.!?]*")


def ends_sentence(text: str) -> bool:
    """Whether `text` ends in sentence punctuation, optionally closed by quotes or brackets."""
    return bool(_TERMINAL.search(text))


# --- protected spans: no sentence boundary falls inside them ------------------------------
# Each pattern runs only when its trigger occurs in the paragraph: one alternation of
# them all costs more than spaCy's own segmentation (the e-mail pattern alone rescans
# every word).
_PROTECTED: list[tuple[tuple[str, ...], re.Pattern]] = [
    (("`",), re.compile(r"(`+)[^`].*?\1", re.DOTALL)),  # inline code
    (("](",), re.compile(r"!?\[[^\]\n]*\]\([^)\s]*\)")),  # markdown links and images
    (("://", "www."), re.compile(r"<?(?:https?|ftp)://[^\s<>]+>?|\bwww\.[^\s<>]+")),  # URLs
    (("@",), re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),  # e-mail addresses
    (("$$", "\\[", "\\("), re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)", re.DOTALL)),  # TeX
    (("$",), re.compile(r"\$(?=[^\s$])[^$\n]*?[^\s$]\$(?!\d)")),  # $inline math$ (not "$12 + $14")
    # quotations, up to a quoted paragraph ('"Leadership involves ... success."')
    (('"', "“"), re.compile(r'"[^"\n]{1,2000}"|“[^”\n]{1,2000}”')),
    (("(",), re.compile(r"\([^()\n]{1,300}\)")),  # parentheticals
    ((".", ",", ":"), re.compile(r"\d+(?:[.,:]\d+)+")),  # 1.5, 1,000, 10:30
    ((". ", ".\n"), re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|Mt|No|Nos|Fig|Figs|Eq|Vol|vs|cf|e\.g|i\.e)\.\s+\S")),
    (("#",), re.compile(r"#\w+")),  # hashtags (spaCy splits "#" from its word)
]


def protected_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges that a sentence boundary must not fall inside (sorted, merged): inline
    code, links, URLs, e-mail addresses, TeX, quotations, parentheticals, numbers,
    abbreviations before a word, hashtags."""
    found = sorted(
        (m.start(), m.end())
        for triggers, pattern in _PROTECTED
        if any(t in text for t in triggers)
        for m in pattern.finditer(text)
    )
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


# Abbreviations that do not end a sentence before a capital or a number ("approx. 700",
# "Dr. Smith"), and those that may end one before a capital ("..., etc. The next").
_NEVER_FINAL = frozenset(
    "approx appr vs cf mr mrs ms dr prof st mt no nos fig figs eq eqs vol vols pp ch sec dept est incl esp ca"
    " gen gov sen rep capt lt col sgt rev hon pres jan feb mar apr jun jul aug sep sept oct nov dec ave blvd".split()
)
_SOMETIMES_FINAL = frozenset("etc inc ltd co corp jr sr bros llc a.m p.m".split())
_LAST_WORD = re.compile(r"([A-Za-z][\w.]*?)\.[\"'”’)\]]*$")
_ENDS_SENTENCE = re.compile(r"[.!?…。！？][\"'”’)\]*_]*$")
_ELLIPSIS_END = re.compile(r"(?:\.\.\.|…)[\"'”’)\]]*$")


def joins_next(prev_tail: str, next_char: str) -> bool:
    """Whether a sentence boundary proposed between `prev_tail` and a sentence starting with
    `next_char` must be dropped: spaCy cuts after every full stop, but a reviewer would not
    accept "approx." / "700,000 residents." or "backgrounds. #" / "DiversityMatters" as two
    items, nor a cut after an initial, an ellipsis or before a lower-case word."""
    if next_char.islower() or next_char in "#@,;:)]}":
        return True
    if not _ENDS_SENTENCE.search(prev_tail) or _ELLIPSIS_END.search(prev_tail):
        return True
    m = _LAST_WORD.search(prev_tail)
    if m is None:
        return False
    word = m.group(1)
    low = word.lower()
    if low in _SOMETIMES_FINAL:
        return not next_char.isupper()
    if low in _NEVER_FINAL or "." in word:  # "approx.", "Dr."; "U.S.", "e.g.", "Ph.D."
        return True
    return len(word) == 1 and word.isupper()  # an initial: "J. R. R. Tolkien", "Thomas S. Kuhn"


def sentence_spans(text: str, starts: Iterable[int]) -> list[tuple[int, int]]:
    """Sentence ranges of `text` from proposed sentence starts (`nlp.sentence_starts`),
    never cutting protected spans.

    A proposed boundary is dropped when it falls inside a protected span or when
    `joins_next` says the two pieces are one sentence.
    """
    cuts = (list(starts) or [0]) + [len(text)]
    spans: list[tuple[int, int]] = []
    for start, end in zip(cuts, cuts[1:]):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))
    if len(spans) < 2:
        return spans
    guard = protected_spans(text)
    guard_starts = [s for s, _ in guard]
    merged = [spans[0]]
    for start, end in spans[1:]:
        k = bisect.bisect_left(guard_starts, start) - 1
        inside = k >= 0 and guard[k][1] > start
        prev_start, prev_end = merged[-1]
        if inside or joins_next(text[max(prev_start, prev_end - 24) : prev_end], text[start]):
            merged[-1] = (prev_start, end)
        else:
            merged.append((start, end))
    return merged


# --- the sentence around a position (regular expressions, Latin and Chinese) ---------------
_SENT_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)|\n")
_SENT_BREAK = re.compile(r"[.!?]+[\"'”’)\]]*\s+|\n")
_CJK_BREAK = re.compile(r"[。！？]+[”’」』）)]*\s*")
_CJK_STOP = re.compile(r"[。！？]+")


def sentence_bounds(text: str, s: int, e: int) -> tuple[int, int]:
    """The sentence around text[s:e], for Latin and Chinese punctuation alike: from after the
    last ". "/"! "/"? "/"。" or newline before it, to its closing punctuation (not a newline)."""
    a = 0
    for m in _SENT_BREAK.finditer(text, 0, s):
        a = m.end()
    for m in _CJK_BREAK.finditer(text, a, s):
        a = m.end()
    m = _SENT_END.search(text, e)
    b = len(text) if m is None else (m.start() if m.group() == "\n" else m.end())
    m = _CJK_STOP.search(text, e, b if b > e else len(text))
    if m:
        b = m.end()
    return a, b


# --- span surgery ---------------------------------------------------------------------------
def remove_span(text: str, a: int, b: int) -> str:
    """Remove text[a:b] with the whitespace that separated it from its neighbours.

    A span at the start takes the whitespace after it (so "I am X. Answer" -> "Answer");
    any other span takes the whitespace before it ("Answer\\n\\nI am X." -> "Answer").
    """
    if not text[:a].strip():
        while b < len(text) and text[b].isspace():
            b += 1
    else:
        while a > 0 and text[a - 1].isspace():
            a -= 1
    return text[:a] + text[b:]


def remove_sentence(text: str, a: int, b: int) -> str:
    """Remove the sentence text[a:b] as `remove_span` does, except that a sentence opening a
    line that goes on takes the spaces after it, so that the line break before it stays."""
    line_start = text.rfind("\n", 0, a) + 1
    line_end = text.find("\n", b)
    if text[:a].strip() and not text[line_start:a].strip() and text[b: len(text) if line_end < 0 else line_end].strip():
        while b < len(text) and text[b] in " \t":
            b += 1
        return text[:a] + text[b:]
    return remove_span(text, a, b)


def _blank_line(gap: str) -> str:
    return gap if gap.count("\n") >= 2 else "\n\n"


def splice_blocks(text: str, replacements: list[tuple[int, int, str]]) -> str:
    """Replace block ranges, keeping everything else byte for byte; a replaced block is
    set apart from its neighbours by a blank line (a list must not swallow the next
    paragraph as a lazy continuation line)."""
    out, pos = [], 0
    for start, end, new in replacements:
        head = text[pos:start]
        core = head.strip(" \t\r\n")
        if core:
            lead_ws = head[: head.index(core)]
            trail_ws = head[head.index(core) + len(core) :]
            out += [_blank_line(lead_ws) if pos else lead_ws, core, _blank_line(trail_ws)]
        else:
            out.append(_blank_line(head) if pos or start else head)
        out.append(new)
        pos = end
    tail = text[pos:]
    core = tail.strip(" \t\r\n")
    if core:
        lead_ws = tail[: tail.index(core)]
        out += [_blank_line(lead_ws), tail[len(lead_ws) :]]
    else:
        out.append(tail)
    return "".join(out)


_SPACES = re.compile(r"[ \t]*\n[ \t]*")


def one_line(text: str) -> str:
    """`text` stripped, its line breaks (with the spaces around them) made single spaces."""
    return _SPACES.sub(" ", text.strip())


# --- capitalisation -------------------------------------------------------------------------
# Two rules, kept apart on purpose: a rewrite that must not change a word's case beyond a
# sentence start (identity, role-play) upper-cases only an all-lower-case word; a layout
# rewrite that makes sentences of list items leaves a first word alone when it is code.
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")


def capitalize_first(text: str, pos: int = 0) -> str:
    """Upper-case the word at `pos` if it is an all-lower-case word (leaves "iPhone" alone)."""
    m = _WORD.match(text, pos)
    if m and m.group().islower():
        return text[:pos] + text[pos].upper() + text[pos + 1 :]
    return text


def capitalise_sentence(text: str) -> str:
    """Upper-case the first letter unless the first word is code, a URL or camel-cased."""
    if not text or not text[0].isalpha() or not text[0].islower():
        return text
    first = text.split(maxsplit=1)[0]
    if any(c.isupper() or c.isdigit() or c in "_/.@)" for c in first[1:]):  # code, URLs, "a)"
        return text
    return text[0].upper() + text[1:]


def as_sentence(text: str) -> str:
    """Capitalised, ending with terminal punctuation."""
    text = capitalise_sentence(text.strip())
    if not text or ends_sentence(text):
        return text
    if text[-1] in ":;,":
        return text[:-1].rstrip() + "."
    return text + "."


# --- emphasis -------------------------------------------------------------------------------
# Spans where emphasis markers are literal characters, not formatting.
_LITERAL = re.compile(
    r"(`+)[^`].*?\1|<?(?:https?|ftp)://[^\s<>]+>?|\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)"
    r"|\$(?=[^\s$])[^$\n]*?[^\s$]\$(?!\d)|\]\([^)\s]*\)",
    re.DOTALL,
)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", re.DOTALL)
# A marker quoted as a character ("the '*' stack") neither opens nor closes emphasis.
_ITALIC = re.compile(r"(?<![\w*'])\*(?=[^\s*'])(.+?)(?<=[^\s*'])\*(?![\w*])|(?<![\w_'])_(?=[^\s_'])(.+?)(?<=[^\s_'])_(?![\w_])")


def _literal_aware(text: str, fn: Callable[[str], str]) -> str:
    """Apply `fn` to the parts of `text` outside literal spans (code, URLs, math)."""
    out, pos = [], 0
    for m in _LITERAL.finditer(text):
        out.append(fn(text[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(fn(text[pos:]))
    return "".join(out)


def strip_emphasis(text: str) -> str:
    """Remove bold and italic markers, leaving code, URLs and math alone."""
    if "*" not in text and "_" not in text:
        return text

    def strip(part: str) -> str:
        part = _BOLD.sub(r"\2", part)
        return _ITALIC.sub(lambda m: m.group(1) or m.group(2), part)

    return _literal_aware(text, strip)


# --- code and words -------------------------------------------------------------------------
_FENCE_LINE = re.compile(r"^[ \t]*(?:```|~~~)", re.MULTILINE)
# Fenced blocks (a closing fence may be longer than the opening one) and inline code spans.
_CODE_SPAN = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?(?:^[ \t]*\1[`~]*[ \t]*$|\Z)|`[^`\n]+`", re.MULTILINE | re.DOTALL)


def fence_lines(text: str) -> int:
    """Lines that open or close a code fence (an odd count: a fence left open)."""
    if "```" not in text and "~~~" not in text:  # most answers: no scan of every line
        return 0
    return len(_FENCE_LINE.findall(text))


def in_code(text: str, pos: int) -> bool:
    """Whether `pos` lies in a fenced code block or an inline code span."""
    return any(m.start() <= pos < m.end() for m in _CODE_SPAN.finditer(text))


_COUNTED_WORD = re.compile(r"[^\W\d_]{2,}|\d+(?:[.,]\d+)*")
_HAN = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=8192)
def count_words(text: str) -> int:
    """Words of two letters or more, and numbers ("77.0°F" is one); Chinese counts
    characters, four to a word. Cached per text (bounded): a chain's steps and checks
    count the same answers."""
    return len(_COUNTED_WORD.findall(text)) + (0 if text.isascii() else len(_HAN.findall(text)) // 4)



# --- cheap literal tests (exact gates in front of costly regular expressions) ---------------
# Python's `re` tries every alternative of a pattern such as `\b(?:thee|thou|...)\b` with
# IGNORECASE at every position of the text: a few hundred microseconds per answer, more than
# spaCy's segmentation of it. Most answers hold none of the pattern's words, and `str.find`
# tells that in microseconds. A gate is exact by construction: it answers "cannot match" only
# when a literal that every match contains is absent, and otherwise the pattern itself runs.
# It applies to ASCII text only (`str.isascii`, one C scan), where lower-casing is exactly
# what IGNORECASE compares and `\w` is [A-Za-z0-9_]; other text goes straight to the pattern.
_ASCII_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


# The only non-ASCII characters that IGNORECASE matches to an ASCII pattern character (İ ı ſ
# and the Kelvin sign; computed over all of Unicode, checked by a test). Mapped to those
# letters before lower-casing, a text's every IGNORECASE match of an ASCII literal is a
# substring of its folded form, character for character (İ is the one character whose lower
# case is two characters, and it is mapped first).
CASE_FOLD_TO_ASCII = {0x130: "i", 0x131: "i", 0x17F: "s", 0x212A: "k"}


def fold_case(text: str) -> str:
    """`text` lower-cased such that `literal.lower() in fold_case(text)` whenever an
    IGNORECASE pattern holding that ASCII literal matches `text` (a necessary test)."""
    if text.isascii() or not any(chr(c) in text for c in CASE_FOLD_TO_ASCII):
        return text.lower()
    return text.translate(CASE_FOLD_TO_ASCII).lower()


def has_word(text: str, word: str) -> bool:
    """Whether `word` (ASCII word characters) occurs in `text` with no ASCII word character
    right before or after it: `re.search(r"\\bword\\b", text)` for ASCII text, without a scan
    of every position. A necessary condition for any pattern that matches `word` whole."""
    n, k = len(text), len(word)
    i = text.find(word)
    while i != -1:
        j = i + k
        if (i == 0 or text[i - 1] not in _ASCII_WORD_CHARS) and (j == n or text[j] not in _ASCII_WORD_CHARS):
            return True
        i = text.find(word, i + 1)
    return False


def has_word_start(text: str, prefix: str) -> bool:
    """Whether `prefix` occurs in `text` at the start of a word (no ASCII word character
    right before it): a necessary condition for `\\bprefix...`."""
    i = text.find(prefix)
    while i != -1:
        if i == 0 or text[i - 1] not in _ASCII_WORD_CHARS:
            return True
        i = text.find(prefix, i + 1)
    return False


def any_in(text: str, literals: Iterable[str]) -> bool:
    """Whether any of `literals` is a substring of `text`."""
    return any(lit in text for lit in literals)


_NON_LETTERS = bytes(c for c in range(128) if not chr(c).isalpha())
_NON_UPPER = bytes(c for c in range(128) if not chr(c).isupper())


def letter_counts(text: str) -> tuple[int, int]:
    """(letters, upper-case letters) of `text`, as `str.isalpha` / `str.isupper` count them
    character by character; ASCII text is counted in C (`bytes.translate`)."""
    if text.isascii():
        raw = text.encode("ascii")
        return len(raw.translate(None, _NON_LETTERS)), len(raw.translate(None, _NON_UPPER))
    letters = [c for c in text if c.isalpha()]
    return len(letters), sum(c.isupper() for c in letters)


@lru_cache(maxsize=16384)
def cached_search(pattern: re.Pattern, text: str) -> bool:
    """`pattern.search(text) is not None`, cached per (pattern, text) (bounded): for the
    request and answer tests that a step and its checks, or two steps of a chain, make of
    the same turn."""
    return pattern.search(text) is not None
