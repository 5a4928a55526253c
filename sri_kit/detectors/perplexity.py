"""The perplexity filter baseline (PAPER.md §5.2; after neelsjain/baseline-defenses).

Example:
    >>> ppl = PerplexityFilter(lm_ar, window=4)
    >>> d = ppl.scores_detail(["Tell me a story", "xq zz !! vk"])
    >>> list(d.columns), bool((d.log_ppl > 0).all())
    (['log_ppl', 'window_max_log_ppl', 'n_tokens'], True)
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch

from ..models import LoadedModel
from .common import check_texts, pad_batch
from .one_class import MIN_CALIB

__all__ = ["PerplexityFilter"]


class PerplexityFilter:
    """Flag prompts whose log-perplexity under a causal LM exceeds a benign-calibrated threshold.

    Score = mean token negative log-likelihood of the prompt text (log-perplexity; the whole
    prompt when ``window is None``) or, with ``window=k``, the max over consecutive
    non-overlapping windows of ``k`` tokens of the window mean (the windowed filter of Jain et al.
    2023, neelsjain/baseline-defenses; catches a gibberish suffix on a fluent prompt). The raw
    prompt is scored, without a chat template; a BOS token is prepended when the tokenizer has one
    and did not add it, so the first word is scored too. ``fit(benign_prompts)`` sets
    ``threshold_ = np.percentile(benign scores, percentile)``; a prompt is flagged when its score is
    strictly above it (≈ 1 % of benign calibration prompts at the default 99).

    Parameters
    ----------
    lm_ar : a causal ``LoadedModel`` (``lm.causal``, e.g. ``sri_kit.load_model("tiny-ar")``); a
        masked diffusion model defines no perplexity.
    window : None (whole prompt) or the window length in tokens.
    percentile, batch_size : calibration percentile; prompts per forward pass.

    Example
    -------
    >>> ppl = PerplexityFilter(lm_ar).fit([f"Tell me a story about the sea {i}" for i in range(20)])
    >>> ppl.flag(["Tell me a story about the sea", "xq zz !! vk ## qq"]).dtype
    dtype('bool')
    """

    benign_only = True

    def __init__(self, lm_ar: LoadedModel, window: int | None = None, percentile: float = 99.0, *,
                 batch_size: int = 16, min_calib: int = MIN_CALIB) -> None:
        if not isinstance(lm_ar, LoadedModel):
            raise TypeError(f"PerplexityFilter needs a LoadedModel (sri_kit.load_model or sri_kit.wrap_model); "
                            f"got {type(lm_ar).__name__}.")
        if not lm_ar.causal:
            raise ValueError(
                f"PerplexityFilter needs an autoregressive (causal) model; {lm_ar.name!r} is a "
                f"{lm_ar.family!r} model. Pass an AR model such as sri_kit.load_model('tiny-ar') as the scorer."
            )
        if window is not None and int(window) < 1:
            raise ValueError(f"window must be None or ≥ 1 tokens; got {window}.")
        if not 0.0 < percentile < 100.0:
            raise ValueError(f"percentile must be in (0, 100); got {percentile}.")
        self.lm = lm_ar
        self.model, self.tokenizer, self.device = lm_ar.model, lm_ar.tokenizer, lm_ar.device
        self.window = None if window is None else int(window)
        self.percentile = float(percentile)
        self.batch_size = int(batch_size)
        self.min_calib = int(min_calib)
        self.threshold_: float | None = None

    def _encode(self, prompts: list[str]) -> list[list[int]]:
        tok = self.tokenizer
        bos = tok.bos_token_id
        limit = self.lm.max_positions()
        out = []
        for i, p in enumerate(prompts):
            ids = list(tok(p, add_special_tokens=True)["input_ids"])
            if isinstance(bos, int) and (not ids or ids[0] != bos):
                ids = [bos] + ids
            if len(ids) < 2:
                raise ValueError(f"prompt {i} ({p!r}) has no token to score; pass non-empty prompts.")
            if limit is not None and len(ids) > limit:
                raise ValueError(
                    f"prompt {i} has {len(ids)} tokens, more than the scorer's context ({limit}); "
                    "truncate it or use a longer-context AR model."
                )
            out.append(ids)
        return out

    @torch.no_grad()
    def token_nll(self, prompts: Sequence[str]) -> list[np.ndarray]:
        """Per-token negative log-likelihood (nats) of each prompt, batched."""
        prompts = check_texts(prompts, "prompts")
        ids = self._encode(prompts)
        pad = self.lm.pad_token_id   # right padding under the attention mask: never scored
        order = np.argsort([len(x) for x in ids], kind="stable")
        result: list[np.ndarray | None] = [None] * len(ids)
        was_training = self.model.training
        self.model.eval()
        try:
            for s in range(0, len(order), self.batch_size):
                idx = order[s:s + self.batch_size]
                inp, att = pad_batch([ids[i] for i in idx], pad, self.device)
                logits = self.model(input_ids=inp, attention_mask=att).logits[:, :-1].float()
                logp = torch.log_softmax(logits, dim=-1)
                nll = -logp.gather(-1, inp[:, 1:, None]).squeeze(-1).cpu().numpy()
                for row, i in enumerate(idx):
                    result[i] = nll[row, : len(ids[i]) - 1].astype(np.float64)
        finally:
            self.model.train(was_training)
        return result  # type: ignore[return-value]

    def _window_max(self, nll: np.ndarray) -> float:
        k = self.window or len(nll)
        return float(max(nll[i:i + k].mean() for i in range(0, len(nll), k)))

    def scores_detail(self, prompts: Sequence[str]) -> pd.DataFrame:
        """DataFrame with ``log_ppl`` (whole prompt), ``window_max_log_ppl`` and ``n_tokens``."""
        nlls = self.token_nll(prompts)
        return pd.DataFrame({
            "log_ppl": [float(x.mean()) for x in nlls],
            "window_max_log_ppl": [self._window_max(x) for x in nlls],
            "n_tokens": [len(x) for x in nlls],
        })

    def scores(self, prompts: Sequence[str], responses: Sequence[str] | None = None) -> np.ndarray:
        """Log-perplexity (whole prompt, or windowed max when ``window`` is set); higher = worse.

        ``responses`` is ignored (the filter sees the prompt only)."""
        nlls = self.token_nll(prompts)
        f = (lambda x: float(x.mean())) if self.window is None else self._window_max
        return np.array([f(x) for x in nlls], dtype=np.float64)

    def fit(self, benign_prompts: Sequence[str]) -> "PerplexityFilter":
        """Calibrate ``threshold_`` on benign prompts (the percentile of their scores)."""
        benign_prompts = check_texts(benign_prompts, "benign_prompts")
        if len(benign_prompts) < self.min_calib:
            raise ValueError(
                f"Too few benign prompts to calibrate: {len(benign_prompts)}; at least "
                f"{self.min_calib} are required (≥ {int(round(100 / (100 - self.percentile)))} for a "
                f"{self.percentile:g}th percentile to mean anything)."
            )
        self.calib_scores_ = self.scores(benign_prompts)
        self.threshold_ = float(np.percentile(self.calib_scores_, self.percentile))
        return self

    def flag(self, prompts: Sequence[str], responses: Sequence[str] | None = None) -> np.ndarray:
        """True where the prompt's score is strictly above ``threshold_``."""
        if self.threshold_ is None:
            raise RuntimeError("PerplexityFilter is not calibrated; call .fit(benign_prompts) first.")
        return self.scores(prompts) > self.threshold_
