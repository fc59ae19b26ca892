"""Dataset cards: Hub-valid front matter (checked offline with huggingface_hub), configs
that match the shards, sources and licences, transforms, profile and safety sections."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from huggingface_hub import DatasetCard, DatasetCardData

from safetune_data.card import write_card
from safetune_data.errors import InputError

ANSWERS = ["Paris is the capital.", "1. Mix\n2. Bake", "As an AI, I cannot taste food."]


def _output_dir(tmp_path: Path, *, input_name: str, steps=None, factors=None, variant=None, n=30) -> Path:
    """An output directory as `convert`/`run` leave it: save_to_disk shards + manifest."""
    import datasets

    recs = [
        {"id": f"x-{i:06d}", "messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": ANSWERS[i % 3]}],
         "meta": {"source": input_name, "source_index": i}}
        for i in range(n)
    ]
    out = tmp_path / "out"
    datasets.Dataset.from_list(recs).save_to_disk(str(out), num_shards=2)
    shards = sorted(p.name for p in out.glob("data-*.arrow"))
    manifest = {
        "safetune_version": "0.1.0", "created": "2026-01-01T00:00:00+00:00",
        "command": ["safetune", "run", "recipe.yaml", str(tmp_path / "out")],
        "inputs": [{"path": f"/somewhere/{input_name}", "sha256": "ab" * 32, "rows": n, "format": "alpaca"}],
        "seed": 0, "recipe": {"steps": steps or []}, "variant": variant, "factors": factors,
        "steps": steps or [],
        "output": {"rows": n, "shards": [{"file": s, "rows": 0, "sha256": "0" * 64} for s in shards]},
        "dropped": {}, "versions": {"python": "3"},
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


STEPS = [
    {"step": 0, "op": "structure.markdown", "params": {"style": "bullets"}, "seen": 30, "changed": 20,
     "unchanged": {"already structured": 10}, "dropped": {}, "fired": {"bullets": 20}, "out": 30},
    {"step": 1, "op": "roleplay.add", "params": {"where": "system", "rate": 1.0}, "seen": 30, "changed": 30,
     "unchanged": {}, "dropped": {}, "fired": {}, "out": 30},
]


def _front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_card_front_matter_is_valid_and_names_transforms(tmp_path, patch_card_detectors):
    out = _output_dir(tmp_path, input_name="alpaca_en_demo.json", steps=STEPS,
                      factors={"structure": "markdown", "identity": "original", "roleplay": "add"}, variant="md-rp")
    path = write_card(out)
    text = path.read_text()
    meta = _front_matter(text)
    DatasetCardData(**meta)  # the Hub's own metadata class accepts every key
    card = DatasetCard(text)
    assert card.data.license == "cc-by-nc-4.0"  # the Alpaca data licence, from the known-source table
    assert {"structure-markdown", "identity-original", "roleplay-add", "variant-md-rp"} <= set(card.data.tags)
    assert card.data.size_categories == ["n<1K"]
    # configs point at exactly the shards present
    (config,) = card.data.configs
    paths = config["data_files"][0]["path"]
    assert sorted(paths) == sorted(p.name for p in out.glob("*.arrow")) and len(paths) == 2
    # transforms with their parameters and stats
    assert "`structure.markdown`" in text and '{"style": "bullets"}' in text and "already structured: 10" in text
    assert "`roleplay.add`" in text
    # safety considerations cite both papers, with the direction of each applied change
    assert "Picky LLMs and Unreliable RMs" in text and "Fine-tuning Aligned Language Models Compromises Safety" in text
    # role-play: riskier in the papers, more refusal in the mini study: the card shows both
    assert "roleplay = `add`** (expected effect on safety: disputed)" in text
    roleplay = text.split("roleplay = `add`**")[1].split("**")[0]
    assert "riskier per Li et al. 2025" in roleplay and "safer per examples/mini_study in this repository" in roleplay
    # the findings on markdown answers disagree: the card says so and names each source with its direction
    assert "structure = `markdown`** (expected effect on safety: disputed)" in text
    safety = text.split("## Safety considerations")[1].split("\n## ")[0]
    assert "safer per Li et al. 2025" in safety and "riskier per He et al. 2024" in safety
    assert "The findings disagree" in safety
    # the transforms table explains its "fired" column
    assert "*fired* counts which rule or pattern matched" in text
    assert "load_from_disk" in text and "load_dataset" in text and "@article{li2025picky" in text


def test_card_uses_only_paths_inside_the_directory(tmp_path, patch_card_detectors):
    out = _output_dir(tmp_path, input_name="alpaca_en_demo.json", steps=STEPS)
    text = write_card(out).read_text()
    assert str(tmp_path) not in text and "/somewhere" not in text
    assert "![factor profile](profile.png)" in text
    assert (out / "profile.png").read_bytes()[:4] == b"\x89PNG"


def test_profile_before_and_after(tmp_path, patch_card_detectors):
    from safetune_data.profile import profile_table

    out = _output_dir(tmp_path, input_name="alpaca_en_demo.json", steps=STEPS)
    import datasets

    before = profile_table(datasets.load_from_disk(str(out)).select(range(10)), detectors=patch_card_detectors)
    text = write_card(out, profile_before=before).read_text()
    header = next(line for line in text.splitlines() if line.startswith("| figure"))
    assert "before" in header and "after" in header and "Δ" in header
    rows_line = next(line for line in text.splitlines() if line.startswith("| rows |"))
    assert "| 10 | 30 | +20 |" in rows_line


def test_unknown_source_licence_and_override(tmp_path, patch_card_detectors):
    out = _output_dir(tmp_path, input_name="my_private.jsonl")
    text = write_card(out).read_text()
    assert _front_matter(text)["license"] == "unknown"
    assert "unknown — set --license" in text
    assert "None: the rows are the inputs converted" in text
    text = write_card(out, license="mit", title="My set").read_text()
    meta = _front_matter(text)
    assert meta["license"] == "mit" and meta["pretty_name"] == "My set"
    assert text.count("\n# My set\n") == 1


def test_configs_load_with_load_dataset(tmp_path, patch_card_detectors):
    """What the Hub does after upload: `load_dataset` reads the card's configs."""
    import datasets

    out = _output_dir(tmp_path, input_name="alpaca_en_demo.json", n=12)
    write_card(out)
    hub_like = tmp_path / "hub"
    hub_like.mkdir()
    for p in out.iterdir():
        if p.name != "state.json":  # load_dataset refuses local save_to_disk dirs
            shutil.copy(p, hub_like / p.name)
    ds = datasets.load_dataset(str(hub_like), split="train")
    assert ds.num_rows == 12 and ds.column_names == ["id", "messages", "meta"]


