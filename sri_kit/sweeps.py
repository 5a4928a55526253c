"""Parameter sweeps behind the widgets: diffusion steps, remasking, block length, temperature, top-p.

:func:`sweep` generates every prompt group under each setting of one :class:`~sri_kit.GenerationConfig`
field and returns a tidy frame, one row per setting × group: refusal rate, attack success, IRR (at
``lambda_r``, 0.3 by default) and mean σ. Per-step curves (mean/std σ and the share of step texts that
refuse) come with ``return_curves=True``.

Centers must match each setting: φ_t depends on the sampler, and T changes with ``steps``. By default
(``centers=None``) they are **refit per setting** on the anchor prompts generated under that setting
(the paper's protocol, PAPER.md §1.3). A single :class:`~sri_kit.Centers` is used as fixed anchors for
every setting of the same T and D (the paper fits centers once per model, then samples differently);
settings with another T raise. A dict ``{value: Centers}`` or a callable ``cfg -> Centers`` gives
per-setting centers explicitly.

Caching: each setting's result is keyed by model name + the setting's config key + a hash of the prompt
groups, prefills, anchors or centers, judge and thresholds. :class:`SweepCache` keeps an in-memory LRU
and, with ``path``, JSON files written atomically; an entry is only returned when its stored key data
equal the request exactly, so a result is never reused for another setting. Revisiting a setting is
instant.

Usage (minutes on the organism; ``notebooks/04_sweeps.ipynb`` runs it)::

    df = sweeps.sweep(lm, {"harmful": harmful, "jailbreak": jb}, lm.default_config,
                      "steps", [8, 16, 32], anchors=(benign, harmful))
    sk.plots.plot_sweep(df)

Example (what can be swept depends on the sampler that runs the model):
    >>> from sri_kit import sweeps
    >>> sweeps.sweepable(lm_ar)
    ('steps', 'temperature', 'top_p')
    >>> sweeps.sweepable(lm_dlm)
    ('steps', 'remasking', 'block_length', 'temperature', 'top_p')
"""
from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .analysis import HeuristicHarmJudge, call_judge, judge_name, step_texts
from .config import LAMBDA_C, GenerationConfig
from .data import load_prompts
from .judges import is_refusal, text_refusal_signal
from .io import atomic_write_text
from .sampling import generate          # module attribute: tests may count calls through it
from .sampling import sampler_for
from .sri import Centers, internal_recoveries, sri_signal

__all__ = ["SweepCache", "DEFAULT_CACHE", "sweep", "setting_key", "SWEEPABLE", "sweepable"]

#: Fields the widgets sweep (any GenerationConfig field works).
SWEEPABLE = ("steps", "remasking", "block_length", "temperature", "top_p")


def sweepable(lm, base_cfg: GenerationConfig | None = None) -> tuple[str, ...]:
    """The fields of :data:`SWEEPABLE` that change the output of the sampler that runs ``base_cfg`` on ``lm``
    (its ``settings``); sweeping any other field is an error."""
    settings = sampler_for(lm, base_cfg or lm.default_config).settings
    return tuple(p for p in SWEEPABLE if p in settings)


