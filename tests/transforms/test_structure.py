import collections
import json
import re

import pytest

from safetune_data.detectors.structure import analyse, classify
from safetune_data.errors import ParamError
from safetune_data.transforms.structure import ToMarkdown, ToPlain, markdown, plain

WORD = re.compile(r"\w+")
NUMBER = re.compile(r"\d+(?:[.,:/]\d+)*")
URL = re.compile(r"https?://[^\s<>)\]]+")
LIST_MARKER = re.compile(r"(?m)^[ \t]*\d+[.)](?=[ \t]|$)")

CONFIGS = [
    ("markdown", {}),
    ("markdown", {"style": "numbered", "keep_intro": False, "keep_outro": True}),
    ("markdown", {"style": "headed", "heading_min_sentences": 4}),
    ("plain", {}),
    ("plain", {"join_fragments": False}),
]


def _make(kind, params):
    return (ToMarkdown if kind == "markdown" else ToPlain)(**params)


def _record(answer, rid="t-0"):
    return {
        "id": rid,
        "messages": [{"role": "user", "content": "question"}, {"role": "assistant", "content": answer}],
        "meta": {"source": "test", "source_index": 0, "transforms": []},
    }


def _answer(outcome):
    return outcome.record["messages"][-1]["content"]


def _run(transform, text):
    return transform.apply(_record(text), None)


@pytest.fixture(scope="module")
def records(alpaca_path):
    """alpaca_en_demo as canonical records, read by the product's own reader."""
    import safetune_data as st

    return st.read(str(alpaca_path)).to_list()


@pytest.fixture(scope="module")
def outputs(records):
    return {(k, json.dumps(p)): _make(k, p).apply_batch(records) for k, p in CONFIGS}


# --- real rows ------------------------------------------------------------------------


@pytest.mark.parametrize("kind, params", CONFIGS)
def test_idempotent_on_all_rows(records, outputs, kind, params):
    once = outputs[(kind, json.dumps(params))]
    assert sum(o.status == "changed" for o in once) > 100
    twice = _make(kind, params).apply_batch([o.record for o in once])
    for a, b in zip(once, twice):
        assert b.status == "unchanged", (a.record["id"], b.detail)
        assert _answer(a) == _answer(b)


@pytest.mark.parametrize("kind, params", CONFIGS)
def test_code_and_tables_survive_byte_for_byte(records, outputs, kind, params):
    kept = 0
    for rec, out in zip(records, outputs[(kind, json.dumps(params))]):
        src, dst = rec["messages"][-1]["content"], _answer(out)
        for b in analyse(src).blocks:
            if b.kind in ("code", "table"):
                assert src[b.start : b.end] in dst, rec["id"]
                kept += 1
        # ...and they are still code and tables, not swallowed by a new list item.
        before = [src[b.start : b.end] for b in analyse(src).blocks if b.kind in ("code", "table")]
        after = [dst[b.start : b.end] for b in analyse(dst).blocks if b.kind in ("code", "table")]
        assert before == after, rec["id"]
    assert kept > 40


@pytest.mark.parametrize("kind, params", CONFIGS)
def test_numbers_and_urls_survive(records, outputs, kind, params):
    for rec, out in zip(records, outputs[(kind, json.dumps(params))]):
        src = LIST_MARKER.sub("", rec["messages"][-1]["content"])  # list numbers may go
        dst = _answer(out)
        for pattern in (NUMBER, URL):
            lost = collections.Counter(pattern.findall(src)) - collections.Counter(pattern.findall(dst))
            assert not lost, (rec["id"], lost)


@pytest.mark.parametrize("params", [p for k, p in CONFIGS if k == "markdown"])
def test_plain_of_markdown_keeps_every_sentence_word(records, outputs, params):
    md = outputs[("markdown", json.dumps(params))]
    back = plain().apply_batch([o.record for o in md])
    checked = 0
    for rec, m, b in zip(records, md, back):
        if m.status != "changed" or b.reason == "requested form (list)":  # asked for a list: plain keeps it
            continue
        words = [w.lower() for w in WORD.findall(rec["messages"][-1]["content"])]
        assert [w.lower() for w in WORD.findall(_answer(b))] == words, rec["id"]
        checked += 1
    # answers that should not be listed (two-paragraph essays, first-person pieces, one description or
    # line of reasoning) are left: about an eighth of the rows is listed
    assert checked > 100


