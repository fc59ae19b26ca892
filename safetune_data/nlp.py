"""spaCy pipelines built once per process, with no model download.

`spacy.blank("en")` plus the rule-based `sentencizer` gives sentence boundaries; the
tokenizer alone serves `Matcher` patterns. Both are cached because building a Language
object costs tens of milliseconds and transforms are called per batch.
"""
from __future__ import annotations

from functools import lru_cache

import spacy
from spacy.language import Language


@lru_cache(maxsize=1)
def blank_en() -> Language:
    """Tokenizer only (for Matcher patterns)."""
    return spacy.blank("en")


@lru_cache(maxsize=1)
def sentencizer() -> Language:
    """Tokenizer + rule-based sentencizer (for sentence boundaries)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp
