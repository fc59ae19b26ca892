"""Selection experiment: can a risk scorer pick benign data that erodes safety less?

    python examples/mini_study/selection.py --workdir mini_study_work             # after run.py (full)
    python examples/mini_study/selection.py --smoke --model TINY_DIR --workdir W  # CI: the path in seconds

After He et al. 2024 (who fine-tuned Llama-2-7b-chat on the 100 benign rows scored most like
harmful compliance, and on 100 random ones): from a benign pool disjoint from every row the
study trains or measures on, pick the 100 rows with the lowest predicted risk, the 100 with
the highest, and 100 at random; fine-tune the study's aligned model on each with the study's
settings (2 training seeds by default) and measure harmful refusal as the study does. The
claim under test: lowest-risk keeps more harmful refusal than random, which keeps more than
highest-risk.

1. recipes   pool_rest, selection_pool (recipes/): Alpaca rows with 901-1,500-character
             answers plus the pool rows no study slice uses; refusals, identity statements
             and personas dropped as in the study's pool;
2. risk      `safetune_data.risk.score_risk` on the pool with the aligned model, by the scorer
             whose column the select recipes read (`self_inf_n`: with the probe, the best
             per-row scorer against the second full run, docs/risk.md);
3. recipes   select_lowest / select_highest (`select.risk`), select_random (`sample`);
4. harness   the aligned model evaluated once (reference), then each arm x seed fine-tuned
             from it; resumable like the study;
5. summary   summary.json / summary.md, harness_results.json and every row's answers (generations/,
             gzipped) in --results (default examples/mini_study/results/selection).

100 rows per arm, not the 256 of a study cell: the repository's Alpaca sample has 999 rows,
556 of which the study uses, and the pool left is about 250 rows, so that the lowest and
highest 100 are disjoint.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as study  # noqa: E402  (the study's script next to this one: recipes, harness, logging)

ARMS = ("lowest", "highest", "random")
# The study's recipes first, in their order: their stamps chain, so that in the study's work
# directory they are all skipped (rerunning one would change the datasets the study's rows
# were trained and measured on); then the pool recipes of this experiment.
POOL_RECIPES = study.RECIPES + ("pool_rest", "selection_pool")
ARM_RECIPES = tuple(f"select_{a}" for a in ARMS)


def arm_scorer() -> str:
    """The scorer whose column the select_lowest / select_highest recipes read (`risk_<scorer>`):
    to select by another scorer, change `column` in both recipes."""
    import yaml

    columns = set()
    for arm in ("lowest", "highest"):
        recipe = yaml.safe_load((HERE / "recipes" / f"select_{arm}.yaml").read_text(encoding="utf-8"))
        columns |= {step["select.risk"]["column"] for step in recipe["steps"] if "select.risk" in step}
    if len(columns) != 1 or not next(iter(columns)).startswith("risk_"):
        raise SystemExit(f"select_lowest.yaml and select_highest.yaml must read one risk_<scorer> column, not {sorted(columns)}")
    return next(iter(columns))[len("risk_"):]


def score_pool(work: Path, aligned: Path, scorer: str, params: dict[str, Any]) -> dict[str, Any]:
    """Risk scores of every pool row (WORKDIR/risk_selection/), through the scorer cache."""
    from safetune_data.cli.console import progress, task_hook
    from safetune_data.risk import make_scorers, score_risk

    scorers = make_scorers([scorer], {scorer: params} if params else None)
    with progress(transient=True) as bar:
        return score_risk(aligned, [work / "out" / "selection_pool" / "selection_pool"], scorers,
                          work / "risk_selection", cache_dir=work / "risk_cache", overwrite=True,
                          command=["examples/mini_study/selection.py"], start=task_hook(bar, "scoring"))


def harness_config(aligned: Path, seeds: list[int], smoke: bool) -> dict[str, Any]:
    """The study's harness settings, started from the aligned model, one variant per arm and seed."""
    import yaml

    cfg = yaml.safe_load((HERE / "harness.yaml").read_text(encoding="utf-8"))
    cfg["model"]["path"] = str(aligned)
    cfg.update(stages=[], evaluate_base=True, output_dir="results_selection", seed=seeds[0])
    cfg["variants"] = [{"name": f"{arm}.seed{seed}", "dir": f"out/select_{arm}/select_{arm}",
                        "finetune": {"seed": seed}} for arm in ARMS for seed in seeds]
    if smoke:
        for b in cfg["benchmarks"]:
            b["n"] = 4
        cfg["finetune"].update(limit=16, epochs=1, batch_size=4, max_length=128, logging_steps=1, precision="fp32")
        cfg["generate"].update(max_new_tokens=8)
        cfg["heldout_loss"].update(max_length=128, data=study.SMOKE_HELDOUT)
    return cfg