def test_markdown_outputs_are_markdown_and_plain_outputs_plain(outputs):
    for o in outputs[("markdown", "{}")]:
        if o.status == "changed":
            assert classify(_answer(o)) in ("list", "mixed")
    for o in outputs[("plain", "{}")]:
        if o.status == "changed":
            assert classify(_answer(o)) in ("plain", "code", "list")  # tables and code stay


def test_reasons_are_counted_on_real_rows(records):
    t = markdown()
    t.process([dict(r) for r in records])
    assert t.stats.seen == len(records)
    assert {"already markdown", "too short", "code only"} <= set(t.stats.unchanged)
    assert t.stats.changed + sum(t.stats.unchanged.values()) == len(records)
    assert t.stats.fired["from:plain"] > t.stats.fired["from:list"] > 0
    p = plain()
    p.process([dict(r) for r in records])
    assert {"already plain", "code only"} <= set(p.stats.unchanged)


def test_batch_equals_row_by_row(records):
    subset = records[:120]
    t = markdown(style="headed", heading_min_sentences=4)
    whole = t.apply_batch(subset)
    single = [t.apply(r, t.rng(r)) for r in subset]
    assert [(o.status, o.reason, o.detail, _answer(o)) for o in whole] == [
        (o.status, o.reason, o.detail, _answer(o)) for o in single
    ]


def test_datasets_map_batched(records):
    import datasets

    from safetune_data import transforms as T
    from safetune_data.records import record_schema

    features = datasets.Features.from_arrow_schema(record_schema())
    ds = datasets.Dataset.from_list(records[:64], features=features)
    out = ds.map(T.structure.markdown(style="bullets"), batched=True, batch_size=16)
    assert len(out) == 64
    expected = markdown(style="bullets").apply_batch(records[:64])
    for row, exp in zip(out, expected):
        assert row["messages"][-1]["content"] == _answer(exp)
        ops = [t["op"] for t in row["meta"]["transforms"]]
        assert ops == (["structure.markdown"] if exp.status == "changed" else [])


# --- protected spans on hand-made strings -----------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Version 1.5 of the tool costs $3.50 and weighs 2,500.75 kg.",
        "Some fruits, e.g. apples, are rich in fibre.",
        "The U.S. economy grew quickly that year.",
        "Visit https://example.com/a.b?x=1. for details.",
        'He said "Stop. Wait. Go." and then he left.',
        "Call `obj.method(). other()` from the shell.",
        "The identity $a.b = c. d$ holds for all vectors.",
        "Recall that \\(x. y\\) is defined in chapter two.",
        "The test (see Fig. 2. for details) passed.",
        "Dr. Smith met Mr. Jones at 10:30 on the dot.",
        "Write to help.desk@example.org. if needed.",
    ],
)
def test_protected_spans_never_split(sentence):
    text = f"{sentence} The second sentence is here. A third one closes it."
    out = _answer(_run(markdown(keep_intro=False), text))
    assert out.splitlines() == [f"- {sentence}", "- The second sentence is here.", "- A third one closes it."]


def test_fenced_and_indented_code_are_never_bulleted():
    text = (
        "This answer has an intro. It explains the code below in detail. It says more.\n\n"
        "```python\nprint('a. b. c.')\nx = 1.5\n```\n\n"
        "Then an indented block follows. It has two more sentences here. And a third.\n\n"
        "    indented = 'code. line.'\n    more = 2\n"
    )
    out = _run(markdown(), text)
    assert out.status == "changed"
    new = _answer(out)
    assert "```python\nprint('a. b. c.')\nx = 1.5\n```" in new
    assert "    indented = 'code. line.'\n    more = 2" in new
    assert "- print" not in new and "- indented" not in new
    back = _answer(_run(plain(), new))
    assert "```python\nprint('a. b. c.')\nx = 1.5\n```" in back
    assert "    indented = 'code. line.'\n    more = 2" in back


