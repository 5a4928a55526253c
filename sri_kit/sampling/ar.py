"""The autoregressive sampler: batched, left-padded, KV-cached; one step = one token.

φ_t with ``pooling="reference"`` is the official code's: the running mean over steps s <= t of the
hooked state at the position that predicts token s (the last prompt token at s = 0); after a row ends,
its last state is repeated, as the reference code pads. With ``pooling="generated"`` it is the running
mean of the states of the generated tokens 0..t themselves (the paper's §3.1 wording), which needs one
extra single-token forward pass after the last step.
"""
from __future__ import annotations

import torch

from ..config import GenerationConfig
from ..hooks import record_steps
from ..models import accepts
from .common import filter_logits, generators, left_pad


def _choose(logits: torch.Tensor, cfg: GenerationConfig, gens) -> tuple[torch.Tensor, torch.Tensor]:
    """Next token and its probability per row. logits: float32 [B, V]."""
    if cfg.temperature == 0:
        tok = logits.argmax(-1)
        prob = torch.softmax(logits, -1).gather(-1, tok[:, None])[:, 0]
        return tok, prob
    probs = torch.softmax(filter_logits(logits / cfg.temperature, cfg.top_k, cfg.top_p), -1)
    tok = torch.stack([torch.multinomial(probs[i], 1, generator=g)[0] for i, g in enumerate(gens)])
    return tok, probs.gather(-1, tok[:, None])[:, 0]


@torch.no_grad()
def sample_ar_batch(lm, rows: list[list[int]], cfg: GenerationConfig) -> dict:
    """Generate ``cfg.steps`` tokens for each row of ids. Returns numpy-ready tensors on CPU."""
    model, dev, T = lm.model, lm.device, cfg.steps
    end_ids = torch.tensor(lm.end_token_ids or [lm.pad_token_id], device=dev)
    pad = lm.pad_token_id
    fill = int(end_ids[0])
    x, attn, pos, P = left_pad(rows, pad, dev)
    B = len(rows)
    gens = generators(cfg.seed, rows, dev) if cfg.temperature > 0 else None
    tokens = torch.full((B, T), fill, dtype=torch.long, device=dev)
    conf = torch.zeros((B, T), device=dev)
    finished = torch.zeros(B, dtype=torch.bool, device=dev)
    generated = cfg.pooling == "generated"
    # transformers >= 5.2x names the KV cache `cache`; older releases `past_key_values`
    cache_arg = "cache" if accepts(model, "cache") else "past_key_values"
    # only the last prompt position's logits are needed (HF generate does the same)
    keep = {"logits_to_keep": 1} if accepts(model, "logits_to_keep") else {}
    with record_steps(model, lm.hook_site, layer=cfg.layer, cols=slice(-1, None)) as rec:
        out = model(input_ids=x, attention_mask=attn, position_ids=pos, use_cache=True, **keep)
        logits, cache = out.logits[:, -1].float(), out[cache_arg]
        D = rec.last.shape[-1]
        frozen = torch.zeros((B, D), device=dev)     # state that predicted the current token (frozen after the end)
        run = torch.zeros((B, D), device=dev)
        count = torch.zeros((B, 1), device=dev)
        phi = torch.zeros((T, B, D), device=dev)
        next_pos = pos[:, -1:] + 1
        for t in range(T):
            live = ~finished
            if not generated:
                frozen = torch.where(live[:, None], rec.pool(), frozen)
            tok, p = _choose(logits, cfg, gens)
            tok = torch.where(live, tok, torch.full_like(tok, pad))
            tokens[:, t] = torch.where(live, tok, tokens[:, t])
            conf[:, t] = torch.where(live, p, torch.ones_like(p))
            finished = finished | torch.isin(tok, end_ids)
            if live.any() and (t < T - 1 or generated):
                attn = torch.cat([attn, torch.ones((B, 1), dtype=attn.dtype, device=dev)], 1)
                out = model(input_ids=tok[:, None], attention_mask=attn, position_ids=next_pos,
                            use_cache=True, **{cache_arg: cache})
                logits, cache = out.logits[:, -1].float(), out[cache_arg]
                next_pos = next_pos + 1
            if generated:   # the state of token t itself, counted while the row was live
                run += rec.pool() * live[:, None]
                count += live[:, None]
                phi[t] = run / count.clamp_min(1.0)
            else:
                run += frozen
                phi[t] = run / (t + 1)
    predicted = tokens[:, None, :].expand(B, T, T).clone()
    later = torch.triu(torch.ones((T, T), dtype=torch.bool, device=dev), diagonal=1)   # [t, s]: s > t
    predicted[:, later] = fill
    committed = (~later)[None].expand(B, T, T)
    confidence = conf[:, None, :].expand(B, T, T) * committed
    return {"activations": phi.transpose(0, 1).cpu(), "predicted": predicted.cpu(), "committed": committed.cpu(),
            "confidence": confidence.float().cpu(), "response_ids": tokens.cpu(), "n_forward": None}
