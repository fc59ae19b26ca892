"""LoRA supervised fine-tuning on a variant's records, read top to bottom like a recipe.

Plain `transformers.Trainer` with our own assistant-only label masking and a padding
collator (TRL's SFTTrainer would do the masking too, but it is one more heavy dependency
and its masking options change between releases; ours is 40 lines and tested token by
token). Steps:

1. load the variant (`datasets.load_from_disk`), hold out a seeded validation fraction;
2. render each conversation with the tokenizer's chat template and label only the
   assistant turns, *including* the end-of-turn token that closes each of them;
3. wrap the model with a peft LoRA adapter and train;
4. save the adapter, the resolved config, the loss log (JSONL) and the statistics;
   with `merge: true` also merge the adapter and save a full model.
"""
from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError
from ..stats import bootstrap_mean
from .generate import template_default_system
from .hooks import SILENT, Hooks
from .models import dtype_name
from .settings import FinetuneSettings

IGNORE_INDEX = -100


# ----------------------------------------------------------------------------- encoding
def assistant_spans(messages: list[dict], tokenizer, chat_template: str | None = None) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans written by the assistant.

    Each assistant turn's span runs from the end of the rendered prompt before it (with
    the generation prompt) to the end of the rendered conversation up to and including it,
    so it holds the answer and the template's end-of-turn token. Templates whose earlier
    turns render differently once later turns exist cannot be masked this way and raise.
    """
    kw: dict[str, Any] = {"tokenize": False}
    if chat_template:
        kw["chat_template"] = chat_template
    full = tokenizer.apply_chat_template(messages, **kw)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = tokenizer.apply_chat_template(messages[:i], add_generation_prompt=True, **kw)
        upto = tokenizer.apply_chat_template(messages[: i + 1], **kw)
        if not full.startswith(upto) or not upto.startswith(before):
            raise ConfigError(
                "the chat template renders earlier turns differently once later turns exist; "
                "assistant tokens cannot be located",
                field="model.chat_template",
                hint="give a template without such rewriting in model.chat_template",
            )
        spans.append((len(before), len(upto)))
    return full, spans


def encode_conversation(
    messages: list[dict], tokenizer, max_length: int, chat_template: str | None = None
) -> dict[str, Any]:
    """Token ids and labels: assistant tokens keep their id, every other token is -100.

    Labels are decided from character offsets, never by comparing ids with the pad id:
    with SmolLM2 (and the tiny model) pad == `<|im_end|>`, and masking by pad id would drop
    the token that teaches the model to stop. Over-long conversations are cut at
    `max_length` and flagged `truncated`.
    """
    text, spans = assistant_spans(messages, tokenizer, chat_template)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    labels = [tid if any(a <= start < b for a, b in spans) else IGNORE_INDEX
              for tid, (start, _end) in zip(ids, enc["offset_mapping"])]
    truncated = len(ids) > max_length
    ids, labels = ids[:max_length], labels[:max_length]
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels, "truncated": truncated}


def encode_dataset(ds, tokenizer, max_length: int, chat_template: str | None = None) -> tuple[list[dict], dict[str, int]]:
    """Encode every record; rows left with no assistant token after truncation are dropped and counted."""
    rows, stats = [], {"rows": 0, "truncated": 0, "dropped_no_assistant_tokens": 0, "tokens": 0, "label_tokens": 0}
    for rec in ds:
        stats["rows"] += 1
        enc = encode_conversation(rec["messages"], tokenizer, max_length, chat_template)
        stats["truncated"] += enc.pop("truncated")
        n_label = sum(1 for x in enc["labels"] if x != IGNORE_INDEX)
        if n_label == 0:
            stats["dropped_no_assistant_tokens"] += 1
            continue
        stats["tokens"] += len(enc["input_ids"])
        stats["label_tokens"] += n_label
        rows.append(enc)
    return rows, stats


def pad_collator(pad_token_id: int):
    """Right-pad a batch: ids with the pad id, labels with -100, attention mask with 0."""
    import torch

    def collate(batch: list[dict]) -> dict:
        width = max(len(b["input_ids"]) for b in batch)
        out = {"input_ids": [], "attention_mask": [], "labels": []}
        for b in batch:
            pad = width - len(b["input_ids"])
            out["input_ids"].append(b["input_ids"] + [pad_token_id] * pad)
            out["attention_mask"].append(b["attention_mask"] + [0] * pad)
            out["labels"].append(b["labels"] + [IGNORE_INDEX] * pad)
        return {k: torch.tensor(v, dtype=torch.long) for k, v in out.items()}

    return collate


# ----------------------------------------------------------------------------- data
def load_saved(data_dir: str | Path):
    """A dataset saved with `save_to_disk` (a variant, the held-out records)."""
    import datasets

    try:
        return datasets.load_from_disk(str(data_dir))
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(f"not a saved dataset: {exc}", file=str(data_dir)) from exc


def load_variant(variant_dir: str | Path, val_fraction: float, seed: int, limit: int | None = None):
    """(train, validation) splits of a variant saved with `save_to_disk`; the split is seeded."""
    ds = load_saved(variant_dir)
    missing = {"id", "messages"} - set(ds.column_names)
    if missing:
        raise InputError(f"records lack column(s) {sorted(missing)}", file=str(variant_dir))
    if limit is not None and limit < len(ds):
        ds = ds.shuffle(seed=seed).select(range(limit))
    n_val = int(round(len(ds) * val_fraction)) if val_fraction > 0 and len(ds) >= 2 else 0
    if n_val == 0:
        return ds, None
    split = ds.train_test_split(test_size=max(1, n_val), seed=seed, shuffle=True)
    return split["train"], split["test"]


def training_system_prompts(ds, template_default: str | None, top: int = 3) -> dict[str, Any]:
    """Which system prompt the training rows were rendered with: their own, else the template's default.

    A chat template like SmolLM2's inserts "You are a helpful AI assistant named SmolLM ..." into
    every conversation without a system turn, so a role-play variant's persona *replaces* that
    default rather than adding to it. Counting both per trained row makes it checkable that
    variants differ in the system prompt only where the variant changes it.
    """
    counts: Counter[str] = Counter()
    own = 0
    for msgs in ds["messages"]:
        if msgs and msgs[0]["role"] == "system":
            own += 1
            counts[msgs[0]["content"]] += 1
    rest = len(ds) - own
    return {
        "rows": len(ds),
        "own": own,
        "template_default": rest if template_default is not None else 0,
        "none": 0 if template_default is not None else rest,
        "default_text": template_default,
        "distinct_own": len(counts),
        "most_common_own": [{"text": t, "rows": c} for t, c in counts.most_common(top)],
    }


def row_training_system_prompts(row_dir: str | Path, template_default: str | None) -> dict[str, Any]:
    """`training_system_prompts` of a finished row, from its saved settings (for rows trained
    before the census was recorded): the same seeded selection and split the fine-tune made."""
    row_dir = Path(row_dir)
    cfg = json.loads((row_dir / "finetune_config.json").read_text(encoding="utf-8"))
    st = json.loads((row_dir / "train_stats.json").read_text(encoding="utf-8"))
    train, _ = load_variant(st["variant_dir"], cfg["val_fraction"], st["seed"], cfg.get("limit"))
    return training_system_prompts(train, template_default)


# ----------------------------------------------------------------------------- training
@dataclass
class FinetuneResult:
    model: Any  # the peft model (or the merged model with merge: true), in eval mode
    stats: dict[str, Any] = field(default_factory=dict)


def training_precision(precision: str, device: str) -> str:
    """What the Trainer will use: on CUDA "auto" is bf16 (fp16 without bf16 support); on CPU fp32 unless asked."""
    import torch

    if device.startswith("cuda"):
        if precision == "auto":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return precision
    if precision in ("auto", "fp32"):
        return "fp32"
    if precision == "bf16":
        capability = torch.backends.cpu.get_cpu_capability()
        if not capability.upper().startswith("AVX512"):
            # Measured on an AVX2-only CPU (AMD EPYC, torch 2.13): a 1024x576 @ 576x1536 matmul takes
            # 16 ms in fp32 and 1.5 s in bf16 (benchmarks/bench_cpu_bf16.py), so a fine-tune runs 50-100x slower.
            logging.getLogger("safetune_data").warning(
                "finetune.precision bf16 on a CPU with %s only: bf16 matrix products fall back to a slow "
                "reference kernel here (measured 50-100x slower than fp32: benchmarks/bench_cpu_bf16.py); set finetune.precision: fp32 "
                "(or auto) unless results must match a bf16 run", capability)
        return "bf16-autocast"
    raise ConfigError(f"precision '{precision}' is not available on CPU", field="finetune.precision",
                      hint="use auto, fp32 or bf16 (autocast) on CPU")


def _callbacks(loss_log: Path, total_steps: int, label: str, hooks: Hooks):
    from transformers import TrainerCallback

    class LossLog(TrainerCallback):
        """Append every logged loss to a JSONL file and count steps on the `hooks` task."""

        def __init__(self) -> None:
            self.bar = ExitStack()
            self.advance = None
            self.steps = 0
            self.fh = None

        def on_train_begin(self, args, state, control, **kw):
            self.fh = loss_log.open("a", encoding="utf-8")
            self.advance = self.bar.enter_context(
                hooks.task(f"fine-tune {label}", state.max_steps or total_steps, "steps"))

        def on_step_end(self, args, state, control, **kw):
            self.advance(state.global_step - self.steps)
            self.steps = state.global_step

        def on_log(self, args, state, control, logs=None, **kw):
            if self.fh is not None and logs:
                row = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4)}
                row.update({k: (round(v, 6) if isinstance(v, float) else v) for k, v in logs.items()})
                self.fh.write(json.dumps(row) + "\n")
                self.fh.flush()

        def on_train_end(self, args, state, control, **kw):
            self.bar.close()
            if self.fh is not None:
                self.fh.close()
                self.fh = None

    return [LossLog()]


def finetune(
    model,
    tokenizer,
    variant_dir: str | Path,
    cfg: FinetuneSettings,
    out_dir: str | Path,
    *,
    device: str = "cpu",
    seed: int = 0,
    chat_template: str | None = None,
    label: str = "",
    hooks: Hooks = SILENT,
) -> FinetuneResult:
    """LoRA-tune `model` on the records in `variant_dir` with the `finetune:` settings `cfg`.

    Writes into `out_dir`: adapter/ (peft), finetune_config.json, loss_log.jsonl,
    train_stats.json, and merged/ (full model + tokenizer) when `cfg.merge`.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import PrinterCallback, Trainer, TrainingArguments, set_seed

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    set_seed(seed)

    # 1. data: seeded validation split, chat-template rendering, assistant-only labels
    train_ds, val_ds = load_variant(variant_dir, cfg.val_fraction, seed, cfg.limit)
    train_rows, enc_stats = encode_dataset(train_ds, tokenizer, cfg.max_length, chat_template)
    val_rows, val_stats = encode_dataset(val_ds, tokenizer, cfg.max_length, chat_template) if val_ds else ([], None)
    if not train_rows:
        raise InputError("no trainable rows (every row lost its assistant tokens to truncation)",
                         file=str(variant_dir), hint="raise finetune.max_length")

    # 2. LoRA adapter
    lora = cfg.lora
    peft_model = get_peft_model(model, LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                                  target_modules=lora.target_modules, task_type="CAUSAL_LM"))
    trainable, total = peft_model.get_nb_trainable_parameters()

    # 3. Trainer: no checkpoints, no reporting integrations, our loss log
    precision = training_precision(cfg.precision, device)
    steps_per_epoch = math.ceil(len(train_rows) / (cfg.batch_size * cfg.grad_accum))
    max_steps = cfg.max_steps or -1
    planned = max_steps if max_steps > 0 else steps_per_epoch * cfg.epochs
    args = TrainingArguments(
        output_dir=str(out / "trainer"),
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.epochs,
        max_steps=max_steps,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # a float below 1 is a ratio of all steps
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        seed=seed,
        data_seed=seed,
        bf16=precision in ("bf16", "bf16-autocast"),
        fp16=precision == "fp16",
        use_cpu=not device.startswith("cuda"),
        activation_checkpointing=cfg.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if cfg.gradient_checkpointing else None,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    loss_log = out / "loss_log.jsonl"
    loss_log.unlink(missing_ok=True)
    trainer = Trainer(
        model=peft_model,
        args=args,
        train_dataset=train_rows,
        eval_dataset=val_rows or None,
        data_collator=pad_collator(tokenizer.pad_token_id),
        callbacks=_callbacks(loss_log, planned, label, hooks),
    )
    trainer.remove_callback(PrinterCallback)  # our loss log and progress bar replace its prints
    val_before = trainer.evaluate()["eval_loss"] if val_rows else None
    t_train = time.time()
    train_out = trainer.train()
    train_s = time.time() - t_train
    val_after = trainer.evaluate()["eval_loss"] if val_rows else None

    tokens_seen = enc_stats["tokens"] * train_out.global_step / steps_per_epoch
    shutil.rmtree(out / "trainer", ignore_errors=True)  # save_strategy "no": nothing of value there

    # 4. save: adapter, resolved settings, statistics; optionally the merged full model
    peft_model.eval()
    peft_model.save_pretrained(out / "adapter")
    (out / "finetune_config.json").write_text(json.dumps(asdict(cfg), indent=2, sort_keys=True) + "\n")
    stats = {
        "variant_dir": str(variant_dir),
        "train_rows": len(train_rows),
        "val_rows": len(val_rows),
        "encoding": enc_stats,
        "val_encoding": val_stats,
        "steps": train_out.global_step,
        "epochs": cfg.epochs if max_steps <= 0 else None,
        "train_loss": round(train_out.training_loss, 6),
        "val_loss_before": None if val_before is None else round(val_before, 6),
        "val_loss_after": None if val_after is None else round(val_after, 6),
        "precision": precision,
        "seed": seed,
        "weights_dtype": dtype_name(next(model.parameters()).dtype),
        "device": device,
        "trainable_params": trainable,
        "total_params": total,
        "train_s": round(train_s, 2),
        "tokens_per_s": round(tokens_seen / max(train_s, 1e-9), 1),
        "finetune_s": None,
        "merged": cfg.merge,
        "system_prompts": training_system_prompts(train_ds, template_default_system(tokenizer, chat_template)),
    }
    result_model = peft_model
    if cfg.merge:
        result_model = peft_model.merge_and_unload()
        result_model.save_pretrained(out / "merged")
        tokenizer.save_pretrained(out / "merged")
    stats["finetune_s"] = round(time.time() - t0, 2)
    (out / "train_stats.json").write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return FinetuneResult(model=result_model.eval(), stats=stats)


# ----------------------------------------------------------------------------- held-out loss
def answer_loss_sums(model, batch: dict[str, Any]) -> tuple[Any, Any]:
    """Per conversation of a padded batch: the summed loss over its labelled (assistant)
    tokens and how many there are, exactly as training counts them (no grad kept)."""
    import torch

    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
    labels = batch["labels"][:, 1:]
    losses = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), labels,
                                               ignore_index=IGNORE_INDEX, reduction="none")
    mask = labels != IGNORE_INDEX
    return (losses * mask).sum(1), mask.sum(1)


