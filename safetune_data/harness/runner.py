"""`safetune harness run`: base row, alignment stages, then each variant, resumably.

Read top to bottom, a run is:

    config = load_config(path)                 # everything checked before any training
    for row in config.rows:                    # base, stages..., variants...
        if finished(row): continue             # completion marker + config hash
        model = load start model               # base, or the last stage's merged model
        fine-tune (stages and variants)        # LoRA; stages merge and save a full model
        generate on every benchmark            # batched, chat template, greedy
        judge every answer with every judge
        metrics; write the row; results.json, table and chart updated

Each row is built in `rows/.<name>.partial/` and moved to `rows/<name>/` only when done
(its answers to `generations/<name>.jsonl` at the same moment), with `done.json` holding
the row's config hash, so a crash loses at most the row in progress and a rerun skips every
finished row whose settings have not changed. A row whose fine-tune finished keeps it: the
`.partial` folder then holds the adapter (and merged model) with `finetuned.json` naming the
row's config hash, and the next run loads it instead of training again (a fine-tune is most
of a row's time; the evaluation after it is what a crash or a cut sitting usually hits).
Anything else in `.partial` (a row that failed before its fine-tune finished, answers of an
unfinished evaluation, a checkpoint for other settings) is removed on the way out or when
the row is started again.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..io.atomic import atomic_write, write_json_atomic
from ..io.writer import describe_contents, refuse_unusable_dir
from .config import HarnessConfig, RowPlan, load_config, stable_hash
from .finetune import finetune, heldout_loss
from .generate import generate, template_default_system
from .hooks import SILENT, Hooks
from .judges import get_judge
from .judges.base import judge_outcomes
from .metrics import benchmark_metrics
from .models import dtype_name, load_causal_lm, load_tokenizer, resolve_device
from .report import write_report

RESULTS_VERSION = 1
# What metrics read of each judge's verdict on an answer.
VERDICT_KEYS = ("refused", "score", "outcome", "outcome_reason", "distinct_2", "repetition_share", "uncertain")


# ----------------------------------------------------------------------------- small helpers
def is_harness_output(out: Path) -> bool:
    """A folder `harness run` wrote (it resumes there): it holds config.resolved.json or a
    results.json with the planned rows."""
    if (out / "config.resolved.json").is_file():
        return True
    try:
        doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and "planned_rows" in doc


def check_output(out: Path) -> None:
    """Results go into (and resume from) `out`: refuse the root, home, current directory and
    its parents, and a non-empty folder that a harness run did not write (exit 2)."""
    if not out.exists():
        return
    refuse_unusable_dir(out, "the results", "--out / output_dir",
                        "name a folder of its own for --out / output_dir, e.g. harness_results/NAME")
    if any(out.iterdir()) and not is_harness_output(out):
        raise ConfigError(f"refusing to write the results into a folder a harness run did not write; it holds "
                          f"{describe_contents(out)}", file=str(out),
                          hint="choose another --out / output_dir, or an empty folder")


def row_hashes(cfg: HarnessConfig) -> dict[str, str]:
    """Per-row hash of everything that shapes its numbers; stages chain into what follows them."""
    s = cfg.settings
    common = {
        "model": asdict(s.model), "chat_template": cfg.chat_template, "seed": s.seed,
        "dtype": s.dtype, "benchmarks": [(b.key, b.spec) for b in cfg.benchmarks],
        "judges": [(j.name, j.options) for j in cfg.judges],
    }
    if cfg.heldout is not None:  # only when used, so that earlier runs keep their hashes
        common["heldout_loss"] = (asdict(s.heldout_loss), cfg.heldout_fingerprint)
    hashes: dict[str, str] = {}
    chain = ""
    for row in cfg.rows:
        h = stable_hash({**common, "kind": row.kind, "start": chain if row.kind != "base" else "",
                         "data": row.data_fingerprint, "finetune": asdict(row.finetune) if row.finetune else None,
                         "generate": asdict(row.generate), "evaluate": row.evaluate})
        hashes[row.name] = h
        if row.kind == "stage":
            chain = h
    return hashes


def _finished(row_dir: Path, config_hash: str) -> dict | None:
    try:
        done = json.loads((row_dir / "done.json").read_text(encoding="utf-8"))
        if done.get("config_hash") != config_hash:
            return None
        return json.loads((row_dir / "row.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return None


FINETUNE_MARKER = "finetuned.json"
# What a finished fine-tune leaves in a row's folder (finetune.py) and a resumed row reuses.
FINETUNE_FILES = ("adapter", "merged", "finetune_config.json", "loss_log.jsonl", "train_stats.json", FINETUNE_MARKER)


def _finetune_done(work: Path, config_hash: str) -> bool:
    try:
        marker = json.loads((work / FINETUNE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("config_hash") == config_hash


def keep_finetune_checkpoint(work: Path, config_hash: str) -> bool:
    """Reduce a row's `.partial` folder to its finished fine-tune for these settings (True), or
    remove it whole (False): a checkpoint is only worth keeping if the rerun would train the same."""
    if not _finetune_done(work, config_hash):
        shutil.rmtree(work, ignore_errors=True)
        return False
    for entry in work.iterdir():
        if entry.name not in FINETUNE_FILES:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    return True


def _system_prompts(tokenizer, given: str | None, chat_template: str | None) -> dict[str, Any]:
    default = template_default_system(tokenizer, chat_template)
    return {"given": given, "template_default": default,
            "effective": given if given is not None else default}


# ----------------------------------------------------------------------------- evaluation
def judge_benchmark(judges: dict[str, Any], items: list[dict], answers: list[str]) -> tuple[list[dict], dict[str, list[dict]]]:
    """Every judge's verdict (with three-way outcome) on one benchmark's answers: per answer
    {judge: verdict}, and per judge the benchmark rows with the verdict fields metrics read.
    Shared by the run and by `rejudge`, so a re-judged run is computed exactly like a fresh one."""
    prompts = [it["prompt"] for it in items]
    verdicts = {name: judge_outcomes(judge, prompts, answers) for name, judge in judges.items()}
    per_answer = [{name: verdicts[name][i] for name in judges} for i in range(len(items))]
    judged = {name: [{**item, **{k: verdicts[name][i].get(k) for k in VERDICT_KEYS}} for i, item in enumerate(items)]
              for name in judges}
    return per_answer, judged


def summarise_judged(judged_by_bench: dict[str, dict[str, list[dict]]]) -> dict[str, Any]:
    """A row's `benchmarks` (metrics per benchmark and judge) and `summary` (pooled over benchmarks)."""
    per_bench: dict[str, Any] = {}
    pooled: dict[str, list[dict]] = {}
    for key, judged in judged_by_bench.items():
        per_bench[key] = {"n": len(next(iter(judged.values()), [])),
                          "judges": {name: benchmark_metrics(rs) for name, rs in judged.items()}}
        for name, rs in judged.items():
            pooled.setdefault(name, []).extend(rs)
    summary = {name: {k: v for k, v in benchmark_metrics(rs).items() if k != "by_category"}
               for name, rs in pooled.items()}
    return {"benchmarks": per_bench, "summary": summary}


