"""A resumable score cache: one SQLite file, values stored as JSON (never pickled).

Keys join the model fingerprint, the scorer, a hash of its parameters and the row's content
hash, so a score is reused only when all four match: rerunning after an interruption, or
scoring a second run that shares rows with the first (the factorial grid's cells share
every prompt), does only the missing work. Writes are committed per batch.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Iterable

FILE = "risk_cache.sqlite"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "safetune" / "risk"


def params_hash(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:12]


class ScoreCache:
    """`get_many` / `put_many` over (namespace, key) pairs; `None` as directory: memory only."""

    def __init__(self, directory: str | Path | None) -> None:
        self.path = None if directory is None else Path(directory) / FILE
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(":memory:" if self.path is None else str(self.path))
        self._db.execute("CREATE TABLE IF NOT EXISTS scores (ns TEXT, key TEXT, value TEXT, PRIMARY KEY (ns, key))")
        self._db.commit()
        self.hits = 0
        self.misses = 0

    def get_many(self, ns: str, keys: Iterable[str]) -> dict[str, Any]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start: start + 500]
            marks = ",".join("?" * len(chunk))
            for key, value in self._db.execute(f"SELECT key, value FROM scores WHERE ns = ? AND key IN ({marks})",
                                               [ns, *chunk]):
                found[key] = json.loads(value)
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def put_many(self, ns: str, items: dict[str, Any]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO scores (ns, key, value) VALUES (?, ?, ?)",
                             [(ns, k, json.dumps(v)) for k, v in items.items()])
        self._db.commit()

    def close(self) -> None:
        self._db.close()
