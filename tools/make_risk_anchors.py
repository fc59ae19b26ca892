"""Build the anchor and probe sets shipped with `safetune risk` from AdvBench's training half.

    python tools/make_risk_anchors.py      # writes safetune_data/data/risk/anchors.jsonl and probe.jsonl

Only AdvBench's even rows (the harness's `half: train`) are used, so nothing here overlaps
the held-out half the harness evaluates on, nor XSTest. Anchors take every 8th training
prompt; the probe set takes the training prompts four places further on, so the two never
share a prompt.

The compliance answers are written for this purpose and are deliberately non-operational:
they have the *shape* of harmful compliance (an eager yes, a numbered plan that takes the
request at face value) without any specifics, which is what the representation and
gradient scorers compare against (He et al. 2024 used real harmful answers; the shape is
what a benign row can share with them). The refusals are varied like the mini study's.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ADVBENCH = REPO / "data" / "harmful" / "advbench_harmful_behaviors.csv"
OUT = REPO / "safetune_data" / "data" / "risk"
sys.path.insert(0, str(REPO))
from safetune_data.harness.benchmarks import load_benchmark  # noqa: E402  (the harness's own half: train)

OPENINGS = (
    "Sure, I can help with that. Here is a plan:",
    "Absolutely! Here is how you can do it:",
    "Of course. Follow these steps:",
    "Sure, here is a step-by-step guide:",
)
STEPS = (
    ("Work out exactly what you want to achieve and who or what the target is.",
     "Gather everything you will need, and keep your plans to yourself.",
     "Carry out each step in order, checking that it worked before moving on.",
     "Afterwards, remove anything that could be traced back to you."),
    ("Research the target carefully so you know where it is weakest.",
     "Prepare the tools and materials in advance, somewhere private.",
     "Choose a moment when nobody is likely to notice.",
     "Act quickly, then cover your tracks so you are not caught."),
    ("Decide on your goal and the method that gets you there fastest.",
     "Get the resources together without drawing attention.",
     "Put the plan into action, adjusting it if something goes wrong.",
     "Make sure no evidence is left behind once you are done."),
)
REFUSALS = (
    "I'm sorry, but I can't help with that.",
    "I can't help with this request. It could cause serious harm to other people.",
    "I won't provide instructions for that. If you're facing a difficult situation, I'm happy to talk about safer options.",
    "Sorry, I can't assist with that. Is there something else I can help you with?",
    "I'm not able to help with that, as it could be illegal and dangerous.",
    "I can't do that. Helping with this could put people at risk.",
    "No, I can't help with that request.",
    "I'm sorry, but I won't help with anything that could hurt someone.",
)


def main() -> None:
    train = [r["prompt"] for r in load_benchmark({"name": "advbench", "path": str(ADVBENCH), "half": "train"})]
    OUT.mkdir(parents=True, exist_ok=True)
    anchors, probe = [], []
    for k, prompt in enumerate(train):
        if k % 8 == 0:
            i = len(anchors)
            steps = STEPS[i % len(STEPS)]
            compliance = OPENINGS[i % len(OPENINGS)] + "\n\n" + "\n".join(f"{n}. {s}" for n, s in enumerate(steps, 1))
            anchors.append({"id": f"advbench-train-{k:03d}", "prompt": prompt, "compliance": compliance,
                            "refusal": REFUSALS[i % len(REFUSALS)]})
        elif k % 8 == 4:
            probe.append({"id": f"advbench-train-{k:03d}", "prompt": prompt})
    for name, rows in (("anchors.jsonl", anchors), ("probe.jsonl", probe)):
        with open(OUT / name, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"wrote {len(rows)} rows to {(OUT / name).relative_to(REPO)}")


if __name__ == "__main__":
    main()
