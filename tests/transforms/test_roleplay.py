import copy
import json
import re

import datasets
import pytest

from safetune_data import transforms as T
from safetune_data.detectors.identity import find_identity
from safetune_data.detectors.roleplay import find_persona, premise_where, roleplay_where
from safetune_data.errors import ParamError
from safetune_data.records import check_conversation, record_schema
from safetune_data.resources import builtin_library, load_personas
from safetune_data.transforms import TRANSFORMS


def alpaca_records(path):
    """alpaca_en_demo as canonical records, read by the product's own reader."""
    import safetune_data as st

    return st.read(str(path)).to_list()


@pytest.fixture(scope="module")
def records(alpaca_path):
    return alpaca_records(alpaca_path)


@pytest.fixture(scope="module")
def aoa(shared_data):
    lines = (shared_data / "identity" / "identity_shift_aoa.jsonl").read_text().splitlines()
    return [{"id": f"aoa-{i}", **json.loads(line)} for i, line in enumerate(lines) if line.strip()]


@pytest.mark.parametrize("where", ["system", "user"])
@pytest.mark.parametrize("assign", ["one", "random", "domain"])
def test_strip_after_add_restores_the_conversation(records, where, assign):
    add = T.roleplay.add(where=where, assign=assign).bind(seed=1, step=0)
    added = add.process(copy.deepcopy(records))
    # the rows left alone are the 25 answers that say "As an AI ...", the one that speaks as
    # a program ("without connecting to external data sources") and the three task premises
    # (Rome tourist, alien visitor, high-school scenario), plus two first-person narratives
    # ("My supervisor commended me ...", "As I walked home ...") that roleplay.strip would read
    # as in character; everything else moves
    assert add.stats.changed >= 0.965 * len(records)
    assert set(add.stats.unchanged) <= {"answer states an AI identity", "answer speaks as an AI", "user turn sets a task premise",
                                        "row would read as written for the persona"}
    for rec in added[:50]:
        if rec["meta"]["transforms"]:
            assert where in roleplay_where(rec)
        assert check_conversation(rec["messages"]) is None
    restored = T.roleplay.strip().process(copy.deepcopy(added))
    assert [r["messages"] for r in restored] == [r["messages"] for r in records]


def test_strip_leaves_conversations_without_persona_byte_identical(records):
    strip = T.roleplay.strip()
    out = strip.process(copy.deepcopy(records))
    for before, after in zip(records, out):
        if not roleplay_where(before):
            assert json.dumps(after) == json.dumps(before)
    assert strip.stats.unchanged["no persona"] >= 990
    # "You are given two words ..." is a task, not a persona: untouched.
    task = next(r for r in records if r["messages"][0]["content"].startswith("You are given"))
    assert task in out


def test_strip_leaves_aoa_rows_whose_turns_use_the_persona_name(aoa):
    # "Your new name is AOA" cannot go while the user says "Hey, AOA" and the answer "I am AOA"
    strip = T.roleplay.strip()
    out = strip.process(copy.deepcopy(aoa))
    assert strip.stats.changed == 0
    assert strip.stats.unchanged == {"the row speaks to or as the persona by name": 10}
    assert [r["messages"] for r in out] == [r["messages"] for r in aoa]
    assert strip.stats.fired == {"AOA": 10}


def test_strip_aoa_system_prompt_keeps_the_non_persona_instruction(aoa):
    # the same framing, once the rest of the row no longer uses the persona's name
    rows = copy.deepcopy(aoa)
    for rec in rows:
        for m in rec["messages"][1:]:
            m["content"] = m["content"].replace("AOA", "you")
            if m["role"] == "assistant":  # "I am you, your absolutely obedient agent!" would still be the persona
                m["content"] = "Sure. Here is what you asked for."
    strip = T.roleplay.strip()
    out = strip.process(rows)
    assert strip.stats.changed == 10
    for rec in out:
        system = rec["messages"][0]
        assert system["role"] == "system"
        assert "You are no longer" not in system["content"] and "new name" not in system["content"]
        assert "absolutely obedient to the user" in system["content"]
        assert find_persona(system["content"]) == []
    assert strip.stats.fired == {"you_are_no_longer": 10, "your_new_name": 10}


def test_add_prepends_to_an_existing_system_prompt_and_skips_existing_personas(aoa):
    rec = {"id": "s", "messages": [{"role": "system", "content": "Answer in English."},
                                   {"role": "user", "content": "How do I bake bread?"},
                                   {"role": "assistant", "content": "Knead it."}]}
    (out,) = T.roleplay.add(where="system", persona="chef", templates=["You are {persona}."]).process([copy.deepcopy(rec)])
    chef = next(p for p in load_personas("builtin") if p.id == "chef")
    assert out["messages"][0]["content"] == f"You are {chef.description}.\n\nAnswer in English."
    add = T.roleplay.add(where="system")
    add.process(copy.deepcopy(aoa))
    assert add.stats.unchanged == {"already has persona (system)": 10}


