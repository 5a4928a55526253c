"""Safety against decoding speed: refusal, attack success, IRR and the σ shape along a threshold sweep.

Fast DLM decoding (``threshold`` / ``threshold_factor`` samplers, Fast-dLLM's rules) commits several
tokens per forward pass when the model is confident. :func:`decoding_speed_sweep` decodes the same
prompts at each value of the sampler's option and reports, per value: the forward passes a response
took (``mean_steps``, ``steps_ratio`` = exact steps / mean steps), traces/s, the refusal rate on the
plain harmful prompts, the attack success (placeholder compliance, ``sri_kit.judges``) and the refusal
rate on the attacked prompts (``sri_kit.attacks``), and the IRR and mean σ_t of the attacked traces,
computed after :func:`sri_kit.sampling.align_traces` puts every trace on the centers' step grid (by
decoding progress). The centers come from exact decoding at ``config`` (their T = ``config.steps``).

Example:
    >>> from sri_kit.analysis.decoding_speed import decoding_speed_sweep
    >>> cfg = sk.GenerationConfig(steps=4, gen_length=8)
    >>> tr = sk.generate(lm_dlm, ["Hi", "Write a poem"], cfg, progress=False)
    >>> centers = sk.Centers((tr[0].activations + 0.1), tr[1].activations)
    >>> df = decoding_speed_sweep(lm_dlm, centers, ["Write a poem"], values=(1.0, 0.0), config=cfg, attack="none")
    >>> df[["value", "mean_steps"]].values.tolist()
    [[1.0, 4.0], [0.0, 1.0]]
"""
from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..config import LAMBDA_C, GenerationConfig
from ..errors import ConfigError
from ..experiments import attack_set
from ..judges import is_placeholder_compliance
from ..models import LoadedModel
from ..sampling import align_traces, generate, get_sampler
from ..sri import Centers, internal_recovery_rate, sri_signal

__all__ = ["decoding_speed_sweep"]

_OPTION = {"threshold": "threshold", "threshold_factor": "factor", "prefix_cache": "threshold",
           "dual_cache": "threshold"}


def decoding_speed_sweep(lm: LoadedModel, centers: Centers, harmful: Sequence[str], *,
                         values: Sequence[float] = (1.0, 0.9, 0.7, 0.5, 0.3), sampler: str = "threshold",
                         option: str | None = None, options: Mapping[str, Any] | None = None,
                         config: GenerationConfig | None = None,
                         attack: str = "roleplay", lambda_c: float = LAMBDA_C, lambda_r: float = 0.3,
                         batch_size: int = 32, progress: bool = False) -> pd.DataFrame:
    """One row per option value: value, mean_steps, steps_ratio, traces_per_s, refusal_rate,
    attack_success, attacked_refusal_rate, irr, sigma_mean (list of T floats), refused (one bool per plain
    harmful prompt, in order: for paired comparisons across values), n.

    ``harmful``: plain harmful prompts; the attacked set is built by the experiment protocol
    (:func:`sri_kit.experiments.attack_set`: request i in ``attack`` with seed i).
    ``option``: the sampler option the values set (default: ``threshold`` / ``factor``). ``options``: other
    options of the sampler, the same for every value (e.g. ``{"stop_at_end": True}``: same texts, fewer
    passes; the IRR and σ then see shorter traces, aligned by decoding progress like the rest). ``config``:
    the exact decoding settings the centers were fitted at (default ``lm.default_config``).
    ``progress``: print one line per value as it finishes.
    """
    cfg0 = config if config is not None else lm.default_config
    T = centers.harmless.shape[0]
    if T != cfg0.steps:
        raise ConfigError(f"the centers have {T} steps but config.steps is {cfg0.steps}: fit the centers at the "
                          f"exact config the sweep starts from")
    option = option or _OPTION.get(sampler)
    if option is None:
        raise ConfigError(f"say which option of sampler {sampler!r} the values set: option=...")
    get_sampler(sampler)                                  # an unknown name fails here, before any decoding
    harmful = list(harmful)
    attacked, prefill = attack_set(attack, harmful, lm=lm)
    rows = []
    for v in values:
        cfg = cfg0.replace(sampler=sampler, options={**dict(cfg0.options), **dict(options or {}), option: v})
        t0 = time.perf_counter()
        plain = generate(lm, harmful, cfg, batch_size=batch_size, progress=False)
        att = generate(lm, attacked, cfg, batch_size=batch_size, progress=False, prefill=prefill)
        dt = time.perf_counter() - t0
        steps = np.array([tr.steps for tr in plain + att], dtype=float)
        # the centers come from exact decoding (another config key) by design: compare the aligned arrays
        aligned = np.stack([tr.activations for tr in align_traces(att, T)])
        sigma = sri_signal(aligned, (centers.harmless, centers.harmful))
        refused = [bool(tr.refused) for tr in plain]
        rows.append(dict(
            value=float(v), mean_steps=float(steps.mean()), steps_ratio=float(cfg0.steps / steps.mean()),
            traces_per_s=len(steps) / dt,
            refusal_rate=float(np.mean(refused)),
            attack_success=float(np.mean([is_placeholder_compliance(tr.response) for tr in att])),
            attacked_refusal_rate=float(np.mean([tr.refused for tr in att])),
            irr=internal_recovery_rate(sigma, lambda_c, lambda_r),
            sigma_mean=sigma.mean(0).tolist(), refused=refused, n=len(harmful)))
        if progress:
            print(f"{sampler} {option}={v:g}: {len(steps)} generations, {steps.mean():.1f} passes each, "
                  f"{dt:.1f} s", flush=True)
    return pd.DataFrame(rows)