def heldout_loss(model, tokenizer, data_dir: str | Path, *, max_length: int, batch_size: int = 8,
                 chat_template: str | None = None, seed: int = 0) -> dict[str, Any]:
    """Mean assistant-token loss on records no row trained on, with a bootstrap 95% interval.

    The validation split of `val_fraction` is cut from each variant, so its rows differ per
    variant and the base row has none; a fixed held-out set gives every row, the untouched
    model included, a loss on the same text. Each conversation's loss is the mean over its
    assistant tokens (labelled exactly as in training); the reported loss is the mean over
    conversations, so that long answers do not dominate, and `token_loss` the token-weighted one.
    """
    import torch

    rows, enc_stats = encode_dataset(load_saved(data_dir), tokenizer, max_length, chat_template)
    collate = pad_collator(tokenizer.pad_token_id)
    device = next(model.parameters()).device
    per_row: list[float] = []
    total_loss, total_tokens = 0.0, 0
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(rows), batch_size):
            batch = {k: v.to(device) for k, v in collate(rows[i: i + batch_size]).items()}
            sums, counts = answer_loss_sums(model, batch)
            per_row += (sums / counts.clamp(min=1)).tolist()
            total_loss += float(sums.sum())
            total_tokens += int(counts.sum())
    if was_training:
        model.train()
    boot = bootstrap_mean(per_row, seed=seed)
    return {
        "data": str(data_dir),
        "loss": None if boot["mean"] is None else round(boot["mean"], 6),
        "ci_low": None if boot["ci_low"] is None else round(boot["ci_low"], 6),
        "ci_high": None if boot["ci_high"] is None else round(boot["ci_high"], 6),
        "n": boot["n"],
        "token_loss": round(total_loss / total_tokens, 6) if total_tokens else None,
        "tokens": total_tokens,
        "encoding": enc_stats,
    }
