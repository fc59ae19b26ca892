"""`safetune convert | validate | export | info | transforms`."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Column, Table

from ..card import write_card
from ..errors import ConfigError, InputError
from ..examples import EXAMPLES, example_path
from ..io.api import convert, is_output_dir, iter_records, read
from ..io.atomic import check_file_target
from ..io.export import export
from ..io.manifest import read_manifest
from ..io.validate import validate_path
from ..options import parse_pairs
from ..run import INDEX_FILE, read_index
from .console import console, counting, err_console


def convert_cmd(
    inputs: List[str] = typer.Argument(None, help="Input files (.json, .jsonl, .jsonl.gz, .csv, .parquet, .arrow), save_to_disk dirs, or Hub ids."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (must not exist unless --overwrite)."),
    format: Optional[str] = typer.Option(None, "--format", "-f", help="alpaca | sharegpt | messages | prompt-completion | mapped (default: detect)."),
    map: Optional[List[str]] = typer.Option(None, "--map", "-m", help="ROLE=COLUMN for other layouts (user, assistant, system, context, id), or a ShareGPT role name: NAME=ROLE."),
    shard_size: str = typer.Option("500MB", "--shard-size", help="Rows per shard (e.g. 50000) or bytes (e.g. 256MB)."),
    on_error: str = typer.Option("fail", "--on-error", help="fail: stop at the first bad row, write nothing. skip: write good rows, count and keep bad ones in rejects.jsonl."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output directory, if it is empty or safetune wrote it (a folder with other files is refused)."),
    example: Optional[str] = typer.Option(None, "--example", help="Use a bundled example dataset instead of INPUTS (see `safetune info --examples`)."),
) -> None:
    """Read instruction data into canonical records and write Arrow shards + manifest + card.

    Examples:

      safetune convert --example sharegpt-sample --out out/sample

      safetune convert alpaca_en_demo.json --out out/alpaca

      safetune convert dolly.jsonl --map user=instruction --map context=context --map assistant=response --out out/dolly
    """
    paths = list(inputs or [])
    if example:
        paths.append(str(example_path(example)))
    if not paths:
        raise ConfigError("no input given", hint="name input files, or --example sharegpt-sample")
    mapping = parse_pairs(map, "map")
    with counting("converting") as advance:
        manifest = convert(
            paths, out, format=format, mapping=mapping or None, shard_size=shard_size, on_error=on_error,
            overwrite=overwrite, command=["safetune", *sys.argv[1:]], on_rows=advance, card=write_card,
        )
    rows = manifest["output"]["rows"]
    dropped = sum(manifest["dropped"].values())
    console.print(f"wrote [bold]{rows}[/] records in {len(manifest['output']['shards'])} shard(s) to {out}")
    for entry in manifest["inputs"]:
        console.print(f"  {entry['path']}: {entry['rows']} rows, format {entry['format']}")
    if dropped:
        console.print(f"  skipped {dropped} rows: " + ", ".join(f"{k} ({v})" for k, v in manifest["dropped"].items()))
        console.print(f"  see {Path(out) / 'rejects.jsonl'}")


def validate_cmd(
    path: str = typer.Argument(..., help="An input file or an output directory."),
    format: Optional[str] = typer.Option(None, "--format", "-f", help="Input format (default: detect)."),
    map: Optional[List[str]] = typer.Option(None, "--map", "-m", help="ROLE=COLUMN mapping, as for convert."),
    max_problems: int = typer.Option(20, "--max-problems", help="How many problems to list."),
) -> None:
    """Check an input file or output directory; exit 0 if valid, else exit 2 listing the problems.

    Example:

      safetune validate data.jsonl && safetune validate out/alpaca
    """
    problems, rows = validate_path(path, format=format, mapping=parse_pairs(map, "map") or None)
    if not problems:
        console.print(f"[green]valid[/]: {path} ({rows} records)")
        return
    err_console.print(f"[bold red]invalid[/]: {path}: {len(problems)} problem(s) in {rows} rows")
    for p in problems[:max_problems]:
        err_console.print(f"  {p}", highlight=False, markup=False)
    if len(problems) > max_problems:
        err_console.print(f"  ... and {len(problems) - max_problems} more")
    raise typer.Exit(2)


def export_cmd(
    directory: str = typer.Argument(..., help="An output directory of convert/run (or any input convert reads)."),
    to: str = typer.Option(..., "--to", help="alpaca | sharegpt | messages | prompt-completion"),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .jsonl (one row a line) or .json (an array)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists (refused otherwise)."),
) -> None:
    """Write records as the files LLaMA-Factory, Axolotl and TRL read.

    Example:

      safetune export out/alpaca --to sharegpt --out alpaca_sharegpt.jsonl
    """
    check_file_target(out, overwrite)  # before reading anything
    if is_output_dir(directory):
        records = iter_records(directory)
    elif Path(directory).exists():
        records = (r for r in read(directory))
    else:
        raise InputError("no such file or directory", file=directory)
    with counting("exporting") as advance:
        result = export(records, to, out, on_rows=advance, overwrite=overwrite)
    console.print(f"wrote {result['written']} rows as {to} to {out}")
    for reason, n in result["skipped"].items():
        console.print(f"  skipped {n}: {reason}")


def info_cmd(
    directory: Optional[str] = typer.Argument(None, help="An output directory."),
    examples: bool = typer.Option(False, "--examples", help="List the bundled example datasets."),
) -> None:
    """Rows, shards, sizes and the manifest summary of an output directory (or the variants of a run).

    Example:

      safetune info out/alpaca
    """
    if examples:
        for name, meta in EXAMPLES.items():
            console.print(f"[bold]{name}[/]: {meta['description']}")
        return
    if directory is None:
        raise ConfigError("name an output directory, or pass --examples")
    if not is_output_dir(directory) and (Path(directory) / INDEX_FILE).exists():  # a `safetune run` directory
        index = read_index(directory)
        table = Table(Column("variant", overflow="fold"), "rows", "steps", title=f"{directory} (recipe {index.get('recipe_file')}, seed {index.get('seed')})")
        for v in index.get("variants", []):
            table.add_row(v["name"], str(v["rows"]), ", ".join(v.get("steps", [])))
        console.print(table)
        console.print(f"input rows: {index.get('input_rows')}; dropped on read: {index.get('input_dropped') or 'none'}")
        return
    if not is_output_dir(directory):
        raise InputError("not an output directory (no state.json)", file=directory)
    manifest = read_manifest(directory) or {}
    import datasets

    ds = datasets.load_from_disk(directory)
    table = Table(title=str(directory), show_header=False)
    table.add_row("rows", str(ds.num_rows))
    shards = sorted(Path(directory).glob("data-*.arrow"))
    table.add_row("shards", f"{len(shards)} ({sum(s.stat().st_size for s in shards) / 1e6:.1f} MB)")
    table.add_row("columns", ", ".join(ds.column_names))
    if manifest:
        table.add_row("created", manifest.get("created", ""))
        table.add_row("command", " ".join(manifest.get("command", [])))
        for entry in manifest.get("inputs", []):
            table.add_row("input", f"{entry['path']} ({entry['format']}, {entry['rows']} rows, sha256 {str(entry.get('sha256'))[:12]}…)")
        if manifest.get("variant"):
            table.add_row("variant", manifest["variant"])
        for step in manifest.get("steps", []):
            table.add_row(f"step {step['step']}", f"{step['op']}: seen {step['seen']}, changed {step['changed']}, dropped {sum(step['dropped'].values())}")
        if manifest.get("dropped"):
            table.add_row("dropped on read", ", ".join(f"{k}: {v}" for k, v in manifest["dropped"].items()))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("convert")(convert_cmd)
    app.command("validate")(validate_cmd)
    app.command("export")(export_cmd)
    app.command("info")(info_cmd)
