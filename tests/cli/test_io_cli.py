"""The convert / validate / export / info commands as a user runs them."""
import json

import datasets


def test_convert_alpaca_and_export_back(cli, alpaca_path, tmp_path):
    code, out, err = cli("convert", alpaca_path, "--out", tmp_path / "o")
    assert code == 0, err
    assert datasets.load_from_disk(str(tmp_path / "o")).num_rows == 999
    code, out, _ = cli("export", tmp_path / "o", "--to", "alpaca", "--out", tmp_path / "back.jsonl")
    assert code == 0
    rows = [json.loads(x) for x in (tmp_path / "back.jsonl").read_text().splitlines()]
    assert rows == json.loads(alpaca_path.read_text())


def test_convert_example_and_info(cli, tmp_path):
    code, out, _ = cli("convert", "--example", "sharegpt-sample", "--out", tmp_path / "o")
    assert code == 0 and "119" in out
    code, out, _ = cli("info", tmp_path / "o")
    assert code == 0 and "119" in out and "sharegpt" in out


def test_truncated_line_3_exit_2_names_line_and_writes_nothing(cli, tmp_path):
    f = tmp_path / "bad.jsonl"
    good = json.dumps({"instruction": "q", "input": "", "output": "a"})
    f.write_text("\n".join([good, good, good[:20], good]) + "\n")
    code, out, err = cli("convert", f, "--out", tmp_path / "o")
    assert code == 2
    (line,) = [l for l in err.splitlines() if l.startswith("error:")]  # one whole line, however long the path
    assert line.startswith(f"error: {f}, line 3: malformed JSON")
    assert not (tmp_path / "o").exists()
    assert list(tmp_path.iterdir()) == [f]


def test_mapping_option(cli, tmp_path):
    f = tmp_path / "dolly.jsonl"
    f.write_text(json.dumps({"instruction": "i", "context": "c", "response": "r", "category": "qa"}) + "\n")
    code, _, err = cli("convert", f, "--map", "user=instruction", "--map", "context=context", "--map", "assistant=response", "--out", tmp_path / "o")
    assert code == 0, err
    assert datasets.load_from_disk(str(tmp_path / "o"))[0]["meta"]["category"] == "qa"
    code, _, err = cli("convert", f, "--map", "usr=instruction", "--map", "assistant=response", "--out", tmp_path / "o2")
    assert code == 2 and "usr" in err


def test_validate_file_and_dir(cli, alpaca_path, tmp_path):
    assert cli("validate", alpaca_path)[0] == 0
    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps({"messages": [{"role": "user", "content": "q"}]}) + "\n{oops\n")
    code, _, err = cli("validate", f)
    assert code == 2 and "line 1" in err and "line 2" in err
    cli("convert", alpaca_path, "--out", tmp_path / "o")
    assert cli("validate", tmp_path / "o")[0] == 0


def test_usage_errors_exit_2(cli, tmp_path):
    assert cli("convert", tmp_path / "missing.json", "--out", tmp_path / "o")[0] == 2
    assert cli("export", tmp_path, "--to", "yaml", "--out", tmp_path / "x.jsonl")[0] == 2
    assert cli("convert", "--shard-size", "lots", "--example", "sharegpt-sample", "--out", tmp_path / "o")[0] == 2
    assert cli("convert", "--bogus-flag")[0] == 2


def test_help_has_an_example_for_every_command(cli):
    from safetune_data.cli.main import app

    import typer.main

    group = typer.main.get_command(app)
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            subs = list(cmd.commands.values())
        else:
            subs = [cmd]
        for sub in subs:
            assert "safetune" in (sub.help or ""), f"`safetune {name} {sub.name}` --help has no example"


def test_info_on_a_run_directory_lists_variants(cli, tmp_path):
    from pathlib import Path

    recipe = Path(__file__).resolve().parents[2] / "transforms" / "roleplay_add.yaml"
    assert cli("run", recipe, "--out", tmp_path / "r")[0] == 0
    code, out, _ = cli("info", tmp_path / "r")
    assert code == 0 and "roleplay_add" in out and "119" in out


def test_convert_overwrite_keeps_a_folder_safetune_did_not_write(cli, alpaca_path, tmp_path, monkeypatch):
    mywork = tmp_path / "mywork"
    mywork.mkdir()
    (mywork / "important.txt").write_text("keep me")
    code, _, _ = cli("convert", alpaca_path, "--out", mywork, "--overwrite")
    assert code == 2
    assert (mywork / "important.txt").read_text() == "keep me" and len(list(mywork.iterdir())) == 1
    monkeypatch.chdir(mywork)
    code, _, _ = cli("convert", alpaca_path, "--out", ".", "--overwrite")
    assert code == 2  # the current directory: refused, not a crash (exit 1)
    assert (mywork / "important.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mywork"]


def test_convert_overwrite_replaces_its_own_output(cli, alpaca_path, tmp_path):
    assert cli("convert", "--example", "sharegpt-sample", "--out", tmp_path / "o")[0] == 0
    assert cli("convert", alpaca_path, "--out", tmp_path / "o")[0] == 2
    assert cli("convert", alpaca_path, "--out", tmp_path / "o", "--overwrite")[0] == 0
    assert datasets.load_from_disk(str(tmp_path / "o")).num_rows == 999
    assert [p.name for p in tmp_path.iterdir()] == ["o"]


def test_export_refuses_an_existing_file_unless_overwrite(cli, tmp_path):
    assert cli("convert", "--example", "sharegpt-sample", "--out", tmp_path / "o")[0] == 0
    dest = tmp_path / "e.jsonl"
    dest.write_text("mine\n")
    assert cli("export", tmp_path / "o", "--to", "sharegpt", "--out", dest)[0] == 2
    assert dest.read_text() == "mine\n"
    assert cli("export", tmp_path / "o", "--to", "sharegpt", "--out", dest, "--overwrite")[0] == 0
    assert len(dest.read_text().splitlines()) == 119
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.jsonl", "o"]