def evaluate_model(model, tokenizer, cfg: HarnessConfig, row: RowPlan, judges: dict[str, Any],
                   gen_path: Path, hooks: Hooks = SILENT) -> tuple[dict[str, Any], dict[str, float]]:
    """Generate on every benchmark, judge every answer, compute metrics; write the generations JSONL."""
    timings = {"generate_s": 0.0, "judge_s": 0.0}
    judged_by_bench: dict[str, dict[str, list[dict]]] = {}
    total = sum(len(b.items) for b in cfg.benchmarks)
    with atomic_write(gen_path, overwrite=True) as fh, hooks.task(f"generate {row.name}", total, "prompts") as advance:
        for bench in cfg.benchmarks:
            prompts = [it["prompt"] for it in bench.items]
            t0 = time.time()
            answers = generate(model, tokenizer, prompts, **asdict(row.generate), seed=cfg.settings.seed,
                               chat_template=cfg.chat_template, on_batch=advance)
            timings["generate_s"] += time.time() - t0
            t0 = time.time()
            per_answer, judged_by_bench[bench.key] = judge_benchmark(judges, bench.items, answers)
            timings["judge_s"] += time.time() - t0
            for item, answer, per_judge in zip(bench.items, answers, per_answer):
                fh.write(json.dumps({"row": row.name, "benchmark": bench.key, **item, "response": answer,
                                     "judgements": per_judge}, ensure_ascii=False) + "\n")
    return summarise_judged(judged_by_bench), timings


