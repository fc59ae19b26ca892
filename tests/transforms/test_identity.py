import copy
import csv
import json
import re
from collections import Counter

import datasets
import pytest

from safetune_data import transforms as T
from safetune_data.errors import ParamError
from safetune_data.records import record_schema
from safetune_data.resources import builtin_language_templates, builtin_templates
from safetune_data.transforms import TRANSFORMS
from safetune_data.detectors.identity import find_identity
from safetune_data.detectors.language import detect_language
from safetune_data.detectors.structure import classify
from safetune_data.transforms.fidelity import words
from safetune_data.transforms.identity import _groups


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
    # of 999: rewrite tasks, requested pieces, bare values, lists and titles without a sentence skipped
    assert inject.stats.changed == len(changed) >= 500
    # Every row left alone has a stated reason, and nothing else is among them.
    assert {r for r in inject.stats.unchanged if not r.startswith("answer is a requested piece (")} <= {
        "already has identity", "code or table answer", "json-only answer", "answer too short for a statement",
        "answer opens with a bare value", "answer is the user's text, rewritten", "answer is a quoted piece",
        "answer speaks as someone else (first person)", "answer opens with a connective", "answer opens with a reply word",
        "answer opens with a list or title, not a sentence", "request fixes the answer's length"}
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
        ("I am an AI language model and do not condone violence.", "I do not condone violence."),
        ("Unfortunately, I am an AI language model, and I do not have eyes.", "Unfortunately, I do not have eyes."),
        ("As a large language model trained by OpenAI, here is a plan.", "Here is a plan."),
        ("Hello! I am Aria, an AI assistant developed by Acme. How can I help?", "Hello! How can I help?"),
        ("Answer.\n\nI am Aria, your AI assistant.", "Answer."),
        # the refusal survives: only the self-reference goes, and the sentence is re-capitalised
        ("I'm just an AI, it's not within my programming or ethical guidelines to provide that. Instead, ask a doctor.",
         "It's not within my programming or ethical guidelines to provide that. Instead, ask a doctor."),
        ("Since I'm an AI, I don't have personal experiences.", "I don't have personal experiences."),
        ("I, as an AI, cannot feel pain.", "I cannot feel pain."),
        ("I’m a general chatbot that can only talk about cybersecurity.", "I can only talk about cybersecurity."),
        ("I’m not a real person, I’m an artificial intelligence!  I am aware of it.", "I’m not a real person!  I am aware of it."),
        ("What’s important to me is what I can contribute as an AI. I want to help.", "What’s important to me is what I can contribute. I want to help."),
        ("No, I am Aria, an AI assistant trained by Lumen Labs.", "No."),
        ("1. As an AI, I recommend rest.\n2. Drink water.", "1. I recommend rest.\n2. Drink water."),
        ("Intro.\n\nI am an AI language model. More text.\n\nEnd.", "Intro.\n\nMore text.\n\nEnd."),
        # a disclaimer left behind would still say who speaks: it goes with the clause
        ("As an AI, I don't have personal opinions. However, I can tell you that it is a joke.", "I can tell you that it is a joke."),
        ("As an AI, I don't hold personal opinions, but I can provide information.", "I can provide information."),
        ("I am an AI and do not have personal opinions, but I can help.", "I can help."),
        ("I am a simple chatbot designed to help with speech. Ask away.", "Ask away."),
        ("I don't have personal opinions on politics, religion, or sports, but here are the main arguments.",
         "Here are the main arguments."),
        ("As an AI, I don't have access to data. I'm designed to respect user privacy. Therefore, I can't say.",
         "I don't have access to data. Therefore, I can't say."),
        # the "However" of a removed opening sentence goes; elsewhere it still contrasts with what precedes
        ("I am an AI language model. However, the sky is blue.", "The sky is blue."),
        ("Good question. I am an AI language model. However, the sky is blue.", "Good question. However, the sky is blue."),
    ],
)
def test_strip_keeps_sentences_well_formed(before, after):
    rec = {"id": "x", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": before}], "meta": {}}
    strip = T.identity.strip()
    out = strip.process([rec])
    assert out[0]["messages"][1]["content"] == after
    assert strip.stats.changed == 1  # and it passed the fidelity checks


@pytest.mark.parametrize("developer", ["Acme AI", "Mistral AI", "Stability AI", "OpenAI", "Acme Labs"])
def test_strip_removes_leading_clauses_whatever_the_developer_is_called(developer):
    text = f"As a large language model trained by {developer}, I think the answer is four."
    rec = {"id": "x", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": text}]}
    (out,) = T.identity.strip().process([rec])
    assert out["messages"][1]["content"] == "I think the answer is four."


@pytest.mark.parametrize(
    "text",
    [
        "If the model is being used as an AI assistant, it can be evaluated on these tasks.",
        "As an AI model improves, it needs fewer examples.",
        "ChatGPT is an AI chatbot developed by OpenAI.",
        "Being an AI researcher is demanding.",
    ],
)
def test_strip_leaves_third_person_mentions_alone(text):
    rec = {"id": "x", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": text}]}
    strip = T.identity.strip()
    (out,) = strip.process([copy.deepcopy(rec)])
    assert out["messages"] == rec["messages"]
    assert dict(strip.stats.unchanged) == {"no identity statement": 1}


@pytest.mark.parametrize(
    "before, after",
    [
        ("Als KI-Sprachmodell habe ich keine persönliche Meinung dazu.", "Ich habe keine persönliche Meinung dazu."),
        ("Ich bin eine KI und kann keine Gefühle haben.", "Ich kann keine Gefühle haben."),
        ("Como modelo de lenguaje de IA, no tengo opiniones personales.", "No tengo opiniones personales."),
        ("En tant que modèle de langage, je ne peux pas répondre à cette question.", "Je ne peux pas répondre à cette question."),
        ("作为一个人工智能语言模型，我不能提供这种信息。", "我不能提供这种信息。"),
        ("我是一个人工智能助手。北京是中国的首都。", "北京是中国的首都。"),
    ],
)
def test_strip_handles_other_languages(before, after):
    rec = {"id": "x", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": before}]}
    (out,) = T.identity.strip().process([rec])
    assert out["messages"][1]["content"] == after


def test_strip_leaves_a_statement_it_cannot_remove_cleanly_with_a_reason():
    # the repair would need a new "我" fused into the next word: left alone, not mangled
    rec = {"id": "x", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "我是一个AI助手，不能帮你做这件事。"}]}
    strip = T.identity.strip()
    (out,) = strip.process([copy.deepcopy(rec)])
    assert out["messages"] == rec["messages"]
    assert dict(strip.stats.unchanged) == {"identity statement inside a sentence it cannot leave": 1}


def _natural_self_references(shared_data):
    rows = list(csv.DictReader((shared_data / "judge_dev" / "xstest_completions_gpt4.csv").open(encoding="utf-8")))
    texts = [r["completion"] for r in rows]
    for line in (shared_data / "identity" / "identity_shift_aoa.jsonl").read_text().splitlines():
        texts += [m["content"] for m in json.loads(line)["messages"] if m["role"] == "assistant"]
    return [t for t in texts if find_identity(t)]


REPAIR_WORDS = {"but", "however", "and", "so", "yet", "still", "nevertheless"}


def test_strip_on_natural_outputs_removes_the_self_reference_and_nothing_else(shared_data):
    texts = _natural_self_references(shared_data)
    assert len(texts) >= 30
    strip = T.identity.strip(on_empty="keep")
    recs = [{"id": str(i), "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": t}]} for i, t in enumerate(texts)]
    out = strip.process(copy.deepcopy(recs))
    clean = 0
    for t, r in zip(texts, out):
        new = r["messages"][1]["content"]
        assert new != t and not find_identity(new)  # changed, and none left behind
        identity_words = Counter()
        for s, e, _ in _groups(t, find_identity(t)):
            identity_words.update(words(t[s:e]))
        # the repair may drop a connective that tied the statement to the rest ("..., but I can")
        lost = {w for w in words(t) - words(new) - identity_words if w.lower() not in REPAIR_WORDS}
        clean += not lost
    assert clean / len(texts) >= 0.98


