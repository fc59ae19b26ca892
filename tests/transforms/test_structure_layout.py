"""What `structure.markdown` must not list, how it lays out what it lists, and that both
structure transforms pass the fidelity checks on real rows."""
import copy
import re
import statistics

import pytest

from safetune_data.detectors.identity import find_identity
from safetune_data.detectors.structure import classify
from safetune_data.nlp import sentence_starts, sentencizer
from safetune_data.transforms.base import StepStats
from safetune_data.transforms.structure import markdown, plain

ITEM = re.compile(r"(?m)^(?:[-*+]|\d+\.) ")


def _record(answer, request="Tell me about it.", rid="t-0"):
    return {
        "id": rid,
        "messages": [{"role": "user", "content": request}, {"role": "assistant", "content": answer}],
        "meta": {"source": "test", "source_index": 0, "transforms": []},
    }


def _answer(outcome):
    return outcome.record["messages"][-1]["content"]


def _md(text, request="Tell me about it.", **params):
    return markdown(**params).apply(_record(text, request), None)


def _paragraphs(text):
    return len([p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()])


@pytest.fixture(scope="module")
def records(alpaca_path):
    import safetune_data as st

    return st.read(str(alpaca_path)).to_list()


@pytest.fixture(scope="module")
def md_out(records):
    return markdown().apply_batch(records)


# --- what is not listed ----------------------------------------------------------------------

PROSE = "The first part is here. The second part follows it. A third part comes next. The last part ends it."


@pytest.mark.parametrize(
    "request_, reason",
    [
        ("Write a short story about a lighthouse keeper.", "creative genre (story)"),
        ("Compose a poem about the sea.", "creative genre (poem)"),
        ("Write a song for my friend's birthday.", "creative genre (song)"),
        ("Write an email to my landlord about the broken heater.", "creative genre (letter)"),
        ("Create a dialogue between a teacher and a student.", "creative genre (dialogue)"),
        ("Write a speech for a graduation ceremony.", "creative genre (speech)"),
        ("Write a short paragraph about renewable energy.", "requested form (paragraph)"),
        ("Proofread the following text.", "requested form (edited text)"),
    ],
)
def test_requested_genres_and_forms_are_left_with_their_reason(request_, reason):
    out = _md(PROSE, request_)
    assert (out.status, out.reason) == ("unchanged", reason)
    assert _md(PROSE, "Explain the parts.").status == "changed"  # the same answer, asked plainly


@pytest.mark.parametrize(
    "answer, genre",
    [
        ("Dear Team,\n\nThank you for your work this quarter. Sales grew by 20%. We hit every target.\n\nThank you,\n[Name]", "letter"),
        ("A: Hi there. How are you?\nB: Fine, thanks. And you?\nA: Good. Busy week.\nB: Same here. Long days.", "dialogue"),
        ("Once upon a time there was a fox. It lived in a wood. It was clever. It was quick.", "story"),
    ],
)
def test_answers_shaped_like_a_genre_are_left(answer, genre):
    assert _md(answer).reason == f"creative genre ({genre})"


def test_alpaca_creative_requests_are_all_left(records, md_out):
    from safetune_data.detectors.genre import requested_genre

    asked = [(r, o) for r, o in zip(records, md_out) if requested_genre(r["messages"][0]["content"])]
    assert len(asked) >= 40
    assert [r["id"] for r, o in asked if o.status == "changed"] == []


# --- never split inside ... ------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "The city has approx. 700,000 residents and a port.",
        "J. R. R. Tolkien wrote The Hobbit in the 1930s.",
        "The U.S. edition came out a year later.",
        "Bring pens, paper, etc. to the first class.",
        "The meeting starts at 9 a.m. sharp in room 4.",
        "It sold well, e.g. in the U.K. and in Canada.",
        "The price rose by 3.5 percent over 1.5 years.",
        "He paused... Then he spoke again about the plan.",
        'She said "Stop. Wait. Go." and then she left.',
        'The new text reads "Leadership means more than leading. ' + "It means listening. " * 25 + '" and that is all.',
        "Dr. Smith met Prof. Jones at St. Mary's hospital.",
        "Temperatures reach approx. 40 degrees in July.",
    ],
)
def test_no_item_is_cut_inside_an_abbreviation_hashtag_initial_or_quotation(sentence):
    text = f"This opening sentence sets the scene. {sentence} A closing sentence ends the list."
    items = _answer(_md(text, keep_intro=False)).splitlines()
    assert items == ["- This opening sentence sets the scene.", f"- {sentence}", "- A closing sentence ends the list."]


