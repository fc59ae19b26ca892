"""`rm eval` as a function: score every pair with each model in turn, then audit.

Models are loaded one at a time and released before the next, so auditing several 7B reward
models needs the memory of one.
"""
from __future__ import annotations

import gc
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .audit import audit
from .pairs import PairSet
from .score import Scorer, load_scorer, score_pairs

ProgressHook = Callable[[str, int], Callable[[int], None] | None]


@dataclass(frozen=True)
class ModelSpec:
    """A classifier reward model (`ref` None) or a DPO policy with its reference model."""

    path: str
    ref: str | None = None

    @property
    def name(self) -> str:
        return self.path if self.ref is None else f"{self.path} (ref: {self.ref})"


def evaluate(pair_set: PairSet, models: Sequence[ModelSpec | Scorer], *, batch_size: int = 8,
             device: str | None = None, dtype: str | None = None, trust_remote_code: bool = False,
             beta: float = 0.1, sort_by_length: bool = True, limit: int | None = None,
             progress: ProgressHook | None = None) -> tuple[dict[str, Any], list[dict]]:
    """(result following rm_eval.schema.json, per-pair score rows)."""
    pairs = pair_set.pairs
    scores: dict[str, tuple[list[float], list[float]]] = {}
    model_info: dict[str, dict[str, Any]] = {}
    used_device = device or "auto"
    for spec in models:
        if isinstance(spec, ModelSpec):
            scorer = load_scorer(spec.path, spec.ref, device=device, dtype=dtype,
                                 trust_remote_code=trust_remote_code, beta=beta)
            owned = True
        else:
            scorer, owned = spec, False
        if scorer.name in scores:
            raise ValueError(f"model '{scorer.name}' given twice")
        hook = progress(scorer.name, 2 * len(pairs)) if progress else None
        chosen, rejected, stats = score_pairs(scorer, pairs, batch_size=batch_size,
                                              sort_by_length=sort_by_length, on_batch=hook)
        scores[scorer.name] = (chosen, rejected)
        model_info[scorer.name] = {"kind": scorer.kind, "scoring": stats.as_dict()}
        used_device = getattr(scorer, "device", used_device)
        if owned:
            del scorer
            gc.collect()
            _empty_cuda_cache()
    result = audit(pairs, scores)
    for name, info in model_info.items():
        result["models"][name] = {**info, **result["models"][name]}
    ordered = {"schema_version": 1,
               "pairs": {**pair_set.summary(), "pairs": len(pairs),
                         "subsets": dict(sorted(Counter(p.subset for p in pairs).items()))},
               **result,
               "settings": {"batch_size": int(batch_size), "device": str(used_device), "limit": limit,
                            "sort_by_length": bool(sort_by_length)}}
    rows = [{"id": p.id, "subset": p.subset,
             "scores": {name: {"chosen": c[i], "rejected": r[i]} for name, (c, r) in scores.items()}}
            for i, p in enumerate(pairs)]
    return ordered, rows


def _empty_cuda_cache() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover - torch is present whenever a model was scored
        pass