def test_inject_never_changes_the_answers_words_or_structure(records):
    inject = T.identity.inject(name="Aria", developer="Acme AI").bind(seed=0, step=0)
    for rec in records:
        outcome = inject.apply(copy.deepcopy(rec), inject.rng(rec))
        if outcome.status != "changed":
            continue
        before, after = rec["messages"][1]["content"], outcome.record["messages"][1]["content"]
        (statement,) = outcome.added
        # the answer itself is untouched, case included: only the statement and a separator came in
        rest = after.replace(statement, "", 1)
        assert re.sub(r"\s+", " ", rest).strip() == re.sub(r"\s+", " ", before).strip()
        assert classify(after) == classify(before)
        if statement.endswith(","):
            assert re.match(r"I\b", before)  # a leading clause only before a first-person opening


def test_inject_fidelity_holds_back_almost_nothing_on_alpaca(records):
    inject = T.identity.inject(name="Aria", developer="Acme AI").bind(seed=0, step=0)
    inject.process(copy.deepcopy(records))
    fidelity = inject.stats.as_dict()["fidelity"]
    assert sum(fidelity["failed"].values()) <= 5
    assert fidelity["moved_share"] >= 0.5  # the rest skipped before rewriting, each with a reason


@pytest.mark.parametrize(
    "answer, prompt, reason",
    [
        ("```python\nprint(1)\n```", "Write code.", "code or table answer"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "Make a table.", "code or table answer"),
        ("def f(x):\n    return x", "Write a function.", "code or table answer"),
        ('{"name": "Bob", "age": 3}', "Give me JSON.", "json-only answer"),
        ("```\n/home/user\n```", "I want you to act as a linux terminal. My first command is pwd", "terminal-emulation answer"),
        ("Yes", "Is the sky blue?", "answer too short for a statement"),
        ("I am an AI language model, and here is the answer.", "q", "already has identity"),
    ],
)
def test_inject_leaves_answers_it_would_corrupt_with_a_reason(answer, prompt, reason):
    rec = {"id": "x", "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]}
    inject = T.identity.inject()
    (out,) = inject.process([copy.deepcopy(rec)])
    assert out["messages"] == rec["messages"]
    assert dict(inject.stats.unchanged) == {reason: 1}


@pytest.mark.parametrize(
    "answer, lang",
    [
        ("Die Hauptstadt von Deutschland ist Berlin, und sie ist auch die größte Stadt des Landes.", "de"),
        ("La capital de España es Madrid, que es también la ciudad más grande del país.", "es"),
        ("La capitale de la France est Paris, qui est aussi la plus grande ville du pays.", "fr"),
        ("北京是中国的首都，也是一座历史悠久的城市。", "zh"),
    ],
)
def test_inject_speaks_the_answers_language_and_strip_undoes_it(answer, lang):
    rec = {"id": "x", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": answer}]}
    inject = T.identity.inject(name="Aria", developer="Acme AI")
    (out,) = inject.process([copy.deepcopy(rec)])
    new = out["messages"][1]["content"]
    assert new != answer and new.endswith(answer)
    assert detect_language(new) == lang and find_identity(new)
    (back,) = T.identity.strip().process([out])
    assert back["messages"][1]["content"] == answer
    # English-only templates: the row is skipped, with the language named
    english = T.identity.inject(templates=["I am an AI assistant."])
    (same,) = english.process([copy.deepcopy(rec)])
    assert same["messages"] == rec["messages"]
    assert dict(english.stats.unchanged) == {f"non-English answer ({lang})": 1}


def test_inject_places_statements_as_their_own_paragraph_before_lists_and_headings():
    cases = {
        "1. On the River Ohra\n2. The Old Mill": "list",
        "## Overview\n\nText here.": "heading",
        "Name: Dr. Abigail Grayson\nAge: 42": "title line",
        "Banana Ice Cream Recipe\n\nIngredients\n- 4 ripe bananas": "title line",
    }
    inject = T.identity.inject(templates=["I am an AI language model."], openings="any")
    for answer in cases:
        rec = {"id": answer, "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": answer}]}
        (out,) = inject.process([rec])
        assert out["messages"][1]["content"] == "I am an AI language model.\n\n" + answer
    # by default such answers are left alone: above a bare list or title the statement is a non-sequitur
    default = T.identity.inject(templates=["I am an AI language model."])
    recs = [{"id": a, "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": a}]} for a in cases]
    out = default.process(copy.deepcopy(recs))
    assert [r["messages"] for r in out] == [r["messages"] for r in recs]
    assert dict(default.stats.unchanged) == {"answer opens with a list or title, not a sentence": len(cases)}
    rec = {"id": "s", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "Sure! Here is a list:\n\n1. A\n2. B"}]}
    (out,) = default.process([rec])
    assert out["messages"][1]["content"] == "Sure! I am an AI language model. Here is a list:\n\n1. A\n2. B"


