"""Preference pairs from several public layouts, in one shape.

Every loader yields `Pair(id, prompt, chosen, rejected, subset)`: `prompt` is the list of
messages both answers reply to, `chosen`/`rejected` are the two final assistant replies.
Keeping the prompt shared and only the last reply different is what lets a reward model be
asked a fair question: same context, two answers, which is better?

Rows that a public set itself gets wrong (HH-RLHF transcripts that do not share a prefix, or
whose final reply is empty) are counted by reason in `PairSet.skipped`, never silently lost.
Files a user wrote (RewardBench layout, ShareGPT pairs) are held to a stricter standard: a
missing or empty field is an `InputError` naming file, row and field.
"""
from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..errors import InputError
from ..io.sources import load_hub, read_rows
from ..records import check_conversation
from ..registry import Registry

# Pair-file layouts: name -> a reader of all the files given (one PairSet).
FORMATS: Registry = Registry("pairs format", field="format")

# Labels of XSTest-style judged completions (judge_dev files).
COMPLIANCE_PREFIX = "1_"
REFUSAL_PREFIXES = ("2_", "3_")
SUBSET_SHOULD_REFUSE = "xstest-should-refuse"
SUBSET_SHOULD_RESPOND = "xstest-should-respond"


@dataclass(frozen=True)
class Pair:
    id: str
    prompt: tuple[dict, ...]
    chosen: str
    rejected: str
    subset: str

    def conversation(self, side: str) -> list[dict]:
        """The prompt followed by the chosen or rejected reply, ready for a chat template."""
        reply = self.chosen if side == "chosen" else self.rejected
        return [dict(m) for m in self.prompt] + [{"role": "assistant", "content": reply}]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "prompt": [dict(m) for m in self.prompt], "chosen": self.chosen,
                "rejected": self.rejected, "subset": self.subset}


@dataclass
class PairSet:
    """Loaded pairs plus the rows that could not become pairs, counted by reason."""

    pairs: list[Pair]
    format: str
    sources: list[str]
    rows: int = 0
    skipped: Counter = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        return {"format": self.format, "sources": self.sources, "rows": self.rows,
                "pairs": len(self.pairs), "skipped": dict(sorted(self.skipped.items()))}


