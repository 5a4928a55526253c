"""Confidence-threshold parallel decoding for masked-diffusion models (Fast-dLLM's two rules).

Same canvas, blocks, x̂0 and confidence p(x̂0) as the masked-diffusion sampler (``diffusion.py``), but a
step commits a *variable* number of the current block's masked positions, so rows finish after
different numbers of forward passes (``variable_steps``):

- ``"threshold"`` (option ``threshold``, default 0.9): every masked position of the block whose
  confidence is strictly greater than ``threshold``. Strict, so ``threshold=1.0`` never commits on
  confidence alone (a probability never exceeds 1): the sampler then commits exactly the schedule's
  floor (below) and is the exact ``diffusion`` sampler, token for token.
- ``"threshold_factor"`` (option ``factor``, default 1.0): Fast-dLLM's factor rule. With the block's
  confidences sorted c₁ ≥ c₂ ≥ …, commit the longest prefix with c_n > 1 − factor / (n + 1) for every
  n in it (equivalently (n + 1)(1 − c_n) < factor: more tokens at once need more confidence).

The floor: ``cfg.steps`` is the most steps a row takes (``steps // n_blocks`` per block). A step
commits at least ⌈m / r⌉ of the block's m masked positions when r steps of the block's budget are left
(at least one per step, as Fast-dLLM), so a block is always full within its budget. With
``steps == gen_length`` the floor is one token per step (Fast-dLLM's setting); with fewer steps it
is LLaDA's uniform schedule, recomputed after each step. Ranking ties go to the leftmost position,
as in the ``diffusion`` sampler.

Every row moves through its own blocks: a row whose block is full goes on to its next block at the
next forward pass, and a row whose canvas is full leaves the batch (no more forward passes for it).
A row's tokens therefore do not depend on the other rows of its batch. The per-step arrays hold
T = max(n_steps) steps; ``SampleBatch.n_steps`` says how many row i took (a row that stopped early
repeats its last step). ``sri_kit.sampling.align_traces`` puts traces of different lengths on one
step grid for centers, σ and IRR.

``stop_at_end`` (option of both, off by default): a row stops as soon as its response is *closed*
(:func:`response_closed`: an end token is committed and every position before the first committed end
token is committed; under DIJA-style prompts the prompt's masks must be filled too). Its remaining masked
positions are filled with that end token and it leaves the batch. Committed tokens never change, so the
decoded text (``sri_kit.sampling.trace.decoder`` cuts at the first end token, for every family: the end
set is :func:`end_ids`) and the judges' verdicts are those of the same sampler without the option; only
the canvas after the first end token (filled) and the steps differ: fewer trace rows, ``n_steps`` counts
them. The last recorded step of a stopped row shows the filled canvas (all committed; the fill's
``confidence`` is p(end token) from that step's logits). With ``threshold=1.0`` this is the exact
``diffusion`` sampler's text with fewer forward passes.

Differences from Fast-dLLM's ``get_transfer_index`` (NVlabs/Fast-dLLM, ``llada/generate.py``), none
of which matter away from exact ties: the threshold comparison is strict (theirs keeps c ≥ threshold);
the factor rule commits exactly the passing prefix (theirs also commits the last position when only
that one fails); ``cfg.steps`` bounds the steps (theirs runs until the block is full); batches are
supported (theirs: one prompt). Only ``remasking="low_confidence"`` (the confidence both rules read).

Example:
    >>> from sri_kit import GenerationConfig
    >>> from sri_kit.sampling.threshold import ThresholdSampler
    >>> cfg = GenerationConfig(steps=8, gen_length=8, sampler="threshold", options={"threshold": 0.0})
    >>> out = ThresholdSampler().run(lm_dlm, lm_dlm.encode_chat(["Hi"]), cfg)
    >>> out.n_forward, out.n_steps.tolist(), out.committed[0, -1].all().item()    # all 8 at once
    (1, [1], True)
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
from .diffusion import MaskedDiffusionSampler, active_logits, end_ids, predict, response_closed

__all__ = ["ThresholdOptions", "FactorOptions", "ThresholdSampler", "FactorSampler",
           "commit_counts", "draw_noise", "end_ids", "response_closed"]


def _check_stop(value, where: str) -> None:
    if not isinstance(value, bool):
        raise InputTypeError(f"{where}: stop_at_end must be True or False, got {value!r}")


@dataclass(frozen=True)
class ThresholdOptions:
    """threshold: commit every masked position of the block with confidence > threshold (in [0, 1]).
    stop_at_end: a row stops once its response is closed (:func:`response_closed`; same text, fewer steps)."""

    threshold: float = 0.9
    stop_at_end: bool = False

    def __post_init__(self) -> None:
        check_float("threshold", self.threshold, lo=0.0, hi=1.0, where="sampler 'threshold'")
        _check_stop(self.stop_at_end, "sampler 'threshold'")


@dataclass(frozen=True)
class FactorOptions:
    """factor: commit the top n positions while (n + 1)(1 − c_n) < factor (factor > 0).
    stop_at_end: as :class:`ThresholdOptions`."""

    factor: float = 1.0
    stop_at_end: bool = False

    def __post_init__(self) -> None:
        check_float("factor", self.factor, lo=0.0, lo_open=True, where="sampler 'threshold_factor'")
        _check_stop(self.stop_at_end, "sampler 'threshold_factor'")


def commit_counts(conf: torch.Tensor, floor: torch.Tensor, *, threshold: float | None = None,
                  factor: float | None = None) -> torch.Tensor:
    """How many of the top-ranked competing positions each row commits: [N] int64.

    ``conf`` [N, A] float64 (−inf where a position does not compete); ``floor`` [N]: the least a row
    commits. Exactly one of ``threshold`` (count of conf > threshold) or ``factor`` (the longest sorted
    prefix with c_n > 1 − factor / (n + 1)) is given.

    >>> c = torch.tensor([[0.99, 0.7, 0.95, float("-inf")]], dtype=torch.float64)
    >>> commit_counts(c, torch.tensor([1]), threshold=0.9).tolist(), commit_counts(c, torch.tensor([1]), factor=1.0).tolist()
    ([2], [2])
    >>> commit_counts(c, torch.tensor([1]), threshold=1.0).tolist()   # nothing exceeds 1: the floor
    [1]
    """
    if (threshold is None) == (factor is None):
        raise ValueError("commit_counts takes exactly one of threshold= or factor=")
    if threshold is not None:
        n = (conf > threshold).sum(-1)
    else:        # c sorted down, bounds going up: the passing positions are a prefix, so counting them is enough
        srt = conf.sort(-1, descending=True).values
        j = torch.arange(1, conf.shape[-1] + 1, device=conf.device, dtype=torch.float64)
        n = (srt > 1.0 - factor / (j + 1.0)).sum(-1)
    return torch.maximum(n, floor)


def draw_noise(gens, live, n_fill, prompt_fill, P, L, c0, V, dev) -> torch.Tensor:
    """Uniform draws [n, A, V] of the live rows, in the ``diffusion`` sampler's order per row (the
    response positions, then the row's prompt masks), so each row's stream does not depend on its batch."""
    out = torch.full((len(live), P + L - c0, V), 0.5, dtype=torch.float64, device=dev)
    for j, i in enumerate(live.tolist()):
        g = gens[i]
        out[j, P - c0:] = torch.rand((L, V), generator=g, dtype=torch.float64, device=dev)
        if n_fill[i]:
            cols = prompt_fill[i, c0:].nonzero()[:, 0]
            out[j, cols] = torch.rand((int(n_fill[i]), V), generator=g, dtype=torch.float64, device=dev)
    return out


class ThresholdSampler(MaskedDiffusionSampler):
    """Commit every masked position of the block above a confidence threshold (at least the schedule's
    floor); ``cfg.steps`` is the most steps a row takes."""

    name = "threshold"
    variable_steps = True
    Options = ThresholdOptions
    # not "remasking" / "order": the option's rule decides what a step commits
    settings = tuple(s for s in MaskedDiffusionSampler.settings if s not in ("remasking", "order"))

    def rule(self, cfg: GenerationConfig) -> dict:
        """Keyword arguments of :func:`commit_counts` for ``cfg``."""
        return {"threshold": self.options(cfg).threshold}

    def validate(self, lm: LoadedModel | None, cfg: GenerationConfig) -> None:
        super().validate(lm, cfg)
        if cfg.remasking != "low_confidence":
            raise ConfigError(f"the {self.name!r} sampler compares the confidence p(x̂0) with its bound: use "
                              f"remasking='low_confidence' (got {cfg.remasking!r})")
        if cfg.order != "confidence":
            raise ConfigError(f"the {self.name!r} sampler commits by confidence: use order='confidence' "
                              f"(got {cfg.order!r})")

    def short_config(self, base: GenerationConfig, n_tokens: int) -> GenerationConfig:
        return super().short_config(base, n_tokens).replace(remasking="low_confidence")

    @torch.no_grad()
    def run(self, lm: LoadedModel, rows: list[list[int]], cfg: GenerationConfig, *,
            record: bool = True, door=None) -> SampleBatch:
        self.validate(lm, cfg)
        door = self.door(lm, cfg, record, door)
        record = door.record
        rule = self.rule(cfg)
        model, dev, mask_id = lm.model, lm.device, lm.mask_token_id
        stop = self.options(cfg).stop_at_end
        ends = torch.tensor(end_ids(lm), dtype=torch.long, device=dev) if stop else None
        L, B = cfg.gen_length, len(rows)
        x, attn, pos, P = left_pad(rows, lm.pad_token_id, dev, extra=L, fill_id=mask_id)
        real_prompt = (attn[:, :P] == 1) & (x[:, :P] != mask_id)
        prompt_fill = x[:, :P] == mask_id
        c0 = int(prompt_fill.any(0).nonzero()[0]) if prompt_fill.any() else P   # first active column (DIJA masks)
        A = P + L - c0
        col = torch.arange(A, device=dev) + c0
        start = c0 - 1 if lm.shift_logits else c0
        padded = bool((attn == 0).any())
        use_pos = padded and accepts(model, "position_ids")
        cfg_on = cfg.cfg_scale > 0
        gens = generators(cfg.seed, rows, dev) if cfg.temperature > 0 else None
        n_fill = prompt_fill.sum(1)
        bl = self.block_length(cfg)
        n_blocks = L // bl
        spb = cfg.steps // n_blocks
        blk = torch.zeros(B, dtype=torch.long, device=dev)      # each row's current block
        used = torch.zeros(B, dtype=torch.long, device=dev)     # steps spent in it
        t_row = torch.zeros(B, dtype=torch.long, device=dev)    # steps taken
        n_forward = 0
        with door.attach(model, steps=cfg.steps, rows=B, cols=slice(P, None)), head_from(model, start):
            while True:
                live = (blk < n_blocks).nonzero()[:, 0]
                if not live.numel():
                    break
                xs = x[live]                                     # a copy: written back below
                kwargs = {}
                if padded:
                    kwargs["attention_mask"] = attn[live]
                    if use_pos:
                        kwargs["position_ids"] = pos[live]
                inp = xs
                if cfg_on:
                    un = xs.clone()
                    un[:, :P][real_prompt[live]] = mask_id
                    inp = torch.cat([xs, un])
                    kwargs = {k: torch.cat([v, v]) for k, v in kwargs.items()}
                door.at(t_row[live], rows=len(live))            # rows: the conditional half under CFG
                logits = model(input_ids=inp, **kwargs).logits
                n_forward += 1
                la32 = active_logits(logits, P + L, start, A, cfg.cfg_scale, len(live))
                noise = draw_noise(gens, live, n_fill, prompt_fill, P, L, c0, la32.shape[-1], dev) \
                    if gens is not None else None
                m = xs[:, c0:] == mask_id
                end = P + (blk[live] + 1) * bl
                compete = m & (col[None] < end[:, None])
                x0, conf, p_x0 = predict(la32, xs[:, c0:], m, compete, cfg, noise, None, conf=record)   # low_confidence: p(x̂0)
                left = compete.sum(-1)
                budget = spb - used[live]
                n_commit = commit_counts(conf, (left + budget - 1) // budget, **rule)
                rank = conf.argsort(dim=-1, descending=True, stable=True).argsort(dim=-1, stable=True)
                transfer = rank < n_commit[:, None]
                xa = xs[:, c0:]
                xa[transfer] = x0[transfer]
                pr, pc = x0[:, P - c0:], p_x0[:, P - c0:]
                if stop:                                         # a closed response: fill the rest with its end token
                    closed, tok = response_closed(xs[:, P:], mask_id, ends)
                    if c0 < P:                                   # and the prompt's masks are all filled
                        closed &= ~(xs[:, c0:P] == mask_id).any(-1)
                    fill = (xs[:, P:] == mask_id) & closed[:, None]
                    if fill.any():
                        i, j = fill.nonzero(as_tuple=True)
                        xs[:, P:][i, j] = tok[i]
                        if record:                               # the trace shows the fill and p(end token)
                            lg = la32[i, P - c0 + j]
                            pr, pc = pr.clone(), pc.clone()
                            pr[i, j] = tok[i]
                            pc[i, j] = (lg.gather(-1, tok[i, None])[:, 0] - lg.logsumexp(-1)).exp()
                x[live] = xs
                full = n_commit >= left                          # this row's block is complete
                used[live] += 1
                blk[live[full]] += 1
                used[live[full]] = 0
                if stop:
                    blk[live[closed]] = n_blocks                 # the row leaves the batch
                door.canvas(t_row[live], xs[:, P:] != mask_id, predicted=pr, confidence=pc, rows=live, batch=B)
                t_row[live] += 1
        filled = [x[i, P - len(r):P].tolist() for i, r in enumerate(rows)] if prompt_fill.any() else None
        return door.batch(x[:, P:], n_forward, filled=filled, n_steps=t_row)


class FactorSampler(ThresholdSampler):
    """Fast-dLLM's factor rule: commit the top n positions of the block while (n + 1)(1 − c_n) < factor."""

    name = "threshold_factor"
    Options = FactorOptions

    def rule(self, cfg: GenerationConfig) -> dict:
        return {"factor": self.options(cfg).factor}
