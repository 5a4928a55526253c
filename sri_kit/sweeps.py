"""Parameter sweeps behind the widgets: diffusion steps, remasking, block length, temperature, top-p, and
any option of the chosen sampler (``"options.<name>"``, e.g. the threshold of threshold decoding).

:func:`sweep` generates every prompt group under each setting of one :class:`~sri_kit.GenerationConfig`
field (or sampler option) and returns a tidy frame, one row per setting × group: refusal rate, attack
success, IRR (at ``lambda_r``, 0.3 by default) and mean σ. Per-step curves (mean/std and median/quartiles
of σ, and the share of step texts that refuse) come with ``return_curves=True``.

Centers must match each setting: φ_t depends on the sampler, and T changes with ``steps``. By default
(``centers=None``) they are **refit per setting** on the anchor prompts generated under that setting
(the paper's protocol, PAPER.md §1.3). A single :class:`~sri_kit.Centers` is used as fixed anchors for
every setting of the same T and D (the paper fits centers once per model, then samples differently);
settings with another T raise. A dict ``{value: Centers}`` or a callable ``cfg -> Centers`` gives
per-setting centers explicitly.

Caching is by what changes generation only. Each setting's :class:`SettingRecord` (responses, refusal
flags, the text signal and σ per generation) is keyed by :func:`setting_key`: model, config (sampler
options included), prompt groups, prefills and anchors or centers. Everything after generation is
recomputed from the record on every call: the IRR threshold ``lambda_r`` and ``lambda_c``, and the harm
judge (its verdicts are memoised per record and judge name). Moving λ_r therefore never generates.
:class:`SweepCache` keeps an in-memory LRU and, with ``path``, JSON files written atomically; a record is
only returned when its stored key data equal the request exactly, so it is never reused for another
setting.

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

import dataclasses
import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .analysis import HeuristicHarmJudge, call_judge, judge_name, step_texts
from .config import LAMBDA_C, GenerationConfig
from .data import load_prompts
from .errors import ConfigError
from ._display import readable          # re-exported: sweep tables with numbers for people
from .io import atomic_write_text
from .judges import is_refusal, text_refusal_signal
from .sampling import generate          # module attribute: tests may count calls through it
from .sampling import align_traces, sampler_for
from .sri import Centers, internal_recoveries, sri_signal

__all__ = ["SweepCache", "DEFAULT_CACHE", "sweep", "setting_key", "SWEEPABLE", "sweepable", "option_axes",
           "apply_setting", "print_progress", "readable", "SettingRecord", "GroupRecord", "run_setting", "summarize", "SweepStopped", "NotCached",
           "OPTION_PREFIX"]

#: Fields the widgets sweep (any GenerationConfig field works).
SWEEPABLE = ("steps", "remasking", "block_length", "temperature", "top_p")
#: A sweep axis ``"options.<name>"`` sets one option of the sampler (``GenerationConfig.options``).
OPTION_PREFIX = "options."


def option_axes(lm, base_cfg: GenerationConfig | None = None) -> dict[str, Any]:
    """``{"options.<name>": default}`` for every option the sampler that runs ``base_cfg`` on ``lm`` declares
    (its ``Options`` dataclass; the value in ``base_cfg.options`` when set there)."""
    cfg = base_cfg or lm.default_config
    opts = sampler_for(lm, cfg).Options
    given = dict(cfg.options)
    out = {}
    for f in dataclasses.fields(opts):
        default = f.default if f.default is not dataclasses.MISSING else None
        out[OPTION_PREFIX + f.name] = given.get(f.name, default)
    return out


def sweepable(lm, base_cfg: GenerationConfig | None = None) -> tuple[str, ...]:
    """The fields of :data:`SWEEPABLE` that change the output of the sampler that runs ``base_cfg`` on ``lm``
    (its ``settings``), then that sampler's own options as ``"options.<name>"``; sweeping anything else
    is an error."""
    settings = sampler_for(lm, base_cfg or lm.default_config).settings
    return tuple(p for p in SWEEPABLE if p in settings) + tuple(option_axes(lm, base_cfg))


def apply_setting(lm, base: GenerationConfig, param: str, value) -> GenerationConfig:
    """``base`` with ``param`` (a GenerationConfig field, or ``"options.<name>"``) set to ``value``; an axis
    the sampler does not read is a :class:`~sri_kit.errors.ConfigError` naming what it reads."""
    sampler = sampler_for(lm, base)
    if param.startswith(OPTION_PREFIX):
        name = param[len(OPTION_PREFIX):]
        if param not in option_axes(lm, base):
            raise ConfigError(f"the {sampler.name!r} sampler that runs {lm.name} has no option {name!r}; its options: "
                              f"{[a[len(OPTION_PREFIX):] for a in option_axes(lm, base)] or 'none'}")
        cfg = base.replace(options={**dict(base.options), name: value})
        sampler.options(cfg)                 # a bad value is the sampler's own error, before anything runs
        return cfg
    if param not in GenerationConfig.__dataclass_fields__:
        raise ConfigError(f"unknown GenerationConfig field {param!r}; sweepable: {sweepable(lm, base)}")
    if param not in sampler.settings:
        raise ConfigError(f"{param!r} has no effect on the {sampler.name!r} sampler that runs {lm.name}; "
                          f"it reads {', '.join(sampler.settings)}")
    return base.replace(**{param: value})


def _h(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


# ---- what one setting's generation produced ---------------------------------------------------------

@dataclass
class GroupRecord:
    """One prompt group under one setting: prompts, final responses, keyword refusals, and per step the
    share of the visible text that refuses (``text_refusing`` [N, T]) and σ ([N, T], None without centers)."""

    prompts: list[str]
    responses: list[str]
    refused: np.ndarray
    text_refusing: np.ndarray
    sigma: np.ndarray | None = None

    def to_json(self) -> dict:
        return {"prompts": self.prompts, "responses": self.responses, "refused": self.refused.tolist(),
                "text_refusing": self.text_refusing.tolist(),
                "sigma": None if self.sigma is None else self.sigma.tolist()}

    @classmethod
    def from_json(cls, d: dict) -> "GroupRecord":
        return cls(list(d["prompts"]), list(d["responses"]), np.asarray(d["refused"], dtype=bool),
                   np.asarray(d["text_refusing"], dtype=float),
                   None if d["sigma"] is None else np.asarray(d["sigma"], dtype=float))


@dataclass
class SettingRecord:
    """Everything :func:`summarize` needs from one setting's generation (no thresholds, no judge)."""

    groups: dict[str, GroupRecord]
    centers: str = "none"                 # refit | fixed | none
    n_centers_harmless: int = 0
    n_centers_harmful: int = 0
    note: str = ""
    seconds: float = 0.0
    judged: dict = field(default_factory=dict, repr=False)   # (judge name, group) -> bool [N] (memo)

    def to_json(self) -> dict:
        return {"groups": {g: r.to_json() for g, r in self.groups.items()}, "centers": self.centers,
                "n_centers_harmless": self.n_centers_harmless, "n_centers_harmful": self.n_centers_harmful,
                "note": self.note, "seconds": self.seconds}

    @classmethod
    def from_json(cls, d: dict) -> "SettingRecord":
        return cls({g: GroupRecord.from_json(r) for g, r in d["groups"].items()}, d["centers"],
                   int(d["n_centers_harmless"]), int(d["n_centers_harmful"]), d["note"], float(d["seconds"]))


