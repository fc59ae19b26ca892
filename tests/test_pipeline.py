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
