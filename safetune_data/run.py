"""`safetune run`: read a recipe's input once, run every variant, write them side by side.

Layout of a run directory (built in a temporary sibling and renamed into place at the end):

    OUT/index.json                 variants with their factors, rows and paths
    OUT/<variant>/data-*.arrow     shards (datasets.load_from_disk works)
    OUT/<variant>/manifest.json    resolved recipe, inputs with sha256, per-step stats, hashes
    OUT/<variant>/trace.jsonl      seeded before/after pairs per step
    OUT/<variant>/README.md        dataset card
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Callable

from .card import write_card
from .engines import check_engine, engine_session, engine_versions
from .errors import ConfigError, InputError
from .io.api import base_manifest, convert, finish_output
from .io.atomic import write_json_atomic, write_jsonl_atomic
from .io.mapped import MappedShards
from .io.sources import read_json
from .io.tempdirs import scratch
from .io.writer import DEFAULT_SHARD_SIZE, OutputDir, ShardWriter, check_output_dir
from .recipe import Recipe

DEFAULT_TRACE = 5
INDEX_FILE = "index.json"


def read_index(path: str | Path) -> dict[str, Any]:
    """A run's index (OUT/index.json, given as OUT or as the file); InputError when it is
    missing or not an index, so readers of runs never parse the layout themselves."""
    path = Path(path)
    if path.is_dir():
        path = path / INDEX_FILE
    if not path.is_file():
        raise InputError("index file not found", file=str(path), hint="give the output directory of `safetune run`")
    index = read_json(path)
    variants = index.get("variants") if isinstance(index, dict) else None
    if not isinstance(variants, list) or not all(isinstance(v, dict) and {"name", "dir"} <= set(v) for v in variants):
        raise InputError("not a `safetune run` index (no list of variants with name and dir)", file=str(path),
                         field="variants")
    return index


def fidelity_digest(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per rewriting step of a variant: the share of rows it moved and the share its fidelity
    checks held back (or flagged), so the index shows how clean each grid cell is."""
    return [{"step": s["step"], "op": s["op"], "moved_share": f["moved_share"],
             "failed_share": round(sum(f["failed_share"].values()), 4), "action": f["action"]}
            for s in steps if (f := s.get("fidelity"))]


def index_variants(path: str | Path) -> list[tuple[str, Path, dict[str, Any]]]:
    """(name, directory, factors) of every variant of a run, directories resolved."""
    path = Path(path)
    root = path if path.is_dir() else path.parent
    return [(v["name"], (root / v["dir"]).resolve(), v.get("factors") or {}) for v in read_index(path)["variants"]]


def run_recipe(
    recipe: Recipe,
    out: str | Path | None = None,
    *,
    overwrite: bool = False,
    num_proc: int | None = None,
    command: list[str] | None = None,
    on_variant: Callable[[str, int, int], None] | None = None,
    on_rows: Callable[[int], None] | None = None,
    on_read: Callable[[int], None] | None = None,
    engine: str | None = None,
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Run all variants of `recipe`; return the index written to OUT/index.json.

    `engine` ("local" | "ray"; default: the recipe's `engine:`, else ray if `ray_address` is
    given, else local) decides where record transforms run; both write identical shards.
    `ray_address` names a running Ray cluster (default: start Ray here with `num_proc` CPUs).
    Progress: `on_read(n)` as input rows are read, `on_variant(name, k, n)` as variant k of n
    starts, `on_rows(n)` as its rows are written.
    """
    output = recipe.data.get("output") or {}
    out = out or output.get("dir")
    if not out:
        raise ConfigError("no output directory: pass --out or set output.dir", file=recipe.path, field="output.dir")
    shard_size = output.get("shard_size", DEFAULT_SHARD_SIZE)
    trace_k = int(output.get("trace", DEFAULT_TRACE))
    card = write_card if output.get("card", True) else None
    num_proc = int(num_proc or recipe.data.get("num_proc", 1))
    engine = check_engine(engine or recipe.data.get("engine") or ("ray" if ray_address else "local"))
    inp = recipe.data.get("input") or {}
    check_output_dir(out, overwrite)  # before starting workers; OutputDir checks again
    with engine_session(engine, num_proc=num_proc, ray_address=ray_address) as make_pipeline, \
            scratch("run") as tmp, OutputDir(out, overwrite=overwrite) as od:
        t0 = time.perf_counter()
        input_manifest = convert(
            recipe.input_paths(), Path(tmp) / "input", format=inp.get("format"), mapping=inp.get("map") or None,
            on_error=inp.get("on_error", "fail"), command=command, on_rows=on_read,
        )
        source = MappedShards(Path(tmp) / "input")
        table = source.table
        read_seconds = time.perf_counter() - t0
        index: dict[str, Any] = {
            "recipe_file": recipe.path,
            "name": recipe.data.get("name"),
            "seed": recipe.seed,
            "input_rows": table.num_rows,
            "input_dropped": input_manifest["dropped"],
            "rejects_file": None,
            "variants": [],
        }
        if input_manifest.get("rejects_file"):  # on_error: skip — keep the rejected rows beside the run
            shutil.copyfile(Path(tmp) / "input" / input_manifest["rejects_file"], od.path / "rejects.jsonl")
            index["rejects_file"] = "rejects.jsonl"
        for k, variant in enumerate(recipe.variants):
            if on_variant:
                on_variant(variant.name, k, len(recipe.variants))
            vdir = od.path / variant.name
            pipe = make_pipeline(variant.steps, recipe.seed, trace_k)
            writer = ShardWriter(vdir, pipe.output_schema(table.schema), shard_size)
            t1 = time.perf_counter()
            for t in pipe.iter_tables(table):
                writer.write_table(t)
                source.release()  # keep the pass flat in the row count
                if on_rows:
                    on_rows(t.num_rows)
            manifest = base_manifest(command)
            manifest.update(
                inputs=input_manifest["inputs"],
                dropped=input_manifest["dropped"],
                seed=recipe.seed,
                recipe=recipe.data,
                recipe_file=recipe.path,
                variant=variant.name,
                factors=variant.factors or None,
                engine=engine,
                steps=[dict(s, where=spec["where"]) for s, spec in zip(pipe.stats_dicts(), variant.spec)],
                seconds={"read": round(read_seconds, 3), "transform_and_write": round(time.perf_counter() - t1, 3)},
            )
            manifest["versions"].update(engine_versions(engine))
            write_jsonl_atomic(vdir / "trace.jsonl", pipe.trace.entries())
            manifest = finish_output(vdir, writer, manifest, shard_size=shard_size, card=card)
            index["variants"].append(
                {"name": variant.name, "dir": variant.name, "rows": manifest["output"]["rows"], "factors": variant.factors,
                 "steps": [s["op"] for s in variant.spec], "fidelity": fidelity_digest(manifest["steps"])}
            )
        write_json_atomic(od.path / INDEX_FILE, index)
        od.commit()
    return index
