"""`safetune rm ...` end to end on tiny models: outputs, schemas, exit codes."""
import json
import sys

import datasets
import jsonschema
import pytest

from safetune_data.cli.main import main
from safetune_data.schemas import load_schema


def run_cli(monkeypatch, *args) -> int:
    monkeypatch.setattr(sys, "argv", ["safetune", *map(str, args)])
    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def _small_hh(tmp_path, hh_path, n=12):
    import gzip

    with gzip.open(hh_path, "rt", encoding="utf-8") as fh:
        lines = [next(fh) for _ in range(n)]
    path = tmp_path / "hh_small.jsonl"
    path.write_text("".join(lines))
    return path


def test_eval_two_models_writes_valid_report(monkeypatch, tmp_path, tiny_rm, trained_rm, hh_path):
    out = tmp_path / "audit"
    code = run_cli(monkeypatch, "rm", "eval", "--model", tiny_rm, "--model", trained_rm, "--pairs", hh_path,
                   "--format", "hh", "--limit", 16, "--batch-size", 8, "--out", out)
    assert code == 0
    result = json.loads((out / "eval.json").read_text())
    jsonschema.validate(result, load_schema("rm_eval"))
    assert result["pairs"]["pairs"] == 16 and result["pairs"]["rows"] == 2312
    assert set(result["models"]) == {str(tiny_rm), str(trained_rm)}
    assert len(result["agreement"]["same_side"]) == 2
    rows = [json.loads(line) for line in (out / "pair_scores.jsonl").read_text().splitlines()]
    assert len(rows) == 16 and set(rows[0]["scores"]) == set(result["models"])
    for name in ("eval.md", "accuracy.png", "agreement.png"):
        assert (out / name).stat().st_size > 0
    assert "| majority vote |" in (out / "eval.md").read_text()
    # existing output is refused without --overwrite
    assert run_cli(monkeypatch, "rm", "eval", "--model", tiny_rm, "--pairs", hh_path, "--limit", 2, "--out", out) == 2


def test_eval_implicit_reward_runs(monkeypatch, tmp_path, tiny_lm, tiny_lm_ref, hh_path, capsys):
    code = run_cli(monkeypatch, "rm", "eval", "--model", tiny_lm, "--ref-model", tiny_lm_ref, "--pairs",
                   _small_hh(tmp_path, hh_path, 6), "--format", "hh")
    assert code == 0
    assert "ref:" in capsys.readouterr().out


def test_eval_causal_lm_without_ref_exits_2(monkeypatch, tmp_path, tiny_lm, hh_path, capsys):
    code = run_cli(monkeypatch, "rm", "eval", "--model", tiny_lm, "--pairs", _small_hh(tmp_path, hh_path, 4))
    assert code == 2
    err = capsys.readouterr().err
    assert "not a reward model" in err


def test_eval_bad_pairs_exit_2_naming_file_row_field(monkeypatch, tmp_path, tiny_rm, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "q", "chosen": "a", "rejected": "b"}) + "\n"
                   + json.dumps({"prompt": "q", "chosen": "", "rejected": "b"}) + "\n")
    assert run_cli(monkeypatch, "rm", "eval", "--model", tiny_rm, "--pairs", bad) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "row 1" in err and "field 'chosen'" in err

    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps([{"question": "q"}]))
    assert run_cli(monkeypatch, "rm", "eval", "--model", tiny_rm, "--pairs", odd) == 2
    assert "unknown pairs layout" in capsys.readouterr().err


def _variant(tmp_path, name, rows):
    recs = [{"id": f"{name}-{i}", "messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}],
             "meta": {"source": "alpaca_en_demo.json", "source_index": i}} for i, (q, a) in enumerate(rows)]
    path = tmp_path / name
    datasets.Dataset.from_list(recs).save_to_disk(str(path))
    (path / "manifest.json").write_text(json.dumps({"variant": name}))
    return path


@pytest.fixture()
def alpaca_variants(tmp_path, alpaca_path):
    data = json.loads(alpaca_path.read_text())[:10]
    plain = [(r["instruction"], r["output"]) for r in data]
    listed = [(q, "\n".join(f"- {s.strip()}" for s in a.split(". ") if s.strip())) for q, a in plain]
    short = [(q, a.split(".")[0]) for q, a in plain]
    return {n: _variant(tmp_path, n, rows) for n, rows in (("original", plain), ("markdown", listed), ("short", short))}


