"""``generate`` (recorded traces) and ``generate_texts`` (the recording-free fast path).

Both encode the prompts with the chat template, check them against the model's context, batch prompts
of similar token length together and hand each batch to the sampler that :func:`sampler_for` picks.
Every row's result is independent of its batch (per-row seeds, attention masks), so only the order
of work changes with ``batch_size``.

Example:
    >>> from sri_kit import GenerationConfig
    >>> tr = generate(lm_ar, ["Write a haiku about rain."], GenerationConfig(steps=8), progress=False)[0]
    >>> tr.activations.shape, tr.step_texts()[-1] == tr.text
    ((8, 256), True)
"""
from __future__ import annotations

import inspect
from typing import Iterator, NamedTuple, Sequence

import numpy as np
from tqdm.auto import tqdm

from ..config import GenerationConfig
from ..errors import ConfigError, InputTypeError, check_int
from ..judges import is_refusal
from ..models import LoadedModel, accepts, check_prompts, per_prompt
from ..interventions import as_interventions
from .base import SampleBatch, Sampler, sampler_for
from .recorder import StepRecorder
from .trace import GenerationTrace, attach_decoder, decoder

__all__ = ["generate", "generate_texts", "generate_canvases", "Response"]


def _prepare(lm, prompts, config, batch_size, prefill, interventions=None):
    if not isinstance(lm, LoadedModel):
        raise InputTypeError("generate() needs a LoadedModel: use sri_kit.load_model(...) or sri_kit.wrap_model(...)")
    prompts = check_prompts(prompts)
    cfg = config if config is not None else lm.default_config
    if not isinstance(cfg, GenerationConfig):
        raise InputTypeError(f"config must be a GenerationConfig, got {type(cfg).__name__}")
    if interventions is not None:          # they join the config: its key (and every cache) tells the runs apart
        cfg = cfg.replace(interventions=tuple(cfg.interventions) + as_interventions(interventions))
    check_int("batch_size", batch_size, minimum=1)
    sampler = sampler_for(lm, cfg)
    sampler.validate(lm, cfg)
    prefills = per_prompt(prefill, len(prompts), "prefill")
    rows = lm.encode_chat(prompts, system_prompt=cfg.system_prompt, prefill=prefills)
    limit = lm.max_positions()
    extra = sampler.response_positions(cfg)
    for i, r in enumerate(rows):
        if limit is not None and len(r) + extra > limit:
            raise ConfigError(f"prompt {i} has {len(r)} tokens; with {extra} response positions it exceeds the "
                             f"model's context of {limit} tokens: shorten the prompt or generate fewer tokens "
                             f"(steps / gen_length)")
    return prompts, cfg, sampler, prefills, rows


def _batches(lm: LoadedModel, sampler: Sampler, rows: list[list[int]], cfg: GenerationConfig, batch_size: int,
             progress: bool, record: bool, sites: Sequence[str] | None = None, text_only: bool = False
             ) -> Iterator[tuple[list[int], SampleBatch]]:
    """(row indices, result) per batch; batches hold prompts of similar token length (less padding).

    ``text_only``: only the decoded texts are used, so a sampler whose ``run`` takes ``until_decided`` may drop
    a row once its text is decided (the canvas after its first end token is then left unfinished).

    A model that cannot be told where a left-padded row's tokens sit (:func:`padding_free`) gets only
    batches of prompts of one token length, so no row is ever padded and batching stays exact.
    """
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    if padding_free(lm):
        groups: dict[int, list[int]] = {}
        for i in order:
            groups.setdefault(len(rows[i]), []).append(i)
        chunks = [g[s:s + batch_size] for g in groups.values() for s in range(0, len(g), batch_size)]
    else:
        chunks = [order[s:s + batch_size] for s in range(0, len(rows), batch_size)]
    StepRecorder(lm, cfg, record=record, sites=sites, sampler=sampler)      # bad sites fail before any work
    params = inspect.signature(sampler.run).parameters
    takes_door = "door" in params
    extra = {"until_decided": True} if text_only and "until_decided" in params else {}
    if not takes_door and (sites or cfg.interventions):
        raise ConfigError(f"sampler {sampler.name!r} predates the per-step door (its run() takes no door=), so it "
                          f"cannot record more sites or apply interventions: add door=None to its run() and pass "
                          f"it on to the sampler it extends (or open it with self.door(...))")
    for idx in tqdm(chunks, desc=f"generate ({sampler.name})", disable=not progress or len(chunks) < 2):
        batch_rows = [rows[i] for i in idx]
        if takes_door:
            door = StepRecorder(lm, cfg, record=record, sites=sites, sampler=sampler)
            yield idx, sampler.run(lm, batch_rows, cfg, record=record, door=door, **extra)
        else:
            yield idx, sampler.run(lm, batch_rows, cfg, record=record, **extra)


def padding_free(lm: LoadedModel) -> bool:
    """Whether batches must avoid padding: the model's forward takes no ``position_ids``, or it runs remote
    code (whose handling of a padded batch the kit cannot check; e.g. the released LLaDA code builds the
    padding mask and then attends without it)."""
    model = lm.model
    return not accepts(model, "position_ids") or type(model).__module__.startswith("transformers_modules")


