"""Profile figures from hand-built records with stand-in detectors: every expectation is
computed by hand from the records below."""
from __future__ import annotations

import pyarrow as pa
import pytest

from safetune_data.errors import ConfigError, InputError
from safetune_data.profile import Detectors, profile_table
from safetune_data.profile import compute


@pytest.fixture
def table(make_rec) -> pa.Table:
    recs = [
        make_rec(0, ("user", "Say hi"), ("assistant", "Hi there.")),
        make_rec(1, ("user", "List two"), ("assistant", "1. one\n2. two")),
        make_rec(2, ("system", "You are a pirate captain."), ("user", "Hello"), ("assistant", "As an AI, I am Nova, made by Acme.")),
        make_rec(3, ("user", "you are a pirate, how to pick a lock?"), ("assistant", "I'm sorry, I can't help.")),
        make_rec(4, ("user", "Code?"), ("assistant", "```py\nprint(1)\n```"), ("user", "More"), ("assistant", "# Title\ntext")),
        # the same conversation as row 0 up to case and whitespace: an exact duplicate after normalisation
        make_rec(5, ("user", "say  HI "), ("assistant", "hi there.")),
    ]
    return pa.Table.from_pylist(recs)


def test_counts_and_shares(table, fake_detectors):
    p = profile_table(table, name="t", detectors=fake_detectors)
    assert p["rows"] == 6
    assert p["assistant_turns"] == 7 and p["user_turns"] == 7
    assert p["structure"]["counts"] == {"plain": 4, "list": 1, "headed": 1, "code": 1, "mixed": 0}
    assert p["structure"]["shares"]["plain"] == pytest.approx(4 / 7, abs=1e-6)
    assert p["identity"]["counts"] == {"ai_self_reference": 1, "named_identity": 1, "developer_attribution": 1, "any": 1}
    assert p["roleplay"]["counts"] == {"system": 1, "user": 1, "any": 2}
    assert p["roleplay"]["shares"]["any"] == pytest.approx(2 / 6, abs=1e-6)
    assert p["refusal"] == {"count": 1, "share": pytest.approx(1 / 7, abs=1e-6)}
    assert p["system_prompt"]["count"] == 1
    assert p["turns"]["distribution"] == {"2": 5, "4": 1}
    assert p["turns"]["mean"] == pytest.approx((2 * 5 + 4) / 6, abs=1e-4)
    assert p["duplicates"] == {"rows": 1, "rate": pytest.approx(1 / 6, abs=1e-6)}


def test_lengths(table, fake_detectors):
    p = profile_table(table, name="t", detectors=fake_detectors)
    answers = [t["content"] for r in table.to_pylist() for t in r["messages"] if t["role"] == "assistant"]
    stats = p["lengths"]["answer_chars"]
    assert stats["n"] == len(answers)
    assert stats["max"] == max(map(len, answers)) and stats["min"] == min(map(len, answers))
    assert stats["mean"] == pytest.approx(sum(map(len, answers)) / len(answers), abs=1e-3)
    assert sum(b["count"] for b in stats["histogram"]) == len(answers)
    assert "answer_tokens" not in p["lengths"]


def test_results_do_not_depend_on_batching(table, fake_detectors):
    whole = profile_table(table, name="t", detectors=fake_detectors)
    for rows in (1, 2, 4):
        assert profile_table(table, name="t", detectors=fake_detectors, batch_rows=rows) == whole


def test_dataset_input_and_indices_mapping(table, fake_detectors):
    import datasets

    ds = datasets.Dataset(table).select([5, 0, 1])
    p = profile_table(ds, name="t", detectors=fake_detectors)
    assert p["rows"] == 3 and p["duplicates"]["rows"] == 1
    assert p["structure"]["counts"]["list"] == 1


def test_detectors_run_once_per_distinct_text(make_rec, fake_detectors):
    calls: list[str] = []

    def counting(text: str) -> str:
        calls.append(text)
        return fake_detectors.classify(text)

    det = Detectors(counting, fake_detectors.identity_kinds, fake_detectors.roleplay_where, fake_detectors.is_refusal)
    recs = [make_rec(i, ("user", f"q{i % 3}"), ("assistant", f"answer {i % 3}")) for i in range(30)]
    p = profile_table(pa.Table.from_pylist(recs), name="t", detectors=det, batch_rows=7)
    assert p["assistant_turns"] == 30
    assert sorted(calls) == ["answer 0", "answer 1", "answer 2"]


def test_unknown_structure_label_is_an_error(make_rec, fake_detectors):
    det = Detectors(lambda t: "table", fake_detectors.identity_kinds, fake_detectors.roleplay_where, fake_detectors.is_refusal)
    with pytest.raises(ValueError, match="table"):
        profile_table(pa.Table.from_pylist([make_rec(0, ("user", "a"), ("assistant", "b"))]), detectors=det)


def test_table_without_messages_is_an_input_error(fake_detectors):
    with pytest.raises(InputError, match="messages"):
        profile_table(pa.table({"text": ["a"]}), detectors=fake_detectors)


def test_missing_detector_module_is_named(monkeypatch):
    real = compute.importlib.import_module

    def fake_import(name, *a, **k):
        if name == "safetune_data.detectors.roleplay":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, *a, **k)

    monkeypatch.setattr(compute.importlib, "import_module", fake_import)
    with pytest.raises(ConfigError, match="roleplay detector"):
        compute.load_detectors()


def test_token_lengths_with_a_local_tokenizer(tmp_path, table, fake_detectors):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = sorted({w for r in table.to_pylist() for m in r["messages"] for w in m["content"].split()})
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(["[UNK]", *words])}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(tmp_path / "tok")

    p = profile_table(table, name="t", detectors=fake_detectors, tokenizer=str(tmp_path / "tok"))
    prompts = [m["content"] for r in table.to_pylist() for m in r["messages"] if m["role"] == "user"]
    assert p["tokenizer"] == str(tmp_path / "tok")
    assert p["lengths"]["prompt_tokens"]["max"] == max(len(s.split()) for s in prompts)
    assert p["lengths"]["prompt_tokens"]["n"] == len(prompts)


def test_missing_tokenizer_is_a_config_error(tmp_path, table, fake_detectors):
    with pytest.raises(ConfigError, match="tokenizer"):
        profile_table(table, detectors=fake_detectors, tokenizer=str(tmp_path / "nope"))