def summarise(results: dict[str, Any], risk: dict[str, Any], scorer: str) -> dict[str, Any]:
    """Per arm: harmful refusal on AdvBench (seeds pooled, Wilson interval) and per seed; the ordering claim."""
    from safetune_data.harness.metrics import rate

    judge = results["primary_judge"]
    by_arm: dict[str, list[dict]] = {a: [] for a in ARMS}
    reference = None
    for row in results["rows"]:
        m = row["benchmarks"].get("advbench", {}).get("judges", {}).get(judge, {})
        if row["kind"] == "base":
            reference = m.get("harmful_refusal")
            continue
        by_arm[row["name"].split(".")[0]].append({"row": row["name"], "harmful_refusal": m.get("harmful_refusal"),
                                                  "harmful_compliance": m.get("harmful_compliance")})
    arms = {}
    for arm, rows in by_arm.items():
        k = sum(r["harmful_refusal"]["k"] for r in rows if r["harmful_refusal"])
        n = sum(r["harmful_refusal"]["n"] for r in rows if r["harmful_refusal"])
        arms[arm] = {"seeds": rows, "harmful_refusal": rate([True] * k + [False] * (n - k)) if n else None}
    done = all(arms[a]["harmful_refusal"] for a in ARMS)
    ordered = separated = None
    if done:
        lo, mid, hi = (arms[a]["harmful_refusal"] for a in ("lowest", "random", "highest"))
        ordered = lo["rate"] > mid["rate"] > hi["rate"]
        separated = lo["ci_low"] > hi["ci_high"]
    pool = risk["datasets"][0] if risk.get("datasets") else None  # the scored pool: rows, score quantiles, seconds
    return {"scorer": scorer, "judge": judge, "aligned_reference": reference, "arms": arms,
            "lowest_gt_random_gt_highest": ordered, "lowest_vs_highest_intervals_disjoint": separated,
            "lowest_minus_highest_points": (100 * (arms["lowest"]["harmful_refusal"]["rate"]
                                                   - arms["highest"]["harmful_refusal"]["rate"]) if done else None),
            "pool": pool}


def rate_cell(m: dict | None) -> str:
    """A rate as "96.5 [93.0, 98.3] (n=200)", in %; "–" when there is none."""
    return "–" if not m or m.get("rate") is None else (
        f"{100 * m['rate']:.1f} [{100 * m['ci_low']:.1f}, {100 * m['ci_high']:.1f}] (n={m['n']})")


def aligned_model(work: Path, given: str | None) -> Path:
    """The aligned model to start from: `given`, else the study's (WORKDIR/results_full/...)."""
    aligned = Path(given or work / "results_full" / "rows" / "aligned" / "merged").resolve()
    if not (aligned / "config.json").is_file():
        raise SystemExit(f"no aligned model at {aligned}: run examples/mini_study/run.py first, or pass --aligned")
    return aligned


