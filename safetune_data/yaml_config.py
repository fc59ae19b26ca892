"""YAML config files (recipes, harness configs): read one mapping, check it against a shipped schema.

One reader so that every config file fails the same way: a bad file names its line, and a
schema check reports every problem at once with its dotted key path (`finetune.lora.r`,
`variants[0].dir`), so a user fixes them all in one edit instead of one per run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml

from .errors import ConfigError, raise_collected
from .schemas import load_schema


def read_yaml_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """The mapping in a YAML file (`yaml.safe_load`: no tags run code); `what` names the file in errors."""
    path = str(path)
    if not Path(path).is_file():
        raise ConfigError(f"{what} file not found", file=path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=path,
                          line=mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise ConfigError(f"a {what} is a YAML mapping", file=path)
    return data


def key_path(parts: Iterable[str | int]) -> str:
    """`["variants", 0, "dir"]` -> `variants[0].dir`."""
    text = ""
    for p in parts:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else str(p))
    return text


def check_schema(data: Any, schema: str, file: str, *, top: str | None = None) -> None:
    """Validate against `<schema>.schema.json`; raise every problem together (ConfigErrors), each
    with `file` and its key path (`top` names a problem of the whole mapping, e.g. a missing key)."""
    errors = sorted(jsonschema.Draft202012Validator(load_schema(schema)).iter_errors(data),
                    key=lambda e: list(e.absolute_path))
    raise_collected([ConfigError(e.message, file=file, field=key_path(e.absolute_path) or top) for e in errors],
                    file=file)
