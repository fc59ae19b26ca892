"""Scoring conversations with reward models.

Two kinds of scorer share one interface, `score(conversations) -> (scores, stats)`:

- `SequenceRewardModel`: a sequence-classification model with one output logit (the
  usual open reward models). Conversations go through the model's *own* chat template,
  since a reward model only means something in the format it was trained on.
- `ImplicitRewardModel`: a DPO-trained policy and its reference model; the reward is
  β·(log p_policy(reply|prompt) − log p_ref(reply|prompt)), summed over the reply's tokens,
  the implicit reward RewardBench reports for DPO models.

Batches are built from conversations sorted by token length, which cuts the padding (and
so the wasted compute) a lot on real data of mixed lengths; `ScoreStats.padding_share`
reports what is left. Scores are returned in input order whatever the batching.

torch and transformers are imported inside functions only, so the CLI starts fast.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ..batching import length_sorted_batches as plan_batches  # the name the RM code and its tests use
from ..errors import ConfigError
from ..harness.models import check_model_source, resolve_device, resolve_dtype  # the harness's words: --dtype fp32 = float32

Conversation = Sequence[dict]
OnBatch = Callable[[int], None]


@dataclass
class ScoreStats:
    conversations: int = 0
    batches: int = 0
    tokens: int = 0  # all token slots in the batches, padding included
    pad_tokens: int = 0
    seconds: float = 0.0

    @property
    def padding_share(self) -> float:
        return self.pad_tokens / self.tokens if self.tokens else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"conversations": self.conversations, "batches": self.batches, "tokens": self.tokens,
                "pad_tokens": self.pad_tokens, "padding_share": round(self.padding_share, 6),
                "seconds": round(self.seconds, 3)}


def padding_of(lengths: Sequence[int], batches: list[list[int]]) -> tuple[int, int]:
    """(all token slots, pad slots) when each batch is padded to its longest member."""
    total = pad = 0
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        total += longest * len(batch)
        pad += sum(longest - lengths[i] for i in batch)
    return total, pad


RM_HINT = ("give a local model directory (`safetune rm tiny DIR` builds a tiny reward model), or download "
           "the model once while online so that it is in the Hugging Face cache")


def _load_config(path: str, trust_remote_code: bool):
    from transformers import AutoConfig

    check_model_source(path, field="model", hint=RM_HINT)  # a Hub id offline fails at once, not after retries
    try:
        return AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise ConfigError(f"model '{path}' needs custom code", field="model",
                              hint="pass --trust-remote-code if you trust its source") from None
        raise ConfigError(f"cannot read model config of '{path}': {exc}", field="model") from None
    except OSError as exc:
        local = Path(path).exists()
        raise ConfigError(
            f"cannot load model '{path}'" + ("" if local else " (not a local path, and the Hub is unreachable or offline)"),
            field="model", hint=str(exc).splitlines()[0] if str(exc) else None) from None


def check_reward_model(path: str, trust_remote_code: bool = False) -> Any:
    """The model's config, if it is a one-logit sequence classifier; else a ConfigError.

    Loading a causal LM with AutoModelForSequenceClassification "works": it bolts on a fresh,
    random head and scores noise. Refusing here is what keeps an audit honest.
    """
    config = _load_config(path, trust_remote_code)
    archs = list(getattr(config, "architectures", None) or [])
    if archs and not any(a.endswith("ForSequenceClassification") for a in archs):
        hint = ("for a DPO model's implicit reward, pass --model POLICY --ref-model REF"
                if any(a.endswith("ForCausalLM") for a in archs) else None)
        raise ConfigError(f"'{path}' is not a reward model: its architecture is {', '.join(archs)}, "
                          "not a sequence classifier", field="model", hint=hint)
    if getattr(config, "num_labels", None) != 1:
        raise ConfigError(f"'{path}' is not a reward model: it has num_labels={config.num_labels}, "
                          "a reward model has a single output", field="model")
    return config


def _load_tokenizer(path: str, trust_remote_code: bool):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load the tokenizer of '{path}': {exc}", field="model") from None
    if not getattr(tok, "chat_template", None):
        raise ConfigError(f"the tokenizer of '{path}' has no chat template", field="model",
                          hint="a reward model must be scored in its own chat format; add a chat_template")
    if tok.pad_token_id is None:
        if tok.eos_token_id is None:
            raise ConfigError(f"the tokenizer of '{path}' has neither a pad nor an eos token", field="model")
        tok.pad_token = tok.eos_token
    return tok


def render(tokenizer: Any, conversation: Conversation, add_generation_prompt: bool = False) -> str:
    """The conversation as the model's chat template writes it (text, not ids).

    Rendering to text and then tokenizing without special tokens avoids a doubled BOS, and
    sidesteps transformers 5 returning a BatchEncoding from apply_chat_template(tokenize=True).
    """
    try:
        return tokenizer.apply_chat_template(list(conversation), tokenize=False,
                                             add_generation_prompt=add_generation_prompt)
    except Exception as exc:  # jinja errors, e.g. a template that rejects a system turn
        raise ConfigError(f"the chat template cannot format this conversation: {exc}", field="chat_template") from None


class SequenceRewardModel:
    """A one-logit sequence classifier; `score` gives one float per conversation."""

    kind = "classifier"

    def __init__(self, path: str, *, device: str | None = None, dtype: str | None = None,
                 trust_remote_code: bool = False, max_length: int | None = None) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification

        self.name = str(path)
        config = check_reward_model(self.name, trust_remote_code)
        self.tokenizer = _load_tokenizer(self.name, trust_remote_code)
        self.tokenizer.padding_side = "right"
        self.tokenizer.truncation_side = "left"  # keep the reply being judged, cut old context
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        limit = max_length or getattr(self.tokenizer, "model_max_length", None)
        self.max_length = int(limit) if limit and limit < 1_000_000 else None
        if getattr(config, "pad_token_id", None) is None:
            config.pad_token_id = self.tokenizer.pad_token_id
        self.model = AutoModelForSequenceClassification.from_pretrained(
            self.name, config=config, dtype=self.dtype, trust_remote_code=trust_remote_code)
        self.model.to(self.device).eval()
        self._torch = torch

    def encode(self, conversations: Sequence[Conversation]) -> list[list[int]]:
        texts = [render(self.tokenizer, c) for c in conversations]
        enc = self.tokenizer(texts, add_special_tokens=False, truncation=self.max_length is not None,
                             max_length=self.max_length)
        return [list(ids) for ids in enc["input_ids"]]

    def score(self, conversations: Sequence[Conversation], batch_size: int = 8, sort_by_length: bool = True,
              on_batch: OnBatch | None = None) -> tuple[list[float], ScoreStats]:
        torch = self._torch
        start = time.perf_counter()
        ids = self.encode(conversations)
        lengths = [len(x) for x in ids]
        batches = plan_batches(lengths, batch_size, sort_by_length)
        scores: list[float] = [0.0] * len(ids)
        with torch.inference_mode():
            for batch in batches:
                enc = self.tokenizer.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt")
                enc = {k: v.to(self.device) for k, v in enc.items()}
                logits = self.model(**enc).logits.float().reshape(len(batch), -1)[:, 0].tolist()
                for i, s in zip(batch, logits):
                    scores[i] = float(s)
                if on_batch:
                    on_batch(len(batch))
        total, pad = padding_of(lengths, batches)
        return scores, ScoreStats(len(ids), len(batches), total, pad, time.perf_counter() - start)


class ImplicitRewardModel:
    """DPO implicit reward: β·(log p_policy − log p_ref) of the reply given the prompt."""

    kind = "implicit"

    def __init__(self, policy: str, ref: str, *, beta: float = 0.1, device: str | None = None,
                 dtype: str | None = None, trust_remote_code: bool = False) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        self.name = f"{policy} (ref: {ref})"
        self.beta = float(beta)
        configs = [_load_config(str(p), trust_remote_code) for p in (policy, ref)]
        for p, cfg in zip((policy, ref), configs):
            archs = list(getattr(cfg, "architectures", None) or [])
            if archs and not any(a.endswith("ForCausalLM") for a in archs):
                raise ConfigError(f"'{p}' is not a causal language model ({', '.join(archs)}); implicit rewards "
                                  "need a DPO policy and its reference model", field="model")
        if configs[0].vocab_size != configs[1].vocab_size:
            raise ConfigError(f"policy and reference vocabularies differ ({configs[0].vocab_size} vs "
                              f"{configs[1].vocab_size})", field="ref_model")
        self.tokenizer = _load_tokenizer(str(policy), trust_remote_code)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.models = [AutoModelForCausalLM.from_pretrained(str(p), dtype=self.dtype,
                                                            trust_remote_code=trust_remote_code).to(self.device).eval()
                       for p in (policy, ref)]
        self._torch = torch

    def encode(self, conversations: Sequence[Conversation]) -> list[tuple[list[int], int]]:
        """(ids, prompt length): prompt and reply tokenized apart so the boundary is exact."""
        out = []
        for conv in conversations:
            prompt_text = render(self.tokenizer, conv[:-1], add_generation_prompt=True)
            full_text = render(self.tokenizer, conv)
            if not full_text.startswith(prompt_text):
                raise ConfigError("the chat template does not write the prompt as a prefix of the conversation; "
                                  "cannot locate the reply tokens", field="chat_template")
            p = self.tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
            r = self.tokenizer(full_text[len(prompt_text):], add_special_tokens=False)["input_ids"]
            out.append((list(p) + list(r), len(p)))
        return out

    def _reply_logprob(self, model: Any, input_ids: Any, mask: Any, reply_mask: Any) -> Any:
        torch = self._torch
        logits = model(input_ids=input_ids, attention_mask=mask).logits[:, :-1].float()
        logp = torch.log_softmax(logits, dim=-1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        return (logp * reply_mask[:, 1:]).sum(-1)

    def score(self, conversations: Sequence[Conversation], batch_size: int = 8, sort_by_length: bool = True,
              on_batch: OnBatch | None = None) -> tuple[list[float], ScoreStats]:
        torch = self._torch
        start = time.perf_counter()
        encoded = self.encode(conversations)
        lengths = [len(ids) for ids, _ in encoded]
        batches = plan_batches(lengths, batch_size, sort_by_length)
        pad_id = self.tokenizer.pad_token_id
        scores: list[float] = [0.0] * len(encoded)
        with torch.inference_mode():
            for batch in batches:
                longest = max(lengths[i] for i in batch)
                ids = torch.full((len(batch), longest), pad_id, dtype=torch.long)
                mask = torch.zeros((len(batch), longest), dtype=torch.long)
                reply = torch.zeros((len(batch), longest), dtype=torch.float32)
                for row, i in enumerate(batch):
                    seq, plen = encoded[i]
                    ids[row, : len(seq)] = torch.tensor(seq)
                    mask[row, : len(seq)] = 1
                    reply[row, plen: len(seq)] = 1.0
                ids, mask, reply = ids.to(self.device), mask.to(self.device), reply.to(self.device)
                policy, ref = (self._reply_logprob(m, ids, mask, reply) for m in self.models)
                for i, s in zip(batch, (self.beta * (policy - ref)).tolist()):
                    scores[i] = float(s)
                if on_batch:
                    on_batch(len(batch))
        total, pad = padding_of(lengths, batches)
        return scores, ScoreStats(len(encoded), len(batches), total, pad, time.perf_counter() - start)


Scorer = SequenceRewardModel | ImplicitRewardModel


def load_scorer(model: str, ref_model: str | None = None, **kwargs: Any) -> Scorer:
    """A classifier reward model, or (with `ref_model`) a DPO implicit-reward scorer."""
    if ref_model:
        beta = kwargs.pop("beta", 0.1)
        kwargs.pop("max_length", None)
        return ImplicitRewardModel(model, ref_model, beta=beta, **kwargs)
    kwargs.pop("beta", None)
    return SequenceRewardModel(model, **kwargs)


def score_pairs(scorer: Scorer, pairs: Sequence[Any], batch_size: int = 8, sort_by_length: bool = True,
                on_batch: OnBatch | None = None) -> tuple[list[float], list[float], ScoreStats]:
    """Scores of chosen and rejected sides; both sides in one pass so length sorting spans all."""
    convs = [p.conversation("chosen") for p in pairs] + [p.conversation("rejected") for p in pairs]
    scores, stats = scorer.score(convs, batch_size=batch_size, sort_by_length=sort_by_length, on_batch=on_batch)
    n = len(pairs)
    return scores[:n], scores[n:], stats
