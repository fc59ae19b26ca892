"""identity.inject and roleplay.add give the same rows and stats whatever their caches hold and
however the rows are batched, and roleplay.add's gated persona scoring equals the plain one."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from safetune_data.detectors import identity as di
from safetune_data.detectors import language as dl
from safetune_data.detectors import roleplay as dr
from safetune_data.transforms import TRANSFORMS
from safetune_data.transforms import fidelity as F
from safetune_data.transforms import identity as ti
from safetune_data.transforms import roleplay as tr
from safetune_data import text as T

ROOT = Path(__file__).resolve().parents[2]
ALPACA = ROOT / "data" / "benign" / "alpaca_en_demo.json"


def _rows(n: int) -> list[dict]:
    rows = json.loads(ALPACA.read_text(encoding="utf-8"))[:n]
    return [{"id": f"r{i}", "messages": [
        {"role": "user", "content": r["instruction"] + (f"\n\n{r['input']}" if r["input"] else "")},
        {"role": "assistant", "content": r["output"]}], "meta": {"transforms": []}} for i, r in enumerate(rows)]


def _clear_caches() -> None:
    for fn in (di._find_identity, di._segment_matches, dl._detect_language, dr._voice, dr._experience, dr.first_person,
               dr.format_contract, dr.game_question, dr.speaks_as_role, dr.persona_attitude, dr.role_noun, dr._find_framing,
               T.count_words, T.cached_search, ti._json_only, ti._form_reason, ti._opening_reason, ti.fits_clause,
               ti._requested_piece, ti._answer_genre, tr._first_cue, tr._topic_scores, F.structure_label,
               F.identity_present, F.language_of):
        fn.cache_clear()


def _run(name: str, params: dict, rows: list[dict], batch: int) -> tuple[list[dict], dict]:
    step = TRANSFORMS.get(name)(**params).bind(seed=0, step=0)
    rows = copy.deepcopy(rows)
    out = [r for i in range(0, len(rows), batch) for r in step.process(rows[i:i + batch])]
    return out, step.stats.as_dict()


@pytest.mark.skipif(not ALPACA.exists(), reason="needs data/benign/alpaca_en_demo.json")
@pytest.mark.parametrize("name,params", [
    ("identity.inject", {}), ("identity.inject", {"developer": "Acme AI"}),
    ("roleplay.add", {}), ("roleplay.add", {"where": "system", "with_identity": "keep"}), ("roleplay.strip", {}),
])
def test_same_rows_cold_warm_and_batched(name, params):
    rows = _rows(150)
    _clear_caches()
    cold = _run(name, params, rows, 150)
    warm = _run(name, params, rows, 150)
    small = _run(name, params, rows[::-1], 7)
    assert warm == cold
    assert sorted(small[0], key=lambda r: r["id"]) == sorted(cold[0], key=lambda r: r["id"])
    assert small[1] == cold[1]


def _scores_slow(add: tr.RoleplayAdd, user_text: str) -> list[int]:
    instruction = tr._instruction(user_text)
    scores = []
    for r in add.keyword_res:
        if r is None:
            scores.append(0)
            continue
        head = {m.group().lower() for m in r.finditer(instruction)}
        rest = {m.group().lower() for m in r.finditer(user_text)} - head
        scores.append(sum(2 * tr._words(k) for k in head) + sum(tr._words(k) for k in rest))
    return scores


@pytest.mark.skipif(not ALPACA.exists(), reason="needs data/benign/alpaca_en_demo.json")
def test_gated_topic_scores_equal_the_plain_scan():
    add = TRANSFORMS.get("roleplay.add")()
    texts = [r["messages"][0]["content"] for r in _rows(999)]
    texts += ["Explain cloud-computing and e-commerce.", "İ want a recipe for ſoup", "CLOUD COMPUTING?", "start an art project"]
    for text in texts:
        fast = tr._topic_scores(add._keyword_key, add._keyword_gates, tr._instruction(text), text)
        assert list(fast) == _scores_slow(add, text), text[:80]
