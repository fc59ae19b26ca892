import json

import pytest

from safetune_data.errors import InputError
from safetune_data.harness.benchmarks import load_benchmark
from safetune_data.risk.anchors import load_anchors, load_probe


def test_shipped_sets_come_from_advbench_training_half_only(shared_data):
    adv = shared_data / "harmful" / "advbench_harmful_behaviors.csv"
    train = {r["prompt"] for r in load_benchmark({"name": "advbench", "path": str(adv), "half": "train"})}
    evaluated = {r["prompt"] for r in load_benchmark({"name": "advbench", "path": str(adv), "half": "eval"})}
    anchors, probe = load_anchors(), load_probe()
    assert len(anchors) >= 30 and len(probe) >= 30
    for a in anchors + probe:
        assert a.prompt in train and a.prompt not in evaluated
    assert not {a.prompt for a in anchors} & {p.prompt for p in probe}  # the probe never sees an anchor


def test_shipped_anchors_have_both_answers_and_the_refusals_refuse():
    from safetune_data.detectors.refusal import is_refusal

    anchors = load_anchors()
    assert all(a.compliance and a.refusal for a in anchors)
    assert all(is_refusal(a.refusal, a.prompt) for a in anchors)
    assert not any(is_refusal(a.compliance, a.prompt) for a in anchors)


def test_user_anchor_file_with_a_missing_field_names_line_and_field(tmp_path):
    f = tmp_path / "anchors.jsonl"
    rows = [{"prompt": "p1", "compliance": "Sure.", "refusal": "No."}, {"prompt": "p2", "compliance": "Sure."}]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(InputError) as exc:
        load_anchors(f)
    assert exc.value.line == 2 and exc.value.field == "refusal"
    assert [a.prompt for a in load_probe(f)] == ["p1", "p2"]  # the probe needs prompts only
