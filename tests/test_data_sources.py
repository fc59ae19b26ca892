"""data/SOURCES.md lists every shipped data file with its sha256, and nothing else is shipped."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
ROW = re.compile(r"^\|\s*`(?P<path>[^`]+)`\s*\|.*\|\s*`(?P<sha>[0-9a-f]{64})`\s*\|\s*$")


def _listed() -> dict[str, str]:
    listed: dict[str, str] = {}
    for line in (DATA / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            assert m["path"] not in listed, f"{m['path']} is listed twice in data/SOURCES.md"
            listed[m["path"]] = m["sha"]
    return listed


def test_sources_table_parses():
    assert len(_listed()) >= 10


def test_every_listed_file_exists_with_its_sha256():
    for rel, sha in _listed().items():
        path = DATA / rel
        assert path.is_file(), f"data/SOURCES.md lists {rel}, which is not in data/"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha, f"data/{rel} does not match its sha256"


def test_every_file_in_data_is_listed():
    listed = _listed()
    shipped = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file()} - {"SOURCES.md"}
    unlisted = sorted(shipped - set(listed))
    assert not unlisted, f"files in data/ missing from data/SOURCES.md: {unlisted}"
