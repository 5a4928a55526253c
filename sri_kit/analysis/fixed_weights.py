"""Fixed weights (PAPER.md §3.3, Table 2): one DLM, diffusion remasking vs left-to-right decoding.

:func:`fixed_weights_table` generates both ways and tabulates RR and ASR per attack with
paired-bootstrap 95 % intervals; :func:`fixed_weights_from_traces` does the same from traces already
generated.

Example:
    >>> ci = paired_bootstrap(np.array([1.0, 0, 1, 1]), np.array([0.0, 0, 1, 0]), n_boot=200)
    >>> sorted(ci)
    ['a', 'b', 'diff']
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import sampling            # the module: sampling.generate is looked up at call time (tests patch it)
from ..config import GenerationConfig
from ..judges import is_refusal
from .judging import HarmJudge, HeuristicHarmJudge, call_judge, judge_name

__all__ = ["paired_bootstrap", "fixed_weights_from_traces", "fixed_weights_table"]


def paired_bootstrap(a: np.ndarray, b: np.ndarray, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05):
    """Percentile CIs for mean(a), mean(b) and mean(a) − mean(b), resampling *pairs* (same indices).

    Returns dict name -> (lo, hi) for "a", "b", "diff".
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError("paired_bootstrap needs two non-empty 1-D arrays of equal length")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(a), size=(n_boot, len(a)))
    ma, mb = a[idx].mean(1), b[idx].mean(1)
    q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
    return {"a": tuple(np.percentile(ma, q)), "b": tuple(np.percentile(mb, q)), "diff": tuple(np.percentile(ma - mb, q))}


def fixed_weights_from_traces(diffusion: Mapping[str, Sequence], left_to_right: Mapping[str, Sequence],
                              judge: HarmJudge | None = None, n_boot: int = 1000, seed: int = 0,
                              add_all: bool = True, requests: Mapping[str, Sequence] | None = None) -> pd.DataFrame:
    """The Table 2 analogue from already generated traces (same prompts, same order, per attack).

    Per attack: n, rr_diffusion, rr_l2r, asr_diffusion, asr_l2r (shares in [0, 1]; RR = dictionary
    refusal of ``trace.response``, ASR = ``judge`` on it), ``delta_rr`` = rr_diffusion − rr_l2r
    (positive = diffusion refuses more) and ``delta_asr`` = asr_l2r − asr_diffusion (positive =
    diffusion is attacked less; the paper's "reduction"), each with a paired-bootstrap 95 % CI
    (``*_lo``/``*_hi``) that resamples prompts and keeps each prompt's two samples together. With
    ``add_all`` a last row ``all`` pools every (attack, prompt) pair. ``requests`` (attack -> one request
    id per trace) clusters the ``all`` row's interval by request (:func:`sri_kit.stats.paired_difference`):
    one request under several attacks is one unit, not several independent ones.
    """
    judge = judge or HeuristicHarmJudge()
    if set(diffusion) != set(left_to_right):
        raise ValueError("diffusion and left_to_right need the same attacks")
    per = {}
    for k, att in enumerate(diffusion):
        d, l = list(diffusion[att]), list(left_to_right[att])
        if len(d) != len(l) or not d:
            raise ValueError(f"attack {att!r}: need the same non-zero number of traces for both samplers")
        if [t.prompt for t in d] != [t.prompt for t in l]:
            raise ValueError(f"attack {att!r}: the two samplers saw different prompts (pair them in order)")
        per[att] = {
            "rr_d": np.array([is_refusal(t.response) for t in d], float),
            "rr_l": np.array([is_refusal(t.response) for t in l], float),
            "asr_d": call_judge(judge, [t.prompt for t in d], [t.response for t in d]).astype(float),
            "asr_l": call_judge(judge, [t.prompt for t in l], [t.response for t in l]).astype(float),
        }
    if add_all and len(per) > 1:
        per["all"] = {k: np.concatenate([v[k] for v in per.values()]) for k in ("rr_d", "rr_l", "asr_d", "asr_l")}
    rows = []
    for k, (att, v) in enumerate(per.items()):
        ci_rr = paired_bootstrap(v["rr_d"], v["rr_l"], n_boot, seed + k)
        ci_asr = paired_bootstrap(v["asr_l"], v["asr_d"], n_boot, seed + k)
        if att == "all" and requests is not None:
            from ..stats import paired_difference
            ids = [str(r) for a in diffusion for r in requests[a]]
            if len(ids) != len(v["rr_d"]):
                raise ValueError(f"requests give {len(ids)} ids for {len(v['rr_d'])} traces")
            drr = paired_difference(v["rr_l"], v["rr_d"], ids, n_boot=n_boot, seed=seed + k)
            dasr = paired_difference(v["asr_d"], v["asr_l"], ids, n_boot=n_boot, seed=seed + k)
            ci_rr = dict(ci_rr, diff=(drr["lo"], drr["hi"]))
            ci_asr = dict(ci_asr, diff=(dasr["lo"], dasr["hi"]))
        rows.append({
            "attack": att, "n": len(v["rr_d"]),
            "rr_diffusion": v["rr_d"].mean(), "rr_diffusion_lo": ci_rr["a"][0], "rr_diffusion_hi": ci_rr["a"][1],
            "rr_l2r": v["rr_l"].mean(), "rr_l2r_lo": ci_rr["b"][0], "rr_l2r_hi": ci_rr["b"][1],
            "delta_rr": v["rr_d"].mean() - v["rr_l"].mean(), "delta_rr_lo": ci_rr["diff"][0], "delta_rr_hi": ci_rr["diff"][1],
            "asr_diffusion": v["asr_d"].mean(), "asr_diffusion_lo": ci_asr["b"][0], "asr_diffusion_hi": ci_asr["b"][1],
            "asr_l2r": v["asr_l"].mean(), "asr_l2r_lo": ci_asr["a"][0], "asr_l2r_hi": ci_asr["a"][1],
            "delta_asr": v["asr_l"].mean() - v["asr_d"].mean(), "delta_asr_lo": ci_asr["diff"][0],
            "delta_asr_hi": ci_asr["diff"][1],
        })
    df = pd.DataFrame(rows)
    df.attrs.update(judge=judge_name(judge), n_boot=n_boot, seed=seed)
    return df


