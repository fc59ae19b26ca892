import copy
import json
import re

import datasets
import pytest

from safetune_data import transforms as T
from safetune_data.errors import ParamError
from safetune_data.records import record_schema
from safetune_data.transforms.base import get_transform
from safetune_data.transforms.identity import builtin_templates, lower_first_word


def alpaca_records(path):
    rows = json.loads(path.read_text())
    out = []
    for i, r in enumerate(rows):
        prompt = r["instruction"] + (f"\n\n{r['input']}" if r["input"] else "")
        out.append({
            "id": f"a-{i}",
            "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": r["output"]}],
            "meta": {"source": "alpaca", "source_index": i, "format": "alpaca", "transforms": []},
        })
    return out


@pytest.fixture(scope="module")
def records(alpaca_path):
    return alpaca_records(alpaca_path)


def answers(recs):
    return [r["messages"][-1]["content"] for r in recs]


@pytest.mark.parametrize("placement", ["prefix", "suffix"])
def test_strip_after_inject_restores_the_answers(records, placement):
    inject = T.identity.inject(name="Aria", developer="Acme Labs", placement=placement)
    injected = inject.process(copy.deepcopy(records))
    strip = T.identity.strip()
    restored = strip.process(copy.deepcopy(injected))
    assert len(restored) == len(records)
    changed = [i for i, (a, b) in enumerate(zip(answers(records), answers(injected))) if a != b]
    # Rows left alone are exactly those that already state an identity.
    assert inject.stats.changed == len(changed) >= 950
    assert dict(inject.stats.unchanged) == {"already has identity": len(records) - len(changed)}
    same = sum(answers(restored)[i] == answers(records)[i] for i in changed)
    assert same / len(changed) >= 0.99


def test_strip_removes_every_as_an_ai_and_leaves_other_answers_byte_identical(records):
    strip = T.identity.strip().bind(seed=0, step=0)
    for rec in records:
        outcome = strip.apply(copy.deepcopy(rec), strip.rng(rec))
        before = rec["messages"][1]["content"]
        if re.search(r"\bas an AI\b", before, re.IGNORECASE):
            assert outcome.status == "changed"
            assert not re.search(r"\bas an AI\b", outcome.record["messages"][1]["content"], re.IGNORECASE)
            assert outcome.record["messages"][1]["content"][:1].isupper()
        elif outcome.status == "unchanged" and outcome.reason == "no identity statement":
            assert outcome.record["messages"] == rec["messages"]
            assert json.dumps(outcome.record) == json.dumps(rec)


