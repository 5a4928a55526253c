"""Dream's own sampler (``diffusion_generate`` of Dream-v0), as a registered sampler.

Canvas ``[prompt | mask × gen_length]``, one block, ``steps`` forward passes. Dream's timestep
schedule ``linspace(1, eps, steps + 1)``: step i goes from time t = t_i to s = t_{i+1}. Each step
predicts every masked position (temperature, top-p, top-k as Dream applies them) and unmasks:

- ``origin``: each masked position independently with probability 1 − s/t (all on the last step);
  random even at temperature 0, from the row's seeded generator;
- ``maskgit_plus`` / ``topk_margin`` / ``entropy``: the ``int(n · (1 − s/t))`` masked positions
  (n: this row's masked count; all on the last step) with the highest confidence, which is
  p(x̂0), top-1 minus top-2 probability, or negative entropy. ``alg_temp > 0`` draws them instead
  from softmax(confidence / alg_temp).

Unmasked tokens never change (Dream does not remask), so ``committed`` after step t is "not a mask
any more", and the masked positions hold the step's prediction x̂0 (``revises``). The per-step
arithmetic is Dream's own, in the logits' dtype (bf16 on a GPU, as Dream computes it), on each row's
own positions, so a prompt's tokens do not depend on its batch; random draws (``origin``,
temperature > 0, ``alg_temp > 0``) come from the row's generator in Dream's order, so a batch of one
equals upstream ``diffusion_generate`` run after ``torch.manual_seed(row_seed(seed, ids))``.

The logit shift follows the model (``lm.shift_logits``): Dream's logits at position i predict
token i + 1 (position j reads the logits of j − 1, a row's first token its own); a model without the
shift (the organism, LLaDA) reads its own logits. docs/SAMPLERS.md has the details and the parity
tests against the upstream code.

Example:
    >>> from sri_kit import GenerationConfig
    >>> cfg = GenerationConfig(steps=4, gen_length=8, sampler="dream", options={"alg": "entropy"})
    >>> out = DreamSampler().run(lm_dlm, lm_dlm.encode_chat(["Hi"]), cfg)
    >>> out.committed[0].sum(-1).tolist(), out.n_forward          # Dream's schedule: 1, 2, 2, then the rest
    ([1, 3, 5, 8], 4)
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import GenerationConfig
from ..errors import ConfigError, InputTypeError, check_float
from ..hooks import head_from
from ..models import LoadedModel, accepts
from .base import SampleBatch, Sampler
from .common import generators, left_pad

__all__ = ["DreamSampler", "DreamOptions", "ALGS", "dream_timesteps", "dream_probs", "dream_sample"]

#: Dream's unmasking algorithms (``confidence_threshold`` is Fast-dLLM's addition, not Dream's).
ALGS = ("origin", "maskgit_plus", "topk_margin", "entropy")
_WHERE = "sampler 'dream'"


@dataclass(frozen=True)
class DreamOptions:
    """Options of Dream's sampler (the rest comes from ``GenerationConfig``: steps, gen_length,
    temperature, top_p, top_k, seed).

    alg: which masked positions a step unmasks (``ALGS``; Dream's model card uses ``entropy``).
    alg_temp: 0 or None: the top positions by confidence; > 0: drawn from softmax(confidence / alg_temp).
    eps: the last time of the schedule ``linspace(1, eps, steps + 1)``, in [0, 1).
    """

    alg: str = "entropy"
    alg_temp: float | None = 0.0
    eps: float = 1e-3

    def __post_init__(self) -> None:
        if not isinstance(self.alg, str):
            raise InputTypeError(f"{_WHERE}: alg must be a string, one of {ALGS}; got {self.alg!r}")
        if self.alg == "confidence_threshold":
            raise ConfigError(f"{_WHERE}: alg 'confidence_threshold' is Fast-dLLM's addition (batch size 1, a "
                              f"variable number of steps), not Dream's sampler; choose one of {ALGS}")
        if self.alg not in ALGS:
            raise ConfigError(f"{_WHERE}: unknown alg {self.alg!r}; choose one of {ALGS}")
        if self.alg_temp is not None:
            check_float("alg_temp", self.alg_temp, lo=0, where=_WHERE)
        check_float("eps", self.eps, lo=0, hi=1, hi_open=True, where=_WHERE)
        if self.alg == "origin" and self.alg_temp:
            raise ConfigError(f"{_WHERE}: alg_temp has no effect with alg='origin' (it unmasks each position at "
                              f"random with probability 1 - s/t); drop alg_temp or pick a confidence alg")


def dream_timesteps(steps: int, eps: float, device=None) -> torch.Tensor:
    """Dream's schedule: float32 [steps + 1] from 1 down to ``eps``; step i runs from t_i to t_{i+1}."""
    return torch.linspace(1, eps, steps + 1, device=device)


def _transfer_count(n_masked: int, t: torch.Tensor, s: torch.Tensor, last: bool) -> int:
    """How many of a row's ``n_masked`` positions a confidence alg unmasks from time t to s (Dream's
    float arithmetic: int(n · (1 − s/t)), all of them on the last step)."""
    n = torch.tensor(n_masked, dtype=torch.get_default_dtype(), device=t.device)
    return int(n) if last else int(n * (1 - s / t))


def dream_probs(logits: torch.Tensor, temperature: float = 0.0, top_p: float = 1.0, top_k: int = 0) -> torch.Tensor:
    """Dream's predictive distribution [..., V] in the logits' dtype: logits / temperature (when > 0),
    then top-p, then top-k (in that order; removed entries get the dtype's lowest value), softmax.

    Not ``common.filter_logits``: Dream filters top-p before top-k and keeps the token that crosses
    top_p, and the order changes which tokens survive.
    """
    if temperature > 0:
        logits = logits / temperature
    if top_p < 1:
        srt, order = torch.sort(logits, descending=True)
        cum = torch.cumsum(torch.softmax(srt, dim=-1), dim=-1)
        drop = torch.zeros_like(cum, dtype=torch.bool)
        drop[..., 1:] = cum[..., :-1] > top_p              # keep up to and including the crossing token
        drop = torch.zeros_like(drop).scatter_(-1, order, drop)
        logits = logits.masked_fill(drop, torch.finfo(logits.dtype).min)
    if top_k:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]))[0][..., -1, None]
        logits = logits.masked_fill(logits < kth, torch.finfo(logits.dtype).min)
    return torch.softmax(logits, dim=-1)