def generate(lm: LoadedModel, prompts: Sequence[str], config: GenerationConfig | None = None, *,
             batch_size: int = 32, progress: bool = True, prefill: str | Sequence[str] | None = None,
             sites: Sequence[str] | None = None, interventions=None) -> list[GenerationTrace]:
    """Generate one trace per prompt (plain user messages; the chat template is applied here).

    ``config=None`` uses the model's recommended config. ``prefill`` forces the start of the response
    (one string or one per prompt); it is part of the context, so ``trace.text`` holds what the model
    generated after it and ``trace.response`` the whole visible response. Results do not depend on
    ``batch_size``. With a variable-step sampler (``Sampler.variable_steps``) each trace keeps the steps
    its row took (``trace.steps``); :func:`~sri_kit.sampling.align_traces` puts them on one grid.

    ``sites``: more sites to record in the same pass (``"resid_post.k"``, ``"attn_out.k"``, ``"mlp_out.k"``,
    ``"final_norm"``; ``sri_kit.sampling.site_names(lm)``), pooled like ``activations`` and kept in
    ``trace.sites``; ``trace.at_site(name)`` is the trace as if recorded there with ``layer=k``.
    ``interventions``: :class:`sri_kit.Intervention` objects added to ``config.interventions`` (see
    :func:`sri_kit.intervene`); ``trace.meta["interventions"]`` describes them.
    """
    prompts, cfg, sampler, prefills, rows = _prepare(lm, prompts, config, batch_size, prefill, interventions)
    decode = decoder(lm.tokenizer, lm.end_token_ids)
    key = cfg.key()
    budget = sampler.max_steps(lm, cfg) if sampler.variable_steps else None
    traces: list[GenerationTrace | None] = [None] * len(rows)
    for idx, out in _batches(lm, sampler, rows, cfg, batch_size, progress, record=True, sites=sites):
        for j, i in enumerate(idx):
            text = decode(out.response_ids[j], lstrip=not prefills[i])
            T = out.activations.shape[1] if out.n_steps is None else int(out.n_steps[j])   # this row's steps
            meta = {"pooling": cfg.pooling, "layer": cfg.layer, "steps": T, "n_forward": out.n_forward}
            if budget is not None:
                meta["max_steps"] = budget
            if out.filled_prompt_ids is not None:
                meta["filled_prompt"] = lm.tokenizer.decode(out.filled_prompt_ids[j], skip_special_tokens=False)
            if cfg.interventions:
                meta["interventions"] = [iv.summary() for iv in cfg.interventions]
            extra = {s: a[j, :T].numpy() for s, a in (out.site_activations or {}).items()}
            traces[i] = GenerationTrace(
                prompt=prompts[i], text=text,
                activations=out.activations[j, :T].numpy(),
                predicted=out.predicted[j, :T].numpy().astype(np.int64),
                committed=out.committed[j, :T].numpy().astype(bool),
                confidence=out.confidence[j, :T].numpy(),
                refused=is_refusal((prefills[i] or "") + text), model_name=lm.name, config_key=key,
                family=lm.family, sampler=sampler.name, prefill=prefills[i], meta=meta, sites=extra)
    return attach_decoder(traces, lm.tokenizer, lm.end_token_ids)


class Response(NamedTuple):
    """One recording-free generation: the response text and the final response canvas (token ids)."""

    text: str
    ids: list[int]


def generate_canvases(lm: LoadedModel, prompts: Sequence[str], config: GenerationConfig | None = None, *,
                      batch_size: int = 32, progress: bool = False, prefill: str | Sequence[str] | None = None,
                      interventions=None) -> list[Response]:
    """Text and final canvas per prompt, without recording hooks or per-step arrays (see
    :func:`generate_texts`); ``config.interventions`` and ``interventions`` apply as in :func:`generate`."""
    return _responses(lm, prompts, config, batch_size, progress, prefill, interventions, text_only=False)


def _responses(lm, prompts, config, batch_size, progress, prefill, interventions, *, text_only: bool) -> list[Response]:
    prompts, cfg, sampler, prefills, rows = _prepare(lm, prompts, config, batch_size, prefill, interventions)
    decode = decoder(lm.tokenizer, lm.end_token_ids)
    out_: list[Response | None] = [None] * len(rows)
    for idx, out in _batches(lm, sampler, rows, cfg, batch_size, progress, record=False, text_only=text_only):
        for j, i in enumerate(idx):
            out_[i] = Response(decode(out.response_ids[j], lstrip=not prefills[i]), out.response_ids[j].tolist())
    return out_


def generate_texts(lm: LoadedModel, prompts: Sequence[str], config: GenerationConfig | None = None, *,
                   batch_size: int = 32, progress: bool = False, prefill: str | Sequence[str] | None = None,
                   interventions=None) -> list[str]:
    """The response texts only: the same tokens as ``generate(...)[i].text``, without hooks or per-step
    arrays (the fast path for judges, evaluation and training-time validation). A diffusion row stops once
    its text is decided (``until_decided``: an end token committed with everything before it), since the
    steps after that only fill positions the decoder cuts off."""
    return [r.text for r in _responses(lm, prompts, config, batch_size, progress, prefill, interventions,
                                       text_only=True)]
