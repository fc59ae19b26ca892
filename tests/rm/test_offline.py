"""`safetune rm` offline: the README example on tiny reward models, and Hub ids that cannot
be loaded here failing in seconds with a hint."""
from __future__ import annotations

import json
import time

import jsonschema
import pytest

from safetune_data.schemas import load_schema

pytest.importorskip("torch")


@pytest.mark.slow
def test_rm_tiny_then_eval_runs_offline(tmp_path, cli, hh_path, monkeypatch):
    """README: safetune rm tiny rm_a && safetune rm tiny rm_b --seed 1 && safetune rm eval --model rm_a
    --model rm_b --pairs data/preferences/hh_rlhf_harmless_base_test.jsonl.gz --limit 50 --out rm_report
    (here with 16 pairs)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    assert cli("rm", "tiny", "rm_a")[0] == 0
    assert cli("rm", "tiny", "rm_b", "--seed", "1")[0] == 0
    code, out, err = cli("rm", "eval", "--model", "rm_a", "--model", "rm_b", "--pairs", hh_path,
                         "--limit", "16", "--out", "rm_report")
    assert code == 0, err
    result = json.loads((tmp_path / "rm_report" / "eval.json").read_text())
    jsonschema.validate(result, load_schema("rm_eval"))
    assert set(result["models"]) == {"rm_a", "rm_b"} and result["pairs"]["pairs"] == 16
    assert "agreement" in result
    # two seeds, two different models: their scores differ
    rows = [json.loads(line) for line in (tmp_path / "rm_report" / "pair_scores.jsonl").read_text().splitlines()]
    assert rows and any(r["scores"]["rm_a"] != r["scores"]["rm_b"] for r in rows)


def test_rm_tiny_refuses_a_folder_with_files(tmp_path, cli):
    (tmp_path / "rm").mkdir()
    (tmp_path / "rm" / "notes.txt").write_text("mine")
    code, _, err = cli("rm", "tiny", str(tmp_path / "rm"))
    assert code == 2 and "not an empty folder" in err


@pytest.mark.parametrize("command", [
    ["rm", "eval", "--model", "OpenAssistant/reward-model-deberta-v3-large-v2", "--pairs", "HH"],
    ["rm", "eval", "--model", "HF/policy", "--ref-model", "HF/reference", "--pairs", "HH"],
    ["rm", "score", "DATASET", "--model", "OpenAssistant/reward-model-deberta-v3-large-v2", "--out", "OUT"],
    ["rm", "compare", "DATASET", "--model", "OpenAssistant/reward-model-deberta-v3-large-v2"],
])
def test_hub_id_offline_fails_fast_with_hint(tmp_path, cli, hh_path, monkeypatch, command):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "ds").mkdir()
    args = [{"HH": str(hh_path), "DATASET": str(tmp_path / "ds"), "OUT": str(tmp_path / "out")}.get(a, a) for a in command]
    t0 = time.time()
    code, _, err = cli(*args)
    assert code == 2 and time.time() - t0 < 5
    assert "not in the Hugging Face cache" in err and "HF_HUB_OFFLINE" in err
    assert "safetune rm tiny" in err
    assert not (tmp_path / "out").exists()
