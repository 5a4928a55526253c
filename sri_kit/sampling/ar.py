"""The autoregressive sampler: batched, left-padded, KV-cached; one step = one token.

φ_t comes from the per-step door (``recorder.py``) and its pooler: with ``pooling="reference"`` the running
mean of the state that predicts each token, with ``pooling="generated"`` the running mean of the generated
tokens' own states, which needs one extra single-token forward pass after the last step.

Example:
    >>> from sri_kit import GenerationConfig
    >>> from sri_kit.sampling import get_sampler
    >>> out = get_sampler("ar").run(lm_ar, lm_ar.encode_chat(["Hi"]), GenerationConfig(steps=4))
    >>> tuple(out.activations.shape[:2]), tuple(out.predicted.shape), out.n_forward
    ((1, 4), (1, 4, 4), 4)
"""
from __future__ import annotations

import torch

from ..config import GenerationConfig
from ..models import LoadedModel, accepts
from .base import SampleBatch, Sampler
from .common import filter_logits, generators, left_pad

__all__ = ["ARSampler"]


def _choose(logits: torch.Tensor, cfg: GenerationConfig, gens) -> tuple[torch.Tensor, torch.Tensor]:
    """Next token and its probability per row. logits: float32 [B, V]."""
    if cfg.temperature == 0:
        tok = logits.argmax(-1)
        prob = torch.softmax(logits, -1).gather(-1, tok[:, None])[:, 0]
        return tok, prob
    probs = torch.softmax(filter_logits(logits / cfg.temperature, cfg.top_k, cfg.top_p), -1)
    tok = torch.stack([torch.multinomial(probs[i], 1, generator=g)[0] for i, g in enumerate(gens)])
    return tok, probs.gather(-1, tok[:, None])[:, 0]


class ARSampler(Sampler):
    """Next-token sampling for causal LMs: exactly ``steps`` tokens per prompt (the paper's code)."""

    name = "ar"
    families = ("ar",)
    revises = False

    def response_positions(self, cfg: GenerationConfig) -> int:
        return cfg.steps + 1

    @torch.no_grad()
    def run(self, lm: LoadedModel, rows: list[list[int]], cfg: GenerationConfig, *,
            record: bool = True, door=None) -> SampleBatch:
        self.validate(lm, cfg)
        door = self.door(lm, cfg, record, door)
        record = door.record
        model, dev, T = lm.model, lm.device, cfg.steps
        end_ids = torch.tensor(lm.end_token_ids or [lm.pad_token_id], device=dev)
        pad = lm.pad_token_id
        fill = int(end_ids[0])
        x, attn, pos, _ = left_pad(rows, pad, dev)
        B = len(rows)
        gens = generators(cfg.seed, rows, dev) if cfg.temperature > 0 else None
        tokens = torch.full((B, T), fill, dtype=torch.long, device=dev)
        conf = torch.zeros((B, T), device=dev)
        finished = torch.zeros(B, dtype=torch.bool, device=dev)
        # the token source needs the state of the last token too: one more forward after the last step
        extra_forward = record and door.source == "token"
        # transformers >= 5.2x names the KV cache `cache`; older releases `past_key_values`
        cache_arg = "cache" if accepts(model, "cache") else "past_key_values"
        # only the last position's logits are needed (HF generate does the same)
        keep = {"logits_to_keep": 1} if accepts(model, "logits_to_keep") else {}
        # step t's forward pass is the one whose logits choose token t (the prompt's pass is step 0)
        with door.attach(model, steps=T, cols=slice(-1, None)):
            door.at(0)
            out = model(input_ids=x, attention_mask=attn, position_ids=pos, use_cache=True, **keep)
            n_forward = 1
            logits, cache = out.logits[:, -1].float(), out[cache_arg]
            next_pos = pos[:, -1:] + 1
            for t in range(T):
                live = ~finished
                if door.source == "predictor":
                    door.incremental(t, live)
                tok, p = _choose(logits, cfg, gens)
                tok = torch.where(live, tok, torch.full_like(tok, pad))
                tokens[:, t] = torch.where(live, tok, tokens[:, t])
                conf[:, t] = torch.where(live, p, torch.ones_like(p))
                finished = finished | torch.isin(tok, end_ids)
                if (t < T - 1 or extra_forward) and (live.any() if record else (~finished).any()):
                    attn = torch.cat([attn, torch.ones((B, 1), dtype=attn.dtype, device=dev)], 1)
                    door.at(t + 1)
                    out = model(input_ids=tok[:, None], attention_mask=attn, position_ids=next_pos,
                                use_cache=True, **{cache_arg: cache})
                    n_forward += 1
                    logits, cache = out.logits[:, -1].float(), out[cache_arg]
                    next_pos = next_pos + 1
                elif not record and finished.all():
                    break                      # text only: nothing left to generate
                if door.source == "token":
                    door.incremental(t, live)
        if not record:
            return door.batch(tokens, n_forward)
        predicted = tokens[:, None, :].expand(B, T, T).clone()
        later = torch.triu(torch.ones((T, T), dtype=torch.bool, device=dev), diagonal=1)   # [t, s]: s > t
        predicted[:, later] = fill
        committed = (~later)[None].expand(B, T, T)
        confidence = conf[:, None, :].expand(B, T, T) * committed
        return door.batch(tokens, n_forward, predicted=predicted.cpu(), committed=committed.cpu(),
                          confidence=confidence.float().cpu())
