"""The findings table: one source of what each factor change is reported to do, shared by the
card and the README."""
from pathlib import Path

from safetune_data import findings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_carries_the_findings_table_verbatim():
    assert findings.markdown_table() in README.read_text(encoding="utf-8")


def test_inverse_changes_reverse_a_finding():
    # Li et al. measured markdown as safer: stripping markdown (plain) is then riskier per Li et al.
    plain = {(f.source, effect) for f, effect in findings.evidence("structure", "plain")}
    assert (findings.LI_2025, "riskier") in plain and (findings.HE_2024, "safer") in plain


def test_verdicts_follow_agreement():
    # published work finds role-play riskier, the mini study measured more refusal: disputed either way
    assert findings.expected_effect("roleplay", "add") == "disputed"
    assert findings.expected_effect("roleplay", "strip") == "disputed"
    assert findings.expected_effect("structure", "markdown") == "disputed"
    assert findings.expected_effect("identity", "inject") == "disputed"
    assert findings.expected_effect("identity", "shift") == "riskier"


def test_level_words_map_to_changes():
    assert findings.canonical_change("structure", "bullets") == "markdown"
    assert findings.canonical_change("identity", "inject") == "inject"
    assert findings.canonical_change("roleplay", "none") is None
    assert findings.canonical_change("structure", "zigzag") is None


def test_every_finding_cites_a_known_reference():
    assert {f.source for f in findings.FINDINGS} <= set(findings.REFERENCES)
