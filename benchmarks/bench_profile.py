"""Throughput and memory of the factor profile.

    python benchmarks/bench_profile.py --rows 1000000          # alpaca_en_demo replicated
    python benchmarks/bench_profile.py --distinct 100000        # every row distinct

Replicated rows are the best case: the detectors run once per distinct text (999 answers)
and every later batch is a cache hit, so the figure measures the Arrow/polars path. The
`--distinct` run appends a unique tag to each prompt and answer, so every text goes
through every detector: that is the honest per-row detector cost. Prints rows/s, the
split between detection and aggregation, and the peak RSS of the process.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
ALPACA = Path(os.environ.get("SAFETUNE_SHARED_DATA", REPO / "data")) / "benign" / "alpaca_en_demo.json"


def records(tag: str = "", start: int = 0, n: int | None = None) -> list[dict]:
    rows = json.loads(ALPACA.read_text(encoding="utf-8"))
    n = len(rows) if n is None else n
    out = []
    for k in range(start, start + n):
        r = rows[k % len(rows)]
        suffix = f" [{tag}{k}]" if tag else ""
        prompt = r["instruction"] + (f"\n\n{r['input']}" if r["input"] else "")
        out.append({
            "id": f"bench-{k:08d}",
            "messages": [{"role": "user", "content": prompt + suffix}, {"role": "assistant", "content": r["output"] + suffix}],
            "meta": {"source": "alpaca_en_demo.json", "source_index": k % len(rows)},
        })
    return out


def replicated_table(n_rows: int) -> pa.Table:
    """n_rows rows made of alpaca_en_demo repeated (chunks share buffers: little memory)."""
    base = pa.Table.from_pylist(records())
    reps, rest = divmod(n_rows, base.num_rows)
    return pa.concat_tables([base] * reps + ([base.slice(0, rest)] if rest else []))


def distinct_table(n_rows: int) -> pa.Table:
    chunks = [pa.Table.from_pylist(records("u", s, min(10_000, n_rows - s))) for s in range(0, n_rows, 10_000)]
    return pa.concat_tables(chunks)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run(label: str, table: pa.Table, batch_rows: int) -> dict:
    from safetune_data.profile import load_detectors, profile_table

    detectors = load_detectors()
    timings: dict = {}
    t0 = time.perf_counter()
    profile = profile_table(table, name=label, detectors=detectors, batch_rows=batch_rows, timings=timings)
    total = time.perf_counter() - t0
    result = {
        "run": label,
        "rows": table.num_rows,
        "seconds": round(total, 2),
        "rows_per_s": round(table.num_rows / total),
        "detect_s": round(timings["detect_s"], 2),
        "aggregate_s": round(timings["aggregate_s"], 3),
        "peak_rss_mb": round(peak_rss_mb()),
        "list_share": profile["structure"]["shares"]["list"],
    }
    print(
        f"{label}: {result['rows']:,} rows in {result['seconds']} s = {result['rows_per_s']:,} rows/s "
        f"(detection {result['detect_s']} s, aggregation {result['aggregate_s']} s); peak RSS {result['peak_rss_mb']} MB"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=0, help="replicated rows to profile (e.g. 1000000)")
    ap.add_argument("--distinct", type=int, default=0, help="distinct rows to profile (e.g. 100000)")
    ap.add_argument("--batch-rows", type=int, default=20_000)
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not (args.rows or args.distinct):
        args.rows = 100_000
    # load the detectors (and their spaCy pipelines) outside the timed part
    from safetune_data.profile import load_detectors

    load_detectors()
    if args.rows:
        run("replicated", replicated_table(args.rows), args.batch_rows)
    if args.distinct:
        run("distinct", distinct_table(args.distinct), args.batch_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
