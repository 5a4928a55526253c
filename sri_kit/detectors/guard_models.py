"""Guard-model baselines: HF chat guards that answer "safe"/"unsafe" (LlamaGuard style) and sequence
classifiers, behind the baselines' ``scores`` / ``flag`` API.

Example:
    >>> g = GuardClassifier(lm_ar, max_new_tokens=4)      # any chat LM can stand in for a chat guard
    >>> g.kind, g.flag(["How do I bake bread?"], ["Mix flour and water."]).dtype
    ('chat', dtype('bool'))
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..models import LoadedModel, wrap_model
from ..sampling import sampler_for
from ..sampling.trace import decoder
from .common import (check_responses, check_texts, context_limit, pad_batch, parse_safe_unsafe,
                     verdict_scores)

__all__ = ["GuardClassifier"]

_UNSAFE_NAMES = ("unsafe", "harmful", "jailbreak", "injection", "toxic", "malicious", "attack")


class GuardClassifier:
    """Adapter for HF guard models (LlamaGuard 3 and the like, or sequence classifiers).

    ``kind="chat"``: the conversation (user prompt, and the assistant response when given) goes
    through the guard's chat template, the guard answers greedily with ``max_new_tokens`` tokens
    (through the kit's sampler, :mod:`sri_kit.sampling`), and its verdict is parsed: "unsafe" → flag,
    "safe" → pass, neither → pass (score 0.5).

    ``kind="classifier"``: ``AutoModelForSequenceClassification``; the input text is
    ``text_template`` (prompt, then response when given); score = probability of ``unsafe_label``
    (softmax; sigmoid for a one-logit head); flag = score > ``threshold``. ``unsafe_label`` is an
    index or a label name; by default a label whose name contains "unsafe", "harmful",
    "jailbreak", "injection", … else index 1.

    ``kind="auto"`` picks "classifier" for ``…ForSequenceClassification`` models, "chat" otherwise.
    ``model_or_path``: a model, a ``LoadedModel``, or a local directory / hub id (loaded with
    ``trust_remote_code=False``). A chat guard given as a plain HF model is wrapped as a causal
    ``LoadedModel`` (``sri_kit.wrap_model``); ``self.lm`` holds it.
    """

    benign_only = True

    def __init__(self, model_or_path: Any, tokenizer: Any = None, kind: str = "auto", *,
                 unsafe_label: int | str | None = None, threshold: float = 0.5,
                 text_template: str = "{prompt}\n{response}", max_new_tokens: int = 10,
                 batch_size: int = 8, max_length: int | None = None, device: Any = None) -> None:
        if kind not in ("auto", "chat", "classifier"):
            raise ValueError(f"kind must be 'auto', 'chat' or 'classifier'; got {kind!r}.")
        lm = model_or_path if isinstance(model_or_path, LoadedModel) else None
        model = model_or_path
        if lm is not None:
            tokenizer = tokenizer if tokenizer is not None else lm.tokenizer
            model = lm.model
        elif isinstance(model, (str, Path)):
            model, tokenizer = self._load(str(model), tokenizer, kind)
        if tokenizer is None:
            raise ValueError("pass the guard's tokenizer (tokenizer=...) with a model object.")
        if kind == "auto":
            kind = "classifier" if type(model).__name__.endswith("ForSequenceClassification") else "chat"
        if kind == "chat" and not getattr(tokenizer, "chat_template", None):
            raise ValueError("a chat guard needs a tokenizer with a chat_template; set one or use kind='classifier'.")
        if kind == "chat" and (lm is None or tokenizer is not lm.tokenizer):
            lm = wrap_model(model, tokenizer, family="ar", name=f"guard:{type(model).__name__}")
        self.lm: LoadedModel | None = lm if kind == "chat" else None
        self.model, self.tokenizer, self.kind = model, tokenizer, kind
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.threshold = float(threshold)
        self.text_template = text_template
        self.max_new_tokens = int(max_new_tokens)
        self.batch_size = int(batch_size)
        self.max_length = max_length or context_limit(model)
        self.unsafe_label = self._resolve_label(unsafe_label) if kind == "classifier" else None
        self.last_answers_: list[str] = []

    @staticmethod
    def _load(path: str, tokenizer: Any, kind: str):
        # optional: transformers' Auto classes load only when a guard is given by path
        from transformers import (AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification,
                                  AutoTokenizer)

        cfg = AutoConfig.from_pretrained(path, trust_remote_code=False)
        archs = getattr(cfg, "architectures", None) or []
        is_cls = kind == "classifier" or (kind == "auto" and any(a.endswith("ForSequenceClassification") for a in archs))
        cls = AutoModelForSequenceClassification if is_cls else AutoModelForCausalLM
        model = cls.from_pretrained(path, trust_remote_code=False).eval()
        tok = tokenizer if tokenizer is not None else AutoTokenizer.from_pretrained(path)
        return model, tok

    def _resolve_label(self, label: int | str | None) -> int:
        cfg = self.model.config
        n = int(getattr(cfg, "num_labels", 2))
        id2label = {int(k): str(v) for k, v in (getattr(cfg, "id2label", None) or {}).items()}
        if isinstance(label, str):
            hits = [i for i, v in id2label.items() if v.lower() == label.lower()]
            if not hits:
                raise ValueError(f"unsafe_label {label!r} not in the model's labels {id2label}.")
            return hits[0]
        if label is None:
            for i, v in sorted(id2label.items()):
                if any(w in v.lower() for w in _UNSAFE_NAMES):
                    return i
            return 0 if n == 1 else 1
        if not 0 <= int(label) < max(n, 1):
            raise ValueError(f"unsafe_label {label} out of range for {n} labels.")
        return int(label)

    # -- classifier ------------------------------------------------------------------------------
    @torch.no_grad()
    def _classifier_scores(self, prompts: list[str], responses: list[str] | None) -> np.ndarray:
        tok, model = self.tokenizer, self.model
        texts = prompts if responses is None else [
            self.text_template.format(prompt=p, response=r) for p, r in zip(prompts, responses)
        ]
        ids = []
        for t in texts:
            x = list(tok(t, add_special_tokens=True)["input_ids"])
            if self.max_length is not None and len(x) > self.max_length:
                x = x[: self.max_length]
            ids.append(x)
        pad = getattr(model.config, "pad_token_id", None)
        # Without a pad id HF classifiers cannot find the last token of a padded row: go one by one.
        bs = self.batch_size if isinstance(pad, int) else 1
        out = []
        model.eval()
        for s in range(0, len(ids), bs):
            inp, att = pad_batch(ids[s:s + bs], pad if isinstance(pad, int) else 0, self.device)
            logits = model(input_ids=inp, attention_mask=att).logits.float()
            if logits.shape[-1] == 1:
                p = torch.sigmoid(logits[:, 0])
            else:
                p = torch.softmax(logits, dim=-1)[:, self.unsafe_label]
            out.append(p.cpu().numpy())
        return np.concatenate(out).astype(np.float64)

    # -- chat guard -------------------------------------------------------------------------------
    def _chat_answers(self, prompts: list[str], responses: list[str] | None) -> list[str]:
        lm, tok = self.lm, self.tokenizer
        rows = []
        for i, p in enumerate(prompts):
            conv = [{"role": "user", "content": p}]
            if responses is not None:
                conv.append({"role": "assistant", "content": responses[i]})
            text = tok.apply_chat_template(conv, tokenize=False, add_generation_prompt=True)
            rows.append(list(tok(text, add_special_tokens=False)["input_ids"]))
        # the conversation is encoded here (generate_texts encodes single user turns), so the sampler
        # runs on the ids directly: greedy, recording nothing
        base = lm.default_config
        sampler = sampler_for(lm, base)
        cfg = sampler.short_config(base, self.max_new_tokens)
        limit, extra = lm.max_positions(), sampler.response_positions(cfg)
        if limit is not None and max(map(len, rows)) + extra > limit:
            raise ValueError(
                f"a judge prompt of {max(map(len, rows))} tokens + {extra} response positions "
                f"exceeds the model's context ({limit}); shorten the responses being judged."
            )
        decode = decoder(tok, lm.end_token_ids)
        answers: list[str] = []
        for s in range(0, len(rows), self.batch_size):
            out = sampler.run(lm, rows[s:s + self.batch_size], cfg, record=False)
            answers.extend(decode(r) for r in out.response_ids)
        return answers

    # -- public -----------------------------------------------------------------------------------
    def scores(self, prompts: Sequence[str], responses: Sequence[str] | None = None) -> np.ndarray:
        """Classifier: P(unsafe). Chat guard: 1.0 unsafe, 0.0 safe, 0.5 unparsable."""
        prompts = check_texts(prompts, "prompts")
        if responses is not None:
            responses = check_responses(prompts, responses, "GuardClassifier")
        if self.kind == "classifier":
            return self._classifier_scores(prompts, responses)
        self.last_answers_ = self._chat_answers(prompts, responses)
        return verdict_scores([parse_safe_unsafe(a) for a in self.last_answers_])

    def flag(self, prompts: Sequence[str], responses: Sequence[str] | None = None) -> np.ndarray:
        s = self.scores(prompts, responses)
        return s > self.threshold if self.kind == "classifier" else s == 1.0
