"""Is bf16 training sensible on this CPU? Times one matmul of a SmolLM2-135M layer's shape in
fp32, in bf16 and under bf16 autocast, and prints torch's CPU capability.

On CPUs without AVX-512 (e.g. AVX2-only AMD EPYC), bf16 matrix products fall back to a slow
reference kernel; the harness warns when `finetune.precision: bf16` is asked for there.

    python benchmarks/bench_cpu_bf16.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import time

import torch


def timed(fn, repeat: int) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    a, b = torch.randn(1024, 576), torch.randn(576, 1536)  # 1024 tokens x hidden 576 -> MLP 1536
    fp32 = timed(lambda: torch.mm(a, b), args.repeat)
    a16, b16 = a.bfloat16(), b.bfloat16()
    bf16 = timed(lambda: torch.mm(a16, b16), args.repeat)

    def autocast() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            torch.mm(a, b)

    auto = timed(autocast, args.repeat)
    print(f"cpu capability {torch.backends.cpu.get_cpu_capability()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"matmul 1024x576 @ 576x1536: fp32 {fp32:.1f} ms, bf16 {bf16:.1f} ms, bf16 autocast {auto:.1f} ms "
          f"({bf16 / fp32:.0f}x fp32)")


if __name__ == "__main__":
    main()
