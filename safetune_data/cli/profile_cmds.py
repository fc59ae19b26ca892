"""`safetune profile` and `safetune card`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..card import write_card
from ..errors import ConfigError, InputError
from ..io.atomic import check_file_target, write_text_atomic
from ..io.writer import protected_reason
from ..options import parse_pairs
from .console import console, err_console, progress, task_hook


def profile_command(
    paths: list[Path] = typer.Argument(..., help="One input (file or output directory), or two to compare side by side.", show_default=False),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the profile as JSON (schemas/profile.schema.json)."),
    markdown_out: Optional[Path] = typer.Option(None, "--markdown", help="Write the profile as a markdown table."),
    plots: Optional[Path] = typer.Option(None, "--plots", help="Write PNG plots (structure.png, factors.png, lengths.png) into this directory; nothing else in it is touched."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing --json / --markdown files and plot PNGs (refused otherwise)."),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", help="Local tokenizer directory (or Hub id when online) for token lengths."),
    format: Optional[str] = typer.Option(None, "--format", help="Input format when it cannot be inferred (as for `convert`)."),
    mapping: Optional[list[str]] = typer.Option(None, "--map", help="Map a role to a column, ROLE=COLUMN (repeatable), as for `convert`."),
) -> None:
    """Profile a dataset along the safety factors: answer structure, identity statements,
    role-play framing, refusals, lengths, turns, duplicates.

    Example:

        safetune profile data/alpaca_en_demo.json --json profile.json --plots plots/

        safetune profile out/original out/markdown --markdown diff.md
    """
    from ..profile import profile_paths  # local: polars, kept off `safetune --help`
    from ..profile.render import rich_table, to_markdown, write_plots

    if len(paths) > 2:
        raise ConfigError(f"profile takes one or two paths, got {len(paths)}", hint="compare two at a time: original and variant")
    for path in paths:
        if not path.exists():
            raise InputError("no such file or directory", file=str(path))
    map_dict = parse_pairs(mapping, "--map") or None
    _check_outputs(json_out, markdown_out, plots, overwrite)  # before any profiling

    with progress(transient=True) as bar:
        doc = profile_paths([str(p) for p in paths], format=format, mapping=map_dict, tokenizer=tokenizer,
                            on_start=task_hook(bar, "profiling"))

    console.print(rich_table(doc))
    images: dict[str, str] = {}
    if plots is not None:
        written = write_plots(doc, plots, overwrite=overwrite)
        err_console.print(f"plots: {', '.join(str(p) for p in written.values())}")
        if markdown_out is not None:
            base = markdown_out.resolve().parent
            for name, p in written.items():
                try:
                    images[name] = str(p.resolve().relative_to(base))
                except ValueError:
                    images[name] = str(p.resolve())
    if json_out is not None:
        _write_text(json_out, json.dumps(doc, indent=2, ensure_ascii=False) + "\n", overwrite)
        err_console.print(f"profile JSON: {json_out}")
    if markdown_out is not None:
        _write_text(markdown_out, to_markdown(doc, images=images), overwrite)
        err_console.print(f"profile markdown: {markdown_out}")


def card_command(
    directory: Path = typer.Argument(..., help="An output directory of `convert` or `run` (with manifest.json).", show_default=False),
    license: Optional[str] = typer.Option(None, "--license", help="SPDX-style licence id for the front matter, e.g. cc-by-nc-4.0."),
    title: Optional[str] = typer.Option(None, "--title", help="Human-readable dataset name (pretty_name)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a README.md that safetune did not write (one it wrote is always regenerated)."),
) -> None:
    """(Re)generate the dataset card README.md of an output directory: front matter the
    Hugging Face Hub accepts, sources and licences, transforms and their stats, the factor
    profile, safety considerations and how to load it.

    A README.md written by safetune (convert, run, an earlier `card`) is replaced; a
    README.md it did not write is refused (exit 2) unless --overwrite.

    Example:

        safetune card out/markdown --license cc-by-nc-4.0 --title "Alpaca demo, markdown answers"
    """
    path = write_card(directory, license=license, title=title, overwrite=overwrite)
    err_console.print(f"dataset card: {path}")


def _check_outputs(json_out: Path | None, markdown_out: Path | None, plots: Path | None, overwrite: bool) -> None:
    """Refuse (exit 2) existing output files without --overwrite, and a plots folder that is
    the root, home, current directory or one of its parents."""
    from ..profile.render import PLOT_FILES  # local: polars, as above

    for path in (json_out, markdown_out):
        if path is not None:
            check_file_target(path, overwrite)
    if plots is None:
        return
    if plots.exists() and not plots.is_dir():
        raise ConfigError("--plots names a file, not a directory", file=str(plots), field="--plots")
    reason = protected_reason(plots) if plots.exists() else None
    if reason:
        raise ConfigError(f"refusing to write plots here: {reason}", file=str(plots), field="--plots",
                          hint="name a folder of their own, e.g. --plots plots/")
    existing = [name for name in PLOT_FILES if (plots / name).exists()]
    if existing and not overwrite:
        raise ConfigError(f"plots already exist: {', '.join(existing)}", file=str(plots), field="--plots",
                          hint="pass --overwrite to replace them")


def _write_text(path: Path, text: str, overwrite: bool = False) -> None:
    try:
        write_text_atomic(path, text, overwrite=overwrite)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", file=str(path)) from None


def register(app: typer.Typer) -> None:
    app.command("profile")(profile_command)
    app.command("card")(card_command)
