"""`safetune validate`: list every problem of an input file or an output directory."""
from __future__ import annotations

from pathlib import Path

import jsonschema

from ..errors import SafetuneError
from ..records import check_conversation
from ..schemas import load_schema
from .api import is_output_dir, iter_records
from .convert import RecordStream
from .sources import resolve


def validate_path(path: str, format: str | None = None, mapping: dict | None = None) -> tuple[list[str], int]:
    """Return (problems, rows). Problems name file, line/row and field."""
    if is_output_dir(path):
        validator = jsonschema.Draft202012Validator(load_schema("record"))
        problems: list[str] = []
        rows = 0
        seen: set[str] = set()
        for i, record in enumerate(iter_records(path)):
            rows += 1
            meta = {k: v for k, v in (record.get("meta") or {}).items() if v is not None or k in ("source", "source_index")}
            for err in validator.iter_errors({**record, "meta": meta}):
                loc = ".".join(str(p) for p in err.path) or "record"
                problems.append(f"{path}: row {i}: field '{loc}': {err.message}")
            why = check_conversation(record.get("messages") or [])
            if why:
                problems.append(f"{path}: row {i}: field 'messages': {why}")
            if record.get("id") in seen:
                problems.append(f"{path}: row {i}: field 'id': duplicate id {record['id']!r}")
            seen.add(record.get("id"))
        if not Path(path, "manifest.json").exists():
            problems.append(f"{path}: manifest.json is missing")
        return problems, rows
    try:
        stream = RecordStream(resolve([path]), format=format, mapping=mapping, on_error="skip")
        rows = sum(t.num_rows for t in stream.tables())
    except SafetuneError as exc:
        return [str(exc)], 0
    problems = [f"{r['file']}: " + (f"line {r['line']}" if r["line"] is not None else f"row {r['row']}")
                + (f": field '{r['field']}'" if r["field"] else "") + f": {r['message']}" for r in stream.rejects]
    return problems, rows + len(problems)
