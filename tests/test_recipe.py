"""Recipes: validation errors name file, step and parameter; grids expand; overrides apply."""
import pytest

from safetune_data.errors import ConfigError
from safetune_data.recipe import load_recipe

REPO_TRANSFORMS = __import__("pathlib").Path(__file__).resolve().parents[1] / "transforms"


def _write(tmp_path, text):
    p = tmp_path / "r.yaml"
    p.write_text(text)
    return p


def test_factorial_grid_expands_to_eight_named_variants():
    rec = load_recipe(REPO_TRANSFORMS / "paper_factorial.yaml")
    names = [v.name for v in rec.variants]
    assert len(names) == 8 and len(set(names)) == 8
    assert "structure=markdown,identity=inject,roleplay=add" in names
    v = next(v for v in rec.variants if v.name == "structure=markdown,identity=inject,roleplay=add")
    assert [s.name for s in v.steps] == ["structure.markdown", "identity.inject", "roleplay.add"]
    assert v.factors == {"structure": "markdown", "identity": "inject", "roleplay": "add"}


def test_every_shipped_recipe_loads():
    files = sorted(REPO_TRANSFORMS.glob("*.yaml"))
    assert len(files) >= 7
    for f in files:
        assert load_recipe(f).variants


def test_misspelt_transform_names_file_and_step(tmp_path):
    p = _write(tmp_path, "input: {example: sharegpt-sample}\nsteps:\n  - filter.length: {}\n  - structure.markdwn: {}\n")
    with pytest.raises(ConfigError) as exc:
        load_recipe(p)
    msg = str(exc.value)
    assert str(p) in msg and "step 1" in msg and "structure.markdwn" in msg and "structure.markdown" in msg


def test_misspelt_parameter_names_the_parameter(tmp_path):
    p = _write(tmp_path, "input: {example: sharegpt-sample}\nsteps:\n  - structure.markdown: {styel: bullets}\n")
    with pytest.raises(ConfigError) as exc:
        load_recipe(p)
    assert exc.value.field == "styel" and exc.value.step == 0 and str(p) in str(exc.value)


def test_ill_typed_parameter(tmp_path):
    p = _write(tmp_path, "input: {example: sharegpt-sample}\nsteps:\n  - filter.length: {min_chars: many}\n")
    with pytest.raises(ConfigError) as exc:
        load_recipe(p)
    assert exc.value.field == "min_chars"


def test_unknown_top_level_key_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="stpes"):
        load_recipe(_write(tmp_path, "stpes: []\n"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_recipe(_write(tmp_path, "steps: [\n"))


def test_yaml_tags_are_not_executed(tmp_path):
    p = _write(tmp_path, "steps: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ConfigError):
        load_recipe(p)


def test_set_overrides_and_variant_selection(tmp_path, alpaca_path):
    rec = load_recipe(
        REPO_TRANSFORMS / "paper_factorial.yaml",
        overrides=[f"input.path={alpaca_path}", "seed=7"],
        select=["structure=plain,*"],
    )
    assert rec.seed == 7 and rec.input_paths() == [str(alpaca_path)]
    assert len(rec.variants) == 4 and all(v.name.startswith("structure=plain") for v in rec.variants)
    with pytest.raises(ConfigError, match="no variant matches"):
        load_recipe(REPO_TRANSFORMS / "paper_factorial.yaml", select=["nope"])


def test_variant_patterns_keep_grid_names_whole():
    from safetune_data.recipe import split_variant_patterns

    assert split_variant_patterns("structure=markdown,*") == ["structure=markdown,*"]
    assert split_variant_patterns("structure=plain,*;*roleplay=add") == ["structure=plain,*", "*roleplay=add"]
    assert split_variant_patterns("md,persona") == ["md", "persona"]
    rec = load_recipe(REPO_TRANSFORMS / "paper_factorial.yaml", select=split_variant_patterns("structure=markdown,*"))
    assert len(rec.variants) == 4


def test_every_problem_of_a_recipe_is_reported_at_once(tmp_path):
    from safetune_data.errors import ConfigErrors

    p = _write(
        tmp_path,
        "input: {example: sharegpt-sample}\nsteps:\n"
        "  - identity.inject: {nmae: Aria, placment: prefix}\n"
        "  - roleplay.ad: {}\n"
        "  - structure.markdown: {rate: 7}\n",
    )
    with pytest.raises(ConfigErrors) as exc:
        load_recipe(p)
    found = [(e.step, e.field) for e in exc.value.errors]
    assert found == [(0, "nmae"), (0, "placment"), (1, None), (2, "rate")]
    assert all(e.file == str(p) for e in exc.value.errors)
    assert "4 problems" in str(exc.value)


def test_several_schema_errors_are_reported_together(tmp_path):
    from safetune_data.errors import ConfigErrors

    p = _write(tmp_path, "input: {example: sharegpt-sample}\nseed: many\nstepz: []\n")
    with pytest.raises(ConfigErrors) as exc:
        load_recipe(p)
    assert len(exc.value.errors) == 2
    assert {e.field for e in exc.value.errors} == {"seed", "recipe"}


def test_missing_input_file_names_the_recipe_and_field(tmp_path):
    p = _write(tmp_path, "input: {path: nowhere/data.jsonl}\nsteps: []\n")
    rec = load_recipe(p)
    with pytest.raises(ConfigError) as exc:
        rec.input_paths()
    assert exc.value.file == str(p) and exc.value.field == "input.path"
    assert "nowhere/data.jsonl" in exc.value.message
