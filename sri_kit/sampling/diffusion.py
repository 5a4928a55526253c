"""The masked-diffusion sampler (LLaDA's algorithm, with Dream-style options).

Canvas ``[prompt | mask × gen_length]``, split into blocks of ``block_length``; the steps are split
evenly over the blocks and, inside a block, the masked positions are committed on LLaDA's uniform
schedule (``get_num_transfer_tokens``). At every step: one forward pass; x̂0 = argmax of the logits
(Gumbel-max in float64 when temperature > 0); rank the masked positions of the current block by the
remasking score and commit the top k; committed tokens never change, the rest are re-predicted next
step. Mask tokens inside the prompt (DIJA-style prompts) are filled during the first block,
competing with the block's response positions. Subclasses change which positions a step commits
(``left_to_right.py`` commits the leftmost masked one: a DLM decoded AR-style).

Cost: the output projection runs only on the active positions (``hooks.head_from``; the prompt's
logits are never used), and LLaDA's float64 softmax only on the positions that compete for a commit
in this step, so no float64 [B, L, V] tensor is ever built; the results are those of the plain loop
(tests/test_samplers.py compares tokens, commits and confidences).

Text only (``generate_texts``: ``run(..., record=False, until_decided=True)``): a row leaves the batch as
soon as its text is decided (:func:`response_closed`: an end token is committed and every position before
the first one is committed). Committed tokens never change and the decoder cuts at the first end token,
so the later steps, which only fill positions after it, cannot change the text; the row's canvas keeps
its masks there. Rows are independent of their batch, so the others run on as before: same texts, fewer
rows through the model (tests/test_fast_decoding.py; on the organism about 1.9× for diffusion and 2.6×
for left-to-right decoding, ``benchmarks/text_only.py``).

φ_t comes from the per-step door (``recorder.py``): the pooler on the response positions of step t's
forward pass.

Example:
    >>> from sri_kit import GenerationConfig
    >>> from sri_kit.sampling import get_sampler
    >>> cfg = GenerationConfig(steps=4, gen_length=8)
    >>> out = get_sampler("diffusion").run(lm_dlm, lm_dlm.encode_chat(["Hi"]), cfg)
    >>> tuple(out.committed.shape), out.committed[0, -1].all().item(), out.n_forward
    ((1, 4, 8), True, 4)
"""
from __future__ import annotations

import torch

from ..config import GenerationConfig
from ..errors import ConfigError
from ..hooks import head_from
from ..models import LoadedModel, accepts
from .base import SampleBatch, Sampler
from .common import filter_logits, generators, left_pad
from .trace import end_token_set

__all__ = ["MaskedDiffusionSampler", "num_transfer_tokens", "predict", "active_logits", "end_ids", "response_closed"]


def num_transfer_tokens(n_masked: torch.Tensor, steps: int) -> torch.Tensor:
    """LLaDA's uniform schedule: [B] masked counts -> [B, steps] tokens to commit per step."""
    base = n_masked // steps
    rem = n_masked % steps
    out = base[:, None].expand(-1, steps).clone()
    out += (torch.arange(steps, device=n_masked.device)[None] < rem[:, None]).long()
    return out