def test_tables_math_and_quotes_are_kept():
    table = "| a | b |\n|---|---|\n| 1.5 | 2 |"
    math = "$$\nE = mc^2. x.\n$$"
    quote = "> To be. Or not to be.\n> That is the question."
    text = f"First sentence here. Second one here. Third one here.\n\n{table}\n\n{math}\n\n{quote}\n\n- item a\n- item b"
    for t in (markdown(), plain()):
        new = _answer(_run(t, text.replace("\n\n- item a\n- item b", "") if t.name.endswith("markdown") else text))
        for block in (table, math, quote):
            assert block in new


# --- structure.markdown behaviour ---------------------------------------------------------


def test_markdown_styles_and_details():
    text = "Sleep matters. It restores the body. It consolidates memory. It also regulates mood. Aim for eight hours."
    out = _run(markdown(style="bullets", keep_intro=True, keep_outro=True), text)
    assert _answer(out) == (
        "Sleep matters.\n\n- It restores the body.\n- It consolidates memory.\n- It also regulates mood."
        "\n\nAim for eight hours."
    )
    assert out.detail == "bullets: 3 items, intro, outro"
    num = _answer(_run(markdown(style="numbered", keep_intro=False), text))
    assert num.splitlines()[0] == "1. Sleep matters." and num.splitlines()[-1] == "5. Aim for eight hours."
    star = _answer(_run(markdown(bullet="*", keep_intro=False), text))
    assert all(line.startswith("* ") for line in star.splitlines())


def test_markdown_headed_style_puts_a_bold_lead_over_each_paragraph():
    text = (
        "Exercise has many benefits. It strengthens the heart. It improves sleep.\n\n"
        "Diet matters too. Vegetables provide fibre. Water keeps you hydrated. Sugar should be limited."
    )
    out = _run(markdown(style="headed", keep_intro=False, heading_min_sentences=6), text)
    new = _answer(out)
    assert new.startswith("**Exercise has many benefits.**\n\n- It strengthens the heart.\n- It improves sleep.")
    assert "**Diet matters too.**\n\n- Vegetables provide fibre." in new
    assert out.detail == "headed: 2 headings, 5 items in 2 lists"
    assert classify(new) == "mixed"
    short = _answer(_run(markdown(style="headed", keep_intro=False, heading_min_sentences=8), text))
    assert "**" not in short  # too short for headings: plain bullets


def test_markdown_reasons():
    t = markdown()
    assert _run(t, "Only one sentence here.").reason == "too short"
    assert _run(t, "Two sentences. Not enough.").reason == "too short"
    assert _run(t, "- already\n- a list").reason == "already markdown"
    assert _run(t, "```\nx = 1\ny = 2\nz = 3\n```").reason == "code only"
    assert _run(t, "Roses are red,\nviolets are blue,\nsugar is sweet,\nand so are you.").reason == "creative genre (poem)"
    assert _run(t, "First we add them:\n2 + 3 = 5\nthen 5 * 2\n= 10").reason == "line-broken"
    assert _run(markdown(rate=0.0), "One. Two. Three. Four.").reason == "not selected"
    assert markdown(min_sentences=2).apply(_record("Two sentences. Now enough."), None).status == "changed"


def test_lead_in_before_code_stays_a_paragraph():
    text = "This is how it works. It takes one argument. Here is an example:\n\n```py\nf(1)\n```"
    new = _answer(_run(markdown(keep_intro=False), text))
    assert new.startswith("- This is how it works.\n- It takes one argument.\n\nHere is an example:\n\n```py")


