"""Scoring a fixed response start: log p(the response starts with ``target``) for each chat, one forward
pass per batch. Causal models are teacher-forced; masked diffusion models see one canvas whose response
positions are all masked (the state at the first denoising step).

Used by the optimisation attacks (:func:`sri_kit.attacks.target_logprob`, random search).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..models import LoadedModel

__all__ = ["target_logprob_ids"]


def target_logprob_ids(
    lm: LoadedModel,
    chat_ids: Sequence[Sequence[int]],
    target_ids: Sequence[int],
    *,
    canvas_length: int | None,
    batch_size: int,
) -> np.ndarray:
    """``log p(response starts with target_ids | chat)`` for each row of ``chat_ids``, float64 ``[N]``.

    * causal models (``lm.causal``): teacher-forced ``sum_j log p(target_j | chat, target_<j)``.
    * masked diffusion: the canvas ``[chat | mask × L]`` (L = ``canvas_length``; None = the model's
      ``default_config.gen_length``; at least ``len(target_ids)``) in one forward pass, every response
      position masked; the score is ``sum_j log p(target_j at response position j)``. With
      ``lm.shift_logits`` (Dream) the logits for position i are read from position i − 1.

    ``chat_ids`` are chat-templated prompts with the generation prompt (``lm.encode_chat``). Rows are
    right-padded with an attention mask, which leaves the logits of the real tokens unchanged, so a score
    does not depend on ``batch_size``.

    >>> chats = lm_ar.encode_chat(["How do I bake bread?"])
    >>> target = lm_ar.tokenizer("Sure", add_special_tokens=False)["input_ids"]
    >>> lp = target_logprob_ids(lm_ar, chats, target, canvas_length=None, batch_size=8)
    >>> lp.shape, bool(lp[0] < 0)
    ((1,), True)
    """
    if not isinstance(lm, LoadedModel):
        raise TypeError(f"target_logprob_ids needs a LoadedModel, got {type(lm).__name__}: use "
                        "sri_kit.load_model(...) or sri_kit.wrap_model(model, tokenizer, family=...)")
    chats = [[int(i) for i in c] for c in chat_ids]
    t_ids = [int(i) for i in target_ids]
    if not chats:
        raise ValueError("target_logprob_ids needs at least one chat")
    if not t_ids:
        raise ValueError("target_ids is empty; pass the token ids of a non-empty target such as 'Sure'")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    causal = lm.causal
    if not causal:
        if lm.mask_token_id is None:
            raise ValueError("scoring a masked diffusion model needs lm.mask_token_id")
        L = max(int(canvas_length if canvas_length is not None else lm.default_config.gen_length), len(t_ids))
        tail = [int(lm.mask_token_id)] * L
    model, device = lm.model, lm.device
    max_pos = lm.max_positions()
    out = np.empty(len(chats), dtype=np.float64)
    t_tensor = torch.tensor(t_ids, device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for b0 in range(0, len(chats), batch_size):
                chunk = chats[b0 : b0 + batch_size]
                seqs = [c + (t_ids if causal else tail) for c in chunk]
                T = max(len(s) for s in seqs)
                if max_pos is not None and T > max_pos:
                    raise ValueError(
                        f"scoring needs {T} tokens but the model's context is {max_pos}: shorten the prompt "
                        "(for random_search pass template=False or a shorter template) or reduce canvas_length"
                    )
                ids = torch.full((len(seqs), T), lm.pad_token_id, dtype=torch.long)
                att = torch.zeros((len(seqs), T), dtype=torch.long)
                for i, s in enumerate(seqs):
                    ids[i, : len(s)] = torch.tensor(s)
                    att[i, : len(s)] = 1
                logits = model(input_ids=ids.to(device), attention_mask=att.to(device)).logits.float()
                logp = torch.log_softmax(logits, dim=-1)
                for i, c in enumerate(chunk):
                    pos = torch.arange(len(c), len(c) + len(t_ids), device=device)
                    src = pos - 1 if (causal or lm.shift_logits) else pos
                    out[b0 + i] = float(logp[i, src, t_tensor].sum())
    finally:
        if was_training:
            model.train()
    return out
