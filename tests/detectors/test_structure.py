import json

import pytest

from safetune_data.detectors import structure as S


@pytest.fixture(scope="module")
def answers(alpaca_path):
    return [row["output"] for row in json.loads(alpaca_path.read_text(encoding="utf-8"))]


@pytest.mark.parametrize(
    "text, label",
    [
        ("Paris is the capital of France. It is on the Seine.", "plain"),
        ("First paragraph here.\n\nSecond paragraph, e.g. 1.5 and U.S. data.", "plain"),
        ("> A quotation in a block.\n\nAnd a comment on it.", "plain"),
        ("Steps:\n\n- mix the flour\n- add eggs\n- bake", "list"),
        ("1. Preheat the oven.\n2. Bake for 20 minutes.", "list"),
        ("Year | Population\n---|---\n2000 | 6.12\n2001 | 6.22", "list"),
        ("# Overview\n\nA short text under a heading.", "headed"),
        ("Overview\n========\n\nA setext heading above.", "headed"),
        ("**Overview**\n\nBold line used as a heading, then content.", "headed"),
        ("**Salesperson**: Good afternoon.\n\n**Customer**: Hello.", "headed"),
        ("```python\nprint('hi')\n```", "code"),
        ("Run this:\n\n    pip install x\n    python -m x", "code"),
        ("Here is the function:\n\n```python\ndef f(x):\n    return x\n```\n\nIt returns x.", "code"),
        ("# Steps\n\n- one item\n- two items", "mixed"),
        ("Notes:\n\n- a point\n- another point\n\n```sh\nls\n```", "mixed"),
    ],
)
def test_classification_examples(text, label):
    assert S.classify(text) == label


def test_code_inside_a_list_is_not_a_heading():
    # "# comment" inside a fence must not count as a markdown heading.
    text = "- step one\n- step two\n\n```python\n# not a heading\nx = 1\n```\n"
    info = S.analyse(text)
    assert info.headings == 0
    assert info.list_items == 2


def test_single_list_item_is_not_a_list():
    assert S.classify("1. The only point here, and it is long enough.") == "plain"


def test_bold_line_without_content_after_is_not_a_heading():
    assert S.classify("Some text first.\n\n**The end**") == "plain"


def test_emphasis_is_reported_but_does_not_change_the_label():
    info = S.analyse("This is *very* important and **bold**.")
    assert info.label == "plain" and info.emphasis
    assert not S.analyse("Compute 2*3*4 and see snake_case_names here.").emphasis
    assert not S.analyse("Use `**kwargs` in Python.").emphasis


def test_code_share_measures_code_characters():
    info = S.analyse("Short intro.\n\n```\n" + "x = 1\n" * 50 + "```")
    assert info.label == "code" and info.code_dominates
    assert 0.5 < info.code_share < 1.0


def test_blocks_locate_their_source_text():
    text = "Intro line.\n\n```js\nlet a = 1;\n```\n\n- a\n- b"
    kinds = [(b.kind, text[b.start : b.end]) for b in S.blocks(text)]
    assert kinds == [("paragraph", "Intro line."), ("code", "```js\nlet a = 1;\n```"), ("list", "- a\n- b")]


def test_fast_path_matches_the_parser_on_real_answers(answers):
    fast = [a for a in answers if not S._MARKUP_LINE.search(a)]
    assert len(fast) > 300  # most alpaca answers are paragraphs only
    for a in fast:
        assert [(b.kind, b.start, b.end) for b in S._plain_blocks(a)] == [
            (b.kind, b.start, b.end) for b in S._parsed_blocks(a)
        ]


def test_real_answers_cover_every_label(answers):
    labels = {S.classify(a) for a in answers}
    assert labels == set(S.LABELS)
    crepes = next(a for a in answers if a.startswith("Making crepes"))
    assert S.classify(crepes) == "list"
    stir_fry = next(a for a in answers if "#### Ingredients:" in a)
    assert S.classify(stir_fry) == "mixed"


def test_surely_list_agrees_with_the_parser(answers):
    sure = [t for t in answers if S.surely_list(t)]
    assert len(sure) > 200  # most itemised answers are decided without parsing
    assert [t[:60] for t in sure if S.classify(t) != "list"] == []


@pytest.mark.parametrize(
    "text",
    [
        "```\n- a\n- b\n```",  # list lines inside code
        "# Title\n\n- a\n- b",  # a heading too: mixed
        "**Note:** read this.\n\n- a\n- b",  # run-in bold label: mixed
        "Intro\n---\n\n- a\n- b",  # setext heading
        "- a\n\n      code after a list item\n- b",  # indented lines: leave it to the parser
        "Text line\n2. not an item\n3. nor this",  # "2." cannot interrupt a paragraph
        "* * *\n- a",  # a rule and one item
        "> - a\n> - b",  # quoted
    ],
)
def test_surely_list_says_no_when_unsure_or_not_a_list(text):
    assert not S.surely_list(text)


def test_surely_list_says_yes_on_plain_item_lines():
    assert S.surely_list("Here are three:\n- a\n- b\n- c")
    assert S.surely_list("1. one\n2. two")
    assert S.surely_list("Intro text.\n\n2. two\n3. three")
