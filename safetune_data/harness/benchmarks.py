"""Safety and utility benchmarks behind one loader shape.

`load_benchmark(spec)` returns rows `{"id", "prompt", "category", "expected"}` where
`expected` is "refuse" (a harmful request: refusing is the safe outcome) or "comply" (a
benign request: refusing is over-refusal). MT-Bench rows also keep `turns`.

Files are read from local paths (no network by default); a Hub id in `hub` is loaded with
`datasets.load_dataset` when online. Every loader goes through the same column mapping, so
`map` can rename columns for any of them.

The keys of a spec are `SPEC` below (shared by every benchmark; `safetune harness
benchmarks` lists them).
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError
from ..io.sources import load_hub, read_csv_lines, read_rows
from ..registry import Registry, schema

BENCHMARKS: Registry = Registry("benchmark", field="name")
_text = {"type": "string"}
SPEC = schema(
    path={**_text, "description": "a file (for hexphi, a directory of category_N.csv files)"},
    hub={**_text, "description": "a Hub dataset id instead of a path; `split` names its split (default train)"},
    n={"type": ["integer", "null"], "minimum": 0, "description": "seeded subsample of n rows, kept in file order"},
    seed={"type": ["integer", "null"], "description": "seed of the subsample (same n and seed: same rows)"},
    split={"type": ["string", "object"], "description": "a filter mapping (e.g. {half: eval}) or a Hub split name"},
    map={"type": "object", "description": "columns by role: prompt, category, expected, id"},
    expected={"enum": ["refuse", "comply"], "description": "file: expectation of rows without an expected column"},
    field={**_text, "description": "saladbench: the question field (default: augq if present, else question)"},
    label={"description": "filter: xstest label (safe | unsafe)"},
    half={"enum": ["train", "eval"], "description": "filter: advbench/hexphi half (even rows train, odd eval)"},
    category={"description": "filter: keep rows of this category"},
    functional={"description": "filter: harmbench functional category (standard, contextual, copyright)"},
    category_level={"type": "integer", "minimum": 1, "maximum": 3, "description": "saladbench: category level"},
)
register = BENCHMARKS.register
FILTER_KEYS = {"label", "half", "category", "functional"}


_REFUSE_VALUES = {"refuse", "refusal", "unsafe", "harmful", "1", "true", "yes"}
_COMPLY_VALUES = {"comply", "compliance", "safe", "benign", "unharmful", "0", "false", "no"}


# ---------------------------------------------------------------------------- reading files
def read_table(path: Path) -> list[dict]:
    """Rows of a CSV, JSON or JSONL file (gzipped too), through the one row reader of `io`."""
    return [loc.row for loc in read_rows(path)]


def _load_hub(spec: dict) -> list[dict]:
    split = spec.get("split") if isinstance(spec.get("split"), str) else "train"
    try:
        return [dict(r) for r in load_hub(spec["hub"], split)]
    except InputError as exc:  # a config problem here: the benchmark names the Hub id
        raise ConfigError(f"benchmark '{spec['name']}': {exc}", field="hub", hint=exc.hint) from exc


# ---------------------------------------------------------------------------- row mapping
def _column(rows: list[dict], spec: dict, key: str, default: str | None, where: str, required: bool) -> str | None:
    """The column that plays role `key`: from spec['map'], else the benchmark's default."""
    col = (spec.get("map") or {}).get(key, default)
    if col is None:
        if required:
            raise ConfigError(f"benchmark '{spec['name']}' needs map.{key}: the column holding the {key}", field=f"map.{key}")
        return None
    if rows and col not in rows[0]:
        if not required and key not in (spec.get("map") or {}):
            return None
        raise InputError(
            f"column '{col}' not found (columns: {', '.join(map(str, rows[0].keys()))})",
            file=where,
            field=col,
            hint=f"set map.{key} to the column holding the {key}",
        )
    return col


def _expected_value(value: Any, where: str, row: int, field: str) -> str:
    text = str(value).strip().lower()
    if text in _REFUSE_VALUES:
        return "refuse"
    if text in _COMPLY_VALUES:
        return "comply"
    raise InputError(
        f"cannot read '{value}' as an expectation (refuse/unsafe/harmful or comply/safe/benign)",
        file=where,
        row=row,
        field=field,
    )


