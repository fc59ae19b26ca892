"""One lookup table for every kind of plug-in: transforms, judges, benchmarks, input formats,
exporters, reward-model pair formats and engines.

A plug-in is registered under a name with the parameters it accepts, declared one way: a
JSON Schema object (`params_schema` on a class, or `params=` when registering a function).
Lookups import the modules that register into the table on first use (a missing module is
an error, not an empty table), unknown names get one "did you mean" message, and
parameters are validated with every problem reported at once (`safetune transforms NAME`
and `safetune judge --help` show them).

    JUDGES = Registry("judge")

    @JUDGES.register("keyword")
    class KeywordJudge: params_schema = {...}

    JUDGES.get("keywrd")  # ConfigError: unknown judge 'keywrd' (did you mean 'keyword'?)
"""
from __future__ import annotations

import copy
import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import jsonschema

from .errors import ConfigError, ParamError, raise_collected

T = TypeVar("T")

NO_PARAMS: dict = {"type": "object", "properties": {}, "additionalProperties": False}


class Registry(Generic[T]):
    """name → plug-in, filled by `register` as the `modules` are imported."""

    def __init__(self, kind: str, *, modules: tuple[str, ...] = (), field: str | None = None,
                 listing: str | None = None) -> None:
        self.kind = kind
        self.field = kind if field is None else field  # the key an unknown name is reported under ("": none)
        self.listing = listing  # how to list them, when the names are too many for a hint
        self._modules = modules
        self._loaded = not modules
        self._entries: dict[str, T] = {}
        self._params: dict[str, dict] = {}

    # --- filling -------------------------------------------------------------------
    def register(self, name: str | None = None, *, params: dict | None = None) -> Callable[[T], T]:
        """Decorator: add a class (named by `name` or its `name` attribute) or a function."""
        def add(entry: T) -> T:
            key = name or getattr(entry, "name", None)
            if not key:
                raise TypeError(f"{entry!r} has no name to register under")
            if key in self._entries and self._entries[key] is not entry:
                raise TypeError(f"{self.kind} name {key!r} registered twice")
            self._entries[key] = entry
            if params is not None:
                self._params[key] = params
            return entry
        return add

    def _load(self) -> None:
        if not self._loaded:
            for module in self._modules:
                importlib.import_module(module)
            self._loaded = True

    # --- lookup --------------------------------------------------------------------
    def get(self, name: str) -> T:
        self._load()
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise self.unknown(name) from None

    __getitem__ = get

    def unknown(self, name: object) -> ConfigError:
        close = difflib.get_close_matches(str(name), list(self._entries), n=1)
        hint = f"did you mean '{close[0]}'?" if close else (self.listing or f"known: {', '.join(sorted(self.names()))}")
        return ConfigError(f"unknown {self.kind} '{name}'", field=self.field or None, hint=hint)

    def names(self) -> list[str]:
        self._load()
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        self._load()
        return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    # --- parameters ----------------------------------------------------------------
    def params_schema(self, name: str) -> dict:
        entry = self.get(name)
        return self._params.get(name) or getattr(entry, "params_schema", None) or NO_PARAMS

    def check_params(self, name: str, params: dict) -> dict:
        """`params` validated against the plug-in's schema, defaults filled in."""
        return validate_params(self.kind, name, self.params_schema(name), params)


def validate_params(kind: str, name: str, schema: dict, params: dict) -> dict:
    """Validate `params` and fill defaults; raise ParamError naming the offending parameter,
    or `ConfigErrors` listing every offending parameter when there are several."""
    props = schema.get("properties", {})
    open_ended = schema.get("additionalProperties", False)
    problems: list[ParamError] = []
    for key in params:
        if key not in props and not open_ended:
            close = difflib.get_close_matches(key, props, n=1)
            problems.append(ParamError(
                f"unknown parameter '{key}' for {kind} '{name}'",
                field=key,
                hint=(f"did you mean '{close[0]}'? " if close else "") + f"known: {', '.join(sorted(props)) or 'none'}",
            ))
    known = {k: v for k, v in params.items() if k in props or open_ended}
    validator = jsonschema.Draft202012Validator({**schema, "additionalProperties": True})
    for err in sorted(validator.iter_errors(known), key=lambda e: list(e.path)):
        param = ".".join(str(p) for p in err.path) or (
            err.validator_value[0] if err.validator == "required" and isinstance(err.validator_value, list) else ""
        )
        problems.append(ParamError(f"invalid value for {kind} '{name}': {err.message}", field=param or None))
    raise_collected(problems)
    filled = {k: copy.deepcopy(v["default"]) for k, v in props.items() if "default" in v}
    filled.update(params)
    return filled


def schema(*, required: list[str] | None = None, **properties: dict) -> dict:
    """A closed JSON Schema object of `properties`: how every plug-in declares its parameters."""
    out = {"type": "object", "properties": properties, "additionalProperties": False}
    return {**out, "required": required} if required else out


__all__ = ["Registry", "validate_params", "schema", "NO_PARAMS"]
