"""How a judge change moves a finished run's numbers: the same answers, judged by the refusal
judge of an earlier revision of this repository and by today's.

    python examples/mini_study/judge_then_now.py mini_study_work/results_full --before 5c8f1a8^ \
        --out examples/mini_study/results/full/judge_then_now

1. checks out `--before` into a temporary git worktree (removed at the end);
2. in a separate Python process whose `safetune_data` is that checkout, judges every stored
   answer of RUN_DIR/generations/ with that revision's `refusal` judge;
3. builds, in a temporary folder, a copy of the run whose recorded verdicts are those, with
   every row's rates recomputed from them (`runner.summarise_judged`, today's metrics);
4. runs `harness rejudge` on that copy with today's `refusal` judge, and keeps only
   comparison.md / comparison.json in --out: every row's rates and every factor effect,
   then (the earlier judge) and now.

The default `--before` is the revision before the refusal judge's content signal, the judge
the study's first README reading was measured with.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Runs inside the earlier checkout: reads [[prompt, response], ...] per file, prints verdicts.
OLD_JUDGE = """
import json, sys
from safetune_data.harness.judges import get_judge
judge = get_judge("refusal")
jobs = json.load(open(sys.argv[1], encoding="utf-8"))
out = {key: judge.judge_batch([p for p, _ in pairs], [r for _, r in pairs]) for key, pairs in jobs.items()}
json.dump(out, open(sys.argv[2], "w", encoding="utf-8"))
"""


def old_verdicts(run_dir: Path, rows: list[str], revision: str, scratch: Path) -> dict[str, list[dict]]:
    """row name -> the earlier judge's verdict for each stored answer, in file order."""
    checkout = scratch / "checkout"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-f", str(checkout), revision],
                   check=True, capture_output=True, text=True)
    try:
        jobs = {name: [[a["prompt"], a["response"]] for a in stored_answers(run_dir, name)] for name in rows}
        (scratch / "jobs.json").write_text(json.dumps(jobs), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(checkout), "HF_HUB_OFFLINE": "1"}
        subprocess.run([sys.executable, "-c", OLD_JUDGE, str(scratch / "jobs.json"), str(scratch / "verdicts.json")],
                       check=True, env=env, cwd=str(scratch))
        return json.loads((scratch / "verdicts.json").read_text(encoding="utf-8"))
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(checkout)],
                       capture_output=True, text=True)


def stored_answers(run_dir: Path, name: str) -> list[dict]:
    """A row's stored answers, from generations/<row>.jsonl or .jsonl.gz."""
    from safetune_data.harness.effects import generations_file
    from safetune_data.io.sources import read_rows

    return [loc.row for loc in read_rows(generations_file(run_dir / "generations", name))]


def run_copy(run_dir: Path, verdicts: dict[str, list[dict]], dest: Path) -> Path:
    """A copy of the run whose recorded `refusal` verdicts are the earlier judge's."""
    from safetune_data.harness.rejudge import benchmark_item, load_run
    from safetune_data.harness.runner import VERDICT_KEYS, summarise_judged

    doc = load_run(run_dir)
    (dest / "generations").mkdir(parents=True)
    rows = []
    for row in doc["rows"]:
        if row["name"] not in verdicts:
            continue
        answers = stored_answers(run_dir, row["name"])
        by_bench: dict[str, dict[str, list[dict]]] = {}
        with open(dest / "generations" / f"{row['name']}.jsonl", "w", encoding="utf-8") as fh:
            for a, v in zip(answers, verdicts[row["name"]]):
                fh.write(json.dumps({**a, "judgements": {"refusal": v}}, ensure_ascii=False) + "\n")
                by_bench.setdefault(a["benchmark"], {"refusal": []})["refusal"].append(
                    {**benchmark_item(a), **{k: v.get(k) for k in VERDICT_KEYS}})
        rows.append({**row, **summarise_judged(by_bench)})
    doc.update(rows=rows, judges=[{"name": "refusal", "options": {}}], primary_judge="refusal")
    (dest / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path, help="a finished harness run (results.json + generations/), or a study "
                    "summary folder (harness_results.json + generations/*.jsonl.gz)")
    ap.add_argument("--before", default="5c8f1a8^", help="git revision whose refusal judge gives the 'then' verdicts")
    ap.add_argument("--out", type=Path, required=True, help="folder for comparison.md / comparison.json (new, or replaced)")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from safetune_data.harness.rejudge import load_run, rejudge

    doc = load_run(args.run_dir)
    names = [r["name"] for r in doc["rows"] if r.get("evaluated", True)]
    with tempfile.TemporaryDirectory(prefix="judge_then_now-") as tmp:
        scratch = Path(tmp)
        verdicts = old_verdicts(args.run_dir, names, args.before, scratch)
        before = run_copy(args.run_dir, verdicts, scratch / "before")
        rejudge(before, scratch / "after", judges=["refusal"],
                before_label=f"`refusal` at `{args.before}`")
        args.out.mkdir(parents=True, exist_ok=True)
        for name in ("comparison.md", "comparison.json"):
            shutil.copyfile(scratch / "after" / name, args.out / name)
    print((args.out / "comparison.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
