"""Small pieces shared by the AR and diffusion samplers."""
from __future__ import annotations

import hashlib

import torch


def row_seed(seed: int, ids) -> int:
    """A seed for one row, derived from the config seed and the row's input ids.

    Every random draw of a row comes from its own generator, so a prompt gets the same sample
    whether it runs alone or in a batch (vary ``seed`` for several samples of one prompt).
    """
    h = hashlib.sha256(f"{seed}:{','.join(map(str, ids))}".encode()).digest()
    return int.from_bytes(h[:8], "little") & (2**63 - 1)


def generators(seed: int, rows, device) -> list[torch.Generator]:
    gens = []
    for ids in rows:
        g = torch.Generator(device=device)
        g.manual_seed(row_seed(seed, ids))
        gens.append(g)
    return gens


def left_pad(rows: list[list[int]], pad_id: int, device, extra: int = 0, fill_id: int | None = None):
    """Left-padded ids [B, P + extra] (the extra columns hold ``fill_id``), attention mask, position ids."""
    B, P = len(rows), max(len(r) for r in rows)
    x = torch.full((B, P + extra), pad_id, dtype=torch.long)
    attn = torch.zeros((B, P + extra), dtype=torch.long)
    for i, r in enumerate(rows):
        x[i, P - len(r):P] = torch.tensor(r, dtype=torch.long)
        attn[i, P - len(r):] = 1
    if extra and fill_id is not None:
        x[:, P:] = fill_id
    pos = (attn.cumsum(-1) - 1).clamp_min(0)
    return x.to(device), attn.to(device), pos.to(device), P


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Top-k then top-p (nucleus) filtering on the last dimension: removed entries become -inf."""
    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        srt, idx = torch.sort(logits, dim=-1, descending=True)
        cum = torch.softmax(srt, dim=-1).cumsum(-1)
        drop = cum - torch.softmax(srt, dim=-1) >= top_p      # keep the smallest prefix reaching top_p
        srt = srt.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, idx, srt)
    return logits
