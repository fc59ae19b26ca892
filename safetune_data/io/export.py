"""Export records to the files LLaMA-Factory, Axolotl and TRL read.

alpaca and prompt-completion hold one exchange (alpaca: earlier exchanges go to `history`);
conversations they cannot hold (tool turns, a system prompt for prompt-completion
multi-turn) are skipped and counted by reason. Carried-over meta fields come back as
top-level keys, so alpaca → records → alpaca gives the input rows back.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable

from ..registry import Registry
from .atomic import atomic_write

BASE_META = {"source", "source_index", "format", "transforms"}
EXPORTERS: Registry = Registry("export format", field="to")
SHAREGPT_NAMES = {"user": "human", "assistant": "gpt", "system": "system", "tool": "observation"}


class Skip(Exception):
    """This record cannot be written in the target format."""


def _carried(record: dict) -> dict[str, Any]:
    meta = record.get("meta") or {}
    return {k: v for k, v in meta.items() if k not in BASE_META and v is not None}


def _row(fields: dict[str, Any], system: str | None, rest: dict[str, Any]) -> dict[str, Any]:
    """An exported row: its own fields, the system prompt when there is one, then `rest`."""
    return {**fields, **({} if system is None else {"system": system}), **rest}


def _split_system(messages: list[dict]) -> tuple[str | None, list[dict]]:
    if messages and messages[0]["role"] == "system":
        return messages[0]["content"], messages[1:]
    return None, messages


@EXPORTERS.register("alpaca")
def to_alpaca(record: dict) -> dict:
    system, body = _split_system(record["messages"])
    if any(m["role"] == "tool" for m in body):
        raise Skip("tool turns")
    pairs = [(body[i]["content"], body[i + 1]["content"]) for i in range(0, len(body) - 1, 2)]
    if len(body) % 2 or not pairs:
        raise Skip("conversation does not end with an assistant turn")
    user, output = pairs[-1]
    carried = _carried(record)
    original_input = carried.pop("input", "")
    if original_input and user.endswith("\n\n" + original_input):
        instruction, inp = user[: -len(original_input) - 2], original_input
    else:
        instruction, inp = user, ""
    history = {"history": [list(p) for p in pairs[:-1]]} if len(pairs) > 1 else {}
    return _row({"instruction": instruction, "input": inp, "output": output}, system, {**history, **carried})


@EXPORTERS.register("sharegpt")
def to_sharegpt(record: dict) -> dict:
    system, body = _split_system(record["messages"])
    return _row({"conversations": [{"from": SHAREGPT_NAMES[m["role"]], "value": m["content"]} for m in body]}, system,
                _carried(record))


@EXPORTERS.register("messages")
def to_messages(record: dict) -> dict:
    return _row({"messages": [{"role": m["role"], "content": m["content"]} for m in record["messages"]]}, None, _carried(record))


@EXPORTERS.register("prompt-completion")
def to_prompt_completion(record: dict) -> dict:
    system, body = _split_system(record["messages"])
    if len(body) != 2:
        raise Skip("multi-turn conversation")
    return _row({"prompt": body[0]["content"], "completion": body[1]["content"]}, system, _carried(record))


def export(records: Iterable[dict], to: str, out: str | Path, on_rows: Callable[[int], None] | None = None,
           overwrite: bool = False) -> dict[str, Any]:
    """Write records as JSONL (or a JSON array when `out` ends with .json). Atomic; an
    existing `out` is refused (ConfigError) unless `overwrite`."""
    fn = EXPORTERS.get(to)
    out = Path(out)
    skipped: Counter = Counter()
    written = 0
    as_array = out.suffix == ".json"
    with atomic_write(out, overwrite=overwrite) as fh:
        if as_array:
            fh.write("[\n")
        for record in records:
            try:
                row = fn(record)
            except Skip as s:
                skipped[str(s)] += 1
                continue
            if as_array:
                text = json.dumps(row, ensure_ascii=False, indent=2)
                fh.write((",\n" if written else "") + "\n".join("  " + line for line in text.splitlines()))
            else:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            written += 1
            if on_rows:
                on_rows(1)
        if as_array:
            fh.write("\n]\n" if written else "]\n")
    return {"written": written, "skipped": dict(skipped), "out": str(out), "format": to}
