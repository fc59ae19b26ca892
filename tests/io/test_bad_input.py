"""Bad input: a clear error naming file, line/row and field; nothing written; or skip + count."""
import json

import pytest

from safetune_data.errors import InputError
from safetune_data.io.api import convert
from safetune_data.io.manifest import read_manifest


def _good(i):
    return json.dumps({"instruction": f"q{i}", "input": "", "output": f"a{i}"})


def _fails(tmp_path, f, match, **kw):
    with pytest.raises(InputError) as exc:
        convert(str(f), tmp_path / "out", **kw)
    assert str(f) in str(exc.value)
    assert match in str(exc.value), str(exc.value)
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")], "temp dir left behind"
    return exc.value


def test_truncated_json_on_line_3(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text("\n".join([_good(0), _good(1), _good(2)[:-9], _good(3)]) + "\n")
    err = _fails(tmp_path, f, "malformed JSON")
    assert err.line == 3 and "line 3" in str(err)


def test_missing_field_names_row_and_field(tmp_path):
    f = tmp_path / "d.json"
    f.write_text(json.dumps([{"instruction": "q", "input": "", "output": "a"}, {"instruction": "q", "input": ""}]))
    err = _fails(tmp_path, f, "required field is missing")
    assert err.row == 1 and err.field == "output"


def test_wrong_type_names_field(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text(_good(0) + "\n" + json.dumps({"instruction": 5, "input": "", "output": "a"}) + "\n")
    err = _fails(tmp_path, f, "expected a string")
    assert err.line == 2 and err.field == "instruction"


def test_empty_file(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text("")
    _fails(tmp_path, f, "empty")


def test_undetectable_format(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps({"question": "q", "answer": "a"}) + "\n")
    err = _fails(tmp_path, f, "cannot detect the format")
    assert "--map" in str(err)


def test_unknown_file_kind(tmp_path):
    f = tmp_path / "d.txt"
    f.write_text("hello")
    _fails(tmp_path, f, "unknown file kind")


def test_invalid_utf8(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_bytes((_good(0) + "\n").encode() + b'{"instruction": "q\xff", "input": "", "output": "a"}\n')
    err = _fails(tmp_path, f, "invalid UTF-8")
    assert err.line == 2


def test_rows_of_two_formats(tmp_path):
    f = tmp_path / "d.jsonl"
    other = json.dumps({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]})
    f.write_text(_good(0) + "\n" + other + "\n")
    err = _fails(tmp_path, f, "two formats")
    assert err.line == 2


def test_conversation_without_assistant_turn(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps({"messages": [{"role": "user", "content": "q"}]}) + "\n")
    err = _fails(tmp_path, f, "no assistant turn")
    assert err.line == 1 and err.field == "messages"


def test_roles_out_of_order(tmp_path):
    f = tmp_path / "d.jsonl"
    msgs = [{"role": "user", "content": "q"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    f.write_text(json.dumps({"messages": msgs}) + "\n")
    _fails(tmp_path, f, "roles out of order")


def test_csv_missing_column(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("instruction,input\nq,\n")
    err = _fails(tmp_path, f, "required field is missing", format="alpaca")
    assert err.field == "output"


def test_csv_row_with_too_few_values(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("instruction,input,output\nq,,a\nq2\n")
    err = _fails(tmp_path, f, "values but the header has")
    assert err.line == 3


def test_skip_mode_writes_good_rows_and_counts_rejects(tmp_path):
    f = tmp_path / "d.jsonl"
    lines = [_good(0), _good(1)[:-3], _good(2), json.dumps({"instruction": "q", "input": ""}), _good(4)]
    f.write_text("\n".join(lines) + "\n")
    manifest = convert(str(f), tmp_path / "out", on_error="skip")
    assert manifest["output"]["rows"] == 3
    assert manifest["dropped"] == {"field 'output': required field is missing": 1, "malformed JSON": 1}
    rejects = [json.loads(x) for x in (tmp_path / "out" / "rejects.jsonl").read_text().splitlines()]
    assert [(r["line"], r["field"]) for r in rejects] == [(2, None), (4, "output")]
    assert read_manifest(tmp_path / "out")["rejects_file"] == "rejects.jsonl"
    assert [r["raw"] for r in rejects] == [lines[1], lines[3]], "each reject keeps the line as written"


def test_reject_reasons_add_up_across_rows_and_keep_offsets_apart(tmp_path):
    """Two bad lines with the problem at different byte offsets count under one reason."""
    f = tmp_path / "d.jsonl"
    bad1 = b'{"instruction": "q\xff", "input": "", "output": "a"}'
    bad2 = b'{"instruction": "longer q\xfe", "input": "", "output": "a"}'
    f.write_bytes(b"\n".join([_good(0).encode(), bad1, bad2, _good(3).encode()]) + b"\n")
    manifest = convert(str(f), tmp_path / "out", on_error="skip")
    assert manifest["dropped"] == {"invalid UTF-8": 2}
    rejects = [json.loads(x) for x in (tmp_path / "out" / "rejects.jsonl").read_text().splitlines()]
    assert [r["byte"] for r in rejects] == [bad1.index(b"\xff"), bad2.index(b"\xfe")]
    assert [r["line"] for r in rejects] == [2, 3]
    assert all(r["raw"].startswith('{"instruction"') for r in rejects)


def test_csv_rows_with_wrong_value_counts_share_one_reason(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("instruction,input,output\nq,,a\nq2\nq3,x,y,z\n")
    manifest = convert(str(f), tmp_path / "out", on_error="skip")
    assert manifest["dropped"] == {"wrong number of values": 2}
    rejects = [json.loads(x) for x in (tmp_path / "out" / "rejects.jsonl").read_text().splitlines()]
    assert [r["raw"] for r in rejects] == ["q2", "q3,x,y,z"]


def test_existing_output_is_refused_unless_overwrite(tmp_path):
    from safetune_data.errors import ConfigError

    f = tmp_path / "d.jsonl"
    f.write_text(_good(0) + "\n")
    convert(str(f), tmp_path / "out")
    with pytest.raises(ConfigError, match="already exists"):
        convert(str(f), tmp_path / "out")
    convert(str(f), tmp_path / "out", overwrite=True)