# ----------------------------------------------------------------------------- one row
def load_finetuned(model, work: Path, merged: bool, s) -> Any:
    """The model a finished fine-tune in `work` produced: its merged weights, or the base with its adapter."""
    if merged:
        return load_causal_lm(str(work / "merged"), device=resolve_device(s.device), dtype=s.dtype,
                              trust_remote_code=s.model.trust_remote_code)
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(work / "adapter")).eval()


def run_row(cfg: HarnessConfig, row: RowPlan, start_model: str, work: Path, judges: dict[str, Any],
            gen_path: Path, hooks: Hooks = SILENT, config_hash: str | None = None) -> dict[str, Any]:
    """Fine-tune (unless base, or reuse the finished fine-tune in `work` for `config_hash`),
    evaluate, and return the row's result dict."""
    s = cfg.settings
    t_row = time.time()
    device = resolve_device(s.device)
    trust = s.model.trust_remote_code
    tokenizer = load_tokenizer(start_model, trust_remote_code=trust, chat_template=cfg.chat_template)
    t0 = time.time()
    model = load_causal_lm(start_model, device=device, dtype=s.dtype, trust_remote_code=trust)
    timings: dict[str, float] = {"load_s": time.time() - t0}
    ft_stats = None
    if row.kind != "base":
        tokenizer.padding_side = "right"
        if config_hash is not None and _finetune_done(work, config_hash):
            ft_stats = json.loads((work / "train_stats.json").read_text(encoding="utf-8"))
            model = load_finetuned(model, work, bool(ft_stats.get("merged")), s)
        else:
            seed = row.finetune.seed if row.finetune.seed is not None else s.seed
            result = finetune(model, tokenizer, row.data, row.finetune, work, device=device, seed=seed,
                              chat_template=cfg.chat_template, label=row.name, hooks=hooks)
            model, ft_stats = result.model, result.stats
            if config_hash is not None:
                write_json_atomic(work / FINETUNE_MARKER, {"config_hash": config_hash}, overwrite=True)
        timings["finetune_s"] = ft_stats["finetune_s"]
    evaluation: dict[str, Any] = {"benchmarks": {}, "summary": {}}
    if row.evaluate:
        evaluation, t = evaluate_model(model, tokenizer, cfg, row, judges, gen_path, hooks)
        timings.update(t)
    heldout = None
    if row.evaluate and cfg.heldout is not None:
        t0 = time.time()
        heldout = heldout_loss(model, tokenizer, cfg.heldout, max_length=s.heldout_loss.max_length,
                               batch_size=s.heldout_loss.batch_size, chat_template=cfg.chat_template, seed=s.seed)
        timings["heldout_s"] = time.time() - t0
    timings["total_s"] = time.time() - t_row
    return {
        "name": row.name,
        "kind": row.kind,
        "start_model": start_model,
        "data": str(row.data) if row.data else None,
        "factors": row.factors,
        "evaluated": row.evaluate,
        "device": device,
        "weights_dtype": dtype_name(next(model.parameters()).dtype),
        "system_prompt": _system_prompts(tokenizer, row.generate.system_prompt, cfg.chat_template),
        "generate": asdict(row.generate),
        "finetune": ft_stats,
        **evaluation,
        "heldout_loss": heldout,
        "timings": {k: round(v, 2) for k, v in timings.items()},
    }


