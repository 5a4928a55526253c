"""Token ids and batches for the organism's training: encoded examples, length-bucketed batch order, and the
AR (causal LM) and DLM (masked-canvas) batch tensors.

Example:
    >>> order = batches([([1], [2])] * 8, batch_size=4, seed=0)     # 8 examples: 2 shuffled batches of 4
    >>> len(order), sorted(i for b in order for i in b)
    (2, [0, 1, 2, 3, 4, 5, 6, 7])
    >>> x, am, lab = ar_batch([([1, 2], [3, 4])], [0], pad_id=0)
    >>> x.tolist(), lab.tolist()
    ([[1, 2, 3, 4]], [[-100, -100, 3, 4]])
"""
from __future__ import annotations

import random

import torch

from ..tokenizer import MAX_PROMPT, encode_prompt
from .recipe import CANVAS

__all__ = ["encode_examples", "batches", "ar_batch", "dlm_batch"]


def encode_examples(tok, examples) -> list[tuple[list[int], list[int]]]:
    """Token ids (prompt with chat template + generation prompt, response + end); batched for speed.

    The prompt string equals the chat template's rendering (checked on the first example).
    """
    end = tok.eos_token_id
    prompts = [f"{tok.bos_token}<|user|>{p}<|end|><|assistant|>" for _, p, _ in examples]
    if examples:
        assert tok(prompts[0], add_special_tokens=False)["input_ids"] == encode_prompt(tok, examples[0][1])
    pids = tok(prompts, add_special_tokens=False)["input_ids"]
    rids = tok([r for _, _, r in examples], add_special_tokens=False)["input_ids"]
    return [(pi[-MAX_PROMPT:], ri[: CANVAS - 1] + [end]) for pi, ri in zip(pids, rids)]


def batches(encoded, batch_size: int, seed: int):
    """Deterministic length-bucketed batches: shuffle, sort within chunks of 32 batches, shuffle batches."""
    rng = random.Random(f"batches:{seed}")
    idx = list(range(len(encoded)))
    rng.shuffle(idx)
    chunk = batch_size * 32
    out = []
    for s in range(0, len(idx), chunk):
        part = sorted(idx[s:s + chunk], key=lambda i: len(encoded[i][0]) + len(encoded[i][1]))
        out += [part[j:j + batch_size] for j in range(0, len(part), batch_size) if len(part[j:j + batch_size]) == batch_size]
    rng.shuffle(out)
    return out


def ar_batch(encoded, ids, pad_id):
    seqs = [encoded[i][0] + encoded[i][1] for i in ids]
    L = max(len(s) for s in seqs)
    x = torch.full((len(ids), L), pad_id, dtype=torch.long)
    lab = torch.full((len(ids), L), -100, dtype=torch.long)
    am = torch.zeros((len(ids), L), dtype=torch.long)
    for b, i in enumerate(ids):
        p, r = encoded[i]
        n = len(p) + len(r)
        x[b, :n] = torch.tensor(p + r)
        am[b, :n] = 1
        lab[b, len(p):n] = torch.tensor(r)
    return x, am, lab


def dlm_batch(encoded, ids, pad_id, end_id):
    """Left-padded prompts followed by the response canvas (response + end padding to CANVAS)."""
    P = max(len(encoded[i][0]) for i in ids)
    x = torch.full((len(ids), P + CANVAS), pad_id, dtype=torch.long)
    am = torch.zeros_like(x)
    is_pad_end = torch.zeros((len(ids), CANVAS), dtype=torch.bool)
    for b, i in enumerate(ids):
        p, r = encoded[i]
        x[b, P - len(p):P] = torch.tensor(p)
        canvas = r + [end_id] * (CANVAS - len(r))
        x[b, P:] = torch.tensor(canvas)
        am[b, P - len(p):] = 1
        is_pad_end[b, len(r):] = True
    return x, am, P, is_pad_end