def test_missing_manifest_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="manifest.json"):
        write_card(tmp_path)


def test_card_cli(tmp_path, monkeypatch, patch_card_detectors, capsys):
    from safetune_data.cli.main import main

    out = _output_dir(tmp_path, input_name="alpaca_en_demo.json")
    (out / "README.md").unlink(missing_ok=True)
    monkeypatch.setattr(sys, "argv", ["safetune", "card", str(out), "--license", "apache-2.0"])
    with pytest.raises(SystemExit) as exc:
        main()
        raise SystemExit(0)
    assert exc.value.code == 0
    assert _front_matter((out / "README.md").read_text())["license"] == "apache-2.0"

    monkeypatch.setattr(sys, "argv", ["safetune", "card", str(tmp_path / "missing")])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2


def test_card_replaces_its_own_readme_but_not_someone_elses(tmp_path, patch_card_detectors):
    from safetune_data.errors import ConfigError

    out = _output_dir(tmp_path, input_name="alpaca_en_demo.json")
    write_card(out)
    write_card(out, license="apache-2.0")  # a card safetune wrote is regenerated
    assert _front_matter((out / "README.md").read_text())["license"] == "apache-2.0"
    (out / "README.md").write_text("# My own notes\n")
    with pytest.raises(ConfigError) as err:
        write_card(out)
    assert err.value.file == str(out / "README.md")
    assert (out / "README.md").read_text() == "# My own notes\n"
    write_card(out, overwrite=True)
    assert (out / "README.md").read_text().startswith("---\n")
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]


def test_card_cli_overwrite_flag(tmp_path, monkeypatch, patch_card_detectors):
    from safetune_data.cli.main import main

    out = _output_dir(tmp_path, input_name="alpaca_en_demo.json")
    (out / "README.md").write_text("# My own notes\n")
    codes = []
    for extra in ([], ["--overwrite"]):
        monkeypatch.setattr(sys, "argv", ["safetune", "card", str(out), *extra])
        with pytest.raises(SystemExit) as exc:
            main()
            raise SystemExit(0)
        codes.append(exc.value.code)
    assert codes == [2, 0]
    assert "My own notes" not in (out / "README.md").read_text()


@pytest.fixture
def patch_card_detectors(monkeypatch):
    """Simple stand-in detectors so card tests do not depend on the detectors' rules."""
    import safetune_data.profile as profile
    from safetune_data.profile import Detectors

    det = Detectors(
        lambda t: "list" if t.lstrip().startswith(("1.", "-")) else "plain",
        lambda t: {"ai_self_reference"} if "As an AI" in t else set(),
        lambda r: set(),
        lambda resp, prompt=None: "cannot" in resp,
    )
    monkeypatch.setattr(profile, "load_detectors", lambda: det)
    return det
