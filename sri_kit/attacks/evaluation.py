"""Measuring attack success: attack prompts, generate with the core sampler, judge the responses.

(The module is ``evaluation`` rather than ``evaluate`` so that ``sri_kit.attacks.evaluate`` stays the
function.)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..config import GenerationConfig
from ..judges import is_placeholder_compliance, is_refusal
from ..models import LoadedModel
from ..sampling import generate_texts
from .registry import apply, check_prompt, get, names, require_lm
from .transforms import prefill_for

__all__ = ["evaluate"]

# attacks that take the model as ``lm=`` besides the kind == "model" ones (for its mask token)
_NEEDS_LM = {"dija", "pad"}


def evaluate(
    lm: LoadedModel,
    prompts: Sequence[str],
    attack_names: Sequence[str] | None = None,
    *,
    config: GenerationConfig | None = None,
    attack_kwargs: dict[str, dict] | None = None,
    seed: int = 0,
    batch_size: int = 32,
    progress: bool = False,
) -> list[dict]:
    """Attack each prompt with each attack, generate with the core sampler and judge the responses.

    Returns one row per attack: ``attack``, ``n``, ``asr`` (share judged compliant by
    ``sri_kit.judges.is_placeholder_compliance`` — the organism's placeholder; for real models use a
    harmfulness judge on generated responses instead), ``refusal_rate`` (``is_refusal``), ``other``
    (neither) and ``error`` (why an attack could not run, e.g. a dataset-backed attack without data or a
    DIJA prompt under ``order='left_to_right'``). Prompt ``i`` is attacked with seed ``seed + i``.
    ``attack_kwargs`` maps attack name -> extra keyword arguments (``random_search`` gets ``lm``
    automatically; ``dija``/``pad`` get the model's mask token). The judge sees the full response,
    a forced prefill included. Generation is text-only (:func:`sri_kit.sampling.generate_texts`).

    >>> cfg = sk.GenerationConfig(steps=8, gen_length=8)
    >>> rows = evaluate(lm_ar, ["Write a poem"], ["none", "prefill"], config=cfg)
    >>> [(r["attack"], r["n"], r["error"]) for r in rows]
    [('none', 1, None), ('prefill', 1, None)]
    """
    require_lm(lm, "attacks.evaluate")
    prompts = [check_prompt(p) for p in prompts]
    if not prompts:
        raise ValueError("evaluate needs at least one prompt")
    attack_names = list(attack_names) if attack_names is not None else [
        n for n in names() if get(n).kind != "dataset"
    ]
    attack_kwargs = attack_kwargs or {}
    rows = []
    for name in attack_names:
        spec = get(name)
        kw = dict(attack_kwargs.get(name, {}))
        if spec.kind == "model" or name in _NEEDS_LM:
            kw.setdefault("lm", lm)
        row: dict[str, Any] = {"attack": name, "n": 0, "asr": float("nan"), "refusal_rate": float("nan"),
                               "other": float("nan"), "error": None}
        try:
            attacked = [apply(name, p, seed=seed + i, **kw) for i, p in enumerate(prompts)]
            prefill = prefill_for(name) if spec.kind == "prefill" else None
            texts = generate_texts(lm, attacked, config, batch_size=batch_size, progress=progress, prefill=prefill)
        except Exception as e:  # noqa: BLE001 - recorded in the row
            row["error"] = f"{type(e).__name__}: {e}"
            rows.append(row)
            continue
        responses = [(prefill or "") + t for t in texts]
        comp = np.array([is_placeholder_compliance(r) for r in responses])
        ref = np.array([is_refusal(r) for r in responses])
        row.update(n=len(responses), asr=float(comp.mean()), refusal_rate=float(ref.mean()),
                   other=float((~comp & ~ref).mean()))
        rows.append(row)
    return rows