def _map_rows(
    rows: list[dict],
    spec: dict,
    where: str,
    *,
    prompt: str,
    category: str | None = None,
    id_col: str | None = None,
    expected_col: str | None = None,
    expected: str = "refuse",
    id_prefix: str,
    category_default: str = "",
) -> list[dict]:
    p_col = _column(rows, spec, "prompt", prompt, where, required=True)
    c_col = _column(rows, spec, "category", category, where, required=False)
    i_col = _column(rows, spec, "id", id_col, where, required=False)
    e_col = _column(rows, spec, "expected", expected_col, where, required=False)
    default_expected = spec.get("expected", expected)  # the spec's value is checked against SPEC by load_benchmark
    out = []
    for i, r in enumerate(rows):
        text = r.get(p_col)
        if not isinstance(text, str) or not text.strip():
            raise InputError("empty or missing prompt", file=where, row=i, field=p_col)
        out.append(
            {
                "id": f"{id_prefix}-{r[i_col]}" if i_col and r.get(i_col) not in (None, "") else f"{id_prefix}-{i:04d}",
                "prompt": text.strip(),
                "category": str(r.get(c_col) or category_default) if c_col else category_default,
                "expected": _expected_value(r[e_col], where, i, e_col) if e_col else default_expected,
                "_index": i,
            }
        )
    return out


def _filters(spec: dict) -> dict:
    filters = {k: spec[k] for k in FILTER_KEYS if spec.get(k) is not None}
    if isinstance(spec.get("split"), dict):
        filters.update({k: v for k, v in spec["split"].items() if v is not None})
    unknown = set(filters) - FILTER_KEYS
    if unknown:
        raise ConfigError(f"unknown filter(s) {sorted(unknown)}; known: {sorted(FILTER_KEYS)}", field="split")
    return filters


def _source(spec: dict) -> tuple[list[dict] | None, Path | None, str]:
    """(rows from the Hub, None, id) or (None, local path, path string)."""
    if spec.get("hub"):
        return _load_hub(spec), None, str(spec["hub"])
    if not spec.get("path"):
        raise ConfigError(f"benchmark '{spec['name']}' needs 'path' (a local file) or 'hub' (a Hub dataset id)", field="path")
    path = Path(spec["path"]).expanduser()
    if not path.exists():
        raise InputError("file not found", file=str(path), field="path")
    return None, path, str(path)


def _table(spec: dict) -> tuple[list[dict], str]:
    """(rows, where) of a benchmark given as a table: from the Hub, or a local file."""
    rows, path, where = _source(spec)
    return (rows if rows is not None else read_table(path)), where


# ---------------------------------------------------------------------------- loaders
@register("advbench", params=SPEC)
def _advbench(spec: dict) -> list[dict]:
    """AdvBench harmful behaviours: one instruction per line (original file: header goal,target).

    `half`: "train" keeps even rows (0, 2, ...), "eval" odd rows, so one stage can train on
    one half and evaluate on the other without overlap.
    """
    rows, path, where = _source(spec)
    if rows is None:
        raw = read_csv_lines(path)
        if raw and [c.strip().lower() for c in raw[0][:2]] == ["goal", "target"]:
            raw = raw[1:]
        rows = [{"prompt": r[0]} for r in raw]
    default_prompt = "prompt" if (not rows or "prompt" in rows[0]) else "goal"
    out = _map_rows(rows, spec, where, prompt=default_prompt, id_prefix="advbench", category_default="harmful_behaviors")
    half = _filters(spec).get("half")
    if half not in (None, "train", "eval"):
        raise ConfigError(f"advbench half must be 'train', 'eval' or null, got {half!r}", field="half")
    if half:
        parity = 0 if half == "train" else 1
        out = [r for r in out if r["_index"] % 2 == parity]
    return out


@register("xstest", params=SPEC)
def _xstest(spec: dict) -> list[dict]:
    """XSTest: label safe -> comply, unsafe -> refuse; category = type."""
    rows, where = _table(spec)
    out = _map_rows(rows, spec, where, prompt="prompt", category="type", id_col="id", expected_col="label", id_prefix="xstest")
    label = _filters(spec).get("label")
    if label is not None:
        want = _expected_value(label, where, 0, "label")
        out = [r for r in out if r["expected"] == want]
    return out


@register("harmbench", params=SPEC)
def _harmbench(spec: dict) -> list[dict]:
    """HarmBench behaviours CSV: Behavior (+ ContextString for contextual behaviours).

    Contextual behaviours put the context first, as HarmBench's own generation step does.
    `functional` filters FunctionalCategory (standard, contextual, copyright).
    """
    rows, where = _table(spec)
    _column(rows, spec, "prompt", "Behavior", where, required=True)
    functional = _filters(spec).get("functional")
    if functional is not None:
        rows = [r for r in rows if str(r.get("FunctionalCategory", "")).lower() == str(functional).lower()]
    p_col = (spec.get("map") or {}).get("prompt", "Behavior")
    merged = []
    for r in rows:
        context = (r.get("ContextString") or "").strip()
        merged.append(dict(r, **{p_col: f"{context}\n\n---\n\n{r[p_col]}"}) if context else dict(r))
    return _map_rows(merged, spec, where, prompt="Behavior", category="SemanticCategory", id_col="BehaviorID", id_prefix="harmbench")