def fixed_weights_table(lm_dlm, prompts_by_attack: Mapping[str, Sequence[str]], diffusion_cfg: GenerationConfig | None = None,
                        l2r_cfg: GenerationConfig | None = None, judge: HarmJudge | None = None, n_boot: int = 1000,
                        seed: int = 0, *, prefills: Mapping[str, str] | None = None, return_traces: bool = False,
                        progress: bool = False, requests: Mapping[str, Sequence] | None = None):
    """Table 2 analogue: the same DLM weights with diffusion remasking vs left-to-right decoding.

    ``lm_dlm`` must be a masked (non-causal) model with a mask token. ``prompts_by_attack`` maps an
    attack name to its (already attacked) prompts; ``prefills`` optionally maps an attack to a forced
    response prefix (the prefilling attack). ``diffusion_cfg`` defaults to the model's config;
    ``l2r_cfg`` to the same with ``order="left_to_right"``, one block and ``steps = gen_length`` (one
    committed token per step, nothing revised). See :func:`fixed_weights_from_traces` for the columns and
    ``requests`` (one request id per prompt, per attack: clusters the pooled row's interval by request).
    With ``return_traces`` returns ``(table, {"diffusion": {...}, "left_to_right": {...}})``.

    >>> df = fixed_weights_table(lm_dlm, {"none": ["Write a poem.", "How do I bake bread?"]},
    ...                          sk.GenerationConfig(steps=8, gen_length=8), n_boot=50)
    >>> df["attack"].tolist(), int(df["n"].iloc[0])
    (['none'], 2)
    """
    if lm_dlm.causal or lm_dlm.mask_token_id is None:
        raise ValueError("fixed_weights_table needs a diffusion model (the same weights are decoded both ways)")
    if not prompts_by_attack:
        raise ValueError("prompts_by_attack is empty: pass {attack name: [prompts]}")
    dcfg = diffusion_cfg or lm_dlm.default_config
    lcfg = l2r_cfg or dcfg.replace(order="left_to_right", steps=dcfg.gen_length, block_length=None)
    if lcfg.order != "left_to_right":
        raise ValueError("l2r_cfg must have order='left_to_right'")
    prefills = dict(prefills or {})
    tr_d, tr_l = {}, {}
    for att, prompts in prompts_by_attack.items():
        tr_d[att] = sampling.generate(lm_dlm, list(prompts), dcfg, progress=progress, prefill=prefills.get(att))
        tr_l[att] = sampling.generate(lm_dlm, list(prompts), lcfg, progress=progress, prefill=prefills.get(att))
    df = fixed_weights_from_traces(tr_d, tr_l, judge, n_boot, seed, requests=requests)
    df.attrs.update(diffusion_config=dcfg.key(), l2r_config=lcfg.key(), model=lm_dlm.name)
    return (df, {"diffusion": tr_d, "left_to_right": tr_l}) if return_traces else df
