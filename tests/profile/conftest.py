"""Fixtures for profile tests: small rule-based stand-ins for the shared detectors.

The profile's own job is counting and aggregating what detectors say; these stand-ins make
that checkable with hand-computed expectations, independent of the real detectors' rules
(which are tested with real data in test_real_detectors.py).
"""
from __future__ import annotations

import re

import pytest

from safetune_data.profile import Detectors


def fake_classify(text: str) -> str:
    if "```" in text:
        return "code"
    if re.search(r"^#", text, re.M):
        return "headed"
    if re.search(r"^\s*(\d+\.|[-*])\s", text, re.M):
        return "list"
    return "plain"


def fake_identity_kinds(text: str) -> set[str]:
    kinds = set()
    if "As an AI" in text:
        kinds.add("ai_self_reference")
    if "I am Nova" in text:
        kinds.add("named_identity")
    if "made by Acme" in text:
        kinds.add("developer_attribution")
    return kinds


def fake_roleplay_where(record: dict) -> set[str]:
    return {
        m["role"]
        for m in record["messages"]
        if m["role"] in ("system", "user") and "you are a pirate" in m["content"].lower()
    }


def fake_is_refusal(response: str, prompt: str | None = None) -> bool:
    return response.startswith("I'm sorry")


FAKE = Detectors(fake_classify, fake_identity_kinds, fake_roleplay_where, fake_is_refusal)


@pytest.fixture
def fake_detectors() -> Detectors:
    return FAKE


@pytest.fixture
def patch_detectors(monkeypatch):
    """Make every profile in this test (CLI, card) use the stand-in detectors."""
    import safetune_data.profile as profile

    monkeypatch.setattr(profile, "load_detectors", lambda: FAKE)
    return FAKE


def rec(i: int, *turns: tuple[str, str]) -> dict:
    return {
        "id": f"t-{i:06d}",
        "messages": [{"role": r, "content": c} for r, c in turns],
        "meta": {"source": "t.json", "source_index": i},
    }


@pytest.fixture
def make_rec():
    return rec
