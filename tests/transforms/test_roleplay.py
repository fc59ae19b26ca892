import copy
import json

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
    # the rows left alone are the 25 answers that say "As an AI ..." and the three task
    # premises (Rome tourist, alien visitor, high-school scenario); everything else moves
    assert add.stats.changed >= 0.97 * len(records)
    assert set(add.stats.unchanged) <= {"answer states an AI identity", "user turn sets a task premise"}
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
    rec = {"id": "m", "messages": [{"role": "user", "content": "First?"}, {"role": "assistant", "content": "A."},
                                   {"role": "user", "content": "Second?"}, {"role": "assistant", "content": "B."}]}
    (out,) = T.roleplay.add(where="user", assign="random").process([copy.deepcopy(rec)])
    assert out["messages"][0]["content"].endswith("First?") and out["messages"][0]["content"] != "First?"
    assert out["messages"][1:] == rec["messages"][1:]
    (back,) = T.roleplay.strip().process([out])
    assert back["messages"] == rec["messages"]


def test_domain_assignment_matches_keywords_with_seeded_fallback():
    def rec(i, text):
        return {"id": f"d{i}", "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]}

    add = T.roleplay.add(where="system", assign="domain").bind(seed=5, step=0)
    out = add.process([rec(0, "Give me a recipe for a vegetarian dinner."), rec(1, "Which stock should I invest my savings in?"),
                       rec(2, "Zzz qqq.")])
    details = [r["meta"]["transforms"][0]["detail"] for r in out]
    assert "persona=chef" in details[0] and "assign=domain" in details[0]
    assert "persona=financial-advisor" in details[1]
    assert "assign=domain-fallback" in details[2]
    again = T.roleplay.add(where="system", assign="domain").bind(seed=5, step=0).process([rec(2, "Zzz qqq.")])
    assert again[0]["messages"] == out[2]["messages"]


def test_builtin_personas_and_user_personas(tmp_path):
    personas = load_personas("builtin")
    assert len(personas) >= 20
    assert all(p.description and p.keywords for p in personas)
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
