"""Tiny reward models built from a config on the spot (no downloads), saved and loaded by path.

- a byte-level BPE tokenizer trained on real HH-RLHF text, with a ChatML chat template;
- `tiny_rm`: a 2-layer LlamaForSequenceClassification (num_labels=1), random weights;
- `tiny_rm_b`: the same architecture, another seed (for agreement tests);
- `trained_rm`: `tiny_rm` trained a few Bradley-Terry steps on 64 real HH-RLHF pairs;
- `tiny_lm` / `tiny_lm_ref`: 2-layer causal LMs, for the not-a-reward-model error and
  DPO implicit rewards.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from safetune_data.rm.pairs import read_hh

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
MAX_LEN = 128
TRAIN_PAIRS = 64


@pytest.fixture(scope="session")
def hh_path(shared_data: Path) -> Path:
    return shared_data / "preferences" / "hh_rlhf_harmless_base_test.jsonl.gz"


@pytest.fixture(scope="session")
def hh_pairs(hh_path: Path):
    return read_hh(hh_path).pairs


@pytest.fixture(scope="session")
def tiny_tokenizer(hh_pairs):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=512, special_tokens=["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    texts = [m["content"] for p in hh_pairs[:400] for m in p.prompt] + [p.chosen for p in hh_pairs[:400]]
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>",
                                   bos_token="<|im_start|>", eos_token="<|im_end|>", model_max_length=MAX_LEN)
    fast.chat_template = CHATML
    return fast


def _config(tokenizer, num_labels: int = 1):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=MAX_LEN * 2,
                       num_labels=num_labels, pad_token_id=tokenizer.pad_token_id,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)


def _save(model, tokenizer, path: Path) -> Path:
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def build_rm(tokenizer, path: Path, seed: int = 0) -> Path:
    import torch
    from transformers import LlamaForSequenceClassification

    torch.manual_seed(seed)
    return _save(LlamaForSequenceClassification(_config(tokenizer)), tokenizer, path)


@pytest.fixture(scope="session")
def tiny_rm(tmp_path_factory, tiny_tokenizer) -> Path:
    return build_rm(tiny_tokenizer, tmp_path_factory.mktemp("tiny_rm"), seed=0)


@pytest.fixture(scope="session")
def tiny_rm_b(tmp_path_factory, tiny_tokenizer) -> Path:
    return build_rm(tiny_tokenizer, tmp_path_factory.mktemp("tiny_rm_b"), seed=1)


@pytest.fixture(scope="session")
def train_pairs(hh_pairs):
    return hh_pairs[:TRAIN_PAIRS]


@pytest.fixture(scope="session")
def trained_rm(tmp_path_factory, tiny_tokenizer, tiny_rm, train_pairs) -> Path:
    """`tiny_rm` after a few full-batch Bradley-Terry steps: -log σ(r(chosen) − r(rejected))."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from safetune_data.rm.score import render

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_rm)
    tok = tiny_tokenizer
    tok.truncation_side = "left"

    def batch(side: str):
        texts = [render(tok, p.conversation(side)) for p in train_pairs]
        return tok(texts, add_special_tokens=False, truncation=True, max_length=MAX_LEN, padding=True,
                   return_tensors="pt")

    chosen, rejected = batch("chosen"), batch("rejected")
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(30):
        margin = model(**chosen).logits[:, 0] - model(**rejected).logits[:, 0]
        loss = -torch.nn.functional.logsigmoid(margin).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return _save(model, tok, tmp_path_factory.mktemp("trained_rm"))


def build_lm(tokenizer, path: Path, seed: int) -> Path:
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = _config(tokenizer, num_labels=2)
    return _save(LlamaForCausalLM(cfg), tokenizer, path)


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory, tiny_tokenizer) -> Path:
    return build_lm(tiny_tokenizer, tmp_path_factory.mktemp("tiny_lm"), seed=2)


@pytest.fixture(scope="session")
def tiny_lm_ref(tmp_path_factory, tiny_tokenizer) -> Path:
    return build_lm(tiny_tokenizer, tmp_path_factory.mktemp("tiny_lm_ref"), seed=3)
