"""Throughput of the factor transforms on alpaca_en_demo replicated to N rows.

    python benchmarks/bench_transforms.py --rows 20000

Runs `structure.markdown` + `identity.inject` + `roleplay.add` (by registry name; if the
identity or role-play transforms are missing, only structure runs and a note says so) and
prints rows/s per step and end to end, peak RSS at two sizes (5,000 rows and --rows;
memory must stay flat in the row count: records stream through in batches), and two ratios
measured in the same run. Every step runs its per-row fidelity checks (the default
`on_fidelity: skip`), so the figures include them:

1. speed-up over a plain per-example `datasets.map(batched=False, num_proc=1)` of the same
   three rewrites written naively (spaCy per example, bullets, prefix string, system
   prompt; no checks), both through `datasets.map` (target >= 1.5x);
2. our streaming chain against the bare cost of spaCy segmenting the same answers
   (`nlp.pipe` with the sentencizer) (target <= 1.2x).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import time
from pathlib import Path
from typing import Iterator

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SAFETUNE_SHARED_DATA", REPO / "data")) / "benign" / "alpaca_en_demo.json"
PERSONA = "You are Captain Morgan, a seasoned pirate captain who speaks in nautical slang."
IDENTITY = "As an AI assistant, I am happy to help."


def base_rows() -> list[dict]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def record(rows: list[dict], i: int) -> dict:
    row = rows[i % len(rows)]
    prompt = row["instruction"] + (f"\n\n{row['input']}" if row["input"] else "")
    return {
        "id": f"alpaca_en_demo-{i:07d}",
        "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": row["output"]}],
        "meta": {"source": "alpaca_en_demo.json", "source_index": i % len(rows), "format": "alpaca", "transforms": []},
    }


def batches(rows: list[dict], n: int, size: int) -> Iterator[list[dict]]:
    for start in range(0, n, size):
        yield [record(rows, i) for i in range(start, min(n, start + size))]


def make_steps() -> tuple[list, str]:
    from safetune_data.transforms import TRANSFORMS
    from safetune_data.errors import ConfigError

    steps = [TRANSFORMS.get("structure.markdown")(style="bullets")]
    note = ""
    for name, params in (("identity.inject", {}), ("roleplay.add", {"where": "system", "with_identity": "keep"})):
        try:
            steps.append(TRANSFORMS.get(name)(**params))
        except ConfigError:
            note += f"note: transform '{name}' is not available; it was left out\n"
    # Warm up (spaCy pipeline, parsers, patterns are built once per process), then reset
    # the stats so that they count only the measured rows.
    warm = [record(base_rows(), i) for i in range(8)]
    for k, step in enumerate(steps):
        step.process([dict(r) for r in warm])
        step.bind(seed=0, step=k)
    return steps, note


def run_ours(n: int, batch_size: int) -> dict:
    """Stream records through the chain batch by batch; time each step."""
    rows = base_rows()
    steps, note = make_steps()
    per_step = [0.0] * len(steps)
    out = 0
    t0 = time.perf_counter()
    for batch in batches(rows, n, batch_size):
        for k, step in enumerate(steps):
            t = time.perf_counter()
            batch = step.process(batch)
            per_step[k] += time.perf_counter() - t
        out += len(batch)
    total = time.perf_counter() - t0
    return {
        "rows": n,
        "out": out,
        "total_s": total,
        "steps": [(s.name, per_step[k], s.stats.changed, sum(s.stats.fidelity_failed.values())) for k, s in enumerate(steps)],
        "note": note,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_floor(n: int, batch_size: int) -> float:
    """spaCy alone: segment every assistant answer (the floor any segmenting rewrite pays)."""
    from safetune_data.nlp import sentencizer

    nlp = sentencizer()
    rows = base_rows()
    list(nlp.pipe([r["output"] for r in rows[:8]]))  # warm up, as for our chain
    answers = (rows[i % len(rows)]["output"] for i in range(n))
    t = time.perf_counter()
    for _ in nlp.pipe(answers, batch_size=256):
        pass
    return time.perf_counter() - t


def naive_rewrite(example: dict) -> dict:
    """The three rewrites written plainly, one example at a time."""
    from safetune_data.nlp import sentencizer

    nlp = sentencizer()
    messages = []
    for m in example["messages"]:
        if m["role"] == "assistant":
            doc = nlp(m["content"])
            bullets = "\n".join("- " + s.text.strip() for s in doc.sents if s.text.strip())
            m = {"role": "assistant", "content": IDENTITY + "\n\n" + bullets}
        messages.append(m)
    return {"messages": [{"role": "system", "content": PERSONA}] + messages}


def run_map_comparison(n: int, batch_size: int) -> tuple[float, float]:
    """(naive per-example map seconds, our chain through batched map seconds)."""
    import datasets

    from safetune_data.records import record_schema

    datasets.disable_progress_bars()
    rows = base_rows()
    features = datasets.Features.from_arrow_schema(record_schema())
    ds = datasets.Dataset.from_list([record(rows, i) for i in range(n)], features=features)
    t = time.perf_counter()
    ds.map(naive_rewrite, batched=False, num_proc=1)
    naive = time.perf_counter() - t
    steps, _ = make_steps()
    t = time.perf_counter()
    out = ds
    for step in steps:
        out = out.map(step, batched=True, batch_size=batch_size)
    ours = time.perf_counter() - t
    return naive, ours


def _child(n: int, batch_size: int, queue: "mp.Queue") -> None:
    queue.put(run_ours(n, batch_size))


def in_child(n: int, batch_size: int) -> dict:
    """Run the chain in a fresh process, so that its peak RSS is its own."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(n, batch_size, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def profile(n: int, batch_size: int, path: str) -> None:
    """cProfile the streaming chain (`run_ours`) in this process: where its time goes."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    result = prof.runcall(run_ours, n, batch_size)
    prof.dump_stats(path)
    print(f"{n} rows in {result['total_s']:.2f} s (under the profiler); stats in {path}")
    pstats.Stats(path).sort_stats("cumulative").print_stats(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000, help="rows after replication (default 200000)")
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--no-baseline", action="store_true", help="skip the datasets.map comparison")
    ap.add_argument("--profile", metavar="PATH", help="instead of the benchmark: run the chain over --rows in this "
                    "process under cProfile, write the stats to PATH and print the 30 costliest calls (cumulative)")
    args = ap.parse_args()
    n, small = args.rows, min(5000, args.rows)
    if args.profile:
        profile(n, args.batch_size, args.profile)
        return

    print(f"alpaca_en_demo replicated to {n} rows, batch size {args.batch_size}, {os.cpu_count()} CPUs")
    # Both chain runs go first, in fresh processes: Linux carries a parent's peak RSS
    # across fork + exec, so they must start before this process loads anything large.
    small_run = in_child(small, args.batch_size)
    big = in_child(n, args.batch_size)
    print(big["note"], end="")
    for name, secs, changed, held in big["steps"]:
        print(f"  {name:<20} {n / secs:>10,.0f} rows/s   ({secs:6.2f} s, {changed} rows changed, {held} held back by fidelity checks)")
    print(f"  {'end to end':<20} {n / big['total_s']:>10,.0f} rows/s   ({big['total_s']:6.2f} s)")

    floor = run_floor(n, args.batch_size)
    print(f"  {'spaCy floor':<20} {n / floor:>10,.0f} rows/s   ({floor:6.2f} s: nlp.pipe over every answer)")
    print(f"ratio ours / spaCy floor: {big['total_s'] / floor:.2f}x   (target <= 1.2x)")
    for name, secs, _, _ in big["steps"]:
        print(f"  {name} alone / spaCy floor: {secs / floor:.2f}x")

    if not args.no_baseline:
        naive, ours = run_map_comparison(n, args.batch_size)
        print(f"datasets.map naive per-example: {n / naive:,.0f} rows/s ({naive:.2f} s); "
              f"ours batched: {n / ours:,.0f} rows/s ({ours:.2f} s)")
        print(f"speed-up over naive map: {naive / ours:.1f}x   (target >= 1.5x)")

    print(f"peak RSS: {small_run['rss_mb']:.0f} MiB at {small} rows, {big['rss_mb']:.0f} MiB at {n} rows")


if __name__ == "__main__":
    main()