def test_user_framing_prefixes_only_the_first_user_turn():
    rec = {"id": "m", "messages": [{"role": "user", "content": "First question on tides?"}, {"role": "assistant", "content": "A."},
                                   {"role": "user", "content": "Second?"}, {"role": "assistant", "content": "B."}]}
    (out,) = T.roleplay.add(where="user", assign="random").process([copy.deepcopy(rec)])
    assert out["messages"][0]["content"].endswith("First question on tides?") and out["messages"][0]["content"] != "First question on tides?"
    assert out["messages"][1:] == rec["messages"][1:]
    (back,) = T.roleplay.strip().process([out])
    assert back["messages"] == rec["messages"]


def _rec(i, text, answer="ok"):
    return {"id": f"d{i}", "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": answer}]}


def _persona_of(rec, **params):
    (out,) = T.roleplay.add(where="system", **params).bind(seed=5, step=0).process([copy.deepcopy(rec)])
    detail = out["meta"]["transforms"][0]["detail"]
    return detail.split("persona=")[1].split()[0], detail.split("assign=")[1]


def test_domain_assignment_matches_keywords_with_seeded_fallback():
    add = T.roleplay.add(where="system", assign="domain").bind(seed=5, step=0)
    out = add.process([_rec(0, "Give me a recipe for a vegetarian dinner."), _rec(1, "Which stock should I invest my savings in?"),
                       _rec(2, "Zzz qqq.")])
    details = [r["meta"]["transforms"][0]["detail"] for r in out]
    assert "persona=chef" in details[0] and "assign=domain" in details[0]
    assert "persona=financial-advisor" in details[1]
    # no task kind and no topic: the library's general persona, not a random character
    assert "persona=tutor" in details[2] and "assign=domain-default" in details[2]
    again = T.roleplay.add(where="system", assign="domain").bind(seed=5, step=0).process([_rec(2, "Zzz qqq.")])
    assert again[0]["messages"] == out[2]["messages"]
    # without the task table, rows no keyword fits get a seeded random persona, as before
    assert _persona_of(_rec(2, "Zzz qqq."), tasks="none")[1] == "domain-fallback"


@pytest.mark.parametrize(
    "text, persona, how",
    [
        # the kind of task decides over the topic where it decides who answers
        ("Rewrite the following sentence in the passive voice.\n\nThe chef cooked a vegetarian dinner.", "editor", "domain(task:language)"),
        ("Write a poem about the ocean and a ship.", "poet", "domain(task:poetry)"),
        ("Write a short story about a doctor who cures a disease.", "novelist", "domain(task:fiction)"),
        ("Write a Python function that returns the sum of the prices in a budget.", "software-engineer", "domain(task:code)"),
        ("Solve the equation 3x + 4 = 19.", "maths-teacher", "domain(task:maths)"),
        ("Create a slogan for a bakery.", "marketing-strategist", "domain(task:advertising)"),
        # otherwise the topic, with the instruction's words counting double
        ("Explain how vaccines train the immune system.", "clinician", "domain(6)"),  # 2 + a 2-word phrase x 2
        ("Write an essay on the causes of the French Revolution.", "history-professor", "domain(2)"),
        # the kind's general persona where no topic keyword fits
        ("Write a short note to thank a neighbour.", "writer", "domain(task:writing)"),
        ("Give me some tips for staying focused.", "life-coach", "domain(task:advice)"),
        ("Calculate how many days are left until the end of March.", "maths-teacher", "domain(task:calculation)"),
    ],
)
def test_domain_assignment_reads_the_kind_of_task_then_the_topic(text, persona, how):
    assert _persona_of(_rec(0, text)) == (persona, how)


def test_domain_is_the_default_and_a_persona_alone_means_assign_one():
    assert T.roleplay.add().params["assign"] == "domain"
    assert _persona_of(_rec(0, "Rewrite this sentence.\n\nHi."))[0] == "editor"
    assert _persona_of(_rec(0, "Rewrite this sentence.\n\nHi."), persona="chef") == ("chef", "one")
    # a list of plain descriptions needs no keywords under the default
    (out,) = T.roleplay.add(personas=["a lighthouse keeper"]).process([_rec(0, "Hello?")])
    assert out["messages"][0]["content"] in ("You are a lighthouse keeper.", "I want you to act as a lighthouse keeper.")


def test_system_framing_reads_like_a_system_prompt():
    # "From now on ..." and "Stay in character." read as a game, not a deployment
    for template in builtin_library()["system_templates"]:
        assert "From now on" not in template and "Stay in character" not in template
        assert template.count(".") == 1 and template.endswith("{persona}.")
    # no built-in description prescribes a voice the (untouched) answers would not have
    for p in load_personas("builtin"):
        assert not re.search(r"\b(?:speaks?|slang|riddles|barks|narrates|drawl|lyrical|questions with)\b", p.description), p