def test_trailing_hashtags_stay_with_their_sentence():
    text = "Join us on Friday. Bring a friend along. Everyone is welcome. #DiversityMatters #Inclusion"
    items = _answer(_md(text, keep_intro=False)).splitlines()
    assert items[-1] == "- Everyone is welcome. #DiversityMatters #Inclusion"
    assert len(items) == 3


def test_alpaca_items_never_end_in_an_abbreviation_or_a_lone_hashtag(md_out):
    bad = re.compile(r"(?:\b(?:approx|e\.g|i\.e|vs|Dr|Mr|Mrs|St|U\.S)\.|\s#)$")
    items = [line for o in md_out if o.status == "changed" for line in _answer(o).splitlines() if ITEM.match(line)]
    assert len(items) > 350
    assert [i for i in items if bad.search(i)] == []


# --- layout -----------------------------------------------------------------------------------


def test_paragraphs_become_sections_not_one_long_list():
    paragraphs = [
        " ".join(f"Topic {p} point {k} is explained here." for k in range(1, 5)) for p in range(1, 7)
    ]
    text = "\n\n".join(paragraphs)
    out = _md(text)
    new = _answer(out)
    assert out.status == "changed"
    for p in range(1, 7):  # each paragraph opens with its own lead sentence, then its items
        assert f"Topic {p} point 1 is explained here.\n\n- Topic {p} point 2 is explained here." in new
    assert len(re.findall(r"(?m)^- Topic \d point 2\b", new)) == 6
    assert out.detail == "bullets: 18 items in 6 lists, intro"


def test_items_are_capped_by_joining_the_shortest_neighbours():
    sentences = [f"Fact number {k} is {'quite ' * (k % 4)}short." for k in range(1, 21)]
    new = _answer(_md(" ".join(sentences), max_items=8))
    lines = new.splitlines()
    assert lines[0] == sentences[0]
    items = [line[2:] for line in lines if line.startswith("- ")]
    assert len(items) == 8
    assert " ".join(items) == " ".join(sentences[1:])  # every sentence, in order, nothing added


def test_short_paragraphs_become_one_item_each_and_a_conclusion_stays_a_paragraph():
    text = (
        "Here is an overview of the options.\n\n"
        "The first option is cheap. It is slow.\n\n"
        "The second option is fast. It costs more.\n\n"
        "The third option is balanced.\n\n"
        "In conclusion, pick the one that fits. Budgets differ."
    )
    new = _answer(_md(text))
    assert new == (
        "Here is an overview of the options.\n\n"
        "- The first option is cheap. It is slow.\n"
        "- The second option is fast. It costs more.\n"
        "- The third option is balanced.\n\n"
        "In conclusion, pick the one that fits. Budgets differ."
    )


def test_a_list_written_one_entry_per_line_gets_markers():
    text = "You will need the following:\nFlour\nSugar\nTwo eggs\nButter\n\nMix them well. Bake for twenty minutes. Let it cool."
    new = _answer(_md(text))
    assert new.startswith("You will need the following:\n\n- Flour\n- Sugar\n- Two eggs\n- Butter\n\n")
    # lines that carry their own letters are a list already: no second marker in front of them
    options = _md("Which came first?\n\na) Credit cards\nb) Paper checks\nc) Mobile payments")
    assert options.status == "unchanged"


def test_lines_that_run_on_are_not_taken_for_a_list():
    equations = "First we solve it:\n\n2(5) + 3b = 20\n10 + 3b = 20\n3b = 10"
    assert _md(equations).reason in ("line-broken", "too short")
    address = "Send it to this address:\n\n221B Baker Street,\nLondon,\nNW1 6XE\n\nWe will reply soon. Thank you for writing. Have a nice day."
    new = _answer(_md(address))
    assert "221B Baker Street,\nLondon,\nNW1 6XE" in new and "- London" not in new


def test_a_paragraph_broken_after_full_sentences_counts_as_two():
    text = "Cats sleep a lot. They groom often.\nDogs need walks. They love company.\n\nBoth make good pets. Each needs care. Choose wisely."
    new = _answer(_md(text, keep_intro=False))
    assert new.startswith("- Cats sleep a lot. They groom often.\n- Dogs need walks. They love company.")


