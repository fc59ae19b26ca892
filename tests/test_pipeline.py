"""Pipeline: Python API, fused steps, dataset steps, stats, determinism across batching/workers."""
import datasets
import pytest

import safetune_data as st
from safetune_data import Pipeline
from safetune_data import transforms as T


@pytest.fixture(scope="module")
def alpaca_ds(alpaca_path):
    return st.read(str(alpaca_path))


def test_run_returns_a_dataset_with_logged_transforms(alpaca_ds):
    pipe = Pipeline([T.filter.length(min_chars=20), T.identity.inject(name="Aria", developer="Acme")], seed=0)
    out = pipe.run(alpaca_ds)
    assert isinstance(out, datasets.Dataset)
    s0, s1 = pipe.stats_dicts()
    assert s0["seen"] == 999 and s0["out"] == out.num_rows == 999 - sum(s0["dropped"].values())
    assert s1["changed"] + sum(s1["unchanged"].values()) == s1["seen"] == out.num_rows
    changed = [r for r in out.to_list() if r["meta"]["transforms"]]
    assert len(changed) == s1["changed"] and changed[0]["meta"]["transforms"][0]["op"] == "identity.inject"


def test_results_do_not_depend_on_batch_size_or_workers(alpaca_ds):
    def go(**kw):
        steps = [T.structure.markdown(), T.identity.inject(rate=0.5), T.roleplay.add(assign="random", rate=0.5)]
        p = Pipeline(steps, seed=3, trace=3, **kw)
        return p.run(alpaca_ds).to_list(), p.stats_dicts(), p.trace.entries()

    a = go(batch_size=1000)
    b = go(batch_size=97, num_proc=2)
    assert a[0] == b[0]
    assert [{k: v for k, v in s.items() if k != "seconds"} for s in a[1]] == [{k: v for k, v in s.items() if k != "seconds"} for s in b[1]]
    assert a[2] == b[2] and len(a[2]) == 9


def test_sample_is_seeded_and_keeps_order(alpaca_ds):
    a = Pipeline([T.sample(count=100)], seed=1).run(alpaca_ds)["id"]
    b = Pipeline([T.sample(count=100)], seed=1).run(alpaca_ds.shuffle(seed=5).flatten_indices())["id"]
    assert len(a) == 100 and sorted(a) == sorted(b) and a == sorted(a)
    assert a != Pipeline([T.sample(count=100)], seed=2).run(alpaca_ds)["id"]


def test_dataset_steps_draw_no_bar_of_their_own_and_leave_datasets_bars_as_they_were(alpaca_ds, capfd):
    from datasets.utils import are_progress_bars_disabled

    capfd.readouterr()
    assert not are_progress_bars_disabled()
    Pipeline([T.sample(count=100)], seed=1).run(alpaca_ds)  # select + flatten_indices inside
    assert "Flattening the indices" not in capfd.readouterr().err
    assert not are_progress_bars_disabled()


def test_dedup_exact_and_minhash(alpaca_ds):
    doubled = datasets.concatenate_datasets([alpaca_ds.select(range(50)), alpaca_ds.select(range(50)).map(lambda r: {"id": r["id"] + "-copy"})])
    pipe = Pipeline([T.dedup()], seed=0)
    out = pipe.run(doubled)
    assert out.num_rows == 50 and pipe.stats_dicts()[0]["dropped"] == {"exact duplicate": 50}

    def tweak(r):
        msgs = [dict(m) for m in r["messages"]]
        msgs[-1]["content"] = msgs[-1]["content"] + " Thanks."
        return {"messages": msgs}

    near = datasets.concatenate_datasets([alpaca_ds.select(range(50)), doubled.select(range(50, 100)).map(tweak)])
    assert Pipeline([T.dedup()], seed=0).run(near).num_rows == 100
    pipe = Pipeline([T.dedup(method="minhash", threshold=0.8)], seed=0)
    assert pipe.run(near).num_rows < 60