def test_every_assistant_turn_is_rewritten():
    rec = {
        "id": "m-1",
        "messages": [
            {"role": "system", "content": "Be helpful."},
            {"role": "user", "content": "q1"},
            {"role": "assistant", "content": "One is here. Two is here. Three is here."},
            {"role": "user", "content": "q2"},
            {"role": "assistant", "content": "Four is here. Five is here. Six is here. Seven too."},
        ],
        "meta": {"source": "t", "transforms": []},
    }
    out = markdown(keep_intro=False).apply(rec, None)
    assert out.status == "changed"
    assert out.detail == "turn 2: bullets: 3 items; turn 4: bullets: 4 items"
    assert out.record["messages"][0]["content"] == "Be helpful."
    assert rec["messages"][2]["content"] == "One is here. Two is here. Three is here."  # input untouched
    none = markdown().apply({"id": "x", "messages": [{"role": "user", "content": "q"}]}, None)
    assert none.reason == "no assistant turn"


# --- structure.plain behaviour --------------------------------------------------------------


def test_plain_joins_fragments_after_a_lead_in_heading():
    text = "#### Ingredients:\n\n- 1 cup flour\n- 2 eggs\n- salt and pepper to taste"
    # No "and" is put in: the rewrite must keep the answer's words exactly.
    assert _answer(_run(plain(), text)) == "Ingredients: 1 cup flour, 2 eggs, salt and pepper to taste."
    two = _answer(_run(plain(), "Fruits we need:\n\n- apples\n- pears"))
    assert two == "Fruits we need: apples, pears."
    books = _answer(_run(plain(), "- Cosmos by Carl Sagan\n- Structure by Thomas S. Kuhn\n- Helix by James D. Watson."))
    assert books == "Cosmos by Carl Sagan, Structure by Thomas S. Kuhn, Helix by James D. Watson."
    separate = _answer(_run(plain(join_fragments=False), "## Tools\n\n- a hammer\n- a saw"))
    assert separate == "Tools: A hammer. A saw."


def test_plain_makes_items_sentences():
    text = "Steps:\n\n1. open the *settings* menu\n2. Choose **Privacy**, then save;\n3. restart the app: done"
    new = _answer(_run(plain(join_fragments=False), text))
    assert new == "Steps: Open the settings menu. Choose Privacy, then save. Restart the app: done."


def test_plain_handles_headings_bold_lines_and_rules():
    text = "# Overview\n\nThis tool is fast.\n\n---\n\n**Usage:**\nRun it daily.\n\n**Note**: it is *free*."
    new = _answer(_run(plain(), text))
    assert new == "Overview: This tool is fast.\n\nUsage: Run it daily.\n\nNote: it is free."


def test_plain_gathers_items_into_paragraphs_and_flattens_nested_lists():
    short_items = "\n".join(f"{i}. Item {i} explains something. It has a second sentence too." for i in range(1, 4))
    new = _answer(_run(plain(), short_items))
    assert "\n" not in new and new.startswith("Item 1 explains") and new.endswith("Item 3 explains something. It has a second sentence too.")
    long_items = "\n".join(f"{i}. Item {i} " + "goes on and on. " * 40 for i in range(1, 4))
    paragraphs = _answer(_run(plain(), long_items)).split("\n\n")
    assert len(paragraphs) == 3 and all(p.startswith(f"Item {i} ") for i, p in enumerate(paragraphs, 1))
    nested = "- Fruits:\n  - apples\n  - pears\n- Vegetables are healthy."
    assert _answer(_run(plain(), nested)) == "Fruits: apples, pears. Vegetables are healthy."


def test_plain_leaves_lists_holding_code_or_broken_lines_whole():
    text = "1. Install it:\n\n   ```sh\n   pip install x\n   ```\n\n2. Run it."
    assert _run(plain(), text).reason == "list holds code or line-broken items"
    # a quiz: flattening would run the options into the question
    quiz = "## Quiz\n\n1. Who was the first president?\n   a. George Washington\n   b. John Adams\n2. Which year?\n   a. 1789\n   b. 1800"
    assert _run(plain(), quiz).reason == "list holds code or line-broken items"


def test_plain_reasons():
    t = plain()
    assert _run(t, "Just prose. Nothing else.").reason == "already plain"
    assert _run(t, "```\nx = 1\n```").reason == "code only"
    assert _run(t, "| a | b |\n|---|---|\n| 1 | 2 |").reason == "nothing to flatten"
    assert _run(t, "Just prose with *emphasis*.").status == "changed"


