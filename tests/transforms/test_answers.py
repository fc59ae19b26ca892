"""answer.template (answers drawn from templates) and sample's offset/stream slices."""
from __future__ import annotations

import datasets
import pytest

from safetune_data import transforms as T
from safetune_data.errors import ParamError
from safetune_data.transforms import TRANSFORMS


def _rec(i: int) -> dict:
    return {"id": f"h-{i}", "messages": [{"role": "user", "content": f"harmful {i}"},
                                         {"role": "assistant", "content": "placeholder"}], "meta": {}}


def test_answer_template_replaces_the_answer_seeded_per_record(tmp_path):
    templates = [f"I can't help with that ({k})." for k in range(5)]
    step = T.TRANSFORMS.get("answer.template")(templates=templates).bind(seed=3, step=0)
    out = step.process([_rec(i) for i in range(50)])
    answers = [r["messages"][-1]["content"] for r in out]
    assert set(answers) <= set(templates) and len(set(answers)) == 5
    assert all(r["messages"][0]["content"] == f"harmful {i}" for i, r in enumerate(out))
    again = T.TRANSFORMS.get("answer.template")(templates=templates).bind(seed=3, step=0)
    reversed_out = again.process([_rec(i) for i in reversed(range(50))])
    assert {r["id"]: r["messages"][-1]["content"] for r in reversed_out} == {r["id"]: a for r, a in zip(out, answers)}
    assert sum(step.stats.fired.values()) == 50 and step.stats.changed == 50
    assert out[0]["meta"]["transforms"][-1]["op"] == "answer.template"


def test_answer_template_reads_a_yaml_file_and_rejects_empty_lists(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("templates:\n  - No.\n  - I won't.\n")
    step = TRANSFORMS.get("answer.template")(templates=str(f))
    assert step.templates == ["No.", "I won't."]
    with pytest.raises(ParamError):
        TRANSFORMS.get("answer.template")(templates=[" "])


def _ids(n: int) -> datasets.Dataset:
    return datasets.Dataset.from_dict({"id": [f"r-{i:03d}" for i in range(n)]})


def test_sample_stream_and_offset_carve_disjoint_slices_independent_of_step_index():
    ds = _ids(100)
    a = T.sample(count=30, stream="split").bind(seed=0, step=0)(ds)["id"]
    b = T.sample(count=30, offset=30, stream="split").bind(seed=0, step=5)(ds)["id"]
    c = T.sample(count=60, stream="split").bind(seed=0, step=2)(ds)["id"]
    assert not set(a) & set(b) and set(a) | set(b) == set(c)
    assert T.sample(count=30).bind(seed=0, step=0)(ds)["id"] != T.sample(count=30).bind(seed=0, step=1)(ds)["id"]
    tail = T.sample(count=30, offset=90, stream="split").bind(seed=0, step=0)
    assert len(tail(ds)) == 10 and tail.stats.dropped["not sampled"] == 90
