"""The data files transforms read: the package's own libraries (`safetune_data/data/`) and the
user's lists given by path, read one way so that every parameter taking "a list or a file"
accepts the same files and reports the same errors.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import ParamError


@lru_cache(maxsize=None)
def load_package_yaml(filename: str) -> Any:
    """Read a YAML file shipped in `safetune_data/data/` (works from a wheel too), once."""
    path = resources.files("safetune_data").joinpath("data").joinpath(filename)
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_list_file(path: str, param: str, key: str | None = None) -> Any:
    """A list from a YAML/JSON/JSONL file, or one item per non-empty line of a text file.

    A YAML/JSON file may wrap its list in a mapping: with `key`, the list under that key is
    returned (a file without it is an error); without, the mapping itself.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise ParamError(f"file not found: {path}", field=param, hint="give a list, 'builtin', or a path to a YAML/JSON/text file")
    text = p.read_text(encoding="utf-8")
    suffix = p.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix == ".jsonl":
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = [line.strip() for line in text.splitlines() if line.strip()]
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ParamError(f"cannot parse {path}: {exc}", field=param) from None
    if isinstance(data, dict):  # e.g. {"prefix": [...]} or {"personas": [...]}
        if key is None:
            return data
        data = data.get(key)
        if not isinstance(data, list):
            raise ParamError(f"{path} has no '{key}' list", field=param)
    if not isinstance(data, list):
        raise ParamError(f"{path} does not hold a list", field=param)
    return data


# --- identity templates ------------------------------------------------------------------------
BUILTIN_LANGUAGES = ("en", "de", "es", "fr", "zh")


def builtin_templates() -> dict[str, list]:
    """The built-in template library: {"prefix": [...], "suffix": [...], "qa": [...]}."""
    return load_package_yaml("identity_templates.yaml")


def builtin_language_templates(lang: str) -> dict[str, list]:
    """The built-in statements for one language: {"prefix": [...], "suffix": [...]}."""
    return builtin_templates() if lang == "en" else load_package_yaml(f"identity_templates_{lang}.yaml")


# --- personas ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Persona:
    id: str
    name: str
    description: str
    keywords: tuple[str, ...] = ()


def builtin_library() -> dict[str, Any]:
    """{"personas": [...], "system_templates": [...], "user_templates": [...]}."""
    return load_package_yaml("personas.yaml")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "persona"


def _to_persona(i: int, item: Any) -> Persona:
    if isinstance(item, str):
        item = {"description": item}
    if not isinstance(item, dict) or not isinstance(item.get("description"), str) or not item["description"].strip():
        raise ParamError(f"persona {i} needs a 'description' string", field="personas")
    desc = item["description"].strip().rstrip(".")
    name = str(item.get("name") or desc)
    keywords = item.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise ParamError(f"persona {i}: 'keywords' must be a list of strings", field="personas")
    return Persona(str(item.get("id") or _slug(name)), name, desc, tuple(k.lower() for k in keywords))


def load_personas(spec: str | list) -> list[Persona]:
    """'builtin', a list of descriptions or {id, name, description, keywords}, or a file path."""
    if spec == "builtin":
        raw = builtin_library()["personas"]
    elif isinstance(spec, str):
        raw = load_list_file(spec, "personas", key="personas")
    else:
        raw = spec
    personas = [_to_persona(i, item) for i, item in enumerate(raw)]
    ids = [p.id for p in personas]
    dup = next((x for x in ids if ids.count(x) > 1), None)
    if dup:
        raise ParamError(f"persona id '{dup}' appears twice", field="personas")
    return personas
