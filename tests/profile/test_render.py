"""JSON document (validated against the shipped schema), markdown, rich table and plots."""
from __future__ import annotations

import io
import json

import jsonschema
import pyarrow as pa
import pytest
from rich.console import Console

from safetune_data.profile import document, profile_table
from safetune_data.profile.render import rich_table, to_markdown, write_overview_plot, write_plots
from safetune_data.schemas import load_schema


@pytest.fixture
def pair(make_rec, fake_detectors) -> dict:
    plain = [make_rec(i, ("user", f"q{i}"), ("assistant", f"answer number {i}.")) for i in range(10)]
    listed = [make_rec(i, ("user", f"q{i}"), ("assistant", f"- answer\n- number {i}")) for i in range(10)]
    a = profile_table(pa.Table.from_pylist(plain), name="original", detectors=fake_detectors)
    b = profile_table(pa.Table.from_pylist(listed), name="variant", detectors=fake_detectors)
    return document([a, b])


def test_documents_validate_against_the_schema(pair):
    schema = load_schema("profile")
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(pair, schema)
    jsonschema.validate(document(pair["profiles"][:1]), schema)
    # the schema is strict enough to catch a broken document
    broken = json.loads(json.dumps(pair))
    broken["profiles"][0]["structure"]["shares"]["plain"] = 1.5
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    del broken["diff"]
    broken["profiles"][0]["structure"]["shares"]["plain"] = 1.0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)  # two profiles need their diff


def test_diff_is_second_minus_first(pair):
    assert pair["diff"]["structure.list"] == pytest.approx(1.0)
    assert pair["diff"]["structure.plain"] == pytest.approx(-1.0)
    assert pair["diff"]["rows"] == 0


def test_markdown_and_table_show_both_and_the_delta(pair):
    md = to_markdown(pair, images={"structure": "plots/structure.png"})
    header = md.splitlines()[0]
    assert "original" in header and "variant" in header and "Δ" in header
    list_row = next(line for line in md.splitlines() if line.startswith("| structure: list"))
    assert "0.0%" in list_row and "100.0%" in list_row and "+100.0 pp" in list_row
    assert "![structure](plots/structure.png)" in md

    buf = io.StringIO()
    Console(file=buf, width=160).print(rich_table(pair))
    out = buf.getvalue()
    assert "structure: list" in out and "+100.0 pp" in out


def test_plots_are_png_files(pair, tmp_path):
    written = write_plots(pair, tmp_path / "plots")
    assert set(written) == {"structure", "factors", "lengths"}
    for path in written.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    overview = write_overview_plot(pair["profiles"], tmp_path / "profile.png")
    assert overview.stat().st_size > 1000
