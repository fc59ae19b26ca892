"""Transforms as `datasets.Dataset.map` functions: batched or not, on records or on a plain
`messages` dataset (TRL style), with step numbers that continue across chained maps."""
import hashlib
import json

import datasets
import pytest

import safetune_data as st
from safetune_data import Pipeline
from safetune_data import transforms as T
from safetune_data.errors import ConfigError, InputError
from safetune_data.records import content_id


@pytest.fixture(scope="module", autouse=True)
def _quiet():
    was = datasets.utils.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    yield
    if not was:
        datasets.enable_progress_bars()


@pytest.fixture(scope="module")
def records(alpaca_path):
    return st.read(str(alpaca_path)).select(range(60))


@pytest.fixture(scope="module")
def plain(records):
    """Only a `messages` column, as TRL's conversational datasets have."""
    return datasets.Dataset.from_dict({"messages": records["messages"]})


def _steps(ds):
    return [[(e["step"], e["op"]) for e in r["meta"]["transforms"]] for r in ds]


def test_map_works_unbatched_and_batched_alike(records):
    one = records.map(T.structure.markdown(style="bullets"))
    batched = records.map(T.structure.markdown(style="bullets"), batched=True, batch_size=7)
    assert one.column_names == batched.column_names == ["id", "messages", "meta"]
    assert one.to_list() == batched.to_list()
    changed = [s for s in _steps(one) if s]
    assert changed and all(s == [(0, "structure.markdown")] for s in changed)
    assert one["id"] == records["id"]


def test_map_on_a_messages_only_dataset(plain):
    batched = plain.map(T.identity.inject(name="Aria"), batched=True, batch_size=16)
    one = plain.map(T.identity.inject(name="Aria"))
    assert batched.column_names == one.column_names == ["messages"]  # no id or meta column added
    assert batched.to_list() == one.to_list()
    assert any("Aria" in m["content"] for r in batched for m in r["messages"] if m["role"] == "assistant")
    # the same as a Pipeline of that one step (seed 0, step 0): same derived ids, same choices
    assert Pipeline([T.identity.inject(name="Aria")]).run(plain)["messages"] == batched["messages"]


def test_derived_id_is_the_documented_hash_of_the_messages(plain):
    msgs = plain[0]["messages"]
    pairs = [[m["role"], m["content"]] for m in msgs]
    text = json.dumps(pairs, ensure_ascii=False, separators=(",", ":"))
    assert content_id(msgs) == "msg-" + hashlib.sha256(text.encode()).hexdigest()[:16]
    assert content_id([dict(m, extra=None) for m in msgs]) == content_id(msgs)


def test_derived_ids_do_not_depend_on_batches_or_order(plain):
    def run(ds, **kw):
        out = ds.map(T.roleplay.add(where="system", rate=0.5), batched=True, **kw)
        return {json.dumps(a): b for a, b in zip(ds["messages"], out["messages"])}

    whole = run(plain, batch_size=1000)
    assert whole == run(plain, batch_size=3)
    assert whole == run(plain.select(range(plain.num_rows - 1, -1, -1)), batch_size=11)
    chosen = sum(b[0]["role"] == "system" for b in whole.values())
    assert 10 < chosen < 50  # rate 0.5 drew per row, from the derived id


def test_chained_maps_number_their_steps(records):
    out = records.map(T.structure.markdown(style="bullets"), batched=True).map(T.identity.inject(name="Aria"))
    steps = _steps(out)
    assert [(0, "structure.markdown"), (1, "identity.inject")] in steps
    assert all([s for s, _ in row] == list(range(len(row))) for row in steps)
    # after a Pipeline too: the map's entry comes after the pipeline's last logged step
    piped = Pipeline([T.structure.markdown(style="bullets"), T.identity.inject(name="Aria")]).run(records)
    again = piped.map(T.roleplay.add(where="system", with_identity="keep"), batched=True)
    both = [row for row in _steps(again) if len(row) == 3]
    assert both and all(row[-1] == (2, "roleplay.add") for row in both)


def test_a_bound_transform_logs_its_own_step(records):
    out = records.map(T.identity.inject(name="Aria").bind(seed=0, step=5), batched=True)
    assert {row[-1][0] for row in _steps(out) if row} == {5}


@pytest.mark.parametrize("batched", [False, True])
def test_no_messages_column_is_a_clear_error(batched):
    ds = datasets.Dataset.from_dict({"text": ["hello"], "id": ["a"]})
    with pytest.raises(InputError) as exc:
        ds.map(T.identity.inject(name="Aria"), batched=batched)
    assert exc.value.field == "messages"
    assert "'messages' column" in str(exc.value) and "text" in str(exc.value)


def test_dropping_rows_needs_batched(records):
    drop_long = T.filter.length(role="assistant", max_chars=300)
    kept = records.map(drop_long, batched=True)
    assert 0 < kept.num_rows < records.num_rows
    assert drop_long.stats.dropped["assistant longer than 300 chars"] == records.num_rows - kept.num_rows
    with pytest.raises(ConfigError) as exc:
        records.map(T.filter.length(role="assistant", max_chars=300))
    assert "batched=True" in str(exc.value)
