"""Length-sorted batches: one helper for generation, reward scoring and risk scoring."""
import pytest

from safetune_data.batching import length_sorted_batches
from safetune_data.errors import ConfigError
from safetune_data.harness import generate
from safetune_data.rm import score


def test_longest_first_ties_by_index_or_input_order():
    lengths = [3, 9, 3, 1, 9]
    assert length_sorted_batches(lengths, 2) == [[1, 4], [0, 2], [3]]
    assert length_sorted_batches(lengths, 2, sort_by_length=False) == [[0, 1], [2, 3], [4]]
    assert length_sorted_batches([], 4) == []


def test_batch_size_below_one_is_a_config_error():
    with pytest.raises(ConfigError, match="batch size"):
        length_sorted_batches([1, 2], 0)


def test_generation_and_reward_scoring_share_it():
    assert generate.length_sorted_batches is score.plan_batches is length_sorted_batches