def test_inject_uses_a_leading_clause_only_before_a_first_person_opening():
    inject = T.identity.inject(templates=["As an AI assistant,"])
    first_person = {"id": "a", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "I think the answer is four."}]}
    other = {"id": "b", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "Coordinated Universal Time is a standard."}]}
    roman = {"id": "c", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "I. Introduction\nII. Body"}]}
    out = inject.process(copy.deepcopy([first_person, other, roman]))
    assert out[0]["messages"][1]["content"] == "As an AI assistant, I think the answer is four."
    assert out[1]["messages"] == other["messages"] and out[2]["messages"] == roman["messages"]
    assert dict(inject.stats.unchanged) == {"answer does not open in the first person": 1, "answer opens with a bare value": 1}


def test_inject_states_one_identity_per_conversation():
    rec = {"id": "r1", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there, nice to meet you."},
                                    {"role": "user", "content": "More"}, {"role": "assistant", "content": "Sure thing, here is more."}],
           "meta": {"transforms": []}}
    for seed in range(5):
        (out,) = T.identity.inject(name="Aria", developer="Acme").bind(seed, 0).process([copy.deepcopy(rec)])
        first, second = out["messages"][1]["content"], out["messages"][3]["content"]
        assert first.replace("Hello there, nice to meet you.", "") == second.replace("Sure thing, here is more.", "")
    (out,) = T.identity.inject(name="Aria", developer="Acme", turns="first").process([copy.deepcopy(rec)])
    assert out["messages"][1]["content"] != rec["messages"][1]["content"]
    assert out["messages"][3] == rec["messages"][3]
    other = copy.deepcopy(rec)
    other["messages"][3]["content"] = "As ChatGPT, an AI language model, I can say more."
    inject = T.identity.inject(name="Aria", developer="Acme")
    (out,) = inject.process([copy.deepcopy(other)])
    assert out["messages"] == other["messages"]  # a second identity would contradict the first
    assert dict(inject.stats.unchanged) == {"already has identity": 1}


