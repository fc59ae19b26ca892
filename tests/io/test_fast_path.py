"""The columnar fast path gives exactly the records of the row-by-row reference path."""
import json

import pyarrow as pa
import pytest

from safetune_data.io.convert import RecordStream
from safetune_data.io.sources import resolve


def _both(path, **kw):
    fast = RecordStream(resolve([str(path)]), fast=True, **kw)
    slow = RecordStream(resolve([str(path)]), fast=False, **kw)
    a = pa.concat_tables(list(fast.tables()))
    b = pa.concat_tables(list(slow.tables()))
    return a, b, fast, slow


def test_alpaca_jsonl_identical(alpaca_path, tmp_path):
    rows = json.loads(alpaca_path.read_text())
    for i, r in enumerate(rows):
        r["tag"] = f"t{i % 3}"
        r["uid"] = i
        r["ok"] = i % 2 == 0
        if i % 5 == 0:
            r["system"] = "Be concise."
    f = tmp_path / "a.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    a, b, fast, slow = _both(f)
    assert a.num_rows == 999 and a.equals(b)
    assert fast.input_stats() == slow.input_stats()


def test_mapped_parquet_identical(tmp_path):
    import pyarrow.parquet as pq

    t = pa.table({"q": ["a", "b", "c"], "ctx": ["", None, "more"], "r": ["x", "y", "z"], "cat": ["k", None, "m"]})
    pq.write_table(t, tmp_path / "d.parquet")
    a, b, _, _ = _both(tmp_path / "d.parquet", mapping={"user": "q", "context": "ctx", "assistant": "r"})
    assert a.equals(b)
    assert a.column("messages").to_pylist()[2][0]["content"] == "c\n\nmore"


@pytest.mark.parametrize("bad_line", [2, 5000])
def test_hand_over_names_the_right_line(tmp_path, bad_line, monkeypatch):
    from safetune_data.errors import InputError
    from safetune_data.io import fast

    monkeypatch.setattr(fast, "BLOCK_BYTES", 8192)  # many blocks: the hand-over happens mid-file

    good = json.dumps({"instruction": "q", "input": "", "output": "a"})
    lines = [good] * 6000
    lines[bad_line - 1] = json.dumps({"instruction": "q", "input": ""})
    f = tmp_path / "d.jsonl"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as exc:
        list(RecordStream(resolve([str(f)])).tables())
    assert exc.value.line == bad_line and exc.value.field == "output"
    stream = RecordStream(resolve([str(f)]), on_error="skip")
    t = pa.concat_tables(list(stream.tables()))
    assert t.num_rows == 5999 and len(set(t.column("id").to_pylist())) == 5999
    assert t.column("id").to_pylist() == [f"d-{i:06d}" for i in range(6000) if i != bad_line - 1]
