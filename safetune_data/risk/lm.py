"""The aligned model as the risk scorers see it: one load, encodings shared by every scorer.

Conversations are encoded exactly as the harness trains on them (`finetune.encode_conversation`:
the model's chat template, assistant tokens labelled, the rest masked), so a loss or a
gradient here is the loss or gradient the fine-tune would take on that row.

torch is imported inside functions: `safetune_data.risk` imports without the harness extra,
and the CLI starts fast.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ..errors import InputError
from ..harness.finetune import IGNORE_INDEX, answer_loss_sums, encode_conversation, pad_collator
from ..harness.generate import generate, length_sorted_batches
from ..harness.models import load_causal_lm, load_tokenizer, resolve_device

OnBatch = Callable[[int], None]
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")


def model_fingerprint(path: str | Path) -> str:
    """A short hash that changes when the weights change, without reading gigabytes.

    Config, tokenizer files and, for each weights file, its name, size and the first and last
    MiB. A Hub id (no local directory) is fingerprinted by its name only.
    """
    root = Path(path).expanduser()
    h = hashlib.sha256()
    if not root.is_dir():
        h.update(str(path).encode())
        return h.hexdigest()[:16]
    for f in sorted(p for p in root.iterdir() if p.is_file()):
        h.update(f.name.encode())
        size = f.stat().st_size
        h.update(str(size).encode())
        if f.suffix in _WEIGHT_SUFFIXES:
            with open(f, "rb") as fh:
                h.update(fh.read(1 << 20))
                if size > 2 << 20:
                    fh.seek(-(1 << 20), 2)
                    h.update(fh.read())
        elif size < 8 << 20:
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def row_hash(messages: Sequence[dict]) -> str:
    """Content hash of a conversation (roles and text only): the cache key of a row."""
    slim = [{"role": m["role"], "content": m["content"]} for m in messages]
    return hashlib.sha256(json.dumps(slim, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:24]


def prompt_turns(messages: Sequence[dict], *, keep_system: bool = True) -> list[dict]:
    """The conversation up to (not including) its last assistant turn."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last is None:
        return [dict(m) for m in messages]
    return [{"role": m["role"], "content": m["content"]} for m in messages[:last]
            if keep_system or m["role"] != "system"]


def last_answer(messages: Sequence[dict]) -> str:
    return next((m["content"] for m in reversed(messages) if m["role"] == "assistant"), "")


