"""Reward-model scoring throughput: length-sorted batching vs input order.

Builds a tiny Llama reward model from a config (no download), then scores real HH-RLHF
harmless pairs (both sides) with and without sorting by token length, and prints pairs/s
and the padding share (pad tokens / all token slots in the batches).

    python benchmarks/bench_rm.py                  # 128 pairs, batch 16, max 512 tokens
    python benchmarks/bench_rm.py --pairs 256 --batch-size 32 --repeats 3
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(os.environ.get("SAFETUNE_SHARED_DATA", REPO / "data"))

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def build_tiny_rm(texts: list[str], path: Path, max_length: int, hidden: int, layers: int) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForSequenceClassification, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=2000, special_tokens=["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>",
                                   bos_token="<|im_start|>", eos_token="<|im_end|>", model_max_length=max_length)
    fast.chat_template = CHATML
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(fast), hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=layers,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=max_length,
                      num_labels=1, pad_token_id=fast.pad_token_id)
    LlamaForSequenceClassification(cfg).save_pretrained(path)
    fast.save_pretrained(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1, help="best of N timings")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    from safetune_data.rm.pairs import read_hh
    from safetune_data.rm.score import SequenceRewardModel, score_pairs

    torch.set_num_threads(args.threads)
    pairs = read_hh(DATA / "preferences" / "hh_rlhf_harmless_base_test.jsonl.gz").pairs[: args.pairs]
    texts = [m["content"] for p in pairs for m in p.prompt] + [p.chosen for p in pairs]
    with tempfile.TemporaryDirectory() as tmp:
        rm = SequenceRewardModel(str(build_tiny_rm(texts, Path(tmp) / "rm", args.max_length, args.hidden,
                                                   args.layers)), device="cpu")
        score_pairs(rm, pairs[: args.batch_size], batch_size=args.batch_size)  # warm-up
        print(f"tiny RM: Llama {args.layers} layers, hidden {args.hidden}; {len(pairs)} HH-RLHF pairs "
              f"({2 * len(pairs)} conversations), batch {args.batch_size}, max {args.max_length} tokens, "
              f"{args.threads} threads, device cpu")
        results = {}
        for sort in (False, True):
            best = None
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                chosen, _, stats = score_pairs(rm, pairs, batch_size=args.batch_size, sort_by_length=sort)
                dt = time.perf_counter() - t0
                best = dt if best is None else min(best, dt)
            results[sort] = (best, stats, chosen)
            label = "length-sorted" if sort else "input order  "
            print(f"{label}: {len(pairs) / best:8.1f} pairs/s  ({best:.2f} s)  padding share {stats.padding_share:.3f}  "
                  f"({stats.pad_tokens}/{stats.tokens} token slots)")
        speedup = results[False][0] / results[True][0]
        same = max(abs(a - b) for a, b in zip(results[False][2], results[True][2]))
        print(f"speed-up from sorting: {speedup:.2f}x; max score difference between orders: {same:.2e}")


if __name__ == "__main__":
    main()
