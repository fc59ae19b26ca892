"""Readers: each format and file kind into canonical records."""
import gzip
import json

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import safetune_data as st
from safetune_data.io.api import convert
from safetune_data.io.manifest import read_manifest


def _records(out):
    return datasets.load_from_disk(str(out)).to_list()


def test_alpaca_real_file_gives_999_user_assistant_rows(alpaca_path, tmp_path):
    manifest = convert(str(alpaca_path), tmp_path / "out")
    rows = _records(tmp_path / "out")
    assert len(rows) == 999
    assert all([m["role"] for m in r["messages"]] == ["user", "assistant"] for r in rows)
    assert manifest["inputs"][0]["format"] == "alpaca"
    import hashlib

    assert manifest["inputs"][0]["sha256"] == hashlib.sha256(alpaca_path.read_bytes()).hexdigest()
    assert read_manifest(tmp_path / "out")["output"]["rows"] == 999


def test_alpaca_input_is_appended_to_the_instruction(alpaca_path, tmp_path):
    src = json.loads(alpaca_path.read_text())
    k = next(i for i, r in enumerate(src) if r["input"])
    convert(str(alpaca_path), tmp_path / "out")
    row = _records(tmp_path / "out")[k]
    assert row["messages"][0]["content"] == src[k]["instruction"] + "\n\n" + src[k]["input"]
    assert row["id"] == f"alpaca_en_demo-{k:06d}"
    assert row["meta"]["source_index"] == k


def test_alpaca_system_and_history(tmp_path):
    f = tmp_path / "a.json"
    f.write_text(json.dumps([{"instruction": "q2", "input": "", "output": "a2", "system": "sys", "history": [["q1", "a1"]]}]))
    convert(str(f), tmp_path / "out")
    msgs = _records(tmp_path / "out")[0]["messages"]
    assert [(m["role"], m["content"]) for m in msgs] == [
        ("system", "sys"), ("user", "q1"), ("assistant", "a1"), ("user", "q2"), ("assistant", "a2")]


def test_sharegpt_roles_system_and_custom_role_mapping(tmp_path):
    f = tmp_path / "s.jsonl"
    rows = [
        {"system": "be brief", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]},
        {"conversations": [{"from": "customer", "value": "q"}, {"from": "agent", "value": "a"}]},
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    convert(str(f), tmp_path / "out", mapping={"customer": "user", "agent": "assistant"})
    recs = _records(tmp_path / "out")
    assert recs[0]["messages"][0] == {"role": "system", "content": "be brief"}
    assert [m["role"] for m in recs[1]["messages"]] == ["user", "assistant"]


def test_messages_with_content_parts(tmp_path):
    f = tmp_path / "m.jsonl"
    row = {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "part one "}, {"type": "text", "value": "part two"}]},
        {"role": "assistant", "content": "ok"}], "tools": "[]"}
    f.write_text(json.dumps(row) + "\n")
    convert(str(f), tmp_path / "out")
    rec = _records(tmp_path / "out")[0]
    assert rec["messages"][0]["content"] == "part one part two"
    assert rec["meta"]["tools"] == "[]"


def test_prompt_completion_parquet(tmp_path):
    f = tmp_path / "pc.parquet"
    pq.write_table(pa.table({"prompt": ["p1", "p2"], "completion": ["c1", "c2"], "lang": ["en", "de"]}), f)
    convert(str(f), tmp_path / "out")
    recs = _records(tmp_path / "out")
    assert recs[1]["messages"] == [{"role": "user", "content": "p2"}, {"role": "assistant", "content": "c2"}]
    assert recs[1]["meta"]["lang"] == "de"


def test_dolly_style_mapping_keeps_every_row_and_category(tmp_path):
    f = tmp_path / "dolly.jsonl"
    rows = [
        {"instruction": "Summarise", "context": "Some text.", "response": "Short.", "category": "summarization"},
        {"instruction": "Capital of France?", "context": "", "response": "Paris.", "category": "open_qa"},
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows))
    convert(str(f), tmp_path / "out", mapping={"user": "instruction", "context": "context", "assistant": "response"})
    recs = _records(tmp_path / "out")
    assert len(recs) == 2
    assert recs[0]["messages"][0]["content"] == "Summarise\n\nSome text."
    assert recs[1]["messages"][0]["content"] == "Capital of France?"
    assert [r["meta"]["category"] for r in recs] == ["summarization", "open_qa"]


