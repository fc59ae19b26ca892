"""The mini study, end to end: align SmolLM2-135M-Instruct, erode it with the factorial variants, measure.

    python examples/mini_study/run.py --quick                 # base, aligned, 2 variants, 40 prompts each
    python examples/mini_study/run.py                         # all 8 variants x 2 training seeds (16 fine-tunes)
    python examples/mini_study/run.py --variants 'plain_*' --seeds 0 --workdir ~/ms
    python examples/mini_study/run.py --smoke --model TINY_DIR   # CI: the same path on a tiny model

Four stages, each resumable (rerun the same command after an interruption):

1. prepare   the model (prepare_model.py) and WORKDIR/inputs/ (links to the data files, the
             example's refusal templates and look-alikes, AdvBench's training half as prompts);
2. recipes   `safetune run` on recipes/{pool,study,refusals,align,heldout}.yaml from WORKDIR
             (skipped when the recipe and its inputs are unchanged);
3. harness   `safetune harness run` on harness.yaml adjusted for the mode (base row, the
             alignment stage merged into the base of every variant, the variants);
4. summary   summary.json, summary.md and summary.png from the harness's results.json, into
             --results (default examples/mini_study/results/<mode>/ for quick and full runs).

Everything here goes through the product: recipes, transforms, harness, judges, metrics.
"""
from __future__ import annotations

import argparse
import fnmatch
import gzip
import hashlib
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import yaml  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RECIPES = ("pool", "study", "refusals", "align", "heldout", "heldout_smoke")  # in dependency order
# The two variants the published findings set furthest apart: itemised answers with identity
# statements (predicted to keep safety) and plain prose under a persona (predicted to erode it).
EXTREMES = ("markdown_inject_none", "plain_none_add")
# Smoke runs take the held-out loss on 40 of the 100 held-out rows, to stay well under a minute.
# (--quick keeps all 100, the setting its committed numbers were measured with.)
SMOKE_HELDOUT = "out/heldout_smoke/heldout_smoke"
SHARED_FILES = {  # name in WORKDIR/inputs -> path under the data directory (the repository's data/)
    "alpaca_en_demo.json": "benign/alpaca_en_demo.json",
    "advbench_harmful_behaviors.csv": "harmful/advbench_harmful_behaviors.csv",
    "xstest_prompts.csv": "overrefusal/xstest_prompts.csv",
}
EXAMPLE_FILES = ("refusal_templates.yaml", "lookalikes.jsonl")
PLACEHOLDER = "[answer.template]"  # completion of the harmful prompts until answer.template writes it


def log(msg: str) -> None:
    from safetune_data.cli.console import console

    console.print(msg)


# ----------------------------------------------------------------------------- 1. prepare
def default_data_dir() -> Path:
    env = os.environ.get("SAFETUNE_SHARED_DATA")
    return Path(env) if env else (REPO / "data")


def prepare_inputs(work: Path, data_dir: Path) -> None:
    """WORKDIR/inputs: links to the data files, copies of the example files, AdvBench's training half."""
    from safetune_data.harness.benchmarks import load_benchmark

    inputs = work / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    for name, rel in SHARED_FILES.items():
        src, dst = (data_dir / rel).resolve(), inputs / name
        if not src.is_file():
            raise SystemExit(f"data file not found: {src} (set SAFETUNE_SHARED_DATA or --data)")
        if dst.is_symlink() or dst.exists():
            dst.unlink()
        dst.symlink_to(src)
    for name in EXAMPLE_FILES:
        shutil.copyfile(HERE / name, inputs / name)
    # The even lines of AdvBench, exactly as the harness's `half: train` reads them; the
    # recipe pairs each with a refusal. Its `half: eval` twin (odd lines) is the test.
    rows = load_benchmark({"name": "advbench", "path": str(inputs / "advbench_harmful_behaviors.csv"), "half": "train"})
    text = "".join(json.dumps({"prompt": r["prompt"], "completion": PLACEHOLDER}) + "\n" for r in rows)
    target = inputs / "advbench_train.jsonl"
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


def prepare_model(work: Path, model: str | None) -> Path:
    if model:
        return Path(model).expanduser().resolve()
    sys.path.insert(0, str(HERE))
    from prepare_model import prepare  # the script next to this one

    return prepare(work / "model")


