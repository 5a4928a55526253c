"""The one pooler: how the hooked site's output becomes φ_t, for every sampler.

Two choices (the paper and its code differ; README, "Pooling: a documented choice"):

- ``reference`` (default) reproduces the paper's official code.
  Canvas samplers (masked diffusion): the mean of the hooked state over *all* response positions
  (masked ones included) on step t's forward pass. Incremental samplers (AR): the running mean over
  steps s <= t of the state at the position that predicts token s; after a row has ended its last
  state is repeated, as the reference code pads.
- ``generated`` follows the paper's §3.1 wording: generated tokens only.
  Canvas samplers: the mean over the response positions committed after step t. Incremental
  samplers: the running mean of the states of the generated tokens 0..t themselves (counted while the
  row was live).

A sampler never averages states itself: it hands the pooler what it captured and, for incremental
samplers, asks :attr:`Pooler.source` which state to hand over.

Example:
    >>> import torch
    >>> from sri_kit.sampling.pooling import Pooler
    >>> h = torch.tensor([[[1.0, 0.0], [3.0, 2.0]]])          # [B=1, L=2, D=2]
    >>> Pooler("reference").canvas(h, committed=torch.tensor([[True, False]]))
    tensor([[2., 1.]])
    >>> Pooler("generated").canvas(h, committed=torch.tensor([[True, False]]))
    tensor([[1., 0.]])
"""
from __future__ import annotations

import torch

from ..config import POOLINGS

__all__ = ["Pooler", "masked_mean"]


def masked_mean(h: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over positions of ``h`` [B, L, D] -> float32 [B, D].

    ``weights`` [B, L] (bool or float) restricts the mean to some positions; rows whose weights sum to
    zero give zeros.
    """
    h = h.float()
    if weights is None:
        return h.mean(dim=1)
    w = weights.to(h.dtype)
    return (h * w.unsqueeze(-1)).sum(1) / w.sum(1, keepdim=True).clamp_min(1.0)


class Pooler:
    """Turns captured states into φ_t under one pooling choice (``reference`` or ``generated``)."""

    def __init__(self, mode: str):
        if mode not in POOLINGS:
            raise ValueError(f"unknown pooling {mode!r}; choose one of {POOLINGS}")
        self.mode = mode
        self._sum: torch.Tensor | None = None
        self._count: torch.Tensor | None = None
        self._frozen: torch.Tensor | None = None

    # ---- canvas samplers: one forward pass sees every response position -------------------------
    def canvas(self, states: torch.Tensor, committed: torch.Tensor) -> torch.Tensor:
        """φ_t [B, D] from the response states [B, L, D] of this step's forward pass.

        ``committed`` [B, L]: which response positions are fixed after this step.
        """
        return masked_mean(states, committed if self.mode == "generated" else None)

    # ---- incremental samplers: one new position per step ----------------------------------------
    @property
    def source(self) -> str:
        """Which state an incremental sampler hands to :meth:`step`: ``"predictor"`` (the state at the
        position that predicts the new token, available before it is chosen) or ``"token"`` (the state
        of the new token itself, which needs its forward pass)."""
        return "predictor" if self.mode == "reference" else "token"

    def step(self, state: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
        """Add one step's state [B, D] (rows flagged by ``live`` [B] have not ended) -> φ_t [B, D]."""
        state = state.float()
        if self._sum is None:
            self._sum = torch.zeros_like(state)
            self._count = torch.zeros((state.shape[0], 1), dtype=state.dtype, device=state.device)
            self._frozen = torch.zeros_like(state)
        live = live[:, None]
        if self.mode == "reference":       # the state that predicted the current token, frozen after the end
            self._frozen = torch.where(live, state, self._frozen)
            self._sum += self._frozen
            self._count += 1.0
        else:                              # generated tokens only, counted while the row was live
            self._sum += state * live
            self._count += live
        return self._sum / self._count.clamp_min(1.0)
