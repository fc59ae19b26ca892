#!/usr/bin/env bash
# The CLI flow on real data: read -> profile -> rewrite along the three factors -> compare -> export.
# Run from the repository root (reads data/; set SAFETUNE_SHARED_DATA for another copy):  bash examples/cli_flow.sh [OUT]
set -euo pipefail
DATA=${SAFETUNE_SHARED_DATA:-data}
OUT=${1:-out/cli_flow}
rm -rf "$OUT"

# 1. canonical records + manifest + card
safetune convert "$DATA/benign/alpaca_en_demo.json" --out "$OUT/alpaca"
safetune validate "$OUT/alpaca"

# 2. where does the data stand on the three factors?
safetune profile "$OUT/alpaca" --json "$OUT/alpaca_profile.json"

# 3. the factorial grid (8 variants), on the same rows
safetune run transforms/paper_factorial.yaml --set input.path="$DATA/benign/alpaca_en_demo.json" --out "$OUT/factorial"

# 4. original vs the variant that should preserve safety best
safetune profile "$OUT/alpaca" "$OUT/factorial/structure=markdown,identity=inject,roleplay=none" --markdown "$OUT/diff.md"

# 5. hand a variant to a trainer
safetune export "$OUT/factorial/structure=markdown,identity=inject,roleplay=none" --to sharegpt --out "$OUT/md_inject.sharegpt.jsonl"
echo "done: see $OUT"
