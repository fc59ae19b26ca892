"""Input formats: detection and row → messages normalisation (the reference path).

Each normaliser turns one input row (a dict) into a list of messages or raises
`RowProblem(field, message)`; the caller adds file and line/row. The columnar fast path in
`fast.py` must give exactly the same records as these functions.
"""
from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..records import ROLES
from ..registry import Registry

# Each normaliser turns a row into messages; `convert` looks it up by the format name.
NORMALISERS: Registry = Registry("format", field="format")

# Columns each format consumes; every other column is carried into meta.
CONSUMED = {
    # `input` stays in meta too, so an export can split the user turn back exactly.
    "alpaca": {"instruction", "output", "system", "history"},
    "sharegpt": {"conversations", "system"},
    "messages": {"messages"},
    "prompt-completion": {"prompt", "completion", "system"},
    "records": {"id", "messages", "meta"},
}

SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
    "model": "assistant",
    "system": "system",
    "tool": "tool",
    "function": "tool",
    "observation": "tool",
    "function_call": "assistant",
}

MAPPED_ROLES = ("system", "user", "context", "assistant", "id")


class RowProblem(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(message)


def detect_format(keys: set[str] | list[str]) -> str | None:
    """Guess the format from a row's keys (or a table's columns)."""
    keys = set(keys)
    if {"id", "messages", "meta"} <= keys:
        return "records"
    if "messages" in keys:
        return "messages"
    if "conversations" in keys:
        return "sharegpt"
    if "instruction" in keys and "output" in keys:
        return "alpaca"
    if "prompt" in keys and "completion" in keys:
        return "prompt-completion"
    return None


def _text(row: dict, field: str, *, required: bool, kind: type = str) -> Any:
    """The string (or, with `kind=list`, the list) in `field`; None when optional and absent."""
    if field not in row or row[field] is None:
        if required:
            raise RowProblem(field, "required field is missing")
        return None
    value = row[field]
    if not isinstance(value, kind):
        raise RowProblem(field, f"expected a {'list' if kind is list else 'string'}, got {type(value).__name__}")
    return value


def _join_context(user: str, context: str | None) -> str:
    """Alpaca's convention: the optional input follows the instruction after a blank line."""
    return f"{user}\n\n{context}" if context else user


@NORMALISERS.register("alpaca")
def from_alpaca(row: dict, mapping: dict[str, str]) -> list[dict]:
    instruction = _text(row, "instruction", required=True)
    inp = _text(row, "input", required=False)
    output = _text(row, "output", required=True)
    system = _text(row, "system", required=False)
    messages: list[dict] = []
    if system:
        messages.append({"role": "system", "content": system})
    history = row.get("history")
    if history:
        if not isinstance(history, list):
            raise RowProblem("history", "expected a list of [user, assistant] pairs")
        for k, pair in enumerate(history):
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
                raise RowProblem(f"history[{k}]", "expected a [user, assistant] pair of strings")
            messages += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    return messages + [{"role": "user", "content": _join_context(instruction, inp)}, {"role": "assistant", "content": output}]


def _content(value: Any, field: str) -> str:
    """A message content: a string, or a list of text parts (LLaMA-Factory v1 / OpenAI)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = []
        for k, part in enumerate(value):
            if isinstance(part, str):
                texts.append(part)
                continue
            if not isinstance(part, dict):
                raise RowProblem(f"{field}[{k}]", "content part is neither a string nor an object")
            ptype = part.get("type", "text")
            if ptype != "text":
                raise RowProblem(f"{field}[{k}].type", f"unsupported content part type {ptype!r} (only text)")
            text = part.get("text", part.get("value"))
            if not isinstance(text, str):
                raise RowProblem(f"{field}[{k}]", "text part has no string 'text' or 'value'")
            texts.append(text)
        return "".join(texts)
    raise RowProblem(field, f"content must be a string or a list of text parts, got {type(value).__name__}")


@NORMALISERS.register("sharegpt")
def from_sharegpt(row: dict, mapping: dict[str, str]) -> list[dict]:
    roles = dict(SHAREGPT_ROLES)
    roles.update({k.lower(): v for k, v in mapping.items() if v in ROLES})
    conv = _text(row, "conversations", required=True, kind=list)
    messages: list[dict] = []
    system = _text(row, "system", required=False)
    if system:
        messages.append({"role": "system", "content": system})
    for k, turn in enumerate(conv):
        if not isinstance(turn, dict):
            raise RowProblem(f"conversations[{k}]", "expected an object with 'from' and 'value'")
        who = turn.get("from", turn.get("role"))
        if not isinstance(who, str):
            raise RowProblem(f"conversations[{k}].from", "missing or not a string")
        role = roles.get(who.lower())
        if role is None:
            raise RowProblem(f"conversations[{k}].from", f"unknown role name {who!r} (map it with --map {who}=ROLE)")
        value = turn.get("value", turn.get("content"))
        messages.append({"role": role, "content": _content(value, f"conversations[{k}].value")})
    return messages


@NORMALISERS.register("messages")
def from_messages(row: dict, mapping: dict[str, str]) -> list[dict]:
    msgs = _text(row, "messages", required=True, kind=list)
    out = []
    for k, m in enumerate(msgs):
        if not isinstance(m, dict):
            raise RowProblem(f"messages[{k}]", "expected an object with 'role' and 'content'")
        role = m.get("role")
        role = mapping.get(role, role) if isinstance(role, str) else role
        if role not in ROLES:
            raise RowProblem(f"messages[{k}].role", f"unknown role {m.get('role')!r}")
        out.append({"role": role, "content": _content(m.get("content"), f"messages[{k}].content")})
    return out


@NORMALISERS.register("prompt-completion")
def from_prompt_completion(row: dict, mapping: dict[str, str]) -> list[dict]:
    prompt = _text(row, "prompt", required=True)
    completion = _text(row, "completion", required=True)
    system = _text(row, "system", required=False)
    messages = [{"role": "system", "content": system}] if system else []
    return messages + [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]


@NORMALISERS.register("mapped")
def from_mapped(row: dict, mapping: dict[str, str]) -> list[dict]:
    """Any flat column layout: --map user=COL --map assistant=COL [system=COL] [context=COL]."""
    system = _text(row, mapping["system"], required=False) if "system" in mapping else None
    user = _text(row, mapping["user"], required=True)
    context = _text(row, mapping["context"], required=False) if "context" in mapping else None
    assistant = _text(row, mapping["assistant"], required=True)
    messages = [{"role": "system", "content": system}] if system else []
    return messages + [{"role": "user", "content": _join_context(user, context)}, {"role": "assistant", "content": assistant}]


@NORMALISERS.register("records")
def from_records(row: dict, mapping: dict[str, str]) -> list[dict]:
    return from_messages(row, mapping)


def consumed_columns(fmt: str, mapping: dict[str, str]) -> set[str]:
    if fmt == "mapped":
        return {col for role, col in mapping.items() if role in MAPPED_ROLES}
    cols = set(CONSUMED[fmt])
    if fmt in ("sharegpt", "messages"):
        cols |= {col for key, col in mapping.items() if key in ("conversations", "messages", "system")}
    return cols


def rename_columns(fmt: str, mapping: dict[str, str]) -> dict[str, str]:
    """Column renames a mapping asks of a structured format (e.g. conversations=dialog)."""
    if fmt in ("sharegpt", "messages", "alpaca", "prompt-completion"):
        return {col: key for key, col in mapping.items() if key in CONSUMED.get(fmt, set()) and col != key}
    return {}


def validate_mapping(fmt: str, mapping: dict[str, str]) -> None:
    if fmt == "mapped":
        unknown = [k for k in mapping if k not in MAPPED_ROLES]
        if unknown:
            raise ConfigError(
                f"unknown mapping key '{unknown[0]}'",
                field=unknown[0],
                hint=f"use one of {', '.join(MAPPED_ROLES)}, e.g. --map user=instruction --map assistant=response",
            )
        for need in ("user", "assistant"):
            if need not in mapping:
                raise ConfigError(f"a column mapping needs '{need}=COLUMN'", field=need)
