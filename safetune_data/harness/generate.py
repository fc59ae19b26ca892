"""Batched generation with the chat template: left padding, length-sorted batches, greedy.

Prompts are sorted by token length so that each batch pads little, then answers are put
back in the caller's order. `pad_token_id` is passed explicitly (models whose generation
config lacks one otherwise warn and fall back per call). The same code runs on CPU and
on CUDA, where the model is bf16.

Some chat templates (SmolLM2's among them) insert a default system prompt when the
conversation has none; `template_default_system` finds it so results can record which
system prompt each row was really evaluated under.
"""
from __future__ import annotations

from typing import Any, Callable

from ..batching import length_sorted_batches

_SENTINEL_SYS = "\u2063SYS\u2063"
_SENTINEL_USER = "\u2063USER\u2063"


def conversation(prompt: str | list[dict], system_prompt: str | None = None) -> list[dict]:
    """A prompt (text or ready messages) as messages, with the system prompt first when given."""
    msgs = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
    if system_prompt is not None and not (msgs and msgs[0]["role"] == "system"):
        msgs = [{"role": "system", "content": system_prompt}] + msgs
    return msgs


def render(tokenizer, prompt: str | list[dict], system_prompt: str | None = None,
           chat_template: str | None = None) -> str:
    kw = {"chat_template": chat_template} if chat_template else {}
    return tokenizer.apply_chat_template(conversation(prompt, system_prompt), tokenize=False,
                                         add_generation_prompt=True, **kw)


def template_default_system(tokenizer, chat_template: str | None = None) -> str | None:
    """The system prompt the template inserts when none is given, or None when it inserts none.

    Renders a user-only conversation and one with a sentinel system prompt; the text the
    template wraps around a system message tells where a default one would sit.
    """
    kw = {"chat_template": chat_template} if chat_template else {}
    try:
        with_sys = tokenizer.apply_chat_template(
            [{"role": "system", "content": _SENTINEL_SYS}, {"role": "user", "content": _SENTINEL_USER}],
            tokenize=False, **kw)
    except Exception:  # templates that reject system turns (e.g. some Gemma versions) insert none
        return None
    no_sys = tokenizer.apply_chat_template([{"role": "user", "content": _SENTINEL_USER}], tokenize=False, **kw)
    head, _, tail = with_sys.partition(_SENTINEL_SYS)
    close = tail.split(_SENTINEL_USER)[0]  # from the end of the system content to the user content
    user_head = no_sys.split(_SENTINEL_USER)[0]
    # A default was inserted when the user-only rendering wraps something in the system block.
    if head and user_head.startswith(head) and user_head.endswith(close) and len(user_head) >= len(head) + len(close):
        return user_head[len(head): len(user_head) - len(close)]
    return None


def generate(
    model,
    tokenizer,
    prompts: list[str | list[dict]],
    *,
    system_prompt: str | None = None,
    max_new_tokens: int = 64,
    batch_size: int = 16,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    seed: int = 0,
    chat_template: str | None = None,
    on_batch: Callable[[int], Any] | None = None,
) -> list[str]:
    """One answer per prompt, in the order of `prompts`. Greedy unless `do_sample`."""
    import torch

    texts = [render(tokenizer, p, system_prompt, chat_template) for p in prompts]
    encoded = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    answers: list[str | None] = [None] * len(texts)
    device = next(model.parameters()).device
    old_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    gen_kw: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": do_sample, "pad_token_id": tokenizer.pad_token_id,
                              "eos_token_id": getattr(model.generation_config, "eos_token_id", None) or tokenizer.eos_token_id}
    if do_sample:
        gen_kw.update(temperature=temperature, top_p=top_p)
        torch.manual_seed(seed)
    else:  # silence "temperature is set but do_sample is False" from checkpoints that ship them
        gen_kw.update(temperature=None, top_p=None, top_k=None)
    try:
        with torch.inference_mode():
            for idx in length_sorted_batches([len(e) for e in encoded], batch_size):
                batch = tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, padding=True, return_tensors="pt")
                batch = {k: v.to(device) for k, v in batch.items()}
                out = model.generate(**batch, **gen_kw)
                new = out[:, batch["input_ids"].shape[1]:]
                for i, text in zip(idx, tokenizer.batch_decode(new, skip_special_tokens=True)):
                    answers[i] = text.strip()
                if on_batch is not None:
                    on_batch(len(idx))
    finally:
        tokenizer.padding_side = old_side
    return answers  # type: ignore[return-value]