class SweepCache:
    """LRU of per-setting :class:`SettingRecord` s (``maxsize`` entries) with optional JSON files under ``path``.

    ``hits`` / ``misses`` count lookups. Entries hold the full key data (``meta``) and are returned
    only when it matches the request exactly.
    """

    FORMAT = "sri_kit.sweep/2"

    def __init__(self, maxsize: int = 128, path: str | Path | None = None):
        self.maxsize, self.path = maxsize, Path(path) if path is not None else None
        self._mem: OrderedDict[str, tuple[dict, SettingRecord]] = OrderedDict()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._mem)

    def clear(self) -> None:
        self._mem.clear()

    def metas(self) -> list[dict]:
        """The key data of the records in memory, oldest first."""
        return [m for m, _ in self._mem.values()]

    def _file(self, key: str) -> Path:
        return self.path / f"sweep_{key}.json"

    def get(self, key: str, meta: dict) -> SettingRecord | None:
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
        return ent[1]

    def put(self, key: str, meta: dict, record: SettingRecord) -> None:
        self._store(key, (meta, record))
        if self.path is not None:
            blob = {"format": self.FORMAT, "meta": meta, "record": record.to_json()}
            atomic_write_text(self._file(key), json.dumps(blob, default=str))

    def _store(self, key, ent) -> None:
        self._mem[key] = ent
        self._mem.move_to_end(key)
        while len(self._mem) > self.maxsize:
            self._mem.popitem(last=False)

    def _read(self, key: str):
        try:
            blob = json.loads(self._file(key).read_text())
            if blob.get("format") != self.FORMAT:
                return None                     # an older layout: regenerated, then overwritten
            return blob["meta"], SettingRecord.from_json(blob["record"])
        except (OSError, ValueError, KeyError, TypeError):
            return None