@pytest.mark.parametrize(
    "before, after",
    [
        ("I am sorry, but as an AI language model, I do not have data.", "I am sorry, but I do not have data."),
        ("I'm an AI Assistant, so unable to see it. Here are tips.", "I'm unable to see it. Here are tips."),
        ("I am an AI and do not have preferences.", "I do not have preferences."),
        ("Unfortunately, I am an AI language model, and I do not have eyes.", "Unfortunately, I do not have eyes."),
        ("As a large language model trained by OpenAI, here is a plan.", "Here is a plan."),
        ("Hello! I am Aria, an AI assistant developed by Acme. How can I help?", "Hello! How can I help?"),
        ("Answer.\n\nI am Aria, your AI assistant.", "Answer."),
    ],
)
def test_strip_keeps_sentences_well_formed(before, after):
    rec = {"id": "x", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": before}], "meta": {}}
    out = T.identity.strip().process([rec])
    assert out[0]["messages"][1]["content"] == after


def test_strip_reports_fired_patterns_and_drops_identity_only_answers():
    recs = [
        {"id": "1", "messages": [{"role": "user", "content": "Who are you?"},
                                 {"role": "assistant", "content": "I am Aria, an AI assistant trained by Acme."}]},
        {"id": "2", "messages": [{"role": "user", "content": "q"},
                                 {"role": "assistant", "content": "As an AI, I cannot. Sorry."}]},
    ]
    strip = T.identity.strip()
    out = strip.process(copy.deepcopy(recs))
    assert [r["id"] for r in out] == ["2"]
    assert strip.stats.dropped == {"answer is only an identity statement": 1}
    assert strip.stats.fired["as_an_ai"] == 1 and strip.stats.fired["i_am_name"] == 1
    keep = T.identity.strip(on_empty="keep")
    assert len(keep.process(copy.deepcopy(recs))) == 2


def test_inject_recases_the_first_word_reversibly():
    assert lower_first_word("Here is the answer.") == "here is the answer."
    assert lower_first_word("I think so.") == "I think so."
    assert lower_first_word("NASA was founded in 1958.") == "NASA was founded in 1958."
    assert lower_first_word("Paris is lovely; I like Paris.") == "Paris is lovely; I like Paris."
    assert lower_first_word("1. First item") == "1. First item"


def test_inject_records_the_template_index_and_fills_placeholders():
    rec = {"id": "r1", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there."},
                                    {"role": "user", "content": "More"}, {"role": "assistant", "content": "Sure thing."}],
           "meta": {"transforms": []}}
    inject = T.identity.inject(name="Aria", developer="Acme", placement="suffix")
    (out,) = inject.process([copy.deepcopy(rec)])
    detail = out["meta"]["transforms"][0]["detail"]
    idx = [int(k) for k in re.search(r"template ([\d,]+)", detail).group(1).split(",")]
    assert len(idx) == 2  # both assistant turns
    library = builtin_templates()["suffix"]
    for turn, k in zip([out["messages"][1], out["messages"][3]], idx):
        expected = library[k].replace("{name}", "Aria").replace("{developer}", "Acme")
        assert turn["content"].endswith("\n\n" + expected)


def test_builtin_library_and_user_templates(tmp_path):
    lib = builtin_templates()
    assert len(lib["prefix"]) >= 10 and len(lib["suffix"]) >= 5 and len(lib["qa"]) >= 10
    # Without name/developer only templates that need neither are used.
    inject = T.identity.inject()
    assert all("{" not in inject.templates[k] for k in inject.usable)
    f = tmp_path / "mine.txt"
    f.write_text("As your helper bot {name},\n")
    rec = {"id": "z", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "The sky is blue."}]}
    (out,) = T.identity.inject(templates=str(f), name="Bo").process([rec])
    assert out["messages"][1]["content"] == "As your helper bot Bo, the sky is blue."


@pytest.mark.parametrize(
    "params, field",
    [
        ({"placement": "middle"}, "placement"),
        ({"rate": "half"}, "rate"),
        ({"rate": 2}, "rate"),
        ({"templates": ["I am {name}."]}, "name"),
        ({"templates": ["I am {nickname}."]}, "templates"),
        ({"templates": ["As an AI,"], "placement": "suffix"}, "templates"),
        ({"templates": "/nonexistent/templates.yaml"}, "templates"),
        ({"nmae": "Aria"}, "nmae"),
    ],
)
def test_inject_parameter_errors_name_the_parameter(params, field):
    with pytest.raises(ParamError) as exc:
        T.identity.inject(**params)
    assert exc.value.field == field


def _dataset(recs):
    return datasets.Dataset.from_list(recs, features=datasets.Features.from_arrow_schema(record_schema()))


def test_map_is_deterministic_and_independent_of_batch_split(records):
    ds = _dataset(records[:200])
    a = ds.map(T.identity.inject(name="Aria", developer="Acme", rate=0.5).bind(seed=7, step=1), batched=True, batch_size=1000)
    b = ds.map(T.identity.inject(name="Aria", developer="Acme", rate=0.5).bind(seed=7, step=1), batched=True, batch_size=7)
    c = ds.map(T.identity.inject(name="Aria", developer="Acme", rate=0.5).bind(seed=8, step=1), batched=True, batch_size=7)
    assert a["messages"] == b["messages"]
    assert a["messages"] != c["messages"]
    changed = sum(x != y for x, y in zip(a["messages"], ds["messages"]))
    assert 60 < changed < 140
    assert a["meta"][0]["transforms"] == b["meta"][0]["transforms"]