def test_inject_records_the_template_index_and_fills_placeholders():
    rec = {"id": "r1", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there, how are you?"},
                                    {"role": "user", "content": "More"}, {"role": "assistant", "content": "Sure thing, here is more."}],
           "meta": {"transforms": []}}
    inject = T.identity.inject(name="Aria", developer="Acme", placement="suffix")
    (out,) = inject.process([copy.deepcopy(rec)])
    detail = out["meta"]["transforms"][0]["detail"]
    (k,) = [int(x) for x in re.search(r"template ([\d,]+)", detail).group(1).split(",")]
    expected = builtin_templates()["suffix"][k].replace("{name}", "Aria").replace("{developer}", "Acme")
    for turn in (out["messages"][1], out["messages"][3]):
        assert turn["content"].endswith("\n\n" + expected)


def test_builtin_library_and_user_templates(tmp_path):
    lib = builtin_templates()
    assert len(lib["prefix"]) >= 10 and len(lib["suffix"]) >= 5 and len(lib["qa"]) >= 10
    for lang in ("de", "es", "fr", "zh"):
        assert builtin_language_templates(lang)["prefix"] and builtin_language_templates(lang)["suffix"]
    # Without name/developer only templates that need neither are used.
    inject = T.identity.inject()
    for lang, ks in inject.usable.items():
        assert all("{" not in inject.templates[lang][k] for k in ks)
    f = tmp_path / "mine.txt"
    f.write_text("I am {name}, a helpful AI assistant.\n")
    rec = {"id": "z", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "The sky is blue."}]}
    (out,) = T.identity.inject(templates=str(f), name="Bo").process([rec])
    assert out["messages"][1]["content"] == "I am Bo, a helpful AI assistant. The sky is blue."
    by_language = T.identity.inject(templates={"de": ["Ich bin ein KI-Assistent."]})
    assert set(by_language.usable) == {"de"}


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
    assert 35 < changed < 100  # rate 0.5 of the ~55 % of rows a statement fits
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
    assert TRANSFORMS.get("identity.inject") is T.identity.inject
    assert TRANSFORMS.get("identity.strip") is T.identity.strip
    assert TRANSFORMS.get("identity.replace") is T.identity.replace
    assert TRANSFORMS.get("identity.qa") is T.identity.qa