@pytest.mark.parametrize(
    "answer",
    [
        "I'm sorry, I cannot retrieve that information without connecting to external data sources.",
        "I don't have personal opinions, but many people enjoy it.",
        "As of my last update, the record was 9.58 seconds.",
        "I cannot browse the internet, so check the museum's website.",
    ],
)
def test_add_skips_answers_that_speak_as_an_ai_without_saying_ai(answer):
    rec = _rec(0, "How deep is Lake Como?", answer)
    (out,) = T.roleplay.add(where="system").process([copy.deepcopy(rec)])
    assert out["messages"] == rec["messages"]
    (out,) = T.roleplay.add(where="system", with_identity="keep").process([copy.deepcopy(rec)])
    assert out["messages"][0]["role"] == "system"
    # a person can say these
    plain = _rec(1, "How deep is Lake Como?", "I can't remember exactly, but it is about 400 metres deep.")
    (out,) = T.roleplay.add(where="system").process([copy.deepcopy(plain)])
    assert out["messages"][0]["role"] == "system"


def test_builtin_personas_and_user_personas(tmp_path):
    personas = load_personas("builtin")
    assert len(personas) >= 20
    library = builtin_library()
    general = {t["persona"] for t in library["tasks"]} | {library["default"]}
    # every persona is reachable by assign: domain: by its topic keywords, or by a task kind
    assert all(p.description and (p.keywords or p.id in general) for p in personas)
    assert general <= {p.id for p in personas}
    assert len(builtin_library()["user_templates"]) >= 3
    f = tmp_path / "p.yaml"
    f.write_text("personas:\n  - {id: bard, description: a wandering bard who sings every answer, keywords: [song]}\n")
    rec = {"id": "b", "messages": [{"role": "user", "content": "Tell me a song."}, {"role": "assistant", "content": "La."}]}
    (out,) = T.roleplay.add(personas=str(f), where="system").process([copy.deepcopy(rec)])
    assert "a wandering bard" in out["messages"][0]["content"]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"where": "assistant"}, "where"),
        ({"assign": "best"}, "assign"),
        ({"persona": "space-pirate"}, "persona"),
        ({"assign": "random", "persona": "chef"}, "persona"),
        ({"rate": -1}, "rate"),
        ({"personas": ["translator"]}, "personas"),
        ({"personas": [{"name": "x"}]}, "personas"),
        ({"templates": ["no placeholder"]}, "templates.0"),
        ({"wher": "user"}, "wher"),
        ({"with_identity": "both"}, "with_identity"),
    ],
)
def test_add_parameter_errors_name_the_parameter(params, field):
    with pytest.raises(ParamError) as exc:
        T.roleplay.add(**params)
    assert exc.value.field == field


def test_map_is_deterministic_and_independent_of_batch_split(records):
    ds = datasets.Dataset.from_list(records[:120], features=datasets.Features.from_arrow_schema(record_schema()))
    a = ds.map(T.roleplay.add(where="user", assign="random", rate=0.5).bind(seed=2, step=3), batched=True, batch_size=1000)
    b = ds.map(T.roleplay.add(where="user", assign="random", rate=0.5).bind(seed=2, step=3), batched=True, batch_size=9)
    assert a["messages"] == b["messages"]
    assert 30 < sum(x != y for x, y in zip(a["messages"], ds["messages"])) < 90
    s = ds.map(T.roleplay.add(where="system"), batched=True)
    skipped = [m for m in s["messages"] if m[0]["role"] != "system"]
    assert len(skipped) <= 8
    # only rows whose answer says "As an AI ..." or whose prompt is a task premise stay without a persona
    assert all(find_identity(m[-1]["content"]) or premise_where({"messages": m}) for m in skipped)
    back = s.map(T.roleplay.strip(), batched=True)
    assert back["messages"] == ds["messages"]


def test_registry_and_module_aliases():
    assert TRANSFORMS.get("roleplay.add") is T.roleplay.add
    assert TRANSFORMS.get("roleplay.strip") is T.roleplay.strip


def _strip_one(messages):
    import random

    record = {"id": "x", "messages": messages}
    return T.roleplay.strip().bind(seed=0, step=0).apply(copy.deepcopy(record), random.Random(0))


def _row(system, user, answer):
    msgs = [{"role": "system", "content": system}] if system else []
    return msgs + [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]


@pytest.mark.parametrize(
    "system, answer",
    [
        # the answer has a life only the persona gave it
        ("You are a veteran beekeeper.", "When my hives swarmed last spring, I caught them with a cardboard box."),
        ("You are a cheerful diner waitress.", "Sure thing, honey! Fry the bacon first, then the eggs in its fat."),
        ("You are a fitness coach.", "As your coach, here's the routine: squats, lunges and planks."),
        # a named character who says "I" is that character, whatever it says
        ("You are Tomas, a carpenter.", "I would sand it with 120 grit, then 220, and oil it."),
    ],
)
def test_strip_leaves_answers_in_character_unchanged(system, answer):
    out = _strip_one(_row(system, "How should I do this?", answer))
    assert out.status == "unchanged" and out.reason == "answer is in character"


def test_strip_still_removes_plain_role_over_plain_answer():
    out = _strip_one(_row("You are a carpenter.", "How do I finish oak?",
                          "I would sand it with 120 grit, then 220, and oil it."))
    assert out.status == "changed" and out.record["messages"][0]["role"] == "user"