def write_summary(dest: Path, s: dict[str, Any], text: str, results: dict[str, Any]) -> None:
    """summary.json / summary.md and every row's answers and verdicts (generations/, gzipped)
    in `dest`, so any judge can be rerun on them."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "summary.json").write_text(json.dumps(s, indent=2) + "\n", encoding="utf-8")
    (dest / "summary.md").write_text(text, encoding="utf-8")
    study.copy_generations(Path(results["output_dir"]) / "generations", dest / "generations",
                           [row["name"] for row in results["rows"]])


def render(s: dict[str, Any]) -> str:
    lines = [f"Selection by `{s['scorer']}` risk; judge `{s['judge']}`; harmful refusal on held-out AdvBench, %, "
             "95% Wilson interval over the seeds' pooled answers.", "",
             f"Aligned model before any fine-tune: {rate_cell(s['aligned_reference'])}", "",
             "| arm | harmful refusal (seeds pooled) | per seed |", "|---|---|---|"]
    for arm in ARMS:
        a = s["arms"][arm]
        per = ", ".join(f"{r['row']}: {rate_cell(r['harmful_refusal'])}" for r in a["seeds"])
        lines.append(f"| {arm} | {rate_cell(a['harmful_refusal'])} | {per} |")
    if s["lowest_gt_random_gt_highest"] is not None:
        lines += ["", f"lowest > random > highest: {s['lowest_gt_random_gt_highest']}; lowest − highest: "
                  f"{s['lowest_minus_highest_points']:+.1f} points; intervals of lowest and highest disjoint: "
                  f"{s['lowest_vs_highest_intervals_disjoint']}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="mini_study_work", help="the study's work directory (inputs/, out/pool)")
    ap.add_argument("--aligned", default=None, help="the aligned model (default: WORKDIR/results_full/rows/aligned/merged)")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="scorer parameter, repeatable (default: pool=mean for representation)")
    ap.add_argument("--seeds", default="0,1", help="training seeds per arm (default 0,1)")
    ap.add_argument("--precision", choices=["bf16", "fp32"], default=None, help="training precision (as run.py)")
    ap.add_argument("--smoke", action="store_true", help="the whole path on a tiny model in seconds (needs --model)")
    ap.add_argument("--model", default=None, help="smoke: the tiny model, used as the aligned model")
    ap.add_argument("--data", default=None, help="the data directory (default: $SAFETUNE_SHARED_DATA or data/)")
    ap.add_argument("--results", default=None, help="where summary.json/.md go (default examples/mini_study/results/selection)")
    args = ap.parse_args(argv)
    if args.smoke and not args.model:
        ap.error("--smoke needs --model")
    from safetune_data.options import yaml_value

    scorer = arm_scorer()
    params = {k: yaml_value(v, scalar=True) for k, _, v in (p.partition("=") for p in args.param)}
    if scorer == "representation" and not args.param:
        params = {"pool": "mean"}
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    work = Path(args.workdir).expanduser().resolve()
    work.mkdir(parents=True, exist_ok=True)
    aligned = aligned_model(work, args.model or args.aligned)
    dest = Path(args.results) if args.results else (work / "selection_summary" if args.smoke else HERE / "results" / "selection")
    t0 = time.time()
    study.prepare_inputs(work, Path(args.data).resolve() if args.data else study.default_data_dir())
    study.run_recipes(work, POOL_RECIPES)
    risk = score_pool(work, aligned, scorer, params)
    digest = hashlib.sha256(json.dumps([str(aligned), scorer, params], sort_keys=True).encode()).hexdigest()[:16]
    study.run_recipes(work, ARM_RECIPES, upstream=digest)
    cfg = harness_config(aligned, seeds, args.smoke)
    if args.precision:
        cfg["finetune"]["precision"] = args.precision
    results = study.run_harness(work, cfg, "selection")
    s = summarise(results, risk, scorer)
    s["total_seconds"] = round(time.time() - t0, 1)
    write_summary(dest, s, render(s), results)
    (dest / "harness_results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    study.log(render(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
