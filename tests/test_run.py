"""`safetune run`: the factorial recipe end to end, determinism, and bad recipes."""
import json
from pathlib import Path

import datasets
import pytest

FACTORIAL = Path(__file__).resolve().parents[1] / "transforms" / "paper_factorial.yaml"


@pytest.fixture(scope="module")
def factorial_run(tmp_path_factory):
    from safetune_data.recipe import load_recipe
    from safetune_data.run import run_recipe

    out = tmp_path_factory.mktemp("run") / "f1"
    index = run_recipe(load_recipe(FACTORIAL), out)
    return out, index


def _shard_hashes(d):
    return [s["sha256"] for s in json.loads((d / "manifest.json").read_text())["output"]["shards"]]


def test_factorial_gives_eight_loadable_variants_with_manifest_trace_and_card(factorial_run):
    out, index = factorial_run
    assert len(index["variants"]) == 8
    for v in index["variants"]:
        d = out / v["dir"]
        ds = datasets.load_from_disk(str(d))
        assert ds.num_rows == v["rows"] == 119
        manifest = json.loads((d / "manifest.json").read_text())
        assert manifest["variant"] == v["name"] and manifest["factors"] == v["factors"]
        assert [s["op"] for s in manifest["steps"]] == v["steps"]
        assert manifest["inputs"][0]["sha256"]
        trace = [json.loads(x) for x in (d / "trace.jsonl").read_text().splitlines()]
        assert trace and all(t["before"] != t["after"] for t in trace)
        assert (d / "README.md").exists()
    assert json.loads((out / "index.json").read_text()) == index


def test_every_variant_reports_fidelity_shares_in_manifest_index_and_card(factorial_run):
    out, index = factorial_run
    for v in index["variants"]:
        d = out / v["dir"]
        steps = json.loads((d / "manifest.json").read_text())["steps"]
        checked = [s for s in steps if "fidelity" in s]
        assert [s["op"] for s in checked] == v["steps"]  # every step of the grid rewrites one factor
        for s, digest in zip(checked, v["fidelity"]):
            f = s["fidelity"]
            assert f["moved_share"] == round(s["changed"] / s["seen"], 4) == digest["moved_share"]
            assert sum(f["failed"].values()) == sum(n for r, n in s["unchanged"].items() if r.startswith("fidelity: "))
        assert "### Rewrite fidelity" in (d / "README.md").read_text()


def test_factor_levels_show_in_the_records(factorial_run):
    out, _ = factorial_run
    add = datasets.load_from_disk(str(out / "structure=markdown,identity=inject,roleplay=add"))
    none = datasets.load_from_disk(str(out / "structure=plain,identity=none,roleplay=none"))
    manifest = json.loads((out / "structure=markdown,identity=inject,roleplay=add" / "manifest.json").read_text())
    roleplay = next(s for s in manifest["steps"] if s["op"] == "roleplay.add")
    already = sum(n for reason, n in roleplay["unchanged"].items() if reason.startswith("already has persona (system"))
    assert sum(r["messages"][0]["role"] == "system" for r in add) == roleplay["changed"] + already > 100
    assert sum(r["messages"][0]["role"] == "system" for r in none) < 119
    assert sum(r["messages"][-1]["content"].startswith("- ") or "\n- " in r["messages"][-1]["content"] for r in add) > \
        sum("\n- " in r["messages"][-1]["content"] for r in none)


def test_identical_shards_with_one_or_two_workers(factorial_run, tmp_path):
    from safetune_data.recipe import load_recipe
    from safetune_data.run import run_recipe

    out1, _ = factorial_run
    run_recipe(load_recipe(FACTORIAL, overrides=["num_proc=2"]), tmp_path / "f2", num_proc=2)
    for v in json.loads((out1 / "index.json").read_text())["variants"]:
        assert _shard_hashes(out1 / v["dir"]) == _shard_hashes(tmp_path / "f2" / v["dir"]), v["name"]


