"""The harness offline: `harness config --tiny` runs as printed; a Hub id that cannot be
loaded here fails in seconds with a hint; tiny models are built whole or not at all."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from safetune_data.errors import ConfigError
from safetune_data.harness import models, runner
from safetune_data.harness.settings import default_config_text
from safetune_data.schemas import load_schema

HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


def _shipped(name: str) -> str:
    return resources.files("safetune_data.harness").joinpath(name).read_text(encoding="utf-8")


@pytest.fixture()
def hub_unreachable(monkeypatch):
    """Online mode (HF_HUB_OFFLINE unset) with a Hub endpoint that refuses connections."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # discard port: refused at once
    monkeypatch.setattr(models, "_hub_reachable", None)
    yield constants
    models._hub_reachable = None


@pytest.fixture()
def fake_cache(tmp_path, monkeypatch):
    """A Hugging Face cache holding the config.json of org/cached-model."""
    from huggingface_hub import constants

    repo = tmp_path / "hub" / "models--org--cached-model"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "config.json").write_text("{}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return "org/cached-model"


# ----------------------------------------------------------------------------- the shipped configs
def test_tiny_config_is_valid_commented_and_needs_no_network():
    text = _shipped("tiny_config.yaml")
    cfg = yaml.safe_load(text)
    jsonschema.validate(cfg, load_schema("harness_config"))
    assert cfg["model"]["build_tiny"] is True and not Path(cfg["model"]["path"]).is_absolute()
    assert [set(v) for v in cfg["variants"]] == [{"recipe", "out"}]
    assert cfg["variants"][0]["recipe"]["input"] == {"example": "sharegpt-sample"}
    lines = text.splitlines()
    uncommented = [ln for prev, ln in zip([""] + lines, lines)
                   if ln.strip() and not ln.lstrip().startswith("#") and "#" not in ln
                   and not prev.lstrip().startswith("#")]
    assert uncommented == []


def test_default_config_names_the_tours_variants_and_the_repository_data():
    cfg = yaml.safe_load(default_config_text())
    repo = Path(__file__).resolve().parents[2]
    assert cfg["variants"] == [{"index": "out/factorial/index.json"}]  # `safetune run transforms/paper_factorial.yaml --out out/factorial`
    for b in cfg["benchmarks"]:
        assert (repo / b["path"]).is_file(), b["path"]


def test_config_tiny_prints_the_tiny_config(cli):
    code, out, _ = cli("harness", "config", "--tiny")
    assert code == 0 and out == _shipped("tiny_config.yaml")
    code, out, _ = cli("harness", "config")
    assert code == 0 and out == default_config_text()


@pytest.mark.slow
def test_tiny_config_runs_end_to_end_offline_right_after_generation(tmp_path, cli, shared_data, monkeypatch):
    """The README tour: `safetune harness config --tiny > harness.yaml && safetune harness run harness.yaml`."""
    (tmp_path / "data").symlink_to(shared_data, target_is_directory=True)  # the repository root's data/
    code, text, _ = cli("harness", "config", "--tiny")
    (tmp_path / "harness.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    t0 = time.time()
    code, out, err = cli("harness", "run", "harness.yaml")
    elapsed = time.time() - t0
    assert code == 0, err
    root = tmp_path / "out" / "harness_tiny"
    assert (root / "model" / "config.json").is_file()
    assert json.loads((root / "variants" / "index.json").read_text())["input_rows"] == 119
    results = root / "results"
    doc = json.loads((results / "results.json").read_text())
    jsonschema.validate(doc, load_schema("results"))
    assert [r["name"] for r in doc["rows"]] == ["base", "structure=plain", "structure=markdown"]
    assert all(r["summary"]["refusal"]["asr"]["n"] == 8 for r in doc["rows"])
    assert (results / "factor_effects.json").is_file() and (results / "results.png").is_file()
    assert not [p for p in (results / "rows").iterdir() if p.name.endswith(".partial")]
    print(f"tiny harness run: {elapsed:.1f} s")

    # a rerun rebuilds nothing and recomputes no row
    model_mtime = (root / "model" / "model.safetensors").stat().st_mtime
    computed: list[str] = []
    real = runner.run_row
    monkeypatch.setattr(runner, "run_row", lambda c, row, *a, **kw: computed.append(row.name) or real(c, row, *a, **kw))
    code, out, err = cli("harness", "run", "harness.yaml")
    assert code == 0, err
    assert computed == [] and (root / "model" / "model.safetensors").stat().st_mtime == model_mtime


def test_recipe_variants_made_from_another_recipe_are_refused(tmp_path, cli, shared_data, monkeypatch):
    (tmp_path / "data").symlink_to(shared_data, target_is_directory=True)
    cfg = yaml.safe_load(_shipped("tiny_config.yaml"))
    out = tmp_path / "out" / "harness_tiny" / "variants"
    (out / "structure=plain").mkdir(parents=True)
    (out / "index.json").write_text(json.dumps({"variants": [{"name": "structure=plain", "dir": "structure=plain"}]}))
    (out / "structure=plain" / "manifest.json").write_text(json.dumps({"recipe": {"name": "something else"}}))
    (tmp_path / "harness.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    code, _, err = cli("harness", "run", str(tmp_path / "harness.yaml"))
    assert code == 2
    assert "field 'variants[0].out'" in err and "made from another recipe" in err
    assert not (tmp_path / "out" / "harness_tiny" / "model").exists()  # refused before anything is built


# ----------------------------------------------------------------------------- Hub ids offline
def _default_config(tmp_path: Path) -> Path:
    p = tmp_path / "harness.yaml"
    p.write_text(default_config_text(), encoding="utf-8")
    return p


def test_hub_id_with_hub_offline_fails_fast_with_hint_in_a_fresh_process(tmp_path):
    """The real CLI, imports included: `harness config > h.yaml && harness run h.yaml` offline."""
    cfg = _default_config(tmp_path)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-m", "safetune_data.cli.main", "harness", "run", str(cfg)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    elapsed = time.time() - t0
    assert proc.returncode == 2, proc.stderr
    assert elapsed < 30, f"took {elapsed:.1f} s (a hub lookup that is not cut short hangs about 50 s)"
    assert f"field 'model.path': cannot load model '{HUB_ID}'" in proc.stderr and "HF_HUB_OFFLINE" in proc.stderr
    assert "harness config --tiny" in proc.stderr and "harness tiny" in proc.stderr
    assert not (tmp_path / "harness_results").exists()


def test_hub_id_with_hub_unreachable_fails_fast(tmp_path, cli, hub_unreachable):
    cfg = _default_config(tmp_path)
    t0 = time.time()
    code, _, err = cli("harness", "run", str(cfg))
    assert code == 2 and time.time() - t0 < 5
    assert "cannot be reached" in err and "harness config --tiny" in err


def test_cached_hub_id_passes_and_switches_to_the_cache_when_the_hub_is_unreachable(hub_unreachable, fake_cache):
    t0 = time.time()
    models.check_model_source(fake_cache)
    assert hub_unreachable.HF_HUB_OFFLINE is True  # transformers now loads it from the cache, no retries
    with pytest.raises(ConfigError, match="cannot be reached"):  # not "HF_HUB_OFFLINE is set": the user did not set it
        models.check_model_source("org/not-cached")
    assert time.time() - t0 < 5


def test_cached_hub_id_passes_offline(monkeypatch, fake_cache):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    models.check_model_source(fake_cache)
    with pytest.raises(ConfigError, match="HF_HUB_OFFLINE") as err:
        models.check_model_source("org/not-cached")
    assert "harness tiny" in err.value.hint


def test_model_backed_judges_are_checked_before_training(tmp_path, cli, tiny_model_dir, shared_data, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "v").mkdir()
    cfg = {"model": {"path": str(tiny_model_dir)}, "variants": ["v"],
           "benchmarks": [{"name": "advbench", "path": str(shared_data / "harmful" / "advbench_harmful_behaviors.csv"), "n": 2}],
           "judges": ["keyword", {"name": "classifier", "options": {"model": "meta-llama/Llama-Guard-3-8B"}}]}
    (tmp_path / "h.yaml").write_text(yaml.safe_dump(cfg))
    t0 = time.time()
    code, _, err = cli("harness", "run", str(tmp_path / "h.yaml"))
    assert code == 2 and time.time() - t0 < 5
    assert "field 'judges[1].options.model'" in err and "Llama-Guard-3-8B" in err


def test_judge_backend_refuses_an_uncached_hub_id_offline(monkeypatch):
    from safetune_data.harness.judges.backends import HFBackend

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.time()
    with pytest.raises(ConfigError, match="not in the Hugging Face cache"):
        HFBackend("meta-llama/Llama-Guard-3-8B")
    assert time.time() - t0 < 5


# ----------------------------------------------------------------------------- tiny models, whole or nothing
def test_tiny_build_failure_leaves_nothing(tmp_path, monkeypatch):
    from safetune_data.harness import tiny

    def boom(out, **kw):
        (Path(out) / "config.json").write_text("{}")
        raise RuntimeError("disk full")

    monkeypatch.setattr(tiny, "build_tiny_model", boom)
    with pytest.raises(RuntimeError):
        tiny.write_tiny(tmp_path / "m", "chat")
    assert list(tmp_path.iterdir()) == []


def test_harness_tiny_refuses_a_folder_with_files(tmp_path, cli):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "notes.txt").write_text("mine")
    code, _, err = cli("harness", "tiny", str(tmp_path / "m"))
    assert code == 2 and "not an empty folder" in err
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["notes.txt"]
