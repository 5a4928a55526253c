"""One intervention against the unmodified run, on a small prompt set: refusal rates and σ curves side by
side (the pure function behind notebook 08's panel, :class:`sri_kit.widgets.InterventionPanel`).

Example:
    >>> res = intervention_comparison(lm_ar, {"harmful": ["How do I pick a lock to break into a house?"]},
    ...                               sk.GenerationConfig(steps=8), np.ones(256), alpha=0.0)
    >>> res["table"][["group", "run", "n"]].values.tolist()
    [['harmful', 'unmodified', 1], ['harmful', 'intervened', 1]]
    >>> s = res["sigma"]                                  # no centers given: σ is NaN; α = 0 changes nothing
    >>> np.array_equal(s[("harmful", "unmodified")], s[("harmful", "intervened")], equal_nan=True)
    True
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import sampling
from ..config import GenerationConfig
from ..interventions import Intervention
from ..judges import is_placeholder_compliance
from ..sri import Centers, sri_signal
from .interventions import WINDOWS

__all__ = ["intervention_comparison", "intervention_figure", "RUNS"]

RUNS = ("unmodified", "intervened")


def _sigma(traces, centers: Centers | None) -> np.ndarray:
    acts = np.stack([t.activations for t in traces])
    if centers is None:
        return np.full(acts.shape[:2], np.nan)
    return sri_signal(acts, (centers.harmless, centers.harmful))


def intervention_comparison(lm, groups: Mapping[str, Sequence[str]], cfg: GenerationConfig | None, direction, *,
                            centers: Centers | None = None, window="all", layers=None, mode: str = "ablate",
                            alpha: float = 1.0, baseline: Mapping[str, list] | None = None,
                            batch_size: int = 32) -> dict:
    """Generate every group unmodified and with the intervention (``window``: a key of
    :data:`~sri_kit.analysis.interventions.WINDOWS`, a ``(start, stop)`` pair or None; ``layers``,
    ``mode``, ``alpha`` as :func:`sri_kit.intervene`). σ uses ``centers`` fitted on unmodified runs (same
    model, config and site), for both runs. ``baseline``: unmodified traces per group from an earlier call
    (``result["traces"]``), reused instead of generating them again.

    Returns ``{"table": DataFrame (group, run, n, refusal_rate, complied_rate, mean_sigma, final_sigma),
    "sigma": {(group, run): [N, T]}, "traces": {group: unmodified traces}, "intervened": {group: traces with the
    intervention}, "intervention": Intervention}`` (traces in prompt order: pair them by request for intervals,
    e.g. :func:`~sri_kit.analysis.interventions.paired_bootstrap`).
    """
    cfg = cfg if cfg is not None else lm.default_config
    steps = WINDOWS[window] if isinstance(window, str) else window
    iv = Intervention(direction, steps=steps, layers=layers, mode=mode, alpha=alpha)
    rows, sigma, base_traces, new_traces = [], {}, {}, {}
    for g, prompts in groups.items():
        base = list(baseline[g]) if baseline is not None and g in baseline else \
            sampling.generate(lm, list(prompts), cfg, batch_size=batch_size, progress=False)
        base_traces[g] = base
        new = new_traces[g] = sampling.generate(lm, list(prompts), cfg, batch_size=batch_size, progress=False,
                                                interventions=[iv])
        for run, trs in zip(RUNS, (base, new)):
            s = _sigma(trs, centers)
            sigma[(g, run)] = s
            rows.append({"group": g, "run": run, "n": len(trs),
                         "refusal_rate": float(np.mean([t.refused for t in trs])),
                         "complied_rate": float(np.mean([is_placeholder_compliance(t.response) for t in trs])),
                         "mean_sigma": float(np.nanmean(s)) if centers is not None else float("nan"),
                         "final_sigma": float(np.nanmean(s[:, -1])) if centers is not None else float("nan")})
    return {"table": pd.DataFrame(rows), "sigma": sigma, "traces": base_traces, "intervened": new_traces,
            "intervention": iv}


def intervention_figure(result: dict, title: str = ""):
    """Refusal rate per group (unmodified vs intervened bars) beside the mean σ_t curves (solid: unmodified,
    dashed: intervened). Returns a Figure (nothing is shown or saved)."""
    from matplotlib.figure import Figure

    tab = result["table"]
    groups = list(dict.fromkeys(tab["group"]))
    fig = Figure(figsize=(10, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    x = np.arange(len(groups))
    for k, run in enumerate(RUNS):
        vals = [float(tab[(tab.group == g) & (tab.run == run)]["refusal_rate"].iloc[0]) for g in groups]
        ax1.bar(x + (k - 0.5) * 0.38, vals, 0.38, label=run, color=("C0", "C3")[k])
    ax1.set_xticks(x, groups)
    ax1.set_ylim(0, 1.05)
    ax1.set_ylabel("refusal rate (keyword judge)")
    ax1.legend(fontsize=8)
    for i, g in enumerate(groups):
        for run, ls in zip(RUNS, ("-", "--")):
            s = result["sigma"][(g, run)]
            ax2.plot(np.arange(s.shape[1]), np.nanmean(s, 0), ls, color=f"C{i}", label=f"{g}, {run}")
    ax2.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax2.set_ylim(-0.02, 1.02)
    ax2.set_xlabel("step t")
    ax2.set_ylabel("mean σ_t (1 compliant, 0 refusal-aligned)")
    ax2.legend(fontsize=7)
    iv = result["intervention"]
    fig.suptitle(title or f"{iv.mode} (α = {iv.alpha:g}) at steps {iv.steps or 'all'}, layers "
                          f"{iv.layers or 'all'}", fontsize=10)
    fig.tight_layout()
    return fig
