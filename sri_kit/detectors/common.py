"""What the baseline defenses share: input checks, padded batches, and the verdict parsers.

Example:
    >>> parse_yes_no("Yes, this is harmful."), parse_safe_unsafe("\\n\\nunsafe\\nS2")
    (True, True)
    >>> verdict_scores([True, False, None]).tolist()
    [1.0, 0.0, 0.5]
"""
from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np
import torch

__all__ = ["check_texts", "check_responses", "pad_batch", "context_limit", "parse_yes_no", "parse_safe_unsafe",
           "verdict_scores"]


def check_texts(texts: Any, name: str) -> list[str]:
    """``texts`` as a non-empty list of strings, or a ValueError naming ``name`` and the fix.

    >>> check_texts(("a", "b"), "prompts")
    ['a', 'b']
    """
    if isinstance(texts, str):
        raise ValueError(f"{name} must be a list of strings, not one string; wrap it: [{name}].")
    texts = list(texts)
    if not texts:
        raise ValueError(f"{name} is empty; pass at least one string.")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise ValueError(f"{name} must all be strings; entries {bad[:5]} are not.")
    return texts


def check_responses(prompts: list[str], responses: Any, who: str) -> list[str]:
    """One response string per prompt, or a ValueError saying that ``who`` judges responses."""
    if responses is None:
        raise ValueError(f"{who} judges responses: pass responses=[...] (one per prompt).")
    responses = check_texts(responses, "responses")
    if len(responses) != len(prompts):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses; pass one per prompt.")
    return responses


def pad_batch(ids: Sequence[Sequence[int]], pad_id: int, device: torch.device | str = "cpu"
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token id lists into ``(input_ids, attention_mask)`` tensors on ``device``.

    >>> inp, att = pad_batch([[5, 6, 7], [8]], pad_id=0)
    >>> inp.tolist(), att.tolist()
    ([[5, 6, 7], [8, 0, 0]], [[1, 1, 1], [1, 0, 0]])
    """
    width = max(len(x) for x in ids)
    inp = torch.full((len(ids), width), pad_id, dtype=torch.long)
    att = torch.zeros((len(ids), width), dtype=torch.long)
    for i, x in enumerate(ids):
        if x:
            inp[i, : len(x)] = torch.as_tensor(list(x), dtype=torch.long)
            att[i, : len(x)] = 1
    return inp.to(device), att.to(device)


def context_limit(model: Any) -> int | None:
    """The context length an HF model's config declares, or None (for models outside a ``LoadedModel``;
    a ``LoadedModel`` answers ``lm.max_positions()``)."""
    cfg = getattr(model, "config", None)
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        v = getattr(cfg, name, None)
        if isinstance(v, int) and v > 0:
            return v
    return None


_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_SAFE = re.compile(r"\b(unsafe|safe)\b", re.IGNORECASE)


def parse_yes_no(text: str) -> bool | None:
    """First "yes"/"no" word in ``text``: True for yes, False for no, None if neither.

    >>> parse_yes_no("No, this is not harmful"), parse_yes_no("maybe")
    (False, None)
    """
    m = _YES_NO.search(text)
    return None if m is None else m.group(1).lower() == "yes"


def parse_safe_unsafe(text: str) -> bool | None:
    """LlamaGuard-style verdict: True for "unsafe", False for "safe", None if neither appears.

    >>> parse_safe_unsafe("safe"), parse_safe_unsafe("I cannot tell")
    (False, None)
    """
    m = _SAFE.search(text)
    return None if m is None else m.group(1).lower() == "unsafe"


def verdict_scores(verdicts: Sequence[bool | None]) -> np.ndarray:
    """Parsed verdicts as scores: 1.0 (flag), 0.0 (pass), 0.5 (no parsable answer)."""
    return np.array([0.5 if v is None else float(v) for v in verdicts], dtype=np.float64)
