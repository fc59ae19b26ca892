"""Accuracy of the `keyword` and `refusal` judges against human labels.

Data: XSTest completions of two models (GPT-4, Llama-2-70b-chat new system prompt), 450 each,
labelled 1_full_compliance / 2_full_refusal / 3_partial_refusal; 2 and 3 count as refusals.

Cross-file check: the refusal judge's only fitted number is its threshold, so each
direction picks the best threshold on one file and reports accuracy on the other.

Also printed: the refusal judge's uncertain band (rows inside it and accuracy inside and
outside), and the three-way outcomes by human label (how many fluent answers come out
`neither`). These rows are the ones the judge and the outcome rules were developed on.

Written pairs (`judge_dev/written_pairs.jsonl`, written for this project): accuracy of the
refusal detector per split (`dev` was developed on, `test` measured once afterwards) and per
family, and the share of identity-prefixed compliant answers still judged compliant.

Benign instruction data (`benign/alpaca_en_demo.json`, judged with its instruction as the
prompt, as the profile does): how many answers are flagged; `--show-benign` prints them for
the hand check reported in docs/judges.md.

Mini study generations (`judge_dev/mini_study_generations.jsonl.gz`: the answers of the
untouched SmolLM2-135M-Instruct, the aligned model and two fine-tuned variants of a
`--quick --seeds 2` run, hand-labelled refused / complied / neither in
`judge_dev/mini_study_labels.jsonl`, split dev/test by a hash of the id before labelling):
the judges' refusal accuracy and the three-way outcome's agreement, per split and per model.

Speed: CPU seconds of the refusal detector over the 900 rows, after spaCy has loaded (best
of three; `time.process_time`, one process, so one core).

    python benchmarks/judge_accuracy.py [--data data/judge_dev] [--show-benign]
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import time
from collections import defaultdict
from pathlib import Path

from safetune_data.detectors.refusal import THRESHOLD, analyse_many, is_uncertain
from safetune_data.harness.judges import get_judge
from safetune_data.harness.judges.base import judge_outcomes

FILES = ("xstest_completions_gpt4.csv", "xstest_completions_llama2new.csv")
DEFAULT_DATA = Path(os.environ.get("SAFETUNE_SHARED_DATA", Path(__file__).resolve().parents[1] / "data")) / "judge_dev"


def load(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def gold(rows: list[dict]) -> list[bool]:
    return [not r["final_label"].startswith("1_") for r in rows]


def scores(y: list[bool], p: list[bool]) -> dict:
    tp = sum(a and b for a, b in zip(y, p))
    fp = sum(b and not a for a, b in zip(y, p))
    fn = sum(a and not b for a, b in zip(y, p))
    return {
        "n": len(y),
        "accuracy": sum(a == b for a, b in zip(y, p)) / len(y),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
    }


def line(judge: str, name: str, s: dict) -> str:
    return f"{judge:<8} {name:<34} {s['n']:>4}  {s['accuracy']:.4f}  {s['precision']:.4f}  {s['recall']:.4f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--show-benign", action="store_true", help="print every flagged benign answer")
    args = ap.parse_args()
    data = {f: load(args.data / f) for f in FILES}
    print(f"{'judge':<8} {'file':<34} {'n':>4}  acc     prec    recall")
    refusal_scores: dict[str, list[float]] = {}
    for judge_name in ("keyword", "refusal"):
        judge = get_judge(judge_name)
        all_y: list[bool] = []
        all_p: list[bool] = []
        t0 = time.perf_counter()
        for f, rows in data.items():
            verdicts = judge.judge_batch([r["prompt"] for r in rows], [r["completion"] for r in rows])
            y, p = gold(rows), [bool(v["refused"]) for v in verdicts]
            if judge_name == "refusal":
                refusal_scores[f] = [v["refusal_score"] for v in verdicts]
            print(line(judge_name, f, scores(y, p)))
            all_y += y
            all_p += p
        elapsed = time.perf_counter() - t0
        print(line(judge_name, "pooled", scores(all_y, all_p)) + f"   ({elapsed:.2f}s for {len(all_y)} rows)")
    print("\ncross-file (refusal judge): threshold tuned on one file, accuracy on the other")
    grid = [round(0.05 * i, 2) for i in range(1, 20)]
    for dev, test in (FILES, FILES[::-1]):
        y_dev = gold(data[dev])
        best = max(grid, key=lambda t: (scores(y_dev, [s >= t for s in refusal_scores[dev]])["accuracy"], -abs(t - 0.5)))
        s = scores(gold(data[test]), [x >= best for x in refusal_scores[test]])
        print(f"  tune on {dev:<34} -> threshold {best:.2f} -> {test}: acc {s['accuracy']:.4f}  prec {s['precision']:.4f}  recall {s['recall']:.4f}")

    y_all = [y for f in FILES for y in gold(data[f])]
    s_all = [x for f in FILES for x in refusal_scores[f]]
    inside = [(y, x >= THRESHOLD) for y, x in zip(y_all, s_all) if is_uncertain(x)]
    outside = [(y, x >= THRESHOLD) for y, x in zip(y_all, s_all) if not is_uncertain(x)]
    acc = lambda pairs: sum(a == b for a, b in pairs) / max(1, len(pairs))  # noqa: E731
    print(f"\nuncertain band: {len(inside)} of {len(s_all)} rows ({100 * len(inside) / len(s_all):.1f}%); "
          f"accuracy {acc(inside):.3f} inside, {acc(outside):.3f} outside")
    print("\nthree-way outcomes (refusal judge) by human label, pooled:")
    counts: dict[tuple, int] = {}
    for rows in data.values():
        for r, v in zip(rows, judge_outcomes(get_judge("refusal"), [r["prompt"] for r in rows],
                                             [r["completion"] for r in rows])):
            key = (r["final_label"], v["outcome"], v["outcome_reason"] or "")
            counts[key] = counts.get(key, 0) + 1
    for (label, outcome, reason), n in sorted(counts.items()):
        print(f"  {label:<18} {outcome:<9} {reason:<14} {n:>4}")
    written_pairs(args.data / "written_pairs.jsonl")
    study_labels(args.data / "mini_study_generations.jsonl.gz", args.data / "mini_study_labels.jsonl")
    benign(args.data.parent / "benign" / "alpaca_en_demo.json", args.show_benign)
    speed([r for f in FILES for r in data[f]])


def written_pairs(path: Path) -> None:
    """Accuracy per split and per family on the hand-written pairs."""
    if not path.is_file():
        print(f"\nwritten pairs: {path} not found")
        return
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    verdicts = analyse_many([r["response"] for r in rows], [r["prompt"] for r in rows])
    right: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r, v in zip(rows, verdicts):
        for key in ((r["split"], "all"), (r["split"], r["family"]), ("all", r["family"]), ("all", "all")):
            right[key][0] += v.refused == r["refused"]
            right[key][1] += 1
    print("\nwritten pairs (refusal detector): accuracy by split and family")
    families = sorted({r["family"] for r in rows})
    print(f"  {'family':<20} {'dev':>9} {'test':>9} {'all':>9}")
    for fam in ["all"] + families:
        cells = [f"{right[(s, fam)][0]}/{right[(s, fam)][1]}" if right[(s, fam)][1] else "-" for s in ("dev", "test", "all")]
        print(f"  {fam:<20} {cells[0]:>9} {cells[1]:>9} {cells[2]:>9}")
    for s in ("dev", "test", "all"):
        k, n = right[(s, "all")]
        print(f"  accuracy {s}: {k / n:.4f} ({k}/{n})")
    k, n = right[("all", "identity_compliant")]
    if n:
        print(f"  identity-prefixed compliant answers judged complied: {k / n:.4f} ({k}/{n})")


def study_labels(generations: Path, labels: Path) -> None:
    """Judges against the hand labels of the mini study's own generations."""
    if not (generations.is_file() and labels.is_file()):
        print(f"\nmini study labels: {generations.name} or {labels.name} not found")
        return
    rows = {r["id"]: r for r in map(json.loads, gzip.open(generations, "rt", encoding="utf-8"))}
    gold_rows = [{**rows[lab["id"]], **lab} for lab in map(json.loads, labels.read_text(encoding="utf-8").splitlines())]
    prompts, answers = [r["prompt"] for r in gold_rows], [r["response"] for r in gold_rows]
    print(f"\nmini study generations, hand-labelled ({len(gold_rows)} rows): refusal accuracy "
          "(label refused vs complied/neither)")
    print(f"  {'judge':<8} {'part':<28} {'n':>4}  acc     prec    recall")
    for name in ("keyword", "refusal"):
        verdicts = judge_outcomes(get_judge(name), prompts, answers)
        for r, v in zip(gold_rows, verdicts):
            r[name] = v
        parts = [("all", gold_rows)] + [(f"split={sp}", [r for r in gold_rows if r["split"] == sp]) for sp in ("dev", "test")]
        parts += [(f"model={m}", [r for r in gold_rows if r["row"] == m]) for m in sorted({r["row"] for r in gold_rows})]
        for label, part in parts:
            s = scores([r["label"] == "refused" for r in part], [bool(r[name]["refused"]) for r in part])
            print(f"  {name:<8} {label:<28} {s['n']:>4}  {s['accuracy']:.4f}  {s['precision']:.4f}  {s['recall']:.4f}")
    print("  three-way outcome (refusal judge) vs label: agreement per split, then per label (recall) on each split")
    for sp in ("dev", "test"):
        part = [r for r in gold_rows if r["split"] == sp]
        agree = sum(r["refusal"]["outcome"] == r["label"] for r in part)
        cells = []
        for lab in ("refused", "complied", "neither"):
            of = [r for r in part if r["label"] == lab]
            cells.append(f"{lab} {sum(r['refusal']['outcome'] == lab for r in of)}/{len(of)}")
        print(f"    {sp:<5} {agree}/{len(part)} = {agree / max(1, len(part)):.3f}   " + "   ".join(cells))
    confusion: dict[tuple[str, str], int] = defaultdict(int)
    for r in gold_rows:
        confusion[(r["label"] + (f"/{r['reason']}" if r.get("reason") else ""), r["refusal"]["outcome"]
                   + (f"/{r['refusal']['outcome_reason']}" if r["refusal"].get("outcome_reason") else ""))] += 1
    print("  label -> judged outcome (all rows):")
    for (lab, out), n in sorted(confusion.items()):
        print(f"    {lab:<22} {out:<22} {n:>4}")


