"""Layers point down and shared jobs have one home: imports, the card writer passed in, one
row reader with one malformed-row wording, one KEY=VALUE syntax, the run index read in one place."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import safetune_data
from safetune_data.errors import ConfigError, InputError

PACKAGE = Path(safetune_data.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of the safetune_data modules a file imports (top level or inside functions)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            names.add(target)
            names.update(f"{target}.{a.name}" for a in node.names)
    return {n for n in names if n and n.startswith("safetune_data")}


def _offenders(files, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for f in files:
        bad = sorted(n for n in _imported_modules(f) if n.startswith(forbidden))
        if bad:
            found[str(f.relative_to(PACKAGE))] = bad
    return found


def test_nothing_outside_the_cli_imports_the_cli():
    files = [f for f in PACKAGE.rglob("*.py") if "cli" not in f.relative_to(PACKAGE).parts]
    assert _offenders(files, ("safetune_data.cli",)) == {}


def test_io_imports_no_higher_layer():
    higher = tuple(f"safetune_data.{m}" for m in ("card", "profile", "harness", "rm", "transforms", "run", "cli"))
    assert _offenders((PACKAGE / "io").rglob("*.py"), higher) == {}


def test_the_import_scan_sees_relative_and_lazy_imports():
    """The scan above would pass vacuously if it missed `from ..cli.console import x` in a function."""
    f = PACKAGE / "harness" / "config.py"
    names = _imported_modules(f)
    assert "safetune_data.run" in names  # imported lazily inside a function, relatively
    assert "safetune_data.errors.ConfigError" in names


# ----------------------------------------------------------------------------- the card writer is passed in
def _alpaca_file(tmp_path: Path) -> Path:
    f = tmp_path / "a.jsonl"
    f.write_text("".join(json.dumps({"instruction": f"q{i}", "input": "", "output": f"a{i}."}) + "\n" for i in range(3)))
    return f


def test_io_convert_writes_the_card_it_is_given_and_none_otherwise(tmp_path):
    from safetune_data.io.api import convert

    f = _alpaca_file(tmp_path)
    convert(str(f), tmp_path / "plain")
    assert not (tmp_path / "plain" / "README.md").exists()
    seen = []
    manifest = convert(str(f), tmp_path / "carded", card=lambda d: seen.append(sorted(p.name for p in d.iterdir())))
    assert len(seen) == 1 and "manifest.json" in seen[0], "the card is written after the manifest"
    assert manifest["output"]["shard_size"] == "500MB"


def test_a_card_writer_that_fails_to_import_is_not_silent(tmp_path):
    from safetune_data.io.api import convert

    def broken(directory):
        raise ImportError("no module named 'polars'")

    with pytest.raises(ImportError, match="polars"):
        convert(str(_alpaca_file(tmp_path)), tmp_path / "o", card=broken)
    assert not (tmp_path / "o").exists()


def test_package_convert_and_write_keep_the_card_by_default(tmp_path):
    f = _alpaca_file(tmp_path)
    safetune_data.convert(str(f), tmp_path / "c")
    safetune_data.convert(str(f), tmp_path / "n", card=False)
    assert (tmp_path / "c" / "README.md").is_file() and not (tmp_path / "n" / "README.md").exists()
    manifest = safetune_data.write(safetune_data.read(str(tmp_path / "c")), tmp_path / "w", shard_size=2)
    assert (tmp_path / "w" / "README.md").is_file()
    assert manifest["output"]["shard_size"] == 2 and len(manifest["output"]["shards"]) == 2


# ----------------------------------------------------------------------------- one row reader, one wording
GOOD_ROW = {"instruction": "q", "input": "", "output": "a", "prompt": "q", "response": "a", "chosen": "a",
            "rejected": "b", "expected": "refuse"}  # readable by each: an alpaca row, a prompt, a pair
BAD_JSONL = json.dumps(GOOD_ROW) + '\n{"prompt": "c", "response": \n'


def _readers():
    from safetune_data.harness.benchmarks import load_benchmark, read_table
    from safetune_data.rm.pairs import load_pairs

    return {
        "benchmark": lambda p: load_benchmark({"name": "file", "path": str(p)}),
        "judge file": read_table,
        "preference pairs": lambda p: load_pairs(p, format="rewardbench"),
    }


@pytest.mark.parametrize("reader", ["convert", "benchmark", "judge file", "preference pairs"])
def test_a_malformed_row_reads_the_same_everywhere(tmp_path, reader):
    f = tmp_path / "rows.jsonl"
    f.write_text(BAD_JSONL)
    if reader == "convert":
        from safetune_data.io.api import convert

        with pytest.raises(InputError) as exc:
            convert(str(f), tmp_path / "o")
    else:
        with pytest.raises(InputError) as exc:
            _readers()[reader](f)
    assert (exc.value.file, exc.value.line) == (str(f), 2)
    assert exc.value.message.startswith("malformed JSON: ")


@pytest.mark.parametrize("reader", ["benchmark", "judge file", "preference pairs"])
def test_a_row_that_is_not_an_object_reads_the_same_everywhere(tmp_path, reader):
    f = tmp_path / "rows.jsonl"
    f.write_text(json.dumps(GOOD_ROW) + "\n[1, 2]\n")
    with pytest.raises(InputError) as exc:
        _readers()[reader](f)
    assert (exc.value.line, exc.value.message) == (2, "expected a JSON object, got list")


def test_csv_rows_are_located_where_they_start_and_a_byte_order_mark_is_dropped(tmp_path):
    from safetune_data.io.sources import read_rows

    f = tmp_path / "t.csv"
    f.write_bytes('\ufeffid,completion\n1,"two\nlines"\n2,one line\n'.encode("utf-8"))
    rows = list(read_rows(f))
    assert [(loc.line, loc.row) for loc in rows] == [(2, {"id": "1", "completion": "two\nlines"}),
                                                     (4, {"id": "2", "completion": "one line"})]


def test_malformed_json_documents_use_the_row_wording(tmp_path):
    from safetune_data.harness.report import write_report

    (tmp_path / "results.json").write_text('{"rows": [\n')
    with pytest.raises(InputError) as exc:
        write_report(tmp_path)
    assert exc.value.message.startswith("malformed JSON: ") and exc.value.line == 2


# ----------------------------------------------------------------------------- one KEY=VALUE syntax
@pytest.mark.parametrize("option", ["map", "option", "set"])
def test_key_value_arguments_share_one_syntax_and_error(option):
    from safetune_data.cli.io_cmds import parse_pairs
    from safetune_data.cli.judge_cmd import judge_options
    from safetune_data.recipe import recipe_from_data

    parse = {
        "map": lambda items: parse_pairs(items, "map"),
        "option": lambda items: judge_options(items, "option"),
        "set": lambda items: recipe_from_data({"steps": []}, "r.yaml", overrides=items).data,
    }[option]
    with pytest.raises(ConfigError) as exc:
        parse(["novalue"])
    assert (exc.value.message, exc.value.field) == ("expected KEY=VALUE, got 'novalue'", option)


def test_key_value_readings_of_each_option():
    from safetune_data.cli.io_cmds import parse_pairs
    from safetune_data.cli.judge_cmd import judge_options
    from safetune_data.recipe import recipe_from_data

    assert parse_pairs([" user = instruction ", "assistant=a=b"], "map") == {"user": "instruction", "assistant": "a=b"}
    with pytest.raises(ConfigError):
        parse_pairs(["user="], "map")  # a column must be named
    assert judge_options(["max-tokens=40", "threshold=0.4", "flag=true", "names=[a, b]", "empty="], "option") == {
        "max_tokens": 40, "threshold": 0.4, "flag": True, "names": "[a, b]", "empty": ""}
    data = recipe_from_data({"steps": []}, "r.yaml", overrides=["output.trace=3", "output.card=false"]).data
    assert data["output"] == {"trace": 3, "card": False}


# ----------------------------------------------------------------------------- the run index, read in one place
def test_info_lists_a_runs_variants_through_the_run_module(tmp_path, cli):
    from safetune_data.run import index_variants, read_index

    (tmp_path / "index.json").write_text(json.dumps({
        "recipe_file": "r.yaml", "seed": 3, "input_rows": 5, "input_dropped": {},
        "variants": [{"name": "v1", "dir": "v1", "rows": 5, "steps": ["structure.plain"], "factors": {"s": "plain"}}]}))
    assert index_variants(tmp_path) == [("v1", (tmp_path / "v1").resolve(), {"s": "plain"})]
    assert read_index(tmp_path / "index.json")["seed"] == 3
    code, out, _ = cli("info", tmp_path)
    assert code == 0 and "v1" in out and "structure.plain" in out and "input rows: 5" in out


def test_a_malformed_index_is_an_input_error(tmp_path):
    from safetune_data.run import read_index

    (tmp_path / "index.json").write_text(json.dumps({"variants": [{"name": "v1"}]}))
    with pytest.raises(InputError, match="not a `safetune run` index"):
        read_index(tmp_path)
    with pytest.raises(InputError, match="index file not found"):
        read_index(tmp_path / "elsewhere")
