"""`safetune run RECIPE.yaml`: expand a recipe's variants and write them."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Column, Table

from ..engines import check_engine
from ..recipe import load_recipe, split_variant_patterns
from ..run import run_recipe
from .console import console, progress


def run_cmd(
    recipe: Path = typer.Argument(..., help="A YAML recipe (see transforms/ for ready ones)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output directory (default: the recipe's output.dir)."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a recipe key: KEY=VALUE (dotted, value parsed as YAML)."),
    variants: Optional[str] = typer.Option(None, "--variants", help="Variant names or glob patterns to run, separated by ';' (grid names contain commas), e.g. 'structure=markdown,*'."),
    num_proc: Optional[int] = typer.Option(None, "--num-proc", help="Worker processes for record transforms (results are identical for any value)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and list the variants and their steps; write nothing."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output directory, if it is empty or safetune wrote it (a folder with other files is refused)."),
    engine: Optional[str] = typer.Option(
        None, "--engine", help="Where record transforms run: local | ray (default: the recipe's engine:, else local). Output is identical."
    ),
    ray_address: Optional[str] = typer.Option(
        None, "--ray-address", help="Ray cluster to run on, e.g. 10.0.0.5:6379 or auto; implies --engine ray (default: start Ray here with --num-proc CPUs)."
    ),
) -> None:
    """Run a recipe: read its input once, apply each variant's steps, write OUT/<variant>/ shards,
    manifest, trace and card, and OUT/index.json.

    Examples:

      safetune run transforms/paper_factorial.yaml --out out/factorial

      safetune run transforms/paper_factorial.yaml --set input.path=data/alpaca.json --variants 'structure=markdown,*' --out out/md

      safetune run transforms/structure_markdown.yaml --dry-run

      safetune run transforms/paper_factorial.yaml --engine ray --ray-address 10.0.0.5:6379 --out out/factorial
    """
    select = split_variant_patterns(variants) if variants else None
    rec = load_recipe(recipe, overrides=set_, select=select)
    if engine is not None:
        check_engine(engine)
    if dry_run:
        table = Table(Column("variant", overflow="fold"), Column("steps", overflow="fold"))  # nothing is cut
        for v in rec.variants:
            table.add_row(v.name, "\n".join(f"{s['op']} {s['params']}" for s in v.spec) or "(no steps)")
        console.print(table)
        console.print(f"{len(rec.variants)} variant(s); input: {', '.join(rec.input_paths())}; seed {rec.seed}")
        return
    with progress() as bar:
        state = {"task": bar.add_task("reading input", total=None), "input_rows": 0}

        def on_read(n: int) -> None:
            state["input_rows"] += n
            bar.advance(state["task"], n)

        def on_variant(name: str, k: int, n: int) -> None:
            bar.finish(state["task"])  # the input, or the previous variant
            state["task"] = bar.add_task(f"variant {k + 1}/{n} {name}", total=state["input_rows"] or None,
                                          auto_finish=False)  # done after its manifest and card

        index = run_recipe(
            rec, out, overwrite=overwrite, num_proc=num_proc, command=["safetune", *sys.argv[1:]],
            on_variant=on_variant, on_rows=lambda n: bar.advance(state["task"], n), on_read=on_read,
            engine=engine, ray_address=ray_address,
        )
        bar.finish(state["task"])
    target = out or rec.data.get("output", {}).get("dir")
    table = Table(Column("variant", overflow="fold"), "rows", Column("moved / failed fidelity, per rewriting step", overflow="fold"))
    for v in index["variants"]:
        shares = "; ".join(f"{f['op']} {100 * f['moved_share']:.0f}% / {100 * f['failed_share']:.1f}%" for f in v.get("fidelity", []))
        table.add_row(v["name"], str(v["rows"]), shares or "–")
    console.print(table)
    console.print(f"wrote {len(index['variants'])} variant(s) to {target} (index.json lists them)")


def register(app: typer.Typer) -> None:
    app.command("run")(run_cmd)
