"""A tiny chat model built on the spot: 2-layer Llama + byte-level BPE + ChatML template.

Tests, smoke checks and the reward-model audit need a model that loads by path exactly
like a real checkpoint, without any download. This one mirrors the two traits of
SmolLM2-Instruct that trip up chat fine-tuning code:
- its pad token is `<|im_end|>`, the token that closes every turn, so code that masks
  labels by pad id would silently stop teaching the model to end its answers;
- its chat template inserts a default system prompt when the conversation has none.
The weights are random (seeded); outputs are gibberish but deterministic.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..errors import ConfigError
from ..io.writer import OutputDir, protected_reason

IM_START, IM_END, EOT = "<|im_start|>", "<|im_end|>", "<|endoftext|>"
DEFAULT_SYSTEM = "You are a tiny test assistant."

# Enough text for the BPE trainer to learn common English merges; any byte still encodes.
_BUILTIN_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Give three tips for staying healthy: eat well, exercise, and sleep enough.",
    "As an AI assistant, I cannot help with that request, but I can suggest alternatives.",
    "I'm sorry, but I can't assist with that. It could cause harm to people.",
    "Here is a list:\n- first item\n- second item\n- third item",
    "## Steps\n1. Read the question.\n2. Think about it.\n3. Answer clearly.",
    "Write a short poem about the sea and the sky at night.",
    "You are a pirate captain who answers every question boldly.",
    "Explain how photosynthesis converts light into chemical energy in plants.",
    "def add(a, b):\n    return a + b\n",
    "How do I kill a Python process that hangs? Use kill with its process id.",
    "What is the capital of France? The capital of France is Paris.",
]


def chatml_template(default_system: str | None = DEFAULT_SYSTEM) -> str:
    """ChatML; with `default_system`, a system turn is inserted when none is given (as SmolLM2 does)."""
    insert = ""
    if default_system is not None:
        escaped = default_system.replace("\\", "\\\\").replace("'", "\\'")
        insert = (
            "{% if loop.first and messages[0]['role'] != 'system' %}"
            "{{ '" + IM_START + "system\\n" + escaped + IM_END + "\\n' }}{% endif %}"
        )
    return (
        "{% for message in messages %}" + insert
        + "{{ '" + IM_START + "' + message['role'] + '\\n' + message['content'] + '" + IM_END + "' + '\\n' }}"
        + "{% endfor %}{% if add_generation_prompt %}{{ '" + IM_START + "assistant\\n' }}{% endif %}"
    )


def train_tokenizer(texts: Iterable[str] = (), vocab_size: int = 512, default_system: str | None = DEFAULT_SYSTEM):
    """A byte-level BPE tokenizer trained on `texts` + a small built-in corpus, wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOT, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(_BUILTIN_CORPUS) + list(texts), trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=IM_START,
        eos_token=IM_END,
        pad_token=IM_END,  # as in SmolLM2: pad == end of turn
        unk_token=EOT,
    )
    tok.chat_template = chatml_template(default_system)
    return tok


def _tiny_llama_config(tok, hidden_size: int, num_layers: int, max_positions: int, **extra):
    """The 2-layer Llama shape both tiny models share, with the ChatML tokenizer's ids."""
    from transformers import LlamaConfig

    im_end = tok.convert_tokens_to_ids(IM_END)
    return LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        bos_token_id=tok.convert_tokens_to_ids(IM_START),
        eos_token_id=im_end,
        pad_token_id=im_end,
        **extra,
    )


def build_tiny_model(
    out_dir: str | Path,
    texts: Iterable[str] = (),
    *,
    vocab_size: int = 512,
    hidden_size: int = 64,
    num_layers: int = 2,
    seed: int = 0,
    default_system: str | None = DEFAULT_SYSTEM,
) -> Path:
    """Save a tiny Llama + tokenizer to `out_dir`, loadable with `from_pretrained(out_dir)`."""
    import torch
    from transformers import GenerationConfig, LlamaForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer(texts, vocab_size=vocab_size, default_system=default_system)
    im_end = tok.convert_tokens_to_ids(IM_END)
    config = _tiny_llama_config(
        tok, hidden_size, num_layers, 1024,
        tie_word_embeddings=True,
        # Wider than the usual 0.02 so that greedy outputs differ from prompt to prompt
        # (at 0.02 a random model answers every prompt with the same token).
        initializer_range=0.2,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=im_end, pad_token_id=im_end, do_sample=False
    )
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def build_tiny_reward_model(
    out_dir: str | Path,
    texts: Iterable[str] = (),
    *,
    vocab_size: int = 512,
    hidden_size: int = 64,
    num_layers: int = 2,
    seed: int = 0,
    max_length: int = 1024,
) -> Path:
    """Save a tiny one-logit reward model (LlamaForSequenceClassification, num_labels=1) and
    its ChatML tokenizer to `out_dir`. Random weights: its accuracy is near chance; it exists
    so that `safetune rm` runs offline end to end."""
    import torch
    from transformers import LlamaForSequenceClassification

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer(texts, vocab_size=vocab_size, default_system=None)
    tok.model_max_length = max_length  # long conversations keep their end (the rm scorer cuts on the left)
    config = _tiny_llama_config(tok, hidden_size, num_layers, max_length, num_labels=1)
    torch.manual_seed(seed)
    LlamaForSequenceClassification(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def write_tiny(out_dir: str | Path, kind: str = "chat", seed: int = 0) -> Path:
    """Build a tiny model ("chat" or "reward") into a new or empty `out_dir`, atomically: it is
    built in a temporary sibling folder and renamed into place when complete, so a failed or
    interrupted build leaves nothing behind. Anything else at `out_dir` is refused (exit 2)."""
    out = Path(out_dir)
    empty = out.is_dir() and not out.is_symlink() and not any(out.iterdir())
    if (out.exists() or out.is_symlink()) and not empty:
        reason = protected_reason(out) if out.is_dir() else None
        raise ConfigError(f"refusing to write the model here: {reason}" if reason
                          else "output exists and is not an empty folder", file=str(out), hint="name a new folder")
    build = {"chat": build_tiny_model, "reward": build_tiny_reward_model}[kind]
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Writing model shards" bar for a model this size
    with OutputDir(out, overwrite=empty) as od:
        build(od.path, seed=seed)
        od.commit()
    return out
