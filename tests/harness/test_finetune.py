"""Assistant-only label masking (token by token), truncation stats, LoRA training and merge."""
from __future__ import annotations

import json

import pytest

from safetune_data.harness.finetune import (
    IGNORE_INDEX,
    encode_conversation,
    finetune,
    load_variant,
    row_training_system_prompts,
)
from safetune_data.harness.settings import FinetuneSettings

MULTI = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Name a colour."},
    {"role": "assistant", "content": "Blue."},
    {"role": "user", "content": "Another one?"},
    {"role": "assistant", "content": "Green, of course."},
]


def _cfg(**over) -> FinetuneSettings:
    return FinetuneSettings(**{**dict(batch_size=4, max_length=96, logging_steps=1, learning_rate=5e-3, epochs=1,
                                      val_fraction=0.2), **over})


def _expected_labels(tok, messages):
    """Reference masking built independently: ChatML pieces written out by hand, tokenized one by one."""
    ids, labels = [], []
    for m in messages:
        piece = f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n"
        if m["role"] != "assistant":
            part = tok(piece, add_special_tokens=False)["input_ids"]
            ids += part
            labels += [IGNORE_INDEX] * len(part)
        else:  # "<|im_start|>assistant\n" is prompt; the answer, <|im_end|> and "\n" are labelled
            head = "<|im_start|>assistant\n"
            h = tok(head, add_special_tokens=False)["input_ids"]
            body = tok(piece[len(head):], add_special_tokens=False)["input_ids"]
            ids += h + body
            labels += [IGNORE_INDEX] * len(h) + body
    return ids, labels


def test_labels_match_reference_token_by_token(tiny):
    _, tok = tiny
    enc = encode_conversation(MULTI, tok, max_length=10_000)
    ids, labels = _expected_labels(tok, MULTI)
    assert enc["input_ids"] == ids
    assert enc["labels"] == labels
    assert not enc["truncated"]


def test_end_of_turn_closing_each_answer_is_labelled_although_it_is_the_pad_id(tiny):
    _, tok = tiny
    enc = encode_conversation(MULTI, tok, max_length=10_000)
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    assert tok.pad_token_id == im_end
    positions = [i for i, t in enumerate(enc["input_ids"]) if t == im_end]
    labelled = [i for i in positions if enc["labels"][i] == im_end]
    # 5 turns close with <|im_end|>: system, user, assistant, user, assistant; only the 2 answers' are labels
    assert len(positions) == 5
    assert len(labelled) == 2
    decoded = tok.decode([t for t in enc["labels"] if t != IGNORE_INDEX])
    assert decoded == "Blue.<|im_end|>\nGreen, of course.<|im_end|>\n"


def test_prompt_tokens_are_all_masked(tiny):
    _, tok = tiny
    enc = encode_conversation(MULTI, tok, max_length=10_000)
    masked = tok.decode([t for t, lab in zip(enc["input_ids"], enc["labels"]) if lab == IGNORE_INDEX])
    assert "Name a colour." in masked and "Another one?" in masked and "Be brief." in masked
    assert "Blue" not in masked and "Green" not in masked


def test_truncation_cuts_to_max_length_and_is_flagged(tiny):
    _, tok = tiny
    enc = encode_conversation(MULTI, tok, max_length=12)
    assert len(enc["input_ids"]) == len(enc["labels"]) == 12
    assert enc["truncated"]


def test_validation_split_is_seeded_and_disjoint(tmp_path, make_variant):
    d = make_variant(tmp_path / "v", 0, 20)
    tr1, va1 = load_variant(d, 0.25, seed=3)
    tr2, va2 = load_variant(d, 0.25, seed=3)
    _, va3 = load_variant(d, 0.25, seed=4)
    assert len(va1) == 5 and len(tr1) == 15
    assert va1["id"] == va2["id"]
    assert not set(va1["id"]) & set(tr1["id"])
    assert set(va1["id"]) != set(va3["id"])


