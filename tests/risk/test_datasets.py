"""`score_risk` and `safetune risk` end to end on the tiny model: outputs, resume, correlation."""
import json

import datasets
import pytest

from safetune_data import transforms as T
from safetune_data.errors import InputError
from safetune_data.risk import make_scorers, score_risk
from safetune_data.risk.datasets import correlate, spearman_interval

CHEAP = {"style_distance": {"max_new_tokens": 8}, "probe": {"steps": 1, "batch_size": 2, "refusals": "anchors"}}


def _identity(conv):
    return [conv[0], {"role": "assistant", "content": "As an AI language model, I can help. " + conv[1]["content"]}]


@pytest.fixture
def run_dir(tmp_path, alpaca_path):
    """A real two-variant `safetune run` output (plain vs markdown answers) of 10 Alpaca rows."""
    from safetune_data.recipe import recipe_from_data
    from safetune_data.run import run_recipe

    rows = json.loads(alpaca_path.read_text(encoding="utf-8"))[100:110]
    src = tmp_path / "ten.json"
    src.write_text(json.dumps(rows))
    recipe = recipe_from_data({"name": "mini", "input": {"path": str(src), "format": "alpaca"}, "seed": 0,
                               "grid": {"structure": {"plain": [{"structure.plain": {}}],
                                                      "markdown": [{"structure.markdown": {}}]}}}, str(tmp_path / "r.yaml"))
    run_recipe(recipe, tmp_path / "run")
    return tmp_path / "run"


def test_run_directory_scores_every_variant_and_writes_columns_summary_and_table(tiny_model_dir, run_dir, tmp_path):
    out = tmp_path / "risk"
    doc = score_risk(tiny_model_dir, [run_dir], make_scorers(["representation", "probe"], {"probe": CHEAP["probe"]}), out,
                     cache_dir=tmp_path / "cache", device="cpu")
    names = sorted(d["name"] for d in doc["datasets"])
    assert names == ["structure=markdown", "structure=plain"]
    for d in doc["datasets"]:
        ds = datasets.load_from_disk(str(out / d["dir"]))
        assert "risk_representation" in ds.column_names and "risk_probe" not in ds.column_names  # probe: dataset level
        assert len(ds) == d["rows"] == 10
        assert sum(ds["risk_representation"]) / len(ds) == pytest.approx(d["scores"]["representation"]["value"])
        manifest = json.loads((out / d["dir"] / "manifest.json").read_text())
        assert manifest["risk"]["model_fingerprint"] == doc["model_fingerprint"]
        assert manifest["factors"] == d["factors"]  # carried over from the variant
        # the column feeds select.risk
        kept = T.select.risk(count=3)(ds)
        assert sorted(kept["risk_representation"]) == sorted(ds["risk_representation"])[:3]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["datasets"][0]["scores"]["representation"]["rows"]["q50"] is not None
    table = (out / "summary.md").read_text()
    assert all(f"| {n} | 10 |" in table for n in names)


def test_rerun_is_served_from_the_cache_with_identical_scores(tiny_model_dir, dataset_dir, tmp_path):
    data = dataset_dir("plain", 0, 6)
    scorers = ["representation", "gradient", "self_inf_n"]
    first = score_risk(tiny_model_dir, [data], make_scorers(scorers), None, cache_dir=tmp_path / "c", device="cpu")
    second = score_risk(tiny_model_dir, [data], make_scorers(scorers), None, cache_dir=tmp_path / "c", device="cpu")
    for s in scorers:
        a, b = first["datasets"][0]["scores"][s], second["datasets"][0]["scores"][s]
        assert a["value"] == b["value"]
        assert b["cached"] == 6


def test_correlation_matches_datasets_to_harness_rows_by_factors_and_averages_seeds():
    doc = {"scorers": {"x": {}}, "datasets": [
        {"name": f"d{i}", "path": f"/nowhere/d{i}", "factors": {"identity": f, "structure": "plain"},
         "scores": {"x": {"value": v}}} for i, (f, v) in enumerate([("none", 0.1), ("inject", 0.9), ("strip", 0.5)])]}
    results = {"rows": [
        {"name": "a", "kind": "variant", "factors": {"identity": "none", "structure": "plain"}, "harmful_refusal_rate": 0.6},
        {"name": "a.seed1", "kind": "variant", "factors": {"identity": "none", "structure": "plain"}, "harmful_refusal_rate": 0.4},
        {"name": "b", "kind": "variant", "factors": {"identity": "inject", "structure": "plain"}, "harmful_refusal_rate": 0.05},
        {"name": "c", "kind": "variant", "factors": {"identity": "strip", "structure": "plain"}, "harmful_refusal_rate": 0.3},
    ]}
    corr = correlate(doc, results, "harmful_refusal_rate")
    assert doc["datasets"][0]["measured"] == pytest.approx(0.5) and doc["datasets"][0]["measured_rows"] == 2
    assert corr["datasets_matched"] == 3
    assert corr["scorers"]["x"]["spearman"] == pytest.approx(-1.0)


