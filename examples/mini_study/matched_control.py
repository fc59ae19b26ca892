"""Length-matched control for the selection experiment: is `self_inf_n`'s effect its length term?

    python examples/mini_study/matched_control.py --workdir mini_study_work   # after selection.py

`self_inf_n` = log(|grad|^2 + 1) + log(answer tokens + 1), and on the selection pool the length
term outweighs the gradient term, so the selection arms differ in how much answer text they
train on. This control holds length fixed: the pool rows with 900-1,500-character answers
(the scores come from selection.py's run, WORKDIR/risk_selection/) are sorted by answer length
and paired with their neighbour; in each pair the row with the higher score goes to `high`
and the other to `low`, and the --pairs pairs with the largest score gap form the two arms.
Both arms then have the same lengths, and differ only in what the score adds beyond length.
Each arm is fine-tuned from the aligned model as the selection arms are and measured on the
same held-out AdvBench half; the aligned reference is selection.py's.

Writes summary.json / summary.md and every answer (generations/) to --results (default
examples/mini_study/results/selection_matched).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as study  # noqa: E402
import selection  # noqa: E402

ARMS = ("low", "high")
BAND = (900, 1500)


def answer_chars(record: dict) -> int:
    return sum(len(m["content"]) for m in record["messages"] if m["role"] == "assistant")


def matched_arms(rows: list[dict], column: str, pairs: int) -> dict[str, list[dict]]:
    """The two arms: neighbours in answer length, split by score, the widest-gap pairs first."""
    band = sorted((r for r in rows if BAND[0] <= answer_chars(r) <= BAND[1]), key=answer_chars)
    twins = [(band[i], band[i + 1]) for i in range(0, len(band) - 1, 2)]
    twins.sort(key=lambda p: -abs(p[0][column] - p[1][column]))
    chosen = twins[:pairs]
    return {"low": [min(p, key=lambda r: r[column]) for p in chosen],
            "high": [max(p, key=lambda r: r[column]) for p in chosen]}


def write_arms(work: Path, arms: dict[str, list[dict]], column: str) -> dict[str, Any]:
    from datasets import Dataset

    info = {}
    for arm, rows in arms.items():
        rows = sorted(rows, key=lambda r: r["id"])
        dest = work / "out" / f"matched_{arm}" / f"matched_{arm}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        Dataset.from_list([{k: v for k, v in r.items() if k != column} for r in rows]).save_to_disk(str(dest))
        info[arm] = {"rows": len(rows), "answer_chars_mean": round(sum(map(answer_chars, rows)) / len(rows), 1),
                     "score_mean": round(sum(r[column] for r in rows) / len(rows), 4)}
    return info


def summarise(results: dict[str, Any], info: dict[str, Any], scorer: str) -> dict[str, Any]:
    judge = results["primary_judge"]
    rows = {}
    for row in results["rows"]:
        m = row["benchmarks"].get("advbench", {}).get("judges", {}).get(judge, {})
        rows[row["name"]] = {k: m.get(k) for k in ("harmful_refusal", "harmful_compliance")}
    return {"scorer": scorer, "judge": judge, "band_chars": list(BAND), "arms": info, "rows": rows}


def render(s: dict[str, Any]) -> str:
    lines = [f"Length-matched arms by `{s['scorer']}` (answers of {s['band_chars'][0]}-{s['band_chars'][1]} characters, "
             f"neighbours in length split by score); judge `{s['judge']}`; AdvBench harmful refusal, %, 95% Wilson interval.",
             "", "| row | rows | answer characters | mean score | harmful refusal | harmful compliance |", "|---|---|---|---|---|---|"]
    for name, m in s["rows"].items():
        a = s["arms"][name.split(".")[0].removeprefix("matched_")]
        lines.append(f"| {name} | {a['rows']} | {a['answer_chars_mean']} | {a['score_mean']} | "
                     f"{selection.rate_cell(m['harmful_refusal'])} | {selection.rate_cell(m['harmful_compliance'])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="mini_study_work", help="the study's work directory, after selection.py")
    ap.add_argument("--aligned", default=None, help="the aligned model (default: WORKDIR/results_full/rows/aligned/merged)")
    ap.add_argument("--pairs", type=int, default=50, help="length-matched pairs, one row of each per arm (default 50)")
    ap.add_argument("--seeds", default="0", help="training seeds per arm (default 0)")
    ap.add_argument("--precision", choices=["bf16", "fp32"], default=None, help="training precision (as run.py)")
    ap.add_argument("--results", default=str(HERE / "results" / "selection_matched"), help="where the summary goes")
    args = ap.parse_args(argv)
    from datasets import load_from_disk

    work = Path(args.workdir).expanduser().resolve()
    scored = work / "risk_selection" / "selection_pool"
    if not scored.is_dir():
        raise SystemExit(f"no scored pool at {scored}: run examples/mini_study/selection.py first")
    scorer = selection.arm_scorer()
    column = f"risk_{scorer}"
    info = write_arms(work, matched_arms(load_from_disk(str(scored)).to_list(), column, args.pairs), column)
    study.log(json.dumps(info))
    aligned = selection.aligned_model(work, args.aligned)
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    cfg = selection.harness_config(aligned, seeds, False)
    if args.precision:
        cfg["finetune"]["precision"] = args.precision
    cfg.update(evaluate_base=False, output_dir="results_matched")
    cfg["variants"] = [{"name": f"matched_{a}.seed{seed}", "dir": f"out/matched_{a}/matched_{a}", "finetune": {"seed": seed}}
                       for a in ARMS for seed in seeds]
    results = study.run_harness(work, cfg, "matched")
    s = summarise(results, info, scorer)
    selection.write_summary(Path(args.results), s, render(s), results)
    study.log(render(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