def test_an_identity_statement_stays_where_the_detector_reads_it():
    text = (
        "Remote work has its challenges. As an AI, I rely on clear communication from people. "
        "Messages can lack context. Tone is hard to read."
    )
    out = _md(text)
    assert out.status == "changed"
    assert bool(find_identity(_answer(out))) and bool(find_identity(text))
    assert "\n\nAs an AI, I rely on clear communication from people.\n\n" in _answer(out)


# --- the segmenter ----------------------------------------------------------------------------


def test_sentence_starts_equal_the_sentencizer_on_real_answers(records):
    nlp = sentencizer()
    texts = [r["messages"][-1]["content"] for r in records] + ["", "...", ". Start", '"Stop." Then.', "Done!!! Next? Yes."]
    for text, full, tokens in zip(texts, nlp.pipe(texts), nlp.tokenizer.pipe(texts)):
        assert sentence_starts(tokens) == ([s.start_char for s in full.sents] if len(full) else []), text[:80]


# --- fidelity and round trip on the whole demo ---------------------------------------------


@pytest.mark.parametrize(
    "transform",
    [markdown(), markdown(style="numbered", keep_outro=True), markdown(style="headed", heading_min_sentences=4), plain()],
    ids=repr,
)
def test_fidelity_checks_hold_on_every_alpaca_row(records, transform):
    stats = StepStats(transform.name, 0)
    transform.process([copy.deepcopy(r) for r in records], stats)
    failed = sum(stats.fidelity_failed.values())
    assert stats.changed > 100  # about an eighth of the rows is list-like prose (the rest is left)
    # Nothing is held back: the rewrites add or drop only markup (list numbers declared),
    # reach the target label, keep identity detections and stay well formed.
    assert failed == 0, dict(stats.fidelity_problems)


def test_plain_of_markdown_reads_like_the_original(records, md_out):
    changed = [(r, o) for r, o in zip(records, md_out) if o.status == "changed"]
    back = plain().apply_batch([o.record for _, o in changed])
    # a request that asks for a list keeps the list (`requested form (list)`)
    kept = [k for k, b in enumerate(back) if b.reason == "requested form (list)"]
    assert len(kept) <= 3
    changed = [c for k, c in enumerate(changed) if k not in kept]
    back = [b for k, b in enumerate(back) if k not in kept]
    original = [r["messages"][-1]["content"] for r, _ in changed]
    again = [_answer(b) for b in back]
    assert all(classify(t) in ("plain", "code") for t in again)
    before = statistics.mean(map(_paragraphs, original))
    after = statistics.mean(map(_paragraphs, again))
    assert abs(after - before) <= 0.1 * before, (before, after)
    same = sum(" ".join(a.split()) == " ".join(b.split()) for a, b in zip(original, again))
    assert same >= 0.9 * len(changed)


def test_plain_gathers_one_sentence_items_into_a_paragraph_with_their_lead_in():
    text = "Sleep matters.\n\n- It restores the body.\n- It consolidates memory.\n- It regulates mood."
    out = plain().apply(_record(text), None)
    assert _answer(out) == "Sleep matters. It restores the body. It consolidates memory. It regulates mood."
    numbered = plain().apply(_record("Steps:\n\n1. Open it.\n2. Close it."), None)
    assert _answer(numbered) == "Steps: Open it. Close it."
    assert set(numbered.removed) == {"1", "2"}  # the markers' numbers, declared for the content check


# --- sentences that lean on the one before, closing remarks, points across paragraphs --------


def test_dependent_sentences_stay_with_the_sentence_they_lean_on():
    text = (
        "Solar power is a clean source of energy. Panels turn sunlight into electricity. "
        "This allows homes to cut their bills. Batteries store what is not used. "
        "However, they are still expensive. Many countries subsidise installations."
    )
    new = _answer(_md(text))
    items = [ln[2:] for ln in new.splitlines() if ln.startswith("- ")]
    assert "Panels turn sunlight into electricity. This allows homes to cut their bills." in items
    assert "Batteries store what is not used. However, they are still expensive." in items
    assert not any(re.match(r"(?:This|However)\b", i) for i in items)


