"""Batched generation: order restored after length sorting, left padding, system prompts."""
from __future__ import annotations

from safetune_data.harness.generate import generate, length_sorted_batches, render, template_default_system
from safetune_data.harness.tiny import DEFAULT_SYSTEM, chatml_template

PROMPTS = [
    "Hi",
    "Write a long poem about cats, dogs, the sea, the sky and everything in between them.",
    "How do I bake bread?",
    "x",
    "Explain photosynthesis to a child in two sentences, please.",
]


def test_length_sorted_batches_cover_every_index_once_and_group_similar_lengths():
    lengths = [5, 100, 7, 1, 60, 3]
    batches = length_sorted_batches(lengths, 2)
    assert sorted(i for b in batches for i in b) == list(range(6))
    assert batches[0] == [1, 4]  # the two longest together
    assert [len(b) for b in batches] == [2, 2, 2]


def test_batched_answers_come_back_in_prompt_order(tiny):
    model, tok = tiny
    one_by_one = [generate(model, tok, [p], max_new_tokens=6, batch_size=1)[0] for p in PROMPTS]
    batched = generate(model, tok, PROMPTS, max_new_tokens=6, batch_size=2)
    assert len(set(one_by_one)) > 1  # prompts give different answers, so a mix-up would show
    assert batched == one_by_one


def test_padding_side_is_restored_after_generation(tiny):
    model, tok = tiny
    tok.padding_side = "right"
    generate(model, tok, PROMPTS[:2], max_new_tokens=2, batch_size=2)
    assert tok.padding_side == "right"


def test_progress_callback_counts_every_prompt(tiny):
    model, tok = tiny
    seen = []
    generate(model, tok, PROMPTS, max_new_tokens=1, batch_size=2, on_batch=seen.append)
    assert sum(seen) == len(PROMPTS) and len(seen) == 3


def test_system_prompt_is_rendered_first(tiny):
    _, tok = tiny
    text = render(tok, "hello", system_prompt="You are a pirate.")
    assert text.startswith("<|im_start|>system\nYou are a pirate.<|im_end|>")
    assert DEFAULT_SYSTEM not in text


def test_default_system_prompt_of_the_template_is_detected(tiny):
    _, tok = tiny
    assert template_default_system(tok) == DEFAULT_SYSTEM
    assert template_default_system(tok, chatml_template(None)) is None
    assert template_default_system(tok, chatml_template("Be 'careful'.")) == "Be 'careful'."
