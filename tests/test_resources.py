"""Reading the package's data files and the user's list files (`safetune_data.resources`)."""
from __future__ import annotations

import pytest

from safetune_data.errors import ParamError
from safetune_data.resources import (
    BUILTIN_LANGUAGES, builtin_language_templates, builtin_library, load_list_file, load_personas,
)


@pytest.mark.parametrize("name,body", [
    ("l.yaml", "- a\n- b\n"), ("l.json", '["a", "b"]'), ("l.jsonl", '"a"\n\n"b"\n'), ("l.txt", "a\n\n  b  \n"),
])
def test_a_list_file_reads_the_same_in_every_format(tmp_path, name, body):
    f = tmp_path / name
    f.write_text(body)
    assert load_list_file(str(f), "templates") == ["a", "b"]


def test_a_wrapped_list_is_unwrapped_by_key_and_errors_name_the_parameter(tmp_path):
    f = tmp_path / "w.yaml"
    f.write_text("templates: [a]\nprefix: [b]\n")
    assert load_list_file(str(f), "templates", key="templates") == ["a"]
    assert load_list_file(str(f), "templates") == {"templates": ["a"], "prefix": ["b"]}
    with pytest.raises(ParamError, match="has no 'personas' list") as exc:
        load_list_file(str(f), "personas", key="personas")
    assert exc.value.field == "personas"
    (tmp_path / "n.yaml").write_text("3\n")
    with pytest.raises(ParamError, match="does not hold a list"):
        load_list_file(str(tmp_path / "n.yaml"), "templates")
    with pytest.raises(ParamError, match="file not found"):
        load_list_file(str(tmp_path / "missing.yaml"), "templates")
    (tmp_path / "bad.json").write_text("[1,")
    with pytest.raises(ParamError, match="cannot parse"):
        load_list_file(str(tmp_path / "bad.json"), "templates")


def test_builtin_libraries_load():
    for lang in BUILTIN_LANGUAGES:
        assert builtin_language_templates(lang)["prefix"]
    assert {"personas", "system_templates", "user_templates"} <= set(builtin_library())


def test_personas_from_a_file_or_a_list(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("personas:\n  - {name: Captain, description: a pirate captain., keywords: [Sea]}\n")
    (p,) = load_personas(str(f))
    assert (p.id, p.name, p.description, p.keywords) == ("captain", "Captain", "a pirate captain", ("sea",))
    with pytest.raises(ParamError, match="appears twice"):
        load_personas(["a chef", "a chef"])