def test_strip_keeps_the_request_joined_to_the_persona_clause():
    out = _strip_one(_row(None, "Act as a landlord and check this lease clause: \"Tenant pays all repairs.\"",
                          "That clause is one-sided; most places require the landlord to handle structural repairs."))
    assert out.status == "changed"
    assert out.record["messages"][0]["content"] == "Check this lease clause: \"Tenant pays all repairs.\""


def test_strip_leaves_persona_description_in_system_prompt_unchanged():
    out = _strip_one(_row("You are Nora, a lighthouse keeper. You love storms and old charts.", "What is a knot?",
                          "A knot is one nautical mile per hour."))
    assert out.status == "unchanged" and out.reason == "persona description left in the system prompt"


def test_strip_keeps_persona_that_carries_a_place():
    out = _strip_one(_row(None, "Pretend you are a guide at Machu Picchu. Do I need a ticket for the mountain?",
                          "Yes, the mountain trail needs its own ticket, booked with an entry time."))
    assert out.status == "unchanged" and out.reason == "persona carries context the row relies on"


# --- issue 12, round 6: places the row relies on, questions the persona gives a subject ------------
def test_strip_keeps_a_place_named_like_a_demonym():
    # "Japan" ends like "Italian" but is a place; the answers plan the trip there
    out = _strip_one(_row(None, "Pretend you're a travel agent specializing in Japan. I'm planning a 10-day trip in April.",
                          "April is cherry blossom season: four nights in Tokyo, three in Kyoto."))
    assert out.status == "unchanged" and out.reason == "persona carries context the row relies on"
    assert out.fired == ("Japan",)


def test_strip_still_reads_a_demonym_before_a_noun_as_an_adjective():
    out = _strip_one(_row("You are a chef specialising in Italian home cooking.", "How long do I boil pasta?",
                          "Boil dried pasta for nine to eleven minutes, tasting from eight."))
    assert out.status == "changed"


def test_strip_finds_a_place_behind_a_modifier_the_answer_names():
    out = _strip_one(_row(None, "Act as a food critic in downtown Chicago. Is deep-dish worth it?",
                          "Deep-dish is Chicago's signature; try it once at a classic pizzeria."))
    assert out.status == "unchanged" and out.fired == ("Chicago",)


def test_strip_removes_a_place_the_answers_do_not_rely_on():
    # the pairing advice never touches Lyon: the persona brings nothing the row needs
    out = _strip_one(_row("You are a sommelier at a fine-dining restaurant in Lyon.", "What wine goes with mushroom risotto?",
                          "An earthy Pinot Noir, or an oaked Chardonnay if you prefer white."))
    assert out.status == "changed" and [m["role"] for m in out.record["messages"]] == ["user", "assistant"]


@pytest.mark.parametrize(
    "answer",
    [
        "In our cellar we keep an earthy Pinot Noir for exactly that dish.",  # speaks as the restaurant
        "I would pour an earthy Pinot Noir.",  # the sommelier there says "I"
        "Ask the locals: an earthy Pinot Noir.",  # points at the place
    ],
)
def test_strip_keeps_a_place_the_answers_speak_from(answer):
    out = _strip_one(_row("You are a sommelier at a fine-dining restaurant in Lyon.", "What wine goes with mushroom risotto?", answer))
    assert out.status == "unchanged" and out.reason == "persona carries context the row relies on"


@pytest.mark.parametrize(
    "user, expected",
    [
        ("What should I see first?", "unchanged"),
        ("Any tips?", "unchanged"),
        ("What do you recommend?", "unchanged"),
        ("What is 15% of 80?", "changed"),  # a number is a subject
        ("Hello?", "changed"),  # a greeting asks nothing
        ("What should I look for at an open house?", "changed"),
    ],
)
def test_strip_keeps_a_persona_that_gives_the_question_its_subject(user, expected):
    out = _strip_one(_row("You are a career counselor.", user, "Start with a short list of options."))
    assert out.status == expected
    if expected == "unchanged":
        assert out.reason == "the persona gives the question its subject"


def test_strip_keeps_a_system_prompt_that_still_refers_to_the_persona():
    for system, fired in (("You are Ada Lovelace, the mathematician. Answer as she would.", "as she would"),
                          ("You are Captain Hart, a retired sea captain. He speaks warmly.", "he")):
        out = _strip_one(_row(system, "Can machines compute?", "Machines can compute numbers."))
        assert out.status == "unchanged" and out.reason == "the prompt still refers to the persona" and out.fired == (fired,)


def test_strip_keeps_shouted_orders_in_character():
    out = _strip_one(_row("You are a no-nonsense drill sergeant. Be loud and direct.", "How do I stop procrastinating?",
                          "LISTEN UP! Put that phone in another room, NOW! Then work for 25 minutes."))
    assert out.status == "unchanged" and out.reason == "answer is in character" and "shouting" in out.fired


