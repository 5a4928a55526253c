"""Hooked samplers: ``generate()`` runs AR and diffusion models and returns GenerationTraces.

Example:
    >>> lm = sri_kit.load_model("tiny-ar")                                   # doctest: +SKIP
    >>> traces = sri_kit.generate(lm, ["How do I bake bread?"], progress=False)  # doctest: +SKIP
    >>> traces[0].activations.shape                                          # doctest: +SKIP
    (32, 256)
"""
from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from ..config import GenerationConfig
from ..judges import is_refusal
from ..models import LoadedModel, _per_prompt, check_prompts
from .ar import sample_ar_batch
from .diffusion import num_transfer_tokens, sample_diffusion_batch
from .trace import GenerationTrace, _decoder, load_traces, save_traces

__all__ = ["generate", "GenerationTrace", "save_traces", "load_traces", "num_transfer_tokens"]


def _check_lengths(lm: LoadedModel, rows: list[list[int]], cfg: GenerationConfig) -> None:
    limit = lm.max_positions()
    if limit is None:
        return
    extra = cfg.gen_length if lm.family == "diffusion" else cfg.steps + 1
    for i, r in enumerate(rows):
        if len(r) + extra > limit:
            raise ValueError(f"prompt {i} has {len(r)} tokens; with {extra} response positions it exceeds the "
                             f"model's context of {limit} tokens: shorten the prompt or reduce "
                             f"{'gen_length' if lm.family == 'diffusion' else 'steps'}")


def generate(lm: LoadedModel, prompts: Sequence[str], config: GenerationConfig | None = None, *,
             batch_size: int = 32, progress: bool = True, prefill: str | Sequence[str] | None = None
             ) -> list[GenerationTrace]:
    """Generate one trace per prompt (plain user messages; the chat template is applied here).

    ``config=None`` uses the model's recommended config. ``prefill`` forces the start of the response
    (one string or one per prompt); it is part of the context, so ``trace.text`` holds what the model
    generated after it and ``trace.response`` the whole visible response. Results do not depend on
    ``batch_size``.
    """
    if not isinstance(lm, LoadedModel):
        raise TypeError("generate() needs a LoadedModel: use sri_kit.load_model(...) or sri_kit.wrap_model(...)")
    prompts = check_prompts(prompts)
    cfg = config if config is not None else lm.default_config
    if not isinstance(cfg, GenerationConfig):
        raise TypeError(f"config must be a GenerationConfig, got {type(cfg).__name__}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    prefills = _per_prompt(prefill, len(prompts), "prefill")
    rows = lm.encode_chat(prompts, system_prompt=cfg.system_prompt, prefill=prefills)
    _check_lengths(lm, rows, cfg)
    sample = sample_diffusion_batch if lm.family == "diffusion" else sample_ar_batch
    decode = _decoder(lm.tokenizer, lm.end_token_ids)
    key = cfg.key()
    traces: list[GenerationTrace | None] = [None] * len(rows)
    # batches of similar prompt length waste less compute on padding; every row's result is independent
    # of its batch (per-row seeds, attention masks), so only the order of work changes
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    starts = range(0, len(rows), batch_size)
    for start in tqdm(starts, desc=f"generate ({lm.family})", disable=not progress or len(starts) < 2):
        idx = order[start:start + batch_size]
        out = sample(lm, [rows[i] for i in idx], cfg)
        for j, i in enumerate(idx):
            text = decode(out["response_ids"][j], lstrip=not prefills[i])
            meta = {"pooling": cfg.pooling, "layer": cfg.layer, "steps": cfg.steps}
            if "filled_prompt_ids" in out:
                meta["filled_prompt"] = lm.tokenizer.decode(out["filled_prompt_ids"][j], skip_special_tokens=False)
            traces[i] = GenerationTrace(
                prompt=prompts[i], text=text,
                activations=out["activations"][j].numpy(),
                predicted=out["predicted"][j].numpy().astype(np.int64),
                committed=out["committed"][j].numpy().astype(bool),
                confidence=out["confidence"][j].numpy(),
                refused=is_refusal((prefills[i] or "") + text), model_name=lm.name, config_key=key,
                family=lm.family, prefill=prefills[i], meta=meta,
                _decode=functools.partial(decode, lstrip=not prefills[i]))
    return traces
