"""Text-in, text-out backends for model-backed judges: a local HF causal LM or an
OpenAI-compatible HTTP endpoint.

Both are imported and built lazily so that the rule-based judges never pay for torch.
API keys are read from the environment variable the user names, sent only in the
Authorization header, and never logged, stored on the object's repr, or written anywhere.
"""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

from ...errors import ConfigError, MissingExtraError


class HFBackend:
    """Greedy generation with a local (or Hub, when online) causal LM via transformers."""

    def __init__(
        self,
        model: str,
        *,
        trust_remote_code: bool = False,
        max_new_tokens: int = 256,
        batch_size: int = 4,
        device: str | None = None,
        dtype: str | None = None,
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:  # the harness extra is not installed
            raise MissingExtraError(exc.name or "transformers", "harness") from exc
        from ..models import check_model_source

        check_model_source(model, field="model")  # a Hub id offline fails at once, not after retries
        self.model_id = model
        self.max_new_tokens = int(max_new_tokens)
        self.batch_size = int(batch_size)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model, trust_remote_code=bool(trust_remote_code))
            kwargs: dict[str, Any] = {"trust_remote_code": bool(trust_remote_code)}
            if dtype:
                kwargs["dtype"] = getattr(torch, dtype)
            self.model = AutoModelForCausalLM.from_pretrained(model, **kwargs)
        except OSError as exc:
            raise ConfigError(
                f"could not load model '{model}': {exc}",
                field="model",
                hint="pass a local directory, or a Hub id while online (HF_HUB_OFFLINE unset)",
            ) from exc
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"  # decoder-only: pad on the left for generation

    def chat_text(self, messages: list[dict]) -> str:
        """The model's own chat template applied to `messages`, ready for generation."""
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return "\n\n".join(m["content"] for m in messages) + "\n\n"

    def complete(self, texts: list[str], add_special_tokens: bool = True) -> list[str]:
        import torch

        outputs: list[str] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start : start + self.batch_size]
            enc = self.tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=add_special_tokens).to(self.device)
            with torch.no_grad():
                gen = self.model.generate(
                    **enc,
                    max_new_tokens=self.max_new_tokens,
                    do_sample=False,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new = gen[:, enc["input_ids"].shape[1] :]
            outputs.extend(self.tokenizer.batch_decode(new, skip_special_tokens=True))
        return outputs


class OpenAIBackend:
    """POST /chat/completions on any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, ...)."""

    def __init__(
        self,
        url: str,
        *,
        model_name: str = "gpt-4o-mini",
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_tokens: int = 512,
        temperature: float = 0.0,
        retries: int = 2,
    ) -> None:
        url = url.rstrip("/")
        self.endpoint = url if url.endswith("/chat/completions") else f"{url}/chat/completions"
        self.model_name = model_name
        self.api_key_env = api_key_env
        self.timeout = float(timeout)
        self.max_tokens = int(max_tokens)
        self.temperature = float(temperature)
        self.retries = int(retries)

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIBackend(endpoint={self.endpoint!r}, model_name={self.model_name!r}, api_key_env={self.api_key_env!r})"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def chat(self, messages: list[dict]) -> str:
        body = json.dumps(
            {"model": self.model_name, "messages": messages, "temperature": self.temperature, "max_tokens": self.max_tokens}
        ).encode()
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(self.endpoint, data=body, headers=self._headers(), method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                    payload = json.loads(resp.read().decode("utf-8"))
                return payload["choices"][0]["message"]["content"] or ""
            except urllib.error.HTTPError as exc:
                last = exc
                if exc.code in (401, 403):
                    raise ConfigError(
                        f"{self.endpoint} refused the request (HTTP {exc.code})",
                        field="api_key_env",
                        hint=f"set the API key in the environment variable {self.api_key_env}",
                    ) from exc
                if exc.code not in (408, 429) and exc.code < 500:
                    raise ConfigError(f"{self.endpoint} answered HTTP {exc.code}: {exc.reason}", field="url") from exc
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last = exc
            except (KeyError, IndexError, ValueError) as exc:
                raise ConfigError(f"{self.endpoint} did not answer in the chat-completions format: {exc}", field="url") from exc
            if attempt < self.retries:
                time.sleep(min(2.0**attempt, 8.0))
        raise ConfigError(f"could not reach {self.endpoint}: {last}", field="url")

    def complete_messages(self, conversations: list[list[dict]]) -> list[str]:
        return [self.chat(m) for m in conversations]