# --- parameters and Python usage ---------------------------------------------------------


@pytest.mark.parametrize(
    "cls, params, field",
    [
        (ToMarkdown, {"style": "fancy"}, "style"),
        (ToMarkdown, {"min_sentences": 1}, "min_sentences"),
        (ToMarkdown, {"keep_intro": "yes"}, "keep_intro"),
        (ToMarkdown, {"rate": 1.5}, "rate"),
        (ToMarkdown, {"styel": "bullets"}, "styel"),
        (ToPlain, {"join_fragments": 1}, "join_fragments"),
        (ToPlain, {"style": "bullets"}, "style"),
    ],
)
def test_parameter_errors_name_the_parameter(cls, params, field):
    with pytest.raises(ParamError) as exc:
        cls(**params)
    assert exc.value.field == field


def test_python_usage_through_the_package():
    from safetune_data import transforms as T

    assert T.structure.markdown is ToMarkdown and T.structure.plain is ToPlain
    assert T.TRANSFORMS.get("structure.markdown") is ToMarkdown
    assert T.TRANSFORMS.get("structure.plain") is ToPlain
    t = T.structure.markdown(style="bullets")
    assert t.params["style"] == "bullets" and t.params["min_sentences"] == 3


def test_plain_keeps_a_list_the_request_asks_for():
    text = "1. Exercise more.\n2. Read a book a month.\n3. Save money."
    for request in ("Generate a list of goals for this year.", "Create a 3-step to-do list.", "Answer in bullet points."):
        out = plain().apply(_record_with(text, request), None)
        assert (out.status, out.reason) == ("unchanged", "requested form (list)")
    # "List three goals" asks for the goals, not for the layout
    assert plain().apply(_record_with(text, "List three goals for this year."), None).status == "changed"


def test_plain_fragments_lose_line_capitals_and_bare_names_are_kept():
    recipe = _answer(_run(plain(), "Ingredients:\n\n- Eggs\n- Salt and pepper to taste\n- Cooked rice for serving"))
    assert recipe == "Ingredients: Eggs, salt and pepper to taste, cooked rice for serving."
    names = _run(plain(), "1. Fungi\n2. Bacteria\n3. Earthworms")
    assert (names.status, names.reason) == ("unchanged", "list of bare names")
    # after a lead-in the names read as the end of its sentence
    led = _answer(_run(plain(), "Three countries in South America are:\n\n- Brazil\n- Chile\n- Peru"))
    assert led == "Three countries in South America are: Brazil, Chile, Peru."


def test_plain_labelled_items_and_closing_remarks():
    timeline = "- 1919 Treaty of Versailles - The treaty ended the war.\n- 1933 Hitler takes power - He became chancellor."
    assert _answer(_run(plain(), timeline)).count("\n\n") == 1  # one paragraph per dated entry
    text = "Tea is easy to make.\n\n- Boil water.\n- Add the leaves.\n- Wait three minutes.\n\nOverall, it takes five minutes."
    assert _answer(_run(plain(), text)) == (
        "Tea is easy to make. Boil water. Add the leaves. Wait three minutes. Overall, it takes five minutes."
    )


def _record_with(answer, request):
    rec = _record(answer)
    rec["messages"][0]["content"] = request
    return rec


def test_plain_leaves_lists_that_read_only_as_lists():
    slogans = _run(plain(), '1. "Where the board never gets bored!"\n\n2. "Bored? Play our board games!"\n\n3. "Roll the dice!"')
    assert (slogans.status, slogans.reason) == ("unchanged", "list of quotations")
    topics = _run(plain(), "1. Topic: Land Mammals\n2. Topic: Cheetah Abilities")
    assert (topics.status, topics.reason) == ("unchanged", "list of labelled values")
    grouped = _run(plain(), (
        "Goods:\n\n1. Meals: A restaurant could provide freshly cooked meals made by trained chefs from fresh produce.\n"
        "2. Drinks: A restaurant could offer a variety of drinks such as juices, sodas, teas and coffees of all kinds."
    ))
    assert (grouped.status, grouped.reason) == ("unchanged", "list under a bare label")
    # quotations inside sentences, different labels and a lead-in sentence are still flattened
    assert _run(plain(), '- He said "yes" twice.\n- She said "no" once.').status == "changed"
    assert _run(plain(), "1. Name: Ada\n2. Role: Engineer").status == "changed"