@pytest.mark.parametrize("kind", ["jsonl.gz", "json.gz", "csv", "arrow", "json-object"])
def test_file_kinds(kind, tmp_path):
    rows = [{"instruction": f"q{i}", "input": "", "output": f"a{i}"} for i in range(3)]
    if kind == "jsonl.gz":
        f = tmp_path / "d.jsonl.gz"
        with gzip.open(f, "wt") as fh:
            fh.write("\n".join(json.dumps(r) for r in rows))
    elif kind == "json.gz":
        f = tmp_path / "d.json.gz"
        with gzip.open(f, "wt") as fh:
            fh.write(json.dumps(rows))
    elif kind == "csv":
        f = tmp_path / "d.csv"
        f.write_text("instruction,input,output\n" + "".join(f"q{i},,a{i}\n" for i in range(3)))
    elif kind == "arrow":
        f = tmp_path / "d.arrow"
        t = pa.Table.from_pylist(rows)
        with pa.OSFile(str(f), "wb") as sink, pa.ipc.new_file(sink, t.schema) as w:
            w.write_table(t)
    else:
        f = tmp_path / "d.json"
        f.write_text(json.dumps({"train": rows}))
    convert(str(f), tmp_path / "out")
    recs = _records(tmp_path / "out")
    assert [r["messages"][1]["content"] for r in recs] == ["a0", "a1", "a2"]


def test_save_to_disk_dir_and_several_inputs(tmp_path):
    ds = datasets.Dataset.from_list([{"prompt": "p", "completion": "c"}])
    ds.save_to_disk(str(tmp_path / "hfdir"))
    f = tmp_path / "x.jsonl"
    f.write_text(json.dumps({"instruction": "i", "input": "", "output": "o"}) + "\n")
    manifest = convert([str(tmp_path / "hfdir"), str(f)], tmp_path / "out")
    recs = _records(tmp_path / "out")
    assert [r["id"] for r in recs] == ["hfdir-000000", "x-000000"]
    assert [i["format"] for i in manifest["inputs"]] == ["prompt-completion", "alpaca"]


def test_read_returns_a_dataset_of_records(alpaca_path):
    ds = st.read(str(alpaca_path))
    assert isinstance(ds, datasets.Dataset)
    assert ds.num_rows == 999 and set(ds.column_names) == {"id", "messages", "meta"}


def test_write_round_trips_a_dataset(alpaca_path, tmp_path):
    ds = st.read(str(alpaca_path)).select(range(10))
    st.write(ds, tmp_path / "w")
    assert datasets.load_from_disk(str(tmp_path / "w"))["id"] == ds["id"]


def test_hub_id_offline_is_a_clear_error(tmp_path, monkeypatch):
    from safetune_data.errors import InputError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match="offline"):
        convert("someone/some-dataset", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_read_csv_lines_keeps_quoted_commas_skips_blank_lines_and_reads_gzip(tmp_path):
    import gzip

    from safetune_data.io.sources import read_csv_lines

    text = '\ufeffWrite a poem\n\n"Explain A, B and C",extra\n   \n'
    plain, packed = tmp_path / "p.csv", tmp_path / "p.csv.gz"
    plain.write_text(text, encoding="utf-8")
    packed.write_bytes(gzip.compress(text.encode("utf-8")))
    expected = [["Write a poem"], ["Explain A, B and C", "extra"]]
    assert read_csv_lines(plain) == expected and read_csv_lines(packed) == expected


def test_read_csv_lines_names_file_and_line_of_invalid_utf8(tmp_path):
    from safetune_data.errors import InputError
    from safetune_data.io.sources import read_csv_lines

    bad = tmp_path / "prompts.csv"
    bad.write_bytes(b"Write a poem\nExplain \xff\xfe this\n")
    with pytest.raises(InputError) as exc:
        read_csv_lines(bad)
    assert exc.value.file == str(bad) and exc.value.line == 2 and exc.value.message.startswith("invalid UTF-8")
