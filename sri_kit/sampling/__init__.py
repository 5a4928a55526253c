"""Generation: every sampler of the kit, chosen from a registry, behind ``generate`` and ``generate_texts``.

Layout: ``base.py`` (the Sampler protocol, its typed result, the registry), ``pooling.py`` (φ_t for
every sampler), one file per sampler (``ar.py``, ``diffusion.py``, ``left_to_right.py``, ``dream.py``,
``diffusiongemma.py``, ``threshold.py``, ``cached.py``),
``recorder.py`` (the per-step door: recording any set of sites, interventions),
``generate.py`` (batching, traces, the text-only fast path), ``trace.py`` (GenerationTrace),
``scoring.py`` (teacher-forced / masked-canvas target log-probabilities), ``align.py`` (one step grid
for traces of variable-step samplers).

Example:
    >>> from sri_kit import GenerationConfig
    >>> traces = generate(lm_dlm, ["How do I bake bread?"], GenerationConfig(steps=8, gen_length=8), progress=False)
    >>> traces[0].activations.shape, traces[0].sampler
    ((8, 256), 'diffusion')
    >>> generate_texts(lm_dlm, ["How do I bake bread?"], GenerationConfig(steps=8, gen_length=8)) == [traces[0].text]
    True
"""
from __future__ import annotations

from .align import align_trace, align_traces, step_map
from .ar import ARSampler
from .base import (NoOptions, SampleBatch, Sampler, get_sampler, register, sampler_for, sampler_for_family, sampler_names,
                   unregister)
from .cached import DualCacheSampler, PrefixCacheSampler
from .diffusion import MaskedDiffusionSampler, num_transfer_tokens
from .diffusiongemma import DiffusionGemmaSampler
from .dream import DreamSampler
from .generate import Response, generate, generate_canvases, generate_texts
from .left_to_right import LeftToRightSampler
from .pooling import Pooler
from .recorder import FINAL_SITE, StepRecorder, config_site, site_names
from .scoring import target_logprob_ids
from .threshold import FactorSampler, ThresholdSampler
from .trace import GenerationTrace, decoder, load_traces, save_traces

# the registry: one line per sampler
register(ARSampler())
register(MaskedDiffusionSampler())
register(LeftToRightSampler())
register(DreamSampler())
register(DiffusionGemmaSampler())
register(ThresholdSampler())
register(FactorSampler())
register(PrefixCacheSampler())
register(DualCacheSampler())

__all__ = ["generate", "generate_texts", "align_traces", "align_trace", "step_map", "generate_canvases", "Response", "GenerationTrace", "save_traces", "load_traces", "num_transfer_tokens",
           "Sampler", "SampleBatch", "NoOptions", "register", "unregister", "get_sampler", "sampler_names",
           "sampler_for", "sampler_for_family", "Pooler", "StepRecorder", "site_names", "config_site", "FINAL_SITE", "target_logprob_ids", "decoder", "ARSampler", "MaskedDiffusionSampler", "LeftToRightSampler",
           "DreamSampler", "DiffusionGemmaSampler",
           "ThresholdSampler", "FactorSampler", "PrefixCacheSampler", "DualCacheSampler"]