@pytest.mark.slow
def test_alpaca_keeps_all_999_rows_in_every_variant_unless_counted(alpaca_path, tmp_path, cli):
    code, out, err = cli("run", FACTORIAL, "--set", f"input.path={alpaca_path}", "--out", tmp_path / "a")
    assert code == 0, err
    index = json.loads((tmp_path / "a" / "index.json").read_text())
    for v in index["variants"]:
        manifest = json.loads((tmp_path / "a" / v["dir"] / "manifest.json").read_text())
        dropped = sum(sum(s["dropped"].values()) for s in manifest["steps"])
        assert v["rows"] == 999 - dropped
        assert datasets.load_from_disk(str(tmp_path / "a" / v["dir"])).num_rows == v["rows"]


def test_misspelt_transform_exits_2_and_writes_nothing(tmp_path, cli):
    r = tmp_path / "r.yaml"
    r.write_text("input: {example: sharegpt-sample}\nsteps:\n  - roleplay.ad: {where: system}\n")
    code, out, err = cli("run", r, "--out", tmp_path / "o")
    assert code == 2
    first, hint = err.splitlines()  # whole lines, however long the temp path
    assert first == f"error: {r}, step 0: steps[0] (roleplay.ad): unknown transform 'roleplay.ad'"
    assert "roleplay.add" in hint
    assert not (tmp_path / "o").exists()


def test_misspelt_parameter_exits_2_naming_it(tmp_path, cli):
    r = tmp_path / "r.yaml"
    r.write_text("input: {example: sharegpt-sample}\nsteps:\n  - identity.inject: {placment: prefix}\n")
    code, _, err = cli("run", r, "--out", tmp_path / "o")
    assert code == 2 and "placment" in err and not (tmp_path / "o").exists()


def test_dry_run_lists_variants_and_writes_nothing(tmp_path, cli):
    code, out, _ = cli("run", FACTORIAL, "--dry-run", "--out", tmp_path / "o")
    assert code == 0 and "8 variant(s)" in out and not (tmp_path / "o").exists()


def test_skipped_input_rows_are_kept_beside_the_run(tmp_path):
    from safetune_data.recipe import load_recipe
    from safetune_data.run import run_recipe

    data = tmp_path / "d.jsonl"
    good = json.dumps({"instruction": "Name a colour.", "input": "", "output": "Blue is a colour."})
    data.write_text("\n".join([good, '{"instruction": "broken', good]) + "\n")
    r = tmp_path / "r.yaml"
    r.write_text(f"input: {{path: {data}, on_error: skip}}\nsteps:\n  - roleplay.add: {{}}\noutput: {{card: false}}\n")
    index = run_recipe(load_recipe(r), tmp_path / "out")
    assert index["variants"][0]["rows"] == 2 and index["input_dropped"] == {"malformed JSON": 1}
    rejects = [json.loads(x) for x in (tmp_path / "out" / "rejects.jsonl").read_text().splitlines()]
    assert [x["line"] for x in rejects] == [2]


def test_on_fidelity_fail_exits_2_naming_row_and_check_and_writes_nothing(tmp_path, cli):
    # plain can flatten the bullets but not the table, so the detector still sees a list
    answer = ("Here are the plans.\n\n- The first plan is cheap.\n- The second plan is fast.\n\n"
              "| plan | cost |\n|---|---|\n| first | 10 |\n| second | 20 |")
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"id": "row-7", "messages": [{"role": "user", "content": "Compare the plans."},
                                                             {"role": "assistant", "content": answer}]}) + "\n")
    r = tmp_path / "r.yaml"
    r.write_text(f"input: {{path: {data}}}\nsteps:\n  - structure.plain: {{on_fidelity: fail}}\n")
    code, _, err = cli("run", r, "--out", tmp_path / "o")
    assert code == 2
    line = next(x for x in err.splitlines() if x.startswith("error: "))
    assert line.startswith("error: d.jsonl, row 0, step 0, field 'on_fidelity': row 'd-000000': ")
    assert "fidelity check 'target' (answer is list)" in line
    assert not (tmp_path / "o").exists()
    # the default (skip) leaves the row unchanged and counts it
    r.write_text(f"input: {{path: {data}}}\nsteps:\n  - structure.plain: {{}}\n")
    code, _, err = cli("run", r, "--out", tmp_path / "o")
    assert code == 0, err
    step = json.loads((tmp_path / "o" / "default" / "manifest.json").read_text())["steps"][0]
    assert step["unchanged"] == {"fidelity: target (answer is list)": 1} and step["fidelity"]["failed"]["target"] == 1