def dream_sample(probs: torch.Tensor, temperature: float, alg: str, generator: torch.Generator | None):
    """(Dream's confidence, x̂0) for rows of ``probs`` [M, V]: x̂0 is drawn (temperature > 0, with
    ``generator``, as ``torch.distributions.Categorical`` draws) or the most probable token; the
    confidence is p(x̂0) (``origin``, ``maskgit_plus``), top-1 − top-2 (``topk_margin``) or the
    negative entropy (``entropy``)."""
    conf = x0 = None
    if temperature > 0:
        try:        # Dream draws with Categorical(probs=...) and falls back to the mode when that fails
            norm = torch.distributions.Categorical(probs=probs).probs          # validated and normalised
            x0 = torch.multinomial(norm.reshape(-1, norm.shape[-1]), 1, True, generator=generator)[:, 0]
            conf = probs.gather(-1, x0[:, None])[:, 0]
        except (ValueError, RuntimeError):
            conf = x0 = None
    if x0 is None:
        conf, x0 = probs.max(dim=-1)
    if alg == "topk_margin":
        top2 = torch.topk(probs, 2, dim=-1)[0]
        conf = top2[:, 0] - top2[:, 1]
    elif alg == "entropy":
        conf = torch.sum(probs * torch.log(probs + 1e-10), dim=-1)
    return conf, x0


def _logits_for(logits: torch.Tensor, shift: bool, s0: int, c0: int, first: torch.Tensor,
                masked: torch.Tensor) -> torch.Tensor:
    """Logits [B, N − c0, V] that predict canvas columns c0.. from ``logits`` of columns s0.. .

    With the shift column j reads column j − 1, except a row's first real column (a mask there keeps
    its own logits, as Dream does for column 0 of an unpadded row)."""
    if not shift:
        return logits
    la = torch.cat([logits[:, :1], logits[:, :-1]], dim=1) if c0 == s0 else logits[:, :-1]
    rows = ((first >= c0) & masked[torch.arange(len(first)), first]).nonzero()[:, 0]
    if len(rows):
        la = la.clone()
        for i in rows.tolist():
            f = int(first[i])
            la[i, f - c0] = logits[i, f - s0]
    return la


