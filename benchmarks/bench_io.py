"""I/O benchmark: convert a large JSONL and compare with the I/O floor and with `datasets`.

Builds an N-row JSONL (default 1,000,000) by replicating alpaca_en_demo with a distinct
`uid` per row, then times, each in its own process so peak RSS is its own:
  ours     safetune_data.convert (parse, check, normalise to records, shards + manifest)
  floor    pyarrow.json.read_json + Arrow IPC write of the same rows (no checks, no records)
  datasets datasets.load_dataset("json") + save_to_disk
and prints rows/s, peak RSS and our time relative to each.

    python benchmarks/bench_io.py [--rows 1000000] [--data data/benign/alpaca_en_demo.json]
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

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = Path(os.environ.get("SAFETUNE_SHARED_DATA", HERE.parent / "data")) / "benign" / "alpaca_en_demo.json"

JOBS = {
    "ours": """
import safetune_data as st
st.convert(SRC, OUT, card=False)
""",
    "floor": """
import pyarrow as pa, pyarrow.json as pj
t = pj.read_json(SRC)
with pa.OSFile(OUT + ".arrow", "wb") as sink, pa.ipc.new_stream(sink, t.schema) as w:
    w.write_table(t)
""",
    "datasets": """
import datasets
datasets.disable_progress_bars()
ds = datasets.load_dataset("json", data_files=SRC, split="train", cache_dir=OUT + "-cache")
ds.save_to_disk(OUT)
""",
}


def build(src: Path, rows: int, dest: Path) -> None:
    base = json.loads(src.read_text())
    with open(dest, "w", encoding="utf-8") as fh:
        for k in range(rows):
            r = base[k % len(base)]
            fh.write(json.dumps({"instruction": r["instruction"], "input": r["input"], "output": r["output"], "uid": k}, ensure_ascii=False) + "\n")


def timed(job: str, src: Path, out: Path) -> tuple[float, float]:
    """Seconds and the child's own peak RSS in MB (it reports ru_maxrss of itself)."""
    code = f"SRC={str(src)!r}; OUT={str(out)!r}\n" + JOBS[job] + "\nimport resource; print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    seconds = time.perf_counter() - t0
    rss_kb = int(next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("RSS ")))
    return seconds, rss_kb / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-io-"))
    try:
        src = tmp / "big.jsonl"
        t0 = time.perf_counter()
        build(args.data, args.rows, src)
        print(f"built {args.rows:,} rows ({src.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f}s")
        small = tmp / "small.jsonl"
        with open(src, "rb") as fin, open(small, "wb") as fout:
            for _ in range(args.rows // 5):
                fout.write(fin.readline())
        results = {}
        for job, path in (("ours", small), ("ours", src), ("floor", src), ("datasets", src)):
            out = tmp / f"out-{job}"
            seconds, rss = timed(job, path, out)
            n = args.rows // 5 if path == small else args.rows
            results[(job, n)] = (seconds, rss)
            print(f"{job:9s} {n:>9,} rows {seconds:7.1f}s  {n / seconds:10,.0f} rows/s  peak RSS {rss:7.0f} MB")
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(str(out) + "-cache", ignore_errors=True)
            Path(str(out) + ".arrow").unlink(missing_ok=True)
        ours = results[("ours", args.rows)]
        print(f"ours / floor    = {ours[0] / results[('floor', args.rows)][0]:.2f}x  (target <= 2x)")
        print(f"ours / datasets = {ours[0] / results[('datasets', args.rows)][0]:.2f}x")
        print(f"ours peak RSS   = {ours[1]:.0f} MB at {args.rows:,} rows, {results[('ours', args.rows // 5)][1]:.0f} MB at {args.rows // 5:,} (target < 1500 MB, flat)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