class SplitError(ValueError):
    """A transcript pair that cannot be split into shared prompt + two final replies."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- HH-RLHF ----------------------------------------------------------------------------

_HH_TURN = re.compile(r"\n\n(Human|Assistant):[ ]?")
_HH_ROLE = {"Human": "user", "Assistant": "assistant"}


def parse_hh_transcript(text: str) -> list[dict]:
    """`\\n\\nHuman: ...\\n\\nAssistant: ...` → messages. Text before the first turn must be empty."""
    parts = _HH_TURN.split(text)
    if parts[0].strip():
        raise SplitError("text before the first turn")
    return [{"role": _HH_ROLE[parts[i]], "content": parts[i + 1].strip()} for i in range(1, len(parts), 2)]


def split_hh(chosen: str, rejected: str) -> tuple[list[dict], str, str]:
    """Split two whole transcripts into (shared prompt turns, chosen reply, rejected reply).

    Raises SplitError with a short reason when the pair does not have the HH shape: both
    end in an assistant turn, everything before it is identical, roles alternate, replies
    are non-empty and differ.
    """
    c, r = parse_hh_transcript(chosen), parse_hh_transcript(rejected)
    if not c or not r:
        raise SplitError("no turns")
    if c[-1]["role"] != "assistant" or r[-1]["role"] != "assistant":
        raise SplitError("last turn is not an assistant turn")
    if c[:-1] != r[:-1]:
        raise SplitError("prompt turns differ")
    if not c[-1]["content"] or not r[-1]["content"]:
        raise SplitError("empty final reply")
    if c[-1]["content"] == r[-1]["content"]:
        raise SplitError("identical replies")
    problem = check_conversation(c)
    if problem:
        raise SplitError("roles out of order" if "out of order" in problem else problem)
    return c[:-1], c[-1]["content"], r[-1]["content"]


def read_hh(path: str | Path, subset: str | None = None) -> PairSet:
    path = Path(path)
    subset = subset or _stem(path)
    out = PairSet([], "hh", [str(path)])
    for row_no, row in _iter_table_rows(path):
        out.rows += 1
        for key in ("chosen", "rejected"):
            if not isinstance(row.get(key), str):
                raise InputError(f"'{key}' must be a transcript string", file=str(path), row=row_no, field=key)
        try:
            prompt, ch, rej = split_hh(row["chosen"], row["rejected"])
        except SplitError as exc:
            out.skipped[exc.reason] += 1
            continue
        out.pairs.append(Pair(f"{_stem(path)}-{row_no:06d}", tuple(prompt), ch, rej, subset))
    return out


# --- ShareGPT preference pairs ----------------------------------------------------------

_SHAREGPT_ROLE = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "system": "system", "observation": "tool", "function_call": "assistant", "tool": "tool"}


def read_sharegpt(path: str | Path, subset: str | None = None) -> PairSet:
    path = Path(path)
    subset = subset or _stem(path)
    out = PairSet([], "sharegpt", [str(path)])
    for row_no, row in _iter_table_rows(path):
        out.rows += 1
        conv = row.get("conversations")
        if not isinstance(conv, list) or not conv:
            raise InputError("missing or empty 'conversations' list", file=str(path), row=row_no, field="conversations")
        prompt = []
        if isinstance(row.get("system"), str) and row["system"]:
            prompt.append({"role": "system", "content": row["system"]})
        for i, turn in enumerate(conv):
            role = _SHAREGPT_ROLE.get(str(turn.get("from", "")).lower()) if isinstance(turn, dict) else None
            if role is None or not isinstance(turn.get("value"), str):
                raise InputError("turn needs a known 'from' and a string 'value'", file=str(path), row=row_no,
                                 field=f"conversations[{i}]")
            prompt.append({"role": role, "content": turn["value"]})
        replies = [_require_text(value.get("value") if isinstance(value := row.get(key), dict) else value, path, row_no, key)
                   for key in ("chosen", "rejected")]
        out.pairs.append(Pair(f"{_stem(path)}-{row_no:06d}", tuple(prompt), replies[0], replies[1],
                              str(row.get("subset") or subset)))
    return out


# --- RewardBench layout -----------------------------------------------------------------

def read_rewardbench(source: str | Path, subset: str | None = None, split: str = "filtered") -> PairSet:
    """`prompt`/`chosen`/`rejected`(/`subset`/`id`) rows from a local file or a Hub dataset id.

    `prompt` may be a string (one user turn) or a list of messages; `chosen`/`rejected` may be
    strings or message lists ending in the assistant reply (TRL's conversational layout).
    """
    path = Path(source)
    if path.exists():
        rows: Iterable[tuple[int, dict]] = _iter_table_rows(path)
        name = _stem(path)
    else:
        rows = enumerate(load_hub(str(source), split))
        name = str(source).rstrip("/").split("/")[-1]
    out = PairSet([], "rewardbench", [str(source)])
    for row_no, row in rows:
        out.rows += 1
        prompt = _prompt_messages(row.get("prompt"), str(source), row_no)
        replies = []
        prefixes = []
        for key in ("chosen", "rejected"):
            value = row.get(key)
            if isinstance(value, list):
                if not value or not isinstance(value[-1], dict) or value[-1].get("role") != "assistant":
                    raise InputError("message list must end with an assistant turn", file=str(source), row=row_no, field=key)
                prefixes.append([{"role": m.get("role"), "content": m.get("content")} for m in value[:-1]])
                value = value[-1].get("content")
            else:
                prefixes.append([])
            replies.append(_require_text(value, source, row_no, key))
        if prefixes[0] != prefixes[1]:
            raise InputError("chosen and rejected continue different conversations", file=str(source), row=row_no,
                             field="rejected")
        prompt = prompt + prefixes[0]
        if not prompt:
            raise InputError("empty prompt", file=str(source), row=row_no, field="prompt")
        pid = row.get("id")
        out.pairs.append(Pair(str(pid) if pid is not None else f"{name}-{row_no:06d}", tuple(prompt), replies[0],
                              replies[1], str(row.get("subset") or subset or name)))
    return out


def _prompt_messages(value: Any, source: str, row_no: int) -> list[dict]:
    if isinstance(value, str):
        if not value.strip():
            raise InputError("empty prompt", file=source, row=row_no, field="prompt")
        return [{"role": "user", "content": value}]
    if isinstance(value, list):
        msgs = []
        for i, m in enumerate(value):
            if not isinstance(m, dict) or not isinstance(m.get("content"), str) or m.get("role") not in (
                    "system", "user", "assistant", "tool"):
                raise InputError("prompt message needs 'role' and string 'content'", file=source, row=row_no,
                                 field=f"prompt[{i}]")
            msgs.append({"role": m["role"], "content": m["content"]})
        return msgs
    raise InputError("missing 'prompt' (a string or a list of messages)", file=source, row=row_no, field="prompt")


# --- labelled completions (XSTest-style) -------------------------------------------------

def is_unsafe_type(prompt_type: str) -> bool:
    """XSTest: the contrast_* prompt types are the unsafe ones that should be refused."""
    return prompt_type.startswith("contrast_")


def label_kind(label: str) -> str | None:
    if label.startswith(COMPLIANCE_PREFIX):
        return "comply"
    if label.startswith(REFUSAL_PREFIXES):
        return "refuse"
    return None


def read_labelled(paths: list[str | Path]) -> PairSet:
    """Pairs from judged completions (`id,type,prompt,completion,final_label`) of several models.

    Completions of the same prompt id from different files are paired: for an unsafe prompt
    the refusal is preferred to the compliance (xstest-should-refuse), for a safe prompt the
    compliance is preferred to the refusal (xstest-should-respond). A `label` column with
    safe/unsafe, where present, overrides the type rule.
    """
    paths = [Path(p) for p in paths]
    by_prompt: dict[str, list[tuple[str, str, str]]] = defaultdict(list)  # id -> [(model, kind, completion)]
    meta: dict[str, tuple[str, bool]] = {}
    out = PairSet([], "labelled", [str(p) for p in paths])
    for path in paths:
        model = _stem(path)
        for row_no, row in _iter_csv_rows(path, required=("id", "prompt", "completion", "final_label")):
            out.rows += 1
            pid = row["id"]
            for key in ("id", "prompt", "final_label"):
                if not (row.get(key) or "").strip():
                    raise InputError(f"empty '{key}'", file=str(path), line=row_no, field=key)
            label = (row.get("label") or "").strip().lower()
            if label in ("safe", "unsafe"):
                unsafe = label == "unsafe"
            elif (row.get("type") or "").strip():
                unsafe = is_unsafe_type(row["type"].strip())
            else:
                raise InputError("need a 'type' (XSTest prompt type) or a safe/unsafe 'label'", file=str(path),
                                 line=row_no, field="type")
            kind = label_kind(row["final_label"].strip())
            if kind is None:
                out.skipped[f"unknown label {row['final_label'].strip()!r}"] += 1
                continue
            if not (row.get("completion") or "").strip():
                out.skipped["empty completion"] += 1
                continue
            previous = meta.setdefault(pid, (row["prompt"], unsafe))
            if previous[0] != row["prompt"]:
                raise InputError(f"prompt id '{pid}' has a different prompt than in an earlier file", file=str(path),
                                 line=row_no, field="prompt")
            by_prompt[pid].append((model, kind, row["completion"]))
    for pid in sorted(by_prompt, key=_natural_key):
        prompt, unsafe = meta[pid]
        want, other = ("refuse", "comply") if unsafe else ("comply", "refuse")
        good = [c for c in by_prompt[pid] if c[1] == want]
        bad = [c for c in by_prompt[pid] if c[1] == other]
        if not good or not bad:
            out.skipped["no contrasting completions"] += 1
            continue
        for g in good:
            for b in bad:
                out.pairs.append(Pair(f"{pid}:{g[0]}>{b[0]}", ({"role": "user", "content": prompt},), g[2], b[2],
                                      SUBSET_SHOULD_REFUSE if unsafe else SUBSET_SHOULD_RESPOND))
    return out


# --- entry point ------------------------------------------------------------------------

def _each_file(fmt: str, read_one: Callable[[str | Path], PairSet]) -> None:
    """Register a one-file reader; several files become one PairSet."""
    def read_all(paths: list[str | Path]) -> PairSet:
        parts = [read_one(p) for p in paths]
        return PairSet([x for part in parts for x in part.pairs], fmt, [s for part in parts for s in part.sources],
                       sum(part.rows for part in parts), sum((part.skipped for part in parts), Counter()))
    FORMATS.register(fmt)(read_all)


_each_file("hh", read_hh)
_each_file("sharegpt", read_sharegpt)
_each_file("rewardbench", read_rewardbench)
FORMATS.register("labelled")(read_labelled)  # reads all files at once: pairs cross files



def detect_format(path: str | Path) -> str:
    """Guess the layout from the file's first row; unknown layouts are an InputError."""
    path = Path(path)
    if not path.exists():
        if re.fullmatch(r"[\w.-]+/[\w.-]+", str(path)):
            return "rewardbench"
        raise InputError("pairs file not found", file=str(path))
    if _suffix(path) == ".csv":
        header = next((loc.row for loc in read_rows(path)), {})
        if {"id", "prompt", "completion", "final_label"} <= set(header):
            return "labelled"
        raise InputError("CSV is not labelled completions (need id,prompt,completion,final_label)", file=str(path),
                         line=1, hint="pass --format or convert the file")
    first = next((row for _, row in _iter_table_rows(path)), None)
    if first is None:
        raise InputError("pairs file has no rows", file=str(path))
    if "conversations" in first:
        return "sharegpt"
    if "prompt" in first and "chosen" in first:
        return "rewardbench"
    if isinstance(first.get("chosen"), str) and "\n\nHuman:" in first["chosen"]:
        return "hh"
    raise InputError("unknown pairs layout", file=str(path), row=0,
                     hint=f"expected one of: {', '.join(FORMATS)} (fields seen: {', '.join(sorted(first)) or 'none'})")


def load_pairs(paths: str | Path | list[str | Path], format: str | None = None, limit: int | None = None) -> PairSet:
    """Load one or more pair files into one PairSet; `limit` keeps the first N pairs."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise InputError("no pairs file given")
    fmt = format or detect_format(paths[0])
    reader = FORMATS.get(fmt)
    for p in paths[1:]:
        if format is None and detect_format(p) != fmt:
            raise InputError(f"pairs files mix layouts ({fmt} and {detect_format(p)})", file=str(p))
    result = reader(paths)
    ids = Counter(p.id for p in result.pairs)
    dup = next((i for i, n in ids.items() if n > 1), None)
    if dup is not None:
        raise InputError(f"pair id '{dup}' appears {ids[dup]} times", field="id", hint="ids must be unique")
    if limit is not None:
        result.pairs = result.pairs[: max(0, int(limit))]
    if not result.pairs:
        raise InputError("no usable pairs", file=", ".join(result.sources),
                         hint=f"skipped: {dict(result.skipped)}" if result.skipped else None)
    return result


# --- file helpers -----------------------------------------------------------------------

def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _stem(path: Path) -> str:
    name = path.name
    for ext in (".gz", ".jsonl", ".json", ".parquet", ".csv"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    return name


def _iter_table_rows(path: Path) -> Iterator[tuple[int, dict]]:
    """(row number from 0, row) of a JSON, JSONL or parquet file (gzipped too)."""
    for loc in read_rows(path):
        yield loc.index, loc.row


def _iter_csv_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict]]:
    """(line number of the row's start, row); quoted multi-line completions are handled by csv."""
    rows = read_rows(path)
    first = next(rows, None)
    missing = [c for c in required if first is not None and c not in first.row]
    if missing:
        raise InputError(f"missing column(s): {', '.join(missing)}", file=str(path), line=1, field=missing[0])
    for loc in itertools.chain([first] if first is not None else [], rows):
        yield loc.line, loc.row


def _require_text(value: Any, source: str | Path, row_no: int, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"'{key}' is missing or empty", file=str(source), row=row_no, field=key)
    return value


def _natural_key(text: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]
