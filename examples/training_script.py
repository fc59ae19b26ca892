"""The training-script flow: the library inside your own SFT code.

Reads real data, rewrites it with transforms as plain `datasets.map` functions, checks the
factor profile, and tokenizes it with a chat template exactly as `safetune harness` does
(assistant tokens only carry labels). With no --model, a tiny model is built on the spot so
the script runs offline; point --model at a local checkpoint for real use.

    python examples/training_script.py [--model DIR] [--rows 64]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import safetune_data as st
from safetune_data import transforms as T
from safetune_data.profile import profile_table

DATA = Path(__file__).resolve().parents[1] / "data" / "benign" / "alpaca_en_demo.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--model", default=None, help="local chat model dir (default: a tiny model built now)")
    ap.add_argument("--rows", type=int, default=64)
    args = ap.parse_args()

    ds = st.read(args.data).select(range(args.rows))
    # any transform is a batched map function; bind() fixes the seed and step index
    ds = ds.map(T.filter.factors().bind(seed=0, step=0), batched=True)
    ds = ds.map(T.structure.markdown(style="numbered").bind(seed=0, step=1), batched=True)
    ds = ds.map(T.identity.inject(name="Aria", developer="Acme").bind(seed=0, step=2), batched=True)
    prof = profile_table(ds, name="training set")
    print(f"{ds.num_rows} rows; list share {prof['structure']['shares']['list']:.0%}; "
          f"identity share {prof['identity']['shares']['any']:.0%}")

    from safetune_data.harness.finetune import encode_dataset
    from safetune_data.harness.models import load_tokenizer
    from safetune_data.harness.tiny import build_tiny_model

    model_dir = args.model or str(build_tiny_model(Path(tempfile.mkdtemp()) / "tiny"))
    tok = load_tokenizer(model_dir)
    rows, stats = encode_dataset(ds, tok, max_length=512)
    labelled = sum(sum(1 for x in r["labels"] if x != -100) for r in rows)
    total = sum(len(r["input_ids"]) for r in rows)
    print(f"tokenized {len(rows)} conversations: {labelled}/{total} tokens carry labels (assistant turns); {stats}")


if __name__ == "__main__":
    main()