@register("hexphi", params=SPEC)
def _hexphi(spec: dict) -> list[dict]:
    """HEx-PHI style: a directory of category_N.csv files, one prompt per line, no header."""
    if spec.get("hub"):
        rows, _, where = _source(spec)
        return _map_rows(rows, spec, where, prompt="prompt", category="category", id_prefix="hexphi")
    _, path, where = _source(spec)
    files = sorted(path.glob("*.csv"), key=_natural_key) if path.is_dir() else [path]
    if not files:
        raise InputError("no .csv files in directory", file=where, field="path")
    out = []
    for f in files:
        rows = [{"prompt": r[0]} for r in read_csv_lines(f)]
        out += _map_rows(rows, spec, str(f), prompt="prompt", id_prefix=f"hexphi-{f.stem}", category_default=f.stem)
    for i, r in enumerate(out):
        r["_index"] = i
    return out


def _natural_key(path: Path) -> tuple:
    """category_2 before category_10."""
    stem = path.stem
    digits = "".join(ch for ch in stem if ch.isdigit())
    return (stem.rstrip("0123456789"), int(digits) if digits else -1, stem)


@register("saladbench", params=SPEC)
def _saladbench(spec: dict) -> list[dict]:
    """SALAD-Bench JSON/JSONL: base set `question`, attack-enhanced `augq`; category `1-category`."""
    rows, where = _table(spec)
    field = spec.get("field")
    if field is None and rows:
        field = next((f for f in ("augq", "question", "baseq") if f in rows[0]), "question")
    level = int(spec.get("category_level", 1))
    id_col = next((c for c in ("aid", "qid", "id") if rows and c in rows[0]), None)
    return _map_rows(rows, spec, where, prompt=field or "question", category=f"{level}-category", id_col=id_col, id_prefix="saladbench")


@register("mtbench", params=SPEC)
def _mtbench(spec: dict) -> list[dict]:
    """MT-Bench questions: prompt = first turn, `turns` kept for multi-turn generation."""
    rows, where = _table(spec)
    t_col = (spec.get("map") or {}).get("prompt", "turns")
    for i, r in enumerate(rows):
        turns = r.get(t_col)
        if not isinstance(turns, list) or not turns:
            raise InputError("expected a non-empty list of turns", file=where, row=i, field=t_col)
    staged = [dict(r, _first_turn=r[t_col][0]) for r in rows]
    spec = dict(spec, map={k: v for k, v in (spec.get("map") or {}).items() if k != "prompt"})
    out = _map_rows(staged, spec, where, prompt="_first_turn", category="category", id_col="question_id", expected="comply", id_prefix="mtbench")
    for r in out:
        r["turns"] = list(rows[r["_index"]][t_col])
    return out


@register("file", params=SPEC)
def _file(spec: dict) -> list[dict]:
    """Any CSV/JSON/JSONL with a prompt column (map.prompt, default 'prompt')."""
    rows, where = _table(spec)
    stem = where.replace("/", "_") if spec.get("hub") else Path(where).stem
    return _map_rows(rows, spec, where, prompt="prompt", category="category", id_col="id", expected_col="expected", id_prefix=stem)


def subsample(rows: list[dict], n: int | None, seed: int = 0) -> list[dict]:
    """Seeded sample of n rows, kept in their original order (all rows when n is None or >= len)."""
    if n is None or n >= len(rows):
        return list(rows)
    if n < 0:
        raise ConfigError(f"n must be >= 0, got {n}", field="n")
    keep = sorted(random.Random(seed).sample(range(len(rows)), n))
    return [rows[i] for i in keep]


def load_benchmark(spec: dict) -> list[dict]:
    """Load one benchmark as rows {"id", "prompt", "category", "expected"} (see module doc)."""
    if not isinstance(spec, dict) or "name" not in spec:
        raise ConfigError("a benchmark spec needs a 'name'", field="name", hint=f"known: {', '.join(BENCHMARKS)}")
    name = spec["name"]
    load = BENCHMARKS.get(name)
    BENCHMARKS.check_params(name, {k: v for k, v in spec.items() if k != "name"})
    rows = load(spec)
    category = _filters(spec).get("category")
    if category is not None:
        rows = [r for r in rows if r["category"] == str(category)]
    rows = subsample(rows, spec.get("n"), int(spec.get("seed", 0) or 0))
    for r in rows:
        r.pop("_index", None)
    return rows

