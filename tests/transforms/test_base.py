import pytest

from safetune_data.errors import ParamError
from safetune_data.transforms.base import Outcome, Transform, rng_for


class Upper(Transform):
    name = "test.upper"
    params_schema = {
        "type": "object",
        "properties": {"rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 1.0}},
        "additionalProperties": False,
    }

    def apply(self, record, rng):
        if not self.selected(record, self.params["rate"]):
            return Outcome.unchanged(record, "not selected")
        for m in record["messages"]:
            if m["role"] == "assistant":
                m["content"] = m["content"].upper()
        return Outcome.changed(record, "upper")


def _batch(n):
    return {
        "id": [f"x-{i}" for i in range(n)],
        "messages": [[{"role": "user", "content": "q"}, {"role": "assistant", "content": f"a{i}"}] for i in range(n)],
        "meta": [{"source": "x", "transforms": []} for _ in range(n)],
    }


def test_unknown_parameter_names_the_parameter():
    with pytest.raises(ParamError) as exc:
        Upper(rat=0.5)
    assert exc.value.field == "rat"
    assert "did you mean 'rate'" in str(exc.value)


def test_ill_typed_parameter_names_the_parameter():
    with pytest.raises(ParamError) as exc:
        Upper(rate="half")
    assert exc.value.field == "rate"


def test_rng_depends_only_on_seed_step_and_id():
    assert rng_for(1, 2, "a").random() == rng_for(1, 2, "a").random()
    assert rng_for(1, 2, "a").random() != rng_for(1, 3, "a").random()


def test_rate_selection_is_independent_of_batching():
    t = Upper(rate=0.5).bind(seed=3, step=0)
    whole = t(_batch(40))
    t2 = Upper(rate=0.5).bind(seed=3, step=0)
    part = [t2(_batch(40) | {k: v[i : i + 7] for k, v in _batch(40).items()}) for i in range(0, 40, 7)]
    pieces = [c for p in part for c in p["messages"]]
    assert whole["messages"] == pieces
    assert 5 < t.stats.changed < 35
    assert t.stats.changed + t.stats.unchanged["not selected"] == 40


def test_changed_rows_log_to_meta_transforms():
    out = Upper().bind(seed=0, step=4)(_batch(2))
    assert out["meta"][0]["transforms"] == [{"step": 4, "op": "test.upper", "detail": "upper"}]