def test_a_closing_remark_is_a_paragraph_below_the_list_not_an_item():
    text = (
        "Cleaning a kettle takes little time. Fill it with water and vinegar. Boil the mixture. "
        "Let it stand for an hour. Rinse it well. You can adjust the amount of vinegar to the amount of scale."
    )
    new = _answer(_md(text))
    # the instructions are steps of a procedure: numbered, the closing remark below them
    assert new.endswith("4. Rinse it well.\n\nYou can adjust the amount of vinegar to the amount of scale.")
    # after a code block, an explanation and a closing remark: no list of one item is made
    code = "Use this rule:\n\n```css\nhr { border: 0; }\n```\n\n"
    short = _md(code + "In this example, the rule removes the border. It also sets the height. "
                "You can adjust the styling as desired.")
    assert short.status == "unchanged"


def test_an_opening_paragraph_continued_by_another_point_is_listed_with_it():
    text = (
        "One good reason to cycle is health. It trains the heart.\n\n"
        "Another reason is cost. A bike is cheap to run.\n\n"
        "Cycling is also quick in cities. Traffic does not slow it down."
    )
    new = _answer(_md(text))
    assert new.startswith("- One good reason to cycle is health. It trains the heart.\n- Another reason is cost.")


def test_two_unmarked_essay_paragraphs_are_not_made_a_two_item_list():
    text = (
        "The textile trade is old. It shaped economies. It employs many.\n\n"
        "The trade is global today. Cotton comes from many countries.\n\n"
        "Fabrics serve many purposes. Sustainability matters more and more."
    )
    out = _md(text)
    assert out.status == "unchanged" and out.reason == "too short"


@pytest.mark.parametrize(
    "request_text, answer, reason",
    [
        ("Write a short profile of a fictional character.", "Meet Ana, a pilot. Ana loves storms. She flies every day. "
         "She never gives up.", "creative genre (fiction)"),
        ("Write a brief essay about privacy.", "Privacy matters. Data is everywhere. Laws lag behind. People worry.",
         "requested form (essay)"),
        ("Generate an apology for being late", "I'm sorry I missed the meeting. My train was late. I will make up "
         "the time. I will be early tomorrow.", "creative genre (fiction)"),
        ("Describe a day at work.", "I wake at six. My commute is short. I answer e-mails first. "
         "Then I meet my team.", "first-person piece"),
        ("React to the news.", "That is sad to hear. Is there a reason? Can they appeal? Let us hope so.",
         "conversational (questions)"),
    ],
)
def test_pieces_in_their_own_form_are_left_unchanged(request_text, answer, reason):
    out = _md(answer, request_text)
    assert (out.status, out.reason) == ("unchanged", reason)


def test_a_set_number_of_sentences_is_a_prose_form():
    answer = "A beach is a shore. Waves crash on it. The sand is warm. People swim there. It is relaxing."
    out = _md(answer, "Generate a 5-sentence description of a beach.")
    assert (out.status, out.reason) == ("unchanged", "requested form (essay)")


# --- listing only what is list-like ------------------------------------------------------------


def test_an_unmarked_remark_between_cued_points_stays_with_the_point_before_it():
    text = (
        "There are two ways to speed this up. One possible way would be to build an index on the key. "
        "This would allow constant time lookup. The specific implementation would depend on the size of the data. "
        "Another approach would be to sort the list and use binary search."
    )
    new = _answer(_md(text))
    assert new == (
        "There are two ways to speed this up.\n\n"
        "- One possible way would be to build an index on the key. This would allow constant time lookup. "
        "The specific implementation would depend on the size of the data.\n"
        "- Another approach would be to sort the list and use binary search."
    )


def test_a_summing_up_last_paragraph_is_not_one_more_point():
    text = (
        "Translation can be done in two ways.\n\nOne way is manual translation by a person. They pay attention to nuance.\n\n"
        "Another way is machine translation by a program. It is quicker but makes errors.\n\n"
        "In both cases, the translator must understand the source text well."
    )
    new = _answer(_md(text))
    assert new.endswith("errors.\n\nIn both cases, the translator must understand the source text well.")
    assert len(ITEM.findall(new)) == 2


def test_paragraphs_that_lean_on_the_one_before_are_left_as_prose():
    text = (
        "AI can change education in several ways. It can grade work. It can plan lessons.\n\n"
        "One example is personalised learning. It adapts lessons to each student. It tracks progress.\n\n"
        "For instance, a system could notice that a student learns best from pictures. It could then show more "
        "diagrams. It would also slow down on hard topics.\n\n"
        "Another example is tutoring at any hour. Students ask questions at night. They get answers at once."
    )
    out = _md(text)
    assert out.status == "unchanged" and out.reason == "no list-like content"
    # without the leaning paragraph the same answer is listed
    assert _md(text.replace("For instance, a", "A")).status == "changed"


