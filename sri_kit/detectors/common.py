"""What the baseline defenses share: padded batches and the guard verdict parser; the input checks
and the yes/no parser are the kit's ones from :mod:`sri_kit.judges` (re-exported here).

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

from ..judges import check_responses, check_texts, parse_yes_no

__all__ = ["check_texts", "check_responses", "pad_batch", "context_limit", "parse_yes_no", "parse_safe_unsafe",
           "verdict_scores"]


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


_SAFE = re.compile(r"\b(unsafe|safe)\b", re.IGNORECASE)


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