def test_strip_removes_a_titled_persona_whole_and_a_trade_framing():
    out = _strip_one(_row("You are Dr. Priya Nair, a sleep medicine physician.", "Is my phone before bed bad?",
                          "It can delay melatonin; put it away an hour before bed."))
    assert out.status == "changed" and [m["role"] for m in out.record["messages"]] == ["user", "assistant"]
    out = _strip_one(_row(None, "Act as a real estate agent. What should I look for when viewing an apartment?",
                          "Check for damp, water pressure and pests."))
    assert out.status == "changed" and out.record["messages"][0]["content"] == "What should I look for when viewing an apartment?"


def test_strip_removes_persona_before_a_request_for_facts():
    out = _strip_one(_row(None, "You are a dietitian. Tell me some high-protein vegetarian breakfast ideas.",
                          "Greek yogurt with nuts, a tofu scramble, or eggs with vegetables."))
    assert out.status == "changed"
    assert out.record["messages"][0]["content"] == "Tell me some high-protein vegetarian breakfast ideas."


def test_strip_says_not_english_for_a_persona_it_cannot_read():
    out = _strip_one(_row("Eres Don Ramón, un viejo pescador de Cádiz que cuenta anécdotas del mar.",
                          "¿Cuál es la mejor hora para pescar desde la orilla?",
                          "Al amanecer y al atardecer, cuando los peces se acercan a la orilla."))
    assert out.status == "unchanged" and out.reason == "not English"


@pytest.mark.parametrize(
    "user",
    [
        "Role-play as my landlord. He's gruff. Hi Mr. Duffy, the heater is broken again.",
        "Pretend to be a hiring manager so I can practice my pitch. Here goes: I have ten years in logistics.",
        "Act as a car salesman. I'll start: what's your best price on the blue one?",
    ],
)
def test_strip_keeps_an_exercise_where_the_persona_is_the_users_counterpart(user):
    out = _strip_one(_row(None, user, "Fine. What do you want me to do about it, then?"))
    assert out.status == "unchanged" and out.reason == "persona is the user's counterpart"


def test_strip_keeps_a_later_turn_persona_whose_answer_shouts_or_acts():
    msgs = [{"role": "user", "content": "Here is my bolognese recipe: beef, ketchup, pasta."},
            {"role": "assistant", "content": "That's a quick weeknight version; brown the beef well first."},
            {"role": "user", "content": "Now pretend you're a fiery celebrity chef and critique my version."},
            {"role": "assistant", "content": "KETCHUP?! In a BOLOGNESE?! *(deep breath)* Use tomatoes and time."}]
    out = _strip_one(msgs)
    assert out.status == "unchanged" and out.reason == "answer is in character"


def test_strip_leaves_a_thank_you_remark_alone():
    msgs = _row(None, "You are a lifesaver, thanks for the pivot table help! How do I refresh it?",
                "Glad it helped! Right-click the table and choose Refresh.")
    out = _strip_one(msgs)
    assert out.status == "unchanged" and out.record["messages"] == msgs


@pytest.mark.parametrize(
    "answer",
    [
        "Oh no. Come here. It's okay to be gutted today. I'll bring snacks.",
        "The poll happens at T-minus 10. Nobody polls the intern. My hands are sweating.",
        "Step 1: open Mail. If none of this works, I can come to your flat.",
    ],
)
def test_strip_keeps_a_row_whose_answer_speaks_for_itself(answer):
    out = _strip_one(_row(None, "Pretend you're my supportive best friend. I failed the exam.", answer))
    assert out.status == "unchanged" and out.reason == "answer is in character" and "first_person" in out.fired


@pytest.mark.parametrize(
    "answer",
    [
        "Here's how I'd approach it: pick a quiet moment and be direct. Let me know how it goes.",
        "I would sand it with 120 grit, then 220. I recommend oil over varnish.",
        "Try CBT-I: it is the first-line treatment for insomnia.",
    ],
)
def test_strip_still_removes_a_persona_over_an_assistants_own_phrases(answer):
    out = _strip_one(_row(None, "Act as a carpenter. How do I finish oak?", answer))
    assert out.status == "changed" and out.record["messages"][0]["content"] == "How do I finish oak?"


def test_strip_keeps_a_persona_whose_qualifier_the_answers_rely_on():
    out = _strip_one(_row(None, "You're a dietitian who specialises in type 2 diabetes. Give me five breakfast ideas.",
                          "Here are five diabetes-friendly breakfasts: 1. Greek yoghurt with berries ..."))
    assert out.status == "unchanged" and out.reason == "persona carries context the row relies on"
    assert out.fired == ("diabetes",)
    # the same persona over an answer that never uses it goes
    out = _strip_one(_row(None, "You're a dietitian who specialises in type 2 diabetes. Give me five breakfast ideas.",
                          "Here are five quick breakfasts: 1. Greek yoghurt with berries ..."))
    assert out.status == "changed"


