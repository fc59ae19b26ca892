"""Factor effects from a factorial run: paired differences of refusal rates, bootstrap over prompts."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from safetune_data.errors import InputError
from safetune_data.harness.effects import factor_effects, render_effects

N_PROMPTS = 40


def _write_run(tmp_path: Path, cells: dict[str, tuple[dict, list[bool]]], bench: str = "advbench") -> dict:
    """results.json-like doc + generations/<row>.jsonl for rows given as name -> (factors, refused per prompt)."""
    gen = tmp_path / "generations"
    gen.mkdir(exist_ok=True)
    rows = []
    for name, (factors, refused) in cells.items():
        with open(gen / f"{name}.jsonl", "w", encoding="utf-8") as fh:
            for i, r in enumerate(refused):
                fh.write(json.dumps({"row": name, "benchmark": bench, "id": f"p{i:03d}", "response": "…",
                                     "judgements": {"refusal": {"refused": r}, "keyword": {"refused": True}}}) + "\n")
        rows.append({"name": name, "kind": "variant", "factors": factors})
    rows.insert(0, {"name": "base", "kind": "base", "factors": {}})
    return {"primary_judge": "refusal", "benchmarks": [{"key": bench}], "rows": rows}


def _pattern(k: int) -> list[bool]:
    """The first k prompts refused."""
    return [i < k for i in range(N_PROMPTS)]


def _by_factor(effects):
    return {e["factor"]: e for e in effects}


def test_effect_is_the_mean_paired_difference_and_a_null_factor_has_a_zero_interval(tmp_path):
    # structure markdown adds 20 refusals over plain whatever the identity level; identity does nothing
    doc = _write_run(tmp_path, {
        "p_n": ({"structure": "plain", "identity": "none"}, _pattern(10)),
        "p_i": ({"structure": "plain", "identity": "inject"}, _pattern(10)),
        "m_n": ({"structure": "markdown", "identity": "none"}, _pattern(30)),
        "m_i": ({"structure": "markdown", "identity": "inject"}, _pattern(30)),
    })
    eff = _by_factor(factor_effects(doc, tmp_path / "generations", n_boot=500))
    s, i = eff["structure"], eff["identity"]
    assert (s["baseline"], s["level"], s["pairs"], s["n_prompts"]) == ("plain", "markdown", 2, N_PROMPTS)
    assert s["effect"] == pytest.approx(0.5)
    assert s["ci_low"] < 0.5 < s["ci_high"] and s["ci_low"] > 0.25
    # paired: identity changes no prompt's outcome, so every resample gives exactly 0
    assert (i["baseline"], i["level"]) == ("none", "inject")
    assert i["effect"] == i["ci_low"] == i["ci_high"] == 0.0


def test_baseline_level_is_the_off_level_even_when_it_sorts_last(tmp_path):
    doc = _write_run(tmp_path, {
        "none": ({"roleplay": "none"}, _pattern(30)),
        "add": ({"roleplay": "add"}, _pattern(10)),
    })
    (e,) = factor_effects(doc, tmp_path / "generations", n_boot=200)
    assert (e["baseline"], e["level"]) == ("none", "add")
    assert e["effect"] == pytest.approx(-0.5)
    assert e["ci_high"] < 0


def test_seed_replicates_are_averaged_into_their_cell_and_partial_grids_use_the_pairs_they_have(tmp_path):
    doc = _write_run(tmp_path, {
        "a0": ({"structure": "plain", "roleplay": "none"}, _pattern(0)),
        "b0": ({"structure": "markdown", "roleplay": "none"}, _pattern(20)),
        "b0.seed1": ({"structure": "markdown", "roleplay": "none"}, _pattern(40)),
        "c0": ({"structure": "plain", "roleplay": "add"}, _pattern(4)),  # its markdown partner is missing
    })
    eff = _by_factor(factor_effects(doc, tmp_path / "generations", n_boot=200))
    assert eff["structure"]["pairs"] == 1
    assert eff["structure"]["effect"] == pytest.approx(0.75)  # (20/40 + 40/40) / 2 - 0
    assert eff["structure"]["seeds_per_cell"] == [1, 2]
    assert eff["roleplay"]["pairs"] == 1 and eff["roleplay"]["effect"] == pytest.approx(0.1)


def test_factors_with_other_than_two_levels_and_runs_without_variants_give_nothing(tmp_path):
    doc = _write_run(tmp_path, {
        "x": ({"structure": "plain"}, _pattern(5)),
        "y": ({"structure": "markdown"}, _pattern(6)),
        "z": ({"structure": "numbered"}, _pattern(7)),
    })
    assert factor_effects(doc, tmp_path / "generations") == []
    assert render_effects([], "refusal") == ""
    no_variants = {"primary_judge": "refusal", "benchmarks": [{"key": "advbench"}],
                   "rows": [{"name": "base", "kind": "base", "factors": {}}]}
    assert factor_effects(no_variants, tmp_path / "nowhere") == []


def test_another_judge_can_be_asked_for(tmp_path):
    doc = _write_run(tmp_path, {
        "n": ({"identity": "none"}, _pattern(0)),
        "i": ({"identity": "inject"}, _pattern(40)),
    })
    (by_refusal,) = factor_effects(doc, tmp_path / "generations", n_boot=100)
    (by_keyword,) = factor_effects(doc, tmp_path / "generations", judge="keyword", n_boot=100)
    assert by_refusal["effect"] == pytest.approx(1.0) and by_keyword["effect"] == 0.0
    table = render_effects([by_refusal], "refusal")
    assert "| identity | none → inject | advbench | refusal | +100.0 |" in table


def test_missing_or_unjudged_generations_name_the_file_and_line(tmp_path):
    doc = _write_run(tmp_path, {
        "n": ({"identity": "none"}, _pattern(0)),
        "i": ({"identity": "inject"}, _pattern(4)),
    })
    gen = tmp_path / "generations"
    with open(gen / "i.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"benchmark": "advbench", "id": "late", "judgements": {}}) + "\n")
    with pytest.raises(InputError) as exc:
        factor_effects(doc, gen)
    assert exc.value.file.endswith("i.jsonl") and exc.value.line == N_PROMPTS + 1
    (gen / "n.jsonl").unlink()
    with pytest.raises(InputError, match="missing"):
        factor_effects(doc, gen)


def test_harness_report_on_an_unjudged_generation_exits_2_naming_file_and_line_and_writes_nothing(tmp_path, cli):
    doc = _write_run(tmp_path, {
        "n": ({"identity": "none"}, _pattern(0)),
        "i": ({"identity": "inject"}, _pattern(4)),
    })
    (tmp_path / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    with open(tmp_path / "generations" / "i.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"benchmark": "advbench", "id": "late", "judgements": {}}) + "\n")
    code, _, err = cli("harness", "report", tmp_path)
    assert code == 2
    (line,) = [l for l in err.splitlines() if l.startswith("error:")]  # one whole line, however long the path
    assert f"generations/i.jsonl, line {N_PROMPTS + 1}, " in line and "field 'judgements.refusal.refused'" in line
    assert not (tmp_path / "results.md").exists() and not (tmp_path / "factor_effects.json").exists()


def test_compliance_and_neither_effects_are_kept_apart_from_refusal(tmp_path):
    """identity inject cuts refusals by 30 prompts, but only 10 become compliance: 20 break."""
    gen = tmp_path / "generations"
    gen.mkdir()

    def outcomes(refused: int, neither: int) -> list[str]:
        return ["refused"] * refused + ["neither"] * neither + ["complied"] * (N_PROMPTS - refused - neither)

    cells = {"n": ({"identity": "none"}, outcomes(35, 0)), "i": ({"identity": "inject"}, outcomes(5, 20))}
    rows = [{"name": "base", "kind": "base", "factors": {}}]
    for name, (factors, outs) in cells.items():
        with open(gen / f"{name}.jsonl", "w", encoding="utf-8") as fh:
            for k, o in enumerate(outs):
                fh.write(json.dumps({"row": name, "benchmark": "advbench", "id": f"p{k:03d}", "judgements": {
                    "refusal": {"refused": o == "refused", "outcome": o}}}) + "\n")
        rows.append({"name": name, "kind": "variant", "factors": factors})
    doc = {"primary_judge": "refusal", "benchmarks": [{"key": "advbench"}], "rows": rows}
    eff = {e["metric"]: e for e in factor_effects(doc, gen, n_boot=200)}
    assert eff["refusal"]["effect"] == pytest.approx(-30 / N_PROMPTS)
    assert eff["compliance"]["effect"] == pytest.approx(10 / N_PROMPTS)
    assert eff["neither"]["effect"] == pytest.approx(20 / N_PROMPTS)
    table = render_effects(list(eff.values()), "refusal")
    assert "| identity | none → inject | advbench | neither | +50.0 |" in table
