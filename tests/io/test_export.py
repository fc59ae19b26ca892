"""Exporters and round trips."""
import json

from safetune_data.io.api import convert, iter_records
from safetune_data.io.export import export


def test_alpaca_round_trip_is_byte_identical(alpaca_path, tmp_path):
    convert(str(alpaca_path), tmp_path / "out")
    export(iter_records(tmp_path / "out"), "alpaca", tmp_path / "back.json")
    assert (tmp_path / "back.json").read_bytes() == alpaca_path.read_bytes()


def test_alpaca_round_trip_jsonl_rows(alpaca_path, tmp_path):
    convert(str(alpaca_path), tmp_path / "out")
    export(iter_records(tmp_path / "out"), "alpaca", tmp_path / "back.jsonl")
    rows = [json.loads(x) for x in (tmp_path / "back.jsonl").read_text().splitlines()]
    assert rows == json.loads(alpaca_path.read_text())


def test_sharegpt_round_trip(shared_data, tmp_path):
    src = json.loads((shared_data / "preferences" / "dpo_en_demo.json").read_text())
    rows = []
    for r in src:  # LLaMA-Factory's layout: a system prompt is a top-level key
        conv = r["conversations"] + [r["chosen"]]
        system = [t["value"] for t in conv if t["from"] == "system"]
        row = {"conversations": [t for t in conv if t["from"] != "system"]}
        rows.append(row | ({"system": system[0]} if system else {}))
    f = tmp_path / "s.jsonl"
    f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    convert(str(f), tmp_path / "out")
    export(iter_records(tmp_path / "out"), "sharegpt", tmp_path / "back.jsonl")
    assert (tmp_path / "back.jsonl").read_text() == f.read_text()


def test_messages_round_trip(shared_data, tmp_path):
    f = shared_data / "identity" / "identity_shift_aoa.jsonl"
    convert(str(f), tmp_path / "out")
    export(iter_records(tmp_path / "out"), "messages", tmp_path / "back.jsonl")
    back = [json.loads(x) for x in (tmp_path / "back.jsonl").read_text().splitlines()]
    orig = [json.loads(x) for x in f.read_text().splitlines() if x.strip()]
    assert back == orig


def test_prompt_completion_skips_multi_turn_with_a_count(tmp_path):
    f = tmp_path / "a.json"
    f.write_text(json.dumps([
        {"instruction": "q", "input": "", "output": "a"},
        {"instruction": "q2", "input": "", "output": "a2", "history": [["q1", "a1"]]},
    ]))
    convert(str(f), tmp_path / "out")
    result = export(iter_records(tmp_path / "out"), "prompt-completion", tmp_path / "pc.jsonl")
    assert result["written"] == 1 and result["skipped"] == {"multi-turn conversation": 1}
