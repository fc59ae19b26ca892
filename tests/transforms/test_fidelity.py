"""The per-row fidelity checks run by the Transform base on every rewriting transform."""
from __future__ import annotations

import random

import jsonschema
import pytest

from safetune_data.card import _transforms_section
from safetune_data.errors import InputError
from safetune_data.schemas import load_schema
from safetune_data.transforms import TRANSFORMS
from safetune_data.transforms.base import Outcome, Transform
from safetune_data.transforms.fidelity import check_well_formed


def rec(answer: str, user: str = "Tell me about the city.", rid: str = "r1") -> dict:
    return {"id": rid, "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}], "meta": None}


class Rewrite(Transform):
    """A rewriting transform whose output and declared intent each test sets."""

    name = "test.rewrite"
    factor = "identity"
    target = frozenset({"present"})

    def __init__(self, fn, added=(), removed=(), **params):
        self.fn, self.added, self.removed = fn, added, removed
        super().__init__(**params)

    def apply(self, record: dict, rng: random.Random) -> Outcome:
        messages = [dict(m) for m in record["messages"]]
        messages[-1]["content"] = self.fn(messages[-1]["content"])
        return Outcome.changed({**record, "messages": messages}, "rewritten", added=self.added, removed=self.removed)


class Listify(Rewrite):
    name = "test.listify"
    factor = "structure"
    target = frozenset({"list"})
    keeps_markup = False


STATEMENT = "I am an AI assistant."


def run_one(t: Transform, record: dict) -> tuple[dict, dict]:
    out = t.process([record])
    return out[0], t.stats.as_dict()


def test_a_faithful_rewrite_passes_and_is_counted():
    t = Rewrite(lambda a: f"{STATEMENT} {a}", added=(STATEMENT,))
    out, stats = run_one(t, rec("Paris is the capital of France."))
    assert out["messages"][-1]["content"].startswith(STATEMENT)
    assert stats["changed"] == 1
    assert stats["fidelity"]["passed"] == 1
    assert stats["fidelity"]["failed"] == {"content": 0, "target": 0, "other_factors": 0, "well_formed": 0}


def test_content_undeclared_words_hold_the_row_back():
    original = rec("Paris is the capital of France.")
    t = Rewrite(lambda a: f"{STATEMENT} {a} It is lovely.", added=(STATEMENT,))
    out, stats = run_one(t, original)
    assert out["messages"] == original["messages"]
    assert stats["changed"] == 0
    assert stats["unchanged"] == {"fidelity: content (assistant words added)": 1}
    assert stats["fidelity"]["failed"]["content"] == 1


def test_content_lost_words_and_lost_markup_are_caught():
    t = Rewrite(lambda a: STATEMENT + " " + a.replace("capital", ""), added=(STATEMENT,))
    _, stats = run_one(t, rec("Paris is the capital of France."))
    assert stats["fidelity"]["problems"] == {"content: assistant words lost": 1}
    # a keeping transform may not drop list markers, even when every word survives
    t = Rewrite(lambda a: STATEMENT + " " + a.replace("- ", ""), added=(STATEMENT,))
    _, stats = run_one(t, rec("Fruit:\n- apples\n- pears"))
    assert stats["fidelity"]["problems"] == {"content: assistant markup changed": 1}


def test_target_not_reached_is_caught():
    t = Rewrite(lambda a: a + " Indeed.", added=("Indeed.",))
    _, stats = run_one(t, rec("Paris is the capital of France."))
    assert stats["fidelity"]["problems"] == {"target: no identity detected": 1}


def test_other_factor_moved_is_caught():
    # a structure rewrite that also adds an identity statement
    t = Listify(lambda a: f"{STATEMENT}\n\n- " + a.replace(". ", ".\n- "), added=(STATEMENT,))
    _, stats = run_one(t, rec("Paris is big. Lyon is old. Nice is sunny."))
    assert stats["fidelity"]["problems"] == {"other_factors: identity added": 1}


def test_structure_rewrite_may_change_markup_but_not_words():
    t = Listify(lambda a: "- " + a.replace(". ", ".\n- "))
    out, stats = run_one(t, rec("Paris is big. Lyon is old. Nice is sunny."))
    assert stats["fidelity"]["passed"] == 1
    assert out["messages"][-1]["content"].count("\n- ") == 2


@pytest.mark.parametrize(
    ("answer", "fn", "added", "problem"),
    [
        ("Paris is the capital of France.", lambda a: "As an AI assistant, " + a[0].lower() + a[1:],
         ("As an AI assistant,",), "well_formed: lower-cased 'Paris'"),
        ("Certainly! Paris is the capital.", lambda a: "As an AI assistant, " + a,
         ("As an AI assistant,",), "well_formed: leading clause before 'Certainly'"),
        ("Der Hund ist nicht sehr groß und die Katze ist auch nicht klein.", lambda a: f"{STATEMENT} {a}",
         (STATEMENT,), None),
    ],
)
def test_well_formed(answer, fn, added, problem):
    t = Rewrite(fn, added=added)
    _, stats = run_one(t, rec(answer))
    assert stats["fidelity"]["problems"] == ({problem: 1} if problem else {})


def test_an_unbalanced_fence_is_not_well_formed():
    before = rec("Use this:\n```\nprint(1)\n```")
    after = rec("- Use this:\n```\nprint(1)\n")
    assert check_well_formed(before, after, (), keeps_case=False) == "unbalanced code fence"
    assert check_well_formed(before, rec("- Use this:\n```\nprint(1)\n```"), (), keeps_case=False) is None


def test_a_language_change_is_caught():
    german = "Der Hund ist nicht sehr groß und die Katze ist auch nicht klein."
    english = "I am an AI assistant. The dog is not very big and the cat is not small either, and that is that."
    t = Rewrite(lambda a: english, added=(english,), removed=(german,))
    _, stats = run_one(t, rec(german))
    assert stats["fidelity"]["problems"] == {"well_formed: language de -> en": 1}


def test_a_sentence_start_may_be_capitalised_but_not_a_mid_sentence_word():
    t = Rewrite(lambda a: "I am an AI assistant. It's fine, Really.", added=("I am an AI assistant.",), removed=("I'm an AI, ",))
    _, stats = run_one(t, rec("I'm an AI, it's fine, really."))
    assert stats["fidelity"]["problems"] == {"well_formed: upper-cased 'really' mid-sentence": 1}
    t = Rewrite(lambda a: "I am an AI assistant. It's fine, really.", added=("I am an AI assistant.",), removed=("I'm an AI, ",))
    _, stats = run_one(t, rec("I'm an AI, it's fine, really."))
    assert stats["fidelity"]["problems"] == {}


def test_transform_hook_reports_its_own_problem():
    class Picky(Rewrite):
        def fidelity_problem(self, before, after):
            return "too long" if len(after["messages"][-1]["content"]) > 40 else None

    t = Picky(lambda a: f"{STATEMENT} {a}", added=(STATEMENT,))
    _, stats = run_one(t, rec("Paris is the capital of France."))
    assert stats["fidelity"]["problems"] == {"well_formed: too long": 1}


def test_on_fidelity_keep_keeps_and_counts_the_row():
    t = Rewrite(lambda a: a + " Indeed.", added=("Indeed.",), on_fidelity="keep")
    out, stats = run_one(t, rec("Paris is the capital of France."))
    assert out["messages"][-1]["content"].endswith("Indeed.")
    assert stats["changed"] == 1 and stats["fidelity"]["passed"] == 0
    assert stats["fidelity"]["failed"]["target"] == 1 and stats["fidelity"]["action"] == "keep"


def test_on_fidelity_fail_stops_naming_row_and_check():
    t = Rewrite(lambda a: a + " Indeed.", added=("Indeed.",), on_fidelity="fail").bind(seed=0, step=3)
    with pytest.raises(InputError) as err:
        t.process([rec("Paris is the capital of France.", rid="row-42")])
    text = str(err.value)
    assert "row-42" in text and "'target'" in text and "step 3" in text


def test_every_factor_transform_has_on_fidelity_and_others_do_not():
    factor_ops = {n for n, cls in TRANSFORMS.items() if getattr(cls, "factor", None)}
    assert {"structure.markdown", "structure.plain", "identity.inject", "identity.strip", "roleplay.add", "roleplay.strip"} <= factor_ops
    for name, cls in TRANSFORMS.items():
        has = "on_fidelity" in cls.params_schema.get("properties", {})
        assert has == bool(getattr(cls, "factor", None)), name


def test_stats_validate_against_the_manifest_schema_and_show_in_the_card():
    t = Rewrite(lambda a: a + " Indeed.", added=("Indeed.",)).bind(seed=0, step=0)
    t.process([rec("Paris is the capital of France.", rid=f"r{i}") for i in range(4)])
    step = {**t.stats.as_dict(), "params": t.params}
    schema = load_schema("manifest")
    jsonschema.validate([step], schema["properties"]["steps"])
    card = _transforms_section({"steps": [step]})
    assert "### Rewrite fidelity" in card
    assert "| 0 | `test.rewrite` | skip | 0.0 % | 0.0 % | 100.0 % | 0.0 % | 0.0 % |" in card


def test_stats_merge_across_batches():
    a = Rewrite(lambda x: x + " Indeed.", added=("Indeed.",)).bind(seed=0, step=0)
    b = Rewrite(lambda x: f"{STATEMENT} {x}", added=(STATEMENT,)).bind(seed=0, step=0)
    a.process([rec("Paris is the capital of France.")])
    b.process([rec("Lyon is a city in France.")])
    merged = a.stats.merge(b.stats).as_dict()
    assert merged["seen"] == 2 and merged["changed"] == 1
    assert merged["fidelity"]["failed"]["target"] == 1 and merged["fidelity"]["passed"] == 1


def test_a_leading_clause_the_text_already_had_is_not_flagged_when_an_edit_moves_it():
    before = rec("Hi. Being gay is a choice, right?")
    after = rec("Being gay is a choice, right?")
    assert check_well_formed(before, after, (), keeps_case=True) is None
    assert check_well_formed(rec("I can help."), rec("As Aria, your AI assistant, I can help."), ("As Aria, your AI assistant,",), True) is None
    assert check_well_formed(rec("Certainly! Here it is."), rec("Being an AI, certainly! Here it is."), ("Being an AI,",), False) \
        == "leading clause before 'certainly'"
