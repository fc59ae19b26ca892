"""Recipes: YAML → validated, expanded variants of instantiated transforms.

Loaded with `yaml.safe_load` only; a step names a registered transform and its parameters,
nothing else (no class paths, no code). Errors name the recipe file, the step and the
parameter. A `grid` expands to the cartesian product of its factors' levels, each variant
named like `structure=markdown,identity=inject,roleplay=original`.
"""
from __future__ import annotations

import copy
import fnmatch
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, SafetuneError, raise_collected
from .examples import example_path
from .options import split_pairs, yaml_value
from .transforms.base import TRANSFORMS, Transform
from .yaml_config import check_schema, read_yaml_mapping


@dataclass
class Variant:
    name: str
    steps: list[Transform]
    spec: list[dict]  # resolved [{"op": name, "params": {...}, "where": "grid.structure.markdown[0]"}]
    factors: dict[str, str] = field(default_factory=dict)


@dataclass
class Recipe:
    path: str
    data: dict
    variants: list[Variant]

    @property
    def seed(self) -> int:
        return int(self.data.get("seed", 0))

    def input_paths(self) -> list[str]:
        inp = self.data.get("input") or {}
        if "example" in inp:
            return [str(example_path(inp["example"]))]
        paths = inp.get("path")
        if paths is None:
            raise ConfigError("recipe has no input (input.path or input.example)", file=self.path, field="input")
        paths = [paths] if isinstance(paths, str) else list(paths)
        base = Path(self.path).parent
        resolved = [p if Path(p).is_absolute() or Path(p).exists() or not (base / p).exists() else str(base / p) for p in paths]
        for k, p in enumerate(resolved):
            if not Path(p).exists():
                field = "input.path" if isinstance(inp.get("path"), str) else f"input.path[{k}]"
                raise ConfigError(
                    f"input file not found: {p}", file=self.path, field=field,
                    hint="relative paths are tried from the current directory, then beside the recipe; "
                    "override with --set input.path=FILE",
                )
        return resolved


def set_value(data: dict, dotted: str, raw: str) -> None:
    """`--set output.dir=out/x` (value parsed as YAML, so numbers and lists work)."""
    keys = dotted.split(".")
    node = data
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set '{dotted}': '{k}' is not a mapping", field=dotted)
    value = yaml_value(raw)
    if keys[-1] == "path" and keys[:-1] == ["input"]:
        (data.setdefault("input", {})).pop("example", None)
    node[keys[-1]] = value


def _step_entries(steps: list | None, where: str) -> list[tuple[str, dict, str]]:
    out = []
    for i, step in enumerate(steps or []):
        (name, params), = [(step, {})] if isinstance(step, str) else step.items()
        out.append((name, dict(params or {}), f"{where}[{i}]"))
    return out


def _instantiate(entries: list[tuple[str, dict, str]], path: str) -> tuple[list[Transform], list[dict]]:
    """Build every step; collect the problems of all steps so they are reported together."""
    steps, spec, problems = [], [], []
    for index, (name, params, where) in enumerate(entries):
        try:
            cls = TRANSFORMS.get(name)
            step = cls(**copy.deepcopy(params))
        except SafetuneError as exc:
            for err in getattr(exc, "errors", None) or [exc]:
                problems.append(ConfigError(
                    f"{where} ({name}): {err.message}",
                    file=path,
                    step=index,
                    field=err.field if err.field != name else None,
                    hint=err.hint,
                ))
            continue
        steps.append(step)
        spec.append({"op": name, "params": step.params, "where": where})
    raise_collected(problems, file=path)
    return steps, spec


def split_variant_patterns(text: str) -> list[str]:
    """`--variants` value → patterns. Grid variant names contain commas
    ("structure=markdown,identity=none,roleplay=add"), so patterns are separated by ';';
    a value without ';' and without '=' is taken as a comma-separated list of plain names."""
    if ";" in text or "=" in text:
        return [p.strip() for p in text.split(";") if p.strip()]
    return [p.strip() for p in text.split(",") if p.strip()]


def load_recipe(path: str | Path, overrides: list[str] | None = None, select: list[str] | None = None) -> Recipe:
    return recipe_from_data(read_yaml_mapping(path, "recipe"), str(path), overrides, select)


def recipe_from_data(data: object, path: str, overrides: list[str] | None = None,
                     select: list[str] | None = None) -> Recipe:
    """A recipe already parsed (e.g. inline in a harness config); `path` names it in errors,
    and relative input paths are tried beside it."""
    if not isinstance(data, dict):
        raise ConfigError("a recipe is a YAML mapping", file=path)
    for key, value in split_pairs(overrides, "set"):
        set_value(data, key, value)
    check_schema(data, "recipe", path, top="recipe")
    if data.get("variants") and data.get("grid"):
        raise ConfigError("use either 'variants' or 'grid', not both", file=path, field="grid")

    common = _step_entries(data.get("steps"), "steps")
    named: list[tuple[str, list, dict]] = []
    if data.get("grid"):
        factors = list(data["grid"].items())
        for combo in itertools.product(*[list(levels.items()) for _, levels in factors]):
            levels = {f: lvl for (f, _), (lvl, _) in zip(factors, combo)}
            entries = common + [e for (f, _), (lvl, steps) in zip(factors, combo) for e in _step_entries(steps, f"grid.{f}.{lvl}")]
            named.append((",".join(f"{f}={lvl}" for f, lvl in levels.items()), entries, levels))
    elif data.get("variants"):
        for vname, steps in data["variants"].items():
            named.append((vname, list(common) + _step_entries(steps, f"variants.{vname}"), {}))
    else:
        named.append((data.get("name") or "default", common, {}))

    if select:
        chosen = [n for n in named if any(fnmatch.fnmatchcase(n[0], pat) for pat in select)]
        if not chosen:
            raise ConfigError(
                f"no variant matches {', '.join(select)}", file=path, field="variants",
                hint="variants: " + "; ".join(n[0] for n in named),
            )
        named = chosen
    return Recipe(path, data, [Variant(vname, *_instantiate(entries, path), factors) for vname, entries, factors in named])