def test_score_adds_reward_column_and_manifest(monkeypatch, tmp_path, tiny_rm, alpaca_variants):
    out = tmp_path / "scored"
    assert run_cli(monkeypatch, "rm", "score", alpaca_variants["original"], "--model", tiny_rm, "--out", out) == 0
    ds = datasets.load_from_disk(str(out))
    assert ds.column_names[-1] == "reward" and len(ds) == 10
    manifest = json.loads((out / "manifest.json").read_text())
    jsonschema.validate(manifest, load_schema("manifest"))
    assert manifest["reward"]["model"] == str(tiny_rm)
    assert manifest["reward"]["stats"]["mean"] == pytest.approx(sum(ds["reward"]) / 10)
    assert manifest["variant"] == "original"
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    # refuse existing output unless --overwrite
    assert run_cli(monkeypatch, "rm", "score", alpaca_variants["original"], "--model", tiny_rm, "--out", out) == 2
    assert run_cli(monkeypatch, "rm", "score", alpaca_variants["original"], "--model", tiny_rm, "--out", out,
                   "--overwrite") == 0


def test_outputs_are_checked_before_scoring(monkeypatch, tmp_path, tiny_rm, alpaca_variants, hh_path):
    mywork = tmp_path / "mywork"
    mywork.mkdir()
    (mywork / "important.txt").write_text("keep")
    assert run_cli(monkeypatch, "rm", "score", alpaca_variants["original"], "--model", tiny_rm, "--out", mywork,
                   "--overwrite") == 2
    assert run_cli(monkeypatch, "rm", "eval", "--model", tiny_rm, "--pairs", _small_hh(tmp_path, hh_path, 4),
                   "--out", mywork, "--overwrite") == 2
    assert [p.name for p in mywork.iterdir()] == ["important.txt"]
    taken = tmp_path / "cmp.json"
    taken.write_text("mine")
    assert run_cli(monkeypatch, "rm", "compare", alpaca_variants["original"], "--model", tiny_rm, "--json", taken) == 2
    assert taken.read_text() == "mine"


def test_compare_reports_means_and_spearman(monkeypatch, tmp_path, trained_rm, alpaca_variants):
    from safetune_data.rm.dataset import compare_variants
    from safetune_data.rm.score import SequenceRewardModel

    rm = SequenceRewardModel(str(trained_rm))
    first = compare_variants(rm, list(alpaca_variants.values()), n_resamples=200)
    means = {v["name"]: v["mean_reward"] for v in first["variants"]}
    # a harness result where measured safety follows the RM's ranking exactly -> rho = 1
    order = sorted(means, key=means.get)
    results = {"variants": [{"name": n, "metrics": {"harmful": {"refusal_rate": 0.1 * (i + 1)}}}
                            for i, n in enumerate(order)]}
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text(json.dumps(results))
    out_json = tmp_path / "cmp.json"
    code = run_cli(monkeypatch, "rm", "compare", *alpaca_variants.values(), "--model", trained_rm, "--results",
                   tmp_path / "run", "--resamples", 200, "--json", out_json)
    assert code == 0
    doc = json.loads(out_json.read_text())
    assert doc["safety"]["variants_matched"] == 3
    assert doc["safety"]["spearman"] == pytest.approx(1.0)
    for v in doc["variants"]:
        assert v["ci95"][0] <= v["mean_reward"] <= v["ci95"][1]


def test_variant_metric_reads_harness_results_rows(tmp_path):
    from safetune_data.rm.dataset import variant_metric

    def rate(x):
        return {"rate": x, "k": 1, "n": 2, "ci_low": 0.0, "ci_high": 1.0}

    results = {"primary_judge": "keyword", "rows": [
        {"name": "markdown", "kind": "variant", "data": str(tmp_path / "out_md"),
         "benchmarks": {"advbench": {"judges": {"keyword": {"harmful_refusal": rate(0.9)}}}},
         "summary": {"llm": {"harmful_refusal": rate(0.7)}, "keyword": {"harmful_refusal": rate(0.8)}}}]}
    assert variant_metric(results, "markdown", "harmful_refusal_rate") == 0.8
    assert variant_metric(results, "other", "harmful_refusal_rate", tmp_path / "out_md") == 0.8
    assert variant_metric(results, "other", "harmful_refusal_rate") is None
    assert variant_metric(results, "markdown", "asr_rate") is None