#: The default in-memory cache (no disk) used when ``cache`` is not given.
DEFAULT_CACHE = SweepCache()


def _centers_id(c) -> str:
    return _h([c.model_name, c.config_key, c.n_harmless, c.n_harmful,
               hashlib.sha256(np.ascontiguousarray(c.harmless).tobytes()).hexdigest(),
               hashlib.sha256(np.ascontiguousarray(c.harmful).tobytes()).hexdigest()])


def setting_key(lm, cfg: GenerationConfig, prompts_by_group: Mapping[str, Sequence[str]], *, anchors=None,
                centers=None, prefills=None) -> tuple[str, dict]:
    """The cache key of one setting's generation and the exact data it stands for: model, config (sampler
    and its options included), prompt groups, prefills, anchors or centers. Thresholds (λ_r, λ_c) and the
    judge are not part of it: they are applied to the cached record by :func:`summarize`."""
    meta = {"model": lm.name, "family": lm.family, "config_key": cfg.key(), "config": cfg.to_dict(),
            "groups": {g: _h(list(p)) for g, p in prompts_by_group.items()},
            "prefills": {g: _h(v) for g, v in (prefills or {}).items()},
            "anchors": _h([list(a) for a in anchors]) if anchors is not None else None,
            "centers": _centers_id(centers) if centers is not None else None}
    return _h(meta)[:24], json.loads(json.dumps(meta, default=str))


def _default_anchors(n: int = 32):
    return load_prompts("tiny_benign", n=n, seed=0), load_prompts("tiny_harmful", n=n, seed=0)


class SweepStopped(Exception):
    """Raised by :func:`sweep` when ``should_stop()`` turned true between settings: ``done`` settings
    finished (and are cached); ``table`` / ``curves`` hold their rows."""

    def __init__(self, done: int, total: int, table: pd.DataFrame, curves: pd.DataFrame):
        super().__init__(f"sweep stopped after {done} of {total} settings")
        self.done, self.total, self.table, self.curves = done, total, table, curves


def print_progress(event: dict) -> None:
    """An ``on_progress`` for :func:`sweep` in a notebook or terminal: one line per setting and stage."""
    print(f"setting {event['index'] + 1}/{event['total']} ({event['param']} = {event['value']}): {event['stage']} "
          f"· {event['seconds']:.0f} s", flush=True)


class NotCached(LookupError):
    """Raised by :func:`sweep` with ``cached_only=True`` when a setting has no cached generation."""


def _generate(lm, prompts, cfg, on_one_grid: bool, gen=None, progress=False, prefill=None):
    if gen is not None:
        trs = gen(lm, list(prompts), cfg, prefill)
    else:
        trs = generate(lm, list(prompts), cfg, progress=progress, prefill=prefill)
    return align_traces(trs, cfg.steps) if on_one_grid else trs