def _origin(row, cols, logits, t, s, last, sample_args, gen, record):
    """``origin`` on one row: each masked position (canvas ``cols`` of ``row``) unmasks with probability
    1 − s/t (all on the last step), a drawn or most probable token. Returns x̂0 and p(x̂0) for the
    trace (the mode where nothing was drawn: Dream draws only the unmasked positions)."""
    temperature = sample_args[0]
    p_transfer = 1 if last else 1 - s / t
    go = torch.rand(len(logits), generator=gen, device=logits.device) < p_transfer
    x0 = torch.full((len(logits),), -1, dtype=torch.long, device=logits.device)
    p_x0 = torch.zeros(len(logits), dtype=logits.dtype, device=logits.device)
    if go.any():
        probs = dream_probs(logits[go], *sample_args)
        x0[go] = dream_sample(probs, temperature, "origin", gen)[1]
        p_x0[go] = probs.gather(-1, x0[go][:, None])[:, 0]
        row[cols[go]] = x0[go]
    if record and not go.all():
        p_x0[~go], x0[~go] = dream_probs(logits[~go], *sample_args).max(dim=-1)
    return x0, p_x0


def _confident(row, cols, logits, first, t, s, last, sample_args, opts, gen):
    """A confidence alg on one row: x̂0 at the masked canvas ``cols`` of ``row``, then unmask the
    ``int(n · (1 − s/t))`` most confident (or, with ``alg_temp``, drawn) of them. The ranking runs on the
    row's own canvas without padding, [1, prompt + gen_length] with −inf off the masks, as Dream's
    batch of one, so ties break as there. Returns x̂0 and p(x̂0)."""
    probs = dream_probs(logits, *sample_args)
    score, x0 = dream_sample(probs, sample_args[0], opts.alg, gen)
    k = _transfer_count(len(cols), t, s, last)
    if k > 0:
        width = len(row) - first
        full = torch.full((1, width), float("-inf"), dtype=score.dtype, device=row.device)
        full[0, cols - first] = score
        if not opts.alg_temp:
            pick = torch.topk(full, k)[1][0]
        else:
            pick = torch.multinomial(torch.softmax(full / opts.alg_temp, dim=-1), k, generator=gen)[0]
        cand = row[first:].clone()                  # a pick off the masks (impossible: k <= n) changes nothing
        cand[cols - first] = x0
        row[first + pick] = cand[pick]
    return x0, probs.gather(-1, x0[:, None])[:, 0]