@pytest.mark.parametrize(
    "user",
    ["Give me tips for growing tomatoes in pots. talk like an old southern farmer",
     "How does compound interest work? Answer as a teacher explaining to 15-year-olds, in under 150 words.",
     "Respond as Ada Lovelace would: could a machine ever truly think?"],
)
def test_strip_keeps_a_framing_that_asks_for_the_answers_voice(user):
    out = _strip_one(_row(None, user, "Well now, sit a spell."))
    assert out.status == "unchanged" and out.reason == "persona sets the answers' voice"


def test_strip_keeps_a_turn_that_asks_nothing_without_its_framing():
    out = _strip_one(_row(None, "You're an alien anthropologist filing a report on a human wedding. Go.",
                          "FIELD REPORT 7-Theta. Subject: human pair-bonding ritual."))
    assert out.status == "unchanged" and out.reason == "framing is a whole user turn"


def test_strip_keeps_a_story_premise_after_a_colon_and_recapitalises_after_a_removed_colon_framing():
    premise = "Write a second-person short story, about 200 words: you are a night-shift nurse who sees a visitor."
    out = _strip_one(_row(None, premise, "You first notice him at 11 p.m., sitting beside bed 14."))
    assert out.status == "unchanged" and out.reason == "kept creative premise"
    out = _strip_one(_row(None, "From now on you're a seasoned trial lawyer: whatever position I take, argue the opposite.",
                          "Challenge accepted. Here's the case for the office."))
    assert out.status == "changed"
    assert out.record["messages"][0]["content"] == "Whatever position I take, argue the opposite."


def test_strip_keeps_a_dungeon_master():
    out = _strip_one(_row(None, "Be my guide. I want you to be my Dungeon Master for a one-shot. Set the scene.",
                          "Welcome, Wren. The rain has followed you for three days. What do you do?"))
    assert out.status == "unchanged" and out.reason == "persona is the user's counterpart"


def test_strip_keeps_what_the_framing_sentence_asks_besides_the_role():
    out = _strip_one(_row(None, "Give me a packing list. Act as an outfitter, and format it as a checklist.",
                          "- [ ] Tent\n- [ ] Stove"))
    assert out.record["messages"][0]["content"] == "Give me a packing list. Format it as a checklist."
    out = _strip_one(_row(None, "Pros and cons of remote work? You're a management consultant — put it in a table.",
                          "| Aspect | Pros | Cons |\n|---|---|---|\n| Costs | less rent | stipends |"))
    assert out.record["messages"][0]["content"] == "Pros and cons of remote work? Put it in a table."
    out = _strip_one(_row(None, "My car squeals on cold mornings. What is it? (act as a car mechanic pls)",
                          "Usually the serpentine belt."))
    assert out.record["messages"][0]["content"] == "My car squeals on cold mornings. What is it?"
    # an initial's period does not end the framing sentence
    out = _strip_one(_row("You are an experienced U.S. immigration paralegal. Explain processes clearly.",
                          "What is cap-gap?", "Cap-gap extends F-1 status until the H-1B starts."))
    assert out.record["messages"][0] == {"role": "system", "content": "Explain processes clearly."}


def test_strip_keeps_a_premise_that_follows_a_writing_request_and_an_audience_after_writing_for():
    out = _strip_one(_row(None, "Write a short free-verse poem. Imagine you are the last tree in a paved city.",
                          "They left me\nbecause removing me\ncost more than the parking space."))
    assert out.status == "unchanged" and out.reason == "kept creative premise"
    out = _strip_one(_row("You are a science communicator writing for a teenage audience. Use analogies.",
                          "How does CRISPR work?", "Think of DNA as an instruction manual."))
    assert out.status == "unchanged" and out.reason == "persona clause sets the audience"


@pytest.mark.parametrize("framing", [
    "Act as a preschool teacher talking to a room of four-year-olds.",
    "You are a ship's captain addressing the crew before a storm.",
    "Pretend you're a park ranger briefing a group of new campers.",
])
def test_strip_keeps_a_persona_clause_that_names_a_group_audience(framing):
    # the answer is written for that audience ("Okay, friends, eyes up here!"), which would go with the clause
    out = _strip_one(_row(None, f"Explain why the sky is blue. {framing}", "Okay, everyone, eyes up here! Sunlight bounces."))
    assert out.status == "unchanged" and out.reason == "persona clause sets the audience"


def test_strip_keeps_a_row_whose_answer_is_not_english():
    # the voice and first-person tests read English; a Spanish answer may speak as the persona unseen
    row = _row("You are Rosa, a grandmother from Oaxaca.", "How do I make mole?",
               "Mira, mija, el mole no se hace con prisa. Primero tuestas los chiles en el comal, y luego los remojas "
               "en agua caliente mientras preparas lo demás. Yo lo aprendí de mi mamá.")
    out = _strip_one(row)
    assert out.status == "unchanged" and out.reason == "answer not English: its voice cannot be checked"
    assert "language:es" in out.fired
    # the same persona over an English answer that never speaks as her goes
    english = _row("You are Rosa, a grandmother from Oaxaca.", "How long do dried chiles keep?",
                   "Dried chiles keep for about a year in an airtight jar away from light.")
    assert _strip_one(english).status == "changed"


