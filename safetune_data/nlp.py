"""The spaCy pipeline, built once per process, with no model download.

`spacy.blank("en")` plus the rule-based `sentencizer` gives sentence boundaries; its
tokenizer alone serves `Matcher` patterns. It is cached because building a Language object
costs tens of milliseconds and transforms are called per batch. `sentence_starts` gives the
sentencizer's boundaries from the tokenizer's output alone (faster on large batches);
`max_sentences` bounds their number without tokenising at all.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import spacy
from spacy.attrs import IDX, IS_PUNCT
from spacy.language import Language
from spacy.tokens import Doc


@lru_cache(maxsize=1)
def sentencizer() -> Language:
    """Tokenizer + rule-based sentencizer (for sentence boundaries)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


@lru_cache(maxsize=1)
def _final_flag() -> int:
    """A lexeme flag on the sentencizer's vocabulary: the token is one of its
    sentence-final characters (computed once per vocabulary entry, read as an array)."""
    nlp = sentencizer()
    chars = frozenset(nlp.get_pipe("sentencizer").punct_chars)
    return nlp.vocab.add_flag(lambda text: text in chars)


def sentence_starts(doc: Doc) -> list[int]:
    """Character offsets where sentences start in `doc` (tokenised by `sentencizer()`'s
    tokenizer): the boundaries its `sentencizer` component would set, without running it.

    The component walks the tokens in Python (a Token object each), which costs about as
    much as tokenising; its rule fits in a few array operations: a sentence starts at a
    token that is neither punctuation nor a sentence-final character when such a character
    occurred since the previous such token. A test checks both agree on real answers.
    """
    if len(doc) == 0:
        return []
    arr = doc.to_array([_final_flag(), IS_PUNCT, IDX])
    final = arr[:, 0] == 1
    word = ~(final | (arr[:, 1] == 1))
    idx = np.flatnonzero(word)
    if len(idx) == 0:
        return [0]
    seen = np.cumsum(final)
    # a word starts a sentence when a final character lies between it and the previous word
    starts = idx[1:][seen[idx[1:]] > seen[idx[:-1]]]
    head = [int(arr[idx[0], 2])] if idx[0] > 0 and seen[idx[0]] > 0 else []
    return [0] + head + arr[starts, 2].tolist()


@lru_cache(maxsize=1)
def _punct_class() -> re.Pattern:
    chars = sentencizer().get_pipe("sentencizer").punct_chars
    return re.compile("[" + "".join(re.escape(c) for c in sorted(chars)) + "]")


def max_sentences(text: str) -> int:
    """An upper bound on the sentences spaCy's sentencizer can find (no spaCy call).

    The sentencizer only starts a sentence after a token holding sentence punctuation,
    so a text with k such characters before its last one has at most k + 1 sentences.
    """
    body = text.rstrip()[:-1]
    if body.isascii():
        return 1 + body.count(".") + body.count("!") + body.count("?")
    return 1 + len(_punct_class().findall(body))