class RiskLM:
    """A causal LM and its tokenizer, with the three passes the scorers need."""

    def __init__(self, path: str | Path, *, device: str = "auto", dtype: str = "auto", max_length: int = 512,
                 trust_remote_code: bool = False, chat_template: str | None = None) -> None:
        self.path = str(path)
        self.device = resolve_device(device)
        self.tokenizer = load_tokenizer(self.path, trust_remote_code, chat_template)
        self.tokenizer.padding_side = "right"
        self.model = load_causal_lm(self.path, self.device, dtype, trust_remote_code)
        self.chat_template = chat_template
        self.max_length = max_length
        self.fingerprint = model_fingerprint(self.path)

    # --- encoding ---------------------------------------------------------------------
    def encode(self, messages: Sequence[dict], *, source: str = "", row: int | None = None) -> dict[str, Any]:
        enc = encode_conversation(list(messages), self.tokenizer, self.max_length, self.chat_template)
        if not any(label != IGNORE_INDEX for label in enc["labels"]):
            raise InputError("no assistant tokens left to score (no assistant turn, or all of it beyond "
                             f"max_length={self.max_length})", file=source or None, row=row, field="messages",
                             hint="raise --max-length")
        return enc

    def _batches(self, encoded: list[dict], batch_size: int) -> Iterator[tuple[list[int], dict[str, Any]]]:
        collate = pad_collator(self.tokenizer.pad_token_id)
        for idx in length_sorted_batches([len(e["input_ids"]) for e in encoded], batch_size):
            rows = [{k: encoded[i][k] for k in ("input_ids", "attention_mask", "labels")} for i in idx]
            yield idx, {k: v.to(self.device) for k, v in collate(rows).items()}

    # --- passes -----------------------------------------------------------------------
    def hidden_states(self, encoded: list[dict], *, pool: str = "last", batch_size: int = 8,
                      on_batch: OnBatch | None = None) -> list[list[float]]:
        """Final-layer hidden state per conversation, unit-normalised: at the last token (He et
        al.'s choice) or the mean over the assistant tokens (`pool="mean"`)."""
        import torch

        out: list[list[float] | None] = [None] * len(encoded)
        with torch.inference_mode():
            for idx, batch in self._batches(encoded, batch_size):
                hs = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                output_hidden_states=True).hidden_states[-1].float()
                if pool == "mean":
                    mask = (batch["labels"] != IGNORE_INDEX).unsqueeze(-1).float()
                    vec = (hs * mask).sum(1) / mask.sum(1).clamp(min=1)
                else:
                    last = batch["attention_mask"].sum(1) - 1
                    vec = hs[torch.arange(hs.shape[0], device=hs.device), last]
                vec = torch.nn.functional.normalize(vec, dim=-1)
                for i, v in zip(idx, vec.tolist()):
                    out[i] = v
                if on_batch:
                    on_batch(len(idx))
        return out  # type: ignore[return-value]

    def answer_losses(self, encoded: list[dict], *, batch_size: int = 8,
                      on_batch: OnBatch | None = None) -> list[tuple[float, int]]:
        """(summed loss, assistant tokens) per conversation, as the fine-tune would count them."""
        import torch

        out: list[tuple[float, int] | None] = [None] * len(encoded)
        with torch.inference_mode():
            for idx, batch in self._batches(encoded, batch_size):
                sums, counts = answer_loss_sums(self.model, batch)
                for i, s, n in zip(idx, sums.tolist(), counts.tolist()):
                    out[i] = (float(s), int(n))
                if on_batch:
                    on_batch(len(idx))
        return out  # type: ignore[return-value]

    def generate(self, prompts: list[list[dict]], *, max_new_tokens: int, batch_size: int = 8,
                 on_batch: OnBatch | None = None) -> list[str]:
        """Greedy answers of the model itself (the style and probe scorers' reference)."""
        return generate(self.model, self.tokenizer, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size,
                        chat_template=self.chat_template, on_batch=on_batch)

    # --- LoRA ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def lora(self, *, r: int, alpha: int, target_modules: Sequence[str] | str, seed: int) -> Iterator[Any]:
        """A fresh, seeded LoRA adapter on the model for the duration of the block; the base
        weights are untouched and the adapter is removed afterwards."""
        import torch
        from peft import LoraConfig, get_peft_model

        torch.manual_seed(seed)
        targets = target_modules if isinstance(target_modules, str) else list(target_modules)
        with warnings.catch_warnings():  # peft asks transformers a deprecated question; not ours to answer
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            peft_model = get_peft_model(self.model, LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0,
                                                               target_modules=targets, task_type="CAUSAL_LM"))
        try:
            yield peft_model
        finally:
            self.model = peft_model.unload()
            self.model.eval()

    def batch_loss(self, peft_model: Any, encoded: list[dict[str, Any]]) -> Any:
        """The training loss (mean over the batch's answer tokens) of `encoded`, with its graph."""
        batch = pad_collator(self.tokenizer.pad_token_id)(
            [{k: enc[k] for k in ("input_ids", "attention_mask", "labels")} for enc in encoded])
        return peft_model(**{k: v.to(self.device) for k, v in batch.items()}).loss

    def lora_gradient(self, peft_model: Any, enc: dict[str, Any]) -> tuple[Any, float]:
        """(flattened gradient of the LoRA parameters, mean answer-token loss) for one row."""
        import torch

        params = [p for p in peft_model.parameters() if p.requires_grad]
        peft_model.zero_grad(set_to_none=True)
        loss = self.batch_loss(peft_model, [enc])
        loss.backward()
        grad = torch.cat([p.grad.reshape(-1).float() if p.grad is not None else torch.zeros(p.numel(), device=p.device)
                          for p in params])
        peft_model.zero_grad(set_to_none=True)
        return grad.detach(), float(loss.detach())