def test_spearman_interval_is_tight_for_a_perfect_ranking_and_none_for_two_points():
    lo, hi = spearman_interval([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1])
    assert lo == pytest.approx(-1.0) and hi == pytest.approx(-1.0)
    assert spearman_interval([1, 2], [2, 1]) == [None, None]


def test_bad_input_leaves_nothing_behind(tiny_model_dir, dataset_dir, tmp_path):
    out = tmp_path / "risk"
    with pytest.raises(InputError, match="not a dataset or run directory"):
        score_risk(tiny_model_dir, [tmp_path / "missing"], make_scorers(["representation"]), out, cache_dir=None)
    bad = tmp_path / "anchors.jsonl"
    bad.write_text('{"prompt": "p"}\n')
    with pytest.raises(InputError) as exc:
        score_risk(tiny_model_dir, [dataset_dir("d", 0, 2)], make_scorers(["representation"]), out, anchors=bad)
    assert exc.value.field == "compliance"
    assert not out.exists() and not list(tmp_path.glob(".risk*"))


def test_cli_scores_and_reports_errors_with_exit_2(cli, tiny_model_dir, dataset_dir, tmp_path):
    data = dataset_dir("identity", 0, 4, edit=_identity, factors={"identity": "inject"})
    out = tmp_path / "o"
    code, stdout, stderr = cli("risk", "-m", str(tiny_model_dir), str(data), "-o", str(out), "-s", "representation",
                               "-s", "style_distance", "-p", "style_distance.max_new_tokens=8", "--no-cache")
    assert code == 0, stderr
    assert "identity" in stdout and (out / "identity" / "manifest.json").exists()
    code, _, stderr = cli("risk", "-m", str(tiny_model_dir), str(data), "-o", str(out), "-s", "representation")
    assert code == 2 and "exists" in stderr  # never overwritten without --overwrite
    code, _, stderr = cli("risk", "-m", str(tiny_model_dir), str(data), "-o", str(out), "-s", "representation",
                          "--overwrite", "--no-cache")
    assert code == 0, stderr  # its own earlier output is replaced with --overwrite
    assert "style_distance" not in (out / "summary.json").read_text()
    code, _, stderr = cli("risk", "-m", str(tiny_model_dir), str(data), "-o", str(tmp_path / "p"), "-p", "k=3")
    assert code == 2 and "SCORER.KEY=VALUE" in stderr
    code, _, stderr = cli("risk", "-m", str(tiny_model_dir), str(data), "-o", str(tmp_path / "p"), "-s", "represent")
    assert code == 2 and "representation" in stderr


def test_correlation_averages_every_seed_trained_on_the_dataset_directory(tmp_path):
    # a harness run names the seed rows differently ("a", "a.seed1") but trains them on one directory
    d0, d1 = tmp_path / "d0", tmp_path / "d1"
    doc = {"scorers": {"x": {}}, "datasets": [
        {"name": "d0", "path": str(d0), "factors": {}, "scores": {"x": {"value": 0.1}}},
        {"name": "d1", "path": str(d1), "factors": {}, "scores": {"x": {"value": 0.9}}}]}
    results = {"rows": [
        {"name": "a", "kind": "variant", "data": str(d0), "harmful_refusal_rate": 0.9},
        {"name": "a.seed1", "kind": "variant", "data": str(d0), "harmful_refusal_rate": 0.5},
        {"name": "b", "kind": "variant", "data": str(d1), "harmful_refusal_rate": 0.2},
    ]}
    correlate(doc, results, "harmful_refusal_rate")
    assert doc["datasets"][0]["measured"] == pytest.approx(0.7) and doc["datasets"][0]["measured_rows"] == 2
    assert doc["datasets"][1]["measured"] == pytest.approx(0.2) and doc["datasets"][1]["measured_rows"] == 1