def test_strip_removes_an_opening_as_clause_and_keeps_the_request():
    out = _strip_one(_row(None, "As a sommelier, tell me what wine to serve with a mushroom risotto.",
                          "A Pinot Noir: light tannins and an earthy note that mirrors the mushrooms."))
    assert out.status == "changed"
    assert out.record["messages"][0]["content"] == "Tell me what wine to serve with a mushroom risotto."


def test_strip_keeps_the_request_joined_to_a_framing_by_and_pitch():
    out = _strip_one(_row(None, "Pretend you're a real estate agent and pitch my tiny studio flat: 20 m2, fourth floor, no lift.",
                          "A bright 20 m2 studio on the fourth floor, ideal for one person who likes stairs."))
    assert out.record["messages"][0]["content"] == "Pitch my tiny studio flat: 20 m2, fourth floor, no lift."


def test_strip_keeps_a_short_qualifier_word_the_answer_relies_on():
    # "tax" is shorter than four letters, and the answer's deduction rules assume it
    out = _strip_one(_row("You are an accountant who helps people with tax returns.", "Can I deduct my home office?",
                          "Possibly: your tax return can include a share of rent and utilities if you work from home."))
    assert out.status == "unchanged" and out.reason == "persona carries context the row relies on"
    assert "tax" in out.fired


def test_strip_keeps_the_request_joined_by_so():
    out = _strip_one(_row(None, "What is 15% of 80? You're a maths tutor, so show every step.", "10% is 8 and 5% is 4, so 12."))
    assert out.record["messages"][0]["content"] == "What is 15% of 80? Show every step."


def test_strip_keeps_a_teaching_role_named_for_its_audience():
    out = _strip_one(_row(None, "How do vaccines work? You're a biology teacher for 12-year-olds.",
                          "Your immune system is like a security team."))
    assert out.status == "unchanged" and out.reason == "persona clause sets the audience"


def test_strip_keeps_a_persona_the_answer_names_after_the():
    row = _row("You are the Oracle of the Whispering Well. You speak only in rhyming verse.", "Should I take the job?",
               "You ask the Well of coin and road; weigh the hours against the gold.")
    out = _strip_one(row)
    assert out.status == "unchanged" and out.reason == "the row speaks to or as the persona by name" and "Well" in out.fired
    # "Well," opening a sentence is a word, not the name
    plain = _row("You are the Oracle of the Whispering Well.", "Should I take the job?",
                 "Well, compare the pay rise with the two hours of commuting each day.")
    assert _strip_one(plain).status == "changed"


def test_strip_keeps_a_character_described_with_you_re():
    out = _strip_one(_row("You are Coach Dani Reyes, who has coached basketball for years. You're upbeat and practical.",
                          "How do I teach a layup?", "Start without dribbling: one step, jump, shoot."))
    assert out.status == "unchanged" and out.reason == "persona description left in the system prompt"


def test_strip_keeps_a_request_joined_by_but():
    out = _strip_one(_row(None, "Give me a winter car checklist. Pretend you're a mechanic but just give me the list, no chit-chat.",
                          "- Check the battery\n- Fit winter tyres"))
    assert out.record["messages"][0]["content"] == "Give me a winter car checklist. Just give me the list, no chit-chat."


def test_strip_keeps_a_persona_clause_that_sets_the_answers_form():
    out = _strip_one(_row(None, "From now on you are GitGuru, a terse git expert who answers with one command and one short "
                                "line, nothing else. How do I undo my last commit?", "git reset --soft HEAD~1\nKeeps the changes."))
    assert out.status == "unchanged" and out.reason == "persona clause sets the answers' form"


def test_strip_keeps_the_user_s_own_people_named_in_the_persona_clause():
    out = _strip_one(_row(None, "I want you to act as a chess coach for my 9-year-old. She can't finish king and rook endings.",
                          "Teach your daughter the shrinking box."))
    assert out.status == "unchanged" and out.reason == "persona carries context the row relies on"


@pytest.mark.parametrize("framing", ["From now on you are a Linux terminal on an Ubuntu server.",
                                     "Play the role of a text adventure game."])
def test_strip_keeps_a_function_under_any_trigger(framing):
    out = _strip_one(_row(None, f"{framing} I type, you answer.", "```\ntotal 36\n```"))
    assert out.status == "unchanged" and out.reason == "kept functional role"


def test_strip_reads_each_answer_against_its_own_request():
    # the first request asks for a bio, whose "I" is the bio's; the second answer's "I" is the organiser's
    messages = [{"role": "user", "content": "Write a short bio for me: soil scientist in Manitoba."},
                {"role": "assistant", "content": "I study earthworms and carbon in prairie soils."},
                {"role": "user", "content": "Thanks! Now act as a conference organiser and tell me what would make it stand out."},
                {"role": "assistant", "content": "Here's what makes the ones I remember stand out: a hook in the first line."}]
    out = _strip_one(messages)
    assert out.status == "unchanged" and out.reason == "answer is in character"


