import pytest

from safetune_data.errors import ConfigError
from safetune_data.rm.audit import accuracy, sides
from safetune_data.rm.score import (ImplicitRewardModel, SequenceRewardModel, load_scorer, padding_of, plan_batches,
                                    score_pairs)


def test_plan_batches_sorts_longest_first_and_keeps_every_index():
    lengths = [3, 9, 1, 9, 5]
    batches = plan_batches(lengths, 2)
    assert batches == [[1, 3], [4, 0], [2]]
    assert plan_batches(lengths, 2, sort_by_length=False) == [[0, 1], [2, 3], [4]]


def test_padding_of_counts_pad_slots_per_batch():
    lengths = [3, 9, 1, 9, 5]
    # unsorted: [3,9] -> 18 slots, 6 pad; [1,9] -> 18, 8; [5] -> 5, 0
    assert padding_of(lengths, plan_batches(lengths, 2, sort_by_length=False)) == (41, 14)
    # sorted: [9,9] -> 18, 0; [5,3] -> 10, 2; [1] -> 1, 0
    assert padding_of(lengths, plan_batches(lengths, 2)) == (29, 2)


def test_scores_do_not_depend_on_batching(tiny_rm, hh_pairs):
    rm = SequenceRewardModel(str(tiny_rm))
    convs = [p.conversation("chosen") for p in hh_pairs[:12]]
    one, _ = rm.score(convs, batch_size=1)
    many, stats = rm.score(convs, batch_size=5, sort_by_length=True)
    unsorted, stats_unsorted = rm.score(convs, batch_size=5, sort_by_length=False)
    assert many == pytest.approx(one, abs=1e-4)
    assert unsorted == pytest.approx(one, abs=1e-4)
    assert stats.padding_share < stats_unsorted.padding_share
    assert stats.conversations == 12 and stats.batches == 3


def test_trained_rm_beats_untrained_on_its_train_pairs(tiny_rm, trained_rm, train_pairs):
    acc = {}
    for name, path in (("untrained", tiny_rm), ("trained", trained_rm)):
        c, r, _ = score_pairs(SequenceRewardModel(str(path)), train_pairs, batch_size=16)
        acc[name] = accuracy(sides(c, r))["accuracy"]
    assert acc["trained"] > acc["untrained"]
    assert acc["trained"] >= 0.8


def test_causal_lm_is_refused_as_reward_model(tiny_lm):
    with pytest.raises(ConfigError) as exc:
        SequenceRewardModel(str(tiny_lm))
    assert "not a reward model" in exc.value.message
    assert "--ref-model" in (exc.value.hint or "")


def test_two_label_classifier_is_refused(tmp_path, tiny_tokenizer):
    from transformers import LlamaConfig, LlamaForSequenceClassification

    cfg = LlamaConfig(vocab_size=len(tiny_tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, num_labels=2,
                      pad_token_id=tiny_tokenizer.pad_token_id)
    LlamaForSequenceClassification(cfg).save_pretrained(tmp_path)
    tiny_tokenizer.save_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="num_labels=2"):
        SequenceRewardModel(str(tmp_path))


def test_missing_model_path_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot load model"):
        SequenceRewardModel(str(tmp_path / "nope"))


def test_implicit_reward_is_zero_when_policy_is_reference(tiny_lm, tiny_lm_ref, hh_pairs):
    same = load_scorer(str(tiny_lm), str(tiny_lm), beta=0.5)
    assert isinstance(same, ImplicitRewardModel)
    scores, _ = same.score([p.conversation("chosen") for p in hh_pairs[:4]], batch_size=2)
    assert scores == pytest.approx([0.0] * 4, abs=1e-5)


def test_implicit_reward_matches_a_hand_computed_log_ratio(tiny_lm, tiny_lm_ref, hh_pairs):
    import torch
    from transformers import AutoModelForCausalLM

    scorer = ImplicitRewardModel(str(tiny_lm), str(tiny_lm_ref), beta=0.5)
    conv = hh_pairs[0].conversation("rejected")
    got, _ = scorer.score([conv, hh_pairs[1].conversation("chosen")], batch_size=2)
    ids, plen = scorer.encode([conv])[0]
    x = torch.tensor([ids])
    total = 0.0
    for path, sign in ((tiny_lm, 1.0), (tiny_lm_ref, -1.0)):
        logits = AutoModelForCausalLM.from_pretrained(path)(x).logits[0].log_softmax(-1)
        total += sign * sum(logits[t - 1, ids[t]].item() for t in range(plen, len(ids)))
    assert got[0] == pytest.approx(0.5 * total, rel=1e-4, abs=1e-4)
