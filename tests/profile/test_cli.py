"""`safetune profile`: outputs, comparison, and exit code 2 on bad input."""
from __future__ import annotations

import json
import sys

import jsonschema
import pytest

from safetune_data.cli.main import main
from safetune_data.schemas import load_schema


def run_cli(monkeypatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["safetune", *args])
    with pytest.raises(SystemExit) as exc:
        main()
        raise SystemExit(0)
    return exc.value.code


@pytest.fixture
def saved_pair(tmp_path, make_rec):
    """Two saved record directories: plain answers and their itemised version."""
    import datasets

    plain = [make_rec(i, ("user", f"Explain {i}"), ("assistant", f"It is {i}. Then more.")) for i in range(20)]
    listed = [make_rec(i, ("user", f"Explain {i}"), ("assistant", f"- It is {i}.\n- Then more.")) for i in range(20)]
    datasets.Dataset.from_list(plain).save_to_disk(str(tmp_path / "orig"))
    datasets.Dataset.from_list(listed).save_to_disk(str(tmp_path / "md"))
    return tmp_path / "orig", tmp_path / "md"


def test_profile_two_dirs_writes_json_markdown_plots(monkeypatch, tmp_path, saved_pair, patch_detectors, capsys):
    orig, md = saved_pair
    code = run_cli(monkeypatch, "profile", str(orig), str(md), "--json", str(tmp_path / "p.json"),
                   "--markdown", str(tmp_path / "p.md"), "--plots", str(tmp_path / "plots"))
    assert code == 0
    doc = json.loads((tmp_path / "p.json").read_text())
    jsonschema.validate(doc, load_schema("profile"))
    assert doc["profiles"][1]["structure"]["shares"]["list"] > doc["profiles"][0]["structure"]["shares"]["list"]
    assert doc["diff"]["structure.list"] == pytest.approx(1.0)
    md = (tmp_path / "p.md").read_text()
    assert "(plots/structure.png)" in md
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["factors.png", "lengths.png", "structure.png"]
    assert "structure: list" in capsys.readouterr().out


def test_missing_file_exits_2(monkeypatch, tmp_path, capsys):
    code = run_cli(monkeypatch, "profile", str(tmp_path / "nope.json"))
    assert code == 2
    err = capsys.readouterr().err
    assert err == f"error: {tmp_path / 'nope.json'}: no such file or directory\n"  # one line, never wrapped


def test_unreadable_input_exits_2(monkeypatch, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{ this is not json")
    code = run_cli(monkeypatch, "profile", str(bad))
    assert code == 2
    err = capsys.readouterr().err
    assert [l for l in err.splitlines() if l.startswith("error:")][0].startswith(f"error: {bad}") and "Traceback" not in err


def test_three_paths_exit_2(monkeypatch, saved_pair, capsys):
    orig, md = saved_pair
    assert run_cli(monkeypatch, "profile", str(orig), str(md), str(orig)) == 2
    assert "one or two paths" in capsys.readouterr().err


def test_bad_map_option_exits_2(monkeypatch, saved_pair, capsys):
    assert run_cli(monkeypatch, "profile", str(saved_pair[0]), "--map", "usercolumn") == 2
    assert "--map" in capsys.readouterr().err


def test_help_has_an_example(monkeypatch, capsys):
    assert run_cli(monkeypatch, "profile", "--help") == 0
    assert "safetune profile data/alpaca_en_demo.json" in capsys.readouterr().out


def test_existing_outputs_are_refused_before_profiling_unless_overwrite(monkeypatch, tmp_path, saved_pair, patch_detectors):
    orig, _ = saved_pair
    p_json, p_md = tmp_path / "p.json", tmp_path / "p.md"
    p_json.write_text("mine")
    assert run_cli(monkeypatch, "profile", str(orig), "--json", str(p_json)) == 2
    assert p_json.read_text() == "mine"
    assert run_cli(monkeypatch, "profile", str(orig), "--json", str(p_json), "--markdown", str(p_md), "--overwrite") == 0
    assert json.loads(p_json.read_text())["profiles"] and p_md.read_text()
    assert run_cli(monkeypatch, "profile", str(orig), "--markdown", str(p_md)) == 2


def test_plots_touch_only_their_own_files(monkeypatch, tmp_path, saved_pair, patch_detectors):
    orig, _ = saved_pair
    plots = tmp_path / "report"
    plots.mkdir()
    (plots / "notes.txt").write_text("keep")
    assert run_cli(monkeypatch, "profile", str(orig), "--plots", str(plots)) == 0
    names = ["factors.png", "lengths.png", "notes.txt", "structure.png"]
    assert sorted(p.name for p in plots.iterdir()) == names
    before = (plots / "structure.png").read_bytes()
    assert run_cli(monkeypatch, "profile", str(orig), "--plots", str(plots)) == 2  # plots exist
    assert run_cli(monkeypatch, "profile", str(orig), "--plots", str(plots), "--overwrite") == 0
    assert sorted(p.name for p in plots.iterdir()) == names  # no temporaries, nothing else removed
    assert (plots / "structure.png").read_bytes() == before and (plots / "notes.txt").read_text() == "keep"


def test_plots_into_the_current_directory_are_refused(monkeypatch, tmp_path, saved_pair, patch_detectors):
    orig, _ = saved_pair
    monkeypatch.chdir(tmp_path)
    assert run_cli(monkeypatch, "profile", str(orig), "--plots", ".") == 2
    assert not (tmp_path / "structure.png").exists()