class DreamSampler(Sampler):
    """Dream's ``diffusion_generate`` (algs ``origin``, ``maskgit_plus``, ``topk_margin``, ``entropy``)."""

    name = "dream"
    families = ("diffusion",)
    revises = True
    settings = ("steps", "gen_length", "temperature", "top_p", "top_k", "pooling", "layer", "seed", "system_prompt")
    Options = DreamOptions

    def validate(self, lm: LoadedModel | None, cfg: GenerationConfig) -> None:
        super().validate(lm, cfg)
        default = GenerationConfig()
        if cfg.block_length not in (None, cfg.gen_length):
            raise ConfigError(f"{_WHERE} decodes the whole canvas as one block: set block_length=None "
                              f"(got {cfg.block_length})")
        if cfg.cfg_scale:
            raise ConfigError(f"{_WHERE} has no classifier-free guidance: set cfg_scale=0 (got {cfg.cfg_scale}) "
                              f"or use the 'diffusion' sampler")
        if cfg.order != default.order:
            raise ConfigError(f"{_WHERE} unmasks by its alg, not by order={cfg.order!r}: leave order at "
                              f"{default.order!r} or use the 'left_to_right' sampler")
        if cfg.remasking != default.remasking:
            raise ConfigError(f"{_WHERE} ignores remasking={cfg.remasking!r}: choose Dream's alg instead, e.g. "
                              f"options={{'alg': 'entropy'}} (algs: {ALGS}), and leave remasking at its default")
        if lm is not None and lm.mask_token_id is None:
            raise ConfigError(f"{_WHERE} needs a mask token; {lm.name} has none (pass mask_token_id= to wrap_model)")

    def short_config(self, base: GenerationConfig, n_tokens: int) -> GenerationConfig:
        return base.replace(steps=n_tokens, gen_length=n_tokens, block_length=None, temperature=0.0)

    @torch.no_grad()
    def run(self, lm: LoadedModel, rows: list[list[int]], cfg: GenerationConfig, *,
            record: bool = True, door=None) -> SampleBatch:
        self.validate(lm, cfg)
        door = self.door(lm, cfg, record, door)
        record = door.record
        opts = self.options(cfg)
        model, dev, mask_id = lm.model, lm.device, lm.mask_token_id
        L, B, T = cfg.gen_length, len(rows), cfg.steps
        x, attn, pos, P = left_pad(rows, lm.pad_token_id, dev, extra=L, fill_id=mask_id)
        N = P + L
        valid = attn == 1
        first = P - torch.tensor([len(r) for r in rows], device=dev)      # each row's first real column
        prompt_masks = (x[:, :P] == mask_id) & valid[:, :P]
        c0 = int(prompt_masks.any(0).nonzero()[0]) if prompt_masks.any() else P   # first column that may hold a mask
        shift = lm.shift_logits
        s0 = max(c0 - 1, 0) if shift else c0           # first column whose logits are read
        kwargs = {}
        if not bool(valid.all()):                      # Dream's tok_idx: positions count real tokens only
            kwargs["attention_mask"] = attn
            if accepts(model, "position_ids"):
                kwargs["position_ids"] = pos
        random = opts.alg == "origin" or cfg.temperature > 0 or bool(opts.alg_temp)
        gens = generators(cfg.seed, rows, dev) if random else [None] * B
        times = dream_timesteps(T, opts.eps, dev)
        sample_args = (cfg.temperature, cfg.top_p, cfg.top_k)
        n_forward = 0
        with door.attach(model, steps=T, rows=B, cols=slice(P, None)), head_from(model, s0):
            for i in range(T):
                masked = (x == mask_id) & valid
                door.at(i)
                logits = model(input_ids=x, **kwargs).logits
                n_forward += 1
                if logits.shape[1] == N:              # the head was not sliced (see hooks.head_from)
                    logits = logits[:, s0:]
                la = _logits_for(logits, shift, s0, c0, first, masked)      # [B, N - c0, V]
                t, s, last = times[i], times[i + 1], i == T - 1
                if record:
                    pred = x[:, P:].clone()
                    conf = torch.empty((B, L), dtype=torch.float32, device=dev)
                for b in range(B):
                    cols = masked[b, c0:].nonzero()[:, 0]                 # active columns of b's masks, in order
                    if not len(cols):
                        continue
                    if opts.alg == "origin":
                        x0, p_x0 = _origin(x[b], c0 + cols, la[b, cols], t, s, last, sample_args, gens[b], record)
                    else:
                        x0, p_x0 = _confident(x[b], c0 + cols, la[b, cols], int(first[b]), t, s, last, sample_args,
                                              opts, gens[b])
                    if record:
                        resp = cols >= P - c0
                        pred[b, cols[resp] - (P - c0)] = x0[resp]
                        conf[b, cols[resp] - (P - c0)] = p_x0[resp].float()
                if record:                                   # p of the tokens unmasked before this step
                    for b in range(B):
                        known = ~masked[b, P:]
                        if known.any():
                            probs = dream_probs(la[b, P - c0:][known], *sample_args)
                            conf[b, known] = probs.gather(-1, x[b, P:][known][:, None])[:, 0].float()
                if record:
                    door.canvas(i, x[:, P:] != mask_id, predicted=pred, confidence=conf)
        filled = [x[b, P - len(r):P].tolist() for b, r in enumerate(rows)] if prompt_masks.any() else None
        return door.batch(x[:, P:], n_forward, filled=filled)
