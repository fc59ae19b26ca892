"""`safetune transforms|judges|benchmarks [NAME]`: what each plug-in table holds, and one
plug-in's parameters, read from the JSON Schema it is registered with."""
from __future__ import annotations

import inspect
import json
from typing import Optional

import typer
from rich.table import Table

from ..harness.benchmarks import BENCHMARKS
from ..registry import Registry
from ..transforms import TRANSFORMS
from .console import console


def _param_type(spec: dict) -> str:
    if "enum" in spec:
        return "choice"
    kind = spec.get("type", "any")
    return " | ".join(kind if isinstance(kind, list) else [kind])


def _param_allowed(spec: dict) -> str:
    if "enum" in spec:
        return ", ".join(json.dumps(v) for v in spec["enum"])
    lo, hi = spec.get("minimum", spec.get("exclusiveMinimum")), spec.get("maximum", spec.get("exclusiveMaximum"))
    if lo is not None or hi is not None:
        return f"{'' if lo is None else lo} .. {'' if hi is None else hi}"
    if spec.get("minLength"):
        return f"at least {spec['minLength']} character(s)"
    items = spec.get("items")
    if isinstance(items, dict) and "enum" in items:
        return "each of " + ", ".join(json.dumps(v) for v in items["enum"])
    return ""


def _first_line(entry: object) -> str:
    doc = inspect.getdoc(entry) or ""
    return doc.splitlines()[0] if doc else ""


def show(table: Registry, name: str | None) -> None:
    """All names with their parameters and one line of doc, or one plug-in in full."""
    if name is None:
        entries = sorted(table.items())
        levels = all(hasattr(entry, "level") for _, entry in entries)  # transforms: record or dataset step
        listing = Table("name", *(["level"] if levels else []), "parameters", "what it does")
        for key, entry in entries:
            params = ", ".join(sorted(table.params_schema(key).get("properties", {})))
            listing.add_row(key, *([entry.level] if levels else []), params, _first_line(entry))
        console.print(listing)
        return
    entry = table.get(name)
    level = getattr(entry, "level", None)
    console.print(f"{name} ({level} step)" if level else f"{name} ({table.kind})", markup=False, highlight=False)
    if inspect.getdoc(entry):
        console.print(inspect.getdoc(entry), markup=False, highlight=False)
    declared = table.params_schema(name)
    props, required = declared.get("properties", {}), declared.get("required", ())
    if not props:
        console.print("no parameters", markup=False)
        return
    params = Table("parameter", "type", "default", "allowed", "description", title="parameters")
    for pname, spec in sorted(props.items()):
        if "default" in spec:
            default = json.dumps(spec["default"], ensure_ascii=False)
        else:
            default = "(required)" if pname in required else ""
        params.add_row(pname, _param_type(spec), default, _param_allowed(spec), spec.get("description", ""))
    console.print(params)


def transforms_cmd(
    name: Optional[str] = typer.Argument(None, help="Show one transform's parameters (type, default, allowed values).", show_default=False),
) -> None:
    """List the registered transforms, or show one transform's parameters.

    Example:

      safetune transforms

      safetune transforms identity.inject
    """
    show(TRANSFORMS, name)


def judges_cmd(
    name: Optional[str] = typer.Argument(None, help="Show one judge's options (pass them with `safetune judge NAME --option KEY=VALUE`).", show_default=False),
) -> None:
    """List the judges, or show one judge's options.

    Example:

      safetune judges llm
    """
    from ..harness.judges import JUDGES  # local: the judges pull in spaCy (and torch through it)

    show(JUDGES, name)


def benchmarks_cmd(
    name: Optional[str] = typer.Argument(None, help="Show the keys a benchmark entry of a harness config takes.", show_default=False),
) -> None:
    """List the benchmarks a harness config can name, or show one benchmark's keys.

    Example:

      safetune benchmarks xstest
    """
    show(BENCHMARKS, name)


def register(app: typer.Typer) -> None:
    app.command("transforms")(transforms_cmd)
    app.command("judges")(judges_cmd)
    app.command("benchmarks")(benchmarks_cmd)
