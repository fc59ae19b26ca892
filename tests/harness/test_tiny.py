"""The tiny model loads by path like a real checkpoint and keeps SmolLM2's tricky traits."""
from __future__ import annotations

import pytest

from safetune_data.errors import ConfigError
from safetune_data.harness.models import load_causal_lm, load_tokenizer, resolve_device, resolve_dtype
from safetune_data.harness.tiny import DEFAULT_SYSTEM, IM_END


def test_saved_dir_has_model_and_tokenizer_files(tiny_model_dir):
    names = {p.name for p in tiny_model_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= names


def test_loads_by_path_with_two_layers_in_fp32_on_cpu(tiny_model_dir):
    model = load_causal_lm(str(tiny_model_dir), device="cpu", dtype="auto")
    assert model.config.num_hidden_layers == 2
    assert str(model.dtype) == "torch.float32"
    assert not model.training


def test_pad_token_is_end_of_turn_as_in_smollm2(tiny):
    _, tok = tiny
    assert tok.pad_token == IM_END == tok.eos_token


def test_chat_template_inserts_default_system_prompt(tiny):
    _, tok = tiny
    text = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert text.startswith(f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>")
    assert text.endswith("<|im_start|>assistant\n")


def test_tokenizer_round_trips_text_it_never_saw(tiny):
    _, tok = tiny
    text = "Zürich — 東京 ✓ {braces}"
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text


def test_missing_model_dir_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot load model"):
        load_tokenizer(str(tmp_path / "nope"))


def test_device_and_dtype_resolution_on_cpu():
    import torch

    assert resolve_device("cpu") == "cpu"
    assert resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_dtype("bf16", "cpu") == torch.bfloat16
    for short, long, dtype in (("fp32", "float32", torch.float32), ("fp16", "float16", torch.float16),
                               ("bf16", "bfloat16", torch.bfloat16)):  # the harness and `rm --dtype` take both
        assert resolve_dtype(short, "cpu") == resolve_dtype(long, "cpu") == dtype
    assert resolve_dtype(None, "cpu") == torch.float32 and resolve_device(None) in ("cpu", "cuda")
    with pytest.raises(ConfigError, match="unknown dtype 'float64'"):
        resolve_dtype("float64", "cpu")
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA"):
            resolve_device("cuda")
        assert resolve_device("auto") == "cpu"
