"""Throughput of `safetune run` on the local engine (1 and 2 processes) and on Ray (1 and 2 CPUs).

    python benchmarks/bench_engines.py --rows 50000                 # one variant, four configs
    python benchmarks/bench_engines.py --rows 1000000 --configs ray:16 --ray-address auto

Input: alpaca_en_demo replicated to N rows, each prompt and answer tagged with its row
number so that every row is distinct (no cache makes later copies cheaper). The recipe is
transforms/paper_factorial.yaml restricted to `--variants` (default: the variant with the
most work, markdown + identity inject + persona). rows/s counts transform-and-write time
from each variant's manifest (conversion of the input is the same for every engine and is
shown separately); `wall` includes starting Ray. Shard hashes of every config are compared:
the engines must write identical bytes.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
ALPACA = Path(os.environ.get("SAFETUNE_SHARED_DATA", REPO / "data")) / "benign" / "alpaca_en_demo.json"
FACTORIAL = REPO / "transforms" / "paper_factorial.yaml"
DEFAULT_VARIANT = "structure=markdown,identity=inject,roleplay=add"


def make_input(path: Path, rows: int) -> None:
    """Alpaca rows replicated to `rows`, each made distinct by a row tag."""
    src = json.loads(ALPACA.read_text(encoding="utf-8"))
    with open(path, "w", encoding="utf-8") as fh:
        for k in range(rows):
            r = src[k % len(src)]
            tag = f" (ref {k})"
            fh.write(json.dumps({"instruction": r["instruction"] + tag, "input": r["input"], "output": r["output"] + tag}) + "\n")


def run_one(engine: str, workers: int, data: Path, out: Path, variants: list[str], address: str | None) -> dict:
    from safetune_data.recipe import load_recipe
    from safetune_data.run import run_recipe

    recipe = load_recipe(FACTORIAL, overrides=[f"input.path={data}", "input.format=alpaca", "output.card=false"], select=variants)
    t0 = time.perf_counter()
    index = run_recipe(recipe, out, overwrite=True, num_proc=workers, engine=engine,
                       ray_address=address if engine == "ray" else None)
    wall = time.perf_counter() - t0
    rows = transform = read = 0.0
    hashes = []
    for v in index["variants"]:
        m = json.loads((out / v["dir"] / "manifest.json").read_text())
        rows += m["output"]["rows"]
        transform += m["seconds"]["transform_and_write"]
        read = m["seconds"]["read"]
        hashes += [s["sha256"] for s in m["output"]["shards"]]
    return {"engine": engine, "workers": workers, "rows": int(rows), "transform_s": transform, "read_s": read,
            "wall_s": wall, "rows_per_s": rows / transform if transform else float("nan"), "hashes": hashes}


def driver_ceiling(out: Path) -> float:
    """Rows/s of the Ray driver's serial part: decode 256-row envelopes and write shards.

    However many CPUs the cluster has, `--engine ray` cannot write faster than this.
    """
    import datasets
    import pyarrow as pa

    from safetune_data.io.writer import ShardWriter

    table = datasets.load_from_disk(str(out)).data.table
    payloads = []
    for start in range(0, table.num_rows, 256):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as w:
            w.write_table(table.slice(start, 256))
        payloads.append(sink.getvalue().to_pybytes())
    with tempfile.TemporaryDirectory(prefix="bench-driver-") as tmp:
        t0 = time.perf_counter()
        writer = ShardWriter(Path(tmp), table.schema, "500MB")
        for p in payloads:
            writer.write_table(pa.ipc.open_stream(p).read_all())
        writer.close()
        return table.num_rows / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="input rows (default 1,000,000)")
    ap.add_argument("--variants", default=DEFAULT_VARIANT, help="variant name or glob of paper_factorial ('*' = all 8)")
    ap.add_argument("--configs", default="local:1,local:2,ray:1,ray:2", help="engine:workers list")
    ap.add_argument("--ray-address", default=None, help="run the ray configs on this cluster (workers is then ignored)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()

    configs = [(c.split(":")[0], int(c.split(":")[1])) for c in args.configs.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp:
        data = Path(tmp) / "input.jsonl"
        t0 = time.perf_counter()
        make_input(data, args.rows)
        print(f"input: {args.rows:,} distinct rows ({data.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f}s; "
              f"variants: {args.variants}", flush=True)
        for engine, workers in configs:
            r = run_one(engine, workers, data, Path(tmp) / f"out-{engine}-{workers}", [args.variants], args.ray_address)
            r["out"] = str(Path(tmp) / f"out-{engine}-{workers}")
            results.append(r)
            print(f"  {engine:5s} x{workers}: {r['rows_per_s']:8.0f} rows/s  transform+write {r['transform_s']:7.1f}s  "
                  f"read {r['read_s']:5.1f}s  wall {r['wall_s']:7.1f}s", flush=True)

        out0 = Path(results[0]["out"])
        ceiling = driver_ceiling(next(p for p in out0.iterdir() if p.is_dir()))

    base = {e: next((r for r in results if r["engine"] == e), None) for e in ("local", "ray")}
    print(f"\n{'engine':8s}{'workers':>8s}{'rows/s':>10s}{'vs x1':>8s}{'vs local x1':>13s}{'wall s':>9s}")
    for r in results:
        own = base[r["engine"]]
        loc = base["local"]
        print(f"{r['engine']:8s}{r['workers']:>8d}{r['rows_per_s']:>10.0f}{r['rows_per_s'] / own['rows_per_s']:>8.2f}"
              f"{(r['rows_per_s'] / loc['rows_per_s']) if loc else float('nan'):>13.2f}{r['wall_s']:>9.1f}")
    print(f"\ndriver ceiling (decode envelopes + write shards, one core): {ceiling:,.0f} rows/s")
    same = len({tuple(r["hashes"]) for r in results}) == 1
    print(f"\nidentical shards across all configs: {'yes' if same else 'NO'}  (cpus on this machine: {os.cpu_count()})")
    if args.json:
        args.json.write_text(json.dumps(
            {"rows": args.rows, "variants": args.variants, "driver_ceiling_rows_per_s": ceiling, "results": results}, indent=2))
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