def _rows_per_chunk(V: int, itemsize: int, device: torch.device) -> int:
    """Rows of V entries per chunk: ~2 MB on a CPU (temporaries stay in cache), ~256 MB on a GPU."""
    budget = (256 << 20) if device.type == "cuda" else (2 << 20)
    return max(1, budget // (V * itemsize))


def predict(la32: torch.Tensor, current: torch.Tensor, masked: torch.Tensor, compete: torch.Tensor,
             cfg: GenerationConfig, noise: torch.Tensor | None, rand: torch.Tensor | None, conf: bool = True):
    """x̂0 [B, A], ranking score [B, A] (float64, −inf off ``compete``) and p(x̂0) [B, A] (float32).

    ``la32``: float32 logits [B, A, V]; ``current``: the canvas tokens [B, A]; ``masked``: which of them
    are masks (x̂0 is the model's prediction there and the current token elsewhere, as LLaDA);
    ``compete``: the masked positions inside the current block, which are ranked for a commit. The
    ranking uses LLaDA's float64 softmax, computed only on the ``compete`` rows, with exactly the
    per-row arithmetic of one call on the whole batch. At temperature 0 without top-k/top-p (the usual
    config) x̂0 is the float32 argmax (the float64 upcast is exact, so it is the same token) and p(x̂0)
    of the other rows, kept only for the trace, is exp(logit − logsumexp) in float32. With sampling or
    filtering every row goes through float64 (Gumbel-max needs each row's noise anyway). Rows are
    processed in cache-sized chunks (``_rows_per_chunk``). ``conf=False`` (text only) skips p(x̂0) of the
    positions that do not compete (their entries are then undefined).
    """
    B, A, V = la32.shape
    dev = la32.device
    score = torch.full((B, A), float("-inf"), dtype=torch.float64, device=dev)
    if noise is None and cfg.top_k == 0 and cfg.top_p >= 1.0:
        flat, cur, msk = la32.flatten(0, 1), current.flatten(), masked.flatten()
        x0 = torch.empty_like(cur)
        p_x0 = torch.empty(cur.shape, dtype=torch.float32, device=dev)
        n = _rows_per_chunk(V, 4, dev)
        for i in range(0, len(flat), n):
            c = flat[i:i + n]
            tok = torch.where(msk[i:i + n], c.max(-1).indices, cur[i:i + n])   # first maximum, as argmax
            x0[i:i + n] = tok
            if conf:
                p_x0[i:i + n] = (c.gather(-1, tok[:, None])[:, 0] - torch.logsumexp(c, -1)).exp()
        x0, p_x0 = x0.view(B, A), p_x0.view(B, A)
        idx = compete.nonzero(as_tuple=True)
        if idx[0].numel():
            rows, x0r = la32[idx], x0[idx]                                  # [n, V], [n]
            rr = None if rand is None else rand[idx]
            n = _rows_per_chunk(V, 8, dev)
            parts = [_score(rows[i:i + n].to(torch.float64), x0r[i:i + n], cfg.remasking,
                            None if rr is None else rr[i:i + n]) for i in range(0, len(rows), n)]
            score[idx] = torch.cat([sc for sc, _ in parts])
            p_x0[idx] = torch.cat([p for _, p in parts]).float()
        return x0, score, p_x0
    n = max(1, _rows_per_chunk(V, 8, dev) // A)           # batch rows per float64 chunk
    x0s, scores, ps = [], [], []
    for i in range(0, B, n):
        la = filter_logits(la32[i:i + n].to(torch.float64), cfg.top_k, cfg.top_p)
        if noise is not None:       # Gumbel-max in float64, as LLaDA's add_gumbel_noise
            x0 = (la.exp() / (-torch.log(noise[i:i + n])) ** cfg.temperature).argmax(-1)
        else:
            x0 = la.argmax(-1)
        x0 = torch.where(masked[i:i + n], x0, current[i:i + n])
        sc, p = _score(la, x0, cfg.remasking, None if rand is None else rand[i:i + n])
        x0s.append(x0), scores.append(sc), ps.append(p.float())
    score = torch.where(compete, torch.cat(scores), score)
    return torch.cat(x0s), score, torch.cat(ps)


def _score(logits: torch.Tensor, x0: torch.Tensor, remasking: str, rand: torch.Tensor | None):
    """(confidence used for ranking, probability of x0) per position. logits float64 [..., V]."""
    p = torch.softmax(logits, dim=-1)
    p_x0 = p.gather(-1, x0[..., None])[..., 0]
    if remasking == "low_confidence":
        return p_x0, p_x0
    if remasking == "random":
        return rand, p_x0
    if remasking == "entropy":          # negative entropy: higher = more certain (Dream)
        return torch.special.xlogy(p, p).sum(-1), p_x0
    top2 = p.topk(2, dim=-1).values     # margin (Dream's topk_margin)
    return top2[..., 0] - top2[..., 1], p_x0


def active_logits(logits: torch.Tensor, canvas_len: int, start: int, A: int, cfg_scale: float, n: int) -> torch.Tensor:
    """The logits of the A active positions from one forward pass (under ``hooks.head_from(model, start)``).

    ``canvas_len``: the full input length (a model whose head was not sliced returns it, and is cut here);
    ``start`` < 0: Dream's shift with a mask in column 0, which keeps its own logits; ``cfg_scale`` > 0:
    the batch is [conditional n rows | unconditional n rows], combined as uncond + (s + 1)(cond − uncond).
    With the Dream shift, active position i reads logits i − 1.
    """
    if logits.shape[1] == canvas_len:                  # the head was not sliced (see hooks.head_from)
        logits = logits[:, max(start, 0):]
    if start < 0:
        logits = torch.cat([logits[:, :1], logits], dim=1)
    if cfg_scale > 0:
        cond, uncond = logits[:n], logits[n:]
        logits = uncond + (cfg_scale + 1) * (cond - uncond)
    return logits[:, :A]


def end_ids(lm: LoadedModel) -> list[int]:
    """The token ids at which the kit's text decoder (``sri_kit.sampling.trace.decoder``) cuts a response:
    ``lm.end_token_ids`` plus the tokenizer's eos and pad tokens (the mask token excluded)."""
    ids = end_token_set(lm.tokenizer, lm.end_token_ids)
    ids.discard(lm.mask_token_id)
    return sorted(ids)


def response_closed(resp: torch.Tensor, mask_id: int, ends: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Which rows of a response canvas ``resp`` [N, L] are closed, and the end token each would be filled with.

    Closed: an end token (one of ``ends``) is committed and every position before the first committed end
    token is committed. The decoded text of a closed row (cut at its first end token) can no longer change:
    committed tokens never change, and no end token can appear earlier. Returns (closed [N] bool, the
    first end token [N] int64; undefined where no end token is committed).

    >>> r = torch.tensor([[7, 8, 5, 6, 6], [7, 6, 5, 9, 6], [7, 8, 9, 6, 6]])   # 6 = mask, 5 = end
    >>> response_closed(r, 6, torch.tensor([5]))[0].tolist()
    [True, False, False]
    """
    is_end = torch.isin(resp, ends)
    first = is_end.long().argmax(-1)                      # the first end token (0 where there is none)
    before = torch.arange(resp.shape[1], device=resp.device)[None] < first[:, None]
    closed = is_end.any(-1) & ~((resp == mask_id) & before).any(-1)
    return closed, resp.gather(1, first[:, None])[:, 0]


class MaskedDiffusionSampler(Sampler):
    """LLaDA's masked-diffusion sampler (remasking strategies, semi-AR blocks, CFG, Dream's logit shift).

    Subclasses may override :meth:`block_length` and :meth:`select` (which positions a step commits);
    with ``ranks = False`` the remasking score is not computed.
    """

    name = "diffusion"
    families = ("diffusion",)
    revises = True
    settings = Sampler.settings + ("gen_length", "block_length", "remasking", "cfg_scale", "order")
    ranks = True                 # rank the block's masked positions by the remasking score
    fills_prompt_masks = True    # mask tokens inside the prompt compete in the first block (DIJA)

    def short_config(self, base: GenerationConfig, n_tokens: int) -> GenerationConfig:
        return base.replace(steps=n_tokens, gen_length=n_tokens, block_length=None, temperature=0.0,
                            order="confidence")

    def block_length(self, cfg: GenerationConfig) -> int:
        return cfg.block_len

    def validate(self, lm: LoadedModel, cfg: GenerationConfig) -> None:
        super().validate(lm, cfg)
        if cfg.steps > cfg.gen_length:
            raise ConfigError(f"steps ({cfg.steps}) > gen_length ({cfg.gen_length}): a diffusion step commits at least "
                              f"one token, so {cfg.steps - cfg.gen_length} step(s) would commit nothing; use "
                              f"steps <= gen_length")

    def select(self, score: torch.Tensor, k: torch.Tensor | None, t: int, offset: int) -> torch.Tensor:
        """Which active positions step ``t`` commits: the top ``k`` [B] by ``score`` [B, A] (float64,
        −inf where a position does not compete). ``offset``: active column of response position 0."""
        rank = score.argsort(dim=-1, descending=True, stable=True).argsort(dim=-1, stable=True)
        return rank < k[:, None]

    @torch.no_grad()
    def run(self, lm: LoadedModel, rows: list[list[int]], cfg: GenerationConfig, *,
            record: bool = True, door=None, until_decided: bool = False) -> SampleBatch:
        """One batch. ``until_decided`` (text only: ``record=False``, no interventions): a row leaves the batch
        once its text is decided (:func:`response_closed`), and its canvas keeps masks after its first end
        token; its text is that of the full run (see the module's docstring). Ignored under CFG or with masks
        in the prompt."""
        self.validate(lm, cfg)
        door = self.door(lm, cfg, record, door)
        record = door.record
        model, dev, mask_id = lm.model, lm.device, lm.mask_token_id
        L, B = cfg.gen_length, len(rows)
        x, attn, pos, P = left_pad(rows, lm.pad_token_id, dev, extra=L, fill_id=mask_id)
        real_prompt = (attn[:, :P] == 1) & (x[:, :P] != mask_id)
        prompt_fill = x[:, :P] == mask_id
        if prompt_fill.any() and not self.fills_prompt_masks:
            raise ConfigError(f"the {self.name!r} sampler does not fill mask tokens inside the prompt; "
                             f"use the 'diffusion' sampler (order='confidence')")
        # active region: the response, plus prompt columns holding masks (DIJA)
        c0 = int(prompt_fill.any(0).nonzero()[0]) if prompt_fill.any() else P
        kwargs = {}
        if (attn == 0).any():          # decided on the whole batch, so a row's inputs never depend on who is left
            kwargs["attention_mask"] = attn
            if accepts(model, "position_ids"):
                kwargs["position_ids"] = pos
        cfg_on = cfg.cfg_scale > 0
        gens = generators(cfg.seed, rows, dev) if (cfg.temperature > 0 or cfg.remasking == "random") else None
        n_fill = prompt_fill.sum(1)
        stop = until_decided and not record and not cfg.interventions and not cfg_on and not prompt_fill.any()
        ends = torch.tensor(end_ids(lm), dtype=torch.long, device=dev) if stop else None

        def draw(live, shape_tail, dtype):
            """Per-row random draws of rows ``live``, response positions first, then the row's prompt masks."""
            out = torch.full((len(live), P + L - c0) + shape_tail, 0.5, dtype=dtype, device=dev)
            for j, i in enumerate(live.tolist()):
                g = gens[i]
                out[j, P - c0:] = torch.rand((L,) + shape_tail, generator=g, dtype=dtype, device=dev)
                if n_fill[i]:
                    cols = prompt_fill[i, c0:].nonzero()[:, 0]
                    out[j, cols] = torch.rand((int(n_fill[i]),) + shape_tail, generator=g, dtype=dtype, device=dev)
            return out

        T = cfg.steps
        bl = self.block_length(cfg)
        n_blocks = L // bl
        spb = T // n_blocks
        col = torch.arange(P + L - c0, device=dev) + c0          # canvas column of each active position
        A = P + L - c0                                          # active positions
        start = c0 - 1 if lm.shift_logits else c0                # first canvas column whose logits are needed
        n_forward = 0
        live = torch.arange(B, device=dev)                      # the rows still running (all, unless ``stop``)
        with door.attach(model, steps=T, rows=B, cols=slice(P, None)), head_from(model, start):
            for b in range(n_blocks):
                end = P + (b + 1) * bl
                schedule = None
                if self.ranks:
                    n_masked = (x[:, P + b * bl:end] == mask_id).sum(1) + (n_fill if b == 0 else 0)
                    schedule = num_transfer_tokens(n_masked, spb)
                for s in range(spb):
                    if not live.numel():
                        break
                    t = b * spb + s
                    xs = x if len(live) == B else x[live]           # a copy once rows have left: written back
                    kw = kwargs if len(live) == B else {k: v[live] for k, v in kwargs.items()}
                    masked = xs == mask_id
                    inp = xs
                    door.at(t)
                    if cfg_on:
                        un = xs.clone()
                        un[:, :P][real_prompt] = mask_id
                        inp = torch.cat([xs, un])
                        kw = {k: torch.cat([v, v]) for k, v in kw.items()}
                    logits = model(input_ids=inp, **kw).logits
                    n_forward += 1
                    la32 = active_logits(logits, P + L, start, A, cfg.cfg_scale, len(live))
                    noise = draw(live, (la32.shape[-1],), torch.float64) if cfg.temperature > 0 else None
                    rand = draw(live, (), torch.float64) if cfg.remasking == "random" else None
                    m = masked[:, c0:]
                    compete = m & (col < end)[None] if self.ranks else torch.zeros_like(m)
                    x0, score, p_x0 = predict(la32, xs[:, c0:], m, compete, cfg, noise, rand, conf=record)
                    transfer = self.select(score, None if schedule is None else schedule[live, s], t, P - c0)
                    xa = xs[:, c0:]                 # a view: commits write into the canvas
                    xa[transfer] = x0[transfer]
                    door.canvas(t, x[:, P:] != mask_id, predicted=x0[:, P - c0:], confidence=p_x0[:, P - c0:])
                    if stop:
                        if xs is not x:
                            x[live] = xs
                        live = live[~response_closed(xs[:, P:], mask_id, ends)[0]]
        filled = [x[i, P - len(r):P].tolist() for i, r in enumerate(rows)] if prompt_fill.any() else None
        return door.batch(x[:, P:], n_forward, filled=filled)