def _h(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


class SweepCache:
    """LRU of per-setting sweep results (``maxsize`` entries) with optional JSON files under ``path``.

    ``hits`` / ``misses`` count lookups. Entries hold the full key data (``meta``) and are returned
    only when it matches the request exactly.
    """

    def __init__(self, maxsize: int = 128, path: str | Path | None = None):
        self.maxsize, self.path = maxsize, Path(path) if path is not None else None
        self._mem: OrderedDict[str, tuple[dict, pd.DataFrame, pd.DataFrame]] = OrderedDict()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._mem)

    def clear(self) -> None:
        self._mem.clear()

    def _file(self, key: str) -> Path:
        return self.path / f"sweep_{key}.json"

    def get(self, key: str, meta: dict):
        ent = self._mem.get(key)
        if ent is None and self.path is not None and self._file(key).exists():
            ent = self._read(key)
            if ent is not None:
                self._store(key, ent)
        if ent is None or ent[0] != meta:
            self.misses += 1
            return None
        self._mem.move_to_end(key)
        self.hits += 1
        return ent[1].copy(), ent[2].copy()

    def put(self, key: str, meta: dict, table: pd.DataFrame, curves: pd.DataFrame) -> None:
        self._store(key, (meta, table.copy(), curves.copy()))
        if self.path is not None:
            blob = {"format": "sri_kit.sweep/1", "meta": meta, "table": _frame_to_json(table),
                    "curves": _frame_to_json(curves)}
            atomic_write_text(self._file(key), json.dumps(blob, default=str))

    def _store(self, key, ent) -> None:
        self._mem[key] = ent
        self._mem.move_to_end(key)
        while len(self._mem) > self.maxsize:
            self._mem.popitem(last=False)

    def _read(self, key: str):
        try:
            blob = json.loads(self._file(key).read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if blob.get("format") != "sri_kit.sweep/1":
            return None
        return blob["meta"], _frame_from_json(blob["table"]), _frame_from_json(blob["curves"])


def _frame_to_json(df: pd.DataFrame) -> dict:
    return {"columns": list(df.columns), "dtypes": {c: str(t) for c, t in df.dtypes.items()},
            "data": json.loads(df.to_json(orient="values"))}


def _frame_from_json(d: dict) -> pd.DataFrame:
    df = pd.DataFrame(d["data"], columns=d["columns"])
    for c, t in d["dtypes"].items():
        if t.startswith(("float", "int", "bool")):
            df[c] = df[c].astype(t)
    return df


#: The default in-memory cache (no disk) used when ``cache`` is not given.
DEFAULT_CACHE = SweepCache()


def _centers_id(c) -> str:
    return _h([c.model_name, c.config_key, c.n_harmless, c.n_harmful,
               hashlib.sha256(np.ascontiguousarray(c.harmless).tobytes()).hexdigest(),
               hashlib.sha256(np.ascontiguousarray(c.harmful).tobytes()).hexdigest()])


def setting_key(lm, cfg: GenerationConfig, prompts_by_group: Mapping[str, Sequence[str]], *, anchors=None,
                centers=None, prefills=None, judge_name: str = "", lambda_r: float = 0.3,
                lambda_c: float = LAMBDA_C) -> tuple[str, dict]:
    """The cache key of one sweep setting and the exact data it stands for."""
    meta = {"model": lm.name, "family": lm.family, "config_key": cfg.key(), "config": cfg.to_dict(),
            "groups": {g: _h(list(p)) for g, p in prompts_by_group.items()},
            "prefills": {g: _h(v) for g, v in (prefills or {}).items()},
            "anchors": _h([list(a) for a in anchors]) if anchors is not None else None,
            "centers": _centers_id(centers) if centers is not None else None,
            "judge": judge_name, "lambda_r": float(lambda_r), "lambda_c": float(lambda_c)}
    return _h(meta)[:24], json.loads(json.dumps(meta, default=str))


def _default_anchors(n: int = 32):
    return load_prompts("tiny_benign", n=n, seed=0), load_prompts("tiny_harmful", n=n, seed=0)


def _run_setting(lm, cfg, prompts_by_group, centers, anchors, prefills, judge, lambda_r, lambda_c, progress):
    t0 = time.perf_counter()
    note = ""
    mode = "refit" if centers is None else "fixed"
    if centers is None:
        try:
            h = generate(lm, list(anchors[0]), cfg, progress=progress)
            b = generate(lm, list(anchors[1]), cfg, progress=progress)
            centers = Centers.fit(h, b)
        except ValueError as e:         # e.g. no harmful anchor refused under this setting
            centers, note = None, f"no centers: {e}"
    rows, curves = [], []
    for g, prompts in prompts_by_group.items():
        trs = generate(lm, list(prompts), cfg, progress=progress, prefill=(prefills or {}).get(g))
        refused = np.array([is_refusal(t.response) for t in trs])
        success = call_judge(judge, [t.prompt for t in trs], [t.response for t in trs])
        text = np.stack([1.0 - text_refusal_signal(step_texts(t)) for t in trs])
        if centers is not None:
            acts = np.stack([t.activations for t in trs])
            if acts.shape[1:] != centers.shape:
                raise ValueError(f"centers {centers.shape} do not fit traces {acts.shape[1:]} under {cfg}: "
                                 "pass centers=None to refit per setting")
            sig = sri_signal(acts, (centers.harmless, centers.harmful))
            irr = float(internal_recoveries(sig, lambda_c=lambda_c, lambda_r=lambda_r).mean())
            ms, fs = float(sig.mean()), float(sig[:, -1].mean())
            smean, ssd = sig.mean(0), sig.std(0)
        else:
            irr = ms = fs = float("nan")
            smean = ssd = np.full(text.shape[1], np.nan)
        rows.append({"group": g, "n": len(trs), "refusal_rate": float(refused.mean()),
                     "attack_success": float(success.mean()), "irr": irr, "lambda_r": float(lambda_r),
                     "mean_sigma": ms, "final_sigma": fs, "steps": int(text.shape[1]), "config_key": cfg.key(),
                     "centers": mode if centers is not None else "none",
                     "n_centers_harmless": int(getattr(centers, "n_harmless", 0) or 0),
                     "n_centers_harmful": int(getattr(centers, "n_harmful", 0) or 0), "note": note})
        for t in range(text.shape[1]):
            curves.append({"group": g, "step": t, "sigma_mean": float(smean[t]), "sigma_std": float(ssd[t]),
                           "text_refusing": float(text[:, t].mean())})
    sec = time.perf_counter() - t0
    table = pd.DataFrame(rows)
    table["seconds"] = sec
    return table, pd.DataFrame(curves)


def sweep(lm, prompts_by_group: Mapping[str, Sequence[str]], base_cfg: GenerationConfig | None = None,
          param: str = "steps", values: Sequence = (8, 16, 32), centers=None, judge=None,
          cache: SweepCache | None | bool = None, *, anchors: tuple[Sequence[str], Sequence[str]] | None = None,
          prefills: Mapping[str, str] | None = None, lambda_r: float = 0.3, lambda_c: float = LAMBDA_C,
          progress: bool = False, return_curves: bool = False):
    """Sweep one GenerationConfig field; one row per setting × prompt group.

    ``prompts_by_group``: {group name: prompts} (e.g. benign, harmful, one per attack). ``param``: a
    GenerationConfig field (``steps``, ``remasking``, ``block_length``, ``temperature``, ``top_p``, …);
    ``values``: its settings, each applied to ``base_cfg`` (default: the model's config). A setting
    that makes an invalid config raises the config's error naming the fix (e.g. steps not divisible by
    the number of blocks). ``centers``: None (refit per setting on ``anchors``, default the organism's
    ``tiny_benign``/``tiny_harmful`` pools, 32 each), a Centers (fixed anchors, same T required), a dict
    {value: Centers} or a callable cfg -> Centers. ``judge``: harm judge for attack success (default
    :class:`~sri_kit.analysis.HeuristicHarmJudge`). ``cache``: a :class:`SweepCache` (default the
    module's in-memory ``DEFAULT_CACHE``); ``False`` disables caching. ``prefills``: {group: forced
    response prefix}.

    Columns: param, value, group, n, refusal_rate, attack_success (judge on ``trace.response``), irr (at
    ``lambda_r``), lambda_r, mean_sigma (over steps and generations), final_sigma, steps (T),
    config_key, centers (refit | fixed | none), n_centers_harmless/harmful, note, seconds (of the run
    that produced the row; a cache hit returns the stored row). ``return_curves`` also returns the long
    frame param, value, group, step, sigma_mean, sigma_std, text_refusing.
    """
    if not prompts_by_group:
        raise ValueError("prompts_by_group is empty: pass {group name: [prompts]}")
    base = base_cfg or lm.default_config
    if param not in GenerationConfig.__dataclass_fields__:
        raise ValueError(f"unknown GenerationConfig field {param!r}; sweepable: {SWEEPABLE}")
    sampler = sampler_for(lm, base)
    if param not in sampler.settings:
        raise ValueError(f"{param!r} has no effect on the {sampler.name!r} sampler that runs {lm.name}; "
                         f"it reads {', '.join(sampler.settings)}")
    values = list(values)
    if not values:
        raise ValueError("values is empty")
    judge = judge or HeuristicHarmJudge()
    if cache is None:
        cache = DEFAULT_CACHE
    elif cache is False:
        cache = None
    tables, curves = [], []
    for v in values:
        cfg = base.replace(**{param: v})
        c = centers
        if isinstance(c, Mapping):
            c = c.get(v)
        elif callable(c) and not hasattr(c, "harmless"):
            c = c(cfg)
        anc = None
        if c is None:
            anc = anchors if anchors is not None else _default_anchors()
        key, meta = setting_key(lm, cfg, prompts_by_group, anchors=anc, centers=c, prefills=prefills,
                                judge_name=judge_name(judge), lambda_r=lambda_r, lambda_c=lambda_c)
        hit = cache.get(key, meta) if cache is not None else None
        if hit is None:
            tab, cur = _run_setting(lm, cfg, prompts_by_group, c, anc, prefills, judge, lambda_r, lambda_c, progress)
            if cache is not None:
                cache.put(key, meta, tab, cur)
        else:
            tab, cur = hit
        for df in (tab, cur):
            df.insert(0, "value", [v] * len(df))
            df.insert(0, "param", param)
        tables.append(tab)
        curves.append(cur)
    table = pd.concat(tables, ignore_index=True)
    curve = pd.concat(curves, ignore_index=True)
    return (table, curve) if return_curves else table
