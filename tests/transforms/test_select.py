import datasets
import pytest

from safetune_data import transforms as T
from safetune_data.errors import ConfigError, InputError
from safetune_data.transforms import TRANSFORMS


def _ds(rewards, ids=None):
    ids = ids or [f"r-{i}" for i in range(len(rewards))]
    return datasets.Dataset.from_dict({"id": ids, "reward": rewards})


def test_keeps_top_fraction_in_input_order_and_counts_drops():
    step = T.select.top_reward(fraction=0.5)
    out = step(_ds([0.1, 0.9, 0.5, 0.7]))
    assert out["id"] == ["r-1", "r-3"]
    assert step.stats.seen == 4
    assert step.stats.dropped["below top reward"] == 2


def test_count_and_custom_column():
    ds = datasets.Dataset.from_dict({"id": ["a", "b", "c"], "score": [3.0, 1.0, 2.0]})
    out = T.select.top_reward(count=2, column="score")(ds)
    assert out["id"] == ["a", "c"]


def test_registered_under_its_dotted_name():
    assert TRANSFORMS.get("select.top_reward") is T.select.top_reward


def test_tie_breaks_depend_on_seed_and_id_not_order():
    rewards = [1.0] * 10
    ids = [f"t-{i}" for i in range(10)]
    kept = T.select.top_reward(count=3).bind(seed=7, step=2)(_ds(rewards, ids))["id"]
    reversed_kept = T.select.top_reward(count=3).bind(seed=7, step=2)(_ds(rewards[::-1], ids[::-1]))["id"]
    assert sorted(kept) == sorted(reversed_kept)
    others = {tuple(T.select.top_reward(count=3).bind(seed=s, step=2)(_ds(rewards, ids))["id"]) for s in range(8)}
    assert len(others) > 1  # the seed moves which tied rows survive


def test_needs_exactly_one_of_fraction_or_count():
    with pytest.raises(ConfigError):
        T.select.top_reward()
    with pytest.raises(ConfigError):
        T.select.top_reward(fraction=0.5, count=2)


def test_missing_column_and_empty_values_are_input_errors():
    with pytest.raises(InputError, match="no 'reward' column"):
        T.select.top_reward(count=1)(datasets.Dataset.from_dict({"id": ["a"], "x": [1]}))
    with pytest.raises(InputError) as exc:
        T.select.top_reward(count=1)(_ds([1.0, None]))
    assert exc.value.row == 1


# --- select.risk -------------------------------------------------------------------------

def _risk(values, column="risk_representation"):
    return datasets.Dataset.from_dict({"id": [f"r-{i}" for i in range(len(values))], column: values})


def test_risk_keeps_the_lowest_by_default_and_says_how_many_went():
    step = T.select.risk(count=2)
    out = step(_risk([0.4, -0.2, 0.9, 0.1]))
    assert out["id"] == ["r-1", "r-3"]  # the two lowest, in input order
    assert step.stats.dropped["higher risk"] == 2


def test_risk_keep_highest_is_the_stress_test():
    step = T.select.risk(fraction=0.5, keep="highest", column="risk_probe")
    out = step(_risk([0.4, -0.2, 0.9, 0.1], column="risk_probe"))
    assert out["id"] == ["r-0", "r-2"]
    assert step.stats.dropped["lower risk"] == 2


def test_risk_threshold_drops_rows_above_it():
    step = T.select.risk(max_risk=0.3)
    out = step(_risk([0.4, -0.2, 0.3, 0.1]))
    assert out["id"] == ["r-1", "r-2", "r-3"]
    assert step.stats.dropped["risk above 0.3"] == 1


def test_risk_needs_one_size_and_no_threshold_with_highest():
    with pytest.raises(ConfigError, match="exactly one"):
        T.select.risk()
    with pytest.raises(ConfigError, match="exactly one"):
        T.select.risk(count=2, max_risk=0.1)
    with pytest.raises(ConfigError, match="keep: highest"):
        T.select.risk(max_risk=0.1, keep="highest")


def test_risk_without_its_column_points_at_safetune_risk():
    with pytest.raises(InputError) as exc:
        T.select.risk(count=1)(_risk([0.1], column="reward"))
    assert "safetune risk" in (exc.value.hint or "")


def test_a_scored_dataset_read_back_as_records_keeps_its_score_for_select(tmp_path):
    """`rm score` / `safetune risk` add a top-level column; a recipe reads the copy as records,
    which carries the column into meta, and the select steps find it there."""
    from safetune_data.io.api import read

    scored = tmp_path / "scored"
    datasets.Dataset.from_dict({
        "id": ["a", "b", "c"],
        "messages": [[{"role": "user", "content": q}, {"role": "assistant", "content": "ok"}] for q in "xyz"],
        "meta": [{"source": "s.json", "source_index": i, "format": "alpaca", "transforms": []} for i in range(3)],
        "risk_probe": [0.3, -0.1, 0.2],
    }).save_to_disk(str(scored))
    ds = read(str(scored), format="records")
    assert "risk_probe" not in ds.column_names
    assert T.select.risk(column="risk_probe", count=2)(ds)["id"] == ["b", "c"]
    assert T.select.top_reward(column="risk_probe", count=1)(ds)["id"] == ["a"]