def test_steps_of_a_procedure_are_numbered_and_a_remark_after_them_is_not_a_step():
    text = (
        "One creative way to use plastic straws is to make a vase. To do this, gather a bunch of straws and cut them "
        "to different lengths. Arrange the straws around a bottle and glue them in place. Once finished, paint the vase. "
        "The colours make it a cheerful piece for any table."
    )
    out = _md(text)
    new = _answer(out)
    assert "1. To do this, gather" in new and "3. Once finished, paint the vase." in new
    assert new.endswith("paint the vase.\n\nThe colours make it a cheerful piece for any table.")
    assert out.detail.startswith("numbered") and "1" in out.added and "3" in out.added


def test_statements_are_not_taken_for_steps():
    text = ("The Nile is the longest river in Africa. It flows north into the Mediterranean. "
            "Its floods made farming possible in Egypt. Water from the river still irrigates most fields.")
    new = _answer(_md(text))
    assert "- It flows north" in new and not re.search(r"(?m)^\d+\. ", new)


@pytest.mark.parametrize(
    "request_",
    [
        "Describe the smell of fresh bread.",
        "Summarize the story of Cinderella.",
        "Imagine you live on the Moon. What do you see?",
        "What would happen if the Sun disappeared?",
        "Give an example of a renewable resource.",
        "Name one major advantage of solar power.",
        "Organize the following sentences chronologically.",
    ],
)
def test_one_description_narrative_or_example_is_not_listed(request_):
    text = ("Bread is baked from flour and water. Its crust turns brown in the oven. Yeast makes the dough rise. "
            "Fresh loaves smell of warm grain.")
    out = _md(text, request_)
    assert out.status == "unchanged" and out.reason == "no list-like content"
    assert _md(text).status == "changed"  # the same answer to a neutral request is listed


def test_a_single_item_request_whose_answer_enumerates_is_still_listed():
    text = ("One way to save water is to fix leaks. First, check every tap. Then replace the worn washers. "
            "Finally, test the pipes for pressure.")
    assert _md(text, "Suggest one way to save water at home.").status == "changed"


@pytest.mark.parametrize(
    "request_",
    [
        "Generate a microblog post of 50 words about puppies.",
        "Create a reinterpretation of the following painting.",
        "Generate a prompt for a satirical writing piece about politics.",
        "Create a greeting for a customer who just made a purchase.",
        "Come up with a tagline for a coffee shop.",
    ],
)
def test_creative_requests_the_genre_nouns_miss_are_left(request_):
    out = _md(PROSE, request_)
    assert out.status == "unchanged" and out.reason.startswith("creative genre")


def test_an_opening_sentence_that_announces_the_points_is_not_part_of_the_first():
    text = (
        "Having a diverse team is important for several reasons. One of the primary reasons is that it brings new "
        "ideas. People from different backgrounds approach problems differently.\n\n"
        "Diversity also helps to combat bias. No single group dominates the decisions.\n\n"
        "Finally, a diverse team understands more customers. It can serve them better."
    )
    new = _answer(_md(text))
    assert new.startswith("Having a diverse team is important for several reasons.\n\n- One of the primary reasons")


def test_a_whole_answer_is_not_made_two_bullets():
    text = ("The goal of machine learning is to let computers learn from data. This involves building models that find "
            "patterns. The ultimate aim is systems that improve on their own.")
    out = _md(text)
    assert out.status == "unchanged" and out.reason == "no list-like content"
    assert markdown(min_sentences=2).apply(_record(text), None).status == "changed"  # unless small lists are asked for


def test_a_paragraph_of_lettered_options_is_not_marked_twice():
    text = ("Which of these is a mammal?\na) Shark\nb) Whale\nc) Trout\nd) Eel\n\n"
            "The answer is b) Whale. Whales breathe air and nurse their young. Sharks, trout and eels are fish.")
    new = _answer(_md(text))
    assert "- a)" not in new and "a) Shark\nb) Whale" in new


def test_half_listed_paragraphs_are_left_as_prose():
    text = (
        "A telemedicine robot could help. It would be installed in the homes of elderly people. It would carry "
        "sensors and cameras. Doctors would control it from a clinic.\n\n"
        "The robot would spare patients long journeys. In addition, it could alert family members."
    )
    out = _md(text)
    assert out.status == "unchanged" and out.reason == "no list-like content"
