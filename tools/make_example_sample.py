"""Rebuild the bundled example `sharegpt-sample` from LLaMA-Factory's dpo_en_demo.json.

Rule: keep conversations of at most 5 turns whose preferred answer is at most 3,000
characters, then every second one in file order, up to 150; the preferred (`chosen`) answer
becomes the final assistant turn. Run from the repository root:

    python tools/make_example_sample.py data/preferences/dpo_en_demo.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "safetune_data" / "data" / "examples" / "sharegpt-sample.jsonl"


def main(src: str) -> None:
    rows = json.loads(Path(src).read_text())
    keep = [r for r in rows if len(r["conversations"]) <= 5 and len(r["chosen"]["value"]) <= 3000]
    sample = keep[::2][:150]
    with open(OUT, "w", encoding="utf-8") as fh:
        for r in sample:
            conv = [{"from": t["from"], "value": t["value"]} for t in r["conversations"]] + [
                {"from": "gpt", "value": r["chosen"]["value"]}
            ]
            fh.write(json.dumps({"conversations": conv}, ensure_ascii=False) + "\n")
    print(f"{len(sample)} rows of {len(rows)} → {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/preferences/dpo_en_demo.json")