def test_mix_add_adds_counted_rows_with_unique_ids(alpaca_ds, shared_data):
    pipe = Pipeline([T.mix.add(path=str(shared_data / "identity" / "identity_shift_aoa.jsonl"), count=4)], seed=0)
    out = pipe.run(alpaca_ds.select(range(20)))
    assert out.num_rows == 24 and len(set(out["id"])) == 24
    assert pipe.stats_dicts()[0]["added"] == 4
    assert all(i.startswith("mix-") for i in out["id"][20:])


def test_transform_works_directly_with_datasets_map(alpaca_ds):
    t = T.roleplay.add(where="system").bind(seed=0, step=0)
    out = alpaca_ds.select(range(10)).map(t, batched=True)
    assert all(r["messages"][0]["role"] == "system" for r in out)


def test_write_records_the_pipeline_steps_and_seed(alpaca_ds, tmp_path):
    pipe = Pipeline([T.filter.length(min_chars=20), T.structure.markdown(style="bullets"),
                     T.identity.inject(name="Aria")], seed=7)
    out = pipe.run(alpaca_ds.select(range(200)))
    manifest = st.write(out, tmp_path / "o")
    assert manifest["seed"] == 7
    assert manifest["steps"] == pipe.stats_dicts()
    assert [s["op"] for s in manifest["steps"]] == ["filter.length", "structure.markdown", "identity.inject"]
    assert "`structure.markdown`" in (tmp_path / "o" / "README.md").read_text()
    # derived datasets keep the provenance (select, shuffle, map, train_test_split)
    part = out.shuffle(seed=0).select(range(50)).map(lambda r: r).train_test_split(0.5, seed=0)["test"]
    assert st.write(part, tmp_path / "p")["steps"] == manifest["steps"]
    # a dataset no Pipeline made has none
    assert st.write(alpaca_ds.select(range(5)), tmp_path / "q")["steps"] == []


def test_each_run_reports_its_own_stats(alpaca_ds):
    pipe = Pipeline([T.sample(count=10), T.identity.inject(name="Aria")], seed=0)
    first = pipe.run(alpaca_ds.select(range(100)))
    one = [{k: v for k, v in s.items() if k != "seconds"} for s in pipe.stats_dicts()]
    second = pipe.run(alpaca_ds.select(range(100)))
    assert [{k: v for k, v in s.items() if k != "seconds"} for s in pipe.stats_dicts()] == one
    assert one[0]["seen"] == 100 and one[1]["seen"] == 10
    assert first.to_list() == second.to_list()


def test_run_on_a_messages_only_dataset_adds_ids(alpaca_ds):
    from safetune_data.errors import InputError
    from safetune_data.records import content_id

    plain = datasets.Dataset.from_dict({"messages": alpaca_ds.select(range(50))["messages"]})
    pipe = Pipeline([T.identity.inject(name="Aria"), T.sample(count=20)], seed=0, trace=2)
    out = pipe.run(plain)
    assert out.column_names == ["id", "messages"] and out.num_rows == 20
    before = {content_id(m): m for m in plain["messages"]}
    assert all(rid in before for rid in out["id"])
    assert pipe.stats_dicts()[0]["changed"] > 0 and pipe.trace.entries()
    with pytest.raises(InputError) as exc:
        Pipeline([T.identity.inject(name="Aria")]).run(datasets.Dataset.from_dict({"text": ["hi"]}))
    assert exc.value.field == "messages"


def test_run_output_outlives_the_pipeline_object(alpaca_ds):
    import gc

    out = Pipeline([T.structure.markdown(style="bullets")], seed=0).run(alpaca_ds.select(range(40)))
    gc.collect()
    # map workers reopen the output file by name
    again = out.map(T.identity.inject(name="Aria"), batched=True, num_proc=2)
    assert again.num_rows == 40