def run_setting(lm, cfg, prompts_by_group, centers=None, anchors=None, prefills=None, *, progress=False,
                on_stage: Callable[[str], None] | None = None, generate=None) -> SettingRecord:
    """Generate every group (and the anchors when ``centers`` is None) under ``cfg``: the expensive part
    of a sweep. Traces of a sampler with variable step counts are put on the grid of ``cfg.steps``
    (:func:`sri_kit.sampling.align_traces`) before centers, σ and the text signal compare steps.
    ``generate``: ``generate(lm, prompts, cfg, prefill) -> traces`` in place of :func:`sri_kit.generate`
    (e.g. through a :class:`sri_kit.cache.GenerationCache`, as the report does)."""
    t0 = time.perf_counter()
    stage = on_stage or (lambda s: None)
    grid = bool(getattr(sampler_for(lm, cfg), "variable_steps", False))
    note, mode = "", ("refit" if centers is None else "fixed")
    if centers is None:
        stage("anchors (centers)")
        try:
            h = _generate(lm, anchors[0], cfg, grid, generate, progress=progress)
            b = _generate(lm, anchors[1], cfg, grid, generate, progress=progress)
            centers = Centers.fit(h, b)
        except ValueError as e:         # e.g. no harmful anchor refused under this setting
            centers, note = None, f"no centers: {e}"
    groups = {}
    for g, prompts in prompts_by_group.items():
        stage(f"{g} ({len(prompts)} prompts)")
        trs = _generate(lm, prompts, cfg, grid, generate, progress=progress, prefill=(prefills or {}).get(g))
        text = np.stack([1.0 - text_refusal_signal(step_texts(t)) for t in trs])
        sig = None
        if centers is not None:
            acts = np.stack([t.activations for t in trs])
            if acts.shape[1:] != centers.shape:
                raise ConfigError(f"centers {centers.shape} do not fit traces {acts.shape[1:]} under {cfg}: "
                                  "pass centers=None to refit per setting")
            sig = sri_signal(acts, (centers.harmless, centers.harmful))
        groups[g] = GroupRecord([t.prompt for t in trs], [t.response for t in trs],
                                np.array([is_refusal(t.response) for t in trs], dtype=bool), text, sig)
    return SettingRecord(groups, mode if centers is not None else "none",
                         int(getattr(centers, "n_harmless", 0) or 0), int(getattr(centers, "n_harmful", 0) or 0),
                         note, time.perf_counter() - t0)


