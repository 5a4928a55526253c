"""Block decoding with a KV cache (Fast-dLLM's prefix cache and dual cache) for masked-diffusion models
whose attention the kit controls.

Both samplers decode block by block like ``diffusion`` / ``threshold`` (same x̂0, confidence, commit
rule: option ``threshold``, default 1.0 = LLaDA's schedule, exactly ``diffusion``'s commits). The first
step of every block is a full forward pass that also returns the keys and values of the whole canvas;
the block's later steps reuse them:

- ``"prefix_cache"``: the later steps run only ``[block | everything after it]``; the keys/values of
  the columns before the block come from the block's first step.
- ``"dual_cache"``: the later steps run only the block; the keys/values before *and after* it come from
  the block's first step (the block's own columns are overwritten in the cache, ``replace_position``).

**Approximate, not exact**: attention is bidirectional, so in exact decoding the cached columns' keys
and values change whenever the block commits a token; here they stay as they were at the block's
first step (Fast-dLLM's approximation: they change little inside one block). What a cached step does
not recompute keeps its last value in the trace: ``predicted`` / ``confidence`` outside the window, and
the hooked states φ_t pools over (the response columns outside the window hold the states of the
block's first step). ``cache=False`` runs a full forward pass at every step instead: the exact sampler,
token for token (``diffusion`` with threshold 1.0, ``threshold`` otherwise), for checks.

Models: the forward must take ``past_key_values`` (a tuple of per-layer ``(key, value)``),
``use_cache`` and ``replace_position`` as the kit-native LLaDA and Dream do (``sri_kit.native``;
Fast-dLLM's convention); the organism tiny-dlm is a kit-native Dream module and takes them. A model without
a KV cache in its forward (e.g. ModernBERT, transformers' encoder) is refused with a ConfigError (a cache would
need a re-implementation of its attention; use ``threshold``). Rows move through the blocks together (a cache is shared by the
batch); a row whose block is full waits, so its tokens and steps do not depend on the batch. Not
supported: mask tokens inside the prompt (DIJA), ``cfg_scale > 0``.

Example:
    >>> from sri_kit import GenerationConfig
    >>> from sri_kit.sampling.cached import DualCacheSampler
    >>> DualCacheSampler().validate(lm_dlm, GenerationConfig(sampler="dual_cache"))   # tiny-dlm takes a cache
    >>> DualCacheSampler().validate(lm_dlm, GenerationConfig(sampler="dual_cache", cfg_scale=1.0))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    sri_kit.errors.ConfigError: the 'dual_cache' sampler does not run classifier-free guidance: ...
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import GenerationConfig
from ..errors import ConfigError, InputTypeError, check_float
from ..hooks import head_from
from ..models import LoadedModel, accepts
from .base import SampleBatch
from .common import generators, left_pad
from .diffusion import predict
from .threshold import ThresholdSampler, commit_counts, draw_noise

__all__ = ["CacheOptions", "PrefixCacheSampler", "DualCacheSampler", "supports_cache"]


@dataclass(frozen=True)
class CacheOptions:
    """threshold: commit every block position with confidence > threshold, at least the schedule's floor
    (1.0: the schedule alone, as ``diffusion``). cache: False runs a full forward every step (exact)."""

    threshold: float = 1.0
    cache: bool = True

    def __post_init__(self) -> None:
        check_float("threshold", self.threshold, lo=0.0, hi=1.0, where="cached sampler")
        if not isinstance(self.cache, bool):
            raise InputTypeError(f"cached sampler: cache must be True or False, got {self.cache!r}")


def supports_cache(model) -> bool:
    """Whether ``model``'s forward takes ``past_key_values``, ``use_cache`` and ``replace_position``."""
    return all(accepts(model, k) for k in ("past_key_values", "use_cache", "replace_position"))


