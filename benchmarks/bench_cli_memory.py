"""Peak memory of the CLI paths users take, with their defaults (card on), at two sizes.

Builds N-row JSONL files by replicating the bundled Alpaca demo with a distinct `uid` per
row, then runs, each as its own `safetune` process so the peak RSS is that command's own:
  convert   safetune convert FILE --out DIR              (shards + manifest + card)
  run       safetune run RECIPE --out DIR                (one structure.markdown variant + card)
and prints seconds and peak RSS per size. The target is < 600 MB at any size, flat in rows.

    python benchmarks/bench_cli_memory.py [--rows 50000 200000] [--data data/benign/alpaca_en_demo.json]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SAFETUNE_SHARED_DATA", REPO / "data")) / "benign" / "alpaca_en_demo.json"
SAFETUNE = [sys.executable, "-c", "from safetune_data.cli.main import main; main()"]
# The child's peak RSS, measured from a parent that runs only that child.
MEASURE = "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); " \
          "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"


def build(src: Path, rows: int, dest: Path) -> None:
    base = json.loads(src.read_text(encoding="utf-8"))
    with open(dest, "w", encoding="utf-8") as fh:
        for k in range(rows):
            r = base[k % len(base)]
            fh.write(json.dumps({"instruction": r["instruction"], "input": r["input"], "output": r["output"], "uid": k},
                                ensure_ascii=False) + "\n")


def peak(cmd: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one command."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURE, *cmd], check=True, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    return time.perf_counter() - t0, int(done.stdout.split()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[50_000, 200_000])
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-cli-memory-"))
    try:
        for n in args.rows:
            src = tmp / f"rows-{n}.jsonl"
            build(args.data, n, src)
            recipe = tmp / f"recipe-{n}.yaml"
            recipe.write_text(f"name: markdown\ninput: {{path: {src}}}\nsteps:\n  - structure.markdown: {{}}\n")
            for job, cmd in (("convert", [*SAFETUNE, "convert", str(src), "--out", str(tmp / f"conv-{n}")]),
                             ("run", [*SAFETUNE, "run", str(recipe), "--out", str(tmp / f"run-{n}")])):
                seconds, rss = peak(cmd)
                print(f"{job:8s} {n:>9,} rows  {seconds:7.1f}s  peak RSS {rss:6.0f} MB  (target < 600 MB)", flush=True)
            for p in tmp.iterdir():
                if p.is_dir():
                    shutil.rmtree(p)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
