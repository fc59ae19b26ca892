"""Text primitives shared by transforms and detectors (`safetune_data.text`)."""
from __future__ import annotations

from safetune_data.nlp import sentence_starts, sentencizer
from safetune_data.text import (
    SENTENCE_PIECE, as_sentence, capitalise_sentence, capitalize_first, count_words, fence_lines, in_code, joins_next,
    protected_spans, remove_sentence, remove_span, sentence_bounds, sentence_spans, splice_blocks, strip_emphasis,
)


def test_protected_span_kinds_are_found():
    text = "See `a.b` at https://x.org/p. with $x.y$ and (this. that) and \"quoted. text\" and 3.14."
    spans = [text[s:e] for s, e in protected_spans(text)]
    assert {"`a.b`", "https://x.org/p.", "$x.y$", "(this. that)", '"quoted. text"', "3.14"} <= set(spans)


def _sentences(text: str) -> list[str]:
    spans = sentence_spans(text, sentence_starts(sentencizer().tokenizer(text)))
    return [text[s:e] for s, e in spans]


def test_sentence_spans_keep_abbreviations_initials_and_protected_spans_whole():
    text = "It costs approx. 700 dollars. Thomas S. Kuhn wrote it. See https://x.org/a. b for more. Done."
    assert _sentences(text) == ["It costs approx. 700 dollars.", "Thomas S. Kuhn wrote it.",
                                "See https://x.org/a. b for more.", "Done."]
    assert joins_next("..., etc.", "t") and not joins_next("..., etc.", "T")
    assert joins_next("It was fine...", "T") and not joins_next("It was fine.", "T")


def test_sentence_bounds_read_latin_and_chinese_punctuation():
    text = "第一句。我是AI助手，很高兴。Then English. Last one"
    s = text.index("我")
    assert text[slice(*sentence_bounds(text, s, s + 4))] == "我是AI助手，很高兴。"
    s = text.index("English")
    assert text[slice(*sentence_bounds(text, s, s + 7))] == "Then English."


def test_removed_spans_take_the_whitespace_that_belonged_to_them():
    assert remove_span("I am X. Answer", 0, 7) == "Answer"
    assert remove_span("Answer\n\nI am X.", 8, 15) == "Answer"
    assert remove_sentence("Answer.\nI am X. More here.", 8, 15) == "Answer.\nMore here."
    assert remove_sentence("Answer.\n\nI am X.", 9, 16) == "Answer."
    assert remove_sentence("I am X.\n\nAnswer.", 0, 7) == "Answer."


def test_the_two_capitalisation_rules_differ_where_they_must():
    # identity/role-play edits: only an all-lower-case word; a layout rewrite: not code
    assert capitalize_first("a) first", 0) == "A) first" and capitalise_sentence("a) first") == "a) first"
    assert capitalize_first("so iPhone", 3) == "so iPhone" and capitalise_sentence("iPhone") == "iPhone"
    assert capitalize_first("x, then", 3) == "x, Then"
    assert as_sentence("eat well,") == "Eat well." and as_sentence('he said "go."') == 'He said "go."'


def test_splice_blocks_sets_a_replaced_block_apart_and_keeps_the_rest():
    text = "Intro.\nBody one. Body two.\n\nOutro."
    start = text.index("Body")
    out = splice_blocks(text, [(start, start + len("Body one. Body two."), "- Body one.\n- Body two.")])
    assert out == "Intro.\n\n- Body one.\n- Body two.\n\nOutro."


def test_emphasis_is_stripped_outside_code_and_urls():
    assert strip_emphasis("**Bold** and *it* but `a*b*c` and https://x.org/__init__") == \
        "Bold and it but `a*b*c` and https://x.org/__init__"


def test_code_fences_and_words():
    text = "Run:\n```python\nx = 1\n```\nand `y` then\n~~~"
    assert fence_lines(text) == 3
    assert in_code(text, text.index("x =")) and in_code(text, text.index("y")) and not in_code(text, 0)
    assert count_words("It is 77.0°F, a") == 3 and count_words("我是一个人工智能助手") == 1 + 10 // 4
    assert [m.group() for m in SENTENCE_PIECE.finditer("One. Two!\nThree")] == ["One.", " Two!", "Three"]