def summarize(record: SettingRecord, judge=None, *, lambda_r: float = 0.3, lambda_c: float = LAMBDA_C,
              config_key: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table rows and per-step curves of one setting from its record: no generation. The judge's
    verdicts are memoised in the record (by judge name), so only a new judge calls a judge."""
    judge = judge or HeuristicHarmJudge()
    jname = judge_name(judge)
    rows, curves = [], []
    for g, r in record.groups.items():
        memo = (jname, g)
        if memo not in record.judged:
            record.judged[memo] = call_judge(judge, r.prompts, r.responses)
        success, s, T = record.judged[memo], r.sigma, r.text_refusing.shape[1]
        if s is not None:
            irr = float(internal_recoveries(s, lambda_c=lambda_c, lambda_r=lambda_r).mean())
            ms, fs = float(s.mean()), float(s[:, -1].mean())
            stats = [s.mean(0), s.std(0), *np.percentile(s, [50, 25, 75], axis=0)]
        else:
            irr = ms = fs = float("nan")
            stats = [np.full(T, np.nan)] * 5
        rows.append({"group": g, "n": len(r.prompts), "refusal_rate": float(r.refused.mean()),
                     "attack_success": float(np.mean(success)), "irr": irr, "lambda_r": float(lambda_r),
                     "mean_sigma": ms, "final_sigma": fs, "steps": int(T), "config_key": config_key,
                     "centers": record.centers, "n_centers_harmless": record.n_centers_harmless,
                     "n_centers_harmful": record.n_centers_harmful, "note": record.note,
                     "seconds": float(record.seconds)})
        text = r.text_refusing.mean(0)
        for t in range(T):
            curves.append({"group": g, "step": t, "n": len(r.prompts), "sigma_mean": float(stats[0][t]),
                           "sigma_std": float(stats[1][t]), "sigma_median": float(stats[2][t]),
                           "sigma_q25": float(stats[3][t]), "sigma_q75": float(stats[4][t]),
                           "text_refusing": float(text[t])})
    return pd.DataFrame(rows), pd.DataFrame(curves)


def sweep(lm, prompts_by_group: Mapping[str, Sequence[str]], base_cfg: GenerationConfig | None = None,
          param: str = "steps", values: Sequence = (8, 16, 32), centers=None, judge=None,
          cache: SweepCache | None | bool = None, *, anchors: tuple[Sequence[str], Sequence[str]] | None = None,
          prefills: Mapping[str, str] | None = None, lambda_r: float = 0.3, lambda_c: float = LAMBDA_C,
          progress: bool = False, return_curves: bool = False,
          on_progress: Callable[[dict], None] | None = None, should_stop: Callable[[], bool] | None = None,
          cached_only: bool = False, generate=None):
    """Sweep one GenerationConfig field or sampler option; one row per setting × prompt group.

    ``prompts_by_group``: {group name: prompts} (e.g. benign, harmful, one per attack). ``param``: a
    GenerationConfig field (``steps``, ``remasking``, ``block_length``, ``temperature``, ``top_p``, …) or
    ``"options.<name>"``, an option the chosen sampler declares (:func:`sweepable` lists both);
    ``values``: its settings, each applied to ``base_cfg`` (default: the model's config). A setting
    that makes an invalid config raises the config's error naming the fix (e.g. steps not divisible by
    the number of blocks). ``centers``: None (refit per setting on ``anchors``, default the organism's
    ``tiny_benign``/``tiny_harmful`` pools, 32 each), a Centers (fixed anchors, same T required), a dict
    {value: Centers} or a callable cfg -> Centers. ``judge``: harm judge for attack success (default
    :class:`~sri_kit.analysis.HeuristicHarmJudge`). ``cache``: a :class:`SweepCache` (default the
    module's in-memory ``DEFAULT_CACHE``); ``False`` disables caching. ``prefills``: {group: forced
    response prefix}. ``lambda_r``, ``lambda_c`` and ``judge`` are applied to cached generations (no
    new generation when only they change).

    ``on_progress(event)`` is called with a dict ``{"index", "total", "value", "stage", "seconds"}``;
    stage is ``"cached"``, ``"generating: <what>"`` or ``"done"``. ``should_stop()`` is asked before each
    setting; when true, :class:`SweepStopped` is raised with the finished settings' rows.
    ``cached_only``: never generate; a setting without a cached record raises :class:`NotCached`
    (the widgets redraw a new λ_r this way). ``generate``: ``generate(lm, prompts, cfg, prefill) -> traces``
    in place of :func:`sri_kit.generate` (see :func:`run_setting`).

    Columns: param, value, group, n, refusal_rate, attack_success (judge on ``trace.response``), irr (at
    ``lambda_r``), lambda_r, mean_sigma (over steps and generations), final_sigma, steps (T),
    config_key, centers (refit | fixed | none), n_centers_harmless/harmful, note, seconds (of the
    generation that produced the record). ``return_curves`` also returns the long frame param, value,
    group, step, n, sigma_mean, sigma_std, sigma_median, sigma_q25, sigma_q75, text_refusing.
    """
    if not prompts_by_group:
        raise ConfigError("prompts_by_group is empty: pass {group name: [prompts]}")
    base = base_cfg or lm.default_config
    values = list(values)
    if not values:
        raise ConfigError("values is empty")
    cfgs = [apply_setting(lm, base, param, v) for v in values]     # every setting checked before any runs
    judge = judge or HeuristicHarmJudge()
    if cache is None:
        cache = DEFAULT_CACHE
    elif cache is False:
        cache = None
    report = on_progress or (lambda ev: None)
    tables, curves = [], []
    t_start = time.perf_counter()

    def frames():
        return (pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(),
                pd.concat(curves, ignore_index=True) if curves else pd.DataFrame())

    for i, (v, cfg) in enumerate(zip(values, cfgs)):
        if should_stop is not None and should_stop():
            raise SweepStopped(i, len(values), *frames())
        c = centers
        if isinstance(c, Mapping):
            c = c.get(v)
        elif callable(c) and not hasattr(c, "harmless"):
            c = c(cfg)
        anc = None
        if c is None:
            anc = anchors if anchors is not None else _default_anchors()
        key, meta = setting_key(lm, cfg, prompts_by_group, anchors=anc, centers=c, prefills=prefills)
        rec = cache.get(key, meta) if cache is not None else None
        event = {"index": i, "total": len(values), "value": v, "param": param}
        if rec is None and cached_only:
            raise NotCached(f"{param} = {v!r} is not cached (or was evicted): run the sweep to generate it")
        if rec is None:
            def stage(what, _ev=event):
                report({**_ev, "stage": f"generating: {what}", "seconds": time.perf_counter() - t_start})
            rec = run_setting(lm, cfg, prompts_by_group, c, anc, prefills, progress=progress, on_stage=stage,
                              generate=generate)
            if cache is not None:
                cache.put(key, meta, rec)
        else:
            report({**event, "stage": "cached", "seconds": time.perf_counter() - t_start})
        tab, cur = summarize(rec, judge, lambda_r=lambda_r, lambda_c=lambda_c, config_key=cfg.key())
        for df in (tab, cur):
            df.insert(0, "value", [v] * len(df))
            df.insert(0, "param", param)
        tables.append(tab)
        curves.append(cur)
        report({**event, "stage": "done", "seconds": time.perf_counter() - t_start})
    table, curve = frames()
    return (table, curve) if return_curves else table
