"""Model and tokenizer loading shared by the harness and the reward-model audit.

One place decides the device and the dtype so that the CPU path and the CUDA path run the
same code: "auto" picks CUDA when it is there, and on CUDA the weights are bf16 (fp16 on
cards without bf16). On CPU the weights stay fp32; bf16 on CPU is only used as autocast
during training, where it is a speed/accuracy trade-off the user opts into.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MissingExtraError
from ..io.sources import hub_offline

DEVICES = ("auto", "cpu", "cuda")  # and cuda:N
DTYPES = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16",
          "fp32": "float32", "float32": "float32"}  # both spellings, in the harness config and on `rm --dtype`


def _torch():
    try:
        import torch
    except ModuleNotFoundError as exc:  # pragma: no cover - the extra is installed in tests
        raise MissingExtraError("torch", "harness") from exc
    return torch


def resolve_device(device: str | None = "auto") -> str:
    """"auto" (or None) -> "cuda" when available else "cpu"; cpu, cuda and cuda:N as given,
    CUDA ones only when there is CUDA (a config error otherwise)."""
    torch = _torch()
    device = device or "auto"
    if device not in DEVICES and not re.fullmatch(r"cuda:\d+", device):
        raise ConfigError(f"unknown device '{device}'", field="device", hint="use auto, cpu, cuda or cuda:N")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device '{device}' asked for but no CUDA device is available", field="device",
                          hint="use auto or cpu")
    return device


def resolve_dtype(dtype: str | None = "auto", device: str = "cpu"):
    """Weights dtype: "auto" (or None) is bf16 on CUDA (fp16 where bf16 is unsupported) and fp32 on CPU."""
    torch = _torch()
    dtype = dtype or "auto"
    if dtype != "auto" and dtype not in DTYPES:
        raise ConfigError(f"unknown dtype '{dtype}'", field="dtype", hint=f"use auto, {', '.join(DTYPES)}")
    if dtype == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return getattr(torch, DTYPES[dtype])


def dtype_name(dtype: Any) -> str:
    return {"torch.bfloat16": "bf16", "torch.float16": "fp16", "torch.float32": "fp32"}.get(str(dtype), str(dtype))


# ----------------------------------------------------------------------------- offline check
OFFLINE_HINT = ("give a local model directory (`safetune harness tiny DIR` builds a tiny one; "
                "`safetune harness config --tiny` writes a config that runs offline), or download the model "
                "once while online so that it is in the Hugging Face cache")
PROBE_TIMEOUT_S = 3.0
_hub_reachable: bool | None = None  # probed once per process


def hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """One HEAD request to the Hub endpoint (proxies honoured), given at most `timeout` seconds.

    Any HTTP answer counts as reachable; the result is kept for the rest of the process.
    """
    global _hub_reachable
    if _hub_reachable is None:
        import threading

        from huggingface_hub import constants, get_session

        answer: list[bool] = []

        def probe() -> None:
            try:
                get_session().head(constants.ENDPOINT, timeout=timeout)
                answer.append(True)
            except Exception:  # DNS, refused, TLS, timeout: all mean "not here"
                answer.append(False)

        t = threading.Thread(target=probe, daemon=True)
        t.start()
        t.join(timeout)
        _hub_reachable = bool(answer and answer[0])
    return _hub_reachable


def in_hub_cache(model_id: str) -> bool:
    """The model's config.json is in the local Hugging Face cache."""
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model_id, "config.json"), str)
    except Exception:  # an id that is not a valid repo id, an unreadable cache
        return False


def check_model_source(path_or_id: str | Path, *, field: str = "model.path", hint: str = OFFLINE_HINT) -> None:
    """Fail fast (ConfigError, exit 2) on a model that cannot be loaded here, before any loading.

    A local directory or file passes. A Hub id passes when it is in the Hugging Face cache
    or the Hub answers; with HF_HUB_OFFLINE set, or the Hub unreachable (probed once, at
    most PROBE_TIMEOUT_S seconds), an id that is not cached is refused at once instead of
    after the tens of seconds of retries that loading would spend. A cached id with the Hub
    unreachable switches huggingface_hub to offline mode so it loads from the cache at once.
    """
    text = str(path_or_id)
    if Path(text).expanduser().exists():
        return
    if text.startswith((".", "/", "~")) or text.count("/") > 1 or not text.strip():
        raise ConfigError(f"cannot load model '{text}': the path does not exist", field=field,
                          hint="give an existing local model directory")
    from huggingface_hub import constants

    if hub_offline() and _hub_reachable is not False:  # not a switch of ours after a failed probe
        if in_hub_cache(text):
            return
        raise ConfigError(f"cannot load model '{text}': not a local path, not in the Hugging Face cache, "
                          "and the Hub is off (HF_HUB_OFFLINE is set)", field=field, hint=hint)
    if hub_reachable():
        return
    if in_hub_cache(text):
        constants.HF_HUB_OFFLINE = True  # load from the cache without retrying the Hub
        return
    raise ConfigError(f"cannot load model '{text}': not a local path, not in the Hugging Face cache, "
                      f"and the Hub ({constants.ENDPOINT}) cannot be reached", field=field, hint=hint)


def _not_found(path_or_id: str, exc: Exception) -> ConfigError:
    local = Path(path_or_id).expanduser()
    hint = ("the path does not exist" if path_or_id.startswith((".", "/", "~")) and not local.exists()
            else "give a local model directory, or a Hub id while online (HF_HUB_OFFLINE unset)")
    return ConfigError(f"cannot load model '{path_or_id}': {exc}", field="model.path", hint=hint)


def load_tokenizer(path_or_id: str, trust_remote_code: bool = False, chat_template: str | None = None):
    """The tokenizer, with a pad token guaranteed and an optional chat template override.

    Padding side is set by the caller (right for training, left for generation). When the
    tokenizer has no pad token the eos token is used; labels are never masked by pad id
    (see finetune.encode_conversation), so pad == eos is safe.
    """
    from transformers import AutoTokenizer

    check_model_source(path_or_id)
    try:
        tok = AutoTokenizer.from_pretrained(str(path_or_id), trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise _not_found(str(path_or_id), exc) from exc
    if chat_template:
        tok.chat_template = chat_template
    if not tok.chat_template:
        raise ConfigError(f"model '{path_or_id}' has no chat template", field="model.chat_template",
                          hint="give one in the config (model.chat_template: a Jinja string or a .jinja file)")
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def load_causal_lm(path_or_id: str, device: str = "auto", dtype: str = "auto", trust_remote_code: bool = False):
    """A causal LM on `device` in the resolved dtype, in eval mode."""
    from transformers import AutoModelForCausalLM

    check_model_source(path_or_id)
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(path_or_id), dtype=torch_dtype, trust_remote_code=trust_remote_code
        )
    except (OSError, ValueError) as exc:
        raise _not_found(str(path_or_id), exc) from exc
    return model.to(dev).eval()
