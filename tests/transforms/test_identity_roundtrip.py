"""strip ∘ inject is the identity on real answers: every built-in English template, with
developer names that do and do not end in "AI", on all Alpaca demo rows."""
import copy

import pytest

import safetune_data as st
from safetune_data import transforms as T
from safetune_data.resources import builtin_templates
from safetune_data.transforms.identity import needed_placeholders

DEVELOPERS = ("Acme AI", "Acme Labs", "Mistral AI", "OpenAI")


def _cases() -> list[tuple[str, str, str]]:
    out = []
    for placement in ("prefix", "suffix"):
        for template in builtin_templates()[placement]:
            # a template without {developer} reads the same for every developer
            developers = DEVELOPERS if "developer" in needed_placeholders(template) else DEVELOPERS[:1]
            out += [(placement, template, d) for d in developers]
    return out


@pytest.fixture(scope="module")
def alpaca(alpaca_path):
    return st.read(str(alpaca_path)).to_list()


@pytest.mark.slow
@pytest.mark.parametrize("placement, template, developer", _cases())
def test_strip_undoes_inject_for_every_builtin_template(alpaca, placement, template, developer):
    inject = T.identity.inject(templates=[template], name="Aria", developer=developer, placement=placement).bind(0, 0)
    strip = T.identity.strip().bind(0, 1)
    changed = restored = 0
    for rec in alpaca:
        injected = inject.apply(copy.deepcopy(rec), inject.rng(rec))
        if injected.status != "changed":
            continue
        changed += 1
        back = strip.apply(copy.deepcopy(injected.record), strip.rng(injected.record))
        restored += back.status == "changed" and back.record["messages"] == rec["messages"]
    # a clause fits only first-person openings; a sentence fits nearly every answer
    assert changed >= (5 if template.endswith(",") else 500)  # of 999: requested pieces, lists and titles, bare values skipped
    assert restored == changed
