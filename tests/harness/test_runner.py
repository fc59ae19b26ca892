"""`safetune harness run` end to end on the tiny model: results, resume, crash recovery, bad configs."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from safetune_data.harness import runner
from safetune_data.schemas import load_schema


def _bullets(text: str) -> str:
    return "\n".join(f"- {line.strip()}" for line in text.split(". ") if line.strip())


@pytest.fixture()
def setup(tmp_path, make_variant, tiny_model_dir, shared_data):
    """A config with base + 2 variants (original and bullet answers), 8 + 8 benchmark prompts."""
    make_variant(tmp_path / "variants" / "original", 0, 16, factors={"structure": "original"})
    make_variant(tmp_path / "variants" / "bullets", 0, 16, answer=_bullets, factors={"structure": "bullets"})
    cfg = {
        "model": {"path": str(tiny_model_dir)},
        "device": "cpu",
        "output_dir": "out",
        "variants": ["variants/original", {"dir": "variants/bullets", "name": "bullets"}],
        "finetune": {"max_steps": 2, "batch_size": 4, "max_length": 96, "val_fraction": 0.25, "logging_steps": 1,
                     "lora": {"r": 4, "alpha": 8}},
        "generate": {"max_new_tokens": 8, "batch_size": 8},
        "benchmarks": [
            {"name": "advbench", "path": str(shared_data / "harmful" / "advbench_harmful_behaviors.csv"),
             "n": 8, "seed": 0, "half": "eval"},
            {"name": "xstest", "path": str(shared_data / "overrefusal" / "xstest_prompts.csv"),
             "n": 8, "seed": 0, "label": "safe"},
        ],
        "judges": ["refusal", "keyword"],
    }

    def write(**over) -> Path:
        c = json.loads(json.dumps(cfg))
        c.update(over)
        p = tmp_path / "harness.yaml"
        p.write_text(yaml.safe_dump(c), encoding="utf-8")
        return p

    return tmp_path, write


def _cli(monkeypatch, *args: str) -> int:
    """Run the real CLI entry point in-process; return its exit code."""
    from safetune_data.cli.main import main

    monkeypatch.setattr(sys, "argv", ["safetune", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _computed_rows(monkeypatch) -> list[str]:
    """Record which rows get computed (not skipped) from now on."""
    names: list[str] = []
    real = runner.run_row

    def spy(cfg, row, *a, **kw):
        names.append(row.name)
        return real(cfg, row, *a, **kw)

    monkeypatch.setattr(runner, "run_row", spy)
    return names


def test_full_run_base_and_two_variants(setup, monkeypatch):
    tmp, write = setup
    cfg = write()
    assert _cli(monkeypatch, "harness", "run", str(cfg)) == 0
    out = tmp / "out"
    results = json.loads((out / "results.json").read_text())
    jsonschema.validate(results, load_schema("results"))
    assert [r["name"] for r in results["rows"]] == ["base", "original", "bullets"]
    assert results["reference"] == "base"
    for r in results["rows"]:
        assert r["benchmarks"]["advbench"]["n"] == 8 and r["benchmarks"]["xstest"]["n"] == 8
        assert set(r["summary"]) == {"refusal", "keyword"}
        assert r["summary"]["refusal"]["asr"]["n"] == 8 and r["summary"]["refusal"]["over_refusal"]["n"] == 8
        assert r["system_prompt"]["effective"] == r["system_prompt"]["template_default"] is not None
        lines = (out / "generations" / f"{r['name']}.jsonl").read_text().splitlines()
        assert len(lines) == 16
        first = json.loads(lines[0])
        assert {"prompt", "response", "expected", "judgements"} <= set(first)
        assert set(first["judgements"]) == {"refusal", "keyword"}
    variants = results["rows"][1:]
    assert all(v["finetune"]["steps"] == 2 and v["finetune"]["val_rows"] == 4 for v in variants)
    assert variants[0]["factors"] == {"structure": "original"}
    assert (out / "rows" / "bullets" / "adapter" / "adapter_config.json").is_file()
    assert (out / "rows" / "bullets" / "loss_log.jsonl").is_file()
    md = (out / "results.md").read_text()
    assert "| bullets | variant |" in md and "harmful compliance" in md
    assert (out / "results.png").stat().st_size > 1000
    # the two variants differ in one factor: its effect is their paired difference, from the generations
    (effect, *others) = json.loads((out / "factor_effects.json").read_text())
    assert (effect["factor"], effect["baseline"], effect["level"], effect["pairs"]) == (
        "structure", "original", "bullets", 1)
    refused = {v["name"]: [json.loads(x)["judgements"]["refusal"]["refused"]
                           for x in (out / "generations" / f"{v['name']}.jsonl").read_text().splitlines()
                           if json.loads(x)["benchmark"] == effect["benchmark"]] for v in variants}
    assert effect["effect"] == pytest.approx((sum(refused["bullets"]) - sum(refused["original"])) / 8, abs=1e-4)
    assert "Factor effects" in md
    # the variants' rows carry no system turn: every trained row got the template's default
    assert all(v["finetune"]["system_prompts"]["template_default"] == v["finetune"]["system_prompts"]["rows"] > 0
               for v in variants)
    assert "`bullets`: template default" in md and "trained with own 0 / template default" in md

    # rerun: every row is finished with the same settings, nothing is recomputed
    computed = _computed_rows(monkeypatch)
    assert _cli(monkeypatch, "harness", "run", str(cfg)) == 0
    assert computed == []
    # a changed generate setting invalidates every row
    assert _cli(monkeypatch, "harness", "run", str(write(generate={"max_new_tokens": 4, "batch_size": 8}))) == 0
    assert computed == ["base", "original", "bullets"]

    # report re-renders from results.json alone
    (out / "results.md").unlink()
    assert _cli(monkeypatch, "harness", "report", str(out)) == 0
    assert "| original | variant |" in (out / "results.md").read_text()


def test_crash_mid_variant_loses_only_that_variant(setup, monkeypatch):
    tmp, write = setup
    cfg = write(evaluate_base=False)
    real = runner.evaluate_model

    def crash_on_bullets(model, tok, c, row, *a, **kw):
        result = real(model, tok, c, row, *a, **kw)
        if row.name == "bullets":  # after its answers were written
            raise RuntimeError("simulated crash")
        return result

    monkeypatch.setattr(runner, "evaluate_model", crash_on_bullets)
    with pytest.raises(RuntimeError, match="simulated crash"):
        runner.run(cfg)
    out = tmp / "out"
    assert (out / "rows" / "original" / "done.json").is_file()
    assert not (out / "rows" / "bullets").exists()
    # the failed row leaves no answers without a finished row; of its folder only the finished fine-tune
    assert sorted(p.name for p in (out / "rows").iterdir()) == [".bullets.partial", "original"]
    assert sorted(p.name for p in (out / "rows" / ".bullets.partial").iterdir()) == [
        "adapter", "finetune_config.json", "finetuned.json", "loss_log.jsonl", "train_stats.json"]
    assert sorted(p.name for p in (out / "generations").iterdir()) == ["original.jsonl"]
    partial = json.loads((out / "results.json").read_text())
    assert [r["name"] for r in partial["rows"]] == ["original"]

    # the rerun evaluates bullets from its kept fine-tune, without training it again
    monkeypatch.setattr(runner, "evaluate_model", real)
    computed = _computed_rows(monkeypatch)
    trained: list[str] = []
    real_finetune = runner.finetune
    monkeypatch.setattr(runner, "finetune", lambda *a, **kw: trained.append(kw["label"]) or real_finetune(*a, **kw))
    doc = runner.run(cfg)
    assert computed == ["bullets"] and trained == []
    assert [r["name"] for r in doc["rows"]] == ["original", "bullets"]
    assert not (out / "rows" / ".bullets.partial").exists()
    assert not (out / "rows" / "bullets" / "finetuned.json").exists()

    # and answers exactly as a run that was never interrupted
    fresh = runner.run(cfg, tmp / "uninterrupted")
    assert trained == ["original", "bullets"]
    resumed_rows = {r["name"]: r for r in doc["rows"]}
    for r in fresh["rows"]:
        timing = ("finetune_s", "train_s", "tokens_per_s")
        assert ({k: v for k, v in r["finetune"].items() if k not in timing}
                == {k: v for k, v in resumed_rows[r["name"]]["finetune"].items() if k not in timing})
        assert r["benchmarks"] == resumed_rows[r["name"]]["benchmarks"]
    assert ((tmp / "uninterrupted" / "generations" / "bullets.jsonl").read_bytes()
            == (out / "generations" / "bullets.jsonl").read_bytes())


def test_a_fine_tune_kept_for_other_settings_is_not_reused(setup, monkeypatch):
    tmp, write = setup
    cfg = write(evaluate_base=False, variants=["variants/bullets"])
    stale = tmp / "out" / "rows" / ".bullets.partial"
    (stale / "adapter").mkdir(parents=True)
    (tmp / "out" / "config.resolved.json").write_text("{}")  # an earlier run's folder, cut short
    (stale / "finetuned.json").write_text(json.dumps({"config_hash": "other settings"}))
    (stale / "generations.jsonl").write_text("{}\n")
    trained: list[str] = []
    real_finetune = runner.finetune
    monkeypatch.setattr(runner, "finetune", lambda *a, **kw: trained.append(kw["label"]) or real_finetune(*a, **kw))
    runner.run(cfg)
    assert trained == ["bullets"]
    assert not stale.exists() and (tmp / "out" / "rows" / "bullets" / "done.json").is_file()


def test_stage_merges_and_becomes_the_start_and_reference(setup, monkeypatch):
    tmp, write = setup
    cfg = write(evaluate_base=False, stages=[{"name": "aligned", "data": "variants/original"}],
                variants=["variants/bullets"])
    doc = runner.run(cfg)
    out = tmp / "out"
    assert doc["reference"] == "aligned"
    assert [r["name"] for r in doc["rows"]] == ["aligned", "bullets"]
    merged = out / "rows" / "aligned" / "merged"
    assert (merged / "model.safetensors").is_file()
    assert doc["rows"][1]["start_model"] == str(merged)
    assert doc["rows"][0]["finetune"]["merged"] is True


def test_progress_goes_to_the_hooks_passed_in_and_the_cli_passes_its_console(setup, monkeypatch, capsys):
    """The harness reports through `hooks` (it imports no CLI): a line per row, one counted task
    per fine-tune (steps) and per generation (prompts), each counted to its end."""
    from contextlib import contextmanager

    from safetune_data.harness.hooks import Hooks

    tmp, write = setup
    cfg = write(variants=["variants/original"], dtype="float32")  # rm's spelling of fp32 is the harness's too
    messages, counted = [], {}

    @contextmanager
    def task(description, total, unit):
        counted[description] = [total, unit, 0]
        yield lambda n: counted[description].__setitem__(2, counted[description][2] + n)

    doc = runner.run(cfg, hooks=Hooks(message=messages.append, task=task))
    assert [r["weights_dtype"] for r in doc["rows"]] == ["fp32", "fp32"]
    assert [m for m in messages if not m.startswith("  ")] == ["[bold]base[/] base", "[bold]variant[/] original"]
    assert all(" s" in m for m in messages if m.startswith("  ")), "each row's timings follow it"
    assert counted == {"generate base": [16, "prompts", 16], "fine-tune original": [2, "steps", 2],
                       "generate original": [16, "prompts", 16]}
    capsys.readouterr()
    assert _cli(monkeypatch, "harness", "run", str(cfg)) == 0  # resumes: both rows finished
    out = capsys.readouterr().out
    assert "skip base: finished earlier with the same settings" in out and "skip original" in out


@pytest.mark.parametrize(
    "override, key, message",
    [
        ({"variants": ["variants/missing"]}, "variants[0]", "directory not found"),
        ({"judges": ["refusal", "refusall"]}, "judges[1]", "unknown judge 'refusall'"),
        ({"benchmarks": [{"name": "advbenchh"}]}, "benchmarks[0].name", "unknown benchmark 'advbenchh'"),
        ({"finetune": {"lora": {"r": "big"}}}, "finetune.lora.r", "is not of type"),
        ({"device": "tpu"}, "device", "is not one of"),
        ({"variants": ["variants/original", {"dir": "variants/bullets", "name": "original"}]}, "variants", "used twice"),
    ],
)
def test_bad_config_exits_2_before_training(setup, monkeypatch, capsys, override, key, message):
    tmp, write = setup
    cfg = write(**override)
    computed = _computed_rows(monkeypatch)
    assert _cli(monkeypatch, "harness", "run", str(cfg)) == 2
    (line,) = [l for l in capsys.readouterr().err.splitlines() if l.startswith("error:")]  # never wrapped
    assert line.startswith(f"error: {cfg}")
    assert f"field '{key}'" in line and message in line
    assert computed == [] and not (tmp / "out").exists()


def test_output_into_a_folder_it_did_not_write_or_the_current_directory_exits_2(setup, monkeypatch):
    tmp, write = setup
    cfg = write()
    computed = _computed_rows(monkeypatch)
    mywork = tmp / "mywork"
    mywork.mkdir()
    (mywork / "important.txt").write_text("keep")
    assert _cli(monkeypatch, "harness", "run", str(cfg), "--out", str(mywork)) == 2
    assert [p.name for p in mywork.iterdir()] == ["important.txt"]
    monkeypatch.chdir(mywork)
    assert _cli(monkeypatch, "harness", "run", str(cfg), "--out", ".") == 2
    assert computed == [] and [p.name for p in mywork.iterdir()] == ["important.txt"]


def test_check_output_accepts_new_empty_and_earlier_harness_folders(tmp_path):
    from safetune_data.errors import ConfigError

    runner.check_output(tmp_path / "new")
    runner.check_output(tmp_path)  # empty
    (tmp_path / "results.json").write_text(json.dumps({"planned_rows": ["base"], "rows": []}))
    (tmp_path / "notes.txt").write_text("x")
    runner.check_output(tmp_path)  # an earlier run's folder: resumed
    (tmp_path / "results.json").unlink()
    with pytest.raises(ConfigError) as err:
        runner.check_output(tmp_path)
    assert err.value.file == str(tmp_path) and "notes.txt" in err.value.message


def test_printed_default_config_is_valid_commented_and_shows_the_defaults_a_run_fills_in():
    from safetune_data.harness.settings import HarnessSettings, default_config_text, fill_defaults

    text = default_config_text()
    printed = yaml.safe_load(text)
    schema = load_schema("harness_config")
    jsonschema.validate(printed, schema)
    filled = fill_defaults(HarnessSettings, {"model": {"path": "m"}, "variants": ["v"], "benchmarks": [{"name": "b"}],
                                            "judges": ["j"]})
    for key in ("finetune", "generate", "device", "dtype", "seed", "output_dir", "evaluate_base", "stages",
                "heldout_loss"):
        assert printed[key] == filled[key], key
    assert {**printed["model"], "path": "m"} == filled["model"]
    # every key of the printed config carries a comment, on its line or on the line above
    lines = text.splitlines()
    uncommented = [ln for prev, ln in zip([""] + lines, lines)
                   if ln.strip() and not ln.lstrip().startswith("#") and "#" not in ln
                   and not prev.lstrip().startswith("#")]
    assert uncommented == []


def test_schema_checks_the_keys_of_the_settings_in_their_order_and_holds_no_defaults():
    """Defaults live in the settings only; filling follows field order, so the schema lists the same keys."""
    from dataclasses import fields

    from safetune_data.harness import settings as st

    schema = load_schema("harness_config")
    top, defs = schema["properties"], schema["$defs"]
    for section, cls in [(schema, st.HarnessSettings), (top["model"], st.ModelSettings),
                         (top["heldout_loss"], st.HeldoutSettings), (top["stages"]["items"], st.StageSettings),
                         (defs["finetune"], st.FinetuneSettings), (defs["finetune"]["properties"]["lora"], st.LoraSettings),
                         (defs["generate"], st.GenerateSettings)]:
        assert list(section["properties"]) == [f.name for f in fields(cls)], cls.__name__
    assert '"default"' not in json.dumps(schema)


def test_every_schema_problem_of_a_config_is_reported_at_once(setup):
    from safetune_data.errors import ConfigErrors
    from safetune_data.harness.config import load_config

    tmp, write = setup
    cfg = write(device="tpu", finetune={"lora": {"r": "big"}}, seeed=1)
    with pytest.raises(ConfigErrors) as exc:
        load_config(cfg)
    assert [e.field for e in exc.value.errors] == ["(top level)", "device", "finetune.lora.r"]
    assert all(e.file == str(cfg.resolve()) for e in exc.value.errors) and "3 problems" in str(exc.value)


def test_rows_read_typed_settings_with_their_overrides(setup):
    from dataclasses import asdict

    from safetune_data.harness.config import load_config

    tmp, write = setup
    cfg = load_config(write(stages=[{"name": "aligned", "data": "variants/original", "finetune": {"lora": {"r": 2}}}],
                            variants=[{"dir": "variants/bullets", "generate": {"do_sample": True}}]))
    base, stage, variant = cfg.rows
    assert (stage.finetune.lora.r, stage.finetune.lora.alpha, stage.finetune.merge) == (2, 8, True)
    assert (variant.finetune.lora.r, variant.finetune.merge, variant.finetune.max_steps) == (4, False, 2)
    assert (base.generate.do_sample, variant.generate.do_sample, variant.generate.max_new_tokens) == (False, True, 8)
    # the record keeps the config as written (keys sorted by yaml.safe_dump), defaults filled in after the given keys
    assert list(cfg.raw["finetune"])[:7] == ["batch_size", "logging_steps", "lora", "max_length", "max_steps",
                                            "val_fraction", "learning_rate"]
    assert asdict(cfg.settings.finetune) == {k: cfg.raw["finetune"][k] for k in asdict(cfg.settings.finetune)}
