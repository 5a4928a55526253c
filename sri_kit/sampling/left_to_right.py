"""A DLM decoded AR-style: each step commits exactly the leftmost masked position, nothing is revised
after it is committed (the paper's fixed-weights experiment). Everything else is the masked-diffusion
sampler's: one forward pass per step over the whole canvas, x̂0 at every masked position.

This file is the whole sampler; it is registered in ``sampling/__init__.py`` with one line.

Example:
    >>> from sri_kit import GenerationConfig
    >>> from sri_kit.sampling import get_sampler
    >>> cfg = GenerationConfig(steps=8, gen_length=8, order="left_to_right")
    >>> out = get_sampler("left_to_right").run(lm_dlm, lm_dlm.encode_chat(["Hi"]), cfg)
    >>> out.committed[0].sum(-1).tolist()            # one more committed position per step
    [1, 2, 3, 4, 5, 6, 7, 8]
"""
from __future__ import annotations

import torch

from ..config import GenerationConfig
from ..errors import ConfigError
from ..models import LoadedModel
from .diffusion import MaskedDiffusionSampler

__all__ = ["LeftToRightSampler"]


class LeftToRightSampler(MaskedDiffusionSampler):
    """One token per step, left to right, on a masked-diffusion model (needs ``steps == gen_length``)."""

    name = "left_to_right"
    ranks = False
    fills_prompt_masks = False
    settings = MaskedDiffusionSampler.settings

    def validate(self, lm: LoadedModel, cfg: GenerationConfig) -> None:
        super().validate(lm, cfg)
        if cfg.steps != cfg.gen_length:
            raise ConfigError(f"the left_to_right sampler commits one token per step: set steps == gen_length "
                              f"(got steps={cfg.steps}, gen_length={cfg.gen_length})")

    def short_config(self, base: GenerationConfig, n_tokens: int) -> GenerationConfig:
        return base.replace(steps=n_tokens, gen_length=n_tokens, block_length=None, temperature=0.0)

    def block_length(self, cfg: GenerationConfig) -> int:
        return cfg.gen_length

    def select(self, score: torch.Tensor, k, t: int, offset: int) -> torch.Tensor:
        transfer = torch.zeros(score.shape, dtype=torch.bool, device=score.device)
        transfer[:, offset + t] = True
        return transfer