# ----------------------------------------------------------------------------- the run
def results_doc(cfg: HarnessConfig, rows: list[dict], hashes: dict[str, str]) -> dict[str, Any]:
    stage_rows = [r.name for r in cfg.rows if r.kind == "stage"]
    reference = stage_rows[-1] if stage_rows else ("base" if cfg.settings.evaluate_base else None)
    return {
        "version": RESULTS_VERSION,
        "config_file": str(cfg.path),
        "output_dir": str(cfg.out_dir),
        "config": cfg.raw,
        "reference": reference,
        "primary_judge": cfg.primary_judge,
        "benchmarks": [{"key": b.key, "spec": b.spec, "n": len(b.items)} for b in cfg.benchmarks],
        "judges": [{"name": j.name, "options": j.options} for j in cfg.judges],
        "planned_rows": [r.name for r in cfg.rows],
        "rows": rows,
        "config_hashes": hashes,
        "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def run(config: str | Path | HarnessConfig, out_dir: str | Path | None = None, *, resume: bool = True,
        overrides: dict[str, Any] | None = None, hooks: Hooks = SILENT) -> dict[str, Any]:
    """Run (or resume) the harness described by a config file; returns the results document.
    Progress (a line per row, bars for fine-tuning and generation) goes to `hooks`."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own bars cover loading, training and generation
    cfg = config if isinstance(config, HarnessConfig) else load_config(config, overrides=overrides, out_dir=out_dir,
                                                                       prepare=True, hooks=hooks)
    out = cfg.out_dir
    check_output(out)
    (out / "rows").mkdir(parents=True, exist_ok=True)
    (out / "generations").mkdir(exist_ok=True)
    write_json_atomic(out / "config.resolved.json", cfg.raw, overwrite=True)
    hashes = row_hashes(cfg)
    judges = {j.name: get_judge(j.name, **j.options) for j in cfg.judges}

    start_model = cfg.settings.model.path
    rows: list[dict] = []
    for row in cfg.rows:
        row_dir = out / "rows" / row.name
        done = _finished(row_dir, hashes[row.name]) if resume else None
        if done is not None:
            hooks.message(f"[dim]skip[/] {row.name}: finished earlier with the same settings")
        else:
            hooks.message(f"[bold]{row.kind}[/] {row.name}")
            work = out / "rows" / f".{row.name}.partial"
            if not resume:
                shutil.rmtree(work, ignore_errors=True)
            if keep_finetune_checkpoint(work, hashes[row.name]):  # left by a killed or cut run
                hooks.message(f"  resuming from the finished fine-tune in {work}")
            work.mkdir(parents=True, exist_ok=True)
            try:
                done = run_row(cfg, row, start_model, work, judges, work / "generations.jsonl", hooks,
                               config_hash=hashes[row.name])
                done["config_hash"] = hashes[row.name]
                write_json_atomic(work / "row.json", done, overwrite=True)
                write_json_atomic(work / "done.json", {"config_hash": hashes[row.name],
                                                       "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")},
                                  overwrite=True)
                gen = work / "generations.jsonl"
                (work / FINETUNE_MARKER).unlink(missing_ok=True)  # a finished row is resumed by done.json
                shutil.rmtree(row_dir, ignore_errors=True)
                if gen.is_file():  # the row's answers appear with the row, never from a failed attempt
                    os.replace(gen, out / "generations" / f"{row.name}.jsonl")
                else:
                    (out / "generations" / f"{row.name}.jsonl").unlink(missing_ok=True)
                os.replace(work, row_dir)
            finally:  # an error or Ctrl-C: the row leaves at most its finished fine-tune; rerun to resume
                if work.exists() and keep_finetune_checkpoint(work, hashes[row.name]):
                    hooks.message(f"  {row.name} stopped after its fine-tune; kept it in {work} for the next run")
            t = done["timings"]
            hooks.message("  " + ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in t.items()))
        if row.kind == "stage":
            start_model = str(row_dir / "merged")
        if row.evaluate:
            rows.append(done)
        doc = results_doc(cfg, rows, hashes)
        write_json_atomic(out / "results.json", doc, overwrite=True)
    write_report(out)
    return doc