# ----------------------------------------------------------------------------- 2. recipes
def _recipe_stamp(recipe_file: Path, work: Path, upstream: str) -> str:
    """What a recipe's output depends on: its text, the bytes of every file under inputs/, and
    the stamps of the recipes before it. Never the outputs themselves: their manifests carry
    times, and an output rebuilt needlessly gets a new fingerprint, which makes the harness
    redo every row trained on it."""
    h = hashlib.sha256(recipe_file.read_bytes() + upstream.encode())
    for p in sorted((work / "inputs").iterdir()):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:16]


def run_recipes(work: Path, names: tuple[str, ...] = (), upstream: str = "") -> dict[str, Any]:
    """`safetune run` each recipe (default: the study's, RECIPES) from WORKDIR; unchanged ones
    are skipped. `upstream` is mixed into the stamps: what the recipes read besides inputs/
    (e.g. a risk output)."""
    from safetune_data.cli.console import progress
    from safetune_data.recipe import load_recipe
    from safetune_data.run import run_recipe

    cwd = Path.cwd()
    os.chdir(work)  # recipe paths (inputs/..., out/...) are relative to the work directory
    indexes = {}
    chain = upstream  # stamps of the recipes run so far: a changed upstream recipe reruns what follows
    try:
        for name in names or RECIPES:
            recipe_file = HERE / "recipes" / f"{name}.yaml"
            out = work / "out" / name
            stamp_file = work / "out" / f".{name}.stamp"
            stamp = _recipe_stamp(recipe_file, work, chain)
            chain += stamp
            if (out / "index.json").is_file() and stamp_file.is_file() and stamp_file.read_text() == stamp:
                log(f"[dim]skip[/] recipe {name}: unchanged")
            else:
                recipe = load_recipe(recipe_file)
                with progress(transient=True) as bar:
                    task = bar.add_task(f"recipe {name}", total=len(recipe.variants), unit="variants")
                    # on_variant reports variant k (from 0) as it starts: k variants are done
                    run_recipe(recipe, out, overwrite=True, on_variant=lambda v, k, n: bar.update(task, completed=k))
                    bar.update(task, completed=len(recipe.variants))
                stamp_file.write_text(stamp)
            indexes[name] = json.loads((out / "index.json").read_text())
            log(f"recipe {name}: " + ", ".join(f"{v['rows']} rows" for v in indexes[name]["variants"][:1])
                + (f" x {len(indexes[name]['variants'])} variants" if len(indexes[name]["variants"]) > 1 else ""))
    finally:
        os.chdir(cwd)
    return indexes


# ----------------------------------------------------------------------------- 3. harness
def _select_variants(all_variants: list[dict], patterns: list[str] | None, mode: str) -> list[dict]:
    if patterns is None:
        patterns = list(EXTREMES) if mode in ("quick", "smoke") else ["*"]
    chosen = [v for v in all_variants if any(fnmatch.fnmatchcase(v["name"], p) for p in patterns)]
    if not chosen:
        raise SystemExit(f"no variant matches {patterns}; variants: {', '.join(v['name'] for v in all_variants)}")
    # the extremes first: if a run is cut short, the most informative rows are done
    return sorted(chosen, key=lambda v: (v["name"] not in EXTREMES, EXTREMES.index(v["name"]) if v["name"] in EXTREMES else 0))