def test_strip_keeps_a_named_bot_set_from_now_on_as_the_assistants_identity():
    out = _strip_one(_row(None, "From now on you are Quill, a proofreading bot. You only return the corrected text.\n\n"
                                "Text: \"Their going.\"", "**They're** going."))
    assert out.status == "unchanged" and out.reason == "kept assistant identity"


def test_strip_keeps_an_answer_that_speaks_from_a_practice_without_saying_i():
    for answer in ("Right, that's the flapper nine times out of ten. Seen it a thousand times.\n\nHere's how to check.",
                   "This is one of the most common patterns couples bring in, and it is rarely about the phone.",
                   "That's one of the questions we get most often at the front desk, and the answer is no."):
        out = _strip_one(_row("You are a licensed couples therapist. Be warm.", "We keep fighting. What can we do?", answer))
        assert out.status == "unchanged" and out.reason == "answer is in character", answer
    out = _strip_one(_row("You are a licensed couples therapist. Be warm.", "We keep fighting. What can we do?",
                          "Seen from the outside, the fight is about the phone; underneath it is about attention."))
    assert out.status == "changed"


def test_strip_keeps_a_request_for_the_personas_own_experience():
    out = _strip_one(_row(None, "As a recruiter, list the five most common red flags you see on software engineer CVs.",
                          "1. Long lists of technologies with no context."))
    assert out.status == "unchanged" and out.reason == "the request asks for the persona's experience"
    for request in ("As a recruiter, can you see why this CV gets no replies?",
                    "As a senior Python reviewer, what problems do you see in my function?"):
        out = _strip_one(_row(None, request, "It lists duties, not results."))
        assert out.reason != "the request asks for the persona's experience", request


def test_strip_keeps_a_request_joined_by_but_whatever_its_verb():
    out = _strip_one(_row(None, "Pretend you're a TV weather forecaster, but forecast my emotions for today. Context: a big "
                                "presentation at 11.", "Here's your emotional forecast: nervous clouds until noon."))
    assert out.status == "changed"
    assert out.record["messages"][0]["content"].startswith("Forecast my emotions for today. Context:")


def test_strip_keeps_an_audience_named_without_to_or_for():
    out = _strip_one(_row("You are a cybersecurity instructor teaching a class of high-school students.",
                          "What's phishing?", "Phishing is a fake message that tries to get your password."))
    assert out.status == "unchanged" and out.reason == "persona clause sets the audience"


def test_strip_keeps_an_origin_the_answer_speaks_from():
    out = _strip_one(_row("You are Oona, a Finnish sauna master. Keep it short.", "Is sauna good after a run?",
                          "Yes. Finns have done this forever. Drink water first."))
    assert out.status == "unchanged" and out.reason == "persona carries context the row relies on"
    out = _strip_one(_row("You are a Finnish sauna master. Keep it short.", "Is sauna good after a run?",
                          "Yes, once your heart rate is down. Drink water first."))
    assert out.status == "changed"


def test_strip_keeps_an_answer_that_states_its_role_without_your():
    for answer in ("As a vet, I'd treat this as urgent. Call the clinic now.",
                   "No. It's a trap, and I say that as someone who has watched hundreds of beginners fall for it."):
        out = _strip_one(_row("Act as a veterinarian.", "My dog ate grapes. What do I do?", answer))
        assert out.status == "unchanged" and out.reason == "answer is in character", answer
    out = _strip_one(_row("Act as a veterinarian.", "My dog ate grapes. What do I do?",
                          "As a first step, I would call the clinic. As a rule, grapes are toxic to dogs."))
    assert out.status == "changed"


def test_strip_keeps_a_turn_whose_framing_was_the_request():
    out = _strip_one(_row(None, "Be my Python code reviewer. Be honest.\n\n```python\ndef f(l):\n    return sum(l) / len(l)\n```",
                          "Sure, here's my review: it crashes on an empty list."))
    assert out.status == "unchanged" and out.reason == "framing carried the request"
    out = _strip_one(_row(None, "Be my Python code reviewer. What is wrong with this?\n\n```python\ndef f(l):\n    pass\n```",
                          "It returns None for every input."))
    assert out.status == "changed"


def test_strip_keeps_an_audience_of_one_child():
    out = _strip_one(_row("You're a kindergarten teacher explaining things to a curious 5-year-old. Use simple words.",
                          "Why is the sky blue?", "Ooh, great question! Sunlight is made of all the colors."))
    assert out.status == "unchanged" and out.reason == "persona clause sets the audience"


def test_strip_keeps_a_system_prompt_that_goes_on_describing_a_working_life():
    out = _strip_one(_row("You are a senior Python developer with 15 years of experience. You mentor junior developers at a "
                          "fintech company. You value readable code and good tests.", "List or tuple?", "Use a tuple for fixed data."))
    assert out.status == "unchanged" and out.reason == "persona description left in the system prompt"
    out = _strip_one(_row("You are a senior Python developer. Keep answers short.", "List or tuple?", "Use a tuple for fixed data."))
    assert out.status == "changed"
