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
