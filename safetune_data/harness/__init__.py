"""Measure what a data variant does to a model's safety: benchmarks, judges, metrics,
LoRA fine-tune, generation and reports.

Nothing heavy is imported here: benchmarks, metrics and the rule-based judges work in the core
install; torch/transformers are imported only inside the model-backed judges and the
fine-tune/generate steps (the `harness` extra).
"""
