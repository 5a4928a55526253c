"""The step-window intervention experiment: does refusal depend on the refusal direction at early,
middle or late steps, and does the answer differ between diffusion and left-to-right decoding?

For one model: fit the refusal direction (difference of means of the residual stream after layer
``layer``, refused harmful minus answered harmless, pooled over steps; :meth:`sri_kit.Centers.direction`)
on a *fit* split of the held-out pools, then, on a disjoint *eval* split, for each sampler and each step
window w (``early`` / ``middle`` / ``late`` thirds of the schedule, ``all`` steps):

* ablate the direction at every layer during w (x ← x − (x·d)d): refusal rate on harmful requests,
  answer rate on benign ones;
* add it at layer ``layer`` during w (x ← x + α d, α = the distance between the class means): refusal
  rate on benign requests.

Each cell is one greedy generation per request; the change against the unmodified run of the same
requests has a paired bootstrap interval over requests (:func:`paired_bootstrap`, clustered by request:
one resample draws whole requests). Texts only (``generate_texts``: interventions apply, nothing recorded).

Run it with ``sri-kit intervene`` (both organisms; tables ``interventions_<sampler>`` in the results
store, rendered in docs/INTERVENTIONS.md) or :func:`step_window_experiment` + :func:`store_tables`.

Example:
    >>> [label for label, _ in experiment_samplers(sk.load_model("tiny-dlm"))]
    ['diffusion', 'left-to-right']
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from .. import sampling
from ..config import GenerationConfig
from ..data import load_prompts
from ..errors import ConfigError
from ..interventions import Intervention
from ..judges import is_placeholder_compliance, is_refusal
from ..models import find_layers
from ..sri import Centers

__all__ = ["WINDOWS", "paired_bootstrap", "experiment_samplers", "fit_direction", "step_window_experiment",
           "window_run", "store_tables"]

#: The step windows as fractions of each sampler's schedule.
WINDOWS: dict[str, tuple[float, float] | None] = {"early": (0.0, 1 / 3), "middle": (1 / 3, 2 / 3),
                                                  "late": (2 / 3, 1.0), "all": None}


def paired_bootstrap(base: Sequence[bool], new: Sequence[bool], n_boot: int = 2000, seed: int = 0) -> dict:
    """``mean(new) − mean(base)`` over the same requests, with a 95 % percentile bootstrap interval that
    resamples requests (each request's pair of outcomes stays together). The one place the experiment's
    intervals come from (swap it for a shared stats module when there is one).

    >>> paired_bootstrap([1, 1, 0, 0], [1, 1, 1, 1])["value"]
    0.5
    """
    x, y = np.asarray(base, float), np.asarray(new, float)
    if x.shape != y.shape or x.ndim != 1 or not len(x):
        raise ConfigError(f"paired_bootstrap needs two equal-length non-empty outcome lists, got {x.shape}, {y.shape}")
    idx = np.random.default_rng(seed).integers(0, len(x), size=(n_boot, len(x)))
    d = (y[idx] - x[idx]).mean(1)
    lo, hi = np.percentile(d, [2.5, 97.5])
    return {"value": float(y.mean() - x.mean()), "lo": float(lo), "hi": float(hi)}


def experiment_samplers(lm, diffusion_steps: int | None = None) -> list[tuple[str, GenerationConfig]]:
    """(label, config) per sampler: AR greedy for an AR model; for a DLM its diffusion config (with
    ``diffusion_steps`` steps when given) and the left-to-right decoding of the same weights (one token per
    step over the same canvas)."""
    cfg = lm.default_config
    if lm.family == "ar":
        return [("AR greedy", cfg)]
    l2r = cfg.replace(steps=cfg.gen_length, block_length=None, order="left_to_right")
    diff = cfg if diffusion_steps is None else cfg.replace(steps=int(diffusion_steps))
    return [("diffusion", diff), ("left-to-right", l2r)]


def fit_direction(lm, harmless: Sequence[str], harmful: Sequence[str], cfg: GenerationConfig, layer: int, *,
                  batch_size: int = 64, progress: bool = False) -> tuple[np.ndarray, float, Centers]:
    """The refusal direction at the output of decoder layer ``layer`` under ``cfg``: (unit direction [D],
    the distance between the class means, the centers). One recorded pass per prompt set."""
    site = f"resid_post.{layer}"
    h = sampling.generate(lm, list(harmless), cfg, batch_size=batch_size, progress=progress, sites=[site])
    b = sampling.generate(lm, list(harmful), cfg, batch_size=batch_size, progress=progress, sites=[site])
    centers = Centers.fit([t.at_site(site, cfg) for t in h], [t.at_site(site, cfg) for t in b])
    raw = centers.direction(unit=False)
    return centers.direction(), float(np.linalg.norm(raw)), centers


def window_run(lm, prompts: Sequence[str], cfg: GenerationConfig, direction, *, window=None, mode: str = "ablate",
               layers=None, alpha: float = 1.0, batch_size: int = 64) -> list[str]:
    """Texts of ``prompts`` with ``direction`` ablated / added during ``window`` (a key of :data:`WINDOWS`, a
    ``(start, stop)`` pair, or None for every step); ``mode="none"`` runs unmodified."""
    if mode == "none":
        return sampling.generate_texts(lm, list(prompts), cfg, batch_size=batch_size)
    steps = WINDOWS[window] if isinstance(window, str) else window
    iv = Intervention(direction, steps=steps, layers=layers, mode=mode, alpha=alpha)
    return sampling.generate_texts(lm, list(prompts), cfg, batch_size=batch_size, interventions=[iv])


def _split(pool: str, n_fit: int, n_eval: int, seed: int) -> tuple[list[str], list[str]]:
    ps = load_prompts(pool, n=n_fit + n_eval, seed=seed)
    if len(ps) < n_fit + n_eval:
        raise ConfigError(f"pool {pool!r} has {len(ps)} prompts, fewer than n_fit + n_eval = {n_fit + n_eval}")
    return ps[:n_fit], ps[n_fit:]


def step_window_experiment(lm, *, n_fit: int = 40, n_eval: int = 40, seed: int = 0, layer: int | None = None,
                           windows: Sequence[str] = ("early", "middle", "late", "all"), batch_size: int = 64,
                           n_boot: int = 2000, progress: bool = True, samplers: Sequence[str] | None = None,
                           diffusion_steps: int | None = None) -> tuple[list[dict], dict]:
    """Run the experiment on ``lm`` (module docstring). Returns (rows, info): one row per sampler ×
    intervention × window × prompt set with ``n``, the outcome bits (``refused_bits``, ``complied_bits``),
    the texts and the paired change against the unmodified run; ``info`` holds the layer, α, the
    direction's fit counts, the configs and the time taken. ``samplers``: run only these labels (of
    :func:`experiment_samplers`); the direction is always fitted under the first (the model's own)."""
    t0 = time.perf_counter()
    unknown = [w for w in windows if w not in WINDOWS]
    if unknown:
        raise ConfigError(f"unknown windows {unknown}; choose from {list(WINDOWS)}")
    n_layers = len(find_layers(lm.model))
    layer = n_layers // 2 if layer is None else int(layer)
    if not 0 <= layer < n_layers:
        raise ConfigError(f"layer {layer} out of range: {lm.name} has {n_layers} layers (0 .. {n_layers - 1})")
    fit_h, eval_h = _split("tiny_harmful", n_fit, n_eval, seed)
    fit_b, eval_b = _split("tiny_benign", n_fit, n_eval, seed)
    all_samplers = experiment_samplers(lm, diffusion_steps)
    labels = [label for label, _ in all_samplers]
    if samplers is not None and not set(samplers) <= set(labels):
        raise ConfigError(f"unknown samplers {sorted(set(samplers) - set(labels))} for {lm.name}; choose from {labels}")
    direction, scale, centers = fit_direction(lm, fit_b, fit_h, all_samplers[0][1], layer, batch_size=batch_size)
    samplers = [(label, c) for label, c in all_samplers if samplers is None or label in samplers]
    log = (lambda m: print(f"[{lm.name}] {m}", flush=True)) if progress else (lambda m: None)
    log(f"direction at layer {layer} from {centers.n_harmful} refused harmful / {centers.n_harmless} answered "
        f"harmless fit prompts; class distance {scale:.3f}")
    rows: list[dict] = []
    for label, cfg in samplers:
        def cell(prompts, kind, mode, window, layers=None, alpha=1.0):
            texts = window_run(lm, prompts, cfg, direction, window=window, mode=mode, layers=layers, alpha=alpha,
                               batch_size=batch_size)
            ref = [is_refusal(t) for t in texts]
            com = [is_placeholder_compliance(t) for t in texts]
            return {"sampler": label, "intervention": mode, "window": window or "-", "prompts": kind,
                    "n": len(texts), "refused_bits": ref, "complied_bits": com, "texts": texts}

        base = {"harmful": cell(eval_h, "harmful", "none", None), "benign": cell(eval_b, "benign", "none", None)}
        todo = [(base["harmful"]), (base["benign"])]
        for w in windows:
            todo.append(cell(eval_h, "harmful", "ablate", w))
            todo.append(cell(eval_b, "benign", "ablate", w))
            todo.append(cell(eval_b, "benign", "add", w, layers=(layer,), alpha=scale))
            log(f"{label}: window {w} done ({time.perf_counter() - t0:.0f} s)")
        for r in todo:
            b = base[r["prompts"]]
            r["delta_refused"] = paired_bootstrap(b["refused_bits"], r["refused_bits"], n_boot=n_boot, seed=seed)
            rows.append(r)
    info = {"layer": layer, "alpha_add": scale, "direction_sampler": labels[0], "n_fit_harmful_refused": centers.n_harmful,
            "n_fit_harmless_answered": centers.n_harmless, "n_fit": n_fit, "n_eval": n_eval, "seed": seed,
            "configs": {label: cfg for label, cfg in samplers}, "seconds": time.perf_counter() - t0}
    return rows, info


# ---- the stored tables ----------------------------------------------------------------------------------

def _slug(label: str) -> str:
    return {"AR greedy": "ar", "diffusion": "diffusion", "left-to-right": "left_to_right"}.get(label, label)


def store_tables(lm, rows: list[dict], info: dict, *, command: str = "", store=None) -> list:
    """One results-store table per sampler, ``interventions_<sampler>`` under the model; returns them."""
    from ..results import Column, ResultsStore, Table, rate
    from ..results.store import provenance

    store = store or ResultsStore()
    prov = provenance()
    cols = [Column("intervention", "intervention"), Column("window", "step window"), Column("prompts", "requests"),
            Column("n", "n", "int"), Column("refused", "refused", "rate"),
            Column("delta_refused", "Δ refused vs unmodified (pp) [95 % CI]", "pp"),
            Column("complied", "complied (placeholder)", "rate")]
    tables = []
    for label, cfg in info["configs"].items():
        out = []
        for r in rows:
            if r["sampler"] != label:
                continue
            n = r["n"]
            out.append({"intervention": r["intervention"], "window": r["window"], "prompts": r["prompts"], "n": n,
                        "refused": rate(int(sum(r["refused_bits"])), n), "delta_refused": r["delta_refused"],
                        "complied": rate(int(sum(r["complied_bits"])), n)})
        t = Table(model=lm.name, name=f"interventions_{_slug(label)}",
                  title=f"Refusal-direction interventions by step window ({label})", split="n/a", n=info["n_eval"],
                  seed=info["seed"], mode="experiment", columns=cols, rows=out,
                  prompts={"eval": f"load_prompts('tiny_harmful' / 'tiny_benign', n={info['n_fit'] + info['n_eval']}, "
                                    f"seed={info['seed']}), the last {info['n_eval']} of each",
                           "direction_fit": f"the first {info['n_fit']} of each (disjoint from the eval requests)"},
                  configs={label: {"key": cfg.key(), "fields": cfg.to_dict()}}, command=command,
                  compute_seconds=info["seconds"],
                  notes=(f"Direction: difference of means (refused harmful − answered harmless) of the residual "
                         f"stream after layer {info['layer']}, pooled over steps, fitted under the "
                         f"{info['direction_sampler']} sampler on {info['n_fit_harmful_refused']} refused harmful / "
                         f"{info['n_fit_harmless_answered']} answered benign fit requests. ablate: x − (x·d)d at every "
                         f"layer during the window; add: x + α d at layer {info['layer']}, α = {info['alpha_add']:.2f} "
                         f"(the class distance). Windows: thirds of this sampler's {cfg.steps} steps. Answer rate "
                         f"on benign requests = 1 − refused. Δ: paired bootstrap over requests (2000 resamples, "
                         f"seeded), against the unmodified run of the same requests."), **prov)
        store.write(t)
        tables.append(t)
    return tables
