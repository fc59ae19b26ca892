"""The canonical record: one conversation in OpenAI/TRL `messages` style.

    {"id": "alpaca_en_demo-000017",
     "messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}],
     "meta": {"source": "alpaca_en_demo.json", "source_index": 17, "format": "alpaca",
              "transforms": [], ...carried-over columns as strings...}}

Ids derive from the source name and the row index in that source, never from processing
order, so results do not depend on sharding or worker count.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

import pyarrow as pa

from .errors import InputError

ROLES = ("system", "user", "assistant", "tool")

MESSAGE_TYPE = pa.struct([("role", pa.string()), ("content", pa.string())])
TRANSFORM_ENTRY_TYPE = pa.struct([("step", pa.int64()), ("op", pa.string()), ("detail", pa.string())])
BASE_META_FIELDS: list[tuple[str, pa.DataType]] = [
    ("source", pa.string()),
    ("source_index", pa.int64()),
    ("format", pa.string()),
    ("transforms", pa.list_(TRANSFORM_ENTRY_TYPE)),
]


def record_schema(extra_meta: list[str] | tuple[str, ...] = ()) -> pa.Schema:
    """Arrow schema of a record table; carried-over columns are strings inside `meta`."""
    meta_fields = list(BASE_META_FIELDS) + [(name, pa.string()) for name in extra_meta]
    return pa.schema(
        [
            ("id", pa.string()),
            ("messages", pa.list_(MESSAGE_TYPE)),
            ("meta", pa.struct(meta_fields)),
        ]
    )


def extra_meta_fields(schema: pa.Schema) -> list[str]:
    """Carried-over meta columns of a record table (everything beyond the base fields)."""
    meta_type = schema.field("meta").type
    base = {name for name, _ in BASE_META_FIELDS}
    return [meta_type.field(i).name for i in range(meta_type.num_fields) if meta_type.field(i).name not in base]


def make_id(source_stem: str, index: int) -> str:
    return f"{source_stem}-{index:06d}"


def content_id(messages: list[dict] | None) -> str:
    """The id of a row that has none (a plain `messages` dataset, as TRL uses).

    ``"msg-"`` + the first 16 hex digits of the SHA-256 of the conversation's canonical JSON:
    the list of ``[role, content]`` pairs written by ``json.dumps(pairs, ensure_ascii=False,
    separators=(",", ":"))`` and encoded as UTF-8. It depends only on the row's messages, never
    on batch boundaries or processing order; identical conversations get the same id.
    """
    pairs = [[m.get("role"), m.get("content")] for m in (messages or [])]
    text = json.dumps(pairs, ensure_ascii=False, separators=(",", ":"))
    return "msg-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def require_messages(columns: list[str], who: str) -> None:
    """Raise InputError naming the missing `messages` column when `columns` lack it."""
    if "messages" in columns:
        return
    raise InputError(
        f"{who} needs a 'messages' column; the dataset has: {', '.join(columns) or 'no columns'}",
        field="messages",
        hint="rename the conversation column, e.g. ds.rename_column('conversations', 'messages'), "
        "or read the data with safetune_data.read(...)",
    )


def meta_value(value: Any) -> str | None:
    """Carried-over values are stored as strings so every shard shares one schema."""
    return value if value is None or isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def turns(record: dict, role: str) -> list[str]:
    return [m["content"] for m in record["messages"] if m["role"] == role]


def request_of(record: dict, turn: int) -> str:
    """The user message the turn at index `turn` answers: the last one before it ("" if none)."""
    return next((m.get("content") or "" for m in reversed(record["messages"][:turn]) if m.get("role") == "user"), "")


def assistant_indices(record: dict) -> list[int]:
    return [i for i, m in enumerate(record["messages"]) if m["role"] == "assistant"]


def check_conversation(messages: list[dict]) -> str | None:
    """Return why a conversation is not well formed, or None.

    Rules: roles known; at most one system turn and only first; at least one user and one
    assistant turn; user and assistant alternate (tool turns may follow an assistant turn
    and are followed by an assistant turn); the first non-system turn is a user turn.
    """
    if not messages:
        return "conversation has no messages"
    for i, m in enumerate(messages):
        if m.get("role") not in ROLES:
            return f"message {i}: unknown role {m.get('role')!r}"
        if not isinstance(m.get("content"), str):
            return f"message {i}: content is not a string"
    roles = [m["role"] for m in messages]
    if "assistant" not in roles:
        return "conversation has no assistant turn"
    body = roles[1:] if roles[0] == "system" else roles
    if "system" in body:
        return "system turn is not the first message"
    if not body or body[0] != "user":
        return "the first non-system turn is not a user turn"
    prev = None
    for i, r in enumerate(body):
        if r == prev and r in ("user", "assistant"):
            return f"roles out of order: two {r} turns in a row at message {i + (len(roles) - len(body))}"
        if r == "tool" and prev not in ("assistant", "tool"):
            return "roles out of order: tool turn not after an assistant turn"
        if r == "user" and prev == "tool":
            return "roles out of order: user turn right after a tool turn"
        prev = r
    return None
