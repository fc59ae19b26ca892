import gzip
import json

import pytest

from safetune_data.errors import ConfigError, InputError
from safetune_data.rm.pairs import (SUBSET_SHOULD_REFUSE, SUBSET_SHOULD_RESPOND, SplitError, detect_format, load_pairs,
                                    read_hh, split_hh)


def _hh_rows(path, n):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(next(fh)) for _ in range(n)]


def test_hh_real_row_splits_into_shared_prompt_and_final_replies(hh_path):
    row = _hh_rows(hh_path, 1)[0]
    prompt, chosen, rejected = split_hh(row["chosen"], row["rejected"])
    assert row["chosen"].count("\n\nHuman:") == len([m for m in prompt if m["role"] == "user"])
    assert [m["role"] for m in prompt][:3] == ["user", "assistant", "user"] and prompt[-1]["role"] == "user"
    assert prompt[0]["content"] == "what are some pranks with a pen i can do?"
    assert chosen != rejected
    assert row["chosen"].rstrip().endswith(chosen) and row["rejected"].rstrip().endswith(rejected)
    assert "Human:" not in chosen and "Assistant:" not in rejected


def test_hh_whole_file_counts_unsplittable_rows_by_reason(hh_path):
    ps = read_hh(hh_path)
    assert ps.rows == 2312
    assert len(ps.pairs) + sum(ps.skipped.values()) == ps.rows
    assert len(ps.pairs) > 2250  # nearly all split cleanly
    assert set(ps.skipped) <= {"empty final reply", "prompt turns differ", "roles out of order", "identical replies",
                               "last turn is not an assistant turn", "no turns", "text before the first turn"}
    for pair in ps.pairs[:50]:
        assert pair.prompt[-1]["role"] == "user" and pair.chosen and pair.rejected


@pytest.mark.parametrize("chosen, rejected, reason", [
    ("\n\nHuman: hi\n\nAssistant: a", "\n\nHuman: hello\n\nAssistant: b", "prompt turns differ"),
    ("\n\nHuman: hi\n\nAssistant: ", "\n\nHuman: hi\n\nAssistant: b", "empty final reply"),
    ("\n\nHuman: hi\n\nAssistant: a", "\n\nHuman: hi\n\nAssistant: a", "identical replies"),
    ("\n\nHuman: hi", "\n\nHuman: hi", "last turn is not an assistant turn"),
    ("\n\nHuman: hi\n\nHuman: again\n\nAssistant: a", "\n\nHuman: hi\n\nHuman: again\n\nAssistant: b",
     "roles out of order"),
])
def test_hh_split_reasons(chosen, rejected, reason):
    with pytest.raises(SplitError) as exc:
        split_hh(chosen, rejected)
    assert exc.value.reason == reason


def test_sharegpt_real_pairs(shared_data):
    ps = load_pairs(shared_data / "preferences" / "dpo_en_demo.json")
    assert ps.format == "sharegpt" and len(ps.pairs) == 300
    first = ps.pairs[0]
    assert first.prompt[0]["role"] == "user" and first.prompt[0]["content"].startswith("Hi! I'd like to create")
    assert first.chosen.startswith("That sounds like a fun")


def test_labelled_pairs_prefer_refusal_on_unsafe_and_compliance_on_safe(shared_data):
    files = sorted((shared_data / "judge_dev").glob("*.csv"))
    ps = load_pairs(files)
    assert ps.format == "labelled" and ps.pairs
    import csv

    rows = {}
    for f in files:
        for r in csv.DictReader(open(f, newline="", encoding="utf-8")):
            rows[(f.stem, r["id"], r["completion"])] = r
    for pair in ps.pairs:
        pid, models = pair.id.split(":")
        good, bad = models.split(">")
        g, b = rows[(good, pid, pair.chosen)], rows[(bad, pid, pair.rejected)]
        if pair.subset == SUBSET_SHOULD_REFUSE:
            assert g["type"].startswith("contrast_")
            assert g["final_label"][:2] in ("2_", "3_") and b["final_label"].startswith("1_")
        else:
            assert pair.subset == SUBSET_SHOULD_RESPOND and not g["type"].startswith("contrast_")
            assert g["final_label"].startswith("1_") and b["final_label"][:2] in ("2_", "3_")


def test_rewardbench_layout_local_jsonl_and_parquet(tmp_path):
    rows = [{"prompt": "How do I kill a process?", "chosen": "Use kill.", "rejected": "I can't help.",
             "subset": "xstest-should-respond", "id": 7},
            {"prompt": [{"role": "user", "content": "hi"}], "chosen": "hello", "rejected": "go away"}]
    path = tmp_path / "rb.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    ps = load_pairs(path)
    assert ps.format == "rewardbench"
    assert [p.id for p in ps.pairs] == ["7", "rb-000001"]
    assert [p.subset for p in ps.pairs] == ["xstest-should-respond", "rb"]
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([rows[0]]), tmp_path / "rb.parquet")
    assert load_pairs(tmp_path / "rb.parquet").pairs[0].chosen == "Use kill."


def test_empty_chosen_names_file_row_and_field(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"prompt": "q", "chosen": "a", "rejected": "b"},
                                {"prompt": "q2", "chosen": "  ", "rejected": "b"}]))
    with pytest.raises(InputError) as exc:
        load_pairs(path)
    assert (exc.value.file, exc.value.row, exc.value.field) == (str(path), 1, "chosen")


def test_labelled_csv_problems_name_the_line_the_row_starts_on(tmp_path):
    """Completions span lines; the row with the problem is named by its first line."""
    path = tmp_path / "model.csv"
    path.write_text('id,type,prompt,completion,final_label\n'
                    '1,safe,q1,"line one\nline two\nline three",1_full_compliance\n'
                    '2,safe,,a,2_full_refusal\n', encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_pairs([path])
    assert (exc.value.line, exc.value.field, exc.value.message) == (5, "prompt", "empty 'prompt'")
    path.write_text("id,prompt,completion\n1,q,a\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_pairs([path], format="labelled")
    assert (exc.value.line, exc.value.field) == (1, "final_label")


def test_unknown_layout_and_format_are_input_errors(tmp_path):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps([{"question": "q", "answer": "a"}]))
    with pytest.raises(InputError, match="unknown pairs layout") as exc:
        detect_format(path)
    assert exc.value.file == str(path)
    with pytest.raises(ConfigError, match="unknown pairs format 'nope'") as exc:
        load_pairs(path, format="nope")
    assert exc.value.field == "format" and "hh" in exc.value.hint


def test_hub_id_is_refused_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match="offline"):
        load_pairs("allenai/reward-bench")


def test_limit_keeps_first_pairs(hh_path):
    assert [p.id for p in load_pairs(hh_path, limit=3).pairs] == [p.id for p in read_hh(hh_path).pairs[:3]]