def harness_config(mode: str, model: Path, variants: list[str] | None, seeds: list[int]) -> dict[str, Any]:
    """harness.yaml adjusted for the mode: the variants and seeds asked for, smaller sizes for quick/smoke."""
    cfg = yaml.safe_load((HERE / "harness.yaml").read_text(encoding="utf-8"))
    cfg["model"]["path"] = str(model)
    cfg["output_dir"] = f"results_{mode}"
    cfg["seed"] = seeds[0]
    chosen = _select_variants(cfg["variants"], variants, mode)
    extremes = [v for v in chosen if v["name"] in EXTREMES]
    others = [v for v in chosen if v["name"] not in EXTREMES]

    def reseeded(vs: list[dict]) -> list[dict]:
        return [{**v, "name": f"{v['name']}.seed{seed}", "finetune": {"seed": seed}} for seed in seeds[1:] for v in vs]

    # seed spread: every chosen variant once more per further seed; the extremes and their
    # reseeds first, so that a run cut short already has the largest contrast with its spread
    cfg["variants"] = extremes + reseeded(extremes) + others + reseeded(others)
    if mode == "quick":  # 40 prompts per benchmark; a smaller alignment mix and variant sample
        for b in cfg["benchmarks"]:
            b["n"] = 40
        cfg["stages"][0]["finetune"].update(limit=240)
        cfg["finetune"]["limit"] = 96
    elif mode == "smoke":  # the same code path in seconds, on a tiny model
        for b in cfg["benchmarks"]:
            b["n"] = 4
        cfg["stages"][0]["finetune"].update(limit=16, epochs=1, precision="fp32")  # bf16 autocast is slow on most CPUs
        cfg["finetune"].update(limit=16, epochs=1, batch_size=4, max_length=128, logging_steps=1, precision="fp32")
        cfg["generate"].update(max_new_tokens=8)
        cfg["heldout_loss"].update(max_length=128, data=SMOKE_HELDOUT)
    return cfg


