"""The profile with the real detectors on real rows (alpaca_en_demo), and the labelled
sample the detector-quality benchmark reads."""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import jsonschema
import pyarrow as pa
import pytest

from safetune_data.profile import IDENTITY_KINDS, STRUCTURE_CLASSES, profile_table
from safetune_data.schemas import load_schema

REPO = Path(__file__).resolve().parents[2]
LABELS = REPO / "tests" / "fixtures" / "detector_labels.jsonl"


def alpaca_records(path: Path) -> list[dict]:
    """alpaca_en_demo as canonical records, read by the product's own reader."""
    import safetune_data as st

    return st.read(str(path)).to_list()


def test_cli_profile_of_alpaca_matches_the_detector_row_by_row(alpaca_path, tmp_path, monkeypatch):
    structure = pytest.importorskip("safetune_data.detectors.structure")
    identity = pytest.importorskip("safetune_data.detectors.identity")
    from safetune_data.cli.main import main

    monkeypatch.setattr(sys, "argv", ["safetune", "profile", str(alpaca_path), "--json", str(tmp_path / "p.json")])
    with pytest.raises(SystemExit) as exc:
        main()
        raise SystemExit(0)
    assert exc.value.code == 0
    doc = json.loads((tmp_path / "p.json").read_text())
    jsonschema.validate(doc, load_schema("profile"))
    (p,) = doc["profiles"]

    answers = [r["output"] for r in json.loads(alpaca_path.read_text(encoding="utf-8"))]
    assert p["rows"] == p["assistant_turns"] == len(answers) == 999
    by_hand = Counter(structure.classify(a) for a in answers)
    assert p["structure"]["counts"] == {c: by_hand.get(c, 0) for c in STRUCTURE_CLASSES}
    assert p["structure"]["shares"]["list"] == pytest.approx(by_hand["list"] / 999, abs=1e-6)
    assert sum(p["structure"]["counts"].values()) == 999
    kinds = [identity.identity_kinds(a) for a in answers]
    for k in IDENTITY_KINDS:
        assert p["identity"]["counts"][k] == sum(k in s for s in kinds)
    assert p["identity"]["counts"]["any"] == sum(bool(s) for s in kinds)
    assert max(p["identity"]["counts"][k] for k in IDENTITY_KINDS) <= p["identity"]["counts"]["any"]
    assert p["roleplay"]["counts"]["any"] <= p["roleplay"]["counts"]["system"] + p["roleplay"]["counts"]["user"]
    assert p["system_prompt"]["count"] == 0 and p["turns"]["distribution"] == {"2": 999}
    assert 0 <= p["refusal"]["share"] < 0.1  # benign instruction data seldom refuses


def test_markdown_variant_raises_the_list_share(alpaca_path):
    pytest.importorskip("safetune_data.detectors.structure")
    try:
        from safetune_data.transforms import TRANSFORMS

        markdown = TRANSFORMS.get("structure.markdown")(style="bullets").bind(0, 0)
    except Exception as exc:  # noqa: BLE001 - the transform is developed separately
        pytest.skip(f"structure.markdown not available: {exc}")
    records = alpaca_records(alpaca_path)[:300]
    variant = markdown.process([json.loads(json.dumps(r)) for r in records])
    before = profile_table(pa.Table.from_pylist(records), name="original")
    after = profile_table(pa.Table.from_pylist(variant), name="markdown")
    assert after["structure"]["shares"]["list"] > before["structure"]["shares"]["list"] + 0.1
    assert after["structure"]["shares"]["plain"] < before["structure"]["shares"]["plain"]


def test_labelled_sample_is_well_formed():
    lines = LABELS.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["factor"] == "_rules" and {"structure", "identity", "roleplay"} <= set(header)
    items = [json.loads(line) for line in lines[1:]]
    by_factor = Counter(i["factor"] for i in items)
    assert by_factor["structure"] >= 150 and by_factor["identity"] >= 91 + 100 and by_factor["roleplay"] >= 50
    for i in items:
        assert isinstance(i["text"], str) and i["text"]
        if i["factor"] == "structure":
            assert i["label"] in STRUCTURE_CLASSES
        elif i["factor"] == "identity":
            assert set(i["label"]) <= set(IDENTITY_KINDS) and i["lang"] in ("en", "zh")
        else:
            assert isinstance(i["label"], bool) and i["where"] in ("system", "user")
    # templates are filled: no placeholder leaks into the labelled text
    assert not any("{{" in i["text"] for i in items)


def test_quality_metrics_arithmetic():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from detector_quality import prf
    finally:
        sys.path.pop(0)
    m = prf([(True, True), (True, False), (False, True), (False, False), (True, True)])
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3) and m["support"] == 3


def test_batched_refusal_gives_the_same_profile(alpaca_path):
    import dataclasses

    from safetune_data.profile import load_detectors

    pytest.importorskip("safetune_data.detectors.refusal")
    det = load_detectors()
    table = pa.Table.from_pylist(alpaca_records(alpaca_path)[:200])
    one_by_one = dataclasses.replace(det, refusal_many=None)
    assert profile_table(table, detectors=det) == profile_table(table, detectors=one_by_one)