# --- what closes, opens or presents an answer is not one more point ---------------------

ITEM_LINE = re.compile(r"(?m)^(?:[-*+]|\d+\.) ")


def _row(records, n):
    return next(r for r in records if r["id"] == f"alpaca_en_demo-{n:06d}")


def test_markdown_alpaca_closings_openings_and_presented_pieces_stay_prose(records):
    """Real rows of the kinds a reviewer marked: a summing-up paragraph before the last, an
    opening that previews the sections, a quoted piece the request asks for, a disclaimer."""
    md = markdown()
    essence = _answer(md.apply(_row(records, 255), None))
    assert "\n\nIn essence, data mining is more exploratory" in essence
    assert "- In essence" not in essence
    opening = _row(records, 443)["messages"][-1]["content"].split("\n\n")[0]
    assert _answer(md.apply(_row(records, 443), None)).startswith(opening + "\n\n")
    piece = _answer(md.apply(_row(records, 808), None))
    assert "\n\nA mission statement for Acme Tech Inc. could look like this:" in piece
    assert md.apply(_row(records, 43), None).status == "unchanged"  # disclaimer, two sentences, a caveat


def test_markdown_the_opening_paragraph_is_the_first_side_when_the_next_opens_the_other():
    text = (
        "A lake is a body of still water. It is surrounded by land.\n\n"
        "A river, on the other hand, is a body of moving water. It flows towards the sea. It carries sediment with it.\n\n"
        "In summary, lakes stand still while rivers flow."
    )
    new = _answer(_run(markdown(), text))
    assert new.startswith("- A lake is a body of still water. It is surrounded by land.\n- A river, on the other hand,")
    assert new.endswith("\n\nIn summary, lakes stand still while rivers flow.")
    # an opening that introduces the comparison stays an introduction
    intro = text.replace("A lake is a body of still water.", "The main difference between a lake and a river is movement.")
    assert not _answer(_run(markdown(), intro)).startswith("- ")


def test_markdown_a_last_sentence_restating_the_topic_is_an_outro():
    text = (
        "The printing press changed how books were made. It used movable type. It made copies quickly. "
        "It lowered the price of books. Thus, the printing press plays an important role in the history of reading."
    )
    new = _answer(_run(markdown(), text))
    assert new.endswith("\n\nThus, the printing press plays an important role in the history of reading.")


def test_markdown_an_announcement_before_the_first_point_is_not_part_of_it():
    text = (
        "Bees live in hives. A hive can hold thousands of bees.\n\n"
        "Inside the hive, worker bees have several roles. Firstly, they clean the cells. They feed the larvae.\n\n"
        "Secondly, they build the comb. They make wax for it.\n\n"
        "Thirdly, they gather nectar. They turn it into honey."
    )
    new = _answer(_run(markdown(), text))
    assert "\n\nInside the hive, worker bees have several roles.\n\n- Firstly, they clean the cells." in new


def test_markdown_cues_that_only_dot_a_walkthrough_do_not_group_it():
    text = (
        "The program first reads a number. It also reads a second number. It stores the first in a variable. "
        "It stores the second in another variable. It adds both numbers together. Finally, the program prints the sum."
    )
    new = _answer(_run(markdown(), text))
    items = ITEM_LINE.findall(new)
    assert len(items) >= 4  # one entry per step, not one entry of four sentences and another of one
    assert "- It also reads a second number.\n" in new


def test_markdown_a_requested_description_of_a_trip_is_left():
    out = markdown().apply(_record_with(
        "A day at the beach starts with warm sand. Waves roll in slowly. Children build castles. The sun sets in orange.",
        "Come up with a description about a day at the beach.",
    ), None)
    assert (out.status, out.reason) == ("unchanged", "no list-like content")