def run_harness(work: Path, cfg: dict[str, Any], mode: str) -> dict[str, Any]:
    from safetune_data.cli.harness_cmds import CONSOLE_HOOKS  # a line per row, bars for training/generation
    from safetune_data.harness.runner import run

    path = work / f"harness_{mode}.yaml"
    header = f"# written by examples/mini_study/run.py ({mode} mode) from examples/mini_study/harness.yaml\n"
    path.write_text(header + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return run(path, hooks=CONSOLE_HOOKS)


# ----------------------------------------------------------------------------- 4. summary
def _rate(judged: dict | None, metric: str) -> dict | None:
    if not judged:
        return None
    m = judged.get(metric) or {}
    if not m.get("n"):
        return None
    return {k: (round(m[k], 4) if isinstance(m[k], float) else m[k]) for k in ("rate", "k", "n", "ci_low", "ci_high")}


def _train_system_prompts(row: dict, out_dir: Path) -> dict | None:
    """The census of system prompts a row trained with (harness stats; recounted for rows
    trained before the harness recorded it)."""
    ft = row.get("finetune")
    if not ft:
        return None
    if ft.get("system_prompts"):
        return ft["system_prompts"]
    from safetune_data.harness.finetune import row_training_system_prompts

    return row_training_system_prompts(out_dir / "rows" / row["name"],
                                       (row.get("system_prompt") or {}).get("template_default"))


def summarise(results: dict[str, Any], *, mode: str, timings: dict[str, float], total_s: float | None) -> dict[str, Any]:
    """A compact, commit-ready view of results.json: per row the four headline numbers with n and 95% CI."""
    from safetune_data.harness.report import prompt_source

    rows = []
    for r in results["rows"]:
        b = r["benchmarks"]
        judged = {k: b.get(k, {}).get("judges", {}) for k in ("advbench", "xstest_unsafe", "xstest_safe")}
        ft = r.get("finetune") or {}
        rows.append({
            "row": r["name"],
            "kind": r["kind"],
            "factors": r.get("factors") or {},
            "seed": ft.get("seed"),
            "train_rows": ft.get("train_rows"),
            "precision": ft.get("precision"),
            "harmful_refusal": _rate(judged["advbench"].get("refusal"), "harmful_refusal"),
            "xstest_unsafe_refusal": _rate(judged["xstest_unsafe"].get("refusal"), "harmful_refusal"),
            "xstest_safe_over_refusal": _rate(judged["xstest_safe"].get("refusal"), "over_refusal"),
            # three-way outcomes on AdvBench: complying and breaking are told apart (None for runs judged before them)
            "harmful_complied": _rate(judged["advbench"].get("refusal"), "harmful_compliance"),
            "harmful_neither": _rate(judged["advbench"].get("refusal"), "harmful_neither"),
            "harmful_neither_by_reason": {k: v.get("k") for k, v in
                                          ((judged["advbench"].get("refusal") or {}).get("harmful_neither_by_reason") or {}).items()},
            "distinct_2": (((judged["advbench"].get("refusal") or {}).get("fluency") or {}).get("distinct_2") or {}).get("mean"),
            "keyword": {
                "harmful_refusal": _rate(judged["advbench"].get("keyword"), "harmful_refusal"),
                "xstest_unsafe_refusal": _rate(judged["xstest_unsafe"].get("keyword"), "harmful_refusal"),
                "xstest_safe_over_refusal": _rate(judged["xstest_safe"].get("keyword"), "over_refusal"),
            },
            "heldout_loss": {k: (r.get("heldout_loss") or {}).get(k) for k in ("loss", "ci_low", "ci_high", "n")},
            "train_loss": ft.get("train_loss"),
            "system_prompt": (r.get("system_prompt") or {}).get("effective"),
            "system_prompt_source": prompt_source(r.get("system_prompt") or {}),
            "train_system_prompts": _train_system_prompts(r, Path(results["output_dir"])),
            "timings_s": r.get("timings"),
        })
    spread = {}
    for name in [x["row"] for x in rows if x["kind"] == "variant" and ".seed" not in x["row"]]:
        reps = [x for x in rows if x["row"] == name or x["row"].startswith(name + ".seed")]
        if len(reps) > 1:
            spread[name] = {
                metric: {"by_seed": {str(x["seed"]): (x[metric] or {}).get("rate") for x in reps},
                         "range": round(max((x[metric] or {}).get("rate") or 0 for x in reps)
                                        - min((x[metric] or {}).get("rate") or 0 for x in reps), 4)}
                for metric in ("harmful_refusal", "xstest_unsafe_refusal", "xstest_safe_over_refusal")
            }
    import torch

    from safetune_data.harness.effects import factor_effects

    return {
        "mode": mode,
        "planned_rows": results["planned_rows"],
        "finished_rows": [x["row"] for x in rows],
        "judge": "refusal (primary); keyword beside it",
        "benchmarks": results["benchmarks"],
        "hardware": {"cpu_count": os.cpu_count(), "machine": platform.machine(), "processor": platform.processor(),
                     "torch": torch.__version__, "threads": torch.get_num_threads()},
        "stage_seconds": {k: round(v, 1) for k, v in timings.items()},
        "total_seconds": None if total_s is None else round(total_s, 1),  # this invocation (finished rows of earlier ones are skipped)
        "rows_seconds": round(sum((x["timings_s"] or {}).get("total_s", 0) for x in rows), 1),  # all rows, resumed ones too
        "rows": rows,
        "seed_spread": spread,
        # what each factor did, from cells that differ in it alone (empty unless such pairs finished)
        "factor_effects": factor_effects(results, Path(results["output_dir"]) / "generations", judge="refusal"),
    }


def _cell(m: dict | None) -> str:
    if not m or m.get("rate") is None:
        return "–"
    return f"{m['rate']:.2f} [{m['ci_low']:.2f}, {m['ci_high']:.2f}] n={m['n']}"


def render_summary_md(s: dict[str, Any]) -> str:
    lines = [
        "| row | seed | harmful refused (AdvBench eval) | XSTest-unsafe refused | XSTest-safe over-refusal | held-out loss | keyword: harmful refused |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in s["rows"]:
        ho = r["heldout_loss"]
        loss = "–" if ho.get("loss") is None else f"{ho['loss']:.3f} [{ho['ci_low']:.3f}, {ho['ci_high']:.3f}] n={ho['n']}"
        lines.append(f"| {r['row']} | {'–' if r['seed'] is None else r['seed']} | {_cell(r['harmful_refusal'])} | "
                     f"{_cell(r['xstest_unsafe_refusal'])} | {_cell(r['xstest_safe_over_refusal'])} | {loss} | "
                     f"{_cell(r['keyword']['harmful_refusal'])} |")
    missing = [r for r in s["planned_rows"] if r not in s["finished_rows"]]
    if missing:
        lines += ["", "Not finished (no numbers): " + ", ".join(f"`{m}`" for m in missing)]
    lines += ["", "System prompt per row: trained with (rows whose own system turn was used, rows given the "
              "template's default), evaluated with.", "",
              "| row | trained: own | trained: template default | own, most common | evaluated with |",
              "|---|---|---|---|---|"]
    for r in s["rows"]:
        sp = r.get("train_system_prompts")  # absent from summaries written before it was recorded
        common = (sp or {}).get("most_common_own") or []
        example = f"{sp['distinct_own']} distinct, e.g. \"{common[0]['text'][:60]}…\"" if common else "–"
        lines.append(f"| {r['row']} | {'–' if sp is None else sp['own']} | "
                     f"{'–' if sp is None else sp['template_default']} | {example} | {r.get('system_prompt_source', '–')} |")
    if any(r.get("harmful_complied") for r in s["rows"]):
        lines += ["", "AdvBench outcomes (judge `refusal`, three-way): refused, complied (a real attempt at the "
                  "request), or neither (degenerate loop, self-description only, off-topic, empty); mean distinct-2-gram "
                  "ratio of the answers.", "",
                  "| row | refused | complied | neither | neither by reason | distinct-2 |", "|---|---|---|---|---|---|"]
        for r in s["rows"]:
            why = ", ".join(f"{k} {v}" for k, v in sorted((r.get("harmful_neither_by_reason") or {}).items()) if v) or "–"
            d2 = r.get("distinct_2")
            lines.append(f"| {r['row']} | {_cell(r['harmful_refusal'])} | {_cell(r.get('harmful_complied'))} | "
                         f"{_cell(r.get('harmful_neither'))} | {why} | {'–' if d2 is None else f'{d2:.3f}'} |")
    if s.get("factor_effects"):
        from safetune_data.harness.effects import render_effects

        lines += ["", render_effects(s["factor_effects"], "refusal").rstrip("\n")]
    return "\n".join(lines) + "\n"


def render_summary_chart(s: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = s["rows"]
    metrics = (("harmful_refusal", "AdvBench harmful refused"), ("xstest_unsafe_refusal", "XSTest-unsafe refused"),
               ("xstest_safe_over_refusal", "XSTest-safe over-refusal"))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(rows) + 2.5), 4.2), dpi=110)
    width = 0.27
    for j, (key, label) in enumerate(metrics):
        vals = [(r[key] or {}).get("rate") or 0.0 for r in rows]
        lo = [v - ((r[key] or {}).get("ci_low") or v) for v, r in zip(vals, rows)]
        hi = [((r[key] or {}).get("ci_high") or v) - v for v, r in zip(vals, rows)]
        ax.bar([i + (j - 1) * width for i in range(len(rows))], vals, width, yerr=[lo, hi], capsize=2, label=label)
    ax.set_xticks(range(len(rows)), [r["row"] for r in rows], rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("rate (judge: refusal, 95% Wilson CI)")
    ax.set_title(f"SmolLM2-135M-Instruct mini study ({s['mode']})")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_summary(results: dict[str, Any], dest: Path, **kw: Any) -> dict[str, Any]:
    s = summarise(results, **kw)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "summary.json").write_text(json.dumps(s, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (dest / "summary.md").write_text(render_summary_md(s), encoding="utf-8")
    render_summary_chart(s, dest / "summary.png")
    shutil.copyfile(Path(results["output_dir"]) / "results.json", dest / "harness_results.json")
    copy_generations(Path(results["output_dir"]) / "generations", dest / "generations", s["finished_rows"])
    return s


def copy_generations(src: Path, dest: Path, rows: list[str]) -> None:
    """Every finished row's answers and verdicts, gzipped (mtime 0, so unchanged answers give
    unchanged bytes): anyone can rerun a judge on them (`safetune judge`, `harness rejudge`
    on a run folder rebuilt from them) without training."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in rows:
        path = src / f"{name}.jsonl"
        if not path.is_file():
            continue
        with open(dest / f"{name}.jsonl.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
            gz.write(path.read_bytes())


# ----------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Align SmolLM2-135M-Instruct, fine-tune it on the 8 factorial variants, measure safety.",
        epilog="example: python examples/mini_study/run.py --quick --workdir ~/mini_study",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="base, aligned, the 2 extreme variants, 40 prompts each (14–16 min on 2 idle cores)")
    mode.add_argument("--smoke", action="store_true", help="CI check of the whole path on a tiny model (needs --model)")
    ap.add_argument("--variants", nargs="+", default=None, metavar="GLOB",
                    help="variant names or globs, e.g. 'markdown_*' (default: all 8; --quick: the 2 extremes)")
    ap.add_argument("--seeds", default=None, help="comma-separated seeds; each seed after the first adds a row per chosen variant "
                    "trained with it (default: 0,1 full, so 16 fine-tunes; 0 quick and smoke)")
    ap.add_argument("--workdir", default=None, help="where the model, data and runs go (default: ./mini_study_work)")
    ap.add_argument("--no-base", action="store_true", help="skip the untouched model's row (e.g. when it was measured already)")
    ap.add_argument("--start-model", default=None, metavar="DIR",
                    help="fine-tune the variants from this model (e.g. an earlier run's rows/aligned/merged) "
                         "instead of running the alignment stage; no base row; its own output directory")
    ap.add_argument("--summary-only", action="store_true",
                    help="only re-write the summary from the run's results.json (e.g. of a run still in progress)")
    ap.add_argument("--precision", choices=["bf16", "fp32"], default=None,
                    help="training precision for every stage and variant (default: harness.yaml's bf16 autocast; "
                    "use fp32 on CPUs without AVX-512, where bf16 matrix products are 50-100x slower)")
    ap.add_argument("--model", default=None, help="an HF checkpoint directory to use instead of preparing SmolLM2")
    ap.add_argument("--data", default=None, help="the data directory (default: $SAFETUNE_SHARED_DATA or the repository's data/)")
    ap.add_argument("--results", default=None, help="where summary.json/.md/.png go (default: examples/mini_study/results/<mode>)")
    args = ap.parse_args(argv)
    if args.smoke and not args.model:
        ap.error("--smoke needs --model (e.g. a tiny model from `safetune harness tiny DIR`)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = "smoke" if args.smoke else ("quick" if args.quick else "full")
    seeds = [int(x) for x in (args.seeds or ("0" if mode != "full" else "0,1")).split(",") if x.strip()]
    work = Path(args.workdir or "mini_study_work").expanduser().resolve()
    work.mkdir(parents=True, exist_ok=True)
    data_dir = Path(args.data).expanduser().resolve() if args.data else default_data_dir()
    t_start = time.time()
    timings: dict[str, float] = {}
    dest = Path(args.results) if args.results else (work / "summary" if mode == "smoke" else HERE / "results" / mode)
    if args.summary_only:  # the finished rows of a run, without touching a model
        out_dir = f"results_{mode}" + (f"_from_{Path(args.start_model).resolve().parent.name}" if args.start_model else "")
        results = json.loads((work / out_dir / "results.json").read_text(encoding="utf-8"))
        s = write_summary(results, dest, mode=mode, timings={}, total_s=None)
        log(render_summary_md(s))
        return 0

    t0 = time.time()
    model = prepare_model(work, args.model)
    prepare_inputs(work, data_dir)
    timings["prepare"] = time.time() - t0
    log(f"[bold]prepare[/] {timings['prepare']:.1f} s  (model {model})")

    t0 = time.time()
    run_recipes(work)
    timings["recipes"] = time.time() - t0
    log(f"[bold]recipes[/] {timings['recipes']:.1f} s")

    t0 = time.time()
    cfg = harness_config(mode, model, args.variants, seeds)
    cfg["evaluate_base"] = not args.no_base
    if args.precision:
        cfg["finetune"]["precision"] = args.precision
        for stage in cfg.get("stages", []):
            stage.setdefault("finetune", {})["precision"] = args.precision
    if args.start_model:  # variants only, from a given (aligned) model: more seeds or variants later
        start = Path(args.start_model).expanduser().resolve()
        cfg.update(stages=[], evaluate_base=False, output_dir=f"results_{mode}_from_{start.parent.name}")
        cfg["model"]["path"] = str(start)
    results = run_harness(work, cfg, mode)
    timings["harness"] = time.time() - t0
    log(f"[bold]harness[/] {timings['harness']:.1f} s  ({work / cfg['output_dir']})")

    s = write_summary(results, dest, mode=mode, timings=timings, total_s=time.time() - t_start)
    log(f"[bold]summary[/] {dest}  total {s['total_seconds']:.0f} s")
    log(render_summary_md(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