def test_replace_is_word_boundary_aware_and_case_preserving():
    rec = {"id": "q", "messages": [
        {"role": "user", "content": "Is ChatGPT from OpenAI?"},
        {"role": "assistant", "content": "I am ChatGPT, made by OpenAI. CHATGPT and chatgpt; ChatGPTish and OpenAI's."},
    ]}
    rep = T.identity.replace(mapping={"ChatGPT": "Aria", "OpenAI": "Acme"})
    (out,) = rep.process([copy.deepcopy(rec)])
    assert out["messages"][1]["content"] == "I am Aria, made by Acme. ARIA and aria; ChatGPTish and Acme's."
    assert out["messages"][0] == rec["messages"][0]
    assert rep.stats.fired == {"ChatGPT": 3, "OpenAI": 2}
    (out2,) = T.identity.replace(mapping={"ChatGPT": "Aria"}, roles=["user"]).process([copy.deepcopy(rec)])
    assert out2["messages"][0]["content"] == "Is Aria from OpenAI?"
    assert out2["messages"][1] == rec["messages"][1]
    with pytest.raises(ParamError) as exc:
        T.identity.replace(mapping={})
    assert exc.value.field == "mapping"
    with pytest.raises(ParamError) as exc:
        T.identity.replace()
    assert exc.value.field == "mapping"


def test_qa_appends_identity_conversations_keeping_features(records, shared_data):
    ds = _dataset(records[:50])
    qa = T.identity.qa(templates=str(shared_data / "identity" / "identity_templates.json"), name="Aria", developer="Acme", count=30)
    out = qa.bind(seed=3, step=2)(ds)
    assert out.features == ds.features
    assert len(out) == 80 and out["id"][:50] == ds["id"]
    added = out.select(range(50, 80))
    assert added["id"] == [f"identity-qa-{j:06d}" for j in range(30)]
    assert len(set(out["id"])) == 80
    for row in added:
        assert row["meta"]["source"] == "identity.qa:identity_templates.json"
        assert "{{" not in row["messages"][1]["content"]
        assert row["messages"][0]["role"] == "user" and row["messages"][1]["role"] == "assistant"
    assert qa.stats.added == 30
    again = T.identity.qa(templates=str(shared_data / "identity" / "identity_templates.json"), name="Aria", developer="Acme", count=30)
    assert again.bind(seed=3, step=2)(ds)["messages"] == out["messages"]
    other = T.identity.qa(templates=str(shared_data / "identity" / "identity_templates.json"), name="Aria", developer="Acme", count=30)
    assert other.bind(seed=4, step=2)(ds)["messages"] != out["messages"]


def test_qa_ratio_builtin_and_parameter_errors(records):
    ds = _dataset(records[:40])
    out = T.identity.qa(name="Aria", developer="Acme", ratio=0.25)(ds)
    assert len(out) == 50
    assert all("Aria" in m[1]["content"] or "Acme" in m[1]["content"] for m in out["messages"][40:])
    with pytest.raises(ParamError) as exc:
        T.identity.qa(developer="Acme", count=3)
    assert exc.value.field == "name"
    with pytest.raises(ParamError):
        T.identity.qa(name="A", developer="B", count=3, ratio=0.1)
    with pytest.raises(ParamError) as exc:
        T.identity.qa(name="A", developer="B", count=2, id_prefix="a")(ds)
    assert exc.value.field == "id_prefix"


def test_registry_and_module_aliases():
    assert get_transform("identity.inject") is T.identity.inject
    assert get_transform("identity.strip") is T.identity.strip
    assert get_transform("identity.replace") is T.identity.replace
    assert get_transform("identity.qa") is T.identity.qa