class _CachedSampler(ThresholdSampler):
    mode = "prefix"
    Options = CacheOptions
    fills_prompt_masks = False

    def rule(self, cfg: GenerationConfig) -> dict:
        return {"threshold": self.options(cfg).threshold}

    def validate(self, lm: LoadedModel | None, cfg: GenerationConfig) -> None:
        super().validate(lm, cfg)
        if cfg.cfg_scale > 0:
            raise ConfigError(f"the {self.name!r} sampler does not run classifier-free guidance: use cfg_scale=0 or "
                              f"the 'diffusion' / 'threshold' sampler")
        if lm is not None and self.options(cfg).cache and not supports_cache(lm.model):
            raise ConfigError(f"the {self.name!r} sampler needs a model whose forward takes a KV cache "
                              f"(past_key_values, use_cache, replace_position: the kit-native LLaDA / Dream); "
                              f"{lm.name} ({type(lm.model).__name__}) has none: use the 'threshold' sampler, or "
                              f"options={{'cache': False}}")

    @torch.no_grad()
    def run(self, lm: LoadedModel, rows: list[list[int]], cfg: GenerationConfig, *,
            record: bool = True, door=None) -> SampleBatch:
        self.validate(lm, cfg)
        door = self.door(lm, cfg, record, door)
        record = door.record
        opts = self.options(cfg)
        model, dev, mask_id = lm.model, lm.device, lm.mask_token_id
        L, B = cfg.gen_length, len(rows)
        x, attn, pos, P = left_pad(rows, lm.pad_token_id, dev, extra=L, fill_id=mask_id)
        if (x[:, :P] == mask_id).any():
            raise ConfigError(f"the {self.name!r} sampler does not fill mask tokens inside the prompt; use the "
                              f"'diffusion' or 'threshold' sampler")
        S = P + L
        shift = 1 if lm.shift_logits else 0       # Dream: column i's token is read from the logits at i − 1
        padded = bool((attn == 0).any())
        gens = generators(cfg.seed, rows, dev) if cfg.temperature > 0 else None
        no_fill = torch.zeros(B, dtype=torch.long, device=dev)
        no_prompt_fill = torch.zeros((B, P), dtype=torch.bool, device=dev)
        rule = self.rule(cfg)
        bl = self.block_length(cfg)
        n_blocks, spb = L // bl, cfg.steps // (L // bl)
        t_row = torch.zeros(B, dtype=torch.long, device=dev)
        pred = torch.zeros((B, L), dtype=torch.long, device=dev)          # last computed x̂0 / p(x̂0) / states
        conf_all = torch.zeros((B, L), dtype=torch.float32, device=dev)
        n_forward = 0
        with door.attach(model, steps=cfg.steps):
            for b in range(n_blocks):
                bs, be = P + b * bl, P + (b + 1) * bl
                ws = bs - shift                                  # first column whose logits are read
                we = be if self.mode == "dual" else S
                used = torch.zeros(B, dtype=torch.long, device=dev)
                past = None
                for s in range(spb):
                    live = ((x[:, bs:be] == mask_id).any(-1)).nonzero()[:, 0]
                    if not live.numel():
                        break
                    door.at(t_row[live])
                    if past is None:         # a full pass: logits of the whole response, keys/values of the canvas
                        kwargs = {"attention_mask": attn[live], "position_ids": pos[live]} if padded else {}
                        if opts.cache:
                            kwargs["use_cache"] = True
                        with head_from(model, P - shift):
                            out = model(input_ids=x[live], **kwargs)
                        logits = out.logits[:, P - shift:] if out.logits.shape[1] == S else out.logits
                        c_lo, c_hi, col0 = P, S, 0
                        if opts.cache:       # a block's first step: every row still has masks in it, live == all rows
                            kv = out.past_key_values
                            past = tuple((k[..., :ws, :], v[..., :ws, :]) for k, v in kv) if self.mode == "prefix" \
                                else tuple(kv)
                    else:                    # a cached pass over the window [ws, we)
                        sub = past if len(live) == B else tuple((k[live], v[live]) for k, v in past)
                        kwargs = {"past_key_values": sub, "position_ids": pos[live, ws:we]}
                        if padded:
                            kwargs["attention_mask"] = attn[live]
                        if self.mode == "dual":
                            kwargs["replace_position"] = torch.arange(ws, we, device=dev)
                        logits = model(input_ids=x[live, ws:we], **kwargs).logits
                        c_lo, c_hi, col0 = bs, we, ws
                    n_forward += 1
                    la32 = logits[:, :c_hi - c_lo]               # logits column j reads canvas column c_lo + j
                    cur = x[live, c_lo:c_hi]
                    m = cur == mask_id
                    c = torch.arange(c_lo, c_hi, device=dev)
                    compete = m & ((c >= bs) & (c < be))[None]
                    noise = None
                    if gens is not None:     # every live row draws its whole response, as the diffusion sampler
                        noise = draw_noise(gens, live, no_fill, no_prompt_fill, P, L, P, la32.shape[-1], dev)
                        noise = noise[:, c_lo - P:c_hi - P]
                    x0, conf, p_x0 = predict(la32, cur, m, compete, cfg, noise, None, conf=record)   # low_confidence: p(x̂0)
                    left = compete.sum(-1)
                    budget = spb - used[live]
                    n_commit = commit_counts(conf, (left + budget - 1) // budget, **rule)
                    rank = conf.argsort(dim=-1, descending=True, stable=True).argsort(dim=-1, stable=True)
                    transfer = rank < n_commit[:, None]
                    cur[transfer] = x0[transfer]
                    x[live, c_lo:c_hi] = cur
                    used[live] += 1
                    if record:
                        pred[live, c_lo - P:c_hi - P] = x0
                        conf_all[live, c_lo - P:c_hi - P] = p_x0
                        resp = x[live, P:] != mask_id
                        pr = torch.where(resp, x[live, P:], pred[live])    # committed columns show their token
                        # the hooked states cover the columns from col0 (this pass's window)
                        door.canvas(t_row[live], resp, predicted=pr, confidence=conf_all[live], rows=live, batch=B,
                                    first_col=col0 - P)
                    t_row[live] += 1
        return door.batch(x[:, P:], n_forward, n_steps=t_row)


class PrefixCacheSampler(_CachedSampler):
    """Block decoding that reuses the keys/values of the columns before the block (Fast-dLLM's prefix cache)."""

    name = "prefix_cache"
    mode = "prefix"


class DualCacheSampler(_CachedSampler):
    """Block decoding that reuses the keys/values before and after the block (Fast-dLLM's dual cache)."""

    name = "dual_cache"
    mode = "dual"