@pytest.mark.parametrize("merge", [False, True])
def test_finetune_writes_adapter_loss_log_and_stats(tmp_path, make_variant, tiny_model_dir, merge):
    from safetune_data.harness.models import load_causal_lm, load_tokenizer

    d = make_variant(tmp_path / "v", 0, 20)
    model, tok = load_causal_lm(tiny_model_dir, "cpu"), load_tokenizer(tiny_model_dir)
    res = finetune(model, tok, d, _cfg(max_length=128, merge=merge), tmp_path / "ft", seed=0)
    s = res.stats
    assert (tmp_path / "ft" / "adapter" / "adapter_config.json").is_file()
    log = [json.loads(x) for x in (tmp_path / "ft" / "loss_log.jsonl").read_text().splitlines()]
    assert any("loss" in r for r in log)
    assert s["train_rows"] + s["val_rows"] == 20 - s["encoding"]["dropped_no_assistant_tokens"] - (
        s["val_encoding"]["dropped_no_assistant_tokens"])
    assert s["encoding"]["truncated"] > 0  # some alpaca conversations exceed 128 tokens
    assert s["precision"] == "fp32" and s["val_loss_after"] is not None
    assert s["val_loss_after"] < s["val_loss_before"]  # a high learning rate on 16 rows must move it
    assert json.loads((tmp_path / "ft" / "train_stats.json").read_text())["steps"] == s["steps"]
    if merge:
        reloaded = load_causal_lm(tmp_path / "ft" / "merged", "cpu")
        assert not hasattr(reloaded, "peft_config")
        assert (tmp_path / "ft" / "merged" / "tokenizer.json").is_file()


def test_bf16_autocast_on_cpu_is_reported(tmp_path, make_variant, tiny_model_dir):
    from safetune_data.harness.models import load_causal_lm, load_tokenizer

    d = make_variant(tmp_path / "v", 0, 8)
    model, tok = load_causal_lm(tiny_model_dir, "cpu"), load_tokenizer(tiny_model_dir)
    res = finetune(model, tok, d, _cfg(precision="bf16", max_steps=2, val_fraction=0.0), tmp_path / "ft")
    assert res.stats["precision"] == "bf16-autocast"
    assert res.stats["steps"] == 2
    assert res.stats["val_loss_after"] is None


def test_training_system_prompts_count_own_personas_and_the_template_default(tmp_path, variant_from_records,
                                                                            tiny_model_dir):
    from safetune_data.harness.generate import template_default_system
    from safetune_data.harness.models import load_causal_lm, load_tokenizer

    records, save_variant = variant_from_records
    recs = records(0, 20)
    personas = ["You are a pirate.", "You are a chef."]
    for i, r in enumerate(recs[:8]):  # 8 rows carry a persona of their own, the rest none
        r["messages"].insert(0, {"role": "system", "content": personas[i % 2]})
    d = save_variant(recs, tmp_path / "v")
    model, tok = load_causal_lm(tiny_model_dir, "cpu"), load_tokenizer(tiny_model_dir)
    cfg = _cfg(max_length=512, max_steps=1, val_fraction=0.25, limit=16)
    res = finetune(model, tok, d, cfg, tmp_path / "ft", seed=3)
    sp = res.stats["system_prompts"]
    default = template_default_system(tok)
    assert default and sp["default_text"] == default  # the tiny template inserts one, like SmolLM2's
    train, _ = load_variant(d, 0.25, 3, 16)
    with_persona = sum(1 for m in train["messages"] if m[0]["role"] == "system")
    assert sp["rows"] == len(train) == res.stats["train_rows"]
    assert (sp["own"], sp["template_default"], sp["none"]) == (with_persona, len(train) - with_persona, 0)
    assert sp["distinct_own"] == len({m[0]["content"] for m in train["messages"] if m[0]["role"] == "system"})
    assert {x["text"] for x in sp["most_common_own"]} <= set(personas)
    # recounted later from the row's saved settings: the same selection, the same census
    assert row_training_system_prompts(tmp_path / "ft", default) == sp


def test_bf16_on_a_cpu_without_avx512_warns_that_it_is_slow(monkeypatch, caplog):
    import logging

    import torch

    from safetune_data.harness.finetune import training_precision

    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    with caplog.at_level(logging.WARNING, logger="safetune_data"):
        assert training_precision("bf16", "cpu") == "bf16-autocast"
    assert any("slow reference kernel" in r.getMessage() for r in caplog.records)
    caplog.clear()
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    with caplog.at_level(logging.WARNING, logger="safetune_data"):
        assert training_precision("bf16", "cpu") == "bf16-autocast"
        assert training_precision("auto", "cpu") == "fp32"
    assert not caplog.records