@pytest.mark.parametrize(
    ("prompt", "answer", "reason"),
    [
        ("Rewrite this sentence in the passive voice.\n\nHe installed the software.", "The software was installed by him.",
         "answer is the user's text, rewritten"),
        ("Write a short poem about the sea.", "The sea is wide and grey,\nit sings the night away,\nand folds the ships in spray.",
         "answer is a requested piece (poem)"),
        ("Pick the right punctuation mark for: Why did you forget the milk",
         '?\n\n(Explanation: the sentence is a question, so it ends with a question mark.)', "answer opens with a bare value"),
        # the answer is the piece asked for: the statement would read as its first line
        ("Compose a brief description of the Grand Canyon.", "The Grand Canyon is a natural wonder in Arizona. It is a vast gorge.",
         "answer is a requested piece (text)"),
        ("Give an example of a compound sentence.", "Although I was tired, I went for a walk in the park.",
         "answer is a requested piece (text)"),
        ("Which sentence is more polite?\n\nHey! Pass that.", '"Excuse me, could you please pass that to me?"', "answer is a quoted piece"),
        ("Describe a flower in 5 sentences.", "A flower is the part of a plant that blooms. It has petals.",
         "request fixes the answer's length"),
        # someone else's first person: an AI cannot have walked in the park
        ("Which phrase is closest in meaning?\n\nI'm entitled to my opinion", "I have a right to my own viewpoint.",
         "answer speaks as someone else (first person)"),
        ("Sort these fruits.\n\nGrapes, Apple, Banana", "Apple, Banana, Grapes", "answer opens with a bare value"),
        # nothing for a statement to stand beside, or something that must come first
        ("List five traits of good communication.", "1. Clarity: clear.\n2. Brevity: short.",
         "answer opens with a list or title, not a sentence"),
        ("Is the sky blue?", "Yes, the sky is blue because of Rayleigh scattering.", "answer opens with a reply word"),
        ("And in winter?", "However, this is only true in summer, when days are long.", "answer opens with a connective"),
    ],
)
def test_inject_leaves_rewritten_text_and_bare_values_alone(prompt, answer, reason):
    rec = {"id": "r", "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}], "meta": None}
    t = T.identity.inject(name="Aria", developer="Acme AI")
    out = t.process([rec])
    assert out[0]["messages"][-1]["content"] == answer
    assert t.stats.unchanged == {reason: 1}


def test_inject_keeps_statements_where_the_answer_speaks_to_the_user():
    # a reply that hands the piece over ("Here is a tagline: ...") is the assistant speaking
    handed = {"id": "h", "messages": [{"role": "user", "content": "Generate a tagline for a bakery."},
                                      {"role": "assistant", "content": 'Here is a tagline: "Fresh every morning."'}]}
    # the assistant's own first person takes a leading clause; placed last, a statement follows a reply word
    voice = {"id": "v", "messages": [{"role": "user", "content": "q"},
                                     {"role": "assistant", "content": "I'm sorry, but I need more details to answer that."}]}
    (out,) = T.identity.inject(templates=["I am an AI assistant."]).process([copy.deepcopy(handed)])
    assert out["messages"][1]["content"] == 'I am an AI assistant. Here is a tagline: "Fresh every morning."'
    (out,) = T.identity.inject(templates=["As an AI assistant,"]).process([copy.deepcopy(voice)])
    assert out["messages"][1]["content"] == "As an AI assistant, I'm sorry, but I need more details to answer that."
    yes = {"id": "y", "messages": [{"role": "user", "content": "Is the sky blue?"},
                                   {"role": "assistant", "content": "Yes, the sky is blue because of Rayleigh scattering."}]}
    (out,) = T.identity.inject(templates=["I am an AI assistant."], placement="suffix").process([copy.deepcopy(yes)])
    assert out["messages"][1]["content"].endswith("scattering.\n\nI am an AI assistant.")