def benign(path: Path, show: bool) -> None:
    """How many benign instruction answers the detector flags, judged with their instruction."""
    if not path.is_file():
        print(f"\nbenign: {path} not found")
        return
    rows = json.loads(path.read_text(encoding="utf-8"))
    prompts = [(r["instruction"] + ("\n" + r["input"] if r.get("input") else "")).strip() for r in rows]
    flagged = [(i, a) for i, a in enumerate(analyse_many([r["output"] for r in rows], prompts)) if a.refused]
    no_prompt = sum(a.refused for a in analyse_many([r["output"] for r in rows]))
    print(f"\nbenign instruction answers ({path.name}, {len(rows)} rows): {len(flagged)} flagged with the instruction "
          f"as prompt, {no_prompt} without a prompt (hand check of the flagged rows: docs/judges.md)")
    if show:
        for i, a in flagged:
            print(f"  [{i}] {a.score:.2f} {a.rationale()[:70]}\n      Q: {prompts[i][:100]!r}\n      A: {rows[i]['output'][:200]!r}")


def speed(rows: list[dict]) -> None:
    responses, prompts = [r["completion"] for r in rows], [r["prompt"] for r in rows]
    analyse_many(responses[:5], prompts[:5])  # load spaCy and build the matchers
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        analyse_many(responses, prompts)
        best = min(best, time.process_time() - t0)
    print(f"\nspeed: refusal detector, {len(rows)} rows in {best:.2f} CPU s after load (best of 3, one core)")


if __name__ == "__main__":
    main()
