"""DiffusionGemma's own sampler, recorded step by step: transformers' block diffusion, one decoder forward per step.

DiffusionGemma (``DiffusionGemmaForBlockDiffusion``, transformers >= 5.13) writes its answer as canvases
of ``config.canvas_length`` tokens, one after another. An encoder puts the prompt (and every finished
canvas) into a KV cache; a decoder denoises the next canvas, which starts as uniformly random tokens
(there is no mask token). At each denoising step the decoder sees the current canvas plus the
previous step's logits (self-conditioning); the logits are divided by a temperature that falls
linearly over the steps; a token is sampled at every position; the entropy-bound sampler accepts the
lowest-entropy positions whose summed entropy stays under ``entropy_bound`` and renoises every other
position with a fresh uniform token; adaptive stopping ends the canvas once the argmax canvas is
stable and confident. The canvas's output is the argmax of the last step's logits.

This module does not re-derive any of that: it runs transformers' own pieces (the generation mixin's
``_prepare_*`` helpers, ``_denoising_step``, ``_finalize_canvas``, its sampler, logits processor and
stopping criteria) in the order ``model.generate()`` runs them, and records what each decoder forward
did. The tokens equal ``torch.manual_seed(row_seed(cfg.seed, ids)); model.generate(ids, ...)`` token
for token (tests/test_diffusiongemma.py). Every row runs alone, under its own seed, because
transformers draws the canvases, samples and renoising from the global RNG of the batch: results
therefore do not depend on the batch (docs/DIFFUSIONGEMMA.md, "Batching").

Trace layout (docs/DIFFUSIONGEMMA.md): the response canvas is the concatenation of all canvases
(L = ceil(gen_length / canvas_length) · canvas_length; canvases a row did not need hold the pad
token); the step axis is every decoder forward in order, canvas after canvas; ``n_steps`` gives
each row's count. ``committed`` after step t: the canvases finished so far, plus the positions of
the current canvas that the sampler accepted at step t (kept rather than renoised; a later step may
still renoise them), plus the whole canvas at its last step.

Example:
    >>> from sri_kit import GenerationConfig
    >>> opts = DiffusionGemmaSampler().options(GenerationConfig(options={"entropy_bound": 0.5, "t_min": 0}))
    >>> opts.entropy_bound, opts.t_min, opts.adaptive_stopping
    (0.5, 0.0, True)
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import torch

from ..config import GenerationConfig
from ..errors import ConfigError, check_float, check_int
from ..models import LoadedModel
from .base import SampleBatch, Sampler
from .common import row_seed

__all__ = ["DiffusionGemmaSampler", "DiffusionGemmaOptions", "DiffusionGemmaBatch"]

_WHERE = "sampler 'diffusiongemma'"


@dataclass(frozen=True)
class DiffusionGemmaOptions:
    """DiffusionGemma's generation settings, as ``model.generate()`` takes them; None keeps the model's
    own ``generation_config`` value (the checkpoint's), else transformers' default (in brackets).

    max_denoising_steps: most denoising steps (decoder forwards) per canvas [48].
    entropy_bound: the entropy-bound sampler's budget; higher accepts more tokens per step [0.1].
    t_min, t_max: the linear temperature schedule, t_max at the first step down towards t_min [0.4, 0.8].
    adaptive_stopping: end a canvas early once it is stable and confident; False always runs
        ``max_denoising_steps`` steps per canvas (no stopping criterion is built).
    stability_threshold: steps the argmax canvas must stay unchanged [1] (needs adaptive_stopping).
    confidence_threshold: mean entropy of the temperature-scaled logits below which the canvas counts
        as confident [0.005] (needs adaptive_stopping).
    self_conditioning: feed the previous step's logits to the decoder (as released); False zeroes the
        signal (the decoder's ``self_conditioning_mask``).
    """

    max_denoising_steps: int | None = None
    entropy_bound: float | None = None
    t_min: float | None = None
    t_max: float | None = None
    adaptive_stopping: bool = True
    stability_threshold: int | None = None
    confidence_threshold: float | None = None
    self_conditioning: bool = True

    def __post_init__(self) -> None:
        def put(name, value):
            object.__setattr__(self, name, value)

        put("max_denoising_steps", check_int("max_denoising_steps", self.max_denoising_steps, minimum=1,
                                             where=_WHERE, allow_none=True))
        put("stability_threshold", check_int("stability_threshold", self.stability_threshold, minimum=0,
                                             where=_WHERE, allow_none=True))
        for name, lo, lo_open in (("entropy_bound", 0.0, True), ("t_min", 0.0, False), ("t_max", 0.0, True),
                                  ("confidence_threshold", 0.0, True)):
            v = getattr(self, name)
            if v is not None:
                put(name, check_float(name, v, where=_WHERE, lo=lo, lo_open=lo_open))
        for name in ("adaptive_stopping", "self_conditioning"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{_WHERE}: {name} must be True or False, got {getattr(self, name)!r}")
        if self.t_min is not None and self.t_max is not None and self.t_max <= self.t_min:
            raise ConfigError(f"{_WHERE}: t_max ({self.t_max}) must be > t_min ({self.t_min}): the temperature "
                              f"falls from t_max at the first step towards t_min; swap them or raise t_max")
        if not self.adaptive_stopping and (self.stability_threshold is not None
                                           or self.confidence_threshold is not None):
            raise ConfigError(f"{_WHERE}: stability_threshold / confidence_threshold set with "
                              f"adaptive_stopping=False; drop them or set adaptive_stopping=True")


@dataclass
class DiffusionGemmaBatch(SampleBatch):
    """:class:`SampleBatch` plus what only a renoising sampler has (all [B, T, ...] like the per-step arrays).

    accepted: bool [B, T, L], the positions of the current canvas the entropy-bound sampler accepted at
        step t (the sampled token kept in the canvas). renoised: bool [B, T, L], the positions it
        replaced by a fresh uniform token (the rest of the current canvas). canvas_ids: int64 [B, T, L],
        the canvas after step t, i.e. the decoder's next input: the kept samples at accepted positions
        (which may differ from ``predicted``, the argmax) and the fresh tokens at renoised ones (finished
        canvases: their output; later canvases: pad). canvas_index: int64 [B, T], which canvas (0, 1, ...)
        step t denoised.
    """

    accepted: torch.Tensor | None = None
    renoised: torch.Tensor | None = None
    canvas_ids: torch.Tensor | None = None
    canvas_index: torch.Tensor | None = None


class _Capture:
    """Wraps transformers' logits processor list: passes through, keeps the last processed logits."""

    def __init__(self, inner):
        self.inner = inner
        self.last: torch.Tensor | None = None

    def __call__(self, input_ids, scores, **kwargs):
        self.last = self.inner(input_ids, scores, **kwargs)
        return self.last


def _entropy_bound_config(value: float):
    # optional dependency: DiffusionGemma exists only in transformers >= 5.13 (the kit supports older ones)
    try:
        from transformers.models.diffusion_gemma.generation_diffusion_gemma import EntropyBoundSamplerConfig
    except ImportError:
        raise ConfigError("the 'diffusiongemma' sampler needs transformers >= 5.13 (DiffusionGemma); "
                          "pip install -U transformers") from None
    return EntropyBoundSamplerConfig(entropy_bound=float(value))


def _cache_name(model) -> str:
    """The KV-cache keyword of transformers' DiffusionGemma helpers: ``cache`` (newer 5.x) or
    ``past_key_values`` (5.17 and around), read from the helper's signature."""
    params = inspect.signature(model._prepare_encoder_inputs).parameters
    return "cache" if "cache" in params else "past_key_values"


class DiffusionGemmaSampler(Sampler):
    """transformers' DiffusionGemma generation (entropy-bound sampler, renoising, self-conditioning,
    adaptive stopping, canvases in sequence), recorded per decoder forward. Options:
    :class:`DiffusionGemmaOptions`; ``gen_length`` is ``max_new_tokens`` (rounded up to whole canvases)."""

    name = "diffusiongemma"
    families = ("diffusiongemma",)
    revises = True
    variable_steps = True
    settings = ("gen_length", "pooling", "layer", "seed", "system_prompt")
    Options = DiffusionGemmaOptions

    def short_config(self, base: GenerationConfig, n_tokens: int) -> GenerationConfig:
        return base.replace(gen_length=n_tokens)

    # ---- what model.generate() is called with -------------------------------------------------------
    def generate_kwargs(self, cfg: GenerationConfig) -> dict:
        """The keyword arguments of ``model.generate()`` that this config means (``self_conditioning=False``
        adds ``self_conditioning_mask``, which needs the batch size: see :meth:`run`)."""
        o = self.options(cfg)
        kw: dict = {"max_new_tokens": cfg.gen_length, "max_length": None}   # gen_length, never a max_length
        if o.max_denoising_steps is not None:
            kw["max_denoising_steps"] = o.max_denoising_steps
        if o.entropy_bound is not None:
            kw["sampler_config"] = _entropy_bound_config(o.entropy_bound)
        for name in ("t_min", "t_max", "stability_threshold", "confidence_threshold"):
            if getattr(o, name) is not None:
                kw[name] = getattr(o, name)
        if not o.adaptive_stopping:
            kw["stability_threshold"] = kw["confidence_threshold"] = None
        return kw

    def _generation_config(self, model, cfg: GenerationConfig, batch_size: int):
        """transformers' own resolution: call kwargs > the model's generation_config > its defaults."""
        kw = self.generate_kwargs(cfg)
        if not self.options(cfg).self_conditioning:
            kw["self_conditioning_mask"] = torch.zeros(batch_size, dtype=torch.bool, device=model.device)
        try:
            return model._prepare_generation_config(None, **kw)
        except ValueError as e:
            raise ConfigError(f"{_WHERE}: transformers refuses these settings with the model's generation "
                              f"config: {e}; change the options {dict(cfg.options)}") from None

    @staticmethod
    def _decoder_name(model) -> str:
        dec = model.get_decoder() if hasattr(model, "get_decoder") else None
        for name, mod in model.named_modules():
            if mod is dec and name:
                return name
        raise ConfigError("the 'diffusiongemma' sampler needs transformers' DiffusionGemmaForBlockDiffusion "
                          f"(a model with a diffusion decoder), got {type(model).__name__}")

    def hook_site(self, lm: LoadedModel, cfg: GenerationConfig) -> str:
        """The module whose output is φ_t's state: ``lm.hook_site`` (it must lie in the decoder) or, with
        ``layer=k``, decoder layer k (the encoder's layers share their weights but not their inputs)."""
        dec = self._decoder_name(lm.model)
        if cfg.layer == -1:
            if lm.hook_site != dec and not lm.hook_site.startswith(dec + "."):
                raise ConfigError(f"DiffusionGemma's per-step states come from its decoder, but the hook site is "
                                  f"{lm.hook_site!r}; use wrap_model(..., hook_site='{dec}.norm') (the decoder's "
                                  f"final norm)")
            return lm.hook_site
        n = len(lm.model.get_submodule(dec).layers)
        if not 0 <= cfg.layer < n:
            raise ConfigError(f"layer {cfg.layer} out of range: the decoder has {n} layers (0 .. {n - 1}; "
                              "use -1 for the final norm)")
        return f"{dec}.layers.{cfg.layer}"

    def layer_list(self, lm: LoadedModel) -> torch.nn.ModuleList:
        """The decoder's layers (the encoder's layers share their weights but not their inputs)."""
        return lm.model.get_submodule(self._decoder_name(lm.model)).layers

    def final_site(self, lm: LoadedModel, cfg: GenerationConfig) -> str:
        return self.hook_site(lm, cfg.replace(layer=-1))

    def validate(self, lm: LoadedModel | None, cfg: GenerationConfig) -> None:
        super().validate(lm, cfg)
        if lm is None:
            return
        model = lm.model
        if not hasattr(model, "_denoising_step") or getattr(model.config, "canvas_length", None) is None:
            raise ConfigError(f"{lm.name} ({type(model).__name__}) is not a DiffusionGemma model (transformers' "
                              f"DiffusionGemmaForBlockDiffusion), which the 'diffusiongemma' family and sampler need; "
                              f"wrap it with its own family ('ar' or 'diffusion')")
        self.hook_site(lm, cfg)
        self._generation_config(model, cfg, 1)

    def max_steps(self, lm: LoadedModel, cfg: GenerationConfig) -> int:
        """Denoising steps per canvas (the resolved ``max_denoising_steps``) times the canvases."""
        C = int(lm.model.config.canvas_length)
        gc, _ = self._generation_config(lm.model, cfg, 1)
        return int(gc.max_denoising_steps) * math.ceil(cfg.gen_length / C)

    def response_positions(self, cfg: GenerationConfig) -> int:
        return cfg.gen_length        # whole canvases: up to canvas_length - 1 more (the model is not known here)

    # ---- the loop ----------------------------------------------------------------------------------
    @torch.no_grad()
    def run(self, lm: LoadedModel, rows: list[list[int]], cfg: GenerationConfig, *,
            record: bool = True, door=None) -> SampleBatch:
        self.validate(lm, cfg)
        door = self.door(lm, cfg, record, door)
        model = lm.model
        C = int(model.config.canvas_length)
        L = math.ceil(cfg.gen_length / C) * C
        with door.attach(model, steps=self.max_steps(lm, cfg)):
            outs = [self._run_row(lm, r, cfg, C, L, door) for r in rows]
        pad = lm.pad_token_id
        response = torch.full((len(rows), L), pad, dtype=torch.long)
        for i, o in enumerate(outs):
            response[i, :o["ids"].numel()] = o["ids"]
        n_steps = torch.tensor([o["steps"] for o in outs], dtype=torch.long)
        n_forward = int(n_steps.sum())
        if not door.record:
            return DiffusionGemmaBatch(response_ids=response, n_forward=n_forward, n_steps=n_steps)
        T = int(n_steps.max())

        def stack(key, rec=None):      # rows that stopped early repeat their last step up to T
            return torch.stack([torch.cat([x, x[-1:].expand(T - len(x), *x.shape[1:])])
                                for x in (o[key] if rec is None else o[rec][key] for o in outs)])

        sites = {s: stack(s, "phi") for s in door.sites}
        return DiffusionGemmaBatch(response_ids=response, activations=sites.pop(door.primary),
                                   site_activations=sites or None, predicted=stack("predicted"),
                                   committed=stack("committed"), confidence=stack("confidence"), n_forward=n_forward,
                                   n_steps=n_steps, accepted=stack("accepted"), renoised=stack("renoised"),
                                   canvas_ids=stack("canvas_ids"), canvas_index=stack("canvas_index"))

    def _run_row(self, lm: LoadedModel, row: list[int], cfg: GenerationConfig, C: int, L: int, door):
        """One prompt, exactly as ``model.generate()`` runs it (the same helpers in the same order, so the
        same random draws), under the row's own seed; when ``door`` records, the per-step records."""
        recording = door.record
        model, dev = lm.model, lm.device
        pad = lm.pad_token_id
        devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(row_seed(cfg.seed, row))
            gc, model_kwargs = self._generation_config(model, cfg, 1)
            input_ids = torch.tensor([row], dtype=torch.long, device=dev)
            P = cur_len = input_ids.shape[1]
            max_length, max_new_tokens = model._prepare_generated_length(gc, cur_len)
            n_canvases = math.ceil(max_new_tokens / C)
            finished = torch.zeros(1, dtype=torch.bool, device=dev)
            cache = model._prepare_cache_for_generation(generation_config=gc, batch_size=1, max_length=max_length)
            kv = _cache_name(model)          # transformers renamed past_key_values to cache (5.2x)
            eos = torch.tensor(gc.eos_token_id, device=dev) if gc.eos_token_id is not None else None
            enc_pos = torch.arange(0, cur_len, dtype=torch.int32, device=dev).unsqueeze(0)
            dec_pos = torch.arange(cur_len, cur_len + C, dtype=torch.int32, device=dev).unsqueeze(0)
            attn = torch.ones((1, cur_len), dtype=torch.bool, device=dev)
            dec_attn = torch.nn.functional.pad(attn, (0, C), value=True)
            sampler = model._prepare_sampler(gc)
            processor = _Capture(model._prepare_logits_processor(gc, None))
            stopping = model._prepare_ar_stopping_criteria(gc, None)
            diffusion_stopping = model._prepare_diffusion_stopping_criteria(gc)
            rec_keys = ("phi", "predicted", "committed", "confidence", "accepted", "renoised", "canvas_ids",
                        "canvas_index")
            rec = {k: [] for k in rec_keys}
            rec["phi"] = {s: [] for s in door.sites}
            # what the response holds before the current canvas: tokens, confidence (future canvases: pad, 0)
            resp = torch.full((L,), pad, dtype=torch.long, device=dev)
            conf = torch.zeros(L, dtype=torch.float32, device=dev)
            steps = 0
            for c in range(n_canvases):
                enc_ids, enc_mask = model._prepare_encoder_inputs(
                    input_ids=input_ids, attention_mask=attn, encoder_position_ids=enc_pos, **{kv: cache},
                    is_prefill=c == 0, canvas_length=C, batch_size=1, **model_kwargs)
                cache = getattr(model.model.encoder(input_ids=enc_ids, attention_mask=enc_mask, **{kv: cache},
                                                    position_ids=enc_pos, **model_kwargs), kv)
                canvas, sc_logits, mask_mapping, done = model._prepare_denoiser_inputs(
                    decoder_attention_mask=dec_attn, **{kv: cache}, sampler=sampler,
                    diffusion_stopping_criteria=diffusion_stopping, batch_size=1, device=dev,
                    model_kwargs=model_kwargs)
                argmax = canvas
                for cur_step in reversed(range(1, gc.max_denoising_steps + 1)):
                    door.at(steps)
                    canvas, argmax, sc_logits, done = model._denoising_step(
                        decoder_forward=model.forward, current_canvas=canvas, argmax_canvas=argmax,
                        input_ids=input_ids, decoder_position_ids=dec_pos, self_conditioning_logits=sc_logits,
                        mask_mapping=mask_mapping, **{kv: cache}, finished_denoising=done, cur_step=cur_step,
                        sampler=sampler, logits_processor=processor,
                        diffusion_stopping_criteria=diffusion_stopping, **model_kwargs)
                    steps += 1
                    last = bool(done.all()) or cur_step == 1        # the canvas's last step
                    if recording:
                        self._record(rec, door, processor.last, argmax, canvas, sampler, resp, conf, c, C, last)
                    if last:
                        break
                input_ids = torch.cat([input_ids, argmax], dim=-1)
                input_ids, finished = model._finalize_canvas(
                    input_ids=input_ids, finished_sequences=finished, generation_config=gc,
                    stopping_criteria=stopping, canvas_length=C, eos_tensor=eos)
                if recording:            # the canvas as output (tokens after an end token are pad) from now on
                    sl = slice(c * C, (c + 1) * C)
                    resp[sl] = input_ids[0, -C:]
                    conf[sl] = rec["confidence"][-1][sl]
                    rec["predicted"][-1] = resp.clone()
                if bool(finished.all()):
                    break
                cur_len, dec_attn, attn, enc_pos, dec_pos = model._prepare_kwargs_for_next_canvas(
                    attention_mask=attn, decoder_attention_mask=dec_attn, decoder_position_ids=dec_pos,
                    canvas_length=C, cur_len=cur_len)
            result = {"ids": input_ids[0, P:].cpu(), "steps": steps}
            if recording:
                rec["committed"][-1][:] = True          # the response is complete (unused canvases hold pad)
                for k in rec_keys:
                    result[k] = {s: torch.stack(v).cpu() for s, v in rec[k].items()} if k == "phi" \
                        else torch.stack(rec[k]).cpu()
            return result

    @staticmethod
    def _record(rec, door, processed, argmax, canvas, sampler, resp, conf, c, C, last) -> None:
        """One decoder forward's records (response coordinates; ``resp``/``conf`` hold finished canvases;
        ``last``: the canvas's last step, which commits all of it)."""
        L = resp.numel()
        sl = slice(c * C, (c + 1) * C)
        accepted = sampler.accepted_token_mask[0].bool()
        logits = processed[0].float()
        p_top = (logits.max(-1).values - torch.logsumexp(logits, -1)).exp()
        acc_full = torch.zeros(L, dtype=torch.bool, device=resp.device)
        acc_full[sl] = accepted
        ren_full = torch.zeros_like(acc_full)
        ren_full[sl] = ~accepted             # EntropyBoundSampler.renoise_canvas renoises every non-accepted one
        pred, ids = resp.clone(), resp.clone()
        pred[sl] = argmax[0]
        ids[sl] = canvas[0]
        cf = conf.clone()
        cf[sl] = p_top
        committed = torch.zeros_like(acc_full)
        committed[: c * C] = True
        committed[sl] = True if last else accepted
        for s, phi in door.pool_canvas(committed[None, sl]).items():
            rec["phi"][s].append(phi[0])
        rec["predicted"].append(pred)
        rec["committed"].append(committed)
        rec["confidence"].append(cf)
        rec["accepted"].append(acc_full)
        rec["renoised"].append(ren_full)
        rec["canvas_ids"].append(ids)
        rec["canvas_index"].append(torch.tensor(c, device=resp.device))
