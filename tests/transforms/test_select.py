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
