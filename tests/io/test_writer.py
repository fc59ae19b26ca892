"""Shards: datasets layout, shard sizes, determinism."""
import hashlib
import json

import datasets
import pytest

from safetune_data.errors import ConfigError
from safetune_data.io.api import convert
from safetune_data.io.writer import parse_shard_size


def test_shard_size_in_rows_gives_named_shards(alpaca_path, tmp_path):
    m = convert(str(alpaca_path), tmp_path / "out", shard_size="300")
    names = sorted(p.name for p in (tmp_path / "out").glob("data-*.arrow"))
    assert names == [f"data-{k:05d}-of-00004.arrow" for k in range(4)]
    assert [s["rows"] for s in m["output"]["shards"]] == [300, 300, 300, 99]
    assert datasets.load_from_disk(str(tmp_path / "out")).num_rows == 999
    state = json.loads((tmp_path / "out" / "state.json").read_text())
    assert [d["filename"] for d in state["_data_files"]] == names


def test_shard_size_in_bytes(alpaca_path, tmp_path):
    m = convert(str(alpaca_path), tmp_path / "out", shard_size="200KB")
    assert len(m["output"]["shards"]) >= 4
    assert sum(s["rows"] for s in m["output"]["shards"]) == 999


def test_same_input_gives_identical_shards(alpaca_path, tmp_path):
    a = convert(str(alpaca_path), tmp_path / "a", shard_size="400")
    b = convert(str(alpaca_path), tmp_path / "b", shard_size="400")
    assert [s["sha256"] for s in a["output"]["shards"]] == [s["sha256"] for s in b["output"]["shards"]]
    for s in a["output"]["shards"]:
        assert hashlib.sha256((tmp_path / "a" / s["file"]).read_bytes()).hexdigest() == s["sha256"]


@pytest.mark.parametrize("bad", ["0", "ten", "5XB", "-3"])
def test_invalid_shard_size(bad):
    with pytest.raises(ConfigError):
        parse_shard_size(bad)


def test_manifest_validates_and_names_versions(alpaca_path, tmp_path):
    import jsonschema

    from safetune_data.schemas import load_schema

    m = convert(str(alpaca_path), tmp_path / "out")
    jsonschema.validate(m, load_schema("manifest"))
    assert "datasets" in m["versions"] and m["command"]


def test_features_match_what_datasets_derives():
    import pyarrow as pa

    from safetune_data.io.writer import features_dict
    from safetune_data.records import record_schema

    schema = record_schema(["category", "tools"]).append(pa.field("reward", pa.float32())).append(pa.field("ok", pa.bool_()))
    assert features_dict(schema) == datasets.Features.from_arrow_schema(schema).to_dict()


def test_shard_bytes_do_not_depend_on_how_tables_are_batched(alpaca_path, tmp_path):
    import pyarrow as pa

    import safetune_data as st
    from safetune_data.io.writer import ShardWriter

    table = st.read(str(alpaca_path)).data.table.combine_chunks()
    hashes = []
    for size in (100, 256, 999):
        w = ShardWriter(tmp_path / f"w{size}", table.schema, 400)
        for start in range(0, table.num_rows, size):
            w.write_table(pa.Table.from_batches(table.slice(start, size).to_batches()))
        hashes.append([s["sha256"] for s in w.close()])
    assert hashes[0] == hashes[1] == hashes[2]


# --- --overwrite replaces only what safetune wrote ---------------------------------------------

def test_overwrite_refuses_a_folder_safetune_did_not_write_and_names_its_files(alpaca_path, tmp_path):
    mywork = tmp_path / "mywork"
    mywork.mkdir()
    for k in range(7):
        (mywork / f"note{k}.txt").write_text("keep")
    with pytest.raises(ConfigError) as err:
        convert(str(alpaca_path), mywork, overwrite=True)
    assert err.value.file == str(mywork)
    assert "note0.txt" in err.value.message and "2 more" in err.value.message  # first five + count
    assert sorted(p.name for p in mywork.iterdir()) == [f"note{k}.txt" for k in range(7)]
    assert [p.name for p in tmp_path.iterdir()] == ["mywork"]  # no temporary left beside it


def test_overwrite_replaces_an_empty_folder_or_a_safetune_output(alpaca_path, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    convert(str(alpaca_path), empty, overwrite=True)
    assert (empty / "manifest.json").is_file()
    convert(str(alpaca_path), empty, overwrite=True)  # now a safetune output: replaced again
    assert json.loads((empty / "manifest.json").read_text())["output"]["rows"] == 999
    with pytest.raises(ConfigError):  # still needs --overwrite
        convert(str(alpaca_path), empty)


@pytest.mark.parametrize("marker", [
    ("index.json", {"recipe_file": "r.yaml", "variants": []}),          # safetune run
    ("eval.json", {"schema_version": 1, "pairs": {}, "models": {}}),    # safetune rm eval
])
def test_run_and_rm_eval_folders_count_as_safetune_outputs(tmp_path, marker):
    from safetune_data.io.writer import OutputDir

    d = tmp_path / "o"
    d.mkdir()
    (d / marker[0]).write_text(json.dumps(marker[1]))
    (d / "extra.png").write_text("x")
    with OutputDir(d, overwrite=True) as od:
        (od.path / "new").write_text("y")
        od.commit()
    assert [p.name for p in d.iterdir()] == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["o"]


def test_a_manifest_without_safetune_version_is_not_ours(tmp_path):
    from safetune_data.io.writer import OutputDir

    d = tmp_path / "o"
    d.mkdir()
    (d / "manifest.json").write_text('{"name": "someone else"}')
    with pytest.raises(ConfigError):
        OutputDir(d, overwrite=True)
    assert (d / "manifest.json").exists()


def test_current_directory_its_parents_and_home_are_always_refused(tmp_path, monkeypatch):
    from safetune_data.io.writer import OutputDir

    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    for target in (".", inner, tmp_path / "a", tmp_path, tmp_path / "home", "/"):
        with pytest.raises(ConfigError) as err:
            OutputDir(target, overwrite=True)
        assert "refusing" in err.value.message
    assert inner.is_dir() and (tmp_path / "home").is_dir()


def test_error_or_missing_commit_leaves_no_temporary(tmp_path):
    from safetune_data.io.writer import OutputDir

    with pytest.raises(KeyboardInterrupt):
        with OutputDir(tmp_path / "o") as od:
            (od.path / "x").write_text("half")
            raise KeyboardInterrupt
    with OutputDir(tmp_path / "o"):
        pass  # left without commit()
    assert list(tmp_path.iterdir()) == []


def test_killed_writers_temporaries_are_swept_by_the_next_output(tmp_path, caplog):
    import logging
    import subprocess
    import sys

    from safetune_data.io.writer import OutputDir

    p = subprocess.Popen([sys.executable, "-c", ""])
    p.wait()
    (tmp_path / f".o.tmp-{p.pid}" / "v").mkdir(parents=True)
    (tmp_path / f".o.old-{p.pid}").mkdir()
    with caplog.at_level(logging.WARNING, logger="safetune_data"):
        with OutputDir(tmp_path / "o") as od:
            od.commit()
    assert [q.name for q in tmp_path.iterdir()] == ["o"]
    assert any("stale" in r.getMessage() for r in caplog.records)
